BEGIN;
SELECT plan(188);

-- The API contract of fluss_grid (issue 2): names, signatures, result
-- types, strictness, volatility, security and privileges of the SQL
-- interface, then its behaviour in this one transaction, which is rolled
-- back at the end.  Run by scripts/test.sh with pg_prove against a cluster
-- that preloads fluss_grid; the database has pgTAP, and fluss_grid is
-- created here when it is not there yet.

SET LOCAL client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS fluss_grid;
SET LOCAL TimeZone = 'UTC';

-- ---------------------------------------------------------------------
-- Objects
-- ---------------------------------------------------------------------
SELECT has_extension('fluss_grid', 'extension fluss_grid is installed');
SELECT has_schema('fluss_grid', 'schema fluss_grid exists');
-- (the control file names no schema: the script creates fluss_grid itself
-- so that the schema is a member; every object lives in it)
SELECT is_empty(
    $$SELECT pg_describe_object(d.classid, d.objid, 0) FROM pg_depend d
        JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'fluss_grid'
        LEFT JOIN pg_proc p ON d.classid = 'pg_proc'::regclass AND p.oid = d.objid
        LEFT JOIN pg_class c ON d.classid = 'pg_class'::regclass AND c.oid = d.objid
       WHERE d.deptype = 'e'
         AND coalesce(p.pronamespace, c.relnamespace) <> 'fluss_grid'::regnamespace$$,
    'every function, table and view of the extension lives in schema fluss_grid');
SELECT ok((SELECT NOT extrelocatable FROM pg_extension WHERE extname = 'fluss_grid'),
          'the extension is not relocatable');
SELECT ok(EXISTS (SELECT 1 FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
                   WHERE d.classid = 'pg_namespace'::regclass
                     AND d.objid = 'fluss_grid'::regnamespace AND d.deptype = 'e'
                     AND e.extname = 'fluss_grid'),
          'schema fluss_grid is a member of the extension');

SELECT has_table('fluss_grid', 'rollup', 'catalog table fluss_grid.rollup exists');
-- (its full column list is internal and may grow; the columns the
-- rollups view and pg_dump rely on are checked)
SELECT col_type_is('fluss_grid', 'rollup', 'rollup_rel', 'regclass', 'rollup.rollup_rel is a regclass');
SELECT col_type_is('fluss_grid', 'rollup', 'source_rel', 'regclass', 'rollup.source_rel is a regclass');
SELECT col_type_is('fluss_grid', 'rollup', 'bucket', 'interval', 'rollup.bucket is an interval');
SELECT col_is_pk('fluss_grid', 'rollup', 'id', 'rollup.id is the primary key');
SELECT has_sequence('fluss_grid', 'rollup_id_seq', 'sequence fluss_grid.rollup_id_seq exists');
SELECT set_eq(
    $$SELECT cfg::regclass::text FROM pg_extension, unnest(extconfig) AS u(cfg)
       WHERE extname = 'fluss_grid'$$,
    ARRAY['fluss_grid.rollup', 'fluss_grid.rollup_id_seq', 'fluss_grid.transform', 'fluss_grid.columnar_options'],
    'pg_dump dumps the catalogs of rollups and transforms, the id sequence and the columnar options (extension configuration)');

SELECT has_view('fluss_grid', 'rollups', 'view fluss_grid.rollups exists');
SELECT columns_are('fluss_grid', 'rollups',
    ARRAY['name', 'source', 'bucket', 'time_zone', 'group_by', 'aggregates',
          'pending_changes', 'last_fold', 'lag', 'folds', 'folds_in_c', 'recomputed_groups', 'last_error', 'last_error_at'],
    'fluss_grid.rollups has the documented columns');
SELECT col_type_is('fluss_grid', 'rollups', 'name', 'regclass', 'rollups.name is a regclass');
SELECT col_type_is('fluss_grid', 'rollups', 'pending_changes', 'bigint', 'rollups.pending_changes is a bigint');
SELECT col_type_is('fluss_grid', 'rollups', 'lag', 'interval', 'rollups.lag is an interval');
SELECT col_type_is('fluss_grid', 'rollups', 'last_error', 'text', 'rollups.last_error is text');

-- ---------------------------------------------------------------------
-- Functions: signatures and result types
-- ---------------------------------------------------------------------
SELECT has_function('fluss_grid', 'create_rollup',
    ARRAY['text', 'regclass', 'name', 'interval', 'text[]', 'text[]', 'text'],
    'create_rollup(text, regclass, name, interval, text[], text[], text) exists');
SELECT has_function('fluss_grid', 'drop_rollup', ARRAY['regclass', 'boolean'],
    'drop_rollup(regclass, boolean) exists');
SELECT has_function('fluss_grid', 'refresh_rollup',
    ARRAY['regclass', 'timestamp with time zone', 'timestamp with time zone'],
    'refresh_rollup(regclass, timestamptz, timestamptz) exists');
SELECT has_function('fluss_grid', 'wait_for_rollups', ARRAY['interval'],
    'wait_for_rollups(interval) exists');
SELECT has_function('fluss_grid', 'fold_now', ARRAY[]::name[], 'fold_now() exists');
SELECT has_function('fluss_grid', 'start_worker', ARRAY[]::name[], 'start_worker() exists');
SELECT has_function('fluss_grid', 'workers', ARRAY[]::name[], 'workers() exists');
SELECT has_function('fluss_grid', 'time_bucket', ARRAY['interval', 'timestamp with time zone', 'text'],
    'time_bucket(interval, timestamptz, text) exists');
SELECT function_returns('fluss_grid', 'time_bucket', ARRAY['interval', 'timestamp with time zone', 'text'],
    'timestamp with time zone', 'time_bucket returns timestamptz');
SELECT volatility_is('fluss_grid', 'time_bucket', ARRAY['interval', 'timestamp with time zone', 'text'],
    'immutable', 'time_bucket is immutable (usable in indexes and generated columns)');
SELECT is_strict('fluss_grid', 'time_bucket', ARRAY['interval', 'timestamp with time zone', 'text'],
    'time_bucket is strict');
SELECT is((SELECT enumvals FROM pg_settings WHERE name = 'fluss_grid.capture_method'),
          ARRAY['c', 'sql'], 'GUC fluss_grid.capture_method takes c or sql');

SELECT function_returns('fluss_grid', 'create_rollup',
    ARRAY['text', 'regclass', 'name', 'interval', 'text[]', 'text[]', 'text'], 'regclass',
    'create_rollup returns the rollup''s regclass');
SELECT function_returns('fluss_grid', 'drop_rollup', ARRAY['regclass', 'boolean'], 'void',
    'drop_rollup returns void');
SELECT function_returns('fluss_grid', 'refresh_rollup',
    ARRAY['regclass', 'timestamp with time zone', 'timestamp with time zone'], 'bigint',
    'refresh_rollup returns the number of rows it wrote');
SELECT function_returns('fluss_grid', 'wait_for_rollups', ARRAY['interval'], 'boolean',
    'wait_for_rollups returns boolean');
SELECT function_returns('fluss_grid', 'fold_now', ARRAY[]::name[], 'bigint',
    'fold_now returns bigint');
SELECT function_returns('fluss_grid', 'start_worker', ARRAY[]::name[], 'boolean',
    'start_worker returns boolean');
SELECT function_returns('fluss_grid', 'workers', ARRAY[]::name[], 'setof record',
    'workers returns a set of records');
SELECT function_returns('fluss_grid', 'capture', ARRAY[]::name[], 'trigger',
    'capture is a trigger function');
SELECT function_returns('fluss_grid', 'on_ddl_command_end', ARRAY[]::name[], 'event_trigger',
    'on_ddl_command_end is an event trigger function');
SELECT function_returns('fluss_grid', 'on_sql_drop', ARRAY[]::name[], 'event_trigger',
    'on_sql_drop is an event trigger function');

-- argument names and defaults, as the issue's named-argument calls use them
SELECT is((SELECT proargnames FROM pg_proc
            WHERE oid = 'fluss_grid.create_rollup(text, regclass, name, interval, text[], text[], text)'::regprocedure),
          ARRAY['name', 'source', 'time_column', 'bucket', 'group_by', 'aggregates', 'time_zone'],
          'create_rollup argument names');
SELECT is((SELECT pronargdefaults::int FROM pg_proc
            WHERE oid = 'fluss_grid.create_rollup(text, regclass, name, interval, text[], text[], text)'::regprocedure),
          5, 'create_rollup: everything after name and source has a default');
SELECT is((SELECT proargnames FROM pg_proc
            WHERE oid = 'fluss_grid.drop_rollup(regclass, boolean)'::regprocedure),
          ARRAY['rollup', 'cascade'], 'drop_rollup argument names');
SELECT is((SELECT proargnames FROM pg_proc
            WHERE oid = 'fluss_grid.refresh_rollup(regclass, timestamptz, timestamptz)'::regprocedure),
          ARRAY['rollup', 'from_ts', 'to_ts'], 'refresh_rollup argument names');
SELECT is((SELECT proargnames FROM pg_proc
            WHERE oid = 'fluss_grid.wait_for_rollups(interval)'::regprocedure),
          ARRAY['timeout'], 'wait_for_rollups argument name');
SELECT is((SELECT pg_get_expr(proargdefaults, 0) FROM pg_proc
            WHERE oid = 'fluss_grid.wait_for_rollups(interval)'::regprocedure),
          '''00:00:30''::interval', 'wait_for_rollups waits 30 seconds by default');

-- ---------------------------------------------------------------------
-- Strictness, volatility, language
-- ---------------------------------------------------------------------
-- The API functions are CALLED ON NULL INPUT: they report a NULL argument
-- with SQLSTATE 22004 instead of silently returning NULL.
SELECT isnt_strict('fluss_grid', 'create_rollup',
    ARRAY['text', 'regclass', 'name', 'interval', 'text[]', 'text[]', 'text'],
    'create_rollup is not STRICT (NULL arguments are errors, not NULL results)');
SELECT isnt_strict('fluss_grid', 'drop_rollup', ARRAY['regclass', 'boolean'],
    'drop_rollup is not STRICT');
SELECT isnt_strict('fluss_grid', 'refresh_rollup',
    ARRAY['regclass', 'timestamp with time zone', 'timestamp with time zone'],
    'refresh_rollup is not STRICT (NULL bounds mean open ranges)');
SELECT isnt_strict('fluss_grid', 'wait_for_rollups', ARRAY['interval'],
    'wait_for_rollups is not STRICT');
SELECT is_strict('fluss_grid', 'changelog_stats', ARRAY['integer'],
    'changelog_stats is STRICT');

SELECT volatility_is('fluss_grid', 'create_rollup',
    ARRAY['text', 'regclass', 'name', 'interval', 'text[]', 'text[]', 'text'], 'volatile',
    'create_rollup is VOLATILE');
SELECT volatility_is('fluss_grid', 'drop_rollup', ARRAY['regclass', 'boolean'], 'volatile',
    'drop_rollup is VOLATILE');
SELECT volatility_is('fluss_grid', 'refresh_rollup',
    ARRAY['regclass', 'timestamp with time zone', 'timestamp with time zone'], 'volatile',
    'refresh_rollup is VOLATILE');
SELECT volatility_is('fluss_grid', 'wait_for_rollups', ARRAY['interval'], 'volatile',
    'wait_for_rollups is VOLATILE');
SELECT volatility_is('fluss_grid', 'fold_now', ARRAY[]::name[], 'volatile',
    'fold_now is VOLATILE');
SELECT volatility_is('fluss_grid', 'workers', ARRAY[]::name[], 'volatile',
    'workers is VOLATILE (reads shared memory)');
-- the partial-state helpers of float moments are pure functions
SELECT is_empty(
    $$SELECT p.oid::regprocedure::text FROM pg_proc p
       WHERE p.pronamespace = 'fluss_grid'::regnamespace AND p.proname LIKE 'mom\_%'
         AND p.prokind = 'f' AND NOT (p.provolatile = 'i' AND p.proisstrict AND p.proparallel = 's')$$,
    'mom_* support functions are IMMUTABLE STRICT PARALLEL SAFE');
-- top-k lists of min/max: pure functions too; topk_text is how a person
-- reads a _fg_<i>_k state column
SELECT is_empty(
    $$SELECT p.oid::regprocedure::text FROM pg_proc p
       WHERE p.pronamespace = 'fluss_grid'::regnamespace AND p.proname LIKE 'topk%'
         AND p.prokind = 'f' AND NOT (p.provolatile = 'i' AND p.proparallel = 's')$$,
    'topk* support functions are IMMUTABLE PARALLEL SAFE');
SELECT function_returns('fluss_grid', 'topk_text', ARRAY['bytea'], 'text',
    'topk_text(bytea) returns text');
SELECT function_returns('fluss_grid', 'topk_apply', ARRAY['bytea', 'bytea', 'bytea'], 'bytea',
    'topk_apply(state, inserted, deleted) returns bytea');
SELECT is(fluss_grid.topk_text(fluss_grid.topk_apply(
            (SELECT fluss_grid.topk(x, true) FROM generate_series(1, 10) x), NULL,
            (SELECT fluss_grid.topk(x, true) FROM generate_series(9, 10) x))),
          'max {8 x1, 7 x1, 6 x1, 5 x1, 4 x1, 3 x1} truncated',
          'retracting the two largest of ten values promotes the third');
SELECT function_lang_is('fluss_grid', 'create_rollup',
    ARRAY['text', 'regclass', 'name', 'interval', 'text[]', 'text[]', 'text'], 'c',
    'create_rollup is written in C');
SELECT function_lang_is('fluss_grid', 'capture', ARRAY[]::name[], 'c',
    'the capture trigger function is written in C');

-- ---------------------------------------------------------------------
-- Security: invoker's rights for the API, definer's rights (pinned
-- search_path) only for the event-trigger functions
-- ---------------------------------------------------------------------
SELECT isnt_definer('fluss_grid', 'create_rollup',
    ARRAY['text', 'regclass', 'name', 'interval', 'text[]', 'text[]', 'text'],
    'create_rollup is SECURITY INVOKER');
SELECT isnt_definer('fluss_grid', 'drop_rollup', ARRAY['regclass', 'boolean'],
    'drop_rollup is SECURITY INVOKER');
SELECT isnt_definer('fluss_grid', 'refresh_rollup',
    ARRAY['regclass', 'timestamp with time zone', 'timestamp with time zone'],
    'refresh_rollup is SECURITY INVOKER');
SELECT isnt_definer('fluss_grid', 'wait_for_rollups', ARRAY['interval'],
    'wait_for_rollups is SECURITY INVOKER');
SELECT isnt_definer('fluss_grid', 'fold_now', ARRAY[]::name[],
    'fold_now is SECURITY INVOKER');
SELECT isnt_definer('fluss_grid', 'start_worker', ARRAY[]::name[],
    'start_worker is SECURITY INVOKER');
SELECT is_empty(
    $$SELECT p.oid::regprocedure::text FROM pg_proc p
       WHERE p.pronamespace = 'fluss_grid'::regnamespace AND p.prosecdef
         AND p.prorettype <> 'event_trigger'::regtype$$,
    'no function of fluss_grid but the event-trigger functions is SECURITY DEFINER');
SELECT is_definer('fluss_grid', 'on_sql_drop', ARRAY[]::name[],
    'on_sql_drop is SECURITY DEFINER');
SELECT is((SELECT proconfig FROM pg_proc WHERE oid = 'fluss_grid.on_sql_drop()'::regprocedure),
          ARRAY['search_path=pg_catalog, pg_temp'],
          'on_sql_drop pins search_path to pg_catalog, pg_temp');
-- An event-trigger function runs for whoever issues the DDL (any role that
-- may ALTER a source).  One written in SQL or PL/pgSQL must be SECURITY
-- DEFINER with a pinned search_path, or a role could capture its
-- unqualified names; one written in C switches to the extension owner and
-- pins search_path itself (src/changelog.c), and needs neither.
SELECT is_empty(
    $$SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
       WHERE p.pronamespace = 'fluss_grid'::regnamespace
         AND p.prorettype = 'event_trigger'::regtype
         AND l.lanname <> 'c'
         AND NOT (p.prosecdef AND p.proconfig @> ARRAY['search_path=pg_catalog, pg_temp'])$$,
    'every event-trigger function not written in C is SECURITY DEFINER with search_path = pg_catalog, pg_temp');
SELECT is_empty(
    $$SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
       WHERE p.pronamespace = 'fluss_grid'::regnamespace AND p.proconfig IS NOT NULL
         AND NOT p.proconfig @> ARRAY['search_path=pg_catalog, pg_temp']$$,
    'no function of fluss_grid sets a search_path other than pg_catalog, pg_temp');
SELECT set_eq(
    $$SELECT evtname::text, evtevent::text, evtfoid::regproc::text, evtenabled::text
        FROM pg_event_trigger WHERE evtname LIKE 'fluss\_grid\_%'$$,
    $$VALUES ('fluss_grid_ddl_command_end', 'ddl_command_end', 'fluss_grid.on_ddl_command_end', 'O'),
             ('fluss_grid_sql_drop', 'sql_drop', 'fluss_grid.on_sql_drop', 'O')$$,
    'the two event triggers are installed and enabled');

-- ---------------------------------------------------------------------
-- Privileges
-- ---------------------------------------------------------------------
CREATE ROLE fg_tap_other NOLOGIN;

SELECT function_privs_are('fluss_grid', 'fold_now', ARRAY[]::name[], 'public', ARRAY[]::name[],
    'fold_now is revoked from PUBLIC');
SELECT function_privs_are('fluss_grid', 'fold_now', ARRAY[]::name[], 'fg_tap_other', ARRAY[]::name[],
    'an ordinary role cannot execute fold_now');
SELECT function_privs_are('fluss_grid', 'reconcile_capture', ARRAY['integer'], 'public', ARRAY[]::name[],
    'reconcile_capture is revoked from PUBLIC');
SELECT function_privs_are('fluss_grid', 'forget_rollup', ARRAY['integer'], 'public', ARRAY[]::name[],
    'forget_rollup is revoked from PUBLIC');
SELECT function_privs_are('fluss_grid', 'check_source', ARRAY['integer'], 'public', ARRAY[]::name[],
    'check_source is revoked from PUBLIC');
SELECT function_privs_are('fluss_grid', 'create_rollup',
    ARRAY['text', 'regclass', 'name', 'interval', 'text[]', 'text[]', 'text'], 'public', ARRAY['EXECUTE'],
    'PUBLIC may execute create_rollup');
SELECT function_privs_are('fluss_grid', 'drop_rollup', ARRAY['regclass', 'boolean'], 'public', ARRAY['EXECUTE'],
    'PUBLIC may execute drop_rollup');
SELECT function_privs_are('fluss_grid', 'refresh_rollup',
    ARRAY['regclass', 'timestamp with time zone', 'timestamp with time zone'], 'public', ARRAY['EXECUTE'],
    'PUBLIC may execute refresh_rollup');
SELECT function_privs_are('fluss_grid', 'wait_for_rollups', ARRAY['interval'], 'public', ARRAY['EXECUTE'],
    'PUBLIC may execute wait_for_rollups');
SELECT schema_privs_are('fluss_grid', 'public', ARRAY['USAGE'],
    'PUBLIC has USAGE (and not CREATE) on schema fluss_grid');
SELECT table_privs_are('fluss_grid', 'rollup', 'public', ARRAY['SELECT'],
    'PUBLIC may only read fluss_grid.rollup');
SELECT table_privs_are('fluss_grid', 'rollups', 'public', ARRAY['SELECT'],
    'PUBLIC may read fluss_grid.rollups');

-- ---------------------------------------------------------------------
-- Behaviour, in this transaction
-- ---------------------------------------------------------------------
CREATE TABLE public.tap_src (
    ts     timestamptz,
    region text NOT NULL,
    v      float8,
    i      int,
    label  text
);
-- three hours, 4 regions, every 20 s; halves so that float sums are exact
INSERT INTO public.tap_src
SELECT '2026-11-26 00:00:00+00'::timestamptz + g * interval '20 seconds',
       'r' || (g % 4), (g % 9) + 0.5, g % 13, 'x'
  FROM generate_series(0, 539) g;
INSERT INTO public.tap_src VALUES (NULL, 'r0', 1, 1, 'no time: no bucket');

CREATE TEMP VIEW tap_ref_minutely AS
SELECT date_bin('1 minute', ts AT TIME ZONE 'UTC', '2000-01-03') AT TIME ZONE 'UTC' AS bucket,
       region, count(*) AS n, sum(v) AS sum_v, avg(v) AS avg_v, min(i) AS min_i, max(i) AS max_i
  FROM public.tap_src WHERE ts IS NOT NULL GROUP BY 1, 2;
CREATE TEMP VIEW tap_ref_hourly AS
SELECT date_bin('1 hour', ts AT TIME ZONE 'UTC', '2000-01-03') AT TIME ZONE 'UTC' AS bucket,
       region, count(*) AS n, sum(v) AS sum_v, avg(v) AS avg_v, min(i) AS min_i, max(i) AS max_i
  FROM public.tap_src WHERE ts IS NOT NULL GROUP BY 1, 2;

SELECT is(
    fluss_grid.create_rollup(
        name        => 'tap_minutely',
        source      => 'public.tap_src',
        time_column => 'ts',
        bucket      => interval '1 minute',
        group_by    => ARRAY['region'],
        aggregates  => ARRAY['count(*) AS n', 'sum(v)', 'avg(v)', 'min(i)', 'max(i)'])::text,
    'tap_minutely', 'create_rollup returns the new rollup');
SELECT is(
    fluss_grid.create_rollup(name => 'tap_hourly', source => 'tap_minutely',
                             bucket => interval '1 hour')::text,
    'tap_hourly', 'create_rollup on a rollup returns the new rollup');

SELECT has_table('public', 'tap_minutely', 'the rollup is a table in current_schema()');
SELECT has_view('public', 'tap_minutely_realtime', 'the rollup comes with a _realtime view');
SELECT columns_are('public', 'tap_minutely_realtime',
    ARRAY['bucket', 'region', 'n', 'sum_v', 'avg_v', 'min_i', 'max_i'],
    'the _realtime view shows bucket, keys and one column per aggregate');
SELECT columns_are('public', 'tap_hourly_realtime',
    ARRAY['bucket', 'region', 'n', 'sum_v', 'avg_v', 'min_i', 'max_i'],
    'a rollup of a rollup carries keys and aggregates up');
SELECT col_type_is('public', 'tap_minutely', 'bucket', 'timestamp with time zone',
    'bucket of a timestamptz source is timestamptz');
SELECT col_type_is('public', 'tap_minutely', 'n', 'bigint', 'count(*) is bigint');
SELECT col_type_is('public', 'tap_minutely', 'sum_v', 'double precision', 'sum(float8) is float8');
SELECT col_type_is('public', 'tap_minutely', 'avg_v', 'double precision', 'avg(float8) is float8');
SELECT col_type_is('public', 'tap_minutely', 'min_i', 'integer', 'min(int4) is int4');
SELECT is_empty(
    $$SELECT attname FROM pg_attribute
       WHERE attrelid = 'public.tap_minutely'::regclass AND attnum > 0 AND NOT attisdropped
         AND attname NOT IN ('bucket', 'region', 'n', 'sum_v', 'avg_v', 'min_i', 'max_i')
         AND attname NOT LIKE '\_fg\_%'$$,
    'every other column of the rollup table carries the reserved prefix _fg_');
SELECT results_eq(
    $$SELECT name::text COLLATE "default", source::text COLLATE "default", bucket, time_zone,
             array_to_string(group_by, ',') COLLATE "default",
             array_to_string(aggregates, ',') COLLATE "default"
        FROM fluss_grid.rollups WHERE name::text LIKE 'tap\_%' ORDER BY name::text$$,
    $$VALUES ('tap_hourly', 'tap_minutely', interval '1 hour', 'UTC', 'region',
              'n,sum_v,avg_v,min_i,max_i'),
             ('tap_minutely', 'tap_src', interval '1 minute', 'UTC', 'region',
              'n,sum_v,avg_v,min_i,max_i')$$,
    'fluss_grid.rollups lists both rollups with their definition');
SELECT ok(EXISTS (SELECT 1 FROM pg_trigger
                   WHERE tgrelid = 'public.tap_src'::regclass AND NOT tgisinternal
                     AND tgname LIKE '\_fg\_capture\_%\_row' AND tgenabled = 'R'),
          'the row-level capture trigger fires only for replication (ENABLE REPLICA)');
SELECT is((SELECT count(*)::int FROM pg_trigger
            WHERE tgrelid = 'public.tap_src'::regclass AND NOT tgisinternal
              AND tgname LIKE '\_fg\_capture\_%' AND tgenabled = 'O'
              AND tgtype & 1 = 0),
          3, 'three statement-level capture triggers (insert, update, delete) fire for ordinary sessions only');
SELECT ok(EXISTS (SELECT 1 FROM pg_trigger
                   WHERE tgrelid = 'public.tap_src'::regclass AND NOT tgisinternal
                     AND tgname LIKE '\_fg\_capture\_%\_trunc' AND tgenabled = 'A'
                     AND tgtype & 1 = 0),
          'the TRUNCATE capture trigger fires always, also for a replicated TRUNCATE (ENABLE ALWAYS)');

-- backfill: exact at creation, for the table and the realtime view
SELECT results_eq(
    'SELECT bucket, region, n, sum_v, avg_v, min_i, max_i FROM public.tap_minutely ORDER BY 1, 2',
    'SELECT * FROM tap_ref_minutely ORDER BY 1, 2',
    'the minutely rollup is backfilled exactly');
SELECT results_eq(
    'SELECT * FROM public.tap_minutely_realtime ORDER BY 1, 2',
    'SELECT * FROM tap_ref_minutely ORDER BY 1, 2',
    'the minutely _realtime view equals GROUP BY');
SELECT results_eq(
    'SELECT * FROM public.tap_hourly_realtime ORDER BY 1, 2',
    'SELECT * FROM tap_ref_hourly ORDER BY 1, 2',
    'the hourly _realtime view equals GROUP BY');
SELECT results_eq(
    'SELECT bucket, region, n, sum_v, avg_v, min_i, max_i FROM public.tap_hourly ORDER BY 1, 2',
    'SELECT * FROM tap_ref_hourly ORDER BY 1, 2',
    'the hourly rollup is backfilled exactly');

-- changes: the realtime views are exact at once, the tables after a fold
INSERT INTO public.tap_src
SELECT '2026-11-26 03:00:00+00'::timestamptz + g * interval '7 seconds', 'r9', g + 0.5, 100 + g, 'late'
  FROM generate_series(0, 20) g;
UPDATE public.tap_src SET v = v + 1, i = i + 50 WHERE region = 'r1' AND i = 12;   -- new maxima
UPDATE public.tap_src SET region = 'r2' WHERE region = 'r3' AND i = 0;            -- moves groups
DELETE FROM public.tap_src WHERE region = 'r0' AND i = 0;                         -- retracts minima
DELETE FROM public.tap_src WHERE ts >= '2026-11-26 00:00:00+00' AND ts < '2026-11-26 00:01:00+00';

SELECT results_eq(
    'SELECT * FROM public.tap_minutely_realtime ORDER BY 1, 2',
    'SELECT * FROM tap_ref_minutely ORDER BY 1, 2',
    'after INSERT/UPDATE/DELETE the minutely _realtime view equals GROUP BY without any fold');
SELECT results_eq(
    'SELECT * FROM public.tap_hourly_realtime ORDER BY 1, 2',
    'SELECT * FROM tap_ref_hourly ORDER BY 1, 2',
    'after INSERT/UPDATE/DELETE the hourly _realtime view equals GROUP BY without any fold');
SELECT ok((SELECT pending_changes > 0 FROM fluss_grid.rollups WHERE name = 'public.tap_minutely'::regclass),
          'the changes wait in the minutely changelog');
SELECT cmp_ok(fluss_grid.fold_now(), '>', 0::bigint, 'fold_now folds the pending changes');
SELECT results_eq(
    'SELECT bucket, region, n, sum_v, avg_v, min_i, max_i FROM public.tap_minutely ORDER BY 1, 2',
    'SELECT * FROM tap_ref_minutely ORDER BY 1, 2',
    'after fold_now the minutely rollup equals GROUP BY');
SELECT results_eq(
    'SELECT bucket, region, n, sum_v, avg_v, min_i, max_i FROM public.tap_hourly ORDER BY 1, 2',
    'SELECT * FROM tap_ref_hourly ORDER BY 1, 2',
    'after fold_now the hourly rollup equals GROUP BY');
SELECT is((SELECT sum(pending_changes)::int FROM fluss_grid.rollups WHERE name::text LIKE 'tap\_%'),
          0, 'nothing is pending after fold_now');
SELECT is_empty(
    $$SELECT * FROM public.tap_minutely WHERE bucket < '2026-11-26 00:01:00+00'$$,
    'a bucket whose rows were all deleted disappears');

-- refresh_rollup repairs a damaged range
UPDATE public.tap_minutely SET n = -1 WHERE bucket < '2026-11-26 01:00:00+00';
SELECT cmp_ok(fluss_grid.refresh_rollup('tap_minutely', '2026-11-26 00:00:00+00', '2026-11-26 01:00:00+00'),
              '>', 0::bigint, 'refresh_rollup recomputes a range');
SELECT results_eq(
    'SELECT bucket, region, n, sum_v, avg_v, min_i, max_i FROM public.tap_minutely ORDER BY 1, 2',
    'SELECT * FROM tap_ref_minutely ORDER BY 1, 2',
    'after refresh_rollup the minutely rollup equals GROUP BY again');

-- wait_for_rollups answers (the worker cannot see this transaction's
-- changes, but it must not fail or hang)
SELECT ok(fluss_grid.wait_for_rollups(interval '10 seconds') IS NOT NULL,
          'wait_for_rollups returns a boolean');

-- ---------------------------------------------------------------------
-- Misuse: SQLSTATEs, and nothing left behind
-- ---------------------------------------------------------------------
SELECT throws_ok(
    $$SELECT fluss_grid.create_rollup(NULL, 'public.tap_src', 'ts', '1 minute', NULL, ARRAY['count(*)'])$$,
    '22004', 'argument "name" must not be null', 'NULL name: 22004');
SELECT throws_ok(
    $$SELECT fluss_grid.create_rollup('tap_r', NULL, 'ts', '1 minute', NULL, ARRAY['count(*)'])$$,
    '22004', 'argument "source" must not be null', 'NULL source: 22004');
SELECT throws_ok(
    $$SELECT fluss_grid.create_rollup('tap_r', 'public.tap_src', 'ts', '1 minute', NULL, NULL)$$,
    '22004', 'argument "aggregates" must not be null', 'NULL aggregates: 22004');
SELECT throws_ok(
    $$SELECT fluss_grid.wait_for_rollups(NULL)$$,
    '22004', 'argument "timeout" must not be null', 'NULL timeout: 22004');
SELECT throws_ok(
    $$SELECT fluss_grid.drop_rollup(NULL)$$,
    '22004', 'argument "rollup" must not be null', 'NULL rollup to drop: 22004');
SELECT throws_ok(
    $$SELECT fluss_grid.create_rollup('tap_r', 'public.tap_no_such_table', 'ts', '1 minute', NULL, ARRAY['count(*)'])$$,
    '42P01', 'relation "public.tap_no_such_table" does not exist', 'unknown source table: 42P01');
SELECT throws_ok(
    $$SELECT fluss_grid.create_rollup('tap_r', 'public.tap_src', 'nope', '1 minute', NULL, ARRAY['count(*)'])$$,
    '42703', 'column "nope" of relation "tap_src" does not exist', 'unknown time column: 42703');
SELECT throws_ok(
    $$SELECT fluss_grid.create_rollup('tap_r', 'public.tap_src', 'ts', '1 minute', ARRAY['nope'], ARRAY['count(*)'])$$,
    '42703', 'column "nope" of relation "tap_src" does not exist', 'unknown group_by column: 42703');
SELECT throws_ok(
    $$SELECT fluss_grid.create_rollup('tap_r', 'public.tap_src', 'label', '1 minute', NULL, ARRAY['count(*)'])$$,
    '42804', 'time column "label" must be of type timestamp with time zone or timestamp, not text',
    'time column of the wrong type: 42804');
SELECT throws_ok(
    $$SELECT fluss_grid.create_rollup('tap_r', 'public.tap_src', 'ts', '0', NULL, ARRAY['count(*)'])$$,
    '22023', 'bucket width must be positive', 'zero bucket: 22023');
SELECT throws_ok(
    $$SELECT fluss_grid.create_rollup('tap_r', 'public.tap_src', 'ts', '-5 minutes', NULL, ARRAY['count(*)'])$$,
    '22023', 'bucket width must be positive', 'negative bucket: 22023');
SELECT throws_ok(
    $$SELECT fluss_grid.create_rollup('tap_r', 'tap_minutely', bucket => '90 seconds')$$,
    '22023', NULL, 'bucket not a whole multiple of the source rollup''s: 22023');
SELECT throws_ok(
    $$SELECT fluss_grid.wait_for_rollups(interval '-1 second')$$,
    '22023', 'timeout must not be negative', 'negative timeout: 22023');
SELECT throws_ok(
    $$SELECT fluss_grid.refresh_rollup('tap_minutely', '2026-11-27', '2026-11-26')$$,
    '22023', 'refresh range starts after it ends', 'inverted refresh range: 22023');
SELECT throws_ok(
    $$SELECT fluss_grid.create_rollup('tap_r', 'public.tap_src', 'ts', '1 minute', NULL, ARRAY['median(v)'])$$,
    '0A000', 'aggregate median is not supported in a rollup', 'unsupported aggregate: 0A000');
SELECT throws_ok(
    $$SELECT fluss_grid.create_rollup('tap_r', 'public.tap_src', 'ts', '1 minute', NULL, ARRAY['count(DISTINCT v)'])$$,
    '0A000', NULL, 'DISTINCT aggregate: 0A000');
SELECT throws_ok(
    $$SELECT fluss_grid.create_rollup('tap_r', 'public.tap_src', 'ts', '1 minute', NULL, ARRAY['sum(v); DROP TABLE public.tap_src'])$$,
    '42601', NULL, 'malformed aggregate (injection attempt): 42601');
SELECT throws_ok(
    $$SELECT fluss_grid.create_rollup('tap_minutely', 'public.tap_src', 'ts', '1 minute', NULL, ARRAY['count(*)'])$$,
    '42P07', 'relation "tap_minutely" already exists', 'duplicate rollup name: 42P07');
SELECT throws_ok(
    $$SELECT fluss_grid.create_rollup('tap_src', 'public.tap_src', 'ts', '1 minute', NULL, ARRAY['count(*)'])$$,
    '42P07', 'relation "tap_src" already exists', 'name of an existing table: 42P07');
SELECT throws_ok(
    $$SELECT fluss_grid.refresh_rollup('public.tap_src')$$,
    '42809', '"tap_src" is not a rollup', 'refreshing a table that is not a rollup: 42809');
SELECT throws_ok(
    $$SELECT fluss_grid.drop_rollup('tap_minutely')$$,
    '2BP01', NULL, 'dropping a rollup another rollup depends on: 2BP01');

-- another role may neither build on, refresh nor drop what it does not own
SET LOCAL ROLE fg_tap_other;
SELECT throws_ok(
    $$SELECT fluss_grid.create_rollup('public.tap_theirs', 'public.tap_src', 'ts', '1 minute', NULL, ARRAY['count(*)'])$$,
    '42501', 'must be owner of table tap_src', 'rollup of a table one does not own: 42501');
SELECT throws_ok(
    $$SELECT fluss_grid.refresh_rollup('public.tap_minutely')$$,
    '42501', 'must be owner of rollup tap_minutely to refresh it', 'refreshing a rollup one does not own: 42501');
SELECT throws_ok(
    $$SELECT fluss_grid.drop_rollup('public.tap_hourly')$$,
    '42501', 'must be owner of rollup tap_hourly to drop it', 'dropping a rollup one does not own: 42501');
SELECT throws_ok(
    $$SELECT fluss_grid.fold_now()$$,
    '42501', 'permission denied for function fold_now', 'fold_now is not for PUBLIC: 42501');
RESET ROLE;

SELECT is((SELECT count(*)::int FROM fluss_grid.rollup r
            WHERE r.rollup_rel::text LIKE '%tap\_%'), 2,
          'failed calls left no rollup behind');
SELECT is_empty(
    $$SELECT relname FROM pg_class
       WHERE relname IN ('tap_r', 'tap_r_realtime', 'tap_theirs', 'tap_theirs_realtime')$$,
    'failed calls left no table or view behind');
SELECT is((SELECT count(*)::int FROM pg_trigger
            WHERE tgrelid = 'public.tap_src'::regclass AND NOT tgisinternal), 5,
          'failed calls attached no extra trigger to the source');
SELECT has_table('public', 'tap_src', 'the injection attempt dropped nothing');

-- ---------------------------------------------------------------------
-- drop_rollup
-- ---------------------------------------------------------------------
SELECT lives_ok($$SELECT fluss_grid.drop_rollup('tap_minutely', cascade => true)$$,
                'drop_rollup with cascade drops a rollup and the rollups built on it');
SELECT hasnt_table('public', 'tap_minutely', 'the minutely rollup table is gone');
SELECT hasnt_table('public', 'tap_hourly', 'the hourly rollup table is gone');
SELECT hasnt_view('public', 'tap_minutely_realtime', 'its _realtime view is gone');
SELECT is_empty(
    $$SELECT tgname FROM pg_trigger WHERE tgrelid = 'public.tap_src'::regclass AND NOT tgisinternal$$,
    'no capture trigger is left on the source');
SELECT is_empty(
    $$SELECT rollup_rel FROM fluss_grid.rollup WHERE rollup_rel::text LIKE '%tap\_%'$$,
    'the catalog forgot both rollups');

-- ---------------------------------------------------------------------
-- Transforms and the grid warehouse (issue 4)
-- ---------------------------------------------------------------------
SELECT function_returns('fluss_grid', 'create_transform',
    ARRAY['text', 'regclass', 'name[]', 'name', 'text[]', 'text', 'text', 'text'], 'regclass',
    'create_transform returns the target''s regclass');
SELECT is((SELECT proargnames FROM pg_proc
            WHERE oid = 'fluss_grid.create_transform(text, regclass, name[], name, text[], text, text, text)'::regprocedure),
          ARRAY['name', 'source', 'key', 'version', 'columns', 'joins', 'reject', 'quarantine'],
          'create_transform argument names');
SELECT function_returns('fluss_grid', 'drop_transform', ARRAY['regclass', 'boolean'], 'void',
    'drop_transform(target, cascade) returns void');
SELECT function_returns('fluss_grid', 'refresh_transform', ARRAY['regclass'], 'bigint',
    'refresh_transform returns the number of keys written');
SELECT function_returns('fluss_grid', 'create_grid_warehouse', ARRAY['name', 'integer'], 'void',
    'create_grid_warehouse(schema, stations) returns void');
SELECT is((SELECT pronargdefaults::int FROM pg_proc
            WHERE oid = 'fluss_grid.create_grid_warehouse(name, integer)'::regprocedure),
          2, 'create_grid_warehouse: both arguments have defaults');
SELECT function_returns('fluss_grid', 'drop_grid_warehouse', ARRAY['name'], 'void',
    'drop_grid_warehouse(schema) returns void');
SELECT function_returns('fluss_grid', 'grid_default_stations', ARRAY['integer'], 'setof record',
    'grid_default_stations(n) returns the default station set');
SELECT function_returns('fluss_grid', 'capture_rows', ARRAY[]::name[], 'trigger',
    'capture_rows is the transforms'' trigger function');
SELECT is_empty(
    $$SELECT p.oid::regprocedure::text FROM pg_proc p
       WHERE p.oid IN ('fluss_grid.create_transform(text, regclass, name[], name, text[], text, text, text)'::regprocedure,
                       'fluss_grid.drop_transform(regclass, boolean)'::regprocedure,
                       'fluss_grid.refresh_transform(regclass)'::regprocedure,
                       'fluss_grid.create_grid_warehouse(name, integer)'::regprocedure,
                       'fluss_grid.drop_grid_warehouse(name)'::regprocedure,
                       'fluss_grid.transform_register(regclass, regclass, regclass, name[], name, text, text, text, text, text, text, text, text)'::regprocedure)
         AND p.prosecdef$$,
    'the transform and warehouse API is SECURITY INVOKER');
SELECT ok(NOT has_function_privilege('public', 'fluss_grid.transform_forget(integer)', 'EXECUTE'),
          'transform_forget is not executable by PUBLIC');
SELECT has_view('fluss_grid', 'transforms', 'view fluss_grid.transforms exists');
SELECT columns_are('fluss_grid', 'transforms',
    ARRAY['name', 'source', 'quarantine', 'key', 'version', 'pending_changes', 'last_fold', 'lag',
          'folds', 'recomputed_keys', 'last_error', 'last_error_at'],
    'fluss_grid.transforms columns');

SELECT lives_ok($$SELECT fluss_grid.create_grid_warehouse(schema => 'tap_wh', stations => 14)$$,
                'create_grid_warehouse creates a warehouse in a new schema');
SELECT tables_are('tap_wh',
    ARRAY['dim_region', 'dim_station', 'dim_tariff', 'dim_generation_cost', 'ods_grid_realtime_raw',
          'dwd_grid_measurement', 'dwd_grid_quarantine', 'dws_station_minutely', 'dws_station_hourly',
          'dws_station_daily', 'ods_ingest_secondly'],
    'the warehouse''s tables');
SELECT views_are('tap_wh',
    ARRAY['dws_grid_operation_minutely', 'dws_grid_analysis_hourly', 'dws_grid_daily',
          'ads_station_current', 'ads_region_load', 'ads_grid_overview', 'ads_dashboard_realtime',
          'ads_pipeline_health', 'dws_station_minutely_realtime', 'dws_station_hourly_realtime',
          'dws_station_daily_realtime', 'ods_ingest_secondly_realtime'],
    'the warehouse''s views');
SELECT columns_are('tap_wh', 'ods_grid_realtime_raw',
    ARRAY['ingest_seq', 'received_at', 'station_id', 'ts', 'load_mw', 'generation_mw',
          'frequency_hz', 'voltage_kv'],
    'ODS columns (the simulator''s contract)');
SELECT col_is_pk('tap_wh', 'dwd_grid_measurement', ARRAY['station_id', 'ts'],
                 'DWD: one row per station and time');
SELECT col_is_pk('tap_wh', 'dwd_grid_quarantine', ARRAY['station_id', 'ts'],
                 'quarantine: one row per station and time');
SELECT has_column('tap_wh', 'dwd_grid_quarantine', 'reason', 'the quarantine says why');
SELECT columns_are('tap_wh', 'ads_dashboard_realtime',
    ARRAY['grid_region', 'current_load_mw', 'current_generation_mw', 'grid_frequency_hz',
          'maintenance_recommendation', 'update_time'],
    'ads_dashboard_realtime columns');
SELECT ok((SELECT bool_and(c IN (SELECT column_name::text FROM information_schema.columns
                                  WHERE table_schema = 'tap_wh' AND table_name = 'dws_grid_operation_minutely'))
             FROM unnest(ARRAY['grid_region', 'time_window_start', 'avg_load_mw', 'avg_generation_mw',
                               'avg_frequency_hz', 'frequency_stability_pct', 'grid_efficiency_index']) c),
          'dws_grid_operation_minutely has the issue''s columns');
SELECT ok((SELECT bool_and(c IN (SELECT column_name::text FROM information_schema.columns
                                  WHERE table_schema = 'tap_wh' AND table_name = 'dws_grid_analysis_hourly'))
             FROM unnest(ARRAY['grid_region', 'analysis_hour', 'energy_mwh', 'peak_load_mw', 'peak_time',
                               'energy_consumption_pattern', 'operational_cost_yuan',
                               'total_economic_benefit']) c),
          'dws_grid_analysis_hourly has the issue''s columns');
SELECT is((SELECT count(*)::int FROM tap_wh.dim_region), 7, 'seven regional grids');
SELECT is((SELECT count(*)::int FROM tap_wh.dim_station), 14, 'the requested number of stations');
SELECT throws_ok($$SELECT fluss_grid.create_grid_warehouse(schema => 'tap_wh')$$, '42710',
                 'a grid warehouse already exists in schema "tap_wh"',
                 'creating a warehouse twice is an error');
SELECT throws_ok($$SELECT fluss_grid.drop_grid_warehouse('tap_no_such_schema')$$, '3F000',
                 'schema "tap_no_such_schema" does not exist',
                 'dropping from an unknown schema is an error');
SELECT throws_ok($$INSERT INTO tap_wh.dim_station VALUES (999, 'x', 'atlantis', 'wind', 1, 110)$$, '23503',
                 NULL, 'a station of a region missing from dim_region is refused');
INSERT INTO tap_wh.ods_grid_realtime_raw (station_id, ts, load_mw, generation_mw, frequency_hz, voltage_kv)
SELECT station_id, now() - interval '1 minute', 10, 0, 50, nominal_kv FROM tap_wh.dim_station
UNION ALL SELECT 9999, now(), 1, 1, 50, 220;
SELECT ok(fluss_grid.fold_now() > 0, 'fold_now folds the warehouse in this transaction');
SELECT results_eq($$SELECT count(*)::int FROM tap_wh.dwd_grid_measurement$$, ARRAY[14],
                  'every valid reading reached DWD');
SELECT results_eq($$SELECT reason FROM tap_wh.dwd_grid_quarantine$$, ARRAY['unknown station'],
                  'the unknown station is quarantined with its reason');
SELECT results_eq($$SELECT stations_reporting::int FROM tap_wh.ads_grid_overview$$, ARRAY[14],
                  'the overview sees every station');
SELECT lives_ok($$SELECT fluss_grid.drop_grid_warehouse('tap_wh')$$, 'drop_grid_warehouse drops it');
SELECT is_empty($$SELECT relname FROM pg_class WHERE relnamespace = 'tap_wh'::regnamespace$$,
                'nothing of the warehouse is left');

SELECT * FROM finish();
ROLLBACK;
