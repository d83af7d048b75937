-- fluss_columnar: VACUUM compacts small row groups and row groups with many
-- deleted rows, removes superseded row groups' index entries, truncates a
-- free tail; every result also read with the custom scan off and through
-- the indexes
\set VERBOSITY terse
SET client_min_messages = warning;
CREATE SCHEMA colv;
SET search_path = colv, public;

-- what a table holds, as row groups and rows
CREATE FUNCTION rg_state(rel regclass,
                         OUT row_groups bigint, OUT rows bigint,
                         OUT deleted_rows bigint, OUT free_extents bigint)
LANGUAGE sql AS $$
    SELECT (SELECT count(*) FROM fluss_grid.columnar_row_group g
             WHERE g.storage_id = fluss_grid.columnar_storage_id(rel)),
           (SELECT coalesce(sum(row_count), 0) FROM fluss_grid.columnar_row_group g
             WHERE g.storage_id = fluss_grid.columnar_storage_id(rel)),
           (SELECT count(*) FROM fluss_grid.columnar_deleted d
             WHERE d.storage_id = fluss_grid.columnar_storage_id(rel)),
           (SELECT count(*) FROM fluss_grid.columnar_free_extent f
             WHERE f.storage_id = fluss_grid.columnar_storage_id(rel))
$$;

-- What VACUUM can reclaim depends on the oldest snapshot of the cluster:
-- before each VACUUM, wait (up to a minute) until no other backend holds
-- one (a worker's pass or an autoanalyze on a slow machine), so that the
-- results below do not depend on timing.
CREATE FUNCTION quiet_horizon() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1..600 LOOP
        PERFORM pg_stat_clear_snapshot();
        EXIT WHEN NOT EXISTS (SELECT 1 FROM pg_stat_activity
                               WHERE pid <> pg_backend_pid()
                                 AND (backend_xmin IS NOT NULL OR backend_xid IS NOT NULL));
        PERFORM pg_sleep(0.1);
    END LOOP;
END $$;

-- single-row INSERT transactions: one row group each
CREATE TABLE s (id int PRIMARY KEY, name text, v float8) USING fluss_columnar;
CREATE INDEX s_name ON s (name);
CREATE TABLE s_ref (id int PRIMARY KEY, name text, v float8);
DO $$
BEGIN
    FOR i IN 1..40 LOOP
        INSERT INTO colv.s VALUES (i, 'n' || (i % 7), i / 4.0);
        INSERT INTO colv.s_ref VALUES (i, 'n' || (i % 7), i / 4.0);
        COMMIT;
    END LOOP;
END $$;
SELECT * FROM rg_state('s');
DELETE FROM s WHERE id % 10 = 0;
DELETE FROM s_ref WHERE id % 10 = 0;
SELECT * FROM rg_state('s');
SELECT row_groups, rows, deleted_rows FROM fluss_grid.columnar_stats('s') WHERE attname = 'id';

DO 'BEGIN PERFORM quiet_horizon(); END';
VACUUM s;
-- one row group of the 36 live rows, no deletion records left
SELECT * FROM rg_state('s');
SELECT row_groups, rows, deleted_rows FROM fluss_grid.columnar_stats('s') WHERE attname = 'id';
SELECT count(*) FROM (SELECT * FROM s EXCEPT SELECT * FROM s_ref) d;
SELECT count(*) FROM (SELECT * FROM s_ref EXCEPT SELECT * FROM s) d;
SET fluss_grid.columnar_customscan = off;
SELECT count(*), sum(id), sum(v) FROM s;
RESET fluss_grid.columnar_customscan;

-- the indexes find each row once, through its new TID
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT * FROM s WHERE id = 17;
SELECT * FROM s WHERE id = 17;
SELECT id FROM s WHERE id BETWEEN 8 AND 12 ORDER BY id;
SELECT count(*), sum(id) FROM s WHERE name = 'n3';
SELECT count(*), sum(id) FROM s_ref WHERE name = 'n3';
SET enable_indexscan = off;
SET enable_bitmapscan = on;
EXPLAIN (COSTS OFF) SELECT count(*) FROM s WHERE name = 'n3';
SELECT count(*), sum(id) FROM s WHERE name = 'n3';
RESET enable_indexscan;
RESET enable_bitmapscan;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM s WHERE id < 5 ORDER BY id;
SELECT id FROM s WHERE id < 5 ORDER BY id;
RESET enable_seqscan;
RESET enable_bitmapscan;

-- the unique index still knows every key, and a deleted key is free
INSERT INTO s VALUES (17, 'dup', 0);
INSERT INTO s VALUES (20, 'n6', 5);
INSERT INTO s_ref VALUES (20, 'n6', 5);
-- rows moved by VACUUM can be updated and deleted as any other
UPDATE s SET v = -1 WHERE id = 3;
UPDATE s_ref SET v = -1 WHERE id = 3;
DELETE FROM s WHERE id = 4;
DELETE FROM s_ref WHERE id = 4;
SELECT count(*) FROM (SELECT * FROM s EXCEPT SELECT * FROM s_ref) d;
SELECT count(*) FROM (SELECT * FROM s_ref EXCEPT SELECT * FROM s) d;

-- the next VACUUM (no older snapshot left) removes the old row groups'
-- index entries (and compacts again: three small row groups now)
SET client_min_messages = info;
DO 'BEGIN PERFORM quiet_horizon(); END';
VACUUM (VERBOSE) s;
RESET client_min_messages;
SELECT * FROM rg_state('s');
SELECT indexes_clean, count(*) FROM fluss_grid.columnar_free_extent
 WHERE storage_id = fluss_grid.columnar_storage_id('s') GROUP BY 1 ORDER BY 1;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT count(*), sum(id) FROM s WHERE id > 0;
RESET enable_seqscan;
RESET enable_bitmapscan;
SELECT count(*) FROM (SELECT * FROM s EXCEPT SELECT * FROM s_ref) d;
SELECT count(*) FROM (SELECT * FROM s_ref EXCEPT SELECT * FROM s) d;

-- repeated VACUUMs change nothing more
DO 'BEGIN PERFORM quiet_horizon(); END';
VACUUM s;
DO 'BEGIN PERFORM quiet_horizon(); END';
VACUUM s;
SELECT * FROM rg_state('s');
SELECT pg_relation_size('s') AS size_after \gset
DO 'BEGIN PERFORM quiet_horizon(); END';
VACUUM s;
SELECT pg_relation_size('s') = :size_after AS same_size;

-- new row groups go to the pages of superseded row groups that no snapshot
-- reads any more, when they fit
CREATE TABLE r (id int, t text) USING fluss_columnar;
SELECT fluss_grid.columnar_set('r', row_group_rows => 1000);
INSERT INTO r SELECT g, md5(g::text) FROM generate_series(1, 3000) g;
-- a last row group too big for the hole the first one leaves
SELECT fluss_grid.columnar_set('r', row_group_rows => 2000);
INSERT INTO r SELECT g, md5(g::text) FROM generate_series(10001, 12000) g;
DELETE FROM r WHERE id <= 1000;
DO 'BEGIN PERFORM quiet_horizon(); END';
VACUUM r;
DO 'BEGIN PERFORM quiet_horizon(); END';
VACUUM r;
SELECT indexes_clean, first_block, nblocks FROM fluss_grid.columnar_free_extent
 WHERE storage_id = fluss_grid.columnar_storage_id('r');
SELECT pg_relation_size('r') / 8192 AS pages;
SELECT fluss_grid.columnar_set('r', row_group_rows => 1000);
BEGIN;
-- 1,001 rows: the first 1,000 are written out as a row group at once
INSERT INTO r SELECT g, md5(g::text) FROM generate_series(3001, 4001) g;
-- that row group took the extent
SELECT first_block, nblocks FROM fluss_grid.columnar_free_extent
 WHERE storage_id = fluss_grid.columnar_storage_id('r');
ROLLBACK;
-- a rolled back writer gives it back
SELECT first_block, nblocks FROM fluss_grid.columnar_free_extent
 WHERE storage_id = fluss_grid.columnar_storage_id('r');
INSERT INTO r SELECT g, md5(g::text) FROM generate_series(3001, 3500) g;
SELECT pg_relation_size('r') / 8192 AS pages;
SELECT row_count, first_block FROM fluss_grid.columnar_row_group
 WHERE storage_id = fluss_grid.columnar_storage_id('r') ORDER BY first_block;
SELECT first_block, nblocks FROM fluss_grid.columnar_free_extent
 WHERE storage_id = fluss_grid.columnar_storage_id('r');
SELECT count(*), sum(id), count(DISTINCT t) FROM r;
SELECT count(*) FROM r WHERE t <> md5(id::text);

-- the last row group moves, as it is, into a hole before it (same row
-- numbers: the index entries stay right), and the file shrinks
CREATE TABLE mv (id int PRIMARY KEY, t text) USING fluss_columnar;
SELECT fluss_grid.columnar_set('mv', row_group_rows => 1000);
INSERT INTO mv SELECT g, md5(g::text) FROM generate_series(1, 3000) g;
DELETE FROM mv WHERE id <= 1000;
CREATE VIEW mv_layout AS
SELECT pg_relation_size('mv') / 8192 AS pages,
       (SELECT string_agg(first_block || ':' || row_count, ' ' ORDER BY first_block)
          FROM fluss_grid.columnar_row_group
         WHERE storage_id = fluss_grid.columnar_storage_id('mv')) AS row_groups,
       (SELECT string_agg(first_block || '+' || nblocks
                          || CASE WHEN indexes_clean THEN ' clean' ELSE '' END,
                          ', ' ORDER BY first_block)
          FROM fluss_grid.columnar_free_extent
         WHERE storage_id = fluss_grid.columnar_storage_id('mv')) AS free_extents;
SELECT * FROM mv_layout;
DO 'BEGIN PERFORM quiet_horizon(); END';
VACUUM mv;
SELECT * FROM mv_layout;
DO 'BEGIN PERFORM quiet_horizon(); END';
VACUUM mv;
SELECT * FROM mv_layout;
DO 'BEGIN PERFORM quiet_horizon(); END';
VACUUM mv;
SELECT * FROM mv_layout;
DO 'BEGIN PERFORM quiet_horizon(); END';
VACUUM mv;
SELECT * FROM mv_layout;
SELECT count(*), sum(id), count(*) FILTER (WHERE t <> md5(id::text)) FROM mv;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT count(*), sum(id) FROM mv WHERE id > 2500;
SELECT * FROM mv WHERE id = 2999;
RESET enable_seqscan;
RESET enable_bitmapscan;
DELETE FROM mv WHERE id = 2999;
SELECT count(*), sum(id) FROM mv;

-- a full row group with many deleted rows is rewritten; one with few is not
CREATE TABLE b (id int, t text) USING fluss_columnar;
SELECT fluss_grid.columnar_set('b', row_group_rows => 1000);
INSERT INTO b SELECT g, repeat('x', g % 50) FROM generate_series(1, 3000) g;
SELECT * FROM rg_state('b');
DELETE FROM b WHERE id <= 1000 AND id % 2 = 0;       -- 50% of the first
DELETE FROM b WHERE id > 1000 AND id <= 1100;         -- 10% of the second
DO 'BEGIN PERFORM quiet_horizon(); END';
VACUUM b;
SELECT * FROM rg_state('b');
SELECT count(*), sum(id), sum(length(t)) FROM b;
SELECT count(*), sum(g), sum(g % 50) FROM generate_series(1, 3000) g
 WHERE NOT ((g <= 1000 AND g % 2 = 0) OR (g > 1000 AND g <= 1100));

-- a row group whose rows are all deleted is superseded without a rewrite
DELETE FROM b WHERE id > 2000;
DO 'BEGIN PERFORM quiet_horizon(); END';
VACUUM b;
SELECT * FROM rg_state('b');
SELECT count(*), max(id) FROM b;

-- when the last row groups of the file are superseded, the next VACUUM
-- gives their pages back (pages inside the file are not reused yet)
CREATE TABLE tail (id int, t text) USING fluss_columnar;
SELECT fluss_grid.columnar_set('tail', row_group_rows => 1000);
INSERT INTO tail SELECT g, md5(g::text) FROM generate_series(1, 3000) g;
DELETE FROM tail WHERE id > 1000;
SELECT pg_relation_size('tail') / 8192 AS pages;
-- 1: the last two row groups are superseded
DO 'BEGIN PERFORM quiet_horizon(); END';
VACUUM tail;
SELECT * FROM rg_state('tail');
SELECT pg_relation_size('tail') / 8192 AS pages;
-- 2: no snapshot reads them any more: their metadata rows are pruned, their
-- free extents past the new end forgotten
DO 'BEGIN PERFORM quiet_horizon(); END';
VACUUM tail;
SELECT * FROM rg_state('tail');
-- 3: the file is truncated
DO 'BEGIN PERFORM quiet_horizon(); END';
VACUUM tail;
SELECT pg_relation_size('tail') / 8192 AS pages;
SELECT count(*), sum(id) FROM tail;
INSERT INTO tail VALUES (5000, 'after');
SELECT count(*), max(id) FROM tail;

-- everything deleted
DELETE FROM b;
DO 'BEGIN PERFORM quiet_horizon(); END';
VACUUM b;
DO 'BEGIN PERFORM quiet_horizon(); END';
VACUUM b;
DO 'BEGIN PERFORM quiet_horizon(); END';
VACUUM b;
SELECT * FROM rg_state('b');
SELECT pg_relation_size('b') / current_setting('block_size')::int AS pages;
SELECT count(*) FROM b;

-- a transaction that wrote the rows and VACUUM in one session: the rows
-- stay, in savepoints too
CREATE TABLE w (id int) USING fluss_columnar;
INSERT INTO w VALUES (1);
INSERT INTO w VALUES (2);
BEGIN;
INSERT INTO w VALUES (3);
SAVEPOINT a;
INSERT INTO w VALUES (4);
ROLLBACK TO a;
COMMIT;
DO 'BEGIN PERFORM quiet_horizon(); END';
VACUUM w;
SELECT * FROM w ORDER BY id;
SELECT * FROM rg_state('w');

-- VACUUM FULL and TRUNCATE after compaction
DO 'BEGIN PERFORM quiet_horizon(); END';
VACUUM FULL s;
SELECT * FROM rg_state('s');
SELECT count(*) FROM (SELECT * FROM s EXCEPT SELECT * FROM s_ref) d;
TRUNCATE s;
DO 'BEGIN PERFORM quiet_horizon(); END';
VACUUM s;
SELECT * FROM rg_state('s');

-- an index built after a compaction finds the rows
CREATE TABLE c (id int, v int) USING fluss_columnar;
INSERT INTO c VALUES (1, 10);
INSERT INTO c VALUES (2, 20);
INSERT INTO c VALUES (3, 30);
DELETE FROM c WHERE id = 2;
DO 'BEGIN PERFORM quiet_horizon(); END';
VACUUM c;
CREATE UNIQUE INDEX c_id ON c (id);
SET enable_seqscan = off;
SELECT * FROM c WHERE id >= 1 ORDER BY id;
RESET enable_seqscan;

-- partial and expression indexes get the new entries they should
CREATE TABLE px (id int, name text) USING fluss_columnar;
CREATE INDEX px_odd ON px (id) WHERE id % 2 = 1;
CREATE INDEX px_lower ON px (lower(name));
DO $$
BEGIN
    FOR i IN 1..20 LOOP
        INSERT INTO colv.px VALUES (i, 'Name' || (i % 4));
        COMMIT;
    END LOOP;
END $$;
DELETE FROM px WHERE id IN (3, 4);
DO 'BEGIN PERFORM quiet_horizon(); END';
VACUUM px;
DO 'BEGIN PERFORM quiet_horizon(); END';
VACUUM px;
SELECT * FROM rg_state('px');
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM px WHERE id % 2 = 1 AND id < 10 ORDER BY id;
SELECT id FROM px WHERE id % 2 = 1 AND id < 10 ORDER BY id;
EXPLAIN (COSTS OFF) SELECT id FROM px WHERE lower(name) = 'name3' ORDER BY id;
SELECT id FROM px WHERE lower(name) = 'name3' ORDER BY id;
RESET enable_seqscan;
RESET enable_bitmapscan;
SELECT id FROM px WHERE lower(name) = 'name3' ORDER BY id;

-- VERBOSE says what was done
SET client_min_messages = info;
INSERT INTO c VALUES (4, 40);
INSERT INTO c VALUES (5, 50);
DO 'BEGIN PERFORM quiet_horizon(); END';
VACUUM (VERBOSE) c;
RESET client_min_messages;

-- statistics counts as heap keeps them, which autovacuum and autoanalyze
-- read; VACUUM reports the rows left live and the deleted ones it kept
CREATE TABLE cnt (id int, v text) USING fluss_columnar;
INSERT INTO cnt SELECT g, 'x' FROM generate_series(1, 1000) g;
DELETE FROM cnt WHERE id <= 300;
UPDATE cnt SET v = 'y' WHERE id > 900;
DELETE FROM cnt WHERE id = 0;
SELECT pg_stat_force_next_flush();
SELECT n_tup_ins, n_tup_upd, n_tup_del, n_live_tup, n_dead_tup, n_ins_since_vacuum
  FROM pg_stat_user_tables WHERE relid = 'cnt'::regclass;
DO 'BEGIN PERFORM quiet_horizon(); END';
VACUUM cnt;
SELECT pg_stat_force_next_flush();
SELECT n_live_tup, n_dead_tup, n_ins_since_vacuum, vacuum_count
  FROM pg_stat_user_tables WHERE relid = 'cnt'::regclass;
-- a deleted row under the rewrite threshold stays, and is reported dead
DELETE FROM cnt WHERE id = 500;
SELECT pg_stat_force_next_flush();
DO 'BEGIN PERFORM quiet_horizon(); END';
VACUUM cnt;
SELECT pg_stat_force_next_flush();
SELECT n_live_tup, n_dead_tup, vacuum_count
  FROM pg_stat_user_tables WHERE relid = 'cnt'::regclass;

DROP SCHEMA colv CASCADE;
