/*-------------------------------------------------------------------------
 *
 * transform.c
 *	  Transforms: a table kept equal, continuously, to the newest version of
 *	  every key of a source table, validated (rejected rows go to a
 *	  quarantine table with the reason) and enriched (joins, expressions).
 *	  The DWD layer of the grid warehouse is one.
 *
 * create_transform (sql/fluss_grid--1.0.sql) generates the statements and
 * stores them in fluss_grid.transform; this file runs them:
 *	- fluss_grid.capture_rows(), the statement-level AFTER trigger on the
 *	  source, copies the statement's rows (inserted: whole rows; deleted:
 *	  key and version; updated: both) into fluss_grid.changelog_<id>, in the
 *	  writer's transaction, as the transform's owner;
 *	- FgFoldTransform, called by the worker's pass before the rollups, runs
 *	  the reset statement (TRUNCATE markers) and the fold statement in one
 *	  snapshot under the fold lock.  The fold consumes every visible
 *	  changelog row; a key touched only by inserts takes the newest
 *	  inserted version if it beats the current winner; a key touched by a
 *	  delete or an update is read again from the source in the same
 *	  snapshot.  Hence the same invariants as rollups: a change is applied
 *	  once, in the transaction that consumes its changelog row.
 *
 * Transform ids come from the rollup id sequence, so the fold lock, the
 * status slot and the changelog name of an id are shared machinery.
 *
 * IDENTIFICATION
 *	  src/transform.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "parser/analyze.h"
#include "parser/parser.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/ruleutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/tuplestore.h"
#include "utils/queryenvironment.h"

#include "fluss_grid.h"

PG_FUNCTION_INFO_V1(fluss_grid_capture_rows);
PG_FUNCTION_INFO_V1(fluss_grid_transform_register);
PG_FUNCTION_INFO_V1(fluss_grid_transform_forget);
PG_FUNCTION_INFO_V1(fluss_grid_refresh_transform);

/* the statements of one transform, indexes into TransformEntry.sql */
typedef enum TransformStmt
{
	TS_INSERT,
	TS_DELETE,
	TS_UPDATE,
	TS_TRUNCATE,
	TS_RESET,
	TS_FOLD,
	TS_FOLD_BULK,
	TS_REFRESH,
	TS_FOLD_COUNT,				/* pending changes, up to a bound (built here) */
	TS_COUNT
} TransformStmt;

static const char *const stmt_columns[TS_COUNT] = {
	"capture_insert", "capture_delete", "capture_update", "capture_truncate",
	"reset_sql", "fold_sql", "fold_bulk_sql", "refresh_sql", NULL
};

/*
 * Above this many pending changes a fold joins the batch's keys with the
 * target wholesale (hash or merge join) instead of looking them up one by
 * one through the primary key: a bulk load, not a stream.
 */
#define FG_TRANSFORM_BULK_ROWS 20000

/* backend-local cache of a transform's definition and saved plans */
typedef struct TransformEntry
{
	int32		id;				/* hash key, must be first */
	bool		valid;
	Oid			ownerid;
	Oid			sourceid;
	Oid			targetid;
	Oid			quarantineid;	/* InvalidOid without a quarantine */
	Oid			changelogid;
	char	   *sql[TS_COUNT];	/* in cache_cxt */
	SPIPlanPtr	plan[TS_COUNT];
	FgPlanWatch watch;			/* sizes the fold's plans were made for */
} TransformEntry;

static HTAB *transform_cache = NULL;
static MemoryContext cache_cxt = NULL;

static TransformEntry *transform_get(int32 id);
static char *replace_text_cstring(const char *str, const char *from, const char *to);
static SPIPlanPtr transform_plan(TransformEntry *e, TransformStmt s);
static void check_capture_present(TransformEntry *e);

/*
 * A relcache invalidation of one of a transform's own tables (its changelog
 * is dropped when the transform is forgotten; triggers on the source
 * change) or of every relation drops its cached definition; saved plans
 * are freed and rebuilt on next use.  Other relations (the joined tables)
 * need nothing: the plan cache revalidates the saved plans itself, and the
 * statements' text does not change.  (Every VACUUM of any table sends an
 * invalidation: reloading for each one would cost the capture trigger a
 * catalog query and a new plan after each of the worker's vacuums.)
 */
static void
transform_cache_callback(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS status;
	TransformEntry *e;

	if (transform_cache == NULL)
		return;
	hash_seq_init(&status, transform_cache);
	while ((e = hash_seq_search(&status)) != NULL)
		if (!OidIsValid(relid) || relid == e->sourceid || relid == e->targetid ||
			relid == e->quarantineid || relid == e->changelogid)
			e->valid = false;
}

/*
 * transform_get
 *		The cached definition of transform id, loaded when missing or
 *		invalidated.  NULL when the transform does not exist.
 */
static TransformEntry *
transform_get(int32 id)
{
	TransformEntry *e;
	bool		found;
	StringInfoData sql;
	Datum		arg = Int32GetDatum(id);
	Oid			argtype = INT4OID;
	int			ret;

	if (transform_cache == NULL)
	{
		HASHCTL		ctl;

		cache_cxt = AllocSetContextCreate(CacheMemoryContext, "fluss_grid transform cache",
										  ALLOCSET_SMALL_SIZES);
		ctl.keysize = sizeof(int32);
		ctl.entrysize = sizeof(TransformEntry);
		ctl.hcxt = cache_cxt;
		transform_cache = hash_create("fluss_grid transforms", 16, &ctl,
									  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		CacheRegisterRelcacheCallback(transform_cache_callback, (Datum) 0);
	}

	e = hash_search(transform_cache, &id, HASH_ENTER, &found);
	if (found && e->valid)
		return e;
	if (found)
	{
		for (int i = 0; i < TS_COUNT; i++)
		{
			if (e->plan[i])
				SPI_freeplan(e->plan[i]);
			if (e->sql[i])
				pfree(e->sql[i]);
		}
	}
	memset(((char *) e) + sizeof(int32), 0, sizeof(TransformEntry) - sizeof(int32));

	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT owner_id, source_rel::oid, target_rel::oid, "
						   "format('fluss_grid.%I', 'changelog_' || id)");
	for (int i = 0; i < TS_FOLD_COUNT; i++)
		appendStringInfo(&sql, ", %s", stmt_columns[i]);
	appendStringInfoString(&sql, ", quarantine_rel::oid,"
						   " pg_catalog.to_regclass(format('fluss_grid.%I', 'changelog_' || id))::oid"
						   " FROM fluss_grid.transform WHERE id = $1");

	SPI_connect();
	ret = SPI_execute_with_args(sql.data, 1, &argtype, &arg, NULL, true, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not read transform %d: %s", id, SPI_result_code_string(ret));
	if (SPI_processed == 0)
	{
		SPI_finish();
		hash_search(transform_cache, &id, HASH_REMOVE, NULL);
		return NULL;
	}
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		char	   *changelog = SPI_getvalue(tup, desc, 4);

		e->ownerid = DatumGetObjectId(SPI_getbinval(tup, desc, 1, &isnull));
		e->sourceid = DatumGetObjectId(SPI_getbinval(tup, desc, 2, &isnull));
		e->targetid = DatumGetObjectId(SPI_getbinval(tup, desc, 3, &isnull));
		e->quarantineid = DatumGetObjectId(SPI_getbinval(tup, desc, 5 + TS_FOLD_COUNT, &isnull));
		if (isnull)
			e->quarantineid = InvalidOid;
		e->changelogid = DatumGetObjectId(SPI_getbinval(tup, desc, 6 + TS_FOLD_COUNT, &isnull));
		if (isnull)
			e->changelogid = InvalidOid;
		for (int i = 0; i < TS_FOLD_COUNT; i++)
		{
			char	   *text = SPI_getvalue(tup, desc, 5 + i);
			char	   *full = text ? replace_text_cstring(text, "@changelog@", changelog) : NULL;

			e->sql[i] = full ? MemoryContextStrdup(cache_cxt, full) : NULL;
		}
		e->sql[TS_FOLD_COUNT] =
			MemoryContextStrdup(cache_cxt,
								psprintf("SELECT count(*) FROM (SELECT FROM %s WHERE NOT _fg_reset"
										 " LIMIT %d) c", changelog, FG_TRANSFORM_BULK_ROWS + 1));
	}
	SPI_finish();
	e->valid = true;
	return e;
}

/* str with every "from" replaced by "to", palloc'd */
static char *
replace_text_cstring(const char *str, const char *from, const char *to)
{
	StringInfoData out;
	size_t		flen = strlen(from);
	const char *p = str;
	const char *hit;

	initStringInfo(&out);
	while ((hit = strstr(p, from)) != NULL)
	{
		appendBinaryStringInfo(&out, p, hit - p);
		appendStringInfoString(&out, to);
		p = hit + flen;
	}
	appendStringInfoString(&out, p);
	return out.data;
}

/* the saved plan of statement s (in an SPI connection) */
static SPIPlanPtr
transform_plan(TransformEntry *e, TransformStmt s)
{
	if (e->plan[s] == NULL)
	{
		SPIPlanPtr	plan = SPI_prepare(e->sql[s], 0, NULL);

		if (plan == NULL)
			elog(ERROR, "could not prepare transform statement: %s",
				 SPI_result_code_string(SPI_result));
		SPI_keepplan(plan);
		e->plan[s] = plan;
	}
	return e->plan[s];
}

/*
 * register_row
 *		Register a one-row tuplestore holding tuple as the ephemeral named
 *		relation name of the current SPI connection.
 */
static void
register_row(Relation rel, const char *name, HeapTuple tuple)
{
	EphemeralNamedRelation enr = palloc0(sizeof(EphemeralNamedRelationData));
	Tuplestorestate *ts = tuplestore_begin_heap(false, false, work_mem);
	int			ret;

	tuplestore_puttuple(ts, tuple);
	enr->md.name = pstrdup(name);
	enr->md.reliddesc = RelationGetRelid(rel);
	enr->md.tupdesc = NULL;
	enr->md.enrtype = ENR_NAMED_TUPLESTORE;
	enr->md.enrtuples = 1;
	enr->reldata = ts;
	ret = SPI_register_relation(enr);
	if (ret != SPI_OK_REL_REGISTER)
		elog(ERROR, "could not register row as %s: %s", name, SPI_result_code_string(ret));
}

/*
 * fluss_grid_capture_rows
 *		The transform's trigger: arguments transform id and 's' (statement:
 *		INSERT, UPDATE, DELETE with transition tables), 'r' (row, enabled
 *		for logical replication only) or 't' (TRUNCATE).
 */
Datum
fluss_grid_capture_rows(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	Trigger    *tg;
	TransformEntry *e;
	TransformStmt s;
	bool		row_mode;
	Oid			save_userid;
	int			save_sec;
	int			save_nestlevel;
	int			ret;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("fluss_grid.capture_rows() must be called as a trigger")));
	tg = td->tg_trigger;
	if (tg->tgnargs != 2 || !TRIGGER_FIRED_AFTER(td->tg_event) ||
		((TRIGGER_FIRED_FOR_ROW(td->tg_event) != 0) != (tg->tgargs[1][0] == 'r')))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("trigger \"%s\" is not a valid fluss_grid.capture_rows() trigger",
						tg->tgname),
				 errhint("Transforms attach their triggers themselves; use fluss_grid.create_transform().")));

	e = transform_get(pg_strtoint32(tg->tgargs[0]));
	if (e == NULL)
		return PointerGetDatum(NULL);	/* transform gone: nothing to keep */

	/*
	 * Row mode, for the logical replication apply worker (which fires row
	 * triggers but not statement triggers): the row becomes a one-row
	 * transition table, so the statement plans serve as well.
	 */
	row_mode = (tg->tgargs[1][0] == 'r');
	if (TRIGGER_FIRED_BY_TRUNCATE(td->tg_event))
		s = TS_TRUNCATE;
	else if (!row_mode &&
			 (td->tg_newtable == NULL || tuplestore_tuple_count(td->tg_newtable) == 0) &&
			 (td->tg_oldtable == NULL || tuplestore_tuple_count(td->tg_oldtable) == 0))
		return PointerGetDatum(NULL);	/* no row changed: nothing to write,
										 * nobody to wake */
	else if (TRIGGER_FIRED_BY_INSERT(td->tg_event))
		s = TS_INSERT;
	else if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
		s = TS_UPDATE;
	else
		s = TS_DELETE;

	SPI_connect();
	if (row_mode)
	{
		Relation	rel = td->tg_relation;

		if (s != TS_INSERT)
			register_row(rel, FG_OLD_TABLE, td->tg_trigtuple);
		if (s != TS_DELETE)
			register_row(rel, FG_NEW_TABLE,
						 s == TS_UPDATE ? td->tg_newtuple : td->tg_trigtuple);
	}
	else if (s != TS_TRUNCATE)
	{
		ret = SPI_register_trigger_data(td);
		if (ret != SPI_OK_TD_REGISTER)
			elog(ERROR, "could not register transition tables: %s",
				 SPI_result_code_string(ret));
	}
	/* the owner writes the changelog; the writer needs no rights on it */
	FgAsOwner(e->ownerid, &save_userid, &save_sec, &save_nestlevel);
	ret = SPI_execute_plan(transform_plan(e, s), NULL, NULL, false, 0);
	if (ret < 0)
		elog(ERROR, "fluss_grid transform capture failed: %s", SPI_result_code_string(ret));
	FgRestoreUser(save_userid, save_sec, save_nestlevel);
	SPI_finish();

	FgNoteChangelogWrite();
	return PointerGetDatum(NULL);
}

/*
 * check_capture_present
 *		Fold only while the source carries the capture triggers: while
 *		pg_restore loads a database, the triggers come last, and folding
 *		into half-loaded tables would write rows the restore then loads
 *		again.  Reported as "not ready", retried with backoff.
 */
static void
check_capture_present(TransformEntry *e)
{
	Relation	rel = table_open(e->sourceid, AccessShareLock);
	int			found = 0;
	char	   *prefix = psprintf("_fg_transform_%d_", e->id);

	if (rel->trigdesc)
	{
		for (int i = 0; i < rel->trigdesc->numtriggers; i++)
			if (strncmp(rel->trigdesc->triggers[i].tgname, prefix, strlen(prefix)) == 0 &&
				rel->trigdesc->triggers[i].tgenabled != TRIGGER_DISABLED)
				found++;
	}
	table_close(rel, AccessShareLock);
	if (found < 4)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("transform %d is not ready: its source %s lacks enabled capture triggers",
						e->id, FgQualifiedName(e->sourceid)),
				 errdetail("A restore creates them last; until then the transform is not folded."),
				 errhint("If they were dropped or disabled, recreate the transform.")));
}

/*
 * A fold sorts and hashes a whole batch of changed keys (a bulk load's
 * worth after a COPY); with the default 4MB it spills to disk.  Raised for
 * the fold only (undone with the owner switch's GUC nest level).
 */
#define FG_TRANSFORM_WORK_MEM_KB (64 * 1024)

static void
raise_work_mem(void)
{
	if (work_mem < FG_TRANSFORM_WORK_MEM_KB)
		(void) set_config_option("work_mem", psprintf("%d", FG_TRANSFORM_WORK_MEM_KB),
								 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
}

/*
 * FgFoldTransform
 *		Fold transform id's changelog, in the current transaction.  False
 *		when another session holds the fold lock and wait is false.
 */
bool
FgFoldTransform(int32 id, bool wait, FgFoldResult *res)
{
	TransformEntry *e;
	bool		acquired;
	Oid			save_userid;
	int			save_sec;
	int			save_nestlevel;
	Snapshot	snap;
	int			ret;
	bool		isnull;
	bool		bulk;

	res->deltas = 0;
	res->recomputed = 0;
	res->more = false;

	FgLockRollup(id, wait, &acquired);
	if (!acquired)
		return false;
	e = transform_get(id);
	if (e == NULL)
		return true;			/* dropped meanwhile */
	{
		Oid			writes[2] = {e->targetid, e->quarantineid};

		if (!FgLockFoldRelations(&e->sourceid, 1, writes, OidIsValid(e->quarantineid) ? 2 : 1,
								 wait))
			return false;
	}
	check_capture_present(e);

	/* plans made for tables of another size are made again (plan_watch.c) */
	if (!e->watch.set)
	{
		Oid			rels[4] = {e->changelogid, e->targetid, e->sourceid, e->quarantineid};

		FgPlanWatchInit(&e->watch, e->targetid, OidIsValid(e->quarantineid) ? 4 : 3, rels,
						true);
	}
	if (FgPlanWatchMoved(&e->watch))
	{
		for (int s = TS_RESET; s < TS_COUNT; s++)
		{
			if (e->plan[s] != NULL && s != TS_REFRESH)
			{
				SPI_freeplan(e->plan[s]);
				e->plan[s] = NULL;
			}
		}
	}

	SPI_connect();
	FgAsOwner(e->ownerid, &save_userid, &save_sec, &save_nestlevel);
	raise_work_mem();

	/*
	 * One snapshot for both statements: a TRUNCATE marker and the changes
	 * committed with it are applied together or not at all.
	 */
	snap = RegisterSnapshot(GetTransactionSnapshot());
	ret = SPI_execute_snapshot(transform_plan(e, TS_RESET), NULL, NULL, snap,
							   InvalidSnapshot, false, true, 0);
	if (ret < 0)
		elog(ERROR, "fluss_grid transform reset failed: %s", SPI_result_code_string(ret));
	ret = SPI_execute_snapshot(transform_plan(e, TS_FOLD_COUNT), NULL, NULL, snap,
							   InvalidSnapshot, true, false, 0);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "fluss_grid transform count failed: %s", SPI_result_code_string(ret));
	bulk = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1,
									   &isnull)) > FG_TRANSFORM_BULK_ROWS;

	/*
	 * The bulk statement reaches target rows as "ctid = ANY (ARRAY(...))
	 * AND ctid = p.tid".  Planned from a changelog's stale statistics the
	 * batch looks small, and a nested loop over it probes the whole array
	 * for every row (quadratic: minutes for 20,000 rows).  A batch of this
	 * size is joined wholesale, so nested loops are left out (restored by
	 * FgRestoreUser); the plan is made under this setting whenever it is.
	 */
	if (bulk)
		(void) set_config_option("enable_nestloop", "off", PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
	ret = SPI_execute_snapshot(transform_plan(e, bulk ? TS_FOLD_BULK : TS_FOLD), NULL, NULL,
							   snap, InvalidSnapshot, false, true, 0);
	UnregisterSnapshot(snap);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "fluss_grid transform fold failed: %s", SPI_result_code_string(ret));
	res->deltas = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
											  SPI_tuptable->tupdesc, 1, &isnull));
	res->recomputed = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
												  SPI_tuptable->tupdesc, 2, &isnull));
	FgRestoreUser(save_userid, save_sec, save_nestlevel);
	SPI_finish();
	return true;
}

/*
 * FgTransformIds
 *		Every transform of this database, in creation order.
 */
List *
FgTransformIds(void)
{
	if (!OidIsValid(get_relname_relid("transform", get_namespace_oid(FG_SCHEMA, true))))
		return NIL;
	/* a saved plan: the worker asks at every pass */
	return FgIntListQuery("SELECT id FROM fluss_grid.transform WHERE $1 = $1 ORDER BY id", 0);
}

/*
 * check_statement
 *		Parse-analyze statement i of transform e (in env, which holds its
 *		transition tables); on failure, the error
 *		that refuses command.  (Not inlined: keeps setjmp-clobber warnings
 *		away from the PG_TRY block.)
 */
static pg_noinline void
check_statement(TransformEntry *e, int i, QueryEnvironment *env, const char *command)
{
	MemoryContext oldcxt = CurrentMemoryContext;

	PG_TRY();
	{
		List	   *raw = raw_parser(e->sql[i], RAW_PARSE_DEFAULT);
		ListCell   *rc;

		foreach(rc, raw)
			(void) parse_analyze_fixedparams(lfirst_node(RawStmt, rc), e->sql[i],
											 NULL, 0, env);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		/* the transaction is aborted by the error below anyway */
		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		ereport(ERROR,
				(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
				 errmsg("%s would break transform %s", command,
						FgQualifiedName(e->targetid)),
				 errdetail("Its statement %s would fail: %s", stmt_columns[i],
						   edata->message),
				 errhint("Drop the transform with fluss_grid.drop_transform() first, "
						 "and create it again afterwards.")));
	}
	PG_END_TRY();
}

/*
 * FgCheckTransforms
 *		After a DDL command (command is its tag, for the message): every
 *		transform's stored statements must still parse.  They name the
 *		source, target, quarantine and joined tables as text, so renaming
 *		or dropping one of those tables or columns, or moving it to another
 *		schema, would leave a transform whose every fold fails; the command
 *		is refused instead (the error aborts it).
 */
void
FgCheckTransforms(const char *command)
{
	ListCell   *lc;

	/*
	 * A snapshot of now: the command's own (taken before it ran) would
	 * still show transforms that its sql_drop follow-up removed.
	 */
	PushActiveSnapshot(GetTransactionSnapshot());
	foreach(lc, FgTransformIds())
	{
		TransformEntry *e = transform_get(lfirst_int(lc));
		Oid			save_userid;
		int			save_sec;
		int			save_nestlevel;

		QueryEnvironment *env = create_queryEnv();

		if (e == NULL)
			continue;

		/*
		 * The capture statements read the trigger's transition tables, rows
		 * of the source: described to the parser by the source itself.
		 */
		for (int t = 0; t < 2; t++)
		{
			EphemeralNamedRelation enr = palloc0(sizeof(EphemeralNamedRelationData));

			enr->md.name = t == 0 ? "_fg_new" : "_fg_old";
			enr->md.reliddesc = e->sourceid;
			enr->md.enrtype = ENR_NAMED_TUPLESTORE;
			enr->md.enrtuples = 1;
			register_ENR(env, enr);
		}
		FgAsOwner(e->ownerid, &save_userid, &save_sec, &save_nestlevel);
		for (int i = 0; i < TS_FOLD_COUNT; i++)
			check_statement(e, i, env, command);
		FgRestoreUser(save_userid, save_sec, save_nestlevel);
	}
	PopActiveSnapshot();
}

/* caller must own relation relid */
static void
check_owner(Oid relid)
{
	if (!pg_class_ownercheck(relid, GetUserId()))
		aclcheck_error(ACLCHECK_NOT_OWNER, get_relkind_objtype(get_rel_relkind(relid)),
					   get_rel_name(relid));
}

/* run one statement in an open SPI connection */
static void
spi_run(const char *sql)
{
	int			ret = SPI_execute(sql, false, 0);

	if (ret < 0)
		elog(ERROR, "fluss_grid: statement failed (%s): %s",
			 SPI_result_code_string(ret), sql);
}

/*
 * fluss_grid_transform_register
 *		The privileged half of create_transform: check that the caller owns
 *		the target and quarantine tables it just created and may read the
 *		source, then, as the extension owner, allocate the id, create the
 *		changelog (one column per stored source column, nullable) and
 *		insert the catalog row.  The stored statements run as the caller
 *		(the transform's owner) only.
 */
Datum
fluss_grid_transform_register(PG_FUNCTION_ARGS)
{
	Oid			target;
	Oid			quarantine = PG_ARGISNULL(1) ? InvalidOid : PG_GETARG_OID(1);
	Oid			source;
	Oid			owner = GetUserId();
	Oid			extowner;
	Oid			save_userid;
	int			save_sec;
	int32		id;
	bool		isnull;
	char	   *changelog;
	StringInfoData ddl;
	Relation	rel;
	TupleDesc	desc;
	Datum		values[14];
	char		nulls[15];

	for (int i = 0; i < 13; i++)
		if (PG_ARGISNULL(i) && i != 1)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("argument %d of transform_register must not be NULL", i + 1)));
	target = PG_GETARG_OID(0);
	source = PG_GETARG_OID(2);
	check_owner(target);
	if (OidIsValid(quarantine))
		check_owner(quarantine);
	if (pg_class_aclcheck(source, owner, ACL_SELECT) != ACLCHECK_OK)
		aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_TABLE, get_rel_name(source));

	extowner = FgExtensionOwner();
	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(extowner, save_sec | SECURITY_LOCAL_USERID_CHANGE);
	SPI_connect();
	spi_run("SELECT nextval('fluss_grid.rollup_id_seq')");
	id = DatumGetInt32(DirectFunctionCall1(int84, SPI_getbinval(SPI_tuptable->vals[0],
																  SPI_tuptable->tupdesc, 1,
																  &isnull)));
	changelog = psprintf("fluss_grid.%s", quote_identifier(psprintf("changelog_%d", id)));

	/* the changelog: the source's stored columns, all nullable */
	initStringInfo(&ddl);
	appendStringInfo(&ddl, "CREATE TABLE %s (_fg_sign smallint", changelog);
	rel = table_open(source, AccessShareLock);
	desc = RelationGetDescr(rel);
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (att->attisdropped || att->attgenerated)
			continue;
		appendStringInfo(&ddl, ", %s %s", quote_identifier(NameStr(att->attname)),
						 format_type_with_typemod(att->atttypid, att->atttypmod));
		if (OidIsValid(att->attcollation) && att->attcollation != DEFAULT_COLLATION_OID)
			appendStringInfo(&ddl, " COLLATE %s", generate_collation_name(att->attcollation));
	}
	table_close(rel, AccessShareLock);
	appendStringInfo(&ddl,
					 ", _fg_reset boolean NOT NULL DEFAULT false"
					 ", _fg_at timestamptz NOT NULL DEFAULT now())"
					 FG_CHANGELOG_RELOPTIONS
					 "; CREATE INDEX %s ON %s (_fg_reset) WHERE _fg_reset"
					 "; GRANT SELECT, INSERT, DELETE ON %s TO %s",
					 quote_identifier(psprintf("changelog_%d_reset", id)), changelog,
					 changelog, quote_identifier(GetUserNameFromId(owner, false)));
	spi_run(ddl.data);

	values[0] = Int32GetDatum(id);
	values[1] = ObjectIdGetDatum(target);
	values[2] = ObjectIdGetDatum(quarantine);
	values[3] = ObjectIdGetDatum(source);
	values[4] = PG_GETARG_DATUM(3);
	values[5] = PG_GETARG_DATUM(4);
	values[6] = ObjectIdGetDatum(owner);
	for (int i = 7; i < 14; i++)
		values[i] = PG_GETARG_DATUM(i - 2);
	memset(nulls, ' ', sizeof(nulls));
	if (!OidIsValid(quarantine))
		nulls[2] = 'n';
	{
		int			ret;

		ret = SPI_execute_with_args("INSERT INTO fluss_grid.transform (id, target_rel, quarantine_rel,"
									" source_rel, key_columns, version_column, owner_id,"
									" capture_insert, capture_delete, capture_update,"
									" capture_truncate, reset_sql, fold_sql, fold_bulk_sql, refresh_sql)"
									" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,"
									" $13, $14, $15)",
									15, (Oid[]) {INT4OID, REGCLASSOID, REGCLASSOID, REGCLASSOID,
										NAMEARRAYOID, NAMEOID, OIDOID, TEXTOID, TEXTOID,
										TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID},
									(Datum[]) {values[0], values[1], values[2], values[3],
										values[4], values[5], values[6], values[7], values[8],
										values[9], values[10], values[11], values[12], values[13],
									PG_GETARG_DATUM(12)},
									nulls, false, 0);
		if (ret != SPI_OK_INSERT)
			elog(ERROR, "could not register transform: %s", SPI_result_code_string(ret));
	}
	SPI_finish();
	SetUserIdAndSecContext(save_userid, save_sec);
	CommandCounterIncrement();
	PG_RETURN_INT32(id);
}

/*
 * fluss_grid_transform_forget
 *		Remove transform id: its capture triggers on the source (if the
 *		source still exists), its changelog and its catalog row.  The caller
 *		must own the target (the sql_drop event trigger runs as the
 *		extension owner).  Waits for a running fold.
 */
Datum
fluss_grid_transform_forget(PG_FUNCTION_ARGS)
{
	int32		id = PG_GETARG_INT32(0);
	Oid			extowner = FgExtensionOwner();
	Oid			save_userid;
	int			save_sec;
	bool		acquired;
	int			ret;
	Datum		arg = Int32GetDatum(id);
	Oid			argtype = INT4OID;
	Oid			target = InvalidOid;
	Oid			source = InvalidOid;
	bool		isnull;

	SPI_connect();
	ret = SPI_execute_with_args("SELECT target_rel::oid, source_rel::oid, owner_id"
								" FROM fluss_grid.transform WHERE id = $1",
								1, &argtype, &arg, NULL, false, 1);
	if (ret != SPI_OK_SELECT || SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("transform %d does not exist", id)));
	target = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	source = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	if (SearchSysCacheExists1(RELOID, ObjectIdGetDatum(target)))
		check_owner(target);
	else if (!superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("only a superuser can remove a transform whose target is gone")));

	FgLockRollup(id, true, &acquired);

	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(extowner, save_sec | SECURITY_LOCAL_USERID_CHANGE);

	/* the catalog row first: the DDL below must not check this transform */
	ret = SPI_execute_with_args("DELETE FROM fluss_grid.transform WHERE id = $1",
								1, &argtype, &arg, NULL, false, 0);
	if (ret != SPI_OK_DELETE)
		elog(ERROR, "could not remove transform %d", id);
	CommandCounterIncrement();
	if (SearchSysCacheExists1(RELOID, ObjectIdGetDatum(source)))
	{
		const char *suffix[] = {"ins", "upd", "del", "trunc", "row"};
		char	   *srcname = FgQualifiedName(source);

		for (int i = 0; i < 5; i++)
			spi_run(psprintf("DROP TRIGGER IF EXISTS %s ON %s",
							 quote_identifier(psprintf("_fg_transform_%d_%s", id, suffix[i])),
							 srcname));
	}
	spi_run(psprintf("DROP TABLE IF EXISTS fluss_grid.%s",
					 quote_identifier(psprintf("changelog_%d", id))));
	SetUserIdAndSecContext(save_userid, save_sec);
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * fluss_grid_refresh_transform
 *		Recompute the whole target (and quarantine) from the source, under
 *		the fold lock, consuming the changelog: the repair after a change of
 *		the dimension tables, and the backfill of create_transform.  Returns
 *		the number of keys written.
 */
Datum
fluss_grid_refresh_transform(PG_FUNCTION_ARGS)
{
	Oid			target = PG_GETARG_OID(0);
	TransformEntry *e = NULL;
	int32		id = 0;
	bool		acquired;
	Oid			save_userid;
	int			save_sec;
	int			save_nestlevel;
	int			ret;
	bool		isnull;
	int64		n;
	Datum		arg = ObjectIdGetDatum(target);
	Oid			argtype = OIDOID;

	SPI_connect();
	ret = SPI_execute_with_args("SELECT id FROM fluss_grid.transform WHERE target_rel = $1",
								1, &argtype, &arg, NULL, true, 1);
	if (ret == SPI_OK_SELECT && SPI_processed == 1)
		id = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	if (id == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("relation \"%s\" is not a transform", get_rel_name(target))));
	check_owner(target);
	FgLockRollup(id, true, &acquired);
	e = transform_get(id);
	if (e == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("transform %d does not exist", id)));

	SPI_connect();
	FgAsOwner(e->ownerid, &save_userid, &save_sec, &save_nestlevel);
	raise_work_mem();
	ret = SPI_execute_plan(transform_plan(e, TS_REFRESH), NULL, NULL, false, 0);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "fluss_grid transform refresh failed: %s", SPI_result_code_string(ret));
	n = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	FgRestoreUser(save_userid, save_sec, save_nestlevel);
	SPI_finish();
	FgNoteChangelogWrite();		/* the target's own rollups have work */
	PG_RETURN_INT64(n);
}
