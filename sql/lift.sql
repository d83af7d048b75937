-- The capture trigger's two lifts: the C lift (capture_method = c) must
-- write exactly the changelog rows of the SQL lift (an UPDATE's too),
-- component by component, for every
-- aggregate kind, input type, FILTER, NULL, NaN, +-Infinity, numeric scale
-- and a daylight saving transition; and the bucket function must equal the
-- SQL expression it replaced.
\set VERBOSITY terse

-- time_bucket() is date_bin/date_trunc on the zone's wall clock, exactly,
-- across DST transitions (including Lord Howe's 30-minute one), for fixed,
-- month-based and odd widths, in zones, abbreviations and offsets
SELECT z.zone, w.width, count(*) AS times,
       count(*) FILTER (WHERE fluss_grid.time_bucket(w.width, t, z.zone) IS DISTINCT FROM
           (CASE WHEN w.width = '1 year' THEN date_trunc('year', t AT TIME ZONE z.zone)
                 WHEN w.width = '3 months' THEN date_trunc('quarter', t AT TIME ZONE z.zone)
                 WHEN w.width = '1 month' THEN date_trunc('month', t AT TIME ZONE z.zone)
                 ELSE date_bin(w.width, t AT TIME ZONE z.zone, '2000-01-03') END) AT TIME ZONE z.zone)
         AS wrong
  FROM (VALUES ('Europe/Berlin'), ('America/New_York'), ('Australia/Lord_Howe'),
               ('Asia/Shanghai'), ('UTC'), ('EST'), ('CET'), ('+05:30')) z(zone)
 CROSS JOIN (VALUES (interval '1 minute'), (interval '7 minutes'), (interval '1 hour'),
                    (interval '90 minutes'), (interval '1 day'), (interval '1 month'),
                    (interval '3 months'), (interval '1 year')) w(width)
 CROSS JOIN LATERAL generate_series(timestamptz '2026-03-27 00:00+00', '2026-04-06 00:00+00', '4 minutes 7 seconds') t
 GROUP BY 1, 2 HAVING count(*) FILTER (WHERE fluss_grid.time_bucket(w.width, t, z.zone) IS DISTINCT FROM
           (CASE WHEN w.width = '1 year' THEN date_trunc('year', t AT TIME ZONE z.zone)
                 WHEN w.width = '3 months' THEN date_trunc('quarter', t AT TIME ZONE z.zone)
                 WHEN w.width = '1 month' THEN date_trunc('month', t AT TIME ZONE z.zone)
                 ELSE date_bin(w.width, t AT TIME ZONE z.zone, '2000-01-03') END) AT TIME ZONE z.zone) > 0;
-- the autumn transition, one call site walking the repeated hour
SELECT count(*) FILTER (WHERE fluss_grid.time_bucket('1 hour', t, 'Europe/Berlin') IS DISTINCT FROM
           date_bin('1 hour', t AT TIME ZONE 'Europe/Berlin', '2000-01-03') AT TIME ZONE 'Europe/Berlin') AS wrong,
       count(DISTINCT fluss_grid.time_bucket('1 hour', t, 'Europe/Berlin')) AS buckets
  FROM generate_series(timestamptz '2026-10-24 22:00+00', '2026-10-25 03:00+00', '1 minute') t;
SELECT fluss_grid.time_bucket('1 day', NULL, 'UTC') IS NULL AS strict,
       fluss_grid.time_bucket('1 day', 'infinity', 'UTC') AS inf;
SELECT fluss_grid.time_bucket('1 hour', now(), 'No/Such_Zone');

-- two identical sources and rollups; one is written with each method
CREATE TABLE lift_c (ts timestamptz, k text, i2 int2, i4 int4, i8 int8,
                     f4 float4, f8 float8, n numeric, note text);
CREATE TABLE lift_s (LIKE lift_c);
-- plain: only aggregates whose projection copies columns and computes the
-- bucket, which the C lift evaluates without expression states, for
-- statements of every size
CREATE FUNCTION lift_rollup(src regclass, name text, plain bool DEFAULT false)
RETURNS regclass LANGUAGE sql AS $$
  SELECT fluss_grid.create_rollup(name => name, source => src, time_column => 'ts',
    bucket => interval '1 hour', group_by => ARRAY['k'], time_zone => 'Europe/Berlin',
    aggregates => CASE WHEN plain THEN
      ARRAY['count(*) AS n', 'count(note) AS cnote', 'sum(i4) AS s4',
      'sum(f8) AS sf8', 'avg(f4) AS af4', 'min(f8) AS mnf', 'max(i8) AS mxi8',
      'stddev(f8) AS sdf', 'first(f8) AS ff', 'last(i4) AS li4']
    ELSE ARRAY['count(*) AS n', 'count(n) AS cn', 'count(note) AS cnote',
      'sum(i2) AS s2', 'sum(i4) AS s4', 'sum(i8) AS s8', 'sum(f4) AS sf4', 'sum(f8) AS sf8',
      'sum(n) AS sn', 'avg(i2) AS a2', 'avg(i8) AS a8', 'avg(f4) AS af4', 'avg(f8) AS af8',
      'avg(n) AS an', 'min(f8) AS mnf', 'max(f8) AS mxf', 'min(f4) AS mnf4', 'max(n) AS mxn',
      'min(n) AS mnn', 'min(i8) AS mni8', 'max(i2) AS mxi2', 'max(i4) AS mxi4',
      'stddev(i4) AS sd4', 'stddev(i8) AS sd8', 'stddev(f8) AS sdf', 'stddev(n) AS sdn',
      'first(f8) AS ff', 'last(f8) AS lf', 'first(n) AS fn', 'last(n) AS ln', 'last(i4) AS li4',
      'first(i2) AS fi2',
      'count(*) FILTER (WHERE f8 > 0) AS npos', 'sum(n) FILTER (WHERE i4 % 2 = 0) AS sneven',
      'max(f8) FILTER (WHERE k IS NULL) AS mxnull', 'min(n) FILTER (WHERE f8 IS NULL) AS mnf8null',
      'sum(f8 * 2 + i4) AS expr', 'last(f4) FILTER (WHERE i2 > 0) AS lpos'] END)
$$;
SELECT lift_rollup('lift_c', 'lift_c_h'), lift_rollup('lift_s', 'lift_s_h');
SELECT 'fluss_grid.changelog_' || id AS delta_c FROM fluss_grid.rollup
 WHERE rollup_rel = 'lift_c_h'::regclass \gset
SELECT 'fluss_grid.changelog_' || id AS delta_s FROM fluss_grid.rollup
 WHERE rollup_rel = 'lift_s_h'::regclass \gset
-- a second pair, plain
SELECT lift_rollup('lift_c', 'lift_c_p', true), lift_rollup('lift_s', 'lift_s_p', true);
SELECT 'fluss_grid.changelog_' || id AS delta_cp FROM fluss_grid.rollup
 WHERE rollup_rel = 'lift_c_p'::regclass \gset
SELECT 'fluss_grid.changelog_' || id AS delta_sp FROM fluss_grid.rollup
 WHERE rollup_rel = 'lift_s_p'::regclass \gset

-- the rows: 2026-03-29 is Berlin's spring-forward day; every 10th row shares
-- its hour's first second (ties for first/last); NULL keys, NULL times,
-- NaN, +-Infinity, -0, int8 sums beyond bigint, numerics of every scale.
-- (Which of two equal but differently written extremes, 2.0 and 2.00, a
-- min() keeps depends on row order, in GROUP BY as in the SQL lift: the data
-- avoids such ties, which no lift can match digit for digit.)
CREATE VIEW lift_rows AS
SELECT CASE WHEN g % 97 = 0 THEN NULL
            WHEN g % 10 = 0 THEN date_trunc('hour', timestamptz '2026-03-28 22:00+00' + g * interval '41 seconds')
            ELSE timestamptz '2026-03-28 22:00+00' + g * interval '41 seconds' END AS ts,
       (ARRAY['north', 'south', NULL, 'Ost "quoted"'])[g % 4 + 1] AS k,
       (g % 300 - 150)::int2 AS i2,
       CASE WHEN g % 11 = 0 THEN NULL ELSE (g * 7919) % 1000 - 500 END AS i4,
       ((g % 5) - 2) * 4000000000000000000 + g AS i8,
       CASE g % 50 WHEN 0 THEN 'NaN' WHEN 1 THEN 'Infinity' WHEN 2 THEN '-Infinity'
                   WHEN 3 THEN NULL ELSE g / 7.0 END::float4 AS f4,
       CASE g % 37 WHEN 0 THEN 'NaN' WHEN 1 THEN 'Infinity' WHEN 2 THEN '-Infinity'
                   WHEN 3 THEN NULL WHEN 4 THEN '-0' WHEN 5 THEN '0'
                   ELSE (g % 200) / 8.0 - 12 END::float8 AS f8,
       CASE g % 43 WHEN 0 THEN 'NaN' WHEN 1 THEN 'Infinity' WHEN 2 THEN '-Infinity'
                   WHEN 3 THEN NULL WHEN 4 THEN 2.50 WHEN 5 THEN 0.000
                   ELSE round(g / 3.0, g % 4) END::numeric AS n,
       CASE WHEN g % 3 = 0 THEN repeat('x', g % 5) END AS note,
       g
  FROM generate_series(1, 4000) g;

-- rows of one changelog that the other lacks, and the other way round
CREATE FUNCTION lift_differing(a regclass, b regclass) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
  EXECUTE format($q$SELECT count(*) FROM (
    (SELECT (to_jsonb(d) - '_fg_at')::text FROM %1$s d
     EXCEPT ALL SELECT (to_jsonb(d) - '_fg_at')::text FROM %2$s d)
    UNION ALL
    (SELECT (to_jsonb(d) - '_fg_at')::text FROM %2$s d
     EXCEPT ALL SELECT (to_jsonb(d) - '_fg_at')::text FROM %1$s d)) x$q$, a, b) INTO n;
  RETURN n;
END
$$;

BEGIN;
-- (enough memory that no statement's groups are written out in parts)
SET LOCAL work_mem = '64MB';
SET LOCAL fluss_grid.capture_method = 'c';
INSERT INTO lift_c SELECT ts, k, i2, i4, i8, f4, f8, n, note FROM lift_rows;
INSERT INTO lift_c SELECT ts, k, i2, i4, i8, f4, f8, n, note FROM lift_rows WHERE g % 500 = 7;
DELETE FROM lift_c WHERE i2 % 7 = 0;
INSERT INTO lift_c VALUES ('2026-03-29 01:30+01', 'single', 1, 2, 3, 4, 5, 6.50, 'x');
DELETE FROM lift_c WHERE k = 'single';
UPDATE lift_c SET f8 = f8 * 2, n = n + 1.5, i4 = i4 - 3 WHERE i2 % 5 = 1;
UPDATE lift_c SET ts = ts + interval '2 hours', k = 'moved' WHERE i2 % 13 = 0;
SET LOCAL fluss_grid.capture_method = 'sql';
INSERT INTO lift_s SELECT ts, k, i2, i4, i8, f4, f8, n, note FROM lift_rows;
INSERT INTO lift_s SELECT ts, k, i2, i4, i8, f4, f8, n, note FROM lift_rows WHERE g % 500 = 7;
DELETE FROM lift_s WHERE i2 % 7 = 0;
INSERT INTO lift_s VALUES ('2026-03-29 01:30+01', 'single', 1, 2, 3, 4, 5, 6.50, 'x');
DELETE FROM lift_s WHERE k = 'single';
UPDATE lift_s SET f8 = f8 * 2, n = n + 1.5, i4 = i4 - 3 WHERE i2 % 5 = 1;
UPDATE lift_s SET ts = ts + interval '2 hours', k = 'moved' WHERE i2 % 13 = 0;
-- same delta rows, digit for digit (numeric scales included)
SELECT (SELECT count(*) FROM :delta_c) AS rows_c, (SELECT count(*) FROM :delta_s) AS rows_s;
SELECT lift_differing(:'delta_c', :'delta_s') AS differing;
SELECT (SELECT count(*) FROM :delta_cp) AS rows_cp, (SELECT count(*) FROM :delta_sp) AS rows_sp;
SELECT lift_differing(:'delta_cp', :'delta_sp') AS differing_plain;
COMMIT;

-- folded, both equal GROUP BY over their source
SELECT fluss_grid.wait_for_rollups();
-- sum(real) in PostgreSQL adds in real precision, so its last digits depend
-- on the order of the rows; the rollup adds exactly and rounds once, which
-- is the reference's sum in double precision rounded to real.
CREATE FUNCTION lift_ref(src text) RETURNS text LANGUAGE sql AS $$
  SELECT format($q$SELECT fluss_grid.time_bucket('1 hour', ts, 'Europe/Berlin') AS bucket, k,
      count(*) AS n, count(n) AS cn, count(note) AS cnote, sum(i2) AS s2, sum(i4) AS s4,
      sum(i8) AS s8, sum(f4::float8)::real AS sf4, sum(f8) AS sf8, sum(n) AS sn, avg(i2) AS a2, avg(i8) AS a8,
      avg(f4) AS af4, avg(f8) AS af8, avg(n) AS an, min(f8) AS mnf, max(f8) AS mxf,
      min(f4) AS mnf4, max(n) AS mxn, min(n) AS mnn, min(i8) AS mni8, max(i2) AS mxi2,
      max(i4) AS mxi4, stddev(i4) AS sd4, stddev(i8) AS sd8, stddev(f8) AS sdf, stddev(n) AS sdn,
      (array_agg(f8 ORDER BY ts, f8))[1] AS ff, (array_agg(f8 ORDER BY ts DESC, f8 DESC))[1] AS lf,
      (array_agg(n ORDER BY ts, n))[1] AS fn, (array_agg(n ORDER BY ts DESC, n DESC))[1] AS ln,
      (array_agg(i4 ORDER BY ts DESC, i4 DESC))[1] AS li4, (array_agg(i2 ORDER BY ts, i2))[1] AS fi2,
      count(*) FILTER (WHERE f8 > 0) AS npos, sum(n) FILTER (WHERE i4 %% 2 = 0) AS sneven,
      max(f8) FILTER (WHERE k IS NULL) AS mxnull, min(n) FILTER (WHERE f8 IS NULL) AS mnf8null,
      sum(f8 * 2 + i4) AS expr,
      (array_agg(f4 ORDER BY ts DESC, f4 DESC) FILTER (WHERE i2 > 0))[1] AS lpos
    FROM %s WHERE ts IS NOT NULL GROUP BY 1, 2$q$, src)
$$;
SELECT fg_check('lift_c_h', lift_ref('lift_c')) AS c_rollup,
       fg_check('lift_s_h', lift_ref('lift_s')) AS s_rollup,
       fg_check('lift_c_h_realtime', lift_ref('lift_c')) AS c_realtime;
CREATE FUNCTION lift_ref_plain(src text) RETURNS text LANGUAGE sql AS $$
  SELECT format($q$SELECT fluss_grid.time_bucket('1 hour', ts, 'Europe/Berlin') AS bucket, k,
      count(*) AS n, count(note) AS cnote, sum(i4) AS s4, sum(f8) AS sf8, avg(f4) AS af4,
      min(f8) AS mnf, max(i8) AS mxi8, stddev(f8) AS sdf,
      (array_agg(f8 ORDER BY ts, f8))[1] AS ff, (array_agg(i4 ORDER BY ts DESC, i4 DESC))[1] AS li4
    FROM %s WHERE ts IS NOT NULL GROUP BY 1, 2$q$, src)
$$;
SELECT fg_check('lift_c_p', lift_ref_plain('lift_c')) AS c_plain,
       fg_check('lift_s_p', lift_ref_plain('lift_s')) AS s_plain;

-- a statement whose groups outgrow work_mem writes several delta rows per
-- group; the fold combines them to the same result
BEGIN;
SET LOCAL work_mem = '64kB';
INSERT INTO lift_c SELECT ts + interval '3 days' * (g % 40), k || (g % 50), i2, i4, i8, f4, f8, n, note
  FROM lift_rows;
SELECT count(*) > (SELECT count(DISTINCT (fluss_grid.time_bucket('1 hour', ts + interval '3 days' * (g % 40), 'Europe/Berlin'), k || (g % 50)))
                     FROM lift_rows WHERE ts IS NOT NULL) AS spilled
  FROM :delta_c;
COMMIT;
SELECT fluss_grid.wait_for_rollups();
SELECT fg_check('lift_c_h', lift_ref('lift_c')) AS after_spill;

-- an UPDATE is lifted in C too, old and new rows pairwise: pairs whose
-- projection did not change write nothing (as the SQL form's EXCEPT ALL);
-- a top-k list the UPDATE left as it was (max(i2), aggregate 21, when only
-- f8 changes) lifts neither side, the max(f8) list (16) both
BEGIN;
UPDATE lift_c SET f8 = f8, note = note WHERE i4 > 0;
SELECT count(*) AS noop_update_rows FROM :delta_c WHERE xmin = pg_current_xact_id()::xid;
UPDATE lift_c SET f8 = f8 + 1 WHERE i4 > 0 AND k = 'south';
SELECT count(*) > 0 AS update_rows, sum(_fg_count) AS net_rows,
       bool_and(_fg_16_ins IS NOT NULL AND _fg_16_del IS NOT NULL) AS one_row_per_group,
       bool_and(_fg_21_ins IS NULL AND _fg_21_del IS NULL) AS same_list_lifts_nothing
  FROM :delta_c WHERE xmin = pg_current_xact_id()::xid;
COMMIT;
-- changed rows retract and add; DELETE of everything empties
UPDATE lift_c SET f8 = f8 + 1 WHERE i4 > 0;
DELETE FROM lift_c WHERE k LIKE 'north%';
SELECT fluss_grid.wait_for_rollups();
SELECT fg_check('lift_c_h', lift_ref('lift_c')) AS after_update;
DELETE FROM lift_c;
SELECT fluss_grid.wait_for_rollups();
SELECT count(*) AS groups_left FROM lift_c_h;

-- fluss_grid.batch_size: a backlog is folded over several transactions,
-- whole groups at a time (a group recomputed from the source has all its
-- changes consumed), and wait_for_rollups() waits for all of it
ALTER SYSTEM SET fluss_grid.batch_size = 7;
SELECT pg_reload_conf();
SELECT pg_sleep(0.5);
SHOW fluss_grid.batch_size;
SELECT folds AS folds_before FROM fluss_grid.rollups WHERE name = 'lift_c_h'::regclass \gset
INSERT INTO lift_c SELECT ts, k, i2, i4, i8, f4, f8, n, note FROM lift_rows WHERE g % 3 = 0;
INSERT INTO lift_c SELECT ts, k, i2, i4, i8, f4, f8, n, note FROM lift_rows WHERE g % 3 = 1;
DELETE FROM lift_c WHERE i2 % 5 = 0;
UPDATE lift_c SET f8 = f8 - 1, n = n + 1 WHERE i4 % 3 = 0;
SELECT fluss_grid.wait_for_rollups();
SELECT fg_check('lift_c_h', lift_ref('lift_c')) AS batched,
       (SELECT folds FROM fluss_grid.rollups WHERE name = 'lift_c_h'::regclass) - :folds_before > 3
         AS several_folds,
       (SELECT pending_changes FROM fluss_grid.rollups WHERE name = 'lift_c_h'::regclass) AS pending;
ALTER SYSTEM RESET fluss_grid.batch_size;
SELECT pg_reload_conf();

-- the C lift writes the changelog without index maintenance: its one index
-- is partial on TRUNCATE markers, and any other index is refused rather
-- than left incomplete
SELECT indexrelid::regclass::text = :'delta_c' || '_reset' AS reset_index,
       pg_get_expr(indpred, indrelid) AS predicate
  FROM pg_index WHERE indrelid = :'delta_c'::regclass;
CREATE INDEX lift_extra ON :delta_c (bucket);
DO $$
BEGIN
  INSERT INTO lift_c VALUES ('2026-03-29 01:30+01', 'extra', 1, 2, 3, 4, 5, 6.50, 'x');
EXCEPTION WHEN object_not_in_prerequisite_state THEN
  RAISE NOTICE 'refused: %', regexp_replace(SQLERRM, '[0-9]+', 'N');
END
$$;
DROP INDEX fluss_grid.lift_extra;
INSERT INTO lift_c VALUES ('2026-03-29 01:30+01', 'extra', 1, 2, 3, 4, 5, 6.50, 'x');
SELECT fluss_grid.wait_for_rollups();
SELECT fg_check('lift_c_h', lift_ref('lift_c')) AS after_index;

SELECT fg_check('lift_c_p', lift_ref_plain('lift_c')) AS plain_at_end;

SELECT fluss_grid.drop_rollup('lift_c_h'), fluss_grid.drop_rollup('lift_s_h'),
       fluss_grid.drop_rollup('lift_c_p'), fluss_grid.drop_rollup('lift_s_p');
DROP VIEW lift_rows;
DROP TABLE lift_c, lift_s;
DROP FUNCTION lift_rollup(regclass, text, bool), lift_ref(text), lift_ref_plain(text),
              lift_differing(regclass, regclass);
