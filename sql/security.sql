-- A role can only roll up, read or change what it may already read or
-- change; rollup expressions run with the rollup owner's rights.
\set VERBOSITY terse
SET TimeZone = 'UTC';

CREATE ROLE fg_owner LOGIN;
CREATE ROLE fg_writer LOGIN;
CREATE ROLE fg_other LOGIN;
CREATE SCHEMA fg_sec AUTHORIZATION fg_owner;
GRANT USAGE ON SCHEMA fg_sec TO fg_writer, fg_other;

SET ROLE fg_owner;
CREATE TABLE fg_sec.readings (ts timestamptz NOT NULL, site text NOT NULL, v float8);
GRANT INSERT, UPDATE, DELETE, SELECT ON fg_sec.readings TO fg_writer;
SELECT fluss_grid.create_rollup('fg_sec.by_min', 'fg_sec.readings', 'ts', '1 minute',
                                ARRAY['site'], ARRAY['count(*) AS n', 'max(v) AS mx']);
RESET ROLE;

-- creating a rollup needs ownership of the source
SET ROLE fg_other;
SELECT fluss_grid.create_rollup('fg_sec.theirs', 'fg_sec.readings', 'ts', '1 minute', NULL, ARRAY['count(*)']);
SELECT fluss_grid.create_rollup('public.theirs', 'fg_sec.readings', 'ts', '1 minute', NULL, ARRAY['count(*)']);
-- nor can another role refresh or drop it, or read it
SELECT fluss_grid.refresh_rollup('fg_sec.by_min');
SELECT fluss_grid.drop_rollup('fg_sec.by_min');
SELECT count(*) FROM fg_sec.by_min;
SELECT count(*) FROM fg_sec.by_min_realtime;
-- or write into the engine's tables
INSERT INTO fluss_grid.rollup (rollup_rel, source_rel, time_column, bucket, time_zone, group_by,
                               agg_kind, agg_alias, agg_arg, agg_filter, agg_argtype, agg_srcindex)
VALUES ('fg_sec.readings', 'fg_sec.readings', 'ts', '1 minute', 'UTC', '{}', '{}', '{}', '{}', '{}', '{}', '{}');
SELECT count(*) FROM fluss_grid.changelog_1;
SELECT fluss_grid.fold_now();
RESET ROLE;

-- a writer without any right on the rollup or its changelog writes freely
SET ROLE fg_writer;
INSERT INTO fg_sec.readings VALUES ('2026-11-26 00:00:10+00', 'a', 1), ('2026-11-26 00:00:20+00', 'a', 5);
UPDATE fg_sec.readings SET v = 6 WHERE v = 5;
SELECT count(*) FROM fg_sec.by_min;
SELECT fluss_grid.wait_for_rollups();
RESET ROLE;
SELECT site, n, mx FROM fg_sec.by_min;

-- the catalog view shows rollups to everyone (names and counts only)
SET ROLE fg_other;
SELECT name, pending_changes FROM fluss_grid.rollups WHERE name::text LIKE 'fg_sec.%';
RESET ROLE;

-- expressions run as the rollup owner: a function the owner may not call
-- makes the capture fail for the writer too, instead of running with the
-- writer's rights
CREATE FUNCTION fg_sec.secret(x float8) RETURNS float8 LANGUAGE sql IMMUTABLE AS 'SELECT x * 2';
ALTER FUNCTION fg_sec.secret(float8) OWNER TO fg_owner;
SET ROLE fg_owner;
SELECT fluss_grid.create_rollup('fg_sec.doubled', 'fg_sec.readings', 'ts', '1 minute',
                                NULL, ARRAY['sum(fg_sec.secret(v)) AS s2']);
REVOKE EXECUTE ON FUNCTION fg_sec.secret(float8) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION fg_sec.secret(float8) FROM fg_owner;
RESET ROLE;
SET ROLE fg_writer;
INSERT INTO fg_sec.readings VALUES ('2026-11-26 00:01:10+00', 'b', 1);
RESET ROLE;
GRANT EXECUTE ON FUNCTION fg_sec.secret(float8) TO fg_owner;
SET ROLE fg_writer;
INSERT INTO fg_sec.readings VALUES ('2026-11-26 00:01:10+00', 'b', 1);
RESET ROLE;
SELECT fluss_grid.wait_for_rollups();
SELECT s2 FROM fg_sec.doubled ORDER BY bucket;

-- the engine's statements run with a pinned search_path: objects a user
-- puts early in its own path cannot capture the engine's operators
CREATE SCHEMA fg_evil;
CREATE FUNCTION fg_evil.int8pl_evil(bigint, bigint) RETURNS bigint LANGUAGE sql AS 'SELECT 0::bigint';
CREATE OPERATOR fg_evil.+ (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = fg_evil.int8pl_evil);
SET search_path = fg_evil, pg_catalog, public;
INSERT INTO fg_sec.readings VALUES ('2026-11-26 00:02:10+00', 'a', 2);
SELECT fluss_grid.wait_for_rollups();
RESET search_path;
SELECT site, n FROM fg_sec.by_min ORDER BY bucket, site;

SELECT fluss_grid.drop_rollup('fg_sec.doubled');
SELECT fluss_grid.drop_rollup('fg_sec.by_min');
DROP SCHEMA fg_evil CASCADE;
DROP SCHEMA fg_sec CASCADE;
DROP ROLE fg_owner, fg_writer, fg_other;
