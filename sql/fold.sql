-- The C fold (fold_method = c, src/fold_compute.c): after every round of a
-- seeded workload of inserts, updates, deletes, late rows, NULL, NaN and
-- +-Infinity, each rollup equals GROUP BY over its source, whether its
-- folds ran in C or were left to the SQL fold (a retracted extreme, numeric
-- aggregates); and fold_compute() serves only the fold.
\set VERBOSITY terse

SELECT * FROM fluss_grid.fold_compute(1, 0)
  AS c(_fg_op "char", _fg_tid tid, bucket timestamptz);

CREATE TABLE fold_src (ts timestamptz, k text, i2 int2, i4 int4, i8 int8,
                       f4 float4, f8 float8, n numeric);
-- every aggregate the C fold computes, and a nullable key
SELECT fluss_grid.create_rollup(name => 'fold_m', source => 'fold_src',
  time_column => 'ts', bucket => interval '1 minute', group_by => ARRAY['k'],
  aggregates => ARRAY['count(*) AS n', 'count(f8) AS cf', 'sum(i2) AS s2', 'sum(i4) AS s4',
    'sum(i8) AS s8', 'sum(f4) AS sf4', 'sum(f8) AS sf8', 'avg(i4) AS a4', 'avg(i8) AS a8',
    'avg(f4) AS af4', 'avg(f8) AS af8', 'min(f8) AS mnf', 'max(f8) AS mxf', 'min(i4) AS mni',
    'max(n) AS mxn', 'stddev(f8) AS sdf', 'stddev(f4) AS sdf4', 'first(f8) AS ff',
    'last(f8) AS lf', 'last(n) AS ln', 'count(*) FILTER (WHERE f8 > 0) AS npos',
    'sum(f8 * 2 + i4) AS expr']);
-- a rollup of it, without first/last (whose retraction recomputes)
SELECT fluss_grid.create_rollup(name => 'fold_h', source => 'fold_m',
  bucket => interval '1 hour',
  aggregates => ARRAY['n', 'cf', 's2', 's4', 's8', 'sf4', 'sf8', 'a4', 'a8', 'af4', 'af8',
                      'mnf', 'mxf', 'mni', 'mxn', 'sdf', 'sdf4', 'npos', 'expr']);
-- numeric sums and an exact stddev: always the SQL fold
SELECT fluss_grid.create_rollup(name => 'fold_n', source => 'fold_src',
  time_column => 'ts', bucket => interval '1 minute', group_by => ARRAY['k'],
  aggregates => ARRAY['count(*) AS n', 'sum(n) AS sn', 'avg(n) AS an', 'stddev(i4) AS sd4']);

CREATE FUNCTION fold_ref(width text, cols text) RETURNS text
LANGUAGE sql AS $$
  SELECT format('SELECT fluss_grid.time_bucket(%L, ts, ''UTC'') AS bucket, k, %s'
                ' FROM fold_src WHERE ts IS NOT NULL GROUP BY 1, 2', width, cols)
$$;
\set mcols 'count(*) AS n, count(f8) AS cf, sum(i2) AS s2, sum(i4) AS s4, sum(i8) AS s8, sum(f4::float8)::float4 AS sf4, sum(f8) AS sf8, avg(i4) AS a4, avg(i8) AS a8, avg(f4) AS af4, avg(f8) AS af8, min(f8) AS mnf, max(f8) AS mxf, min(i4) AS mni, max(n) AS mxn, stddev(f8) AS sdf, stddev(f4) AS sdf4'
\set flcols '(array_agg(f8 ORDER BY ts, f8))[1] AS ff, (array_agg(f8 ORDER BY ts DESC, f8 DESC))[1] AS lf, (array_agg(n ORDER BY ts DESC, n DESC))[1] AS ln'
-- (the rollup sums float4 in double precision, as avg(float4) does; sum(float4)
-- adds in single precision, in whatever order the rows come)
\set tailcols 'count(*) FILTER (WHERE f8 > 0) AS npos, sum(f8 * 2 + i4) AS expr'

-- one round of writes; seeded, so every run writes the same rows
CREATE PROCEDURE fold_round(round int) LANGUAGE plpgsql AS $$
BEGIN
  PERFORM setseed(round / 100.0);
  INSERT INTO fold_src
  SELECT timestamptz '2026-01-01 00:00+00' + (random() * 7200)::int * interval '1 second',
         CASE WHEN random() < 0.1 THEN NULL ELSE 'k' || (random() * 4)::int END,
         (random() * 100)::int2, (random() * 1e6)::int4 - 500000, (random() * 1e12)::int8,
         CASE WHEN random() < 0.05 THEN 'NaN'::float4 ELSE (random() * 100)::float4 END,
         CASE WHEN random() < 0.03 THEN 'Infinity'::float8
              WHEN random() < 0.03 THEN '-Infinity'::float8
              WHEN random() < 0.03 THEN 'NaN'::float8
              WHEN random() < 0.1 THEN NULL
              ELSE (random() * 1000 - 500)::float8 END,
         round((random() * 1000)::numeric, (random() * 3)::int)
    FROM generate_series(1, 400);
  -- late rows into early buckets, and a burst of one group
  INSERT INTO fold_src SELECT timestamptz '2026-01-01 00:00+00' + i * interval '1 second', 'k1',
         i::int2, i, i, i, i * 0.5, i FROM generate_series(1, 30) i;
  -- updates that move values, keys and times
  UPDATE fold_src SET f8 = f8 + 1 WHERE i4 % 7 = round;
  UPDATE fold_src SET k = 'k9' WHERE i4 % 11 = round AND k IS NOT NULL;
  UPDATE fold_src SET ts = ts + interval '3 minutes' WHERE i4 % 13 = round;
  -- deletes, among them whole groups and extremes
  DELETE FROM fold_src WHERE i4 % 5 = round;
  DELETE FROM fold_src WHERE f8 = (SELECT max(f8) FROM fold_src WHERE f8 < 'Infinity');
  DELETE FROM fold_src WHERE k = 'k0' AND ts < timestamptz '2026-01-01 00:20+00';
END
$$;

-- only inserts first: every fold of fold_m can run in C
INSERT INTO fold_src SELECT timestamptz '2026-01-01 00:00+00' + i * interval '7 seconds',
       'k' || (i % 3), i % 100, i, i * 1000, i / 3.0, i * 1.5, i / 7.0
  FROM generate_series(1, 1000) i;
SELECT fluss_grid.wait_for_rollups();
SELECT fg_check('fold_m', fold_ref('1 minute', :'mcols' || ', ' || :'flcols' || ', ' || :'tailcols')) AS minutely,
       fg_check('fold_h', fold_ref('1 hour', :'mcols' || ', ' || :'tailcols')) AS hourly;

-- rounds of mixed writes, with a rolled-back one in between
DO $$ BEGIN FOR r IN 1..4 LOOP CALL fold_round(r); END LOOP; END $$;
BEGIN;
CALL fold_round(5);
ROLLBACK;
INSERT INTO fold_src SELECT ts + interval '1 second', k, i2, i4, i8, f4, f8, n FROM fold_src
 WHERE i4 % 3 = 0;
SELECT fluss_grid.wait_for_rollups();
SELECT fg_check('fold_m', fold_ref('1 minute', :'mcols' || ', ' || :'flcols' || ', ' || :'tailcols')) AS minutely,
       fg_check('fold_h', fold_ref('1 hour', :'mcols' || ', ' || :'tailcols')) AS hourly,
       fg_check('fold_n', fold_ref('1 minute', 'count(*) AS n, sum(n) AS sn, avg(n) AS an, stddev(i4) AS sd4')) AS numeric;

-- a whole group deleted; pure inserts again; TRUNCATE
DELETE FROM fold_src WHERE k = 'k2';
INSERT INTO fold_src SELECT timestamptz '2026-01-01 05:00+00' + i * interval '1 second', 'k' || (i % 3),
       1, i, i, i, i, i FROM generate_series(1, 200) i;
SELECT fluss_grid.wait_for_rollups();
SELECT fg_check('fold_m', fold_ref('1 minute', :'mcols' || ', ' || :'flcols' || ', ' || :'tailcols')) AS minutely,
       fg_check('fold_h', fold_ref('1 hour', :'mcols' || ', ' || :'tailcols')) AS hourly;
TRUNCATE fold_src;
INSERT INTO fold_src VALUES ('2026-01-01 00:00:10+00', 'k', 1, 2, 3, 4, 5, 6);
SELECT fluss_grid.wait_for_rollups();
SELECT fg_check('fold_m', fold_ref('1 minute', :'mcols' || ', ' || :'flcols' || ', ' || :'tailcols')) AS minutely,
       (SELECT count(*) FROM fold_h) AS hourly_rows;

-- a backlog larger than maintenance_work_mem is left to the SQL fold
SET maintenance_work_mem = '1MB';
INSERT INTO fold_src SELECT timestamptz '2026-01-02 00:00+00' + i * interval '1 minute', 'k' || (i % 2),
       1, i, i, i, i, i FROM generate_series(1, 3000) i;
SELECT fluss_grid.fold_now() >= 0 AS folded;
RESET maintenance_work_mem;
SELECT fluss_grid.wait_for_rollups();
SELECT fg_check('fold_m', fold_ref('1 minute', :'mcols' || ', ' || :'flcols' || ', ' || :'tailcols')) AS minutely,
       fg_check('fold_h', fold_ref('1 hour', :'mcols' || ', ' || :'tailcols')) AS hourly;

-- the C fold did the inserts' folds; never for the numeric rollup
SELECT name, folds_in_c > 0 AS some_in_c
  FROM fluss_grid.rollups WHERE name::text LIKE 'fold\_%' ORDER BY name::text;

-- fluss_grid.batch_size: the C fold takes whole groups, oldest change
-- first, until the limit, and leaves the rest to the next fold; every
-- batch of these inserts runs in C
ALTER SYSTEM SET fluss_grid.batch_size = 20;
SELECT pg_reload_conf();
SELECT pg_sleep(0.5);
SELECT folds AS folds_before, folds_in_c AS c_before
  FROM fluss_grid.rollups WHERE name = 'fold_m'::regclass \gset
INSERT INTO fold_src SELECT timestamptz '2026-01-03 00:00+00' + i * interval '10 seconds', 'k' || (i % 3),
       1, i, i, i, i, i FROM generate_series(1, 600) i;
SELECT fluss_grid.wait_for_rollups();
SELECT fg_check('fold_m', fold_ref('1 minute', :'mcols' || ', ' || :'flcols' || ', ' || :'tailcols')) AS minutely,
       fg_check('fold_h', fold_ref('1 hour', :'mcols' || ', ' || :'tailcols')) AS hourly,
       folds - :folds_before > 3 AS several_folds,
       folds - :folds_before = folds_in_c - :c_before AS all_in_c,
       pending_changes
  FROM fluss_grid.rollups WHERE name = 'fold_m'::regclass;
ALTER SYSTEM RESET fluss_grid.batch_size;
SELECT pg_reload_conf();

-- the same workload folded by the SQL fold gives the same rows
ALTER SYSTEM SET fluss_grid.fold_method = 'sql';
SELECT pg_reload_conf();
SET fluss_grid.fold_method = 'sql';
CALL fold_round(6);
SELECT fluss_grid.fold_now() >= 0 AS folded;
SELECT fluss_grid.wait_for_rollups();
SELECT fg_check('fold_m', fold_ref('1 minute', :'mcols' || ', ' || :'flcols' || ', ' || :'tailcols')) AS minutely,
       fg_check('fold_h', fold_ref('1 hour', :'mcols' || ', ' || :'tailcols')) AS hourly;
ALTER SYSTEM RESET fluss_grid.fold_method;
SELECT pg_reload_conf();
RESET fluss_grid.fold_method;

SELECT fluss_grid.drop_rollup('fold_m', cascade => true);
SELECT fluss_grid.drop_rollup('fold_n');
DROP TABLE fold_src;
DROP FUNCTION fold_ref(text, text);
DROP PROCEDURE fold_round(int);
