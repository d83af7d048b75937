-- Hierarchical rollups combine partial states (never averages of averages)
-- and stay exact when the source changes.
\set VERBOSITY terse
SET TimeZone = 'UTC';

CREATE TABLE t (ts timestamptz NOT NULL, site text NOT NULL, grp int NOT NULL, v float8, c numeric);
INSERT INTO t SELECT '2026-11-26 00:00:00+00'::timestamptz + (g * 37 || ' s')::interval,
                     'site' || g % 4, g % 2, (g * 7919) % 1000 / 7.0, (g % 97) * 1.25
                FROM generate_series(1, 3000) g;

SELECT fluss_grid.create_rollup('t_1m', 't', 'ts', '1 minute', ARRAY['site', 'grp'],
    ARRAY['count(*) AS n', 'avg(v) AS avg_v', 'stddev(v) AS sd_v', 'min(v) AS min_v', 'max(v) AS max_v',
          'sum(c) AS sum_c', 'stddev(c) AS sd_c', 'first(v) AS first_v', 'last(v) AS last_v'],
    'Asia/Shanghai');
SELECT fluss_grid.create_rollup('t_15m', 't_1m', bucket => '15 minutes');
SELECT fluss_grid.create_rollup('t_1h', 't_15m', bucket => '1 hour', group_by => ARRAY['site'],
                                aggregates => ARRAY['n', 'avg_v', 'sd_v', 'max_v AS peak_v', 'last_v']);
SELECT fluss_grid.create_rollup('t_1d', 't_1h', bucket => '1 day', group_by => ARRAY[]::text[]);
SELECT fluss_grid.create_rollup('t_1mon', 't_1d', bucket => '1 month');

SELECT * FROM fg_columns('t_1h_realtime');
SELECT * FROM fg_columns('t_1mon_realtime');

CREATE FUNCTION ref(width text, keys text, cols text) RETURNS text LANGUAGE sql AS $$
    SELECT format('SELECT %s AS bucket %s, %s FROM t GROUP BY 1 %s',
                  CASE WHEN width = '1 month'
                       THEN $q$date_trunc('month', ts AT TIME ZONE 'Asia/Shanghai') AT TIME ZONE 'Asia/Shanghai'$q$
                       ELSE format($q$date_bin(%L, ts AT TIME ZONE 'Asia/Shanghai', '2000-01-03') AT TIME ZONE 'Asia/Shanghai'$q$, width) END,
                  CASE WHEN keys = '' THEN '' ELSE ', ' || keys END, cols,
                  CASE WHEN keys = '' THEN '' ELSE ', ' || keys END)
$$;
CREATE FUNCTION check_levels() RETURNS TABLE (level text, realtime text, rollup text)
LANGUAGE plpgsql AS $$
DECLARE
    all_cols text := 'count(*) AS n, avg(v) AS avg_v, stddev(v) AS sd_v, min(v) AS min_v, max(v) AS max_v, '
                     'sum(c) AS sum_c, stddev(c) AS sd_c, (array_agg(v ORDER BY ts, v))[1] AS first_v, '
                     '(array_agg(v ORDER BY ts DESC, v DESC))[1] AS last_v';
    few_cols text := 'count(*) AS n, avg(v) AS avg_v, stddev(v) AS sd_v, max(v) AS peak_v, '
                     '(array_agg(v ORDER BY ts DESC, v DESC))[1] AS last_v';
    r record;
BEGIN
    FOR r IN SELECT * FROM (VALUES ('t_1m', '1 minute', 'site, grp', all_cols),
                                   ('t_15m', '15 minutes', 'site, grp', all_cols),
                                   ('t_1h', '1 hour', 'site', few_cols),
                                   ('t_1d', '1 day', '', few_cols),
                                   ('t_1mon', '1 month', '', few_cols)) v(rel, width, keys, cols)
    LOOP
        level := r.rel;
        realtime := fg_check((r.rel || '_realtime')::regclass, ref(r.width, r.keys, r.cols));
        rollup := NULL;
        RETURN NEXT;
    END LOOP;
    PERFORM fluss_grid.wait_for_rollups();
    FOR r IN SELECT * FROM (VALUES ('t_1m', '1 minute', 'site, grp', all_cols),
                                   ('t_15m', '15 minutes', 'site, grp', all_cols),
                                   ('t_1h', '1 hour', 'site', few_cols),
                                   ('t_1d', '1 day', '', few_cols),
                                   ('t_1mon', '1 month', '', few_cols)) v(rel, width, keys, cols)
    LOOP
        level := r.rel;
        realtime := NULL;
        rollup := fg_check(r.rel::regclass, ref(r.width, r.keys, r.cols));
        RETURN NEXT;
    END LOOP;
END $$;

SELECT * FROM check_levels();

-- changes reach every level
UPDATE t SET v = v * 3 WHERE grp = 1 AND ts < '2026-11-26 06:00:00+00';
DELETE FROM t WHERE v = (SELECT max(v) FROM t);
DELETE FROM t WHERE site = 'site3' AND ts BETWEEN '2026-11-26 10:00:00+00' AND '2026-11-26 12:00:00+00';
UPDATE t SET site = 'site9' WHERE site = 'site1' AND grp = 0;
INSERT INTO t VALUES ('2026-11-26 23:59:59+08', 'late', 0, 1e6, 1);
SELECT * FROM check_levels();

-- a daily bucket of a rollup is not "1 day of 24 hours" in UTC but the
-- Asia/Shanghai calendar day
SELECT bucket FROM t_1d ORDER BY bucket;

-- drop the middle level: refused, then with cascade
SELECT fluss_grid.drop_rollup('t_15m');
SELECT fluss_grid.drop_rollup('t_15m', cascade => true);
SELECT name FROM fluss_grid.rollups ORDER BY 1;
SELECT fluss_grid.drop_rollup('t_1m');
DROP FUNCTION check_levels();
DROP FUNCTION ref(text, text, text);
DROP TABLE t;
