-- Every misuse gets a PostgreSQL-style error with a proper SQLSTATE and
-- leaves nothing behind.
\set VERBOSITY default
SET TimeZone = 'UTC';

CREATE TABLE src (
    ts     timestamptz NOT NULL,
    tsl    timestamp,
    region text NOT NULL,
    label  text,
    v      float8,
    i      int
);
INSERT INTO src VALUES ('2026-11-26 00:00:00+00', '2026-11-26 00:00:00', 'a', 'x', 1.5, 1);
CREATE VIEW src_view AS SELECT * FROM src;

\set VERBOSITY terse
-- NULL and empty arguments
SELECT fluss_grid.create_rollup(NULL, 'src', 'ts', '1 minute', NULL, ARRAY['count(*)']);
SELECT fluss_grid.create_rollup('r', NULL, 'ts', '1 minute', NULL, ARRAY['count(*)']);
SELECT fluss_grid.create_rollup('r', 'src', NULL, '1 minute', NULL, ARRAY['count(*)']);
SELECT fluss_grid.create_rollup('r', 'src', 'ts', NULL, NULL, ARRAY['count(*)']);
SELECT fluss_grid.create_rollup('r', 'src', 'ts', '1 minute', NULL, NULL);
SELECT fluss_grid.create_rollup('r', 'src', 'ts', '1 minute', NULL, ARRAY[]::text[]);
SELECT fluss_grid.create_rollup('r', 'src', 'ts', '1 minute', NULL, ARRAY[NULL]);
SELECT fluss_grid.create_rollup('', 'src', 'ts', '1 minute', NULL, ARRAY['count(*)']);
SELECT fluss_grid.create_rollup('r', 'src', 'ts', '1 minute', ARRAY[NULL], ARRAY['count(*)']);

-- names
SELECT fluss_grid.create_rollup('a.b.c.d', 'src', 'ts', '1 minute', NULL, ARRAY['count(*)']);
SELECT fluss_grid.create_rollup('"unterminated', 'src', 'ts', '1 minute', NULL, ARRAY['count(*)']);
SELECT fluss_grid.create_rollup('no_such_schema.r', 'src', 'ts', '1 minute', NULL, ARRAY['count(*)']);
SELECT fluss_grid.create_rollup('src', 'src', 'ts', '1 minute', NULL, ARRAY['count(*)']);
SELECT fluss_grid.create_rollup(repeat('x', 60), 'src', 'ts', '1 minute', NULL, ARRAY['count(*)']);

-- source and time column
SELECT fluss_grid.create_rollup('r', 'no_such_table', 'ts', '1 minute', NULL, ARRAY['count(*)']);
SELECT fluss_grid.create_rollup('r', 'src_view', 'ts', '1 minute', NULL, ARRAY['count(*)']);
DROP VIEW src_view;
SELECT fluss_grid.create_rollup('r', 'src', 'nope', '1 minute', NULL, ARRAY['count(*)']);
SELECT fluss_grid.create_rollup('r', 'src', 'label', '1 minute', NULL, ARRAY['count(*)']);
SELECT fluss_grid.create_rollup('r', 'src', 'tsl', '1 minute', NULL, ARRAY['count(*)'], 'Asia/Shanghai');
SELECT fluss_grid.create_rollup('r', 'src', 'ts', '1 minute', NULL, ARRAY['count(*)'], 'Mars/Olympus_Mons');

-- bucket
SELECT fluss_grid.create_rollup('r', 'src', 'ts', '0', NULL, ARRAY['count(*)']);
SELECT fluss_grid.create_rollup('r', 'src', 'ts', '-1 minute', NULL, ARRAY['count(*)']);
SELECT fluss_grid.create_rollup('r', 'src', 'ts', '1 month 1 day', NULL, ARRAY['count(*)']);
SELECT fluss_grid.create_rollup('r', 'src', 'ts', '2 months', NULL, ARRAY['count(*)']);

-- group keys
SELECT fluss_grid.create_rollup('r', 'src', 'ts', '1 minute', ARRAY['nope'], ARRAY['count(*)']);
SELECT fluss_grid.create_rollup('r', 'src', 'ts', '1 minute', ARRAY['region', 'region'], ARRAY['count(*)']);
SELECT fluss_grid.create_rollup('r', 'src', 'ts', '1 minute', ARRAY['lower(region)'], ARRAY['count(*)']);

-- aggregates
\set VERBOSITY default
SELECT fluss_grid.create_rollup('r', 'src', 'ts', '1 minute', NULL, ARRAY['median(v)']);
SELECT fluss_grid.create_rollup('r', 'src', 'ts', '1 minute', NULL, ARRAY['sum(*)']);
SELECT fluss_grid.create_rollup('r', 'src', 'ts', '1 minute', NULL, ARRAY['sum(v, i)']);
SELECT fluss_grid.create_rollup('r', 'src', 'ts', '1 minute', NULL, ARRAY['count(*) AS n', 'sum(v) AS n']);
SELECT fluss_grid.create_rollup('r', 'src', 'ts', '1 minute', ARRAY['region'], ARRAY['count(*) AS region']);
SELECT fluss_grid.create_rollup('r', 'src', 'ts', '1 minute', NULL, ARRAY['sum(v) AS bucket']);
SELECT fluss_grid.create_rollup('r', 'src', 'ts', '1 minute', NULL, ARRAY['sum(v) AS _fg_sum']);
SELECT fluss_grid.create_rollup('r', 'src', 'ts', '1 minute', NULL, ARRAY['sum(v + random())']);
SELECT fluss_grid.create_rollup('r', 'src', 'ts', '1 minute', NULL, ARRAY['sum(v) FILTER (WHERE ts < now()) AS s']);
SELECT fluss_grid.create_rollup('r', 'src', 'ts', '1 minute', NULL, ARRAY['sum((SELECT 1)) AS s']);
SELECT fluss_grid.create_rollup('r', 'src', 'ts', '1 minute', NULL, ARRAY['sum(sum(v)) AS s']);
SELECT fluss_grid.create_rollup('r', 'src', 'ts', '1 minute', NULL, ARRAY['sum(label)']);
SELECT fluss_grid.create_rollup('r', 'src', 'ts', '1 minute', NULL, ARRAY['sum(v) OVER ()']);
SELECT fluss_grid.create_rollup('r', 'src', 'ts', '1 minute', NULL, ARRAY['count(DISTINCT v)']);
SELECT fluss_grid.create_rollup('r', 'src', 'ts', '1 minute', NULL, ARRAY['sum(v / 3600)']);
SELECT fluss_grid.create_rollup('r', 'src', 'ts', '1 minute', NULL, ARRAY['sum(v); DROP TABLE src']);
SELECT fluss_grid.create_rollup('r', 'src', 'ts', '1 minute', NULL, ARRAY['sum(v) FROM src']);
SELECT fluss_grid.create_rollup('r', 'src', 'ts', '1 minute', NULL, ARRAY['v']);
SELECT fluss_grid.create_rollup('r', 'src', 'ts', '1 minute', NULL, ARRAY['sum(nope)']);
SELECT fluss_grid.create_rollup('r', 'src', 'ts', '1 minute', NULL, ARRAY['sum(generate_series(1, v::int)) AS s']);
\set VERBOSITY terse

-- nothing was left behind by any of the above
SELECT count(*) AS rollups FROM fluss_grid.rollup;
SELECT count(*) AS stray FROM pg_class WHERE relname IN ('r', 'r_realtime') OR relname LIKE 'changelog\_%';
SELECT count(*) AS triggers FROM pg_trigger WHERE tgrelid = 'src'::regclass;

-- rollups of rollups
SELECT fluss_grid.create_rollup('m', 'src', 'ts', '1 minute', ARRAY['region'],
                                ARRAY['count(*) AS n', 'sum(v) AS s'], 'Asia/Shanghai');
SELECT fluss_grid.create_rollup('h', 'm', bucket => '90 seconds');
SELECT fluss_grid.create_rollup('h', 'm', bucket => '1 hour', time_zone => 'UTC');
SELECT fluss_grid.create_rollup('h', 'm', bucket => '1 hour', aggregates => ARRAY['avg_v']);
SELECT fluss_grid.create_rollup('h', 'm', bucket => '1 hour', aggregates => ARRAY['sum(s)']);
SELECT fluss_grid.create_rollup('h', 'm', bucket => '1 hour', group_by => ARRAY['label']);
SELECT fluss_grid.create_rollup('h', 'm', time_column => 'ts', bucket => '1 hour');
SELECT fluss_grid.create_rollup('w', 'm', bucket => '7 days');
SELECT fluss_grid.create_rollup('mo', 'w', bucket => '1 month');
SELECT fluss_grid.create_rollup('h', 'm', bucket => '1 hour', time_zone => 'Asia/Shanghai');

-- wait, refresh, drop
SELECT fluss_grid.wait_for_rollups(NULL);
SELECT fluss_grid.wait_for_rollups(interval '-1 second');
SELECT fluss_grid.refresh_rollup(NULL);
SELECT fluss_grid.refresh_rollup('m', '2026-11-27', '2026-11-26');
SELECT fluss_grid.refresh_rollup('src');
SELECT fluss_grid.drop_rollup('src');
SELECT fluss_grid.drop_rollup(NULL);

-- DDL on the source
ALTER TABLE src ADD COLUMN extra int;
ALTER TABLE src DROP COLUMN extra;
ALTER TABLE src DROP COLUMN label;
ALTER TABLE src DROP COLUMN v;
ALTER TABLE src ALTER COLUMN v TYPE numeric;
ALTER TABLE src RENAME COLUMN region TO area;
DROP TABLE src;
DROP TABLE m;
DROP EXTENSION fluss_grid;
INSERT INTO src VALUES ('2026-11-26 00:00:30+00', NULL, 'a', 2.5, 2);
INSERT INTO src (ts, region, v) VALUES ('2026-11-26 00:00:40+00', 'a', 1);
SELECT fluss_grid.wait_for_rollups();
SELECT region, n, s FROM m;
SELECT region, n, s FROM h;

-- a source dropped with CASCADE takes the realtime views; rollups stay as tables
DROP TABLE src CASCADE;
SELECT count(*) AS rollups FROM fluss_grid.rollup;
SELECT region, n, s FROM h;
DROP TABLE m, h, w;
