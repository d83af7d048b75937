-- The SQL interface: create_rollup, rollups view, realtime view,
-- wait_for_rollups, refresh_rollup, drop_rollup.
\set VERBOSITY terse
SET TimeZone = 'UTC';

CREATE TABLE grid_raw (
    ts            timestamptz NOT NULL,
    region        text NOT NULL,
    station_id    int NOT NULL,
    load_mw       float8,
    generation_mw float8,
    frequency_hz  float8,
    voltage_kv    float8
);

-- two hours of readings from 6 stations in 3 regions, every 10 s
INSERT INTO grid_raw
SELECT '2026-11-26 00:00:00+00'::timestamptz + (i * 10 || ' s')::interval,
       (ARRAY['华北', '华东', '华南'])[1 + s % 3],
       s,
       100 + s * 10 + (i % 17),
       90 + s * 9 + (i % 13),
       50 + ((i * 7 + s) % 21 - 10) * 0.01,
       220 + (i % 5)
  FROM generate_series(0, 719) i, generate_series(1, 6) s;

SELECT fluss_grid.create_rollup(
  name        => 'grid_minutely',
  source      => 'grid_raw'::regclass,
  time_column => 'ts',
  bucket      => interval '1 minute',
  group_by    => ARRAY['region'],
  aggregates  => ARRAY['count(*) AS n',
                       'avg(load_mw) AS avg_load_mw',
                       'min(frequency_hz) AS min_f',
                       'max(load_mw)',
                       'sum(generation_mw / 3600) AS gen_mwh',
                       'count(*) FILTER (WHERE abs(frequency_hz - 50) <= 0.05) AS n_stable'],
  time_zone   => 'Asia/Shanghai');

-- the rollup's user columns and PostgreSQL's result types
SELECT * FROM fg_columns('grid_minutely') WHERE col NOT LIKE '\_fg\_%';
SELECT * FROM fg_columns('grid_minutely_realtime');
-- the engine's state columns; the min/max top-k lists are stored last (a
-- fold's UPDATE that leaves them as they were leaves them out of its WAL record)
SELECT string_agg(col, ' ') AS state_columns FROM fg_columns('grid_minutely') WHERE col LIKE '\_fg\_%';

-- backfilled at creation, exact
CREATE VIEW ref_minutely AS
SELECT date_bin('1 minute', ts AT TIME ZONE 'Asia/Shanghai', '2000-01-03') AT TIME ZONE 'Asia/Shanghai' AS bucket,
       region, count(*) AS n, avg(load_mw) AS avg_load_mw, min(frequency_hz) AS min_f,
       max(load_mw) AS max_load_mw, sum(generation_mw / 3600) AS gen_mwh,
       count(*) FILTER (WHERE abs(frequency_hz - 50) <= 0.05) AS n_stable
  FROM grid_raw GROUP BY 1, 2;
SELECT count(*) AS rollup_rows FROM grid_minutely;
SELECT fg_check('grid_minutely', 'SELECT * FROM ref_minutely');

-- a rollup of the rollup: keys, aggregates and time zone carried up
SELECT fluss_grid.create_rollup(name => 'grid_hourly', source => 'grid_minutely',
                                bucket => interval '1 hour');
SELECT * FROM fg_columns('grid_hourly_realtime');
CREATE VIEW ref_hourly AS
SELECT date_bin('1 hour', ts AT TIME ZONE 'Asia/Shanghai', '2000-01-03') AT TIME ZONE 'Asia/Shanghai' AS bucket,
       region, count(*) AS n, avg(load_mw) AS avg_load_mw, min(frequency_hz) AS min_f,
       max(load_mw) AS max_load_mw, sum(generation_mw / 3600) AS gen_mwh,
       count(*) FILTER (WHERE abs(frequency_hz - 50) <= 0.05) AS n_stable
  FROM grid_raw GROUP BY 1, 2;
SELECT fg_check('grid_hourly', 'SELECT * FROM ref_hourly');

-- the catalog view
SELECT name, source, bucket, time_zone, group_by, aggregates
  FROM fluss_grid.rollups ORDER BY name::text;

-- changes: realtime views are exact at once, tables after the wait
INSERT INTO grid_raw
SELECT '2026-11-26 02:00:00+00'::timestamptz + (i * 10 || ' s')::interval, '华北', 99, 1000 + i, 5, 49.9, 220
  FROM generate_series(0, 30) i;
UPDATE grid_raw SET load_mw = load_mw + 1 WHERE station_id = 2;
DELETE FROM grid_raw WHERE station_id = 3 AND ts < '2026-11-26 00:30:00+00';
SELECT fg_check('grid_minutely_realtime', 'SELECT * FROM ref_minutely') AS minutely_rt,
       fg_check('grid_hourly_realtime', 'SELECT * FROM ref_hourly') AS hourly_rt;
SELECT fluss_grid.wait_for_rollups(interval '30 seconds');
SELECT fg_check('grid_minutely', 'SELECT * FROM ref_minutely') AS minutely,
       fg_check('grid_hourly', 'SELECT * FROM ref_hourly') AS hourly;
SELECT name, pending_changes, lag FROM fluss_grid.rollups ORDER BY name::text;
SELECT count(*) > 0 AS worker_running FROM fluss_grid.workers() WHERE datname = current_database();

-- wait_for_rollups with a zero timeout still answers
SELECT fluss_grid.wait_for_rollups(interval '0') IS NOT NULL AS answered;

-- refresh_rollup repairs a damaged range (and only that range)
UPDATE grid_minutely SET n = -1;   -- also reaches grid_hourly's changelog
SELECT fluss_grid.refresh_rollup('grid_minutely', '2026-11-26 00:00:00+00', '2026-11-26 00:10:00+00');
SELECT count(*) FILTER (WHERE n = -1) AS still_damaged,
       count(*) FILTER (WHERE n <> -1) AS repaired FROM grid_minutely;
SELECT fluss_grid.refresh_rollup('grid_minutely');
SELECT fg_check('grid_minutely', 'SELECT * FROM ref_minutely');
SELECT fluss_grid.refresh_rollup('grid_hourly');
SELECT fg_check('grid_hourly', 'SELECT * FROM ref_hourly');

-- names are SQL names: quoted, mixed case, spaces, schema-qualified
CREATE SCHEMA "Ops Data";
SELECT fluss_grid.create_rollup(name => '"Ops Data"."Daily; Load"', source => 'grid_raw',
                                time_column => 'ts', bucket => interval '1 day',
                                group_by => ARRAY['station_id'],
                                aggregates => ARRAY['count(*)', 'max(load_mw) AS "Peak MW"']);
SELECT * FROM "Ops Data"."Daily; Load_realtime" ORDER BY station_id LIMIT 3;
SELECT fluss_grid.wait_for_rollups();
SELECT station_id, n, "Peak MW" FROM "Ops Data"."Daily; Load" ORDER BY station_id LIMIT 3;

-- unqualified names go to current_schema(), as CREATE TABLE does
SET search_path = "Ops Data", public;
SELECT fluss_grid.create_rollup(name => 'hourly_by_station', source => 'public.grid_raw',
                                time_column => 'ts', bucket => interval '1 hour',
                                group_by => ARRAY['station_id'], aggregates => ARRAY['count(*)']);
SELECT 'hourly_by_station'::regclass::text;
RESET search_path;

-- users may index, grant and read rollups like any table
CREATE INDEX ON grid_minutely (region, bucket);
CREATE ROLE fg_reader;
GRANT SELECT ON grid_minutely, grid_minutely_realtime TO fg_reader;
SET ROLE fg_reader;
SELECT count(*) > 0 AS readable FROM grid_minutely_realtime;
RESET ROLE;

-- drop_rollup: refused while another rollup depends on it
SELECT fluss_grid.drop_rollup('grid_minutely');
SELECT fluss_grid.drop_rollup('"Ops Data"."Daily; Load"');
SELECT fluss_grid.drop_rollup('"Ops Data".hourly_by_station');
SELECT fluss_grid.drop_rollup('grid_minutely', cascade => true);
SELECT count(*) AS rollups_left FROM fluss_grid.rollup;
SELECT count(*) AS capture_triggers_left FROM pg_trigger WHERE tgname LIKE '\_fg\_%';
SELECT to_regclass('grid_hourly') AS hourly, to_regclass('grid_minutely_realtime') AS rt;
SELECT count(*) AS engine_indexes_left FROM pg_indexes WHERE indexname LIKE '%\_fg%\_idx';

DROP ROLE fg_reader;
DROP SCHEMA "Ops Data" CASCADE;
DROP VIEW ref_minutely, ref_hourly;
DROP TABLE grid_raw;
