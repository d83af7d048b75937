-- fluss_columnar: skip quals applied to the decoded values of each row
-- group before rows are formed (late materialisation), and the column-wise
-- write buffer.  Every result is compared with the custom scan on and off.
\set VERBOSITY terse
SET client_min_messages = warning;
SET TimeZone = 'UTC';
CREATE SCHEMA crq;
SET search_path = crq, public;

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

-- 120 rows in row groups of 16, values scattered over the row groups (so
-- least/greatest skip little and the rows are filtered inside each group),
-- every 7th value NULL, floats with NaN, ±Infinity and -0
CREATE TABLE r (
    g int4, i2 int2, i4 int4, i8 int8, f4 float4, f8 float8, num numeric,
    d date, ts timestamp, tz timestamptz, tc text COLLATE "C",
    tp text COLLATE "POSIX", b bool, iv interval, pad text
) USING fluss_columnar;
SELECT fluss_grid.columnar_set('r', row_group_rows => 16);
INSERT INTO r
SELECT g,
       CASE WHEN k % 7 = 0 THEN NULL ELSE k - 50 END,
       CASE WHEN k % 7 = 1 THEN NULL ELSE k * 1000 END,
       CASE WHEN k % 7 = 2 THEN NULL ELSE k::int8 * 10000000000 END,
       CASE WHEN k % 7 = 3 THEN NULL WHEN k = 10 THEN 'NaN'
            WHEN k = 11 THEN 'Infinity' WHEN k = 12 THEN '-Infinity'
            WHEN k = 13 THEN '-0' ELSE k / 4.0 END,
       CASE WHEN k % 7 = 4 THEN NULL WHEN k = 20 THEN 'NaN'
            WHEN k = 21 THEN 'Infinity' WHEN k = 22 THEN '-Infinity'
            WHEN k = 23 THEN '-0' ELSE k / 8.0 END,
       CASE WHEN k % 7 = 5 THEN NULL WHEN k = 30 THEN 'NaN' ELSE k * 1.5 END,
       CASE WHEN k % 7 = 6 THEN NULL ELSE date '2026-01-01' + k END,
       CASE WHEN k % 7 = 0 THEN NULL
            ELSE timestamp '2026-01-01' + k * interval '1 hour' END,
       CASE WHEN k % 7 = 1 THEN NULL
            ELSE timestamptz '2026-01-01 00:00+00' + k * interval '1 hour' END,
       CASE WHEN k % 7 = 2 THEN NULL
            ELSE (ARRAY['a', 'B', 'b', 'A', 'ä', 'Z', 'z'])[k % 7 + 1] || k END,
       CASE WHEN k % 7 = 3 THEN NULL
            ELSE (ARRAY['a', 'B', 'b', 'A', 'ä', 'Z', 'z'])[k % 7 + 1] END,
       CASE WHEN k % 7 = 4 THEN NULL ELSE k % 2 = 0 END,
       CASE WHEN k % 7 = 5 THEN NULL ELSE k * interval '1 minute' END,
       repeat('p', k % 5)
FROM (SELECT g, (g * 37) % 121 AS k FROM generate_series(1, 120) g) s;
SELECT DISTINCT row_groups FROM fluss_grid.columnar_stats('r');
ANALYZE r;

-- the plan: skip quals; rows removed before the executor's filter
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT count(*) FROM r WHERE i4 >= 50000 AND i4 < 52000;
-- a row group read for its qual columns only: no row passes
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT g, pad FROM r WHERE i4 = 50500;
-- integers, one type and across types
SELECT same('SELECT g FROM r WHERE i2 < -20');
SELECT same('SELECT g FROM r WHERE i2 <= 0::int8');
SELECT same('SELECT g FROM r WHERE i2 = 5');
SELECT same('SELECT g, i4 FROM r WHERE i4 >= 60000 AND i4 < 70000');
SELECT same('SELECT g FROM r WHERE i4 > 3000000000::int8');
SELECT same('SELECT g FROM r WHERE i4 < 3000000000::int8');
SELECT same('SELECT g FROM r WHERE i4 = 4000::int2');
SELECT same('SELECT g FROM r WHERE i4 <= 30000::int2');
SELECT same('SELECT g, i8 FROM r WHERE i8 BETWEEN 200000000000 AND 900000000000');
SELECT same('SELECT g FROM r WHERE i8 > 40');
SELECT same('SELECT g FROM r WHERE 500000000000 >= i8');
-- floats: NaN is greatest, -0 = 0, across float4/float8
SELECT same('SELECT g, f4 FROM r WHERE f4 > 20');
SELECT same('SELECT g, f4 FROM r WHERE f4 >= ''Infinity''');
SELECT same('SELECT g, f4 FROM r WHERE f4 = ''NaN''');
SELECT same('SELECT g, f4 FROM r WHERE f4 < ''NaN''');
SELECT same('SELECT g, f4 FROM r WHERE f4 = 0');
SELECT same('SELECT g, f4 FROM r WHERE f4 <= 2.5::float8');
SELECT same('SELECT g, f8 FROM r WHERE f8 > 10');
SELECT same('SELECT g, f8 FROM r WHERE f8 > ''Infinity''');
SELECT same('SELECT g, f8 FROM r WHERE f8 >= ''NaN''');
SELECT same('SELECT g, f8 FROM r WHERE f8 = ''-0''');
SELECT same('SELECT g, f8 FROM r WHERE f8 < ''-Infinity''::float8');
SELECT same('SELECT g, f8 FROM r WHERE f8 <= ''-Infinity''');
SELECT same('SELECT g, f8 FROM r WHERE f8 < 3::float4');
SELECT same('SELECT g, num FROM r WHERE num > 100');
SELECT same('SELECT g, num FROM r WHERE num = ''NaN''');
SELECT same('SELECT g, num FROM r WHERE num < 1e100');
-- dates and times, across types (TimeZone matters)
SELECT same('SELECT g, d FROM r WHERE d > ''2026-03-01''');
SELECT same('SELECT g, d FROM r WHERE d >= ''2026-02-10 12:00''::timestamp');
SELECT same('SELECT g, d FROM r WHERE d < ''2026-02-10 12:00+05''::timestamptz');
SELECT same('SELECT g, ts FROM r WHERE ts >= ''2026-01-03'' AND ts < ''2026-01-04''');
SELECT same('SELECT g, ts FROM r WHERE ts = ''2026-01-02 01:00''');
SELECT same('SELECT g, ts FROM r WHERE ts > ''2026-01-03 12:00+03''::timestamptz');
SELECT same('SELECT g, tz FROM r WHERE tz >= ''2026-01-02 00:00+00'' AND tz < ''2026-01-02 00:00+00''::timestamptz + interval ''1 minute''');
SELECT same('SELECT g, tz FROM r WHERE tz < ''2026-01-02 10:00''::timestamp');
SELECT same('SELECT g, tz FROM r WHERE tz <= ''2026-01-05''::date');
-- text under the column's collation, and under another (not a skip qual)
SELECT same('SELECT g, tc FROM r WHERE tc < ''b''');
SELECT same('SELECT g, tc FROM r WHERE tc >= ''Z''');
SELECT same('SELECT g, tc FROM r WHERE tc > ''a'' COLLATE "POSIX"');
SELECT same('SELECT g, tp FROM r WHERE tp = ''ä''');
SELECT same('SELECT g, tp FROM r WHERE tp <= ''B''');
SELECT same('SELECT g, tp FROM r WHERE tp > ''a'' COLLATE "C"');
-- other types with a btree order
SELECT same('SELECT g, b FROM r WHERE b < true');
SELECT same('SELECT g, b FROM r WHERE b >= true');
SELECT same('SELECT g, iv FROM r WHERE iv > interval ''1 hour''');
SELECT same('SELECT g, iv FROM r WHERE iv <= ''00:30:00''::interval');
-- decimal-encoded floats with NULLs decoded only for the rows that passed
SELECT same('SELECT g, f4, f8 FROM r WHERE i4 >= 60000 AND i4 < 90000');
SELECT same('SELECT g, f8, num FROM r WHERE tc < ''b''');
SELECT attname, encodings FROM fluss_grid.columnar_stats('r') WHERE attname IN ('f4', 'f8');
-- several quals, NULL values, quals that are not skip quals
SELECT same('SELECT g FROM r WHERE i4 > 20000 AND f8 < 5 AND tc >= ''a''');
SELECT same('SELECT g FROM r WHERE i4 > NULL::int4');
SELECT same('SELECT g FROM r WHERE i4 > 20000 AND (f8 < 5 OR f8 IS NULL)');
SELECT same('SELECT g FROM r WHERE i4 IS NULL AND i2 > 0');
SELECT same('SELECT count(*), sum(i4) FROM r WHERE i4 >= 30000');

-- Params of generic plans: prepared with the custom scan on and off
SET plan_cache_mode = force_generic_plan;
PREPARE p_on(int8, float8, text) AS
    SELECT string_agg(g::text, ',' ORDER BY g) FROM r
    WHERE i4 > $1 AND f8 <= $2 AND tc < $3;
SET fluss_grid.columnar_customscan = off;
PREPARE p_off(int8, float8, text) AS
    SELECT string_agg(g::text, ',' ORDER BY g) FROM r
    WHERE i4 > $1 AND f8 <= $2 AND tc < $3;
RESET fluss_grid.columnar_customscan;
EXPLAIN (COSTS OFF) EXECUTE p_on(10000, 10, 'b');
EXECUTE p_on(10000, 10, 'b');
EXECUTE p_off(10000, 10, 'b');
EXECUTE p_on(-1, 'NaN', 'zz');
EXECUTE p_off(-1, 'NaN', 'zz');
EXECUTE p_on(NULL, 10, 'b');
EXECUTE p_off(NULL, 10, 'b');
DEALLOCATE p_on;
DEALLOCATE p_off;
RESET plan_cache_mode;

-- deleted rows, own flushed row groups and buffered rows
DELETE FROM r WHERE g % 5 = 0;
SELECT same('SELECT g, i4 FROM r WHERE i4 >= 40000 AND i4 <= 90000');
BEGIN;
INSERT INTO r (g, i4, f8, tc)
SELECT 1000 + g, g * 1000 + 500, g / 2.0, 'b' || g FROM generate_series(1, 40) g;
DELETE FROM r WHERE g IN (1003, 1020, 1038);
SELECT same('SELECT g, i4 FROM r WHERE i4 >= 30000 AND i4 < 36000');
SELECT same('SELECT g, f8 FROM r WHERE f8 > 19');
SELECT same('SELECT g, tc FROM r WHERE tc > ''b3''');
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT g FROM r WHERE i4 = 39500;
COMMIT;
SELECT same('SELECT g, i4 FROM r WHERE i4 >= 30000 AND i4 < 36000');

-- the write buffer, column by column: columns added and dropped while
-- rows are buffered, by-reference values, updates of buffered rows
CREATE TABLE w (id int4, s text, n numeric) USING fluss_columnar;
CREATE TABLE wh (id int4, s text, n numeric);
BEGIN;
INSERT INTO w SELECT g, repeat('s', g), g * 1.25 FROM generate_series(1, 5) g;
INSERT INTO wh SELECT g, repeat('s', g), g * 1.25 FROM generate_series(1, 5) g;
ALTER TABLE w ADD COLUMN c int4 DEFAULT 7, ADD COLUMN t text DEFAULT 'dflt',
    ADD COLUMN z text;
ALTER TABLE wh ADD COLUMN c int4 DEFAULT 7, ADD COLUMN t text DEFAULT 'dflt',
    ADD COLUMN z text;
INSERT INTO w VALUES (6, 'six', 6.5, 60, 'sixty', 'z6'), (7, NULL, NULL, NULL, NULL, NULL);
INSERT INTO wh VALUES (6, 'six', 6.5, 60, 'sixty', 'z6'), (7, NULL, NULL, NULL, NULL, NULL);
ALTER TABLE w DROP COLUMN n;
ALTER TABLE wh DROP COLUMN n;
UPDATE w SET s = s || '!', c = c + 1 WHERE id IN (2, 6);
UPDATE wh SET s = s || '!', c = c + 1 WHERE id IN (2, 6);
INSERT INTO w VALUES (8, repeat('long', 3000), 80, 'eighty', NULL);
INSERT INTO wh VALUES (8, repeat('long', 3000), 80, 'eighty', NULL);
-- a compressed value from the heap table: stored detoasted
INSERT INTO w SELECT 9, s, c, t, z FROM wh WHERE id = 8;
INSERT INTO wh SELECT 9, s, c, t, z FROM wh WHERE id = 8;
SELECT pg_column_compression(s) FROM wh WHERE id = 8;
-- a value stored out of line in the heap table's TOAST table
INSERT INTO wh VALUES (10, (SELECT string_agg(md5(g::text), '') FROM generate_series(1, 3000) g));
INSERT INTO w SELECT 10, s FROM wh WHERE id = 10;
SELECT id, left(s, 12), length(s), c, t, z FROM w ORDER BY id;
SELECT (SELECT string_agg(x::text, '|' ORDER BY x::text) FROM w x) =
       (SELECT string_agg(x::text, '|' ORDER BY x::text) FROM wh x) AS same_as_heap;
COMMIT;
SELECT pg_relation_size(reltoastrelid) > 0 AS heap_toasted FROM pg_class WHERE relname = 'wh';
-- the heap row and its TOAST rows go: the columnar copy is the value itself
DELETE FROM wh WHERE id = 10;
VACUUM wh;
SELECT id, length(s), md5(s) = (SELECT md5(string_agg(md5(g::text), '')) FROM generate_series(1, 3000) g) AS intact
FROM w WHERE id = 10;
INSERT INTO wh SELECT 10, s FROM w WHERE id = 10;
SELECT id, left(s, 12), length(s), c, t, z FROM w ORDER BY id;
SELECT (SELECT string_agg(x::text, '|' ORDER BY x::text) FROM w x) =
       (SELECT string_agg(x::text, '|' ORDER BY x::text) FROM wh x) AS same_as_heap;

-- compression_level applies from the first write, also to rows already
-- buffered in the transaction that sets it
CREATE TABLE l1 (s text) USING fluss_columnar;
CREATE TABLE l3 (s text) USING fluss_columnar;
CREATE TABLE l19 (s text) USING fluss_columnar;
SELECT fluss_grid.columnar_set('l1', compression_level => 1);
INSERT INTO l1 SELECT md5((g % 5000)::text) || (g % 77) FROM generate_series(1, 20000) g;
INSERT INTO l3 SELECT md5((g % 5000)::text) || (g % 77) FROM generate_series(1, 20000) g;
BEGIN;
INSERT INTO l19 SELECT md5((g % 5000)::text) || (g % 77) FROM generate_series(1, 20000) g;
SELECT fluss_grid.columnar_set('l19', compression_level => 19);
COMMIT;
SELECT a.compressed_bytes <> b.compressed_bytes AS l1_differs,
       c.compressed_bytes <> b.compressed_bytes AS l19_differs,
       a.raw_bytes = b.raw_bytes AND c.raw_bytes = b.raw_bytes AS same_raw
FROM fluss_grid.columnar_stats('l1') a, fluss_grid.columnar_stats('l3') b,
     fluss_grid.columnar_stats('l19') c;

DROP SCHEMA crq CASCADE;
