-- fluss_columnar: the custom scan (projection, row-group skipping)
\set VERBOSITY terse
SET client_min_messages = warning;
CREATE SCHEMA cs;
SET search_path = cs, public;

-- 200 rows in row groups of 10: ids, times and s2 rise with the row
-- group; n is NULL in the first three row groups (no least/greatest)
CREATE TABLE t (
    id int4, ts timestamptz, v float8, s text, s2 text COLLATE "C", n int8,
    pad text
) USING fluss_columnar;
SELECT fluss_grid.columnar_set('t', row_group_rows => 10);
INSERT INTO t
SELECT g, '2026-11-01 00:00:00+00'::timestamptz + g * interval '1 minute',
       g * 0.5, 'v' || lpad(g::text, 3, '0'), chr(97 + (g - 1) / 10),
       CASE WHEN g <= 30 OR g % 3 = 0 THEN NULL ELSE g END, repeat('x', 50)
FROM generate_series(1, 200) g;
SELECT DISTINCT row_groups FROM fluss_grid.columnar_stats('t');
ANALYZE t;

-- the same rows (as a sorted text) with the custom scan and without
CREATE FUNCTION same(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    a text;
    b text;
    n bigint;
BEGIN
    PERFORM set_config('fluss_grid.columnar_customscan', 'on', true);
    EXECUTE format('SELECT string_agg(x::text, ''|'' ORDER BY x::text), count(*) FROM (%s) x', q)
        INTO a, n;
    PERFORM set_config('fluss_grid.columnar_customscan', 'off', true);
    EXECUTE format('SELECT string_agg(x::text, ''|'' ORDER BY x::text) FROM (%s) x', q)
        INTO b;
    PERFORM set_config('fluss_grid.columnar_customscan', 'on', true);
    RETURN CASE WHEN a IS NOT DISTINCT FROM b THEN 'same' ELSE 'DIFFERENT' END
        || ', ' || n || ' rows';
END $$;

-- plans: the custom scan, the columns it decodes, the quals that skip
EXPLAIN (COSTS OFF) SELECT v FROM t WHERE id > 150;
EXPLAIN (COSTS OFF) SELECT count(*) FROM t;
EXPLAIN (COSTS OFF) SELECT t FROM t WHERE s2 = 'c';
EXPLAIN (COSTS OFF) SELECT ctid, tableoid::regclass, id FROM t WHERE 20 >= id;
EXPLAIN (COSTS OFF) SELECT id FROM t WHERE ts BETWEEN '2026-11-01 01:00+00' AND '2026-11-01 01:05+00';
-- not skipping: another collation, a function of the column, OR
EXPLAIN (COSTS OFF) SELECT id FROM t WHERE s2 < 'b' COLLATE "POSIX";
EXPLAIN (COSTS OFF) SELECT id FROM t WHERE id + 0 < 5 OR id = 7;
SET fluss_grid.columnar_customscan = off;
EXPLAIN (COSTS OFF) SELECT v FROM t WHERE id > 150;
RESET fluss_grid.columnar_customscan;

-- row groups skipped (ids 51..60 are row group 6; 41..50 row group 5)
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT * FROM t WHERE id BETWEEN 50 AND 60;
SELECT id, v, s FROM t WHERE id BETWEEN 50 AND 60 ORDER BY id;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT count(*) FROM t WHERE n > 190;
-- the all-NULL row groups have no least/greatest: never skipped
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT count(*) FROM t WHERE n < 40;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT count(*) FROM t WHERE s2 >= 's' AND s2 < 't';

-- results with the custom scan and without
SELECT same('SELECT id FROM t');
SELECT same('SELECT count(*) FROM t');
SELECT same('SELECT s, v FROM t WHERE id < 15');
SELECT same('SELECT t FROM t WHERE id <= 10');
SELECT same('SELECT t.*, ctid FROM t WHERE id = 55');
SELECT same('SELECT ctid, tableoid::regclass, id FROM t WHERE 20 >= id');
SELECT same('SELECT id FROM t WHERE id >= 190');
SELECT same('SELECT id FROM t WHERE id > 195');
SELECT same('SELECT id FROM t WHERE 55 > id');
SELECT same('SELECT id FROM t WHERE 55 <= id AND id <= 57');
SELECT same('SELECT id FROM t WHERE id > 1000');
SELECT same('SELECT id FROM t WHERE id = 2.5');
SELECT same('SELECT id FROM t WHERE id::int8 > 150::int8');
SELECT same('SELECT id, n FROM t WHERE n IS NULL');
SELECT same('SELECT id, n FROM t WHERE n > 100');
SELECT same('SELECT id, n FROM t WHERE n <= 40');
SELECT same('SELECT id FROM t WHERE n = NULL::int8');
SELECT same('SELECT id FROM t WHERE ts > ''2026-11-01 03:10+00''');
SELECT same('SELECT id FROM t WHERE ts >= ''2026-11-01 03:10+00''::timestamp');
SELECT same('SELECT id, s2 FROM t WHERE s2 > ''r''');
SELECT same('SELECT id, s2 FROM t WHERE s2 < ''b'' COLLATE "POSIX"');
SELECT same('SELECT id, s FROM t WHERE s > ''v190''');
SELECT same('SELECT id, s FROM t WHERE s COLLATE "C" <= ''v005''');
SELECT same('SELECT a.id, b.v FROM t a JOIN t b ON a.id = b.id + 1 WHERE b.id < 30');
SELECT same('SELECT g, (SELECT count(*) FROM t WHERE id <= g) FROM generate_series(5, 200, 65) g');
SELECT same('SELECT g, x FROM generate_series(1, 3) g, LATERAL (SELECT g + id AS x FROM t WHERE id < 3) s');

-- Params: a generic plan evaluates them when the scan starts
SET plan_cache_mode = force_generic_plan;
PREPARE p(int) AS SELECT count(*), sum(v) FROM t WHERE id > $1;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) EXECUTE p(180);
EXECUTE p(180);
EXECUTE p(0);
EXECUTE p(NULL);
PREPARE q(text) AS SELECT count(*) FROM t WHERE s2 = $1;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) EXECUTE q('e');
SET fluss_grid.columnar_customscan = off;
EXECUTE q('e');
RESET fluss_grid.columnar_customscan;
DEALLOCATE p;
DEALLOCATE q;
RESET plan_cache_mode;

-- UPDATE and DELETE above the scan get the rows' TIDs
BEGIN;
EXPLAIN (COSTS OFF) UPDATE t SET v = v + 1000 WHERE id = 42;
UPDATE t SET v = v + 1000 WHERE id = 42;
DELETE FROM t WHERE id > 195;
SELECT id, v, s, n FROM t WHERE id = 42 OR id > 193 ORDER BY id;
SELECT same('SELECT * FROM t');
ROLLBACK;

-- rows of this transaction: flushed row groups and the write buffer
BEGIN;
INSERT INTO t SELECT g, NULL, g, 'w' || g, 'z', g, NULL FROM generate_series(1001, 1025) g;
SELECT same('SELECT id, v FROM t WHERE id > 1000');
SELECT same('SELECT id, s2 FROM t WHERE s2 = ''z''');
SELECT count(*), min(id), max(id) FROM t WHERE id > 1000;
SELECT count(*), min(id), max(id) FROM t WHERE id >= 1021;
-- the 20 committed row groups and the first of this transaction's
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT id FROM t WHERE id >= 1018;
DELETE FROM t WHERE id = 1024;
SELECT same('SELECT id FROM t WHERE id > 1000');
ROLLBACK;

-- cursors, forward and backward (a Material node under SCROLL)
BEGIN;
DECLARE c CURSOR FOR SELECT id FROM t WHERE id > 185;
FETCH 3 FROM c;
FETCH 3 FROM c;
CLOSE c;
DECLARE d SCROLL CURSOR FOR SELECT id, s FROM t WHERE id < 5;
FETCH 3 FROM d;
FETCH BACKWARD 2 FROM d;
CLOSE d;
COMMIT;

-- a collation change without a rewrite: the least/greatest recorded under
-- "C" ('B' < 'a') are forgotten, or 'a' < 'b' under ICU would be skipped
CREATE TABLE tc (s text COLLATE "C") USING fluss_columnar;
INSERT INTO tc VALUES ('B'), ('a');
SELECT fluss_grid.columnar_storage_id('tc') AS sid \gset
SELECT s FROM tc WHERE s < 'b' ORDER BY s;
ALTER TABLE tc ALTER COLUMN s TYPE text COLLATE "und-x-icu";
SELECT fluss_grid.columnar_storage_id('tc') = :sid AS not_rewritten;
SELECT count(*) FROM fluss_grid.columnar_chunk
WHERE storage_id = :sid AND min_value IS NOT NULL;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT s FROM tc WHERE s < 'b';
SELECT same('SELECT s FROM tc WHERE s < ''b''');
SELECT s FROM tc WHERE s < 'b';

-- the scan's own projection: an expression over by-value columns keeps
-- its result while its inputs repeat (runs of equal times, NULLs, -0 and 0,
-- several inputs); others are evaluated for every row
CREATE TABLE tp (ts timestamptz, k int4, f float8, s text) USING fluss_columnar;
INSERT INTO tp
SELECT '2026-11-01 00:00+00'::timestamptz + (g / 7) * interval '20 seconds',
       CASE WHEN g % 11 = 0 THEN NULL ELSE g / 5 END,
       CASE WHEN g % 13 = 0 THEN NULL WHEN g % 17 = 0 THEN '-0'::float8
            ELSE (g / 3) * 0.5 END,
       'r' || g % 3
FROM generate_series(1, 500) g;
INSERT INTO tp (k, f) VALUES (1, 0), (1, '-0'), (1, '-0'), (1, 0);
EXPLAIN (VERBOSE, COSTS OFF)
SELECT s, date_trunc('minute', ts), count(*) FROM tp GROUP BY 1, 2;
SELECT same('SELECT s, date_trunc(''minute'', ts), k + 1, f * 2, k + f, f IS NULL, coalesce(k, -1), 1 / (f + 1) FROM tp');
SELECT same('SELECT s, date_trunc(''minute'', ts), count(*), sum(k), min(f) FROM tp GROUP BY 1, 2');
SELECT same('SELECT k / 2, f FROM tp WHERE f > 10');
SELECT same('SELECT k, f::text, random() < 2 FROM tp');
SELECT same('SELECT ctid, date_trunc(''hour'', ts) FROM tp');
-- -0 and 0 are compared bit for bit: each gets its own result
SELECT same('SELECT atan2(f, -1) FROM tp WHERE f = 0');
SELECT atan2(f, -1) AS a, count(*) FROM tp WHERE f = 0 GROUP BY 1 ORDER BY 1;
-- a volatile qual may change what a stable function returns: no results
-- kept (TimeZone switches within runs of equal times)
SELECT same('SELECT date_trunc(''hour'', ts), count(*) FROM tp WHERE set_config(''TimeZone'', CASE WHEN k % 2 = 0 THEN ''UTC'' ELSE ''Asia/Kolkata'' END, true) IS NOT NULL GROUP BY 1');
-- a rescan with a new Param forgets the results kept (every k is 2: the
-- first row of a rescan has the inputs of the last row before)
EXPLAIN (VERBOSE, COSTS OFF)
SELECT g, ARRAY(SELECT k * g FROM tp WHERE k = 2) FROM generate_series(1, 3) g;
SELECT g, ARRAY(SELECT k * g FROM tp WHERE k = 2) FROM generate_series(1, 3) g;
-- an error in the expression is raised as without the scan
SELECT k / (f - f) FROM tp WHERE f IS NOT NULL;

DROP SCHEMA cs CASCADE;
