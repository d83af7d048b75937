-- fluss_columnar: encodings of float chunks (decimal scaling, with a delta
-- at a stride, or byte planes), exact round trips of edge cases
\set VERBOSITY terse
SET client_min_messages = warning;
SET extra_float_digits = 3;
CREATE SCHEMA enc;
SET search_path = enc, public;

-- every INSERT statement below is its own transaction, so its own row group
CREATE TABLE e8 (label text, id int, v float8) USING fluss_columnar;
CREATE TABLE h8 (label text, id int, v float8);
CREATE TABLE e4 (label text, id int, v float4) USING fluss_columnar;
CREATE TABLE h4 (label text, id int, v float4);

-- the chunks of column v, one line per row group, named by its first row
CREATE VIEW chunks AS
SELECT r.relname::text AS rel,
       (SELECT label FROM enc.e8 WHERE r.relname = 'e8' AND ctid = format('(%s,%s)', c.first_row / 291, c.first_row % 291 + 1)::tid
        UNION ALL
        SELECT label FROM enc.e4 WHERE r.relname = 'e4' AND ctid = format('(%s,%s)', c.first_row / 291, c.first_row % 291 + 1)::tid) AS label,
       CASE c.encoding WHEN 2 THEN 'byte planes' WHEN 3 THEN 'decimal'
                       WHEN 4 THEN 'decimal+delta' ELSE c.encoding::text END AS encoding,
       c.null_count, c.raw_length
  FROM (VALUES ('e8'::name), ('e4')) r(relname)
  JOIN fluss_grid.columnar_chunk c
    ON c.storage_id = fluss_grid.columnar_storage_id(('enc.' || r.relname)::regclass)
   AND c.attnum = 3
 ORDER BY 1 DESC, c.first_row;

-- float8: the same rows into columnar and heap
INSERT INTO e8 SELECT 'decimal', i, (ARRAY[0.1, 49.999, 123456.789, -0.5, 0, 220.45, 1e15, -7]::float8[])[i] FROM generate_series(1, 8) i;
INSERT INTO e8 VALUES ('one', 1, 0.1);
INSERT INTO e8 VALUES ('all NULL', 1, NULL), ('all NULL', 2, NULL);
INSERT INTO e8 VALUES ('NULLs', 1, 1.5), ('NULLs', 2, NULL), ('NULLs', 3, 2.25), ('NULLs', 4, NULL);
INSERT INTO e8 VALUES ('integers', 1, 1e18), ('integers', 2, -1e18), ('integers', 3, 9007199254740993);
INSERT INTO e8 VALUES ('scale 15', 1, 1.234567890123456), ('scale 15', 2, 1e-15), ('scale 15', 3, 5);
INSERT INTO e8 VALUES ('scale 16', 1, 0.1234567890123456), ('scale 16', 2, 1);
INSERT INTO e8 VALUES ('1e-300', 1, 1e-300), ('1e-300', 2, 1);
INSERT INTO e8 VALUES ('denormals', 1, 4.9e-324), ('denormals', 2, 2.2250738585072009e-308), ('denormals', 3, -4.9e-324);
INSERT INTO e8 VALUES ('-0', 1, '-0'), ('-0', 2, 1.5);
INSERT INTO e8 VALUES ('NaN', 1, 'NaN'), ('NaN', 2, 1.5);
INSERT INTO e8 VALUES ('Infinity', 1, 'Infinity'), ('Infinity', 2, '-Infinity'), ('Infinity', 3, 1.5);
INSERT INTO e8 VALUES ('1e19', 1, 1e19), ('1e19', 2, 1);
INSERT INTO e8 VALUES ('mixed', 1, 0.1), ('mixed', 2, 1 / 3.0::float8), ('mixed', 3, 49.999);
INSERT INTO e8 VALUES ('0.1 + 0.2', 1, 0.1::float8 + 0.2::float8), ('0.1 + 0.2', 2, 0.5);
-- 40 stations x 50 seconds: each station's readings 40 rows apart
INSERT INTO e8
SELECT 'stations', g, round((100 + (g % 40) * 7.25 + (g / 40) * 0.013)::numeric, 3)::float8
  FROM generate_series(0, 1999) g;
INSERT INTO e8
SELECT 'noise', g, round((50 + (hashint4(g) & 127) / 1000.0)::numeric, 3)::float8
  FROM generate_series(0, 1999) g;
-- COPY (multi_insert)
COPY e8 FROM STDIN;
copy	1	0.1
copy	2	\N
copy	3	-49.999
copy	4	1e-300
copy	5	-0
copy	6	NaN
copy	7	-Infinity
copy	8	4.9e-324
\.
COPY e8 FROM STDIN;
copy decimal	1	0.1
copy decimal	2	\N
copy decimal	3	-49.999
copy decimal	4	123456.789
\.
INSERT INTO h8 SELECT * FROM e8;

-- exact: the same bits as the heap, and as the text that went in
SELECT label, count(*) AS rows,
       count(*) FILTER (WHERE float8send(e.v) IS DISTINCT FROM float8send(h.v)) AS differ
  FROM e8 e JOIN h8 h USING (label, id)
 GROUP BY label ORDER BY min(e.ctid);
SELECT label, id, v, float8send(v) FROM e8 WHERE label NOT IN ('stations', 'noise') ORDER BY ctid;
SELECT label, count(*), sum(v), min(v), max(v) FROM e8 WHERE label IN ('stations', 'noise') GROUP BY label ORDER BY label;
SELECT rel, label, encoding, null_count FROM chunks WHERE rel = 'e8';
-- 'noise' spans 0.128 in steps of 0.001: one byte a row (+ a 20-byte
-- header) where the floats took 8
SELECT raw_length FROM chunks WHERE label = 'noise';

-- float4
INSERT INTO e4 SELECT 'decimal', i, (ARRAY[0.1, 49.999, 123456.79, -0.5, 0, 220.45, 16777216, -7]::float4[])[i] FROM generate_series(1, 8) i;
INSERT INTO e4 VALUES ('one', 1, 0.1);
INSERT INTO e4 VALUES ('all NULL', 1, NULL);
INSERT INTO e4 VALUES ('NULLs', 1, NULL), ('NULLs', 2, 3.75);
INSERT INTO e4 VALUES ('denormals', 1, 1.4e-45), ('denormals', 2, 1);
INSERT INTO e4 VALUES ('-0', 1, '-0'), ('-0', 2, 1);
INSERT INTO e4 VALUES ('NaN', 1, 'NaN'), ('NaN', 2, 1);
INSERT INTO e4 VALUES ('Infinity', 1, '-Infinity'), ('Infinity', 2, 1);
INSERT INTO e4 VALUES ('mixed', 1, 0.1), ('mixed', 2, 1 / 3.0::float4);
INSERT INTO e4 VALUES ('3.4e38', 1, 3.4e38), ('3.4e38', 2, 1);
INSERT INTO e4
SELECT 'stations', g, round((10 + (g % 40) * 7.25 + (g / 40) * 0.01)::numeric, 2)::float4
  FROM generate_series(0, 1999) g;
COPY e4 FROM STDIN;
copy	1	0.1
copy	2	\N
copy	3	-49.99
copy	4	NaN
\.
INSERT INTO h4 SELECT * FROM e4;
SELECT label, count(*) AS rows,
       count(*) FILTER (WHERE float4send(e.v) IS DISTINCT FROM float4send(h.v)) AS differ
  FROM e4 e JOIN h4 h USING (label, id)
 GROUP BY label ORDER BY min(e.ctid);
SELECT label, id, v, float4send(v) FROM e4 WHERE label <> 'stations' ORDER BY ctid;
SELECT rel, label, encoding, null_count FROM chunks WHERE rel = 'e4';

SELECT attname, row_groups, rows, null_values, encodings
  FROM fluss_grid.columnar_stats('e8');

-- survives a rewrite both ways
ALTER TABLE e8 SET ACCESS METHOD heap;
ALTER TABLE e8 SET ACCESS METHOD fluss_columnar;
SELECT count(*) AS rows,
       count(*) FILTER (WHERE float8send(e.v) IS DISTINCT FROM float8send(h.v)) AS differ
  FROM e8 e JOIN h8 h USING (label, id);

-- metadata that does not match the stored bytes (the CRC covers only the
-- bytes): XX001 with what is wrong, never wrong values
\set VERBOSITY default
CREATE TABLE bad (id int, v float8, w float8, s text) USING fluss_columnar;
INSERT INTO bad SELECT g, (hashint4(g) & 1023) / 8.0, g / 8.0, 'x' FROM generate_series(1, 100) g;
SELECT attname, encodings FROM fluss_grid.columnar_stats('bad');
CREATE FUNCTION set_encoding(att int, enc int) RETURNS void LANGUAGE sql AS $$
    UPDATE fluss_grid.columnar_chunk SET encoding = enc
     WHERE storage_id = fluss_grid.columnar_storage_id('enc.bad') AND attnum = att;
$$;
BEGIN;
SELECT set_encoding(2, 4);   -- decimal read as decimal+delta: no stride
SELECT sum(v) FROM bad;
ROLLBACK;
BEGIN;
SELECT set_encoding(3, 3);   -- decimal+delta read as decimal: a stride
SELECT sum(w) FROM bad;
ROLLBACK;
BEGIN;
SELECT set_encoding(2, 2);   -- decimal read as byte planes
SELECT sum(v) FROM bad;
ROLLBACK;
BEGIN;
SELECT set_encoding(4, 3);   -- text
SELECT count(s) FROM bad;
ROLLBACK;
BEGIN;
SELECT set_encoding(1, 4);   -- integers
SELECT sum(id) FROM bad;
ROLLBACK;
BEGIN;
SELECT set_encoding(2, 5);   -- unknown
SELECT sum(v) FROM bad;
ROLLBACK;
SELECT sum(id), sum(v), sum(w), count(s) FROM bad;
\set VERBOSITY terse

DROP SCHEMA enc CASCADE;
