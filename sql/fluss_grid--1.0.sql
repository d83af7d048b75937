/* fluss_grid--1.0.sql */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION fluss_grid" to load this file. \quit

CREATE SCHEMA fluss_grid;

-- The catalog of rollups.  Dumped by pg_dump (extension configuration).
CREATE SEQUENCE fluss_grid.rollup_id_seq AS integer;

CREATE TABLE fluss_grid.rollup (
    id           integer PRIMARY KEY DEFAULT nextval('fluss_grid.rollup_id_seq'),
    rollup_rel   regclass NOT NULL UNIQUE,
    source_rel   regclass NOT NULL,
    parent_id    integer REFERENCES fluss_grid.rollup (id),
    time_column  name NOT NULL,
    bucket       interval NOT NULL,
    time_zone    text NOT NULL,
    group_by     name[] NOT NULL,
    agg_kind     text[] NOT NULL,
    agg_alias    name[] NOT NULL,
    agg_arg      text[] NOT NULL,     -- deparsed argument; NULL element for count(*)
    agg_filter   text[] NOT NULL,     -- deparsed FILTER condition or NULL element
    agg_argtype  regtype[] NOT NULL,  -- NULL element for count(*)
    agg_srcindex integer[] NOT NULL,  -- rollup source: 1-based index of the carried aggregate
    source_columns name[] NOT NULL,   -- table source: the columns the rollup reads
    source_index name,                -- index fluss_grid created on the source, if any
    created_at   timestamptz NOT NULL DEFAULT now()
);
ALTER SEQUENCE fluss_grid.rollup_id_seq OWNED BY fluss_grid.rollup.id;

SELECT pg_catalog.pg_extension_config_dump('fluss_grid.rollup', '');
SELECT pg_catalog.pg_extension_config_dump('fluss_grid.rollup_id_seq', '');

REVOKE ALL ON fluss_grid.rollup FROM PUBLIC;
GRANT SELECT ON fluss_grid.rollup TO PUBLIC;
GRANT USAGE ON SCHEMA fluss_grid TO PUBLIC;

-- The start of the bucket of width holding ts, on the wall clock of zone:
-- date_bin(width, ts AT TIME ZONE zone, '2000-01-03') AT TIME ZONE zone
-- (date_trunc for month-based widths), cached per call site (src/bucket.c)
CREATE FUNCTION fluss_grid.time_bucket(width interval, ts timestamptz, zone text)
RETURNS timestamptz AS 'MODULE_PATHNAME', 'fluss_grid_time_bucket'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- A condition the planner should expect to be rarely true (src/estimate.c):
-- the filter of groups that need a recompute
CREATE FUNCTION fluss_grid.seldom_support(internal)
RETURNS internal AS 'MODULE_PATHNAME', 'fluss_grid_seldom_support'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION fluss_grid.seldom(boolean)
RETURNS boolean AS 'MODULE_PATHNAME', 'fluss_grid_seldom'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE SUPPORT fluss_grid.seldom_support;

-- Retractable float8 moments {n, sum, sum of squares}, sums as
-- double-double pairs (src/moments.c)
CREATE FUNCTION fluss_grid.mom_accum(float8[], float8)
RETURNS float8[] AS 'MODULE_PATHNAME', 'fluss_grid_mom_accum'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION fluss_grid.mom_add(float8[], float8[])
RETURNS float8[] AS 'MODULE_PATHNAME', 'fluss_grid_mom_merge'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION fluss_grid.mom_sub(float8[], float8[])
RETURNS float8[] AS 'MODULE_PATHNAME', 'fluss_grid_mom_sub'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION fluss_grid.mom_sum(float8[])
RETURNS float8 AS 'MODULE_PATHNAME', 'fluss_grid_mom_sum'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION fluss_grid.mom_stddev(float8[])
RETURNS float8 AS 'MODULE_PATHNAME', 'fluss_grid_mom_stddev'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE AGGREGATE fluss_grid.mom_state(float8) (
    SFUNC = fluss_grid.mom_accum,
    STYPE = float8[],
    INITCOND = '{0,0,0,0,0}',
    COMBINEFUNC = fluss_grid.mom_add,
    PARALLEL = SAFE
);

CREATE AGGREGATE fluss_grid.mom_merge(float8[]) (
    SFUNC = fluss_grid.mom_add,
    STYPE = float8[],
    INITCOND = '{0,0,0,0,0}',
    COMBINEFUNC = fluss_grid.mom_add,
    PARALLEL = SAFE
);

-- Top-k lists of min/max (src/extreme.c): the best few distinct values of a
-- group with their row counts, so that retracting an extreme promotes the
-- next value instead of reading the source.  Engine state; topk_text shows one.
CREATE FUNCTION fluss_grid.topk_accum(internal, anyelement, boolean)
RETURNS internal AS 'MODULE_PATHNAME', 'fluss_grid_topk_accum'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION fluss_grid.topk_merge_accum(internal, bytea)
RETURNS internal AS 'MODULE_PATHNAME', 'fluss_grid_topk_merge_accum'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION fluss_grid.topk_final(internal)
RETURNS bytea AS 'MODULE_PATHNAME', 'fluss_grid_topk_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE AGGREGATE fluss_grid.topk(anyelement, boolean) (
    SFUNC = fluss_grid.topk_accum,
    STYPE = internal,
    FINALFUNC = fluss_grid.topk_final
);

CREATE AGGREGATE fluss_grid.topk_merge(bytea) (
    SFUNC = fluss_grid.topk_merge_accum,
    STYPE = internal,
    FINALFUNC = fluss_grid.topk_final
);

CREATE FUNCTION fluss_grid.topk_apply(state bytea, inserted bytea, deleted bytea)
RETURNS bytea AS 'MODULE_PATHNAME', 'fluss_grid_topk_apply'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION fluss_grid.topk_stale(bytea)
RETURNS boolean AS 'MODULE_PATHNAME', 'fluss_grid_topk_stale'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION fluss_grid.topk_best(bytea, anyelement)
RETURNS anyelement AS 'MODULE_PATHNAME', 'fluss_grid_topk_best'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION fluss_grid.topk_text(bytea)
RETURNS text AS 'MODULE_PATHNAME', 'fluss_grid_topk_text'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- The changelog trigger function, attached by create_rollup
CREATE FUNCTION fluss_grid.capture()
RETURNS trigger
AS 'MODULE_PATHNAME', 'fluss_grid_capture'
LANGUAGE C;

-- API
CREATE FUNCTION fluss_grid.create_rollup(
    name        text,
    source      regclass,
    time_column name     DEFAULT NULL,
    bucket      interval DEFAULT NULL,
    group_by    text[]   DEFAULT NULL,
    aggregates  text[]   DEFAULT NULL,
    time_zone   text     DEFAULT NULL)
RETURNS regclass
AS 'MODULE_PATHNAME', 'fluss_grid_create_rollup'
LANGUAGE C CALLED ON NULL INPUT VOLATILE;

CREATE FUNCTION fluss_grid.drop_rollup(rollup regclass, cascade boolean DEFAULT false)
RETURNS void
AS 'MODULE_PATHNAME', 'fluss_grid_drop_rollup'
LANGUAGE C CALLED ON NULL INPUT VOLATILE;

CREATE FUNCTION fluss_grid.refresh_rollup(
    rollup  regclass,
    from_ts timestamptz DEFAULT NULL,
    to_ts   timestamptz DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'fluss_grid_refresh_rollup'
LANGUAGE C CALLED ON NULL INPUT VOLATILE;

CREATE FUNCTION fluss_grid.wait_for_rollups(timeout interval DEFAULT '30 seconds')
RETURNS boolean
AS 'MODULE_PATHNAME', 'fluss_grid_wait_for_rollups'
LANGUAGE C CALLED ON NULL INPUT VOLATILE;

CREATE FUNCTION fluss_grid.fold_now()
RETURNS bigint
AS 'MODULE_PATHNAME', 'fluss_grid_fold_now'
LANGUAGE C VOLATILE;

CREATE FUNCTION fluss_grid.rollup_status(
    OUT rollup_id integer,
    OUT last_fold timestamptz,
    OUT folds bigint,
    OUT folded_changes bigint,
    OUT last_error text,
    OUT last_error_at timestamptz,
    OUT recomputed_groups bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'fluss_grid_rollup_status'
LANGUAGE C VOLATILE;

CREATE FUNCTION fluss_grid.changelog_stats(
    rollup_id integer,
    OUT pending bigint,
    OUT oldest timestamptz)
RETURNS record
AS 'MODULE_PATHNAME', 'fluss_grid_changelog_stats'
LANGUAGE C VOLATILE STRICT;

CREATE FUNCTION fluss_grid.workers(
    OUT datname name,
    OUT pid integer,
    OUT passes bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'fluss_grid_workers'
LANGUAGE C VOLATILE;

CREATE VIEW fluss_grid.rollups AS
SELECT r.rollup_rel AS name,
       r.source_rel AS source,
       r.bucket,
       r.time_zone,
       r.group_by,
       r.agg_alias AS aggregates,
       c.pending AS pending_changes,
       s.last_fold,
       CASE WHEN c.oldest IS NULL THEN interval '0'
            ELSE clock_timestamp() - c.oldest END AS lag,
       s.folds,
       s.recomputed_groups,
       s.last_error,
       s.last_error_at
  FROM fluss_grid.rollup r
  CROSS JOIN LATERAL fluss_grid.changelog_stats(r.id) c
  LEFT JOIN fluss_grid.rollup_status() s ON s.rollup_id = r.id;

GRANT SELECT ON fluss_grid.rollups TO PUBLIC;

-- DDL follow-up: partitions created, attached or detached; objects dropped
CREATE FUNCTION fluss_grid.reconcile_capture(rollup_id integer)
RETURNS void
AS 'MODULE_PATHNAME', 'fluss_grid_reconcile_capture'
LANGUAGE C STRICT VOLATILE;

CREATE FUNCTION fluss_grid.check_source(rollup_id integer)
RETURNS void
AS 'MODULE_PATHNAME', 'fluss_grid_check_source'
LANGUAGE C STRICT VOLATILE;

CREATE FUNCTION fluss_grid.forget_rollup(rollup_id integer)
RETURNS void
AS 'MODULE_PATHNAME', 'fluss_grid_forget_rollup'
LANGUAGE C STRICT VOLATILE;

REVOKE ALL ON FUNCTION fluss_grid.reconcile_capture(integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION fluss_grid.forget_rollup(integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION fluss_grid.check_source(integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION fluss_grid.fold_now() FROM PUBLIC;

-- Follows ATTACH / DETACH PARTITION, CREATE TABLE ... PARTITION OF and
-- column renames on rollup sources (src/changelog.c).  It reads the
-- statement's parse tree, so it reacts to nothing else (not to the
-- CREATE TRIGGER / ALTER TABLE ... ENABLE TRIGGER of a pg_restore).
CREATE FUNCTION fluss_grid.on_ddl_command_end()
RETURNS event_trigger
AS 'MODULE_PATHNAME', 'fluss_grid_on_ddl_command_end'
LANGUAGE C;

CREATE FUNCTION fluss_grid.on_sql_drop()
RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    rid integer;
BEGIN
    -- a rollup table or a source dropped with DROP TABLE (... CASCADE):
    -- forget the rollups it ends (children first); rollup tables that
    -- survive stay as plain tables
    FOR rid IN
        WITH RECURSIVE gone AS (
            SELECT r.id FROM fluss_grid.rollup r
             WHERE r.rollup_rel::oid IN (SELECT objid FROM pg_event_trigger_dropped_objects()
                                          WHERE classid = 'pg_class'::regclass AND objsubid = 0)
                OR r.source_rel::oid IN (SELECT objid FROM pg_event_trigger_dropped_objects()
                                          WHERE classid = 'pg_class'::regclass AND objsubid = 0)
            UNION
            SELECT c.id FROM fluss_grid.rollup c JOIN gone ON c.parent_id = gone.id)
        SELECT id FROM gone ORDER BY id DESC
    LOOP
        PERFORM fluss_grid.forget_rollup(rid);
    END LOOP;
END;
$$;

CREATE EVENT TRIGGER fluss_grid_ddl_command_end ON ddl_command_end
    WHEN TAG IN ('CREATE TABLE', 'ALTER TABLE')
    EXECUTE FUNCTION fluss_grid.on_ddl_command_end();

CREATE EVENT TRIGGER fluss_grid_sql_drop ON sql_drop
    EXECUTE FUNCTION fluss_grid.on_sql_drop();

-- start this database's worker now rather than at the launcher's next look
CREATE FUNCTION fluss_grid.start_worker()
RETURNS boolean
AS 'MODULE_PATHNAME', 'fluss_grid_start_worker'
LANGUAGE C VOLATILE;

SELECT fluss_grid.start_worker();

-- ==========================================================================
-- fluss_columnar: zstd-compressed columnar table access method
-- (docs/COLUMNAR.md).  Independent of the rollup engine above.
-- ==========================================================================

CREATE FUNCTION fluss_grid.columnar_handler(internal)
RETURNS table_am_handler
AS 'MODULE_PATHNAME', 'columnar_handler'
LANGUAGE C STRICT;

CREATE ACCESS METHOD fluss_columnar TYPE TABLE HANDLER fluss_grid.columnar_handler;
COMMENT ON ACCESS METHOD fluss_columnar IS
    'zstd-compressed columnar storage for telemetry history (fluss_grid)';

-- storage ids: the key of a relation file's metadata, kept in its metapage
CREATE SEQUENCE fluss_grid.columnar_storage_id_seq;

-- one row per row group (written by the inserting transaction: MVCC)
CREATE TABLE fluss_grid.columnar_row_group (
    storage_id   bigint  NOT NULL,
    row_group    bigint  NOT NULL,
    first_row    bigint  NOT NULL,
    row_count    integer NOT NULL,
    first_block  bigint  NOT NULL,
    data_length  bigint  NOT NULL,
    PRIMARY KEY (storage_id, first_row)
);

-- one row per column of a row group
CREATE TABLE fluss_grid.columnar_chunk (
    storage_id   bigint   NOT NULL,
    first_row    bigint   NOT NULL,
    attnum       smallint NOT NULL,
    data_offset  bigint   NOT NULL,
    data_length  bigint   NOT NULL,   -- stored (compressed) bytes
    raw_length   bigint   NOT NULL,   -- bytes before compression
    compression  smallint NOT NULL,   -- 0 none, 1 zstd
    encoding     smallint NOT NULL,   -- 0 plain, 1 delta, 2 byte planes
    null_count   integer  NOT NULL,
    checksum     bigint   NOT NULL,   -- CRC-32C of the stored bytes
    min_value    bytea,               -- least and greatest non-NULL value
    max_value    bytea,               -- (binary send form; NULL: not recorded)
    PRIMARY KEY (storage_id, first_row, attnum)
);

-- one row per deleted row (DELETE, and the old version of an UPDATE)
CREATE TABLE fluss_grid.columnar_deleted (
    storage_id   bigint  NOT NULL,
    row_number   bigint  NOT NULL,
    updated      boolean NOT NULL,
    PRIMARY KEY (storage_id, row_number)
);

-- per-relation options, dumped by pg_dump
CREATE TABLE fluss_grid.columnar_options (
    relid              regclass PRIMARY KEY,
    compression_level  integer NOT NULL,
    row_group_rows     integer NOT NULL
);
SELECT pg_catalog.pg_extension_config_dump('fluss_grid.columnar_options', '');

GRANT SELECT ON fluss_grid.columnar_row_group, fluss_grid.columnar_chunk,
                fluss_grid.columnar_deleted, fluss_grid.columnar_options TO PUBLIC;

CREATE FUNCTION fluss_grid.columnar_set(rel regclass,
                                        compression_level integer DEFAULT NULL,
                                        row_group_rows integer DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'columnar_set'
LANGUAGE C VOLATILE;

CREATE FUNCTION fluss_grid.columnar_storage_id(rel regclass)
RETURNS bigint
AS 'MODULE_PATHNAME', 'columnar_storage_id'
LANGUAGE C VOLATILE;

-- per column: row groups, rows, NULLs, bytes before and after compression
CREATE FUNCTION fluss_grid.columnar_stats(rel regclass)
RETURNS TABLE (attname name, row_groups bigint, rows bigint,
               deleted_rows bigint, null_values bigint,
               raw_bytes bigint, compressed_bytes bigint, encodings text)
LANGUAGE sql VOLATILE
AS $$
    WITH s AS (SELECT fluss_grid.columnar_storage_id(rel) AS id)
    SELECT a.attname,
           count(c.first_row),
           coalesce(sum(g.row_count), 0)::bigint,
           (SELECT count(*) FROM fluss_grid.columnar_deleted d
             WHERE d.storage_id = s.id),
           coalesce(sum(c.null_count), 0)::bigint,
           coalesce(sum(c.raw_length), 0)::bigint,
           coalesce(sum(c.data_length), 0)::bigint,
           string_agg(DISTINCT CASE c.encoding WHEN 0 THEN 'plain'
                                               WHEN 1 THEN 'delta'
                                               WHEN 2 THEN 'byte planes' END
                      || CASE c.compression WHEN 1 THEN '+zstd' ELSE '' END,
                      ', ')
      FROM pg_catalog.pg_attribute a
      CROSS JOIN s
      LEFT JOIN fluss_grid.columnar_chunk c
             ON c.storage_id = s.id AND c.attnum = a.attnum
      LEFT JOIN fluss_grid.columnar_row_group g
             ON g.storage_id = c.storage_id AND g.first_row = c.first_row
     WHERE a.attrelid = rel AND a.attnum > 0 AND NOT a.attisdropped
     GROUP BY a.attnum, a.attname, s.id
     ORDER BY a.attnum
$$;
