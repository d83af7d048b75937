-- Exactness: updates move contributions, extremes survive retraction,
-- NULL / NaN / Infinity behave as PostgreSQL's aggregates, rollbacks leave
-- no trace, late rows land in their bucket, TRUNCATE empties.
\set VERBOSITY terse
SET TimeZone = 'UTC';

CREATE TABLE m (
    ts    timestamptz,
    k     text,
    k2    int,             -- nullable key
    f     float8,
    r     real,
    i     int,
    b     bigint,
    n     numeric
);

SELECT fluss_grid.create_rollup('m_1min', 'm', 'ts', '1 minute', ARRAY['k', 'k2'], ARRAY[
    'count(*) AS cnt', 'count(f) AS cnt_f',
    'sum(f) AS sum_f', 'avg(f) AS avg_f', 'min(f) AS min_f', 'max(f) AS max_f', 'stddev(f) AS sd_f',
    'sum(r) AS sum_r', 'avg(r) AS avg_r',
    'sum(i) AS sum_i', 'avg(i) AS avg_i', 'min(i) AS min_i', 'stddev(i) AS sd_i',
    'sum(b) AS sum_b', 'avg(b) AS avg_b', 'max(b) AS max_b',
    'sum(n) AS sum_n', 'avg(n) AS avg_n', 'stddev(n) AS sd_n', 'min(n) AS min_n',
    'first(f) AS first_f', 'last(f) AS last_f', 'first(n) AS first_n', 'last(i) AS last_i',
    'sum(f * 2 + i) AS expr', 'count(*) FILTER (WHERE f > 10) AS big',
    'max(i) FILTER (WHERE k2 IS NULL) AS max_i_nokey']);

SELECT * FROM fg_columns('m_1min_realtime');

CREATE VIEW ref AS
SELECT date_bin('1 minute', ts, '2000-01-03') AS bucket, k, k2,
    count(*) AS cnt, count(f) AS cnt_f,
    sum(f) AS sum_f, avg(f) AS avg_f, min(f) AS min_f, max(f) AS max_f, stddev(f) AS sd_f,
    sum(r) AS sum_r, avg(r) AS avg_r,
    sum(i) AS sum_i, avg(i) AS avg_i, min(i) AS min_i, stddev(i) AS sd_i,
    sum(b) AS sum_b, avg(b) AS avg_b, max(b) AS max_b,
    sum(n) AS sum_n, avg(n) AS avg_n, stddev(n) AS sd_n, min(n) AS min_n,
    (array_agg(f ORDER BY ts, f))[1] AS first_f, (array_agg(f ORDER BY ts DESC, f DESC))[1] AS last_f,
    (array_agg(n ORDER BY ts, n))[1] AS first_n, (array_agg(i ORDER BY ts DESC, i DESC))[1] AS last_i,
    sum(f * 2 + i) AS expr, count(*) FILTER (WHERE f > 10) AS big,
    max(i) FILTER (WHERE k2 IS NULL) AS max_i_nokey
  FROM m WHERE ts IS NOT NULL GROUP BY 1, 2, 3;

-- check both the realtime view (no wait) and the table (after the wait)
CREATE FUNCTION check_all() RETURNS TABLE (realtime text, rollup text)
LANGUAGE plpgsql AS $$
BEGIN
    realtime := fg_check('m_1min_realtime', 'SELECT * FROM ref');
    PERFORM fluss_grid.wait_for_rollups();
    rollup := fg_check('m_1min', 'SELECT * FROM ref');
    RETURN NEXT;
END $$;

INSERT INTO m
SELECT '2026-11-26 00:00:00+00'::timestamptz + (g * 7 || ' s')::interval,
       (ARRAY['a', 'b'])[1 + g % 2], CASE WHEN g % 5 = 0 THEN NULL ELSE g % 3 END,
       g * 1.5, g * 0.5, g, g::bigint * 1000000000, g * 0.001
  FROM generate_series(1, 60) g;
SELECT * FROM check_all();

-- an UPDATE that changes a value, a group key, the time
UPDATE m SET f = f * 100 WHERE i % 7 = 0;
SELECT * FROM check_all();
UPDATE m SET k = 'c' WHERE i % 4 = 0;
SELECT * FROM check_all();
UPDATE m SET ts = ts + interval '5 minutes' WHERE i % 6 = 0;
SELECT * FROM check_all();
-- an UPDATE of a column no rollup uses writes no change at all
SELECT fluss_grid.wait_for_rollups();
UPDATE m SET ts = ts WHERE i < 10;
SELECT pending_changes FROM fluss_grid.rollups WHERE name = 'm_1min'::regclass;

-- delete and update the rows that hold extremes, first and last
DELETE FROM m WHERE f = (SELECT max(f) FROM m);
DELETE FROM m WHERE i = (SELECT min(i) FROM m);
UPDATE m SET f = -1 WHERE f = (SELECT max(f) FROM m WHERE k = 'a');
DELETE FROM m WHERE ts = (SELECT min(ts) FROM m WHERE k = 'b') AND k = 'b';
SELECT * FROM check_all();

-- ties in time: first/last broken by value, NULLs sort last
INSERT INTO m (ts, k, k2, f, i, n) VALUES
  ('2026-11-26 01:00:00+00', 't', 1, 5, 5, 5), ('2026-11-26 01:00:00+00', 't', 1, 3, 3, 3),
  ('2026-11-26 01:00:00+00', 't', 1, NULL, NULL, NULL), ('2026-11-26 01:00:30+00', 't', 1, 7, 7, 7),
  ('2026-11-26 01:00:30+00', 't', 1, NULL, NULL, NULL);
SELECT * FROM check_all();
SELECT first_f, last_f, first_n, last_i FROM m_1min WHERE k = 't';

-- NULL, NaN and Infinity, then retracted
INSERT INTO m (ts, k, k2, f, r, n) VALUES
  ('2026-11-26 02:00:10+00', 'x', 1, 'Infinity', 'Infinity', 'Infinity'),
  ('2026-11-26 02:00:20+00', 'x', 1, 1, 1, 1),
  ('2026-11-26 02:00:30+00', 'x', 1, NULL, NULL, NULL),
  ('2026-11-26 02:01:10+00', 'x', 1, 'NaN', 'NaN', 'NaN'),
  ('2026-11-26 02:01:20+00', 'x', 1, 2, 2, 2),
  ('2026-11-26 02:02:10+00', 'x', 1, '-Infinity', '-Infinity', '-Infinity'),
  ('2026-11-26 02:02:20+00', 'x', 1, 'Infinity', 'Infinity', 'Infinity'),
  ('2026-11-26 02:03:10+00', 'x', 1, NULL, NULL, NULL);
SELECT * FROM check_all();
SELECT bucket, sum_f, avg_f, min_f, max_f, sd_f, sum_n, avg_n, sd_n, cnt_f FROM m_1min WHERE k = 'x' ORDER BY bucket;
DELETE FROM m WHERE k = 'x' AND (f = 'Infinity' OR f = 'NaN');
SELECT * FROM check_all();
SELECT bucket, sum_f, avg_f, min_f, max_f, sd_f, sum_n, avg_n, sd_n, cnt_f FROM m_1min WHERE k = 'x' ORDER BY bucket;

-- retracting a huge float gives back the small ones (no cancellation)
INSERT INTO m (ts, k, k2, f, r) VALUES ('2026-11-26 06:00:10+00', 'huge', 1, 1e20, 1e20),
  ('2026-11-26 06:00:20+00', 'huge', 1, 1.5, 1.5), ('2026-11-26 06:00:30+00', 'huge', 1, 2.25, 2.25);
SELECT fluss_grid.wait_for_rollups();
DELETE FROM m WHERE f = 1e20;
SELECT * FROM check_all();
SELECT sum_f, avg_f, sd_f, sum_r, avg_r FROM m_1min WHERE k = 'huge';

-- rows without a time belong to no bucket
INSERT INTO m (ts, k, f) VALUES (NULL, 'a', 1);
UPDATE m SET ts = NULL WHERE i = 30;
SELECT * FROM check_all();

-- rolled-back work leaves no trace, also in subtransactions
BEGIN;
INSERT INTO m (ts, k, f) VALUES ('2026-11-26 03:00:00+00', 'rb', 1);
DELETE FROM m WHERE k = 'a';
ROLLBACK;
BEGIN;
INSERT INTO m (ts, k, f) VALUES ('2026-11-26 03:00:00+00', 'sp', 1);
SAVEPOINT s;
UPDATE m SET f = 1e6 WHERE k = 'b';
ROLLBACK TO SAVEPOINT s;
COMMIT;
SELECT * FROM check_all();
SELECT count(*) FILTER (WHERE k = 'rb') AS rolled_back, count(*) FILTER (WHERE k = 'sp') AS kept FROM m_1min;

-- late rows, days old, land in their bucket
INSERT INTO m (ts, k, k2, f, i) VALUES ('2026-11-20 12:34:56+00', 'a', 1, 42, 42);
SELECT * FROM check_all();
SELECT bucket, k, cnt, max_f FROM m_1min WHERE bucket < '2026-11-21';

-- a group whose rows are all deleted disappears
DELETE FROM m WHERE k = 'c';
SELECT * FROM check_all();
SELECT count(*) AS c_groups FROM m_1min WHERE k = 'c';

-- one statement with many rows writes one changelog row per group
SELECT fluss_grid.wait_for_rollups();
ALTER SYSTEM SET fluss_grid.enabled = off;
SELECT pg_reload_conf();
SELECT pg_sleep(0.2);
INSERT INTO m (ts, k, f) SELECT '2026-11-26 04:00:00+00'::timestamptz + (g || ' ms')::interval, 'bulk', g
  FROM generate_series(1, 10000) g;
SELECT pending_changes FROM fluss_grid.rollups WHERE name = 'm_1min'::regclass;
ALTER SYSTEM RESET fluss_grid.enabled;
SELECT pg_reload_conf();
SELECT * FROM check_all();

-- TRUNCATE empties the rollup; changes after it in the same transaction count
BEGIN;
INSERT INTO m (ts, k, f) VALUES ('2026-11-26 05:00:00+00', 'gone', 1);
TRUNCATE m;
INSERT INTO m (ts, k, f) VALUES ('2026-11-26 05:00:00+00', 'after', 2);
COMMIT;
SELECT * FROM check_all();
SELECT k, cnt, sum_f FROM m_1min;

-- min/max keep a top-k list: the 8 best distinct values with their row
-- counts.  Retracting the extreme (or one of several tied rows) promotes the
-- next value without reading the source; only a list that runs dry does.
CREATE TABLE tie (ts timestamptz NOT NULL, f float8);
SELECT fluss_grid.create_rollup('tie_m', 'tie', 'ts', '1 minute', NULL,
                                ARRAY['max(f) AS mx', 'min(f) AS mn']);
INSERT INTO tie VALUES ('2026-11-26 00:00:01+00', 10), ('2026-11-26 00:00:02+00', 10),
                       ('2026-11-26 00:00:03+00', 10), ('2026-11-26 00:00:04+00', 5);
INSERT INTO tie SELECT '2026-11-26 00:00:10+00'::timestamptz + g * interval '1 second', g
  FROM generate_series(1, 12) g;
SELECT fluss_grid.wait_for_rollups();
SELECT mx, fluss_grid.topk_text(_fg_1_k) AS max_list,
       mn, fluss_grid.topk_text(_fg_2_k) AS min_list FROM tie_m;
-- one of three tied maxima goes, another drops to 5: counts only
DELETE FROM tie WHERE ts = '2026-11-26 00:00:01+00';
UPDATE tie SET f = 5 WHERE ts = '2026-11-26 00:00:02+00';
SELECT mx, mn FROM tie_m_realtime;
SELECT fluss_grid.wait_for_rollups();
SELECT mx, fluss_grid.topk_text(_fg_1_k) AS max_list,
       mn, fluss_grid.topk_text(_fg_2_k) AS min_list FROM tie_m;
-- the unique max and min go: the runners-up take over
DELETE FROM tie WHERE f IN (12, 11, 1);
SELECT mx, mn FROM tie_m_realtime;
SELECT fluss_grid.wait_for_rollups();
SELECT mx, fluss_grid.topk_text(_fg_1_k) AS max_list,
       mn, fluss_grid.topk_text(_fg_2_k) AS min_list FROM tie_m;
SELECT recomputed_groups FROM fluss_grid.rollups WHERE name = 'tie_m'::regclass;
-- every kept maximum goes: the list runs dry and the group is read again
DELETE FROM tie WHERE f >= 5;
SELECT mx, mn FROM tie_m_realtime;
SELECT fluss_grid.wait_for_rollups();
SELECT mx, fluss_grid.topk_text(_fg_1_k) AS max_list,
       mn, fluss_grid.topk_text(_fg_2_k) AS min_list FROM tie_m;
SELECT recomputed_groups FROM fluss_grid.rollups WHERE name = 'tie_m'::regclass;
-- and the group disappears with its last row
DELETE FROM tie;
SELECT fluss_grid.wait_for_rollups();
SELECT count(*) FROM tie_m;
SELECT fluss_grid.drop_rollup('tie_m');
DROP TABLE tie;

-- top-k lists combine as multisets: apply(state, ins, del)
SELECT fluss_grid.topk_text(fluss_grid.topk_apply(
         (SELECT fluss_grid.topk(x, false) FROM unnest(ARRAY[3, 1, 2, 2]) x),
         (SELECT fluss_grid.topk(x, false) FROM unnest(ARRAY[0, 2]) x),
         (SELECT fluss_grid.topk(x, false) FROM unnest(ARRAY[1]) x)));
-- retracting what was never counted is inconsistent: dry, never negative
SELECT fluss_grid.topk_text(fluss_grid.topk_apply(
         (SELECT fluss_grid.topk(x, true) FROM unnest(ARRAY[3, 1]) x), NULL,
         (SELECT fluss_grid.topk(x, true) FROM unnest(ARRAY[3, 3]) x)));
-- a list of 20 distinct values keeps 8 and knows it dropped some
SELECT fluss_grid.topk_text(fluss_grid.topk(x * 0.25, true)) FROM generate_series(1, 20) x;
SELECT fluss_grid.topk_best(fluss_grid.topk(x, true), NULL::bigint) FROM generate_series(1, 20) x;
SELECT fluss_grid.topk_best(fluss_grid.topk(x, true), NULL::integer) FROM generate_series(1, 20) x;
SELECT fluss_grid.topk_text('\x00'::bytea);
-- the functions take any bytea: a forged numeric is refused, not returned
SELECT fluss_grid.topk_best(set_byte(set_byte(fluss_grid.topk(1.5, true), 22, 255), 23, 127),
                            NULL::numeric);
SELECT fluss_grid.topk(x, true) FROM unnest(ARRAY['a', 'b']) x;

DROP FUNCTION check_all();
DROP VIEW ref;
SELECT fluss_grid.drop_rollup('m_1min');
DROP TABLE m;
