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

-- The C fold (src/fold_compute.c): the rows a fold writes.  Callable only
-- from inside the fold statement; anyone else gets an error.
CREATE FUNCTION fluss_grid.fold_compute(rollup integer, max_rows bigint)
RETURNS SETOF record AS 'MODULE_PATHNAME', 'fluss_grid_fold_compute'
LANGUAGE C VOLATILE STRICT;

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
    OUT recomputed_groups bigint,
    OUT c_folds bigint)
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
    OUT passes bigint,
    OUT role text)
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
       s.c_folds AS folds_in_c,
       s.recomputed_groups,
       s.last_error,
       s.last_error_at
  FROM fluss_grid.rollup r
  CROSS JOIN LATERAL fluss_grid.changelog_stats(r.id) c
  LEFT JOIN fluss_grid.rollup_status() s ON s.rollup_id = r.id;

GRANT SELECT ON fluss_grid.rollups TO PUBLIC;

-- ---------------------------------------------------------------------
-- Transforms (src/transform.c): a table kept equal to "the newest version
-- of every key of a source, validated and enriched", continuously, through
-- the source's changelog.  create_transform generates the statements; the
-- C trigger fluss_grid.capture_rows() and the worker's fold run them.
-- Transform ids share the rollup id sequence (one status slot, fold lock
-- and changelog name fluss_grid.changelog_<id> per id).
-- ---------------------------------------------------------------------
CREATE TABLE fluss_grid.transform (
    id               integer PRIMARY KEY,
    target_rel       regclass NOT NULL UNIQUE,
    quarantine_rel   regclass UNIQUE,
    source_rel       regclass NOT NULL,
    key_columns      name[] NOT NULL,
    version_column   name NOT NULL,
    owner_id         oid NOT NULL,
    -- statements; @changelog@ stands for the changelog's name
    capture_insert   text NOT NULL,
    capture_delete   text NOT NULL,
    capture_update   text NOT NULL,
    capture_truncate text NOT NULL,
    reset_sql        text NOT NULL,
    fold_sql         text NOT NULL,   -- a batch: keys looked up one by one
    fold_bulk_sql    text NOT NULL,   -- a bulk load: keys joined wholesale
    refresh_sql      text NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now()
);

SELECT pg_catalog.pg_extension_config_dump('fluss_grid.transform', '');
REVOKE ALL ON fluss_grid.transform FROM PUBLIC;
GRANT SELECT ON fluss_grid.transform TO PUBLIC;

-- The transform's trigger function (statement level, transition tables)
CREATE FUNCTION fluss_grid.capture_rows()
RETURNS trigger
AS 'MODULE_PATHNAME', 'fluss_grid_capture_rows'
LANGUAGE C;

-- Registers a transform whose target (and quarantine) the caller has just
-- created and owns: the catalog row and the changelog table (created as the
-- extension owner in schema fluss_grid, writable by the transform's owner).
-- Returns the new id.  Called by create_transform.
CREATE FUNCTION fluss_grid.transform_register(
    target regclass, quarantine regclass, source regclass,
    key_columns name[], version_column name,
    capture_insert text, capture_delete text, capture_update text,
    capture_truncate text, reset_sql text, fold_sql text, fold_bulk_sql text, refresh_sql text)
RETURNS integer
AS 'MODULE_PATHNAME', 'fluss_grid_transform_register'
LANGUAGE C CALLED ON NULL INPUT VOLATILE;

-- Removes a transform: its capture triggers, changelog and catalog row
-- (the caller must own the target)
CREATE FUNCTION fluss_grid.transform_forget(transform_id integer)
RETURNS void
AS 'MODULE_PATHNAME', 'fluss_grid_transform_forget'
LANGUAGE C STRICT VOLATILE;

-- Recomputes a transform from its source under its fold lock
CREATE FUNCTION fluss_grid.refresh_transform(target regclass)
RETURNS bigint
AS 'MODULE_PATHNAME', 'fluss_grid_refresh_transform'
LANGUAGE C STRICT VOLATILE;

CREATE FUNCTION fluss_grid.create_transform(
    name       text,
    source     regclass,
    key        name[],
    version    name,
    columns    text[],
    joins      text DEFAULT NULL,
    reject     text DEFAULT NULL,
    quarantine text DEFAULT NULL)
RETURNS regclass
LANGUAGE plpgsql
AS $fn$
DECLARE
    caller_path text := pg_catalog.current_setting('search_path');
    default_schema text := pg_catalog.current_schema();
    src       text;
    ident     text[];
    tgt       text;          -- quoted, qualified target
    qtab      text;          -- quoted, qualified quarantine
    tgt_oid   regclass;
    q_oid     regclass;
    k         name;
    c         text;
    kcols     text;          -- k1, k2 (quoted)
    rkeys     text;          -- r.k1, r.k2
    vcol      text := quote_ident(version);
    scols     text;          -- every stored source column
    qcols     text;          -- source columns other than key and version
    qsel      text := '';    -- , r.c AS _fg_q1, ...
    qins      text := '';    -- , c, ...
    qfrom     text := '';    -- , _fg_q1, ...
    exprs     text := '';
    fj        text := coalesce(joins, '');
    reason    text := coalesce(reject, 'NULL');
    tcols     text;          -- target columns after the key: version, user columns
    set_t     text;
    set_q     text;
    p_cte     text;
    apply_sql text;
    km        text;          -- key match template: %1$s.k = %2$s.k AND ...
    place     text;          -- a relation joined to the target/quarantine
    flags     text;
    curv      text;          -- the current winner's version
    fold_sql  text;
    fold_bulk_sql text;
    refresh_sql text;
    bulk_place text;
    pl        text;
    folds     text[] := '{}';
    ltype     oid;           -- type the primary key compares the last key column as
    opf       oid;           -- its operator family in the primary key
    op_le     text;          -- OPERATOR(schema.<=) of that family
    op_ge     text;
    pkm       text;          -- key match on all but the last key column
    pcols     text;          -- those columns (quoted), or NULL
    span_sql  text := '';    -- _fg_span, _fg_hit: keys that may exist
    gate      text;          -- true when a key's group is in _fg_hit
    gated_place text;        -- place, looked up only for those keys
    fresh_sql text;
    dirty_span text := '';   -- the dirty keys' range of the last key column
    tid       integer;
    n         integer := 0;
BEGIN
    -- Expressions and joins are checked here as the fold will run them:
    -- with search_path = pg_catalog, pg_temp (so they must qualify the
    -- tables and functions they name).  Restored before returning.
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    src := source::text;
    IF name IS NULL OR source IS NULL OR key IS NULL OR version IS NULL OR columns IS NULL THEN
        RAISE EXCEPTION 'name, source, key, version and columns must not be NULL'
              USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF (SELECT relkind FROM pg_class WHERE oid = source) <> 'r' THEN
        RAISE EXCEPTION 'source % of a transform must be a table', src
              USING ERRCODE = 'wrong_object_type',
                    DETAIL = 'Partitioned tables, views and foreign tables are not supported as transform sources.';
    END IF;
    IF coalesce(cardinality(key), 0) = 0 THEN
        RAISE EXCEPTION 'key must name at least one column' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF coalesce(cardinality(columns), 0) = 0 THEN
        RAISE EXCEPTION 'columns must list at least one expression' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF (reject IS NULL) <> (quarantine IS NULL) THEN
        RAISE EXCEPTION 'reject and quarantine must be given together'
              USING ERRCODE = 'invalid_parameter_value',
                    HINT = 'Rows for which reject yields a reason go to the quarantine table.';
    END IF;
    -- fragments are single expressions or JOIN clauses
    FOREACH c IN ARRAY columns || ARRAY[joins, reject] LOOP
        IF c ~ ';' THEN
            RAISE EXCEPTION 'transform expression must not contain a semicolon: %', c
                  USING ERRCODE = 'syntax_error',
                        HINT = 'columns and reject are expressions; joins is a list of JOIN clauses.';
        END IF;
    END LOOP;

    -- key and version: NOT NULL columns of the source
    FOREACH k IN ARRAY key || version LOOP
        PERFORM 1 FROM pg_attribute a
         WHERE a.attrelid = source AND a.attname = k AND a.attnum > 0 AND NOT a.attisdropped;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'column "%" of relation % does not exist', k, src
                  USING ERRCODE = 'undefined_column';
        END IF;
        PERFORM 1 FROM pg_attribute a WHERE a.attrelid = source AND a.attname = k AND a.attnotnull;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'column "%" of relation % must be NOT NULL to serve as a transform key or version', k, src
                  USING ERRCODE = 'invalid_table_definition',
                        HINT = 'Rows without a key or version cannot be deduplicated; declare the column NOT NULL.';
        END IF;
    END LOOP;
    IF version = ANY (key) THEN
        RAISE EXCEPTION 'version column "%" must not be part of the key', version
              USING ERRCODE = 'invalid_parameter_value';
    END IF;

    SELECT string_agg(quote_ident(x), ', ' ORDER BY o), string_agg('r.' || quote_ident(x), ', ' ORDER BY o)
      INTO kcols, rkeys FROM unnest(key) WITH ORDINALITY u(x, o);
    SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) INTO scols
      FROM pg_attribute a
     WHERE a.attrelid = source AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '';
    SELECT coalesce(string_agg(format(', r.%I AS _fg_q%s', a.attname, a.attnum), '' ORDER BY a.attnum), ''),
           coalesce(string_agg(format(', %I', a.attname), '' ORDER BY a.attnum), ''),
           coalesce(string_agg(format(', _fg_q%s', a.attnum), '' ORDER BY a.attnum), '')
      INTO qsel, qins, qfrom
      FROM pg_attribute a
     WHERE a.attrelid = source AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
       AND a.attname <> ALL (key) AND a.attname <> version;

    FOREACH c IN ARRAY columns LOOP
        IF c IS NULL THEN
            RAISE EXCEPTION 'columns must not contain NULL' USING ERRCODE = 'null_value_not_allowed';
        END IF;
        n := n + 1;
        exprs := exprs || ', ' || c;
    END LOOP;

    -- the target, named as CREATE TABLE reads names: keys, version, then one
    -- column per expression (names and types as the expressions give them;
    -- a mistake in an expression or a join surfaces here)
    ident := parse_ident(name);
    IF cardinality(ident) = 1 THEN
        ident := ARRAY[default_schema] || ident;
    END IF;
    tgt := format('%I.%I', ident[1], ident[2]);
    EXECUTE format('CREATE TABLE %s AS SELECT %s, r.%s %s FROM %s r %s WITH NO DATA',
                   tgt, rkeys, vcol, exprs, src, fj);
    tgt_oid := tgt::regclass;
    IF (SELECT count(DISTINCT a.attname) FROM pg_attribute a WHERE a.attrelid = tgt_oid AND a.attnum > 0)
       <> cardinality(key) + 1 + n THEN
        RAISE EXCEPTION 'transform columns must have distinct names, different from the key and version columns'
              USING ERRCODE = 'duplicate_column',
                    HINT = 'Name each expression with AS.';
    END IF;
    IF EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = tgt_oid AND a.attnum > 0 AND a.attname LIKE '\_fg\_%') THEN
        RAISE EXCEPTION 'column names beginning with "_fg_" are reserved for fluss_grid'
              USING ERRCODE = 'reserved_name';
    END IF;
    EXECUTE format('ALTER TABLE %s ADD PRIMARY KEY (%s)', tgt, kcols);
    -- the order of the last key column in the primary key (its operator
    -- family), when min() and max() of the type sort by that order: then a
    -- fold can tell, per value of the other key columns, the range of the
    -- last one that its batch covers (see _fg_span below)
    -- (the operator class's input type: text for a varchar key, anyenum
    -- for an enum)
    SELECT c.opcintype, c.opcfamily INTO ltype, opf
      FROM pg_index i
      JOIN pg_opclass c ON c.oid = i.indclass[cardinality(key) - 1]
     WHERE i.indrelid = tgt_oid AND i.indisprimary;
    SELECT format('OPERATOR(%I.%s)', le_n.nspname, le.oprname), format('OPERATOR(%I.%s)', ge_n.nspname, ge.oprname)
      INTO op_le, op_ge
      FROM pg_amop le_a JOIN pg_operator le ON le.oid = le_a.amopopr JOIN pg_namespace le_n ON le_n.oid = le.oprnamespace,
           pg_amop ge_a JOIN pg_operator ge ON ge.oid = ge_a.amopopr JOIN pg_namespace ge_n ON ge_n.oid = ge.oprnamespace
     WHERE le_a.amopfamily = opf AND le_a.amoplefttype = ltype AND le_a.amoprighttype = ltype
       AND le_a.amopstrategy = 2 AND le_a.amopmethod = (SELECT oid FROM pg_am WHERE amname = 'btree')
       AND ge_a.amopfamily = opf AND ge_a.amoplefttype = ltype AND ge_a.amoprighttype = ltype
       AND ge_a.amopstrategy = 4 AND ge_a.amopmethod = le_a.amopmethod
       AND EXISTS (SELECT 1 FROM pg_aggregate g JOIN pg_proc p ON p.oid = g.aggfnoid
                     JOIN pg_amop o ON o.amopopr = g.aggsortop
                    WHERE p.pronamespace = 'pg_catalog'::regnamespace AND p.proname = 'min'
                      AND p.proargtypes = ARRAY[ltype]::oidvector AND o.amopfamily = opf
                      AND o.amopstrategy = 1 AND o.amoplefttype = ltype AND o.amoprighttype = ltype)
       AND EXISTS (SELECT 1 FROM pg_aggregate g JOIN pg_proc p ON p.oid = g.aggfnoid
                     JOIN pg_amop o ON o.amopopr = g.aggsortop
                    WHERE p.pronamespace = 'pg_catalog'::regnamespace AND p.proname = 'max'
                      AND p.proargtypes = ARRAY[ltype]::oidvector AND o.amopfamily = opf
                      AND o.amopstrategy = 5 AND o.amoplefttype = ltype AND o.amoprighttype = ltype);
    SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum),
           string_agg(format('%1$I = EXCLUDED.%1$I', a.attname), ', ' ORDER BY a.attnum)
      INTO tcols, set_t
      FROM pg_attribute a
     WHERE a.attrelid = tgt_oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attname <> ALL (key);

    IF quarantine IS NOT NULL THEN
        ident := parse_ident(quarantine);
        IF cardinality(ident) = 1 THEN
            ident := ARRAY[default_schema] || ident;
        END IF;
        qtab := format('%I.%I', ident[1], ident[2]);
        -- keys, version, reason, then the rest of the row as received
        EXECUTE format('CREATE TABLE %s AS SELECT %s, r.%s, (%s)::text AS reason %s FROM %s r %s WITH NO DATA',
                       qtab, rkeys, vcol, reason, qsel, src, fj);
        q_oid := qtab::regclass;
        -- the raw columns keep their own names in the quarantine table
        FOR c IN SELECT a.attname FROM pg_attribute a
                  WHERE a.attrelid = source AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
                    AND a.attname <> ALL (key) AND a.attname <> version ORDER BY a.attnum LOOP
            EXECUTE format('ALTER TABLE %s RENAME COLUMN %I TO %I', qtab,
                           '_fg_q' || (SELECT attnum FROM pg_attribute WHERE attrelid = source AND attname = c), c);
        END LOOP;
        EXECUTE format('ALTER TABLE %s ADD PRIMARY KEY (%s)', qtab, kcols);
        SELECT string_agg(format('%1$I = EXCLUDED.%1$I', a.attname), ', ' ORDER BY a.attnum)
          INTO set_q
          FROM pg_attribute a
         WHERE a.attrelid = q_oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attname <> ALL (key);
    END IF;

    -- The statements share their tail: _fg_r holds the winning source row
    -- of every key to write, with where the key is now (_fg_tid_t: its row
    -- in the target, _fg_tid_q: in the quarantine, NULL when not there);
    -- _fg_old the keys looked at that may have lost their last row.  _fg_p
    -- validates and enriches _fg_r; then plain INSERTs for keys new to a
    -- table, UPDATEs (by row id) for keys that stay, DELETEs for keys that
    -- leave it.  Only the fold (under its lock) writes these tables, so no
    -- write can conflict and a row id read in the statement stays valid.
    -- Rows are reached as "ctid = ANY (ARRAY(...))", a TID scan whatever
    -- the planner guesses (a join on ctid was planned as a hash join over
    -- a whole scan of the quarantine in every fold); the join side keeps
    -- only rows that have a row id, or a stream of new keys (no row id)
    -- costs one empty TID lookup per key.
    km := (SELECT string_agg(format('@a@.%1$I = @b@.%1$I', x), ' AND ') FROM unnest(key) x);
    p_cte := format('_fg_p AS MATERIALIZED (SELECT %s, r.%s, (%s)::text AS _fg_reason, r._fg_tid_t, r._fg_tid_q %s %s'
                    ' FROM _fg_r r %s)',
                    rkeys, vcol, reason, exprs, CASE WHEN qtab IS NULL THEN '' ELSE qsel END, fj);
    apply_sql := format(
        '_fg_ti AS (INSERT INTO %1$s (%2$s, %3$s) SELECT %2$s, %3$s FROM _fg_p'
        ' WHERE _fg_reason IS NULL AND _fg_tid_t IS NULL RETURNING 1), '
        '_fg_tu AS (UPDATE %1$s t SET %4$s FROM _fg_p p'
        ' WHERE t.ctid = ANY (ARRAY(SELECT _fg_tid_t FROM _fg_p WHERE _fg_reason IS NULL AND _fg_tid_t IS NOT NULL))'
        ' AND p._fg_reason IS NULL AND p._fg_tid_t IS NOT NULL AND t.ctid = p._fg_tid_t RETURNING 1), '
        '_fg_td AS (DELETE FROM %1$s t WHERE t.ctid = ANY (ARRAY(SELECT _fg_tid_t FROM _fg_p WHERE _fg_tid_t IS NOT NULL AND _fg_reason IS NOT NULL'
        ' UNION ALL SELECT o._fg_tid_t FROM _fg_old o WHERE o._fg_tid_t IS NOT NULL AND NOT EXISTS (SELECT 1 FROM _fg_p p WHERE %6$s)))'
        ' RETURNING 1)',
        tgt, kcols, tcols,
        (SELECT string_agg(format('%1$I = p.%1$I', a.attname), ', ' ORDER BY a.attnum)
           FROM pg_attribute a
          WHERE a.attrelid = tgt_oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attname <> ALL (key)),
        NULL, replace(replace(km, '@a@', 'p'), '@b@', 'o'));
    IF qtab IS NOT NULL THEN
        apply_sql := apply_sql || format(
            ', _fg_qi AS (INSERT INTO %1$s (%2$s, %3$s, reason %4$s) SELECT %2$s, %3$s, _fg_reason %5$s FROM _fg_p'
            ' WHERE _fg_reason IS NOT NULL AND _fg_tid_q IS NULL RETURNING 1), '
            '_fg_qu AS (UPDATE %1$s q SET %3$s = p.%3$s, reason = p._fg_reason %6$s FROM _fg_p p'
            ' WHERE q.ctid = ANY (ARRAY(SELECT _fg_tid_q FROM _fg_p WHERE _fg_reason IS NOT NULL AND _fg_tid_q IS NOT NULL))'
            ' AND p._fg_reason IS NOT NULL AND p._fg_tid_q IS NOT NULL AND q.ctid = p._fg_tid_q RETURNING 1), '
            '_fg_qd AS (DELETE FROM %1$s q WHERE q.ctid = ANY (ARRAY(SELECT _fg_tid_q FROM _fg_p WHERE _fg_tid_q IS NOT NULL AND _fg_reason IS NULL'
            ' UNION ALL SELECT o._fg_tid_q FROM _fg_old o WHERE o._fg_tid_q IS NOT NULL AND NOT EXISTS (SELECT 1 FROM _fg_p p WHERE %8$s)))'
            ' RETURNING 1)',
            qtab, kcols, vcol, qins, qfrom,
            (SELECT coalesce(string_agg(format(', %I = p._fg_q%s', a.attname, a.attnum), '' ORDER BY a.attnum), '')
               FROM pg_attribute a
              WHERE a.attrelid = source AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
                AND a.attname <> ALL (key) AND a.attname <> version),
            NULL, replace(replace(km, '@a@', 'p'), '@b@', 'o'));
    END IF;
    -- where a key is now: @rel@ (alias @b@) looked up in the target (and
    -- the quarantine) by primary key, row by row (LIMIT 1 keeps the lookup
    -- a parameterized index scan: a batch is small next to the target)
    place := '@rel@ LEFT JOIN LATERAL (SELECT t.ctid AS tid, t.' || vcol || ' FROM ' || tgt || ' t WHERE '
             || replace(km, '@a@', 't') || ' LIMIT 1) t ON true'
             || CASE WHEN qtab IS NULL THEN '' ELSE
                    ' LEFT JOIN LATERAL (SELECT q.ctid AS tid, q.' || vcol || ' FROM ' || qtab || ' q WHERE '
                    || replace(km, '@a@', 'q') || ' LIMIT 1) q ON true' END;
    -- the same, joined wholesale (hash or merge join: for a bulk load)
    bulk_place := '@rel@ LEFT JOIN (SELECT t.ctid AS tid, t.' || vcol || ', ' || kcols || ' FROM ' || tgt || ' t) t ON '
             || replace(km, '@a@', 't')
             || CASE WHEN qtab IS NULL THEN '' ELSE
                    ' LEFT JOIN (SELECT q.ctid AS tid, q.' || vcol || ', ' || kcols || ' FROM ' || qtab || ' q) q ON '
                    || replace(km, '@a@', 'q') END;
    flags := format('t.tid AS _fg_tid_t, %s AS _fg_tid_q',
                    CASE WHEN qtab IS NULL THEN 'NULL::tid' ELSE 'q.tid' END);
    curv := CASE WHEN qtab IS NULL THEN format('t.%s', vcol) ELSE format('coalesce(t.%1$s, q.%1$s)', vcol) END;

    -- Which keys of a batch may already be in the target or quarantine.
    -- A stream brings new keys almost only, and two primary-key lookups
    -- per key that find nothing were a quarter of a fold.  Per value of
    -- the key's other columns (per station), the batch spans [_fg_lo,
    -- _fg_hi] of the last one (time); one index probe per table and group
    -- tells whether any row lies in that range, and only keys of groups
    -- with one are looked up (the gate is a one-time filter of the lookup).
    -- A key of a group without one cannot be there: it lies in the range.
    -- Only where min() and max() sort like the primary key (above).
    IF op_le IS NOT NULL THEN
        IF cardinality(key) > 1 THEN
            SELECT string_agg(quote_ident(x), ', ' ORDER BY o),
                   string_agg(format('@a@.%1$I = @b@.%1$I', x), ' AND ' ORDER BY o)
              INTO pcols, pkm
              FROM unnest(key[1:cardinality(key) - 1]) WITH ORDINALITY u(x, o);
        END IF;
        span_sql := format(
            '_fg_span AS (SELECT %1$s min(%2$I) AS _fg_lo, max(%2$I) AS _fg_hi FROM _fg_d'
            ' WHERE _fg_sign <> -1 %3$s), '
            '_fg_hit AS MATERIALIZED (SELECT %4$s FROM _fg_span s'
            ' WHERE EXISTS (SELECT 1 FROM %5$s t WHERE %6$st.%2$I %7$s s._fg_lo AND t.%2$I %8$s s._fg_hi)%9$s), ',
            CASE WHEN pcols IS NULL THEN '' ELSE pcols || ',' END, key[cardinality(key)],
            CASE WHEN pcols IS NULL THEN '' ELSE 'GROUP BY ' || pcols END,
            CASE WHEN pcols IS NULL THEN '1 AS _fg_hit' ELSE
                (SELECT string_agg('s.' || quote_ident(x), ', ') FROM unnest(key[1:cardinality(key) - 1]) x) END,
            tgt,
            CASE WHEN pkm IS NULL THEN '' ELSE replace(replace(pkm, '@a@', 't'), '@b@', 's') || ' AND ' END,
            op_ge, op_le,
            CASE WHEN qtab IS NULL THEN '' ELSE format(
                ' OR EXISTS (SELECT 1 FROM %s q WHERE %sq.%I %s s._fg_lo AND q.%I %s s._fg_hi)',
                qtab, CASE WHEN pkm IS NULL THEN '' ELSE replace(replace(pkm, '@a@', 'q'), '@b@', 's') || ' AND ' END,
                key[cardinality(key)], op_ge, key[cardinality(key)], op_le) END);
        -- the gate: an expression of the outer row only, so a one-time
        -- filter of the lookup; a hashed subplan, built once per fold
        -- (a join with _fg_hit was planned, from a fresh changelog's
        -- estimates, as a nested loop computing _fg_hit again per key)
        gate := CASE WHEN pcols IS NULL THEN 'EXISTS (SELECT 1 FROM _fg_hit)' ELSE
                    format('((%s) IN (SELECT %s FROM _fg_hit)) IS TRUE',
                           (SELECT string_agg('@b@.' || quote_ident(x), ', ') FROM unnest(key[1:cardinality(key) - 1]) x),
                           pcols) END;
        gated_place := '@rel@ LEFT JOIN LATERAL (SELECT t.ctid AS tid, t.' || vcol || ' FROM ' || tgt || ' t WHERE '
                 || gate || ' AND ' || replace(km, '@a@', 't') || ' LIMIT 1) t ON true'
                 || CASE WHEN qtab IS NULL THEN '' ELSE
                        ' LEFT JOIN LATERAL (SELECT q.ctid AS tid, q.' || vcol || ' FROM ' || qtab || ' q WHERE '
                        || gate || ' AND ' || replace(km, '@a@', 'q') || ' LIMIT 1) q ON true' END;
    ELSE
        gated_place := place;
    END IF;
    -- newest inserted version per key (one sort), minus the keys with a
    -- delete (those are read again from the source).  The predicates are
    -- written for the planner's default selectivities (the changelog has
    -- no statistics): "_fg_sign <> -1" (0.995; the sign is 1 or -1) rather
    -- than "> 0" (1/3), and "(current >= new) IS NOT TRUE" (2/3) rather
    -- than "current IS NULL OR new > current" (1/3); a batch estimated at
    -- a tenth of its size was joined to the dimensions by an index probe
    -- per key instead of a hash
    fresh_sql := format(
        '_fg_fresh AS (SELECT * FROM (SELECT DISTINCT ON (%1$s) %2$s FROM _fg_d d WHERE d._fg_sign <> -1'
        ' ORDER BY %1$s, %3$s DESC) d WHERE NOT EXISTS (SELECT 1 FROM _fg_dirty x WHERE %4$s)), ',
        kcols, scols, vcol, replace(replace(km, '@a@', 'x'), '@b@', 'd'));

    -- Keys touched by an UPDATE or DELETE are read again from the source.
    -- Their range of the last key column (time) restricts that read, so
    -- that an index on it (the warehouse's BRIN on ts) finds a few pages
    -- instead of a sequential scan of the whole source per correction;
    -- implied by the IN, so without such an index it changes nothing.
    IF op_le IS NOT NULL THEN
        dirty_span := format(' AND %1$I %2$s (SELECT min(%1$I) FROM _fg_dirty) AND %1$I %3$s (SELECT max(%1$I) FROM _fg_dirty)',
                             key[cardinality(key)], op_ge, op_le);
    END IF;

    -- the same statement twice: keys looked up (place, gated) or joined
    -- (bulk_place)
    FOREACH pl IN ARRAY ARRAY[gated_place, bulk_place] LOOP
        folds := folds || format(
        'WITH _fg_d AS (DELETE FROM @changelog@ WHERE NOT _fg_reset RETURNING *), '
        '_fg_dirty AS (SELECT DISTINCT %1$s FROM _fg_d WHERE _fg_sign < 0), '
        '%4$s'
        '_fg_won AS (SELECT f.*, %5$s FROM %6$s WHERE (%7$s >= f.%3$s) IS NOT TRUE), '
        '_fg_old AS (SELECT x.*, %5$s FROM %8$s), '
        '_fg_r AS (SELECT * FROM _fg_won UNION ALL SELECT w.*, o._fg_tid_t, o._fg_tid_q'
        ' FROM (SELECT DISTINCT ON (%1$s) %2$s FROM %9$s WHERE (%1$s) IN (SELECT %1$s FROM _fg_dirty)%13$s'
        ' ORDER BY %1$s, %3$s DESC) w JOIN _fg_old o ON %10$s), '
        '%11$s, %12$s '
        'SELECT (SELECT count(*) FROM _fg_d), (SELECT count(*) FROM _fg_dirty)',
        kcols, scols, vcol,
        CASE WHEN pl = bulk_place THEN '' ELSE span_sql END || fresh_sql,
        flags,
        replace(replace(pl, '@rel@', '_fg_fresh f'), '@b@', 'f'), curv,
        replace(replace(CASE WHEN pl = bulk_place THEN bulk_place ELSE place END,
                        '@rel@', '_fg_dirty x'), '@b@', 'x'),
        src, replace(replace(km, '@a@', 'o'), '@b@', 'w'), p_cte, apply_sql, dirty_span);
    END LOOP;
    fold_sql := folds[1];
    fold_bulk_sql := folds[2];

    -- every key of the source and of the tables: all looked at
    refresh_sql := format(
        'WITH _fg_d AS (DELETE FROM @changelog@ RETURNING 1), '
        '_fg_r AS (SELECT w.*, %1$s FROM %2$s), '
        '_fg_old AS (SELECT %3$s, ctid AS _fg_tid_t, NULL::tid AS _fg_tid_q FROM %4$s%5$s), '
        '%6$s, %7$s '
        'SELECT (SELECT count(*) FROM _fg_p), (SELECT count(*) FROM _fg_d)',
        flags,
        replace(replace(bulk_place, '@rel@', format('(SELECT DISTINCT ON (%1$s) %2$s FROM %3$s ORDER BY %1$s, %4$s DESC) w',
                                               kcols, scols, src, vcol)), '@b@', 'w'),
        kcols, tgt,
        CASE WHEN qtab IS NULL THEN '' ELSE format(' UNION ALL SELECT %s, NULL::tid, ctid FROM %s', kcols, qtab) END,
        p_cte, apply_sql);

    tid := fluss_grid.transform_register(
        tgt_oid, q_oid, source, key, version,
        format('INSERT INTO @changelog@ (_fg_sign, %1$s) SELECT 1, %1$s FROM _fg_new', scols),
        format('INSERT INTO @changelog@ (_fg_sign, %1$s, %2$s) SELECT -1, %1$s, %2$s FROM _fg_old', kcols, vcol),
        format('INSERT INTO @changelog@ (_fg_sign, %1$s) SELECT -1, %1$s FROM _fg_old UNION ALL SELECT 1, %1$s FROM _fg_new', scols),
        'WITH _fg_x AS (DELETE FROM @changelog@) INSERT INTO @changelog@ (_fg_reset) VALUES (true)',
        format('WITH _fg_m AS (DELETE FROM @changelog@ WHERE _fg_reset RETURNING 1), '
               '_fg_a AS (DELETE FROM %s WHERE EXISTS (SELECT 1 FROM _fg_m) RETURNING 1)%s '
               'SELECT count(*) FROM _fg_m', tgt,
               CASE WHEN qtab IS NULL THEN '' ELSE
                   format(', _fg_b AS (DELETE FROM %s WHERE EXISTS (SELECT 1 FROM _fg_m) RETURNING 1)', qtab) END),
        fold_sql, fold_bulk_sql, refresh_sql);

    -- capture from now on (writers wait for this transaction), then fill
    -- the target from what the source holds
    -- (the first CREATE TRIGGER takes SHARE ROW EXCLUSIVE until commit)
    EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %s REFERENCING NEW TABLE AS _fg_new'
                   ' FOR EACH STATEMENT EXECUTE FUNCTION fluss_grid.capture_rows(%L, ''s'')',
                   '_fg_transform_' || tid || '_ins', src, tid);
    EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON %s REFERENCING OLD TABLE AS _fg_old NEW TABLE AS _fg_new'
                   ' FOR EACH STATEMENT EXECUTE FUNCTION fluss_grid.capture_rows(%L, ''s'')',
                   '_fg_transform_' || tid || '_upd', src, tid);
    EXECUTE format('CREATE TRIGGER %I AFTER DELETE ON %s REFERENCING OLD TABLE AS _fg_old'
                   ' FOR EACH STATEMENT EXECUTE FUNCTION fluss_grid.capture_rows(%L, ''s'')',
                   '_fg_transform_' || tid || '_del', src, tid);
    EXECUTE format('CREATE TRIGGER %I AFTER TRUNCATE ON %s'
                   ' FOR EACH STATEMENT EXECUTE FUNCTION fluss_grid.capture_rows(%L, ''t'')',
                   '_fg_transform_' || tid || '_trunc', src, tid);
    -- logical replication applies TRUNCATE as a statement, and rows one by
    -- one with row triggers only: TRUNCATE always, the row trigger replica
    -- only (statement triggers cover every other writer)
    EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER %I', src, '_fg_transform_' || tid || '_trunc');
    EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON %s'
                   ' FOR EACH ROW EXECUTE FUNCTION fluss_grid.capture_rows(%L, ''r'')',
                   '_fg_transform_' || tid || '_row', src, tid);
    EXECUTE format('ALTER TABLE %s ENABLE REPLICA TRIGGER %I', src, '_fg_transform_' || tid || '_row');
    PERFORM fluss_grid.refresh_transform(tgt_oid);
    PERFORM pg_catalog.set_config('search_path', caller_path, true);
    RETURN tgt_oid;
END;
$fn$;

CREATE FUNCTION fluss_grid.drop_transform(target regclass, cascade boolean DEFAULT false)
RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    t fluss_grid.transform%ROWTYPE;
    r regclass;
BEGIN
    SELECT * INTO t FROM fluss_grid.transform WHERE target_rel = target;
    IF NOT FOUND THEN
        RAISE EXCEPTION '% is not a transform', target USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR r IN SELECT rollup_rel FROM fluss_grid.rollup WHERE source_rel IN (t.target_rel, t.quarantine_rel) LOOP
        IF NOT cascade THEN
            RAISE EXCEPTION 'cannot drop transform % because rollup % depends on it', target, r
                  USING ERRCODE = 'dependent_objects_still_exist',
                        HINT = 'Use cascade => true to drop the dependent rollups too.';
        END IF;
        PERFORM fluss_grid.drop_rollup(r, cascade => true);
    END LOOP;
    PERFORM fluss_grid.transform_forget(t.id);
    EXECUTE format('DROP TABLE %s', t.target_rel);
    IF t.quarantine_rel IS NOT NULL THEN
        EXECUTE format('DROP TABLE %s', t.quarantine_rel);
    END IF;
END;
$fn$;

CREATE VIEW fluss_grid.transforms AS
SELECT t.target_rel AS name,
       t.source_rel AS source,
       t.quarantine_rel AS quarantine,
       t.key_columns AS key,
       t.version_column AS version,
       c.pending AS pending_changes,
       s.last_fold,
       CASE WHEN c.oldest IS NULL THEN interval '0'
            ELSE clock_timestamp() - c.oldest END AS lag,
       s.folds,
       s.recomputed_groups AS recomputed_keys,
       s.last_error,
       s.last_error_at
  FROM fluss_grid.transform t
  CROSS JOIN LATERAL fluss_grid.changelog_stats(t.id) c
  LEFT JOIN fluss_grid.rollup_status() s ON s.rollup_id = t.id;

GRANT SELECT ON fluss_grid.transforms TO PUBLIC;

-- ---------------------------------------------------------------------
-- The grid dispatch warehouse (docs/WAREHOUSE.md): dimensions, ODS, DWD
-- (a transform), DWS (rollups and the views over them), ADS (views).
-- ---------------------------------------------------------------------

-- The default station set: n stations spread over the seven regional grids
-- with each region's generation mix (deterministic: station i always gets
-- the same region, kind, capacity and place).
CREATE FUNCTION fluss_grid.grid_default_stations(n integer DEFAULT 1400)
RETURNS TABLE (station_id integer, station_name text, region text, kind text,
               capacity_mw double precision, nominal_kv double precision,
               province text, longitude double precision, latitude double precision)
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
WITH regions (region, weight, mix, provinces) AS (VALUES
    -- mix: cumulative shares of the plants (the rest of the stations are
    -- substations) as thermal | hydro | wind | solar | nuclear
    ('华北', 0.165, ARRAY[0.55, 0.60, 0.80, 0.95, 1.00],
     ARRAY['北京:116.41:39.90', '天津:117.20:39.08', '河北:114.51:38.04', '山西:112.55:37.87', '山东:117.00:36.67', '内蒙古西部:111.75:40.84']),
    ('华东', 0.185, ARRAY[0.55, 0.60, 0.70, 0.85, 1.00],
     ARRAY['上海:121.47:31.23', '江苏:118.80:32.06', '浙江:120.15:30.27', '安徽:117.28:31.86', '福建:119.30:26.08']),
    ('华中', 0.145, ARRAY[0.40, 0.75, 0.85, 0.95, 1.00],
     ARRAY['湖北:114.31:30.59', '湖南:112.94:28.23', '河南:113.63:34.75', '江西:115.86:28.68']),
    ('东北', 0.105, ARRAY[0.50, 0.55, 0.85, 0.95, 1.00],
     ARRAY['辽宁:123.43:41.81', '吉林:125.32:43.82', '黑龙江:126.53:45.80', '蒙东:122.26:43.62']),
    ('西北', 0.115, ARRAY[0.35, 0.40, 0.70, 1.00, 1.00],
     ARRAY['陕西:108.94:34.34', '甘肃:103.83:36.06', '青海:101.78:36.62', '宁夏:106.23:38.49', '新疆:87.62:43.83']),
    ('西南', 0.125, ARRAY[0.25, 0.85, 0.90, 1.00, 1.00],
     ARRAY['四川:104.07:30.67', '重庆:106.55:29.56', '西藏:91.11:29.65']),
    ('华南', 0.160, ARRAY[0.40, 0.60, 0.70, 0.80, 1.00],
     ARRAY['广东:113.27:23.13', '广西:108.37:22.82', '云南:102.83:24.88', '贵州:106.71:26.58', '海南:110.35:20.02'])),
cum AS (
    SELECT r.*, sum(weight) OVER (ORDER BY ord) - weight AS lo, sum(weight) OVER (ORDER BY ord) AS hi
      FROM (SELECT *, row_number() OVER () AS ord FROM regions) r),
s AS (
    -- three independent pseudo-random fractions per station (Knuth's
    -- multiplicative hashing), fixed by i
    SELECT i, ((i - 0.5) / n)::float8 AS place,
           ((i::bigint * 2654435761) % 4294967296) / 4294967296.0 AS u1,
           ((i::bigint * 2246822519 + 374761393) % 4294967296) / 4294967296.0 AS u2,
           ((i::bigint * 3266489917 + 668265263) % 4294967296) / 4294967296.0 AS u3
      FROM generate_series(1, n) i),
k AS (
    SELECT s.*, c.region, c.provinces, c.mix,
           CASE WHEN s.u1 < 0.45 THEN 'substation'
                ELSE (ARRAY['thermal', 'hydro', 'wind', 'solar', 'nuclear'])
                     [(SELECT min(j) FROM generate_subscripts(c.mix, 1) j WHERE (s.u1 - 0.45) / 0.55 < c.mix[j])]
           END AS kind
      FROM s JOIN cum c ON s.place >= c.lo AND (s.place < c.hi OR c.region = '华南')),
p AS (
    SELECT k.*, string_to_array(k.provinces[1 + floor(k.u2 * cardinality(k.provinces))::int], ':') AS prov
      FROM k)
SELECT i, format('%s-%s-%s', prov[1], kind, i), region, kind,
       round(CASE kind WHEN 'substation' THEN 80 + 320 * u3
                       WHEN 'thermal' THEN 300 + 700 * u3
                       WHEN 'hydro' THEN 60 + 640 * u3
                       WHEN 'wind' THEN 50 + 250 * u3
                       WHEN 'solar' THEN 20 + 180 * u3
                       ELSE 1000 + 250 * u3 END)::float8,
       CASE WHEN kind IN ('nuclear', 'thermal') AND u3 > 0.5 THEN 500
            WHEN kind = 'substation' AND u3 > 0.7 THEN 500
            WHEN kind IN ('wind', 'solar') AND u3 < 0.5 THEN 110
            ELSE 220 END::float8,
       prov[1],
       round((prov[2]::numeric + (u2 * 100 - floor(u2 * 100) - 0.5) * 3)::numeric, 3)::float8,
       round((prov[3]::numeric + (u3 * 100 - floor(u3 * 100) - 0.5) * 2)::numeric, 3)::float8
  FROM p
 ORDER BY i
$$;

CREATE FUNCTION fluss_grid.create_grid_warehouse(schema name DEFAULT 'grid', stations integer DEFAULT 1400)
RETURNS void
LANGUAGE plpgsql
AS $fn$
DECLARE
    s text := quote_ident(schema);
    caller_path text := pg_catalog.current_setting('search_path');
BEGIN
    IF schema IS NULL OR stations IS NULL THEN
        RAISE EXCEPTION 'schema and stations must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF stations < 7 OR stations > 1000000 THEN
        RAISE EXCEPTION 'stations must be between 7 and 1000000' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = schema AND c.relname = 'ods_grid_realtime_raw') THEN
        RAISE EXCEPTION 'a grid warehouse already exists in schema "%"', schema
              USING ERRCODE = 'duplicate_object',
                    HINT = 'Use another schema, or drop this one first.';
    END IF;
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    IF NOT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = schema) THEN
        EXECUTE format('CREATE SCHEMA %s', s);
    END IF;

    -- dimensions ------------------------------------------------------
    EXECUTE format($ddl$
        CREATE TABLE %1$s.dim_region (
            region              text PRIMARY KEY,
            name_en             text NOT NULL,
            grid_company        text NOT NULL,
            time_zone           text NOT NULL DEFAULT 'Asia/Shanghai',
            nominal_frequency_hz double precision NOT NULL DEFAULT 50,
            frequency_limit_hz  double precision NOT NULL DEFAULT 0.2
                CHECK (frequency_limit_hz > 0),
            voltage_limit_pct   double precision NOT NULL DEFAULT 5
                CHECK (voltage_limit_pct > 0));
        COMMENT ON TABLE %1$s.dim_region IS 'Regional grids; frequency_limit_hz after GB/T 15945-2008, voltage_limit_pct (±, of nominal) after GB/T 12325-2008';
        INSERT INTO %1$s.dim_region (region, name_en, grid_company) VALUES
            ('华北', 'North China', 'State Grid'), ('华东', 'East China', 'State Grid'),
            ('华中', 'Central China', 'State Grid'), ('东北', 'Northeast China', 'State Grid'),
            ('西北', 'Northwest China', 'State Grid'), ('西南', 'Southwest China', 'State Grid'),
            ('华南', 'South China', 'China Southern Power Grid');

        CREATE TABLE %1$s.dim_station (
            station_id   integer PRIMARY KEY,
            station_name text,
            region       text NOT NULL REFERENCES %1$s.dim_region,
            kind         text NOT NULL CHECK (kind IN ('thermal', 'hydro', 'wind', 'solar', 'nuclear', 'substation')),
            capacity_mw  double precision NOT NULL CHECK (capacity_mw > 0),
            nominal_kv   double precision NOT NULL CHECK (nominal_kv > 0),
            province     text,
            longitude    double precision,
            latitude     double precision);
        INSERT INTO %1$s.dim_station SELECT * FROM fluss_grid.grid_default_stations(%2$s);

        CREATE TABLE %1$s.dim_tariff (
            region      text NOT NULL REFERENCES %1$s.dim_region,
            period      text NOT NULL CHECK (period IN ('sharp', 'peak', 'flat', 'valley')),
            start_hour  integer NOT NULL CHECK (start_hour BETWEEN 0 AND 23),
            end_hour    integer NOT NULL CHECK (end_hour BETWEEN 1 AND 24 AND end_hour > start_hour),
            price_yuan_per_mwh numeric NOT NULL CHECK (price_yuan_per_mwh >= 0),
            PRIMARY KEY (region, start_hour));
        COMMENT ON TABLE %1$s.dim_tariff IS 'Time-of-use periods by local hour [start_hour, end_hour) and prices per region';
        INSERT INTO %1$s.dim_tariff
        SELECT r.region, p.period, p.start_hour, p.end_hour, round(p.price * r.f)
          FROM (VALUES ('华北', 1.00), ('华东', 1.08), ('华中', 1.02), ('东北', 0.95),
                       ('西北', 0.85), ('西南', 0.90), ('华南', 1.05)) r (region, f),
               (VALUES ('valley', 0, 8, 310), ('peak', 8, 11, 1020), ('flat', 11, 17, 640),
                       ('peak', 17, 19, 1020), ('sharp', 19, 21, 1220), ('peak', 21, 22, 1020),
                       ('flat', 22, 24, 640)) p (period, start_hour, end_hour, price);

        CREATE TABLE %1$s.dim_generation_cost (
            kind text PRIMARY KEY CHECK (kind IN ('thermal', 'hydro', 'wind', 'solar', 'nuclear', 'substation')),
            cost_yuan_per_mwh numeric NOT NULL CHECK (cost_yuan_per_mwh >= 0));
        COMMENT ON TABLE %1$s.dim_generation_cost IS 'Variable cost of generating one MWh, by station kind';
        INSERT INTO %1$s.dim_generation_cost VALUES
            ('thermal', 380), ('hydro', 110), ('wind', 55), ('solar', 45), ('nuclear', 260), ('substation', 0);

        -- ODS -----------------------------------------------------------
        CREATE TABLE %1$s.ods_grid_realtime_raw (
            ingest_seq    bigint GENERATED BY DEFAULT AS IDENTITY,
            received_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
            station_id    integer NOT NULL,
            ts            timestamptz NOT NULL,
            load_mw       double precision,
            generation_mw double precision,
            frequency_hz  double precision,
            voltage_kv    double precision);
        COMMENT ON TABLE %1$s.ods_grid_realtime_raw IS 'ODS: every reading as received; ingest_seq orders the versions of one (station_id, ts)';
        CREATE INDEX ods_grid_realtime_raw_received ON %1$s.ods_grid_realtime_raw USING brin (received_at);
        -- the transform reads corrected keys (UPDATE, DELETE) back by their
        -- time range: a few block ranges instead of the whole ODS
        CREATE INDEX ods_grid_realtime_raw_ts ON %1$s.ods_grid_realtime_raw USING brin (ts)
            WITH (pages_per_range = 32);
    $ddl$, s, stations);

    -- DWD: one row per (station, ts), the newest ingest_seq, validated and
    -- enriched; rejected readings go to dwd_grid_quarantine with the reason
    PERFORM fluss_grid.create_transform(
        name    => format('%s.dwd_grid_measurement', s),
        source  => format('%s.ods_grid_realtime_raw', s)::regclass,
        key     => ARRAY['station_id', 'ts']::name[],
        version => 'ingest_seq',
        columns => ARRAY['st.region AS grid_region', 'st.kind AS station_kind',
                         'st.capacity_mw', 'st.nominal_kv', 'r.load_mw', 'r.generation_mw',
                         'r.frequency_hz', 'r.voltage_kv',
                         'abs(r.frequency_hz - rg.nominal_frequency_hz) <= rg.frequency_limit_hz AS frequency_ok',
                         'abs(r.voltage_kv / st.nominal_kv - 1) * 100 <= rg.voltage_limit_pct AS voltage_ok',
                         'r.received_at'],
        -- a station's region always exists (foreign key): the two
        -- dimensions are joined to each other, then once to the batch (a
        -- hash of 1400 rows per fold, not two index probes per reading)
        joins   => format('LEFT JOIN (%1$s.dim_station st JOIN %1$s.dim_region rg ON rg.region = st.region)'
                          ' ON st.station_id = r.station_id', s),
        reject  => $r$CASE
            WHEN st.station_id IS NULL THEN 'unknown station'
            WHEN r.load_mw IS NULL OR r.generation_mw IS NULL OR r.frequency_hz IS NULL OR r.voltage_kv IS NULL
                THEN 'missing value'
            WHEN NOT (r.load_mw > '-Infinity' AND r.load_mw < 'Infinity'
                      AND r.generation_mw > '-Infinity' AND r.generation_mw < 'Infinity'
                      AND r.frequency_hz > '-Infinity' AND r.frequency_hz < 'Infinity'
                      AND r.voltage_kv > '-Infinity' AND r.voltage_kv < 'Infinity')
                THEN 'NaN or infinite value'
            WHEN r.frequency_hz < 45 OR r.frequency_hz > 55 THEN 'frequency outside 45-55 Hz'
            WHEN r.load_mw < 0 THEN 'negative load'
            WHEN r.generation_mw < 0 THEN 'negative generation'
            WHEN r.generation_mw > st.capacity_mw * 1.1 THEN 'generation above 110% of capacity'
            WHEN r.voltage_kv <= 0 OR r.voltage_kv > st.nominal_kv * 1.5 THEN 'voltage out of range'
            WHEN r.ts > r.received_at + interval '5 minutes' THEN 'timestamp in the future'
        END$r$,
        quarantine => format('%s.dwd_grid_quarantine', s));

    -- what validation guarantees, declared: the rollups then match their
    -- groups by plain equality, through the whole of their unique index
    EXECUTE format('ALTER TABLE %1$s.dwd_grid_measurement ALTER grid_region SET NOT NULL,'
                   ' ALTER station_kind SET NOT NULL, ALTER capacity_mw SET NOT NULL,'
                   ' ALTER nominal_kv SET NOT NULL, ALTER load_mw SET NOT NULL,'
                   ' ALTER generation_mw SET NOT NULL, ALTER frequency_hz SET NOT NULL,'
                   ' ALTER voltage_kv SET NOT NULL, ALTER frequency_ok SET NOT NULL,'
                   ' ALTER voltage_ok SET NOT NULL', s);

    -- DWS: per station and minute / hour / local day, exact at every level
    PERFORM fluss_grid.create_rollup(
        name        => format('%s.dws_station_minutely', s),
        source      => format('%s.dwd_grid_measurement', s)::regclass,
        time_column => 'ts',
        bucket      => interval '1 minute',
        group_by    => ARRAY['grid_region', 'station_id', 'station_kind'],
        aggregates  => ARRAY['count(*) AS n_readings', 'avg(load_mw)', 'max(load_mw)', 'min(load_mw)',
                             'avg(generation_mw)', 'max(generation_mw)',
                             'avg(frequency_hz)', 'min(frequency_hz)', 'max(frequency_hz)',
                             'count(*) FILTER (WHERE frequency_ok) AS n_frequency_ok',
                             'avg(voltage_kv)', 'count(*) FILTER (WHERE voltage_ok) AS n_voltage_ok',
                             'last(load_mw)', 'last(generation_mw)', 'last(frequency_hz)', 'last(voltage_kv)'],
        time_zone   => 'Asia/Shanghai');
    PERFORM fluss_grid.create_rollup(
        name        => format('%s.dws_station_hourly', s),
        source      => format('%s.dws_station_minutely', s)::regclass,
        bucket      => interval '1 hour',
        aggregates  => ARRAY['n_readings', 'avg_load_mw', 'max_load_mw', 'min_load_mw',
                             'avg_generation_mw', 'max_generation_mw', 'avg_frequency_hz',
                             'min_frequency_hz', 'max_frequency_hz', 'n_frequency_ok',
                             'avg_voltage_kv', 'n_voltage_ok']);
    PERFORM fluss_grid.create_rollup(
        name        => format('%s.dws_station_daily', s),
        source      => format('%s.dws_station_hourly', s)::regclass,
        bucket      => interval '1 day');
    -- Room on each page for the next versions of its rows: a station's row
    -- of the current minute, hour and day is rewritten by every fold of its
    -- level, and with full pages each new version went to another page
    -- with a new index entry (half of the minutely updates, nearly all of
    -- the hourly and daily ones), so under a stream the tables grew by the
    -- size of every version written until a VACUUM.  With room, the
    -- updates are HOT and pruned in place (docs/WAREHOUSE.md, "Storage").
    EXECUTE format('ALTER TABLE %1$s.dws_station_minutely SET (fillfactor = 80);'
                   ' ALTER TABLE %1$s.dws_station_hourly SET (fillfactor = 50);'
                   ' ALTER TABLE %1$s.dws_station_daily SET (fillfactor = 50)', s);
    -- ODS arrivals per second of received_at (for ads_pipeline_health)
    PERFORM fluss_grid.create_rollup(
        name        => format('%s.ods_ingest_secondly', s),
        source      => format('%s.ods_grid_realtime_raw', s)::regclass,
        time_column => 'received_at',
        bucket      => interval '1 second',
        group_by    => ARRAY[]::text[],
        aggregates  => ARRAY['count(*) AS n_rows']);

    EXECUTE format($ddl$
        -- region totals: a region's load over a window is the sum over its
        -- stations of each station's mean reading in the window (MW)
        CREATE VIEW %1$s.dws_grid_operation_minutely AS
        SELECT m.grid_region,
               m.bucket AS time_window_start,
               sum(m.avg_load_mw) AS avg_load_mw,
               sum(m.max_load_mw) FILTER (WHERE m.station_kind = 'substation') AS max_substation_load_sum_mw,
               max(m.max_load_mw) AS max_station_load_mw,
               sum(m.avg_generation_mw) AS avg_generation_mw,
               sum(m.avg_frequency_hz * m.n_readings) / sum(m.n_readings) AS avg_frequency_hz,
               min(m.min_frequency_hz) AS min_frequency_hz,
               max(m.max_frequency_hz) AS max_frequency_hz,
               100.0 * sum(m.n_frequency_ok) / sum(m.n_readings) AS frequency_stability_pct,
               100.0 * sum(m.n_voltage_ok) / sum(m.n_readings) AS voltage_compliance_pct,
               CASE WHEN sum(m.avg_generation_mw) > 0
                    THEN 100.0 * sum(m.avg_load_mw) / sum(m.avg_generation_mw) END AS grid_efficiency_index,
               count(*) AS stations_reporting,
               sum(m.n_readings) AS readings
          FROM %1$s.dws_station_minutely m
         GROUP BY m.grid_region, m.bucket;

        CREATE VIEW %1$s.dws_grid_analysis_hourly AS
        WITH h AS (
            SELECT h.grid_region, h.bucket,
                   sum(h.avg_load_mw) AS avg_load_mw,
                   sum(h.avg_generation_mw) AS avg_generation_mw,
                   sum(h.n_readings) AS readings,
                   sum(h.n_frequency_ok) AS n_frequency_ok,
                   sum(h.avg_generation_mw * c.cost_yuan_per_mwh::float8) AS generation_cost_yuan_per_h
              FROM %1$s.dws_station_hourly h
              JOIN %1$s.dim_generation_cost c ON c.kind = h.station_kind
             GROUP BY h.grid_region, h.bucket),
        pk AS (
            SELECT DISTINCT ON (grid_region, date_trunc('hour', time_window_start))
                   grid_region, date_trunc('hour', time_window_start) AS hour,
                   avg_load_mw AS peak_load_mw, time_window_start AS peak_time
              FROM %1$s.dws_grid_operation_minutely
             ORDER BY grid_region, date_trunc('hour', time_window_start), avg_load_mw DESC, time_window_start)
        SELECT h.grid_region,
               h.bucket AS analysis_hour,
               h.avg_load_mw,
               h.avg_load_mw * 1.0 AS energy_mwh,
               h.avg_generation_mw * 1.0 AS generation_mwh,
               pk.peak_load_mw,
               pk.peak_time,
               t.period AS energy_consumption_pattern,
               t.price_yuan_per_mwh,
               h.avg_load_mw * t.price_yuan_per_mwh::float8 AS sales_value_yuan,
               h.generation_cost_yuan_per_h AS operational_cost_yuan,
               h.avg_load_mw * t.price_yuan_per_mwh::float8 - h.generation_cost_yuan_per_h AS total_economic_benefit,
               100.0 * h.n_frequency_ok / h.readings AS frequency_compliance_pct,
               h.readings
          FROM h
          JOIN %1$s.dim_region rg ON rg.region = h.grid_region
          LEFT JOIN %1$s.dim_tariff t
            ON t.region = h.grid_region
           AND extract(hour FROM h.bucket AT TIME ZONE rg.time_zone) >= t.start_hour
           AND extract(hour FROM h.bucket AT TIME ZONE rg.time_zone) < t.end_hour
          LEFT JOIN pk ON pk.grid_region = h.grid_region AND pk.hour = h.bucket;

        CREATE VIEW %1$s.dws_grid_daily AS
        WITH d AS (
            SELECT d.grid_region, d.bucket,
                   sum(d.avg_load_mw) AS avg_load_mw,
                   sum(d.avg_generation_mw) AS avg_generation_mw,
                   sum(d.n_readings) AS readings,
                   sum(d.n_frequency_ok) AS n_frequency_ok,
                   sum(d.n_voltage_ok) AS n_voltage_ok
              FROM %1$s.dws_station_daily d
             GROUP BY d.grid_region, d.bucket),
        h AS (
            SELECT grid_region, date_trunc('day', analysis_hour, 'Asia/Shanghai') AS day,
                   max(avg_load_mw) AS peak_hour_load_mw, min(avg_load_mw) AS valley_hour_load_mw,
                   sum(energy_mwh) AS energy_mwh, sum(generation_mwh) AS generation_mwh,
                   count(*) AS hours
              FROM %1$s.dws_grid_analysis_hourly
             GROUP BY 1, 2)
        SELECT d.grid_region,
               (d.bucket AT TIME ZONE 'Asia/Shanghai')::date AS local_day,
               h.energy_mwh,
               h.generation_mwh,
               d.avg_load_mw,
               h.peak_hour_load_mw,
               h.valley_hour_load_mw,
               d.avg_load_mw / nullif(h.peak_hour_load_mw, 0) AS load_factor,
               (h.peak_hour_load_mw - h.valley_hour_load_mw) / nullif(h.peak_hour_load_mw, 0) AS peak_valley_rate,
               100.0 * d.n_frequency_ok / d.readings AS frequency_compliance_pct,
               100.0 * d.n_voltage_ok / d.readings AS voltage_compliance_pct,
               h.hours AS hours_with_data,
               d.readings
          FROM d JOIN h ON h.grid_region = d.grid_region AND h.day = d.bucket;

        -- ADS: one view per panel of the big screen.  "Current" is each
        -- station's newest minute among the last two minutes of data.
        CREATE VIEW %1$s.ads_station_current AS
        SELECT c.*, h.avg_generation_mw AS hour_avg_generation_mw
          FROM (SELECT DISTINCT ON (m.station_id)
                       m.grid_region, m.station_id, m.station_kind, m.bucket,
                       m.last_load_mw, m.last_generation_mw, m.last_frequency_hz, m.last_voltage_kv,
                       m.n_readings, m.n_frequency_ok, m.n_voltage_ok
                  FROM %1$s.dws_station_minutely m
                 -- equality with the two newest minutes: an index scan whatever the planner
                 -- guesses about a run-time value (a range on it would be guessed at a third)
                 WHERE m.bucket = ANY (ARRAY[(SELECT max(bucket) FROM %1$s.dws_station_minutely),
                                             (SELECT max(bucket) FROM %1$s.dws_station_minutely) - interval '1 minute'])
                 ORDER BY m.station_id, m.bucket DESC) c
          LEFT JOIN %1$s.dws_station_hourly h
            ON h.bucket = date_trunc('hour', c.bucket, 'Asia/Shanghai')
           -- (the same, as equalities the hourly index can serve)
           AND h.bucket = ANY (ARRAY[date_trunc('hour', (SELECT max(bucket) FROM %1$s.dws_station_minutely), 'Asia/Shanghai'),
                                     date_trunc('hour', (SELECT max(bucket) FROM %1$s.dws_station_minutely) - interval '1 minute', 'Asia/Shanghai')])
           AND h.grid_region = c.grid_region AND h.station_id = c.station_id
           AND h.station_kind = c.station_kind;

        CREATE VIEW %1$s.ads_region_load AS
        SELECT c.grid_region,
               sum(c.last_load_mw) AS load_mw,
               sum(c.last_generation_mw) AS generation_mw,
               100.0 * sum(c.last_load_mw) / nullif(sum(s.capacity_mw) FILTER (WHERE s.kind = 'substation'), 0)
                   AS load_pct_of_capacity,
               100.0 * sum(c.last_generation_mw) / nullif(sum(s.capacity_mw) FILTER (WHERE s.kind <> 'substation'), 0)
                   AS generation_pct_of_capacity,
               count(*) AS stations_reporting,
               max(c.bucket) AS minute
          FROM %1$s.ads_station_current c
          JOIN %1$s.dim_station s ON s.station_id = c.station_id
         GROUP BY c.grid_region;

        CREATE VIEW %1$s.ads_grid_overview AS
        SELECT sum(c.last_load_mw) AS national_load_mw,
               sum(c.last_generation_mw) AS national_generation_mw,
               sum(c.last_frequency_hz * c.n_readings) / sum(c.n_readings) AS frequency_hz,
               100.0 * sum(c.n_voltage_ok) / sum(c.n_readings) AS voltage_stability_pct,
               100.0 * sum(c.n_frequency_ok) / sum(c.n_readings) AS frequency_stability_pct,
               count(*) AS stations_reporting,
               max(c.bucket) AS minute
          FROM %1$s.ads_station_current c;

        CREATE VIEW %1$s.ads_dashboard_realtime AS
        SELECT c.grid_region,
               sum(c.last_load_mw) AS current_load_mw,
               sum(c.last_generation_mw) AS current_generation_mw,
               sum(c.last_frequency_hz * c.n_readings) / sum(c.n_readings) AS grid_frequency_hz,
               CASE
                   WHEN count(*) FILTER (WHERE c.station_kind IN ('thermal', 'nuclear')
                                           AND c.last_generation_mw = 0 AND c.hour_avg_generation_mw > 0) > 0
                       THEN format('inspect %%s tripped unit(s)',
                                   count(*) FILTER (WHERE c.station_kind IN ('thermal', 'nuclear')
                                                      AND c.last_generation_mw = 0
                                                      AND c.hour_avg_generation_mw > 0))
                   WHEN 100.0 * sum(c.n_frequency_ok) / sum(c.n_readings) < 99
                       THEN 'frequency outside limits: review AGC and reserves'
                   WHEN 100.0 * sum(c.n_voltage_ok) / sum(c.n_readings) < 95
                       THEN 'voltage outside limits: check reactive compensation'
                   ELSE 'normal'
               END AS maintenance_recommendation,
               max(c.bucket) AS update_time
          FROM %1$s.ads_station_current c
         GROUP BY c.grid_region;

        CREATE VIEW %1$s.ads_pipeline_health AS
        SELECT (SELECT coalesce(sum(n_rows), 0) / 60.0 FROM %1$s.ods_ingest_secondly
                 WHERE bucket >= now() - interval '60 seconds') AS ods_rows_per_second,
               (SELECT coalesce(sum(n_rows), 0) FROM %1$s.ods_ingest_secondly) AS ods_rows,
               (SELECT coalesce(sum(n_readings), 0) FROM %1$s.dws_station_daily) AS dwd_rows,
               (SELECT count(*) FROM %1$s.dwd_grid_quarantine) AS quarantined_rows,
               (SELECT max(lag) FROM fluss_grid.transforms
                 WHERE name = '%1$s.dwd_grid_measurement'::regclass) AS dwd_lag,
               (SELECT max(lag) FROM fluss_grid.rollups
                 WHERE source = '%1$s.dwd_grid_measurement'::regclass) AS dws_minutely_lag,
               (SELECT max(lag) FROM fluss_grid.rollups
                 WHERE name IN ('%1$s.dws_station_hourly'::regclass, '%1$s.dws_station_daily'::regclass)) AS dws_hourly_daily_lag,
               (SELECT max(last_fold) FROM fluss_grid.rollups
                 WHERE name = '%1$s.dws_station_minutely'::regclass) AS last_fold;
    $ddl$, s);

    PERFORM pg_catalog.set_config('search_path', caller_path, true);
END;
$fn$;

CREATE FUNCTION fluss_grid.drop_grid_warehouse(schema name)
RETURNS void
LANGUAGE plpgsql
AS $fn$
DECLARE
    s text := quote_ident(schema);
    caller_path text := pg_catalog.current_setting('search_path');
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = schema) THEN
        RAISE EXCEPTION 'schema "%" does not exist', schema USING ERRCODE = 'invalid_schema_name';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM fluss_grid.transform t
                    WHERE t.target_rel = pg_catalog.to_regclass(format('%s.dwd_grid_measurement', s))) THEN
        RAISE EXCEPTION 'schema "%" holds no grid warehouse', schema
              USING ERRCODE = 'undefined_object',
                    HINT = 'Create one with fluss_grid.create_grid_warehouse().';
    END IF;
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    EXECUTE format('DROP VIEW %1$s.ads_pipeline_health, %1$s.ads_dashboard_realtime, %1$s.ads_grid_overview,'
                   ' %1$s.ads_region_load, %1$s.ads_station_current, %1$s.dws_grid_daily,'
                   ' %1$s.dws_grid_analysis_hourly, %1$s.dws_grid_operation_minutely', s);
    PERFORM fluss_grid.drop_rollup(format('%s.ods_ingest_secondly', s)::regclass);
    PERFORM fluss_grid.drop_transform(format('%s.dwd_grid_measurement', s)::regclass, cascade => true);
    EXECUTE format('DROP TABLE %1$s.ods_grid_realtime_raw, %1$s.dim_tariff, %1$s.dim_generation_cost,'
                   ' %1$s.dim_station, %1$s.dim_region', s);
    PERFORM pg_catalog.set_config('search_path', caller_path, true);
END;
$fn$;

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
REVOKE ALL ON FUNCTION fluss_grid.transform_forget(integer) FROM PUBLIC;

-- Follows ATTACH / DETACH PARTITION, CREATE TABLE ... PARTITION OF and
-- column renames on rollup sources, and refuses renames, moves, ALTERs and
-- DROPs that would break a transform's stored statements (src/changelog.c,
-- src/transform.c).  It reads the
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
    -- a transform whose source, target or quarantine is dropped ends; the
    -- tables that survive stay as plain tables
    FOR rid IN
        SELECT t.id FROM fluss_grid.transform t
         WHERE EXISTS (SELECT 1 FROM pg_event_trigger_dropped_objects() o
                        WHERE o.classid = 'pg_class'::regclass AND o.objsubid = 0
                          AND o.objid IN (t.target_rel::oid, t.source_rel::oid,
                                          t.quarantine_rel::oid))
    LOOP
        PERFORM fluss_grid.transform_forget(rid);
    END LOOP;
END;
$$;

CREATE EVENT TRIGGER fluss_grid_ddl_command_end ON ddl_command_end
    WHEN TAG IN ('CREATE TABLE', 'ALTER TABLE', 'ALTER SCHEMA', 'ALTER VIEW',
                 'DROP TABLE', 'DROP VIEW', 'DROP SCHEMA')
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
    encoding     smallint NOT NULL,   -- 0 plain, 1 delta, 2 byte planes,
                                      -- 3 decimal, 4 decimal+delta
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

-- row numbers reserved for rows not yet in a row group, recorded (by the
-- reserving transaction: MVCC) for relations with a unique index, so that
-- a unique check of another transaction knows whom to wait for
CREATE TABLE fluss_grid.columnar_reserved (
    storage_id   bigint  NOT NULL,
    first_row    bigint  NOT NULL,
    row_count    bigint  NOT NULL,
    PRIMARY KEY (storage_id, first_row)
);

-- pages of row groups VACUUM superseded (compacted into new row groups, or
-- every row deleted), inserted by the superseding transaction: the old row
-- group stays readable for the snapshots that do not see that transaction,
-- so its index entries (row numbers first_row ... first_row + row_count - 1)
-- and pages are freed only when the row's xmin is older than every
-- snapshot; indexes_clean: a later VACUUM removed those index entries, and
-- a writer may take the pages (deleting the row in its transaction, and
-- recording what it leaves of them as a row with the same first_row)
CREATE TABLE fluss_grid.columnar_free_extent (
    storage_id     bigint  NOT NULL,
    first_row      bigint  NOT NULL,
    row_count      integer NOT NULL,
    first_block    bigint  NOT NULL,
    nblocks        bigint  NOT NULL,
    indexes_clean  boolean NOT NULL,
    PRIMARY KEY (storage_id, first_row, first_block)
);

-- per-relation options, dumped by pg_dump
CREATE TABLE fluss_grid.columnar_options (
    relid              regclass PRIMARY KEY,
    compression_level  integer NOT NULL,
    row_group_rows     integer NOT NULL
);
SELECT pg_catalog.pg_extension_config_dump('fluss_grid.columnar_options', '');

GRANT SELECT ON fluss_grid.columnar_row_group, fluss_grid.columnar_chunk,
                fluss_grid.columnar_deleted, fluss_grid.columnar_reserved,
                fluss_grid.columnar_free_extent,
                fluss_grid.columnar_options TO PUBLIC;

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
                                               WHEN 2 THEN 'byte planes'
                                               WHEN 3 THEN 'decimal'
                                               WHEN 4 THEN 'decimal+delta' END
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
