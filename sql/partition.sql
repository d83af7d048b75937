-- Partitioned sources: writes through the parent and into partitions are
-- captured once; attached partitions bring their rows; detached and dropped
-- partitions leave their rollups (retention).
\set VERBOSITY terse
SET TimeZone = 'UTC';

CREATE TABLE p (ts timestamptz NOT NULL, k text NOT NULL, v float8) PARTITION BY RANGE (ts);
CREATE TABLE p_25 PARTITION OF p FOR VALUES FROM ('2026-11-25') TO ('2026-11-26');
CREATE TABLE p_26 PARTITION OF p FOR VALUES FROM ('2026-11-26') TO ('2026-11-27');
INSERT INTO p SELECT '2026-11-25'::timestamptz + (g * 20 || ' minutes')::interval, 'k' || g % 2, g
  FROM generate_series(0, 143) g;

SELECT fluss_grid.create_rollup('p_hour', 'p', 'ts', '1 hour', ARRAY['k'],
                                ARRAY['count(*) AS n', 'sum(v) AS s', 'max(v) AS mx']);
CREATE VIEW ref AS SELECT date_bin('1 hour', ts, '2000-01-03') AS bucket, k, count(*) AS n,
                          sum(v) AS s, max(v) AS mx FROM p GROUP BY 1, 2;
CREATE FUNCTION check_p() RETURNS TABLE (realtime text, rollup text) LANGUAGE plpgsql AS $$
BEGIN
    realtime := fg_check('p_hour_realtime', 'SELECT * FROM ref');
    PERFORM fluss_grid.wait_for_rollups();
    rollup := fg_check('p_hour', 'SELECT * FROM ref');
    RETURN NEXT;
END $$;
SELECT * FROM check_p();

-- capture triggers on the parent and on every partition; the index too
SELECT tgrelid::regclass, count(*) FROM pg_trigger WHERE tgname LIKE '\_fg\_capture%'
 GROUP BY 1 ORDER BY 1;

-- writes naming a partition, and updates moving rows across partitions
INSERT INTO p_26 VALUES ('2026-11-26 05:00:00+00', 'k0', 1000);
UPDATE p SET ts = ts + interval '1 day' WHERE ts < '2026-11-25 03:00:00+00';
UPDATE p_26 SET v = v + 1;
DELETE FROM p_25 WHERE v = (SELECT max(v) FROM p_25);
SELECT * FROM check_p();

-- COPY through the parent
COPY p FROM stdin;
2026-11-26 10:00:00+00	k1	5
2026-11-25 10:00:00+00	k1	6
\.
SELECT * FROM check_p();

-- a new partition, and a table with rows attached as a partition
CREATE TABLE p_27 PARTITION OF p FOR VALUES FROM ('2026-11-27') TO ('2026-11-28');
INSERT INTO p VALUES ('2026-11-27 01:00:00+00', 'k0', 7);
CREATE TABLE p_28 (ts timestamptz NOT NULL, k text NOT NULL, v float8);
INSERT INTO p_28 VALUES ('2026-11-28 01:00:00+00', 'k1', 8), ('2026-11-28 02:00:00+00', 'k1', 9);
ALTER TABLE p ATTACH PARTITION p_28 FOR VALUES FROM ('2026-11-28') TO ('2026-11-29');
SELECT * FROM check_p();
INSERT INTO p_28 VALUES ('2026-11-28 03:00:00+00', 'k1', 10);
SELECT * FROM check_p();

-- truncating a partition retracts its rows
TRUNCATE p_27;
SELECT * FROM check_p();

-- retention: a detached or dropped partition's rows stay in the rollup
SELECT fluss_grid.wait_for_rollups();
SELECT sum(n) AS rows_before FROM p_hour;
ALTER TABLE p DETACH PARTITION p_25;
SELECT count(*) AS triggers_on_detached FROM pg_trigger WHERE tgrelid = 'p_25'::regclass AND tgname LIKE '\_fg%';
INSERT INTO p_25 VALUES ('2026-11-25 12:00:00+00', 'k0', 1);   -- no longer a source
DROP TABLE p_28;
SELECT fluss_grid.wait_for_rollups();
SELECT sum(n) AS rows_after FROM p_hour;

DROP FUNCTION check_p();
DROP VIEW ref;
SELECT fluss_grid.drop_rollup('p_hour');
DROP TABLE p, p_25;
