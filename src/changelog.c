/*-------------------------------------------------------------------------
 *
 * changelog.c
 *	  Changelog capture: the C trigger function fluss_grid.capture() that
 *	  the engine attaches to every rollup source, and the management of
 *	  those triggers.
 *
 * Each rollup gets, on its source and on every partition of it:
 *	_fg_capture_<id>_ins  AFTER INSERT, statement level, NEW TABLE
 *	_fg_capture_<id>_upd  AFTER UPDATE, statement level, OLD and NEW TABLE
 *	_fg_capture_<id>_del  AFTER DELETE, statement level, OLD TABLE
 *	_fg_capture_<id>_trunc  AFTER TRUNCATE (plain table: reset marker) or
 *			BEFORE TRUNCATE (leaf partition: retract its rows)
 * and on the root a row-level trigger _fg_capture_<id>_row enabled only for
 * session_replication_role = replica, because the logical replication
 * apply worker fires row triggers but not statement triggers.
 *
 * A statement's whole transition table is pre-aggregated per bucket and
 * group by one saved plan and written to the rollup's changelog table:
 * a million-row COPY writes one row per bucket and group.  The plan runs
 * as the rollup's owner, under SECURITY_RESTRICTED_OPERATION and a pinned
 * search_path, so a writer needs no rights on the changelog and a rollup
 * expression never runs with the writer's rights.  Writers never touch the
 * rollup table, so they never wait for each other or for the fold.
 *
 * When a transaction that wrote changelog rows commits, the database's
 * worker is woken through its latch.
 *
 * IDENTIFICATION
 *	  src/changelog.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_trigger.h"
#include "commands/event_trigger.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/params.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/tuplestore.h"

#include "fluss_grid.h"

PG_FUNCTION_INFO_V1(fluss_grid_capture);
PG_FUNCTION_INFO_V1(fluss_grid_reconcile_capture);
PG_FUNCTION_INFO_V1(fluss_grid_check_source);
PG_FUNCTION_INFO_V1(fluss_grid_on_ddl_command_end);

/* set while the engine runs DDL of its own, which must not re-enter */
bool		FgSuppressDdlFollowUp = false;

static bool xact_wrote_changelog = false;
static bool xact_callback_registered = false;

static void changelog_xact_callback(XactEvent event, void *arg);
static SPIPlanPtr capture_plan(FgCacheEntry *e, Relation rel,
							   FgCaptureMode mode, bool projection);
static void run_sql(const char *sql);
static List *relations_with_capture(int32 id);

/*
 * FgNoteChangelogWrite
 *		Remember that this transaction wrote changelog rows, so that its
 *		commit wakes the worker.
 */
void
FgNoteChangelogWrite(void)
{
	if (!xact_callback_registered)
	{
		RegisterXactCallback(changelog_xact_callback, NULL);
		xact_callback_registered = true;
	}
	xact_wrote_changelog = true;
}

static void
changelog_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			if (xact_wrote_changelog)
				FgWakeWorker(MyDatabaseId);
			xact_wrote_changelog = false;
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			xact_wrote_changelog = false;
			break;
		default:
			break;
	}
}

/*
 * capture_plan
 *		The saved plan of one capture mode for one relation.
 */
static SPIPlanPtr
capture_plan(FgCacheEntry *e, Relation rel, FgCaptureMode mode,
			 bool projection)
{
	ListCell   *lc;
	FgCapturePlan *cp;
	char	   *sql;
	Oid			argtypes[2];
	int			nargs = 0;
	MemoryContext old;
	Oid			relid = RelationGetRelid(rel);
	const char *relname;

	foreach(lc, e->captures)
	{
		cp = lfirst(lc);
		if (cp->relid == relid && cp->mode == (int) mode &&
			cp->projection == projection)
			return cp->plan;
	}

	if (mode == FG_CAPTURE_INSERT_ROW || mode == FG_CAPTURE_DELETE_ROW ||
		mode == FG_CAPTURE_UPDATE_ROW)
	{
		argtypes[0] = argtypes[1] = rel->rd_rel->reltype;
		nargs = 2;
		relname = format_type_be_qualified(rel->rd_rel->reltype);
	}
	else
		relname = FgQualifiedName(relid);
	sql = projection ? FgSqlCaptureProjection(e->rollup, mode, relname)
		: FgSqlCapture(e->rollup, mode, relname);

	old = MemoryContextSwitchTo(e->cxt);
	cp = palloc(sizeof(FgCapturePlan));
	cp->relid = relid;
	cp->mode = mode;
	cp->projection = projection;
	MemoryContextSwitchTo(old);
	cp->plan = FgCachePlan(e, sql, nargs, argtypes, relid);
	old = MemoryContextSwitchTo(e->cxt);
	e->captures = lappend(e->captures, cp);
	MemoryContextSwitchTo(old);
	return cp->plan;
}

/*
 * lift_sign
 *		+1 or -1 when a capture in this mode is one-sided and the C lift
 *		serves it; 0 to use the SQL lift.
 */
static int
lift_sign(FgCacheEntry *e, FgCaptureMode mode)
{
	if (fluss_grid_capture_method != FG_CAPTURE_METHOD_C)
		return 0;
	/* decided once per cached definition, not per statement */
	if (e->lift_possible == 0)
		e->lift_possible = FgLiftPossible(e->rollup) ? 1 : -1;
	if (e->lift_possible < 0)
		return 0;
	switch (mode)
	{
		case FG_CAPTURE_INSERT:
		case FG_CAPTURE_INSERT_REL:
		case FG_CAPTURE_INSERT_ROW:
			return 1;
		case FG_CAPTURE_DELETE:
		case FG_CAPTURE_RETRACT_REL:
		case FG_CAPTURE_DELETE_ROW:
			return -1;
		default:
			return 0;
	}
}

/*
 * fluss_grid_capture
 *		The changelog trigger.  Arguments: rollup id, and a mode letter:
 *		's' statement capture, 'r' row capture (replication), 't' TRUNCATE
 *		of a plain table (reset), 'p' TRUNCATE of a partition (retract).
 */
Datum
fluss_grid_capture(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	Trigger    *tg;
	int32		id;
	char		how;
	FgCacheEntry *e;
	FgCaptureMode mode;
	Oid			save_userid;
	int			save_sec;
	int			save_nestlevel;
	Datum		values[2] = {0, 0};
	char		nulls[2] = {'n', 'n'};
	int			ret;
	bool		uses_transition = false;
	bool		wrote;
	int			sign;
	uint64		lifted;
	int64		lifted_c;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("fluss_grid.capture() must be called as a trigger")));
	tg = td->tg_trigger;
	if (tg->tgnargs != 2)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("trigger \"%s\" has wrong arguments for fluss_grid.capture()",
						tg->tgname)));
	id = pg_strtoint32(tg->tgargs[0]);
	how = tg->tgargs[1][0];

	e = FgCacheGet(id);
	if (e == NULL)
	{
		/* the rollup is gone (its catalog row was removed): capture nothing */
		return PointerGetDatum(NULL);
	}

	if (how == 's')
	{
		/*
		 * Statements that changed no row (an UPDATE matching nothing, or a
		 * fold's empty CTE on a rollup table) write nothing and must not
		 * wake the worker, which would then wake itself forever.
		 */
		if ((td->tg_newtable == NULL || tuplestore_tuple_count(td->tg_newtable) == 0) &&
			(td->tg_oldtable == NULL || tuplestore_tuple_count(td->tg_oldtable) == 0))
			return PointerGetDatum(NULL);
		uses_transition = true;
		if (TRIGGER_FIRED_BY_INSERT(td->tg_event))
			mode = FG_CAPTURE_INSERT;
		else if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
			mode = FG_CAPTURE_UPDATE;
		else
			mode = FG_CAPTURE_DELETE;
	}
	else if (how == 'r')
	{
		TupleDesc	desc = RelationGetDescr(td->tg_relation);

		if (TRIGGER_FIRED_BY_INSERT(td->tg_event))
		{
			mode = FG_CAPTURE_INSERT_ROW;
			values[0] = heap_copy_tuple_as_datum(td->tg_trigtuple, desc);
			nulls[0] = ' ';
		}
		else if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
		{
			mode = FG_CAPTURE_UPDATE_ROW;
			values[0] = heap_copy_tuple_as_datum(td->tg_newtuple, desc);
			values[1] = heap_copy_tuple_as_datum(td->tg_trigtuple, desc);
			nulls[0] = nulls[1] = ' ';
		}
		else
		{
			mode = FG_CAPTURE_DELETE_ROW;
			values[1] = heap_copy_tuple_as_datum(td->tg_trigtuple, desc);
			nulls[1] = ' ';
		}
	}
	else if (how == 'p')
		mode = FG_CAPTURE_RETRACT_REL;
	else
		mode = FG_CAPTURE_INSERT;	/* unused for 't' */

	SPI_connect();
	if (uses_transition)
	{
		ret = SPI_register_trigger_data(td);
		if (ret != SPI_OK_TD_REGISTER)
			elog(ERROR, "could not register transition tables: %s",
				 SPI_result_code_string(ret));
	}

	FgAsRollupOwner(e->rollup, &save_userid, &save_sec, &save_nestlevel);
	if (how == 't')
	{
		/*
		 * TRUNCATE of a plain table: earlier changes no longer matter; the
		 * fold empties the rollup when it meets the marker.
		 */
		char	   *sql;

		lifted = 1;
		sql = psprintf("WITH x AS (DELETE FROM %s) INSERT INTO %s (_fg_reset) VALUES (true)",
					   e->rollup->deltaname, e->rollup->deltaname);

		ret = SPI_execute(sql, false, 0);
	}
	else if ((sign = lift_sign(e, mode)) != 0)
	{
		/* one-sided: pre-aggregate in C */
		ParamListInfo params = NULL;

		if (how == 'r')
		{
			params = makeParamList(2);
			for (int p = 0; p < 2; p++)
			{
				params->params[p].value = values[p];
				params->params[p].isnull = (nulls[p] == 'n');
				params->params[p].pflags = PARAM_FLAG_CONST;
				params->params[p].ptype = td->tg_relation->rd_rel->reltype;
			}
		}
		ret = SPI_OK_SELECT;
		lifted = FgLiftCapture(e, capture_plan(e, td->tg_relation, mode, true),
							   params, sign,
							   mode == FG_CAPTURE_INSERT ? td->tg_newtable :
							   mode == FG_CAPTURE_DELETE ? td->tg_oldtable : NULL,
							   RelationGetDescr(td->tg_relation));
	}
	else if (mode == FG_CAPTURE_UPDATE && lift_sign(e, FG_CAPTURE_INSERT) != 0 &&
			 (lifted_c = FgLiftCaptureUpdate(e, capture_plan(e, td->tg_relation,
															 FG_CAPTURE_INSERT, true),
											 td->tg_oldtable, td->tg_newtable,
											 RelationGetDescr(td->tg_relation))) >= 0)
	{
		/* an UPDATE statement: old and new rows lifted pairwise in C */
		ret = SPI_OK_SELECT;
		lifted = (uint64) lifted_c;
	}
	else
	{
		ret = SPI_execute_plan(capture_plan(e, td->tg_relation, mode, false),
							   values, nulls, false, 0);
		lifted = SPI_processed;
	}
	if (ret < 0)
		elog(ERROR, "fluss_grid capture failed: %s", SPI_result_code_string(ret));
	wrote = (lifted > 0);
	FgRestoreUser(save_userid, save_sec, save_nestlevel);
	SPI_finish();

	if (wrote)
		FgNoteChangelogWrite();
	return PointerGetDatum(NULL);
}

static void
run_sql(const char *sql)
{
	int			ret;

	SPI_connect();
	ret = SPI_execute(sql, false, 0);
	if (ret < 0)
		elog(ERROR, "fluss_grid: statement failed: %s: %s",
			 SPI_result_code_string(ret), sql);
	SPI_finish();
}

/*
 * FgAttachCapture
 *		Create rollup r's capture triggers on relid, which is r's source or
 *		one of its partitions.
 */
void
FgAttachCapture(const FgRollup *r, Oid relid)
{
	char		relkind = get_rel_relkind(relid);
	bool		is_root = (relid == r->sourceid);
	bool		is_partition = get_rel_relispartition(relid) && !is_root;
	char	   *rel = FgQualifiedName(relid);
	StringInfoData sql;

	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "CREATE TRIGGER _fg_capture_%d_ins AFTER INSERT ON %s"
					 " REFERENCING NEW TABLE AS " FG_NEW_TABLE
					 " FOR EACH STATEMENT EXECUTE FUNCTION fluss_grid.capture('%d', 's');\n"
					 "CREATE TRIGGER _fg_capture_%d_upd AFTER UPDATE ON %s"
					 " REFERENCING OLD TABLE AS " FG_OLD_TABLE " NEW TABLE AS " FG_NEW_TABLE
					 " FOR EACH STATEMENT EXECUTE FUNCTION fluss_grid.capture('%d', 's');\n"
					 "CREATE TRIGGER _fg_capture_%d_del AFTER DELETE ON %s"
					 " REFERENCING OLD TABLE AS " FG_OLD_TABLE
					 " FOR EACH STATEMENT EXECUTE FUNCTION fluss_grid.capture('%d', 's');\n",
					 r->id, rel, r->id, r->id, rel, r->id, r->id, rel, r->id);

	/*
	 * TRUNCATE has only this trigger, and logical replication applies it
	 * as a statement: enabled ALWAYS, so replicated TRUNCATEs count too.
	 */
	if (relkind == RELKIND_RELATION && is_partition)
		appendStringInfo(&sql,
						 "CREATE TRIGGER _fg_capture_%d_trunc BEFORE TRUNCATE ON %s"
						 " FOR EACH STATEMENT EXECUTE FUNCTION fluss_grid.capture('%d', 'p');\n"
						 "ALTER TABLE %s ENABLE ALWAYS TRIGGER _fg_capture_%d_trunc;\n",
						 r->id, rel, r->id, rel, r->id);
	else if (relkind == RELKIND_RELATION)
		appendStringInfo(&sql,
						 "CREATE TRIGGER _fg_capture_%d_trunc AFTER TRUNCATE ON %s"
						 " FOR EACH STATEMENT EXECUTE FUNCTION fluss_grid.capture('%d', 't');\n"
						 "ALTER TABLE %s ENABLE ALWAYS TRIGGER _fg_capture_%d_trunc;\n",
						 r->id, rel, r->id, rel, r->id);

	if (is_root)
		appendStringInfo(&sql,
						 "CREATE TRIGGER _fg_capture_%d_row AFTER INSERT OR UPDATE OR DELETE ON %s"
						 " FOR EACH ROW EXECUTE FUNCTION fluss_grid.capture('%d', 'r');\n"
						 "ALTER TABLE %s ENABLE REPLICA TRIGGER _fg_capture_%d_row;\n",
						 r->id, rel, r->id, rel, r->id);
	else if (get_rel_relispartition(relid))
	{
		/* the cloned row trigger follows the root's: replica only */
		appendStringInfo(&sql,
						 "ALTER TABLE %s ENABLE REPLICA TRIGGER _fg_capture_%d_row;\n",
						 rel, r->id);
	}
	run_sql(sql.data);
}

/*
 * FgDetachCapture
 *		Drop rollup id's statement-level capture triggers from relid.
 */
void
FgDetachCapture(int32 id, Oid relid)
{
	char	   *rel = FgQualifiedName(relid);
	const char *kinds[] = {"ins", "upd", "del", "trunc"};
	StringInfoData sql;

	initStringInfo(&sql);
	/* a detached partition's clone of the row trigger went with DETACH */
	for (int k = 0; k < 4; k++)
		appendStringInfo(&sql, "DROP TRIGGER IF EXISTS _fg_capture_%d_%s ON %s;\n",
						 id, kinds[k], rel);
	run_sql(sql.data);
}

/* relations carrying rollup id's statement capture trigger */
static List *
relations_with_capture(int32 id)
{
	List	   *rels = NIL;
	MemoryContext callercxt = CurrentMemoryContext;
	char	   *sql = psprintf("SELECT tgrelid FROM pg_catalog.pg_trigger WHERE tgname = '_fg_capture_%d_ins'", id);

	SPI_connect();
	if (SPI_execute(sql, false, 0) == SPI_OK_SELECT)
	{
		MemoryContext spicxt = MemoryContextSwitchTo(callercxt);

		for (uint64 i = 0; i < SPI_processed; i++)
		{
			bool		isnull;

			rels = lappend_oid(rels, DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
																	SPI_tuptable->tupdesc, 1, &isnull)));
		}
		MemoryContextSwitchTo(spicxt);
	}
	SPI_finish();
	return rels;
}

/*
 * FgReconcileCapture
 *		Make the capture triggers of rollup r cover exactly its source and
 *		the source's current partitions.  A partition that gains triggers
 *		here (created or attached) has its rows captured as inserts, so an
 *		attached partition's rows reach the rollup; a table that lost its
 *		place in the tree (detached) loses its triggers, and the rollup
 *		keeps what it had from it.
 */
void
FgReconcileCapture(const FgRollup *r, bool backfill)
{
	List	   *want = list_make1_oid(r->sourceid);
	List	   *have;
	ListCell   *lc;

	if (get_rel_relkind(r->sourceid) == RELKIND_PARTITIONED_TABLE)
		want = list_concat(want, find_all_inheritors(r->sourceid, NoLock, NULL));
	want = list_concat_unique_oid(NIL, want);
	have = relations_with_capture(r->id);

	foreach(lc, want)
	{
		Oid			relid = lfirst_oid(lc);

		if (list_member_oid(have, relid))
			continue;
		FgAttachCapture(r, relid);
		if (backfill && relid != r->sourceid &&
			get_rel_relkind(relid) == RELKIND_RELATION)
		{
			FgCacheEntry *e;
			Relation	rel;
			Oid			save_userid;
			int			save_sec;
			int			save_nestlevel;

			FgCacheInvalidateAll();
			e = FgCacheGet(r->id);
			if (e == NULL)
				continue;
			rel = table_open(relid, AccessShareLock);
			SPI_connect();
			FgAsRollupOwner(e->rollup, &save_userid, &save_sec, &save_nestlevel);
			if (lift_sign(e, FG_CAPTURE_INSERT_REL) != 0)
				FgLiftCapture(e, capture_plan(e, rel, FG_CAPTURE_INSERT_REL, true),
							  NULL, 1, NULL, NULL);
			else if (SPI_execute_plan(capture_plan(e, rel, FG_CAPTURE_INSERT_REL, false),
									  NULL, NULL, false, 0) < 0)
				elog(ERROR, "could not capture the rows of attached partition");
			FgRestoreUser(save_userid, save_sec, save_nestlevel);
			SPI_finish();
			table_close(rel, NoLock);
			FgNoteChangelogWrite();
		}
	}
	foreach(lc, have)
	{
		Oid			relid = lfirst_oid(lc);

		if (!list_member_oid(want, relid))
			FgDetachCapture(r->id, relid);
	}
}

/* error context while checking a rollup after DDL on its source */
static void
check_source_context(void *arg)
{
	errcontext("checking rollup %s after a change of its source", (const char *) arg);
}

/*
 * fluss_grid_check_source
 *		Called by the ddl_command_end event trigger after ALTER TABLE on a
 *		rollup's source: the rollup must still find every column it uses
 *		by name (a rename would break it), else the ALTER is rolled back.
 */
Datum
fluss_grid_check_source(PG_FUNCTION_ARGS)
{
	FgRollup   *r;
	ErrorContextCallback cb;
	char	   *sql;

	if (FgSuppressDdlFollowUp)
		PG_RETURN_VOID();
	r = FgRollupLoad(PG_GETARG_INT32(0), true);
	if (r == NULL)
		PG_RETURN_VOID();
	cb.callback = check_source_context;
	cb.arg = r->relname;
	cb.previous = error_context_stack;
	error_context_stack = &cb;
	sql = FgSqlCapture(r, FG_CAPTURE_INSERT_REL, r->sourcename);
	SPI_connect();
	if (SPI_prepare(sql, 0, NULL) == NULL)
		elog(ERROR, "could not prepare capture of rollup %s", r->relname);
	SPI_finish();
	error_context_stack = cb.previous;
	PG_RETURN_VOID();
}

/*
 * fluss_grid_reconcile_capture
 *		SQL entry point, called by the ddl_command_end event trigger.
 */
Datum
fluss_grid_reconcile_capture(PG_FUNCTION_ARGS)
{
	FgRollup   *r;

	if (FgSuppressDdlFollowUp)
		PG_RETURN_VOID();
	r = FgRollupLoad(PG_GETARG_INT32(0), true);
	if (r != NULL)
		FgReconcileCapture(r, true);
	PG_RETURN_VOID();
}

/* rollup ids whose source is relid */
static List *
rollups_on_source(Oid relid)
{
	List	   *ids = NIL;
	MemoryContext callercxt = CurrentMemoryContext;
	Oid			argtypes[1] = {OIDOID};
	Datum		args[1] = {ObjectIdGetDatum(relid)};

	SPI_connect();
	if (SPI_execute_with_args("SELECT id FROM fluss_grid.rollup WHERE source_rel = $1",
							  1, argtypes, args, NULL, false, 0) == SPI_OK_SELECT)
	{
		MemoryContext spicxt = MemoryContextSwitchTo(callercxt);

		for (uint64 i = 0; i < SPI_processed; i++)
		{
			bool		isnull;

			ids = lappend_int(ids, DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[i],
															   SPI_tuptable->tupdesc, 1, &isnull)));
		}
		MemoryContextSwitchTo(spicxt);
	}
	SPI_finish();
	return ids;
}

/* reconcile the capture of every rollup on relid or on one of its ancestors */
static void
reconcile_tree(Oid relid)
{
	List	   *rels = lcons_oid(relid, get_rel_relispartition(relid) ?
								 get_partition_ancestors(relid) : NIL);
	ListCell   *lc;

	foreach(lc, rels)
	{
		ListCell   *lc2;

		foreach(lc2, rollups_on_source(lfirst_oid(lc)))
		{
			FgRollup   *r = FgRollupLoad(lfirst_int(lc2), true);

			if (r != NULL)
				FgReconcileCapture(r, true);
		}
	}
}

/* check_source for every rollup on relid */
static void
check_sources(Oid relid)
{
	ListCell   *lc;

	foreach(lc, rollups_on_source(relid))
		DirectFunctionCall1(fluss_grid_check_source, Int32GetDatum(lfirst_int(lc)));
}

/*
 * as_engine
 *		Run fn(relid) as the extension owner under a pinned search_path:
 *		the event trigger creates triggers on partitions whatever role
 *		attached them, and must not resolve names through the caller's path
 *		(relation names in the statement were resolved before).
 */
static void
as_engine(void (*fn) (Oid), Oid relid)
{
	Oid			save_userid;
	int			save_sec;
	int			nest = NewGUCNestLevel();

	(void) set_config_option("search_path", "pg_catalog, pg_temp",
							 PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(FgExtensionOwner(), save_sec | SECURITY_LOCAL_USERID_CHANGE);
	fn(relid);
	SetUserIdAndSecContext(save_userid, save_sec);
	AtEOXact_GUC(true, nest);
}

/*
 * fluss_grid_on_ddl_command_end
 *		Event trigger on ddl_command_end.  Reads the parse tree:
 *		- ATTACH / DETACH PARTITION, CREATE TABLE ... PARTITION OF: make the
 *		  capture triggers of rollups on the tree cover the new set of
 *		  partitions (an attached table's rows are captured as inserts);
 *		- RENAME of a column of a rollup source: refused if a rollup uses it;
 *		- renames, schema moves, ALTER TABLE and DROP of anything: refused if
 *		  a transform's stored statements no longer parse afterwards.
 */
Datum
fluss_grid_on_ddl_command_end(PG_FUNCTION_ARGS)
{
	EventTriggerData *trigdata;
	Node	   *stmt;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("fluss_grid.on_ddl_command_end() must be called as an event trigger")));
	if (FgSuppressDdlFollowUp)
		PG_RETURN_VOID();
	trigdata = (EventTriggerData *) fcinfo->context;
	stmt = trigdata->parsetree;

	if (IsA(stmt, AlterTableStmt))
	{
		AlterTableStmt *ats = (AlterTableStmt *) stmt;
		ListCell   *lc;
		bool		partitions_changed = false;
		Oid			relid;

		foreach(lc, ats->cmds)
		{
			AlterTableCmd *cmd = lfirst(lc);

			if (cmd->subtype == AT_AttachPartition || cmd->subtype == AT_DetachPartition ||
				cmd->subtype == AT_DetachPartitionFinalize)
				partitions_changed = true;
		}
		relid = RangeVarGetRelid(ats->relation, NoLock, true);
		if (partitions_changed && OidIsValid(relid))
			as_engine(reconcile_tree, relid);
	}
	else if (IsA(stmt, CreateStmt) && ((CreateStmt *) stmt)->partbound != NULL)
	{
		Oid			relid = RangeVarGetRelid(((CreateStmt *) stmt)->relation, NoLock, true);

		if (OidIsValid(relid))
			as_engine(reconcile_tree, relid);
	}
	else if (IsA(stmt, RenameStmt) && ((RenameStmt *) stmt)->renameType == OBJECT_COLUMN)
	{
		RenameStmt *rs = (RenameStmt *) stmt;
		Oid			relid = RangeVarGetRelid(rs->relation, NoLock, true);

		if (OidIsValid(relid))
			as_engine(check_sources, relid);
	}
	if (IsA(stmt, RenameStmt) || IsA(stmt, AlterObjectSchemaStmt) ||
		IsA(stmt, AlterTableStmt) || IsA(stmt, DropStmt))
		FgCheckTransforms(GetCommandTagName(trigdata->tag));
	PG_RETURN_VOID();
}
