-- The grid dispatch warehouse: every layer on a hand-made data set whose
-- expected values are worked out in the comments.
\set VERBOSITY terse
SET TimeZone = 'Asia/Shanghai';

SELECT fluss_grid.create_grid_warehouse(schema => 'wh', stations => 7);
-- the default data set: seven regions, stations of every kind
SELECT count(*) AS regions FROM wh.dim_region;
SELECT region, count(*) FROM wh.dim_tariff GROUP BY 1 ORDER BY 1;
SELECT count(*) AS stations FROM fluss_grid.grid_default_stations(1400);
SELECT kind, count(*) FROM fluss_grid.grid_default_stations(1400) GROUP BY 1 ORDER BY 1;
SELECT region, count(*) FROM fluss_grid.grid_default_stations(1400) GROUP BY 1 ORDER BY 1;

-- errors: twice, bad arguments, a station of an unknown region, and
-- dropping what is not there
SELECT fluss_grid.create_grid_warehouse(schema => 'wh');
SELECT fluss_grid.create_grid_warehouse(schema => 'wh2', stations => 3);
SELECT fluss_grid.drop_grid_warehouse('no_such_schema');
CREATE SCHEMA empty_one;
SELECT fluss_grid.drop_grid_warehouse('empty_one');
DROP SCHEMA empty_one;
INSERT INTO wh.dim_station VALUES (100, 'x', '火星', 'wind', 10, 110);

-- four stations of our own, so that every number below can be worked out
DELETE FROM wh.dim_station;
INSERT INTO wh.dim_station (station_id, station_name, region, kind, capacity_mw, nominal_kv) VALUES
    (1, 'S1', '华北', 'substation', 200, 220),
    (2, 'T2', '华北', 'thermal',    600, 500),
    (3, 'P3', '华东', 'solar',      100, 110),
    (4, 'S4', '华东', 'substation', 100, 220);

-- ODS: 10:00 and 10:00:30 local for every station; a correction of
-- station 1's second reading; an unknown station; at 10:01 a good
-- reading, a NaN, a frequency of 60 Hz and a negative load
INSERT INTO wh.ods_grid_realtime_raw (station_id, ts, load_mw, generation_mw, frequency_hz, voltage_kv, received_at) VALUES
    (1, '2026-11-26 10:00:00', 100, 0,   50.00, 220, '2026-11-26 10:00:01'),
    (1, '2026-11-26 10:00:30', 120, 0,   50.10, 225, '2026-11-26 10:00:31'),
    (2, '2026-11-26 10:00:00', 20,  400, 50.00, 500, '2026-11-26 10:00:01'),
    (2, '2026-11-26 10:00:30', 20,  500, 50.30, 510, '2026-11-26 10:00:31'),
    (3, '2026-11-26 10:00:00', 1,   50,  50.00, 110, '2026-11-26 10:00:01'),
    (3, '2026-11-26 10:00:30', 1,   70,  49.90, 112, '2026-11-26 10:00:31'),
    (4, '2026-11-26 10:00:00', 80,  0,   50.00, 220, '2026-11-26 10:00:01'),
    (4, '2026-11-26 10:00:30', 60,  0,   50.00, 220, '2026-11-26 10:00:31');
INSERT INTO wh.ods_grid_realtime_raw (station_id, ts, load_mw, generation_mw, frequency_hz, voltage_kv, received_at) VALUES
    (1,  '2026-11-26 10:00:30', 130, 0,   50.10, 232, '2026-11-26 10:00:40'),  -- correction, voltage +5.5 %
    (99, '2026-11-26 10:00:30', 5,   0,   50.00, 220, '2026-11-26 10:00:40'),  -- unknown station
    (1,  '2026-11-26 10:01:00', 110, 0,   50.00, 220, '2026-11-26 10:01:01'),
    (2,  '2026-11-26 10:01:00', 'NaN', 450, 50.00, 500, '2026-11-26 10:01:01'),
    (3,  '2026-11-26 10:01:00', 1,   60,  60.00, 110, '2026-11-26 10:01:01'),
    (4,  '2026-11-26 10:01:00', -5,  0,   50.00, 220, '2026-11-26 10:01:01'),
    (4,  '2026-11-26 10:30:00', 70,  0,   50.00, 220, '2026-11-27 10:30:01'),  -- received a day late: fine
    (4,  '2026-11-27 10:30:00', 70,  0,   50.00, 220, '2026-11-26 10:30:01');  -- a day ahead of its arrival
SELECT fluss_grid.wait_for_rollups();

-- DWD: 10 rows (the one received a day late among them); the correction
-- replaced 120 by 130; 232 kV is outside 220 kV ± 5 %, 50.3 Hz outside
-- 50 ± 0.2 Hz; quarantined: 5 rows, each with its reason
SELECT station_id, ts, ingest_seq, grid_region, station_kind, load_mw, generation_mw,
       frequency_hz, voltage_kv, frequency_ok, voltage_ok
  FROM wh.dwd_grid_measurement ORDER BY station_id, ts;
SELECT station_id, ts, ingest_seq, reason FROM wh.dwd_grid_quarantine ORDER BY station_id, ts;
-- nothing lost: ODS rows = DWD rows + quarantined rows + superseded versions
SELECT (SELECT count(*) FROM wh.ods_grid_realtime_raw) AS ods,
       (SELECT count(*) FROM wh.dwd_grid_measurement) AS dwd,
       (SELECT count(*) FROM wh.dwd_grid_quarantine) AS quarantined,
       (SELECT count(*) - count(DISTINCT (station_id, ts)) FROM wh.ods_grid_realtime_raw) AS superseded;

-- DWS minutely.  华北 at 10:00: station means 115 + 20 = 135 MW load,
-- 0 + 450 = 450 MW generation; frequency (50 + 50.1 + 50 + 50.3) / 4 =
-- 50.1 Hz, 3 of 4 within limits = 75 %; voltage 3 of 4 = 75 %; efficiency
-- 135 / 450 = 30 %.  华东 at 10:00: 1 + 70 = 71 MW, 60 MW, 49.975 Hz,
-- 100 %, 100 %, 118.3 %.  At 10:01 only station 1 remains (110 MW).
SELECT grid_region, time_window_start, round(avg_load_mw::numeric, 3) AS avg_load_mw,
       round(avg_generation_mw::numeric, 3) AS avg_generation_mw,
       round(avg_frequency_hz::numeric, 4) AS avg_frequency_hz,
       round(frequency_stability_pct, 2) AS f_pct, round(voltage_compliance_pct, 2) AS v_pct,
       round(grid_efficiency_index::numeric, 2) AS efficiency, stations_reporting, readings
  FROM wh.dws_grid_operation_minutely ORDER BY 1, 2;

-- DWS hourly.  华北 10:00-11:00 (peak period, 1020 yuan/MWh): station
-- means (100 + 130 + 110) / 3 = 113.333 and 20: 133.333 MW, i.e. 133.333
-- MWh over the hour; generation 450 MW at 380 yuan/MWh = 171000 yuan;
-- sales 133.333 * 1020 = 136000; benefit -35000; peak minute 135 MW at
-- 10:00; frequency 4 of 5 = 80 %.
SELECT grid_region, analysis_hour, round(energy_mwh::numeric, 3) AS energy_mwh,
       round(generation_mwh::numeric, 3) AS generation_mwh,
       round(peak_load_mw::numeric, 3) AS peak_load_mw, peak_time,
       energy_consumption_pattern, price_yuan_per_mwh,
       round(sales_value_yuan::numeric, 2) AS sales, round(operational_cost_yuan::numeric, 2) AS cost,
       round(total_economic_benefit::numeric, 2) AS benefit, round(frequency_compliance_pct, 2) AS f_pct
  FROM wh.dws_grid_analysis_hourly ORDER BY 1, 2;

-- DWS daily (local days): load factor = mean / peak of the hourly loads
SELECT grid_region, local_day, round(energy_mwh::numeric, 3) AS energy_mwh,
       round(peak_hour_load_mw::numeric, 3) AS peak, round(valley_hour_load_mw::numeric, 3) AS valley,
       round(load_factor::numeric, 4) AS load_factor, round(peak_valley_rate::numeric, 4) AS peak_valley_rate,
       round(frequency_compliance_pct, 2) AS f_pct, hours_with_data
  FROM wh.dws_grid_daily ORDER BY 1, 2;

-- ADS: "now" is the newest minute of data (10:30, station 4: the reading
-- dated a day ahead is quarantined) and the minute before: station 4 only
SELECT grid_region, load_mw, generation_mw, round(load_pct_of_capacity::numeric, 2) AS load_pct,
       stations_reporting, minute
  FROM wh.ads_region_load ORDER BY 1;
SELECT national_load_mw, national_generation_mw, frequency_hz, voltage_stability_pct, stations_reporting
  FROM wh.ads_grid_overview;
-- drop the late day: "now" is 10:01 again; 华北: station 1 at 10:01 (110)
-- and station 2's 10:00 minute (20 MW, 500 MW generated)
DELETE FROM wh.ods_grid_realtime_raw WHERE ts >= '2026-11-26 10:30';
SELECT fluss_grid.wait_for_rollups();
SELECT grid_region, load_mw, generation_mw, round(load_pct_of_capacity::numeric, 2) AS load_pct,
       round(generation_pct_of_capacity::numeric, 2) AS gen_pct, stations_reporting, minute
  FROM wh.ads_region_load ORDER BY 1;
SELECT grid_region, current_load_mw, current_generation_mw, maintenance_recommendation, update_time
  FROM wh.ads_dashboard_realtime ORDER BY 1;
-- a trip: station 2 generates nothing at 10:01:30
INSERT INTO wh.ods_grid_realtime_raw (station_id, ts, load_mw, generation_mw, frequency_hz, voltage_kv, received_at)
VALUES (2, '2026-11-26 10:01:30', 15, 0, 49.80, 500, '2026-11-26 10:01:31');
SELECT fluss_grid.wait_for_rollups();
SELECT grid_region, current_load_mw, current_generation_mw, maintenance_recommendation
  FROM wh.ads_dashboard_realtime ORDER BY 1;
SELECT ods_rows, dwd_rows, quarantined_rows, dwd_lag IS NOT NULL AS has_lag
  FROM wh.ads_pipeline_health;

-- corrections by DELETE: the unknown station's row goes, and the
-- superseded 120 MW comes back when the 130 MW correction is deleted
DELETE FROM wh.ods_grid_realtime_raw WHERE station_id = 99 OR (station_id = 1 AND load_mw = 130);
SELECT fluss_grid.wait_for_rollups();
SELECT station_id, ts, load_mw FROM wh.dwd_grid_measurement WHERE station_id = 1 ORDER BY ts;
SELECT count(*) AS quarantined FROM wh.dwd_grid_quarantine;
SELECT grid_region, time_window_start, round(avg_load_mw::numeric, 3) AS avg_load_mw
  FROM wh.dws_grid_operation_minutely WHERE grid_region = '华北' ORDER BY 2;

-- ODS carries BRIN indexes on received_at and on ts (corrections are read
-- back from ODS by their time range)
SELECT c.relname, am.amname, pg_get_indexdef(i.indexrelid, 1, true) AS col
  FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam
 WHERE i.indrelid = 'wh.ods_grid_realtime_raw'::regclass ORDER BY 1;

-- the station rollups leave room on their pages for HOT updates of the
-- current buckets' rows (WAREHOUSE.md, "Storage")
SELECT c.relname, c.reloptions
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'wh' AND c.relkind = 'r' AND c.relname LIKE 'dws\_station\_%' ORDER BY 1;

SELECT fluss_grid.drop_grid_warehouse('wh');
SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'wh';
SELECT count(*) FROM fluss_grid.rollup;
SELECT count(*) FROM fluss_grid.transform;
DROP SCHEMA wh;
