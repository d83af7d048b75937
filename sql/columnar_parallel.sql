-- fluss_columnar: the parallel custom scan (Gather -> Parallel Custom Scan)
\set VERBOSITY terse
SET client_min_messages = warning;
CREATE SCHEMA cp;
SET search_path = cp, public;

-- 20,000 rows in 40 row groups of 500 (ids rise with the row group), and
-- the same rows in a heap table
CREATE TABLE t (id int4, g int4, v float8, s text) USING fluss_columnar;
SELECT fluss_grid.columnar_set('t', row_group_rows => 500);
INSERT INTO t
SELECT i, i % 7, i * 0.25, 'r' || (i % 5) FROM generate_series(1, 20000) i;
CREATE TABLE h (id int4, g int4, v float8, s text) USING heap;
INSERT INTO h SELECT * FROM t;
SELECT DISTINCT row_groups FROM fluss_grid.columnar_stats('t');
ANALYZE t;
ANALYZE h;

SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET parallel_leader_participation = on;

-- par(columnar query, heap query): whether EXPLAIN ANALYZE of the first
-- launched workers, and whether its rows (sorted, as text) equal those of
-- the same query run serially and those of the heap query
CREATE FUNCTION par(q text, qh text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    line text;
    launched bool := false;
    a text;
    b text;
    c text;
    n bigint;
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ' || q LOOP
        IF line ~ 'Workers Launched: [1-9]' THEN
            launched := true;
        END IF;
    END LOOP;
    EXECUTE format('SELECT string_agg(x::text, ''|'' ORDER BY x::text), count(*) FROM (%s) x', q)
        INTO a, n;
    PERFORM set_config('max_parallel_workers_per_gather', '0', true);
    EXECUTE format('SELECT string_agg(x::text, ''|'' ORDER BY x::text) FROM (%s) x', q)
        INTO b;
    PERFORM set_config('max_parallel_workers_per_gather', '2', true);
    EXECUTE format('SELECT string_agg(x::text, ''|'' ORDER BY x::text) FROM (%s) x', qh)
        INTO c;
    RETURN CASE WHEN launched THEN 'parallel' ELSE 'SERIAL' END
        || CASE WHEN a IS NOT DISTINCT FROM b THEN ', same as serial' ELSE ', DIFFERENT from serial' END
        || CASE WHEN a IS NOT DISTINCT FROM c THEN ', same as heap' ELSE ', DIFFERENT from heap' END
        || ', ' || n || ' rows';
END $$;

-- plans: Gather over the parallel custom scan, projection and skipping
-- as in a serial scan; no Parallel Seq Scan of the columnar table
EXPLAIN (COSTS OFF) SELECT count(*) FROM t;
EXPLAIN (COSTS OFF)
SELECT g, count(*), sum(id), sum(v), min(s), max(s) FROM t GROUP BY g;
EXPLAIN (COSTS OFF) SELECT count(*), sum(v) FROM t WHERE id > 15000;
EXPLAIN (COSTS OFF) SELECT * FROM t WHERE s = 'r1' AND id < 3000;

-- workers as for a heap of the file or, when larger, of the decoded
-- values the query reads: 100,000 int8 of one value compress to a few
-- pages (below min_parallel_table_scan_size = 512kB, 64 pages) but decode
-- to ~100 pages; count(*) decodes nothing
CREATE TABLE z (x int8) USING fluss_columnar;
INSERT INTO z SELECT 7 FROM generate_series(1, 100000);
ANALYZE z;
SELECT pg_relation_size('z') < 512 * 1024 AS small_file;
SET min_parallel_table_scan_size = '512kB';
EXPLAIN (COSTS OFF) SELECT sum(x) FROM z;
EXPLAIN (COSTS OFF) SELECT count(*) FROM z;
SELECT sum(x) FROM z;
SET min_parallel_table_scan_size = 0;

-- results: parallel = serial = heap
SELECT par('SELECT count(*) FROM t', 'SELECT count(*) FROM h');
SELECT par('SELECT g, count(*), sum(id), sum(v), min(s), max(s) FROM t GROUP BY g',
           'SELECT g, count(*), sum(id), sum(v), min(s), max(s) FROM h GROUP BY g');
SELECT par('SELECT * FROM t WHERE s = ''r1'' AND id < 3000',
           'SELECT * FROM h WHERE s = ''r1'' AND id < 3000');
SELECT par('SELECT ctid, id FROM t WHERE id % 1000 = 0',
           'SELECT (''(''||(id-1)/291||'',''||(id-1)%291+1||'')'')::tid, id FROM h WHERE id % 1000 = 0');
SELECT par('SELECT count(*), sum(v) FROM t WHERE id > 15000',
           'SELECT count(*), sum(v) FROM h WHERE id > 15000');

-- every row group is read once: skipped ones are counted over the
-- leader and the workers (30 of 40 here, however they are shared)
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT count(*) FROM t WHERE id > 15000;

-- joins: both sides parallel (Parallel Hash), and against the heap
EXPLAIN (COSTS OFF)
SELECT a.g, count(*) FROM t a JOIN t b ON a.id = b.id + 1 GROUP BY a.g;
SELECT par('SELECT a.g, count(*), sum(b.v) FROM t a JOIN t b ON a.id = b.id + 1 GROUP BY a.g',
           'SELECT a.g, count(*), sum(b.v) FROM h a JOIN h b ON a.id = b.id + 1 GROUP BY a.g');
SELECT par('SELECT t.g, count(*) FROM t JOIN h ON t.id = h.id AND h.s = t.s GROUP BY t.g',
           'SELECT a.g, count(*) FROM h a JOIN h ON a.id = h.id AND h.s = a.s GROUP BY a.g');
-- a small columnar table next to a large heap one: no worker reads the
-- columnar table but through the parallel custom scan
CREATE TABLE small (g int4, name text) USING fluss_columnar;
INSERT INTO small SELECT g, 'group ' || g FROM generate_series(0, 6) g;
ANALYZE small;
SELECT par('SELECT name, count(*) FROM h JOIN small USING (g) GROUP BY name',
           'SELECT ''group '' || g, count(*) FROM h GROUP BY g');

-- rescans of the Gather: a nested loop over it
SET enable_material = off;
EXPLAIN (COSTS OFF)
SELECT * FROM (SELECT count(*), sum(id) FROM t WHERE id > 19000) ss
RIGHT JOIN (VALUES (1), (2), (3)) v(x) ON true;
SELECT * FROM (SELECT count(*), sum(id) FROM t WHERE id > 19000) ss
RIGHT JOIN (VALUES (1), (2), (3)) v(x) ON true;
-- skipped over three scans: 3 x 38
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT * FROM (SELECT count(*), sum(id) FROM t WHERE id > 19000) ss
RIGHT JOIN (VALUES (1), (2), (3)) v(x) ON true;
RESET enable_material;

-- Params: skipping with a generic plan's value, evaluated in every worker
SET plan_cache_mode = force_generic_plan;
PREPARE above(int) AS SELECT count(*), sum(id), min(id) FROM t WHERE id > $1;
EXPLAIN (COSTS OFF) EXECUTE above(17000);
EXECUTE above(17000);
EXECUTE above(0);
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) EXECUTE above(17000);
-- an initplan's value
SELECT par('SELECT count(*), sum(id) FROM t WHERE id >= (SELECT max(id) - 700 FROM h)',
           'SELECT count(*), sum(id) FROM h WHERE id >= (SELECT max(id) - 700 FROM h)');

-- a partitioned table: columnar partitions next to a heap one under a
-- Parallel Append
CREATE TABLE p (id int4, g int4) PARTITION BY RANGE (id);
CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (0) TO (8000) USING fluss_columnar;
CREATE TABLE p2 PARTITION OF p FOR VALUES FROM (8000) TO (16000) USING fluss_columnar;
CREATE TABLE p3 PARTITION OF p FOR VALUES FROM (16000) TO (30000) USING heap;
SELECT fluss_grid.columnar_set('p1', row_group_rows => 500);
SELECT fluss_grid.columnar_set('p2', row_group_rows => 500);
INSERT INTO p SELECT id, g FROM h;
ANALYZE p;
EXPLAIN (COSTS OFF) SELECT g, count(*), sum(id) FROM p GROUP BY g;
SELECT par('SELECT g, count(*), sum(id) FROM p GROUP BY g',
           'SELECT g, count(*), sum(id) FROM h GROUP BY g');
SELECT par('SELECT count(*), sum(id) FROM p WHERE id BETWEEN 7000 AND 9000',
           'SELECT count(*), sum(id) FROM h WHERE id BETWEEN 7000 AND 9000');

-- this transaction's own rows (buffered, and flushed row groups) are in
-- this backend only: the plan stays parallel, but no workers are started
-- and the leader reads everything
BEGIN;
INSERT INTO t SELECT i, i % 7, i * 0.25, 'r' || (i % 5) FROM generate_series(20001, 20100) i;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT count(*) FROM t;
SELECT count(*), sum(id) FROM t;
INSERT INTO t SELECT i, i % 7, i * 0.25, 'r' || (i % 5) FROM generate_series(20101, 21000) i;
SELECT count(*), sum(id) FROM t;
SELECT g, count(*) FROM t WHERE id > 19990 GROUP BY g ORDER BY g;
ROLLBACK;
-- only flushed row groups (COPY writes them at its end)
BEGIN;
COPY t (id) FROM PROGRAM 'seq 20001 21000';
SELECT count(*), count(id), sum(id) FROM t;
COMMIT;
-- committed now: parallel again, in a new transaction
SELECT par('SELECT count(*), count(id), sum(id) FROM t',
           'SELECT 21000, 21000, (SELECT sum(id) FROM h) + 20500500');
DELETE FROM t WHERE id > 20000;
-- a deletion of this transaction is MVCC: workers see it
BEGIN;
DELETE FROM t WHERE id <= 100;
SELECT par('SELECT count(*), sum(id) FROM t', 'SELECT count(*), sum(id) FROM h WHERE id > 100');
ROLLBACK;

-- a prepared statement planned parallel, executed in a transaction with
-- buffered rows
PREPARE total AS SELECT count(*), sum(id) FROM t;
EXPLAIN (COSTS OFF) EXECUTE total;
EXECUTE total;
BEGIN;
INSERT INTO t VALUES (30001, 0, 0, 'x'), (30002, 0, 0, 'x');
EXECUTE total;
EXECUTE above(19995);
SAVEPOINT s;
INSERT INTO t VALUES (30003, 0, 0, 'x');
EXECUTE total;
ROLLBACK TO s;
EXECUTE total;
ROLLBACK;
EXECUTE total;
RESET plan_cache_mode;

-- cursors are never parallel, and see the transaction's rows
BEGIN;
INSERT INTO t VALUES (30001, 0, 0, 'x');
DECLARE c CURSOR FOR SELECT count(*), sum(id) FROM t;
FETCH c;
CLOSE c;
ROLLBACK;

-- parallel_leader_participation off: the workers read everything
SET parallel_leader_participation = off;
SELECT par('SELECT g, count(*), sum(id) FROM t GROUP BY g',
           'SELECT g, count(*), sum(id) FROM h GROUP BY g');
RESET parallel_leader_participation;

-- a columnar relation filled from a parallel plan (the leader writes it
-- while workers run): the plan runs without workers
EXPLAIN (COSTS OFF) CREATE TABLE t2 USING fluss_columnar AS SELECT * FROM t WHERE g >= 0;
CREATE TABLE t2 USING fluss_columnar AS SELECT * FROM t WHERE g >= 0;
CREATE TABLE t3 USING fluss_columnar AS SELECT * FROM h WHERE g >= 0;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
CREATE TABLE t4 USING fluss_columnar AS SELECT * FROM t WHERE g >= 0;
SET default_table_access_method = fluss_columnar;
SELECT * INTO t5 FROM t WHERE g >= 0;
CREATE MATERIALIZED VIEW mv AS SELECT g, count(*) AS n, sum(id) AS s FROM t GROUP BY g;
REFRESH MATERIALIZED VIEW mv;
RESET default_table_access_method;
-- a heap relation filled from the columnar one: workers
CREATE TABLE h2 USING heap AS SELECT * FROM t WHERE g >= 0;
SELECT (SELECT count(*) FROM t2), (SELECT count(*) FROM t3), (SELECT count(*) FROM t4),
       (SELECT count(*) FROM t5), (SELECT sum(n) FROM mv), (SELECT count(*) FROM h2);
SELECT count(*) FROM (SELECT * FROM t2 EXCEPT SELECT * FROM h) x;
SELECT * FROM mv ORDER BY g;

-- the custom scan off: no parallel plan reads the columnar table
SET fluss_grid.columnar_customscan = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM t;
EXPLAIN (COSTS OFF) SELECT count(*) FROM p;
RESET fluss_grid.columnar_customscan;

-- force_parallel_mode: the serial custom scan is not parallel-safe, so
-- no Gather is put over it
SET max_parallel_workers_per_gather = 0;
SET force_parallel_mode = on;
EXPLAIN (COSTS OFF) SELECT count(*) FROM t;
SELECT count(*) FROM t;
SELECT count(*) FROM h JOIN small USING (g);
RESET force_parallel_mode;

RESET max_parallel_workers_per_gather;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
DROP SCHEMA cp CASCADE;
