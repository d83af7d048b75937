/*-------------------------------------------------------------------------
 *
 * fold.c
 *	  Folding a rollup's changelog into the rollup table.
 *
 * A fold is two statements in one transaction, run as the rollup's owner
 * under a pinned search_path:
 *	1. the reset statement: pending TRUNCATE markers empty the rollup;
 *	2. the fold statement (rollup_sql.c): consume every changelog row
 *	   visible to its snapshot, apply them, recompute stale groups from the
 *	   source as of that same snapshot.
 * Because changelog rows are written by the same transactions as the source
 * changes they describe, "visible changelog rows" and "visible source rows"
 * describe the same set of transactions: a recompute can never count a
 * change that a later fold applies again.
 *
 * Folds of one rollup are serialised by a transaction-level advisory lock
 * on (fluss_grid, rollup id), taken before the statements' snapshots; the
 * worker only tries it and moves on, refresh_rollup waits for it.  Writers
 * never take it.
 *
 * Writes to a rollup table fire the capture triggers of rollups built on
 * it, so the changes of level n reach level n + 1's changelog in the same
 * transaction as the fold of level n.
 *
 * IDENTIFICATION
 *	  src/fold.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relation.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "commands/vacuum.h"
#include "nodes/makefuncs.h"
#include "parser/parse_node.h"
#include "pgstat.h"
#include "utils/backend_status.h"
#include "utils/hsearch.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "access/table.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "fluss_grid.h"

/* advisory lock class used for rollups: arbitrary, fixed */
#define FG_LOCK_CLASS 0x464c5553	/* "FLUS" */

/*
 * The worker vacuums a changelog itself after folding this many of its rows:
 * autovacuum looks at a database once a minute, and under a stream of small
 * transactions a changelog would meanwhile fill with hundreds of thousands
 * of dead rows that every fold pass has to step over (and a VACUUM without
 * truncation leaves the table at its largest size, so it must not grow
 * big in between).  Every fold reads all of a changelog's pages, dead
 * rows included: a minutely fold every few ms under single-row INSERTs
 * spent a quarter of its time stepping over the dead rows of 2,000 folded
 * changes (and an hourly changelog, whose rows are few but wide, grew to
 * 600 pages before reaching that count).  Each VACUUM updates pg_class,
 * which makes the SQL fold replan its statement (the C fold's statement
 * does not read the changelog).
 */
#define FG_VACUUM_AFTER 500

/*
 * ... but not more often than every this many ms: under a dense stream a
 * pass folds that many rows every few ms, and a VACUUM per pass (each
 * invalidates the plans that name the changelog) would cost more than the
 * dead rows it removes.  At 20,000 readings/s through the warehouse, 100
 * ms instead of 250 shortened the first worker's passes enough to take
 * commit -> visible from p99 107.5 to 92.8 ms, for 4-8 ms of VACUUM a
 * second more; single-row INSERTs kept their throughput (BENCHMARKS.md,
 * issue 4, session 15).
 */
#define FG_VACUUM_EVERY 100

/*
 * A VACUUM that leaves this many dead rows behind was held up by a
 * snapshot (see vacuum_changelog) and backs off.
 */
#define FG_VACUUM_STUCK 2000

/*
 * ... and again after this many ms if that VACUUM left dead rows behind,
 * doubling while they stay (a long transaction holds them) up to the max
 */
#define FG_VACUUM_RETRY 1000
#define FG_VACUUM_RETRY_MAX 60000

/*
 * ... and summarizes the new block ranges of the BRIN index it created on a
 * source at most this often (ms).  autosummarize queues one request per
 * filled range in autovacuum's 256-slot work-item queue, which a bulk load
 * overflows; unsummarized ranges match every query, so a recompute would
 * read the whole unsummarized tail of the source.
 */
#define FG_SUMMARIZE_EVERY 1000

/*
 * ... and ANALYZEs a rollup table that has no statistics yet, or has grown
 * to more than twice the pages they were taken at, once it has
 * FG_ANALYZE_MIN_PAGES pages (checked at most every FG_SUMMARIZE_EVERY ms
 * while it changes).  The fold's statement is a saved plan: made while the
 * table was empty, it joins the batch with a sequential scan of the
 * rollup, and nothing replans it until autovacuum's ANALYZE comes (a
 * minute or more into a stream), while every pass reads the whole table.
 */
#define FG_ANALYZE_MIN_PAGES 64

typedef struct VacuumDebt
{
	int32		id;				/* rollup, hash key */
	int64		rows;			/* changelog rows deleted since its vacuum */
	TimestampTz retry_at;		/* not before (FG_VACUUM_EVERY, or its last
								 * vacuum left dead rows) */
	int			retry_ms;		/* the wait before that retry, doubling */
	TimestampTz summarized;		/* last summary of the source's BRIN index */
	bool		source_grew;	/* changes folded since that summary */
	bool		rollup_changed; /* changes folded since the statistics check */
	TimestampTz checked;		/* last check of the rollup's statistics */
	int64		source_bytes;	/* size of the source at that summary */
} VacuumDebt;

static HTAB *vacuum_debt = NULL;

/*
 * Set by the worker for each pass: a later worker of this database does
 * the chores of this one's folds (FgFoldHousekeeping), so they are handed
 * over in shared memory rather than done here.
 */
bool		FgChoresElsewhere = false;

static void vacuum_changelog(VacuumDebt *debt);
static void add_chores(int32 id, int64 rows, bool rollup_changed);
static void take_handed_chores(void);
static void summarize_source_index(VacuumDebt *debt);
static void analyze_rollup(VacuumDebt *debt);

/*
 * FgAsRollupOwner
 *		Become the rollup's owner for the engine's statements: restricted
 *		operation (no changes to session state), search_path pinned to
 *		pg_catalog.  Undo with FgRestoreUser.
 */
void
FgAsRollupOwner(const FgRollup *r, Oid *save_userid, int *save_sec,
				int *save_nestlevel)
{
	FgAsOwner(r->ownerid, save_userid, save_sec, save_nestlevel);
}

/*
 * FgLockFoldRelations
 *		Lock the relations a fold reads (AccessShareLock) and writes
 *		(RowExclusiveLock), in that order, before its statements lock them
 *		in whatever order their range tables list them.  The worker
 *		(wait = false) takes none of them if one is not available at once
 *		and folds later: otherwise a DROP ... CASCADE or a rewrite that
 *		holds one of them exclusively while it waits for another the fold
 *		already holds would deadlock with it.  False when skipped.
 */
bool
FgLockFoldRelations(const Oid *reads, int nreads, const Oid *writes, int nwrites, bool wait)
{
	for (int i = 0; i < nreads + nwrites; i++)
	{
		Oid			relid = i < nreads ? reads[i] : writes[i - nreads];
		LOCKMODE	mode = i < nreads ? AccessShareLock : RowExclusiveLock;

		if (wait)
			LockRelationOid(relid, mode);
		else if (!ConditionalLockRelationOid(relid, mode))
			return false;
	}
	return true;
}

/*
 * FgAsOwner
 *		FgAsRollupOwner for any owner (transforms too).
 */
void
FgAsOwner(Oid owner, Oid *save_userid, int *save_sec, int *save_nestlevel)
{
	GetUserIdAndSecContext(save_userid, save_sec);
	SetUserIdAndSecContext(owner,
						   *save_sec | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	*save_nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp",
							 PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);

	/*
	 * The engine's statements are short; their estimates (a drained queue
	 * with many dead rows) can cross the JIT thresholds, and compiling
	 * costs seconds for a fold that runs in milliseconds.
	 */
	(void) set_config_option("jit", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
}

/*
 * FgRestoreUser
 *		Undo FgAsRollupOwner.
 */
void
FgRestoreUser(Oid save_userid, int save_sec, int save_nestlevel)
{
	AtEOXact_GUC(false, save_nestlevel);
	SetUserIdAndSecContext(save_userid, save_sec);
}

/*
 * FgLockRollup
 *		Take the fold lock of rollup id for the rest of the transaction.
 */
void
FgLockRollup(int32 id, bool wait, bool *acquired)
{
	LOCKTAG		tag;
	LockAcquireResult res;

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, FG_LOCK_CLASS, (uint32) id, 2);
	res = LockAcquire(&tag, ExclusiveLock, false, !wait);
	*acquired = (res != LOCKACQUIRE_NOT_AVAIL);
}

/*
 * check_ready
 *		A rollup whose source lacks its capture trigger is not folded: that
 *		is a database being restored (pg_restore creates triggers last,
 *		after the data and the indexes), and folding into half-loaded
 *		tables would count changes twice.  Reported as an error, so the
 *		fold backs off and fluss_grid.rollups says why.
 */
/*
 * The name of the first of rollup id's statement capture triggers missing
 * on relid, or NULL when INSERT, UPDATE and DELETE are all captured (a
 * restore creates them one by one).
 */
static char *
missing_capture(Oid relid, int32 id)
{
	static const char *const kinds[] = {"ins", "upd", "del"};
	Relation	rel;
	char	   *missing = NULL;

	/* a trigger committed after we locked the table must be seen too */
	AcceptInvalidationMessages();
	rel = table_open(relid, AccessShareLock);

	for (int k = 0; k < lengthof(kinds) && missing == NULL; k++)
	{
		char	   *name = psprintf("_fg_capture_%d_%s", id, kinds[k]);
		bool		found = false;

		if (rel->trigdesc)
			for (int i = 0; i < rel->trigdesc->numtriggers && !found; i++)
				found = strcmp(rel->trigdesc->triggers[i].tgname, name) == 0;
		if (!found)
			missing = name;
	}
	table_close(rel, AccessShareLock);
	return missing;
}

static void
not_ready(const FgRollup *r, const char *trigger, const char *relname)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("rollup %s is not ready: trigger \"%s\" on %s is missing",
					r->relname, trigger, relname),
			 errdetail("A database being restored gets its triggers last; folding waits for them."),
			 errhint("If the trigger was dropped by hand, recreate the rollup.")));
}

static void
check_ready(const FgRollup *r)
{
	char	   *missing = missing_capture(r->sourceid, r->id);
	ListCell   *lc;

	if (missing)
		not_ready(r, missing, r->sourcename);

	/* the rollups built on this one must already capture what we write */
	foreach(lc, FgRollupChildren(r->id))
	{
		missing = missing_capture(r->relid, lfirst_int(lc));
		if (missing)
			not_ready(r, missing, r->relname);
	}
}

/*
 * fold_in_c
 *		Run the C fold's statement (FgSqlFoldCompute) in snap.  Returns
 *		false when it left the fold to the SQL statement, having written
 *		nothing; else the changelog rows consumed are in *consumed, and
 *		*more says whether the row limit left some.  A soft limit (an
 *		upper level's bound) grows to a quarter of the backlog: a level
 *		that falls behind would otherwise read an ever longer changelog
 *		for the same few rows in every pass, until it no longer fits in
 *		memory and goes to the slower SQL fold.
 */
static bool
fold_in_c(FgCacheEntry *e, Snapshot snap, int64 max_rows, bool soft, int64 *consumed,
		  bool *more)
{
	Datum		limit = Int64GetDatum(max_rows);
	int			nestlevel = NewGUCNestLevel();

	/*
	 * The rows are written by TID: a nested loop over the computed rows with
	 * a TID scan inside, whatever the rollup's size.  A plan made while the
	 * table was small (or its statistics stale) would otherwise join a
	 * sequential scan of the whole rollup in every fold, and the rollup is
	 * the statement's only table.  The plan cache may replan at any
	 * execution, so the settings hold for each.
	 */
	(void) set_config_option("enable_hashjoin", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("enable_mergejoin", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("enable_seqscan", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	FgFoldComputeBegin(e->rollup->id, soft);
	PG_TRY();
	{
		int			ret = SPI_execute_snapshot(e->fold_c_plan, &limit, NULL, snap,
											   InvalidSnapshot, false, true, 0);

		if (ret != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "fluss_grid fold failed: %s", SPI_result_code_string(ret));
	}
	PG_CATCH();
	{
		int64		ignored;
		bool		ignored_more;

		(void) FgFoldComputeEnd(&ignored, &ignored_more);
		PG_RE_THROW();
	}
	PG_END_TRY();
	AtEOXact_GUC(true, nestlevel);
	return FgFoldComputeEnd(consumed, more);
}

/*
 * FgFoldRollup
 *		Fold rollup r's changelog, in the current transaction.  Returns
 *		false when another session holds the fold lock and wait is false.
 *		limit > 0 (and, in the worker, fluss_grid.batch_size) bounds the
 *		changelog rows consumed: whole groups, oldest change first, and
 *		res->more says that some were left.
 */
bool
FgFoldRollup(const FgRollup *r, bool wait, int64 limit, FgFoldResult *res)
{
	FgCacheEntry *e;
	bool		acquired;
	Oid			save_userid;
	int			save_sec;
	int			save_nestlevel;
	int			ret;
	Snapshot	snap;
	bool		soft;

	res->deltas = 0;
	res->recomputed = 0;
	res->more = false;
	res->in_c = false;

	FgLockRollup(r->id, wait, &acquired);
	if (!acquired)
		return false;

	e = FgCacheGet(r->id);
	if (e == NULL)
		return true;			/* dropped meanwhile */
	if (!FgLockFoldRelations(&e->rollup->sourceid, 1, &e->rollup->relid, 1, wait))
		return false;

	/*
	 * Once the triggers are found, the entry keeps knowing it: dropping
	 * one, or creating a rollup on this one, invalidates the entry.
	 */
	if (!e->ready)
	{
		check_ready(e->rollup);
		e->ready = true;
	}

	/*
	 * Plans made for a changelog, rollup or source of another size are
	 * made again (plan_watch.c).  The C fold's statement is planned under
	 * fixed settings but scans a changelog too.
	 */
	if (!e->fold_watch.set)
	{
		Oid			rels[3];

		rels[0] = get_relname_relid(psprintf("changelog_%d", e->rollup->id),
									get_namespace_oid(FG_SCHEMA, false));
		rels[1] = e->rollup->relid;
		rels[2] = e->rollup->sourceid;
		FgPlanWatchInit(&e->fold_watch, e->rollup->relid, 3, rels, true);
	}
	if (FgPlanWatchMoved(&e->fold_watch))
	{
		FgCacheForgetPlan(e, &e->reset_plan);
		FgCacheForgetPlan(e, &e->fold_plan);
		FgCacheForgetPlan(e, &e->fold_c_plan);
		FgCacheForgetPlan(e, &e->fold_batch_plan);
	}

	SPI_connect();
	FgAsRollupOwner(e->rollup, &save_userid, &save_sec, &save_nestlevel);

	if (e->reset_plan == NULL)
		e->reset_plan = FgCachePlan(e, FgSqlReset(e->rollup), 0, NULL, InvalidOid);
	if (e->fold_plan == NULL)
		e->fold_plan = FgCachePlan(e, FgSqlFold(e->rollup, false), 0, NULL, InvalidOid);
	if (e->fold_c_possible == 0)
	{
		e->fold_c_possible = 1;
		for (int i = 0; i < e->rollup->naggs; i++)
			if (!FgAggFoldPossible(&e->rollup->aggs[i]))
				e->fold_c_possible = -1;
	}
	if (fluss_grid_fold_method == FG_FOLD_METHOD_C && e->fold_c_possible > 0 &&
		e->fold_c_plan == NULL)
	{
		Oid			argtypes[1] = {INT8OID};

		e->fold_c_plan = FgCachePlan(e, FgSqlFoldCompute(e->rollup), 1, argtypes,
									 InvalidOid);
	}
	/* batch_size is a hard limit, the caller's a soft one (see fold_in_c) */
	if (fluss_grid_batch_size > 0 && !wait &&
		(limit == 0 || fluss_grid_batch_size <= limit))
	{
		limit = fluss_grid_batch_size;
		soft = false;
	}
	else
		soft = (limit > 0);
	if (limit > 0 && e->fold_batch_plan == NULL)
	{
		Oid			argtypes[1] = {INT8OID};

		e->fold_batch_plan = FgCachePlan(e, FgSqlFold(e->rollup, true), 1, argtypes,
										 InvalidOid);
	}

	/*
	 * Both statements must see the same committed transactions: a TRUNCATE
	 * marker and the changes committed with it are applied together or not
	 * at all.  One snapshot, taken after the lock; the second statement
	 * still sees the first one's writes (SPI advances the command id).
	 *
	 * With batch_size, a worker folds one batch per pass and comes back for
	 * the rest in a new transaction.  A session folding for itself
	 * (wait_for_rollups without the library preloaded, fold_now) folds
	 * everything its snapshot sees in one statement: batches in a loop
	 * would each sort the whole backlog again, and with a fresh snapshot
	 * each they would chase concurrent writers for as long as they write,
	 * holding the fold lock all along.
	 */
	{
		Datum		limitd = Int64GetDatum(limit);
		bool		batched = (limit > 0);
		bool		isnull;
		bool		done_in_c = false;

		snap = RegisterSnapshot(GetTransactionSnapshot());

		/*
		 * The C fold first; when it leaves the work to the SQL statements
		 * (a TRUNCATE marker among the rows among other reasons) it has
		 * written nothing, and they run in the same snapshot.
		 */
		if (fluss_grid_fold_method == FG_FOLD_METHOD_C && e->fold_c_plan != NULL)
			done_in_c = res->in_c = fold_in_c(e, snap, limit, soft, &res->deltas, &res->more);
		if (!done_in_c)
		{
			ret = SPI_execute_snapshot(e->reset_plan, NULL, NULL, snap, InvalidSnapshot,
									   false, true, 0);
			if (ret < 0)
				elog(ERROR, "fluss_grid reset failed: %s", SPI_result_code_string(ret));
			ret = SPI_execute_snapshot(batched ? e->fold_batch_plan : e->fold_plan,
									   batched ? &limitd : NULL, NULL, snap, InvalidSnapshot,
									   false, true, 0);
			if (ret != SPI_OK_SELECT || SPI_processed != 1)
				elog(ERROR, "fluss_grid fold failed: %s", SPI_result_code_string(ret));
			res->deltas = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
													  SPI_tuptable->tupdesc, 1, &isnull));
			res->recomputed = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
														  SPI_tuptable->tupdesc, 2, &isnull));
			res->more = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
													SPI_tuptable->tupdesc, 4, &isnull)) > 0;
		}
		UnregisterSnapshot(snap);
	}
	FgRestoreUser(save_userid, save_sec, save_nestlevel);
	SPI_finish();
	return true;
}

/*
 * When this worker last folded each rollup, keyed by rollup id (looked up
 * for the upper levels only).
 */
typedef struct UpperFoldClock
{
	int32		id;				/* rollup, hash key */
	TimestampTz folded;			/* end of its last fold by this worker */
} UpperFoldClock;

static HTAB *upper_clock = NULL;

/* a worker-lifetime hash table of entries keyed by rollup id (int32 first) */
static HTAB *
rollup_hash(const char *name, Size entrysize)
{
	HASHCTL		ctl;

	ctl.keysize = sizeof(int32);
	ctl.entrysize = entrysize;
	return hash_create(name, 64, &ctl, HASH_ELEM | HASH_BLOBS);
}

static void
note_upper_fold(int32 id)
{
	UpperFoldClock *c;

	if (upper_clock == NULL)
		upper_clock = rollup_hash("fluss_grid upper fold clock", sizeof(UpperFoldClock));
	c = hash_search(upper_clock, &id, HASH_ENTER, NULL);
	c->folded = GetCurrentTimestamp();
}

/*
 * upper_fold_due
 *		Of the upper-level rollups ids, the one to fold in this pass: the
 *		one folded longest ago, if upper_fold_interval has passed since;
 *		0 when none is due.  One this worker never folded is due.
 */
static int32
upper_fold_due(List *ids)
{
	int32		due = 0;
	TimestampTz oldest = 0;
	TimestampTz now = GetCurrentTimestamp();
	ListCell   *lc;

	foreach(lc, ids)
	{
		int32		id = lfirst_int(lc);
		UpperFoldClock *c = upper_clock == NULL ? NULL :
			hash_search(upper_clock, &id, HASH_FIND, NULL);
		TimestampTz folded = c ? c->folded : 0;

		if (now - folded < (TimestampTz) fluss_grid_upper_fold_interval * 1000)
			continue;
		if (due == 0 || folded < oldest)
		{
			due = id;
			oldest = folded;
		}
	}
	return due;
}

/* not inlined: keeps setjmp-clobber warnings away from PG_TRY blocks */
static pg_noinline void
switch_context(MemoryContext cxt)
{
	MemoryContextSwitchTo(cxt);
}

/*
 * FgFoldAll
 *		One pass over every rollup of the database, parents first, each in
 *		its own subtransaction so that one failing rollup does not hold up
 *		the others; its error is recorded and it backs off.  Runs inside the
 *		caller's transaction, except in the worker, which commits after each
 *		rollup.  Returns the number of changelog rows folded; *nfailed gets
 *		the number of rollups that failed or were skipped.
 *
 *		Only the stages [from_stage, to_stage) are folded (FG_STAGE_*): all
 *		of them, or one worker's share when a database has several (worker.c).
 *		The other stages are left alone and do not make the pass unclean.
 *		*stages (if not NULL) gets the stages the database has.
 *
 *		defer_upper (by the worker, under a dense stream of commits, in a
 *		pass that folds rollups of tables and of rollups): the
 *		transforms and the rollups of tables are folded as always, but of
 *		the rollups of rollups (hourly of minutely, ...) only the one folded
 *		longest ago, and only once upper_fold_interval has passed since its
 *		last fold.  They are off the path from a commit to the first level,
 *		each of their folds costs about as much as the first level's, and
 *		their changes merely pile up meanwhile (one changelog row per
 *		changed group below and pass, combined when they are folded):
 *		folding them less often keeps the passes short, and the first
 *		level's freshness is made of pass lengths.  The one folded consumes
 *		at most FG_UPPER_FOLD_ROWS changelog rows (whole groups, the oldest
 *		changes first) and stays due until it has caught up: a second's
 *		changes of an hourly rollup of 1,400 stations took 86 ms to fold,
 *		the longest passes of a stream.  A pass that defers one is not
 *		clean, so wait_for_rollups, which asks for full passes (nothing
 *		deferred, nothing bounded), still waits for every level.
 */
#define FG_UPPER_FOLD_ROWS 3000

int64
FgFoldAll(bool in_worker, int from_stage, int to_stage, bool defer_upper,
		  int *nfailed, int *stages)
{
	List	   *ids;
	List	   *volatile upper = NIL;
	volatile int32 upper_due = 0;
	ListCell   *lc;
	volatile int64 total = 0;
	MemoryContext passcxt;
	MemoryContext itercxt;
	MemoryContext oldcxt;

	*nfailed = 0;
	if (stages)
		*stages = 0;
	/* only a pass over the first level and the upper ones defers these */
	defer_upper = defer_upper && from_stage <= FG_STAGE_TABLES && to_stage > FG_STAGE_UPPER &&
		fluss_grid_upper_fold_interval > 0;
	passcxt = AllocSetContextCreate(in_worker ? TopMemoryContext : CurrentMemoryContext,
									"fluss_grid fold pass", ALLOCSET_DEFAULT_SIZES);
	itercxt = AllocSetContextCreate(passcxt, "fluss_grid fold", ALLOCSET_DEFAULT_SIZES);

	if (in_worker)
	{
		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		PushActiveSnapshot(GetTransactionSnapshot());
	}
	oldcxt = CurrentMemoryContext;
	switch_context(passcxt);
	ids = NIL;
	if (FgExtensionExists())
	{
		List	   *rollups = FgRollupIdsInFoldOrder();

		/* transforms (as negative ids) first: rollups may read their tables */
		foreach(lc, FgTransformIds())
			ids = lappend_int(ids, -lfirst_int(lc));
		upper = FgRollupIdsOfRollups();
		if (stages)
			*stages = (ids != NIL ? 1 << FG_STAGE_TRANSFORMS : 0) |
				(list_length(rollups) > list_length(upper) ? 1 << FG_STAGE_TABLES : 0) |
				(upper != NIL ? 1 << FG_STAGE_UPPER : 0);
		ids = list_concat(ids, rollups);
	}
	switch_context(oldcxt);
	if (defer_upper && upper != NIL)
		upper_due = upper_fold_due(upper);
	if (in_worker)
	{
		PopActiveSnapshot();
		CommitTransactionCommand();
	}

	foreach(lc, ids)
	{
		bool		is_transform = (lfirst_int(lc) < 0);
		int32		id = abs(lfirst_int(lc));
		ResourceOwner oldowner;
		FgFoldResult res = {0, 0, false};
		bool		done = false;
		TimestampTz fold_start = GetCurrentTimestamp();

		CHECK_FOR_INTERRUPTS();
		if (in_worker && FgWorkerPaused())
		{
			(*nfailed)++;
			break;				/* a database command waits for us */
		}
		if (in_worker && FgRollupBackingOff(id))
		{
			(*nfailed)++;
			continue;
		}
		/* the other worker's stages: not this pass's to fold */
		{
			int			stage = is_transform ? FG_STAGE_TRANSFORMS :
				list_member_int(upper, id) ? FG_STAGE_UPPER : FG_STAGE_TABLES;

			if (stage < from_stage || stage >= to_stage)
				continue;
		}
		if (defer_upper && !is_transform && id != upper_due && list_member_int(upper, id))
		{
			(*nfailed)++;		/* deferred to a later pass */
			continue;
		}

		if (in_worker)
		{
			SetCurrentStatementStartTimestamp();
			StartTransactionCommand();
			PushActiveSnapshot(GetTransactionSnapshot());
		}
		oldcxt = CurrentMemoryContext;
		oldowner = CurrentResourceOwner;
		BeginInternalSubTransaction(NULL);
		switch_context(itercxt);
		PG_TRY();
		{
			if (is_transform)
				done = FgFoldTransform(id, !in_worker, &res);
			else
			{
				FgCacheEntry *e = FgCacheGet(id);

				if (e != NULL)
					done = FgFoldRollup(e->rollup, !in_worker,
										(id == upper_due) ? FG_UPPER_FOLD_ROWS : 0, &res);
				else
					done = true;
			}
			ReleaseCurrentSubTransaction();
			switch_context(oldcxt);
			CurrentResourceOwner = oldowner;
		}
		PG_CATCH();
		{
			ErrorData  *edata;

			switch_context(itercxt);
			edata = CopyErrorData();
			FlushErrorState();
			RollbackAndReleaseCurrentSubTransaction();
			switch_context(oldcxt);
			CurrentResourceOwner = oldowner;

			FgRecordError(id, edata->message,
						  edata->sqlerrcode == ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE);
			ereport(in_worker ? LOG : WARNING,
					(errcode(edata->sqlerrcode),
					 errmsg("fluss_grid could not fold %s %d: %s",
							is_transform ? "transform" : "rollup", id, edata->message),
					 edata->detail ? errdetail_internal("%s", edata->detail) : 0,
					 errhint("The fold is retried with backoff; see fluss_grid.rollups.")));
			FreeErrorData(edata);
			(*nfailed)++;
			done = false;
			res.deltas = -1;
		}
		PG_END_TRY();

		if (in_worker)
		{
			PopActiveSnapshot();
			CommitTransactionCommand();
		}
		if (done)
		{
			/* an upper level left over by its bound stays due */
			if (in_worker && !is_transform && !(id == upper_due && res.more))
				note_upper_fold(id);
			{
				/* the fold's chores: handed over with its status, or owed here */
				bool		hand_over = in_worker && res.deltas > 0 && FgChoresElsewhere;

				if (!FgRecordFold(id, &res, hand_over, !is_transform))
					hand_over = false;
				if (in_worker && res.deltas > 0 && !hand_over)
					add_chores(id, res.deltas, !is_transform);
			}
			total += res.deltas;
			if (res.more)
			{
				/* batch_size left some: this pass is not complete */
				(*nfailed)++;
				if (in_worker)
					SetLatch(MyLatch);
			}
			if (res.deltas > 0)
				ereport(fluss_grid_log_level,
						(errmsg_internal("fluss_grid folded %lld changes into %s %d (%lld groups recomputed%s) in %.3f ms",
										 (long long) res.deltas,
										 is_transform ? "transform" : "rollup", id,
										 (long long) res.recomputed,
										 res.in_c ? ", in C" : "",
										 (double) (GetCurrentTimestamp() - fold_start) / 1000.0)));
		}
		else if (res.deltas == 0)
			(*nfailed)++;		/* lock busy: not done in this pass */
		MemoryContextReset(itercxt);
	}
	MemoryContextDelete(passcxt);
	return total;
}

/*
 * FgFoldCut
 *		Where, in a database with the stages "stages" (FgFoldAll), the
 *		worker of role (FG_ROLE_*) starts: it folds the stages from the
 *		returned one on, up to the next running worker's cut.  0: the role
 *		has nothing of its own (the first worker's cut is always 0).
 *
 *		The second worker takes the stage after the first: with transforms,
 *		the rollups of tables (the transforms' folds are the costliest per
 *		row); without, the rollups of rollups.  The third takes the rollups
 *		of rollups when all three stages exist: their folds combine many
 *		changes per group only when they are rare and large, and a large
 *		fold in the second worker's pass held up the first level's
 *		freshness (BENCHMARKS.md, issue 4, session 11).
 */
int
FgFoldCut(int stages, int role)
{
	bool		transforms = (stages & (1 << FG_STAGE_TRANSFORMS)) != 0;
	bool		tables = (stages & (1 << FG_STAGE_TABLES)) != 0;
	bool		upper = (stages & (1 << FG_STAGE_UPPER)) != 0;

	switch (role)
	{
		case FG_ROLE_SECOND:
			if (transforms && (tables || upper))
				return FG_STAGE_TABLES;
			if (tables && upper)
				return FG_STAGE_UPPER;
			return 0;
		case FG_ROLE_THIRD:
			return (transforms && tables && upper) ? FG_STAGE_UPPER : 0;
		default:
			return 0;
	}
}

/*
 * run_chore
 *		Run chore(debt) in a transaction of its own, with a memory context
 *		that also serves as PortalContext (VACUUM allocates under it, and a
 *		worker has none).  A failure is logged at elevel and left for the
 *		next time.
 */
static void
run_chore(const char *activity, int elevel, void (*chore) (VacuumDebt *),
		  VacuumDebt *debt)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	MemoryContext save_portal = PortalContext;
	MemoryContext chorecxt = AllocSetContextCreate(TopMemoryContext,
												   "fluss_grid housekeeping",
												   ALLOCSET_SMALL_SIZES);

	pgstat_report_activity(STATE_RUNNING, activity);
	PG_TRY();
	{
		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		MemoryContextSwitchTo(chorecxt);
		PortalContext = chorecxt;
		chore(debt);
		PortalContext = save_portal;
		CommitTransactionCommand();
		ereport(fluss_grid_log_level,
				(errmsg_internal("fluss_grid finished \"%s\" for rollup %d in %.3f ms",
								 activity, debt->id,
								 (double) (GetCurrentTimestamp() - GetCurrentStatementStartTimestamp()) / 1000.0)));
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		PortalContext = save_portal;
		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		ereport(elevel,
				(errmsg_internal("fluss_grid could not finish \"%s\" for rollup %d: %s",
								 activity, debt->id, edata->message)));
		FreeErrorData(edata);
	}
	PG_END_TRY();
	pgstat_report_activity(STATE_IDLE, NULL);
	MemoryContextSwitchTo(oldcxt);
	MemoryContextDelete(chorecxt);
}

/*
 * vacuum_changelog
 *		VACUUM (SKIP_LOCKED, INDEX_CLEANUP on) the changelog of the rollup.
 *		Truncation takes an exclusive lock that stalls the writers whose
 *		capture inserts into the changelog, so it is asked for only when the
 *		changelog has grown past FG_TRUNCATE_PAGES (a bulk load left it
 *		large; a steady stream reuses its few pages) and nobody holds a lock
 *		on it at that moment (else it is tried again a little later);
 *		otherwise the space of folded rows is reused by the next ones.  Index cleanup is forced because a VACUUM that
 *		bypasses it leaves dead line pointers, and pages holding them are
 *		never truncated: a changelog drained after a bulk load would stay at
 *		its largest size, and every fold and changelog_stats() would read
 *		all of its empty pages.
 */
#define FG_TRUNCATE_PAGES 1024

static void
vacuum_changelog(VacuumDebt *debt)
{
	VacuumStmt *vac = makeNode(VacuumStmt);
	char	   *relname = psprintf("changelog_%d", debt->id);
	Oid			relid = get_relname_relid(relname, get_namespace_oid(FG_SCHEMA, false));
	bool		truncate = false;
	bool		large;
	int64		owed = debt->rows;
	Relation	rel;

	debt->rows = 0;				/* if it fails: retried after as many */
	if (!OidIsValid(relid))
		return;
	rel = relation_open(relid, AccessShareLock);
	large = RelationGetNumberOfBlocks(rel) >= FG_TRUNCATE_PAGES;
	relation_close(rel, AccessShareLock);
	if (large && ConditionalLockRelationOid(relid, AccessExclusiveLock))
	{
		truncate = true;
		UnlockRelationOid(relid, AccessExclusiveLock);
	}
	vac->options = list_make3(makeDefElem("truncate", (Node *) makeString(truncate ? "true" : "false"), -1),
							  makeDefElem("index_cleanup", (Node *) makeString("on"), -1),
							  makeDefElem("skip_locked", (Node *) makeString("true"), -1));
	/*
	 * Named by OID alone: a VACUUM that SKIP_LOCKED makes skip the table
	 * (autovacuum or a manual VACUUM has it) then says nothing, where one
	 * given the name warns "skipping vacuum ... lock not available" in the
	 * server log every time; the next pass retries anyway (below).
	 */
	vac->rels = list_make1(makeVacuumRelation(NULL, relid, NIL));
	vac->is_vacuumcmd = true;
	ExecVacuum(make_parsestate(NULL), vac, true);

	/*
	 * Rows deleted by the fold that a snapshot still sees (the one of a
	 * wait_for_rollups() that was waiting for this very fold, say) are not
	 * removable yet; VACUUM reports them as dead.  When many stay, and
	 * most of those owed did (a long transaction holds them), try again a
	 * little later rather than after FG_VACUUM_AFTER more rows, which may
	 * never come after a bulk load.  Some always stay under a stream (the
	 * last folds' deletions, seen by the writers' and the other workers'
	 * snapshots): they only count towards the next VACUUM, which must not
	 * be put off, or the changelog grows and every fold reads its pages.
	 */
	pgstat_clear_snapshot();
	{
		PgStat_StatTabEntry *tab = pgstat_fetch_stat_tabentry(relid);
#if PG_VERSION_NUM >= 160000
		int64		dead = tab ? tab->dead_tuples : 0;
#else
		int64		dead = tab ? tab->n_dead_tuples : 0;
#endif

		if (dead >= FG_VACUUM_STUCK && dead * 2 > owed)
		{
			debt->retry_ms = Min(Max(debt->retry_ms * 2, FG_VACUUM_RETRY),
								 FG_VACUUM_RETRY_MAX);
			debt->rows = Max(dead, FG_VACUUM_AFTER);
			debt->retry_at = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
														 debt->retry_ms);
		}
		else
		{
			/*
			 * a few rows a running writer's snapshot saw: next time, which
			 * comes after FG_VACUUM_EVERY at the earliest
			 */
			debt->retry_ms = 0;
			debt->rows = dead;
			debt->retry_at = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
														 FG_VACUUM_EVERY);
		}
	}

	/*
	 * A large changelog that could not be truncated now (a fold held a
	 * lock on it: the worker that folds it is not the one vacuuming it) is
	 * tried again soon, not after as many rows more, which may never come.
	 */
	if (large && !truncate)
		debt->rows = Max(debt->rows, FG_VACUUM_AFTER);
}

/*
 * summarize_source_index
 *		brin_summarize_new_values() on the BRIN index create_rollup put on
 *		the rollup's source (each leaf index of a partitioned one).  It
 *		takes SHARE UPDATE EXCLUSIVE, which writers do not conflict with;
 *		lock_timeout keeps the worker from queueing behind a VACUUM.
 *
 *		Summarizing reads the new part of the source, so it is skipped when
 *		the source grew by more than FG_SUMMARIZE_MAX_GROWTH since the last
 *		time: that is a bulk load, which would take the worker away from
 *		folding for too long and which autovacuum's VACUUM (it summarizes
 *		every range) follows anyway.
 */
#define FG_SUMMARIZE_MAX_GROWTH (INT64CONST(32) * 1024 * 1024)

static void
summarize_source_index(VacuumDebt *debt)
{
	static const char *sql =
		"WITH RECURSIVE tree AS ("
		" SELECT i.oid FROM fluss_grid.rollup r"
		"  JOIN pg_catalog.pg_class s ON s.oid = r.source_rel"
		"  JOIN pg_catalog.pg_class i ON i.relname = r.source_index"
		"   AND i.relnamespace = s.relnamespace"
		"  JOIN pg_catalog.pg_am a ON a.oid = i.relam AND a.amname = 'brin'"
		" WHERE r.id = $1 AND r.parent_id IS NULL"
		" UNION ALL"
		" SELECT h.inhrelid FROM pg_catalog.pg_inherits h JOIN tree t ON h.inhparent = t.oid)"
		" SELECT coalesce(sum(pg_catalog.brin_summarize_new_values(c.oid)), 0)"
		" FROM tree t JOIN pg_catalog.pg_class c ON c.oid = t.oid AND c.relkind = 'i'";
	Oid			argtypes[1] = {INT4OID};
	Datum		args[1] = {Int32GetDatum(debt->id)};

	debt->summarized = GetCurrentTimestamp();
	debt->source_grew = false;
	PushActiveSnapshot(GetTransactionSnapshot());
	SPI_connect();
	if (SPI_execute_with_args("SELECT coalesce(sum(pg_catalog.pg_relation_size(t.relid)), 0)::bigint"
							  " FROM fluss_grid.rollup r, pg_catalog.pg_partition_tree(r.source_rel) t"
							  " WHERE r.id = $1 AND t.isleaf",
							  1, argtypes, args, NULL, true, 1) == SPI_OK_SELECT &&
		SPI_processed == 1)
	{
		bool		isnull;
		int64		bytes = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
														SPI_tuptable->tupdesc, 1, &isnull));

		/* the first time, only note the size: the next time is cheap */
		bool		bulk = (debt->source_bytes < 0 ||
							bytes - debt->source_bytes > FG_SUMMARIZE_MAX_GROWTH);

		debt->source_bytes = bytes;
		if (!bulk)
		{
			SPI_execute("SET LOCAL lock_timeout = '50ms'", false, 0);
			if (SPI_execute_with_args(sql, 1, argtypes, args, NULL, false, 0) != SPI_OK_SELECT)
				elog(ERROR, "could not summarize the source index of rollup %d", debt->id);
		}
	}
	SPI_finish();
	PopActiveSnapshot();
}

/*
 * analyze_rollup
 *		ANALYZE the rollup table when its statistics are missing or stale
 *		(FG_ANALYZE_MIN_PAGES).  SKIP_LOCKED: never waits.  The new
 *		statistics replan the fold's statement.
 */
static void
analyze_rollup(VacuumDebt *debt)
{
	FgCacheEntry *e;
	Relation	rel;
	BlockNumber nblocks;
	bool		stale;
	VacuumStmt *vac;

	debt->checked = GetCurrentTimestamp();
	debt->rollup_changed = false;
	/* the cache's catalog queries, and ANALYZE's index expressions */
	PushActiveSnapshot(GetTransactionSnapshot());
	e = FgCacheGet(debt->id);
	if (e == NULL || !ConditionalLockRelationOid(e->rollup->relid, AccessShareLock))
	{
		PopActiveSnapshot();
		return;
	}
	rel = relation_open(e->rollup->relid, NoLock);
	nblocks = RelationGetNumberOfBlocks(rel);
	stale = nblocks >= FG_ANALYZE_MIN_PAGES &&
		(rel->rd_rel->reltuples < 0 ||
		 nblocks > 2 * (BlockNumber) Max(rel->rd_rel->relpages, 0));
	vac = makeNode(VacuumStmt);
	vac->options = list_make1(makeDefElem("skip_locked", (Node *) makeString("true"), -1));
	/* by OID alone, so that a skip is silent (vacuum_changelog) */
	vac->rels = list_make1(makeVacuumRelation(NULL, RelationGetRelid(rel), NIL));
	vac->is_vacuumcmd = false;
	relation_close(rel, NoLock);
	if (stale)
		ExecVacuum(make_parsestate(NULL), vac, true);
	PopActiveSnapshot();
}

/*
 * local_debt
 *		The chores owed for rollup or transform id in this process.
 */
static VacuumDebt *
local_debt(int32 id)
{
	VacuumDebt *debt;
	bool		found;

	if (vacuum_debt == NULL)
		vacuum_debt = rollup_hash("fluss_grid vacuum debt", sizeof(VacuumDebt));
	debt = hash_search(vacuum_debt, &id, HASH_ENTER, &found);
	if (!found)
	{
		debt->rows = 0;
		debt->summarized = 0;
		debt->retry_at = 0;
		debt->retry_ms = 0;
		debt->source_grew = false;
		debt->source_bytes = -1;
		debt->rollup_changed = false;
		debt->checked = 0;
	}
	return debt;
}

/*
 * add_chores
 *		A fold of id consumed rows changelog rows: its changelog is owed a
 *		VACUUM after enough of them, its source's index a summary, its
 *		rollup table a look at its statistics.  Owed here, unless the fold
 *		handed them over with its status (FgRecordFold) to the worker that
 *		does this database's chores (FgChoresElsewhere): a VACUUM between
 *		two passes holds up the next one, which is on the way from a commit
 *		to the rollups, while the later worker that folds only the rollups
 *		of rollups waits most of the time.  (Done in the pass's wait, the
 *		VACUUMs were put off while a stream kept the changelog's dead rows
 *		behind a snapshot, and every fold read ever more pages;
 *		BENCHMARKS.md, issue 4, session 12.)
 */
static void
add_chores(int32 id, int64 rows, bool rollup_changed)
{
	VacuumDebt *debt = local_debt(id);

	debt->rows += rows;
	debt->source_grew = true;
	debt->rollup_changed |= rollup_changed;
}

/*
 * take_handed_chores
 *		Take over the chores the other workers of this database handed over
 *		(FgRecordFold).  Run by the worker that does them, and by any worker
 *		that finds nobody doing them (the later worker left), so none stay
 *		behind.
 */
static void
take_handed_chores(void)
{
	if (FgSharedState == NULL)
		return;
	LWLockAcquire(FgSharedState->lock, LW_EXCLUSIVE);
	for (int i = 0; i < FG_MAX_STATUS; i++)
	{
		FgRollupStatus *st = &FgSharedState->status[i];
		VacuumDebt *debt;

		if (st->dbid != MyDatabaseId ||
			(st->chore_rows == 0 && !st->chore_source_grew && !st->chore_rollup_changed))
			continue;
		debt = local_debt(st->rollup_id);
		debt->rows += st->chore_rows;
		debt->source_grew |= st->chore_source_grew;
		debt->rollup_changed |= st->chore_rollup_changed;
		st->chore_rows = 0;
		st->chore_source_grew = false;
		st->chore_rollup_changed = false;
	}
	LWLockRelease(FgSharedState->lock);
}

/*
 * FgFoldHousekeeping
 *		The worker's chores after a pass, done while it lets commits
 *		accumulate anyway: vacuum the changelogs that have had
 *		FG_VACUUM_AFTER rows folded since their last vacuum, and summarize
 *		new ranges of the sources' BRIN indexes every FG_SUMMARIZE_EVERY ms
 *		while they grow.  A worker that hands its chores over
 *		(FgChoresElsewhere) only finishes those it owed before; the one
 *		they are handed to takes them first.  Stops early at the deadline (the next pass's start),
 *		unless nothing was done yet.  (The chores neither add nor remove
 *		hash entries, so the pointers collected stay valid.)
 */
void
FgFoldHousekeeping(TimestampTz deadline)
{
	HASH_SEQ_STATUS seq;
	VacuumDebt *debt;
	List	   *vac = NIL;
	List	   *sum = NIL;
	List	   *ana = NIL;
	ListCell   *lc;
	bool		did = false;

	if (!FgChoresElsewhere)
		take_handed_chores();
	if (vacuum_debt == NULL)
		return;
	hash_seq_init(&seq, vacuum_debt);
	while ((debt = hash_seq_search(&seq)) != NULL)
	{
		if (debt->rows >= FG_VACUUM_AFTER && GetCurrentTimestamp() >= debt->retry_at)
			vac = lappend(vac, debt);
		if (debt->source_grew &&
			TimestampDifferenceExceeds(debt->summarized, GetCurrentTimestamp(),
									   FG_SUMMARIZE_EVERY))
			sum = lappend(sum, debt);
		if (debt->rollup_changed &&
			TimestampDifferenceExceeds(debt->checked, GetCurrentTimestamp(),
									   FG_SUMMARIZE_EVERY))
			ana = lappend(ana, debt);
	}
	foreach(lc, vac)
	{
		if (did && GetCurrentTimestamp() >= deadline)
			break;
		run_chore("vacuuming a changelog", LOG, vacuum_changelog, lfirst(lc));
		did = true;
	}
	foreach(lc, sum)
	{
		if (did && GetCurrentTimestamp() >= deadline)
			break;
		run_chore("summarizing a source index", fluss_grid_log_level,
				  summarize_source_index, lfirst(lc));
		did = true;
	}
	foreach(lc, ana)
	{
		if (did && GetCurrentTimestamp() >= deadline)
			break;
		run_chore("analyzing a rollup", LOG, analyze_rollup, lfirst(lc));
		did = true;
	}
	list_free(vac);
	list_free(sum);
	list_free(ana);
}
