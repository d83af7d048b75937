-- fluss_columnar: indexes (B-tree and others), unique checks, index,
-- index-only and bitmap scans; every result also read by a seq scan
\set VERBOSITY terse
SET client_min_messages = warning;
CREATE SCHEMA coli;
SET search_path = coli, public;

CREATE TABLE m (station int NOT NULL, ts timestamptz NOT NULL, v float8)
    USING fluss_columnar;
SELECT fluss_grid.columnar_set('m', row_group_rows => 1000);
-- an index on an empty table, filled by the inserts
CREATE INDEX m_station ON m (station);
INSERT INTO m SELECT g % 50, '2026-11-01 00:00:00+00'::timestamptz + g * interval '1 s',
                     g / 10.0
  FROM generate_series(0, 4999) g;
-- an index on a populated table, never built in parallel
SET max_parallel_maintenance_workers = 2;
SET min_parallel_table_scan_size = 0;
CREATE INDEX m_ts ON m (ts);
RESET max_parallel_maintenance_workers;
RESET min_parallel_table_scan_size;
ANALYZE m;

-- the same queries as index scan, bitmap scan and seq scan
\set q1 'SELECT count(*), sum(v), min(ts), max(ts) FROM m WHERE station = 7'
\set q2 'SELECT count(*), sum(v) FROM m WHERE ts >= ''2026-11-01 00:20:00+00'' AND ts < ''2026-11-01 00:21:00+00'''
\set q3 'SELECT station, ts, v FROM m WHERE ts > ''2026-11-01 01:00:00+00'' ORDER BY ts LIMIT 3'
\set q4 'SELECT ts FROM m WHERE ts < ''2026-11-01 00:00:05+00'' ORDER BY ts DESC'
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) :q1;
:q1;
EXPLAIN (COSTS OFF) :q2;
:q2;
EXPLAIN (COSTS OFF) :q3;
:q3;
EXPLAIN (COSTS OFF) :q4;
:q4;
SET enable_indexscan = off;
SET enable_indexonlyscan = off;
SET enable_bitmapscan = on;
EXPLAIN (COSTS OFF) :q1;
:q1;
EXPLAIN (COSTS OFF) :q2;
:q2;
SET enable_seqscan = on;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) :q1;
:q1;
:q2;
:q3;
:q4;
RESET enable_indexscan;
RESET enable_indexonlyscan;
RESET enable_bitmapscan;

-- an index scan of 1,000 consecutive rows decodes their row group once
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SET client_min_messages = debug1;
SELECT count(*), sum(v) FROM m
 WHERE ts >= '2026-11-01 00:16:40+00' AND ts < '2026-11-01 00:33:20+00';
SET client_min_messages = warning;

-- after DELETE, UPDATE and a rolled back DELETE: still the seq scan's rows
DELETE FROM m WHERE station = 7 AND v < 200;
UPDATE m SET v = v + 1000 WHERE station = 7 AND v >= 400;
BEGIN;
DELETE FROM m WHERE station = 7;
:q1;
ROLLBACK;
:q1;
:q4;
-- index-only scans have no visibility map: they fetch every row
DELETE FROM m WHERE ts = '2026-11-01 00:00:02+00';
EXPLAIN (COSTS OFF) :q4;
:q4;
SET enable_indexscan = off;
SET enable_indexonlyscan = off;
SET enable_bitmapscan = on;
EXPLAIN (COSTS OFF) :q1;
:q1;
:q4;
SET enable_seqscan = on;
SET enable_bitmapscan = off;
:q1;
:q4;
SET enable_seqscan = off;
RESET enable_indexscan;
RESET enable_indexonlyscan;

-- rows of this transaction, buffered and flushed, through the index
BEGIN;
INSERT INTO m VALUES (7, '2026-11-02 00:00:00+00', 1), (7, '2026-11-02 00:00:01+00', 2);
:q1;
INSERT INTO m SELECT 7, '2026-11-03 00:00:00+00'::timestamptz + g * interval '1 s', g
  FROM generate_series(1, 1500) g;
:q1;
ROLLBACK;
:q1;

-- partial and expression indexes
CREATE INDEX m_hot ON m (station) WHERE v > 450;
CREATE INDEX m_minute ON m ((date_trunc('minute', ts AT TIME ZONE 'UTC')));
\set q5 'SELECT count(*), sum(v) FROM m WHERE station = 3 AND v > 450'
\set q6 'SELECT count(*), sum(v) FROM m WHERE date_trunc(''minute'', ts AT TIME ZONE ''UTC'') = ''2026-11-01 00:30:00'''
EXPLAIN (COSTS OFF) :q5;
:q5;
EXPLAIN (COSTS OFF) :q6;
:q6;
SET enable_seqscan = on;
SET enable_indexscan = off;
SET enable_bitmapscan = off;
:q5;
:q6;
RESET enable_indexscan;
RESET enable_bitmapscan;
SET enable_seqscan = off;

-- REINDEX, VACUUM FULL, SET ACCESS METHOD both ways keep the indexes right
REINDEX TABLE m;
:q1;
:q6;
VACUUM FULL m;
:q1;
:q6;
ALTER TABLE m SET ACCESS METHOD heap;
:q1;
:q6;
ALTER TABLE m SET ACCESS METHOD fluss_columnar;
SELECT amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE relname = 'm';
:q1;
:q6;
:q4;
-- a hash index
CREATE INDEX m_hash ON m USING hash (station);
DROP INDEX m_station;
EXPLAIN (COSTS OFF) :q1;
:q1;
RESET enable_seqscan;

-- PRIMARY KEY and UNIQUE
\set VERBOSITY default
CREATE TABLE u (id int PRIMARY KEY, s text) USING fluss_columnar;
INSERT INTO u SELECT g, 'x' || g FROM generate_series(1, 100) g;
-- a duplicate of a committed row
INSERT INTO u VALUES (5, 'dup');
-- of a row still in this transaction's write buffer
BEGIN;
INSERT INTO u VALUES (1000, 'a');
INSERT INTO u VALUES (1000, 'b');
ROLLBACK;
-- within one statement
INSERT INTO u VALUES (1001, 'a'), (1001, 'b');
-- of a row this transaction flushed
BEGIN;
INSERT INTO u SELECT g, 'y' FROM generate_series(2001, 2100) g;
INSERT INTO u VALUES (2050, 'dup');
ROLLBACK;
-- a rolled back key, a deleted key, a key freed in a subtransaction
INSERT INTO u VALUES (1000, 'after rollback');
DELETE FROM u WHERE id = 5;
INSERT INTO u VALUES (5, 'again');
BEGIN;
SAVEPOINT s;
INSERT INTO u VALUES (3000, 'sub');
ROLLBACK TO SAVEPOINT s;
INSERT INTO u VALUES (3000, 'main');
COMMIT;
-- UPDATE: a new version (new TID) in every index; onto a taken key fails
UPDATE u SET s = 'updated' WHERE id = 8;
UPDATE u SET id = 6 WHERE id = 7;
UPDATE u SET id = 7000 WHERE id = 7;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT * FROM u WHERE id IN (5, 7, 8, 1000, 3000, 7000);
SELECT * FROM u WHERE id IN (5, 7, 8, 1000, 3000, 7000) ORDER BY id;
RESET enable_seqscan;
SELECT * FROM u WHERE id IN (5, 7, 8, 1000, 3000, 7000) ORDER BY id;
SELECT count(*), count(DISTINCT id) FROM u;
-- reservation records live only as long as their transaction
CREATE TABLE ur (id int PRIMARY KEY) USING fluss_columnar;
CREATE FUNCTION live_reservations(rel regclass) RETURNS bigint LANGUAGE sql
  AS 'SELECT count(*) FROM fluss_grid.columnar_reserved WHERE storage_id = fluss_grid.columnar_storage_id(rel)';
BEGIN;
INSERT INTO ur VALUES (1);
SELECT live_reservations('ur');
SAVEPOINT s;
INSERT INTO ur SELECT g FROM generate_series(2, 1000) g;
SELECT live_reservations('ur') > 1 AS grew;
ROLLBACK TO SAVEPOINT s;
SELECT live_reservations('ur');
COMMIT;
SELECT live_reservations('ur'), count(*) FROM ur;
BEGIN;
INSERT INTO ur VALUES (2);
TRUNCATE ur;
INSERT INTO ur VALUES (3);
SAVEPOINT s;
INSERT INTO ur SELECT g FROM generate_series(4, 500) g;
RELEASE SAVEPOINT s;
COMMIT;
SELECT live_reservations('ur'), count(*), min(id), max(id) FROM ur;
INSERT INTO ur VALUES (3);
DROP TABLE ur;
DROP FUNCTION live_reservations(regclass);
-- a unique constraint added to duplicates, a partial unique index
CREATE TABLE d (k int, s text) USING fluss_columnar;
INSERT INTO d VALUES (1, 'a'), (1, 'b'), (2, 'c');
ALTER TABLE d ADD UNIQUE (k);
DELETE FROM d WHERE s = 'b';
ALTER TABLE d ADD UNIQUE (k);
INSERT INTO d VALUES (2, 'dup');
CREATE UNIQUE INDEX d_s ON d (s) WHERE k > 10;
INSERT INTO d VALUES (11, 'z'), (12, 'y'), (3, 'z');
INSERT INTO d VALUES (13, 'z');
SELECT * FROM d ORDER BY k;
-- foreign keys to a columnar table (checked through its primary key)
CREATE TABLE r (id int REFERENCES u (id)) USING fluss_columnar;
INSERT INTO r VALUES (5), (8);
INSERT INTO r VALUES (4000);
DELETE FROM u WHERE id = 8;
DELETE FROM r WHERE id = 8;
DELETE FROM u WHERE id = 8;
DROP TABLE r;
-- TRUNCATE empties the indexes
TRUNCATE u;
INSERT INTO u VALUES (5, 'after truncate');
SELECT * FROM u;
\set VERBOSITY terse

-- refused: concurrent builds, BRIN, exclusion constraints, ON CONFLICT
CREATE INDEX CONCURRENTLY ON u (s);
REINDEX TABLE CONCURRENTLY u;
REINDEX INDEX CONCURRENTLY u_pkey;
CREATE INDEX ON u USING brin (id);
CREATE TABLE x (a int, EXCLUDE USING btree (a WITH =)) USING fluss_columnar;
INSERT INTO u VALUES (5, 'c') ON CONFLICT DO NOTHING;
INSERT INTO u VALUES (5, 'c') ON CONFLICT (id) DO UPDATE SET s = 'c';
SELECT count(*) FROM pg_class WHERE relname LIKE 'u_s%' OR relname LIKE 'x%';

RESET search_path;
DROP SCHEMA coli CASCADE;
