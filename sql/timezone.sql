-- Bucket boundaries follow the rollup's time zone, whatever the session's.
\set VERBOSITY terse
SET TimeZone = 'America/New_York';

CREATE TABLE z (ts timestamptz NOT NULL, v int);
INSERT INTO z SELECT '2026-11-25 12:00:00+00'::timestamptz + (g || ' minutes')::interval, 1
  FROM generate_series(0, 48 * 60 - 1, 30) g;

SELECT fluss_grid.create_rollup('z_day_sh', 'z', 'ts', '1 day', NULL, ARRAY['count(*) AS n'], 'Asia/Shanghai');
SELECT fluss_grid.create_rollup('z_day_utc', 'z', 'ts', '1 day', NULL, ARRAY['count(*) AS n']);
SELECT fluss_grid.create_rollup('z_hour_kt', 'z', 'ts', '1 hour', NULL, ARRAY['count(*) AS n'], 'Asia/Kathmandu');

-- a Shanghai day starts at 00:00 +08, shown here in three zones
SET TimeZone = 'Asia/Shanghai';
SELECT bucket, n FROM z_day_sh ORDER BY bucket;
SET TimeZone = 'UTC';
SELECT bucket, n FROM z_day_sh ORDER BY bucket;
SELECT bucket, n FROM z_day_utc ORDER BY bucket;
-- a +05:45 zone: hours start at :15 UTC
SELECT bucket, n FROM z_hour_kt ORDER BY bucket LIMIT 3;

-- the zone name is canonicalised and stored
SELECT name, time_zone FROM fluss_grid.rollups ORDER BY 1;

-- DST: a 1-day bucket in New York spans 25 hours on the day clocks go back
CREATE TABLE d (ts timestamptz NOT NULL);
INSERT INTO d SELECT '2026-10-31 04:00:00+00'::timestamptz + (g || ' hours')::interval FROM generate_series(0, 71) g;
SELECT fluss_grid.create_rollup('d_day_ny', 'd', 'ts', '1 day', NULL, ARRAY['count(*) AS n'], 'America/New_York');
SET TimeZone = 'America/New_York';
SELECT bucket, n FROM d_day_ny ORDER BY bucket;

-- months and quarters follow the calendar of the zone
SELECT fluss_grid.create_rollup('z_month', 'z_day_sh', bucket => '1 month');
SELECT fluss_grid.create_rollup('z_quarter', 'z_month', bucket => '3 months');
SET TimeZone = 'Asia/Shanghai';
SELECT bucket, n FROM z_month;
SELECT bucket, n FROM z_quarter;

-- a timestamp (without time zone) source buckets by its own wall clock
CREATE TABLE w (ts timestamp NOT NULL, v int);
INSERT INTO w VALUES ('2026-11-26 23:59:59', 1), ('2026-11-27 00:00:00', 2);
SELECT fluss_grid.create_rollup('w_day', 'w', 'ts', '1 day', NULL, ARRAY['sum(v)']);
SELECT * FROM fg_columns('w_day_realtime');
SELECT bucket, sum_v FROM w_day ORDER BY 1;
SELECT fluss_grid.refresh_rollup('w_day', '2026-11-27 00:00:00+08', '2026-11-28 00:00:00+08');

-- the hour that happens twice when clocks go back: a recomputed group
-- still holds the rows of both real hours
SET TimeZone = 'UTC';
CREATE TABLE fb (ts timestamptz NOT NULL, v int);
SELECT fluss_grid.create_rollup('fb_hour', 'fb', 'ts', '1 hour', NULL,
                                ARRAY['count(*) AS n', 'max(v)', 'first(v)'], 'America/New_York');
INSERT INTO fb VALUES ('2024-11-03 04:10+00', 1), ('2024-11-03 04:20+00', 50),
                      ('2024-11-03 05:10+00', 10), ('2024-11-03 05:20+00', 5),
                      ('2024-11-03 06:30+00', 100), ('2024-11-03 06:40+00', 7);
SELECT fluss_grid.wait_for_rollups();
-- recomputes both the hour before (which ends an hour late) and the double hour
DELETE FROM fb WHERE v IN (50, 100);
SELECT bucket, n, max_v, first_v FROM fb_hour_realtime ORDER BY 1;
SELECT fluss_grid.wait_for_rollups();
SELECT bucket, n, max_v, first_v FROM fb_hour ORDER BY 1;
SELECT fluss_grid.drop_rollup('fb_hour');
DROP TABLE fb;

RESET TimeZone;
SELECT fluss_grid.drop_rollup('z_day_sh', cascade => true);
SELECT fluss_grid.drop_rollup('z_day_utc');
SELECT fluss_grid.drop_rollup('z_hour_kt');
SELECT fluss_grid.drop_rollup('d_day_ny');
SELECT fluss_grid.drop_rollup('w_day');
DROP TABLE z, d, w;
