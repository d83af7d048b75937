/*-------------------------------------------------------------------------
 *
 * worker.c
 *	  Shared memory, the launcher and the per-database fold workers.
 *
 * The launcher ("fluss_grid launcher") starts after recovery (so a hot
 * standby runs no workers: its rollups arrive by replication), reads
 * pg_database and starts one worker ("fluss_grid worker") per database.
 * That worker starts a second and a third one ("fluss_grid second worker",
 * "fluss_grid third worker") when its database's folds come in stages
 * that can be split (FgFoldCut: transforms, rollups of tables, rollups of
 * rollups) and fluss_grid.workers_per_database allows, and leaves the
 * later stages to them while they run: one worker could not keep up with
 * a stream of 20,000 readings a second through the warehouse while the
 * second core sat half idle, and the upper levels' large folds held up the
 * first level's in the same process.
 * A worker that finds no fluss_grid extension in its database says so in
 * its slot and exits with status 0, which the postmaster does not restart;
 * CREATE EXTENSION and create_rollup start it again.  A worker that dies
 * otherwise is restarted by the postmaster.
 *
 * A worker sleeps on its latch.  Committing transactions that wrote
 * changelog rows set it (changelog.c), so folding starts within
 * milliseconds of a commit; the naptime only bounds retries.  Each pass
 * over the database's rollups bumps passes_started/passes_done, and
 * passes_clean when no rollup failed; wait_for_rollups() (worker_sql.c)
 * sleeps on a condition variable until a clean pass that started after
 * its call.
 *
 * DROP DATABASE, ALTER DATABASE ... RENAME / SET TABLESPACE and CREATE
 * DATABASE ... TEMPLATE need the database free of connections: a utility
 * hook asks its worker to step aside (exit 0) for the command and starts
 * it again afterwards.
 *
 * Locking: FgSharedState->lock protects dbs[] (each with one FgWorkerState
 * per role) and status[].
 *
 * IDENTIFICATION
 *	  src/worker.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "commands/dbcommands.h"
#include "commands/defrem.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "tcop/utility.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "fluss_grid.h"

/*
 * commits during one pass from which the worker batches more: a C fold's
 * pass takes well under a millisecond, so even thousands of commits a
 * second bring only a few during one
 */
#define FG_DENSE_COMMITS 2


FgShared   *FgSharedState = NULL;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;
static ProcessUtility_hook_type prev_ProcessUtility = NULL;

static FgDatabaseSlot *my_slot = NULL;	/* set in a worker */
static FgWorkerRole my_role = FG_ROLE_FIRST;

/* per role: its process's name (bgw_type "fluss_grid ...") */
static const char *const worker_names[FG_NUM_ROLES] = {
	"worker", "second worker", "third worker"
};

static Size fg_shmem_size(void);
static void fg_shmem_request(void);
static void fg_shmem_startup(void);
static void worker_release_slot(int code, Datum arg);
static bool start_worker_for(Oid dbid, FgWorkerRole role, BackgroundWorkerHandle **handle);
static void fg_process_utility(PlannedStmt *pstmt, const char *queryString,
							   bool readOnlyTree, ProcessUtilityContext context,
							   ParamListInfo params, QueryEnvironment *queryEnv,
							   DestReceiver *dest, QueryCompletion *qc);
static Oid	step_aside_target(Node *stmt, bool *restart_after);
static void step_aside(Oid dbid);

static Size
fg_shmem_size(void)
{
	return add_size(offsetof(FgShared, dbs),
					mul_size(sizeof(FgDatabaseSlot), fluss_grid_max_databases));
}

/*
 * FgWorkerInit
 *		Called from _PG_init while shared_preload_libraries is processed:
 *		request shared memory, register the launcher, hook utility commands.
 */
void
FgWorkerInit(void)
{
	BackgroundWorker worker;

	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = fg_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = fg_shmem_startup;
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = fg_process_utility;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 5;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "fluss_grid");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "fluss_grid_launcher_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "fluss_grid launcher");
	snprintf(worker.bgw_type, BGW_MAXLEN, "fluss_grid launcher");
	RegisterBackgroundWorker(&worker);
}

static void
fg_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(fg_shmem_size());
	RequestNamedLWLockTranche("fluss_grid", 1);
}

/* an unused database slot: zeroed, its atomics initialized */
static void
clear_slot(FgDatabaseSlot *s)
{
	memset(s, 0, sizeof(FgDatabaseSlot));
	for (int r = 0; r < FG_NUM_ROLES; r++)
	{
		pg_atomic_init_u64(&s->w[r].commits, 0);
		pg_atomic_init_u64(&s->w[r].fed, 0);
	}
}

static void
fg_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	FgSharedState = ShmemInitStruct("fluss_grid", fg_shmem_size(), &found);
	if (!found)
	{
		memset(FgSharedState, 0, fg_shmem_size());
		for (int i = 0; i < fluss_grid_max_databases; i++)
			clear_slot(&FgSharedState->dbs[i]);
		FgSharedState->lock = &(GetNamedLWLockTranche("fluss_grid"))->lock;
		ConditionVariableInit(&FgSharedState->pass_cv);
	}
	LWLockRelease(AddinShmemInitLock);
}

/*
 * FgDatabaseSlotFor
 *		The slot of a database; the caller holds FgSharedState->lock
 *		(exclusively when create is true).
 */
FgDatabaseSlot *
FgDatabaseSlotFor(Oid dbid, bool create)
{
	FgDatabaseSlot *free_slot = NULL;

	for (int i = 0; i < fluss_grid_max_databases; i++)
	{
		FgDatabaseSlot *s = &FgSharedState->dbs[i];

		if (s->dbid == dbid)
			return s;
		if (s->dbid == InvalidOid && free_slot == NULL)
			free_slot = s;
	}
	if (create && free_slot)
	{
		clear_slot(free_slot);
		free_slot->dbid = dbid;
		return free_slot;
	}
	return NULL;
}

/*
 * FgWakeWorker
 *		Count a commit that wrote changelog rows and set the latches of the
 *		database's workers, if they run.  A worker's own folds feed the
 *		later stages: they wake (and count for) the later workers; its own
 *		stages take them in its same pass.
 */
void
FgWakeWorker(Oid dbid)
{
	FgDatabaseSlot *s;

	if (FgSharedState == NULL)
		return;
	LWLockAcquire(FgSharedState->lock, LW_SHARED);
	s = FgDatabaseSlotFor(dbid, false);
	for (int r = 0; s != NULL && r < FG_NUM_ROLES; r++)
	{
		bool		fed = (my_slot == s);	/* a fold of an earlier worker */
		FgPacing	pacing = s->w[r].pacing;

		if (fed && r <= my_role)
			continue;
		pg_atomic_fetch_add_u64(&s->w[r].commits, 1);
		if (fed)
			pg_atomic_fetch_add_u64(&s->w[r].fed, 1);
		if (s->w[r].latch &&
			(pacing == FG_PACING_NONE || (pacing == FG_PACING_FED && fed)))
			SetLatch(s->w[r].latch);
	}
	LWLockRelease(FgSharedState->lock);
}

/*
 * start_worker_for
 *		Register the worker of role for database dbid.  The postmaster
 *		restarts a first worker that dies; the first worker restarts the
 *		later ones.
 */
static bool
start_worker_for(Oid dbid, FgWorkerRole role, BackgroundWorkerHandle **handle)
{
	BackgroundWorker worker;
	static const char *const functions[FG_NUM_ROLES] = {
		"fluss_grid_worker_main", "fluss_grid_second_worker_main",
		"fluss_grid_third_worker_main"
	};

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = (role == FG_ROLE_FIRST) ? 1 : BGW_NEVER_RESTART;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "fluss_grid");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "%s", functions[role]);
	snprintf(worker.bgw_name, BGW_MAXLEN, "fluss_grid %s for database %u",
			 worker_names[role], dbid);
	snprintf(worker.bgw_type, BGW_MAXLEN, "fluss_grid %s", worker_names[role]);
	worker.bgw_main_arg = ObjectIdGetDatum(dbid);
	worker.bgw_notify_pid = handle ? MyProcPid : 0;
	return RegisterDynamicBackgroundWorker(&worker, handle);
}

/*
 * FgEnsureWorker
 *		Start the worker of a database unless it runs; false when the
 *		library was not preloaded (no workers at all).
 */
bool
FgEnsureWorker(Oid dbid)
{
	FgDatabaseSlot *s;
	bool		need;

	if (FgSharedState == NULL)
		return false;
	LWLockAcquire(FgSharedState->lock, LW_EXCLUSIVE);
	s = FgDatabaseSlotFor(dbid, true);
	if (s == NULL)
	{
		LWLockRelease(FgSharedState->lock);
		ereport(WARNING,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("fluss_grid cannot start a worker for more than %d databases",
						fluss_grid_max_databases),
				 errhint("Raise fluss_grid.max_databases.")));
		return false;
	}
	s->no_extension = false;
	s->rearm = true;
	need = (s->w[FG_ROLE_FIRST].pid == 0 && GetCurrentTimestamp() >= s->paused_until);
	LWLockRelease(FgSharedState->lock);
	if (need && !start_worker_for(dbid, FG_ROLE_FIRST, NULL))
		ereport(WARNING,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("could not register the fluss_grid worker"),
				 errhint("Raise max_worker_processes.")));
	return true;
}

static bool start_at_commit = false;
static bool start_callback_registered = false;

static void
start_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_COMMIT && start_at_commit)
		(void) FgEnsureWorker(MyDatabaseId);
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT)
		start_at_commit = false;
}

/*
 * FgEnsureWorkerAtCommit
 *		Start this database's worker when the current transaction commits:
 *		a worker started earlier would not see an uncommitted extension.
 */
void
FgEnsureWorkerAtCommit(void)
{
	if (FgSharedState == NULL)
		return;
	if (!start_callback_registered)
	{
		RegisterXactCallback(start_xact_callback, NULL);
		start_callback_registered = true;
	}
	start_at_commit = true;
}

/*
 * FgWorkerPaused
 *		In a worker: whether a database command asked it to step aside.
 */
bool
FgWorkerPaused(void)
{
	bool		paused;

	if (my_slot == NULL)
		return false;
	LWLockAcquire(FgSharedState->lock, LW_SHARED);
	paused = GetCurrentTimestamp() < my_slot->paused_until;
	LWLockRelease(FgSharedState->lock);
	return paused;
}

/*
 * worker_has_extension
 *		Whether the extension exists here.  If not, and no one re-armed the
 *		slot meanwhile, give the slot up (marking the database as having no
 *		extension) in the same critical section, so that a concurrent
 *		FgEnsureWorker either re-arms us or sees the slot free and starts a
 *		new worker.
 */
static bool
worker_has_extension(void)
{
	for (;;)
	{
		bool		has;

		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		has = FgExtensionExists();
		CommitTransactionCommand();

		LWLockAcquire(FgSharedState->lock, LW_EXCLUSIVE);
		if (has)
		{
			if (my_role == FG_ROLE_FIRST)
				my_slot->rearm = false;
			LWLockRelease(FgSharedState->lock);
			return true;
		}
		if (!my_slot->rearm || my_role != FG_ROLE_FIRST)
		{
			/* a later worker just leaves: the first one decides */
			if (my_role == FG_ROLE_FIRST)
				my_slot->no_extension = true;
			my_slot->w[my_role].pid = 0;
			my_slot->w[my_role].latch = NULL;
			my_slot = NULL;
			LWLockRelease(FgSharedState->lock);
			return false;
		}
		my_slot->rearm = false;
		LWLockRelease(FgSharedState->lock);
		/* the extension is being created: its transaction will commit */
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 200L, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

/*
 * Status of rollups, kept in shared memory for fluss_grid.rollups.
 */
FgRollupStatus *
FgStatusFor(Oid dbid, int32 rollup_id, bool create)
{
	FgRollupStatus *free_slot = NULL;

	for (int i = 0; i < FG_MAX_STATUS; i++)
	{
		FgRollupStatus *st = &FgSharedState->status[i];

		if (st->dbid == dbid && st->rollup_id == rollup_id)
			return st;
		if (st->dbid == InvalidOid && free_slot == NULL)
			free_slot = st;
	}
	if (create && free_slot)
	{
		memset(free_slot, 0, sizeof(FgRollupStatus));
		free_slot->dbid = dbid;
		free_slot->rollup_id = rollup_id;
		return free_slot;
	}
	return NULL;
}

/*
 * FgRecordFold
 *		Record a fold of rollup_id in its status; with hand_over, also hand
 *		the chores it owes (its changelog rows, and whether its rollup
 *		table changed) to the worker that does them (FgChoresElsewhere).
 *		False when there was no room in the status table, and the caller
 *		keeps the chores.
 */
bool
FgRecordFold(int32 rollup_id, const FgFoldResult *res, bool hand_over,
			 bool rollup_changed)
{
	FgRollupStatus *st;

	if (FgSharedState == NULL)
		return false;
	LWLockAcquire(FgSharedState->lock, LW_EXCLUSIVE);
	st = FgStatusFor(MyDatabaseId, rollup_id, true);
	if (st)
	{
		st->last_fold = GetCurrentTimestamp();
		st->folds++;
		st->deltas += res->deltas;
		st->recomputed += res->recomputed;
		st->c_folds += res->in_c ? 1 : 0;
		st->failures = 0;
		st->retry_after = 0;
		if (hand_over)
		{
			st->chore_rows += res->deltas;
			st->chore_source_grew = true;
			st->chore_rollup_changed |= rollup_changed;
		}
	}
	LWLockRelease(FgSharedState->lock);
	return st != NULL;
}

void
FgRecordError(int32 rollup_id, const char *msg, bool transient)
{
	FgRollupStatus *st;

	if (FgSharedState == NULL)
		return;
	LWLockAcquire(FgSharedState->lock, LW_EXCLUSIVE);
	st = FgStatusFor(MyDatabaseId, rollup_id, true);
	if (st)
	{
		int64		delay_ms;

		st->last_error_at = GetCurrentTimestamp();
		strlcpy(st->last_error, msg ? msg : "unknown error", sizeof(st->last_error));
		st->failures++;
		/* 100 ms, doubling, at most a minute; a restore in progress: 200 ms */
		delay_ms = transient ? 200 : Min((int64) 100 << Min(st->failures - 1, 10), 60000);
		st->retry_after = TimestampTzPlusMilliseconds(st->last_error_at, delay_ms);
	}
	LWLockRelease(FgSharedState->lock);
}

bool
FgRollupBackingOff(int32 rollup_id)
{
	FgRollupStatus *st;
	bool		off = false;

	if (FgSharedState == NULL)
		return false;
	LWLockAcquire(FgSharedState->lock, LW_SHARED);
	st = FgStatusFor(MyDatabaseId, rollup_id, false);
	if (st && st->retry_after > GetCurrentTimestamp())
		off = true;
	LWLockRelease(FgSharedState->lock);
	return off;
}

/* ---------------------------------------------------------------------
 * Launcher
 * ---------------------------------------------------------------------
 */
void
fluss_grid_launcher_main(Datum arg)
{
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	pgstat_report_appname("fluss_grid launcher");

	LWLockAcquire(FgSharedState->lock, LW_EXCLUSIVE);
	FgSharedState->launcher_latch = MyLatch;
	LWLockRelease(FgSharedState->lock);

	for (;;)
	{
		List	   *dbs = NIL;
		ListCell   *lc;
		Relation	rel;
		TableScanDesc scan;
		HeapTuple	tup;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}

		/* databases that accept connections */
		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		(void) GetTransactionSnapshot();
		rel = table_open(DatabaseRelationId, AccessShareLock);
		scan = table_beginscan_catalog(rel, 0, NULL);
		while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
		{
			Form_pg_database db = (Form_pg_database) GETSTRUCT(tup);

			if (db->datallowconn && !db->datistemplate && db->datconnlimit != -2)
			{
				/* the list must outlive the transaction */
				MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

				dbs = lappend_oid(dbs, db->oid);
				MemoryContextSwitchTo(old);
			}
		}
		table_endscan(scan);
		table_close(rel, AccessShareLock);
		CommitTransactionCommand();

		/* forget slots of dropped databases */
		LWLockAcquire(FgSharedState->lock, LW_EXCLUSIVE);
		for (int i = 0; i < fluss_grid_max_databases; i++)
		{
			FgDatabaseSlot *s = &FgSharedState->dbs[i];

			bool		running = false;

			for (int r = 0; r < FG_NUM_ROLES; r++)
				running |= (s->w[r].pid != 0);
			if (s->dbid != InvalidOid && !running && !list_member_oid(dbs, s->dbid))
			{
				clear_slot(s);
			}
		}
		LWLockRelease(FgSharedState->lock);

		if (fluss_grid_enabled)
		{
			foreach(lc, dbs)
			{
				Oid			dbid = lfirst_oid(lc);
				FgDatabaseSlot *s;
				bool		need;
				BackgroundWorkerHandle *handle;
				pid_t		pid;

				LWLockAcquire(FgSharedState->lock, LW_EXCLUSIVE);
				s = FgDatabaseSlotFor(dbid, true);
				need = s && s->w[FG_ROLE_FIRST].pid == 0 && !s->no_extension &&
					GetCurrentTimestamp() >= s->paused_until;
				LWLockRelease(FgSharedState->lock);
				if (!need)
					continue;
				if (!start_worker_for(dbid, FG_ROLE_FIRST, &handle))
				{
					ereport(LOG,
							(errmsg("fluss_grid launcher could not start a worker"),
							 errhint("Raise max_worker_processes.")));
					break;
				}
				(void) WaitForBackgroundWorkerStartup(handle, &pid);
				/* give it a moment to claim its slot before the next look */
			}
		}
		list_free(dbs);

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 10000L, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

/* ---------------------------------------------------------------------
 * Per-database worker
 * ---------------------------------------------------------------------
 */
static void
worker_release_slot(int code, Datum arg)
{
	if (my_slot == NULL)
		return;
	LWLockAcquire(FgSharedState->lock, LW_EXCLUSIVE);
	if (my_slot->w[my_role].pid == MyProcPid)
	{
		my_slot->w[my_role].pid = 0;
		my_slot->w[my_role].latch = NULL;
	}
	LWLockRelease(FgSharedState->lock);
	ConditionVariableBroadcast(&FgSharedState->pass_cv);
	if (FgSharedState->launcher_latch)
		SetLatch(FgSharedState->launcher_latch);
}

/*
 * The later workers, started by the first worker of their database when
 * its stages can be split there (FgFoldCut) and
 * fluss_grid.workers_per_database allows; handles to them, kept in the
 * first worker, tell whether they still run or are starting.
 */
static BackgroundWorkerHandle *later_handle[FG_NUM_ROLES];
static TimestampTz later_tried_at[FG_NUM_ROLES];

/* whether role has stages of its own in a database with stages */
static bool
role_wanted(FgWorkerRole role, int stages)
{
	return role < fluss_grid_workers_per_database && fluss_grid_enabled &&
		FgFoldCut(stages, role) != 0;
}

/* start a later worker unless it runs or is starting; at most every 5 s */
static void
ensure_later_worker(FgWorkerRole role)
{
	pid_t		pid;
	TimestampTz now = GetCurrentTimestamp();
	MemoryContext old;

	if (later_handle[role] != NULL &&
		GetBackgroundWorkerPid(later_handle[role], &pid) != BGWH_STOPPED)
		return;
	if (later_tried_at[role] != 0 && now - later_tried_at[role] < 5 * USECS_PER_SEC)
		return;
	later_tried_at[role] = now;
	if (later_handle[role] != NULL)
	{
		pfree(later_handle[role]);
		later_handle[role] = NULL;
	}
	old = MemoryContextSwitchTo(TopMemoryContext);
	if (!start_worker_for(MyDatabaseId, role, &later_handle[role]))
	{
		later_handle[role] = NULL;
		ereport(LOG,
				(errmsg("fluss_grid could not start a %s; the workers that run fold its stages",
						worker_names[role]),
				 errhint("Raise max_worker_processes, or lower fluss_grid.workers_per_database.")));
	}
	MemoryContextSwitchTo(old);
}

/* whether a full pass (no pacing, nothing deferred) is wanted of my role */
static bool
full_pass_wanted(uint64 pass)
{
	bool		wanted;

	LWLockAcquire(FgSharedState->lock, LW_SHARED);
	wanted = my_slot->w[my_role].full_passes_upto > pass ||
		GetCurrentTimestamp() < my_slot->paused_until;
	LWLockRelease(FgSharedState->lock);
	return wanted;
}

/*
 * chores_elsewhere
 *		Does a later worker of this database do the chores of role's folds
 *		(vacuuming changelogs, FgFoldHousekeeping)?  The one that folds
 *		only the rollups of rollups does them for all: it waits for
 *		upper_fold_interval most of the time, while a chore in the other
 *		workers' waits would hold up their next pass.  Called under the
 *		shared lock.
 */
static bool
chores_elsewhere(FgWorkerRole role)
{
	for (int r = role + 1; r < FG_NUM_ROLES && r < fluss_grid_workers_per_database; r++)
		if (my_slot->w[r].pid != 0 && my_slot->w[r].split == FG_STAGE_UPPER)
			return true;
	return false;
}

/*
 * nap
 *		Wait up to ms on the latch; true when it was set.  The worker that
 *		does the database's chores (chores) does those handed over to it
 *		meanwhile, looking every FG_CHORE_EVERY ms.
 */
#define FG_CHORE_EVERY 100

static bool
nap(long ms, bool chores)
{
	TimestampTz end = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), ms);

	for (;;)
	{
		long		left = (long) ((end - GetCurrentTimestamp() + 999) / 1000);

		if (left <= 0)
			return false;
		if (WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					  chores ? Min(left, FG_CHORE_EVERY) : left,
					  PG_WAIT_EXTENSION) & WL_LATCH_SET)
			return true;
		if (chores)
			FgFoldHousekeeping(end);
	}
}

/* "second worker's " etc. before "pass" and "wait" in the worker's reports */
static const char *
worker_log_prefix(void)
{
	return my_role == FG_ROLE_SECOND ? "second worker's " :
		my_role == FG_ROLE_THIRD ? "third worker's " : "";
}

/*
 * pace_after_pass
 *		After a pass that folded something, let commits accumulate (the
 *		latch stays set meanwhile), so that a stream of small transactions
 *		is folded in batches rather than one pass per commit: the next pass
 *		begins fold_interval after this one began.  When commits arrive
 *		densely (FG_DENSE_COMMITS or more during the pass), it begins when
 *		the pass is fluss_grid.worker_share of the cycle (by default 10 %:
 *		nine times as long as the pass took), but at most
 *		fluss_grid.max_batch_wait after this one began (or at once, after a
 *		pass that took longer): so no commit waits longer than that, or a
 *		pass, before a pass that folds it begins.  A larger batch costs
 *		less per change only where changes to the same rollup group
 *		collide and by a pass's fixed cost; the freshness of the first
 *		level is this cycle plus a pass.  A sparse stream (a few large
 *		transactions per pass) is folded at once.
 *
 *		A later worker whose stages include the first levels (rollups of
 *		tables, fed by the transforms of the worker before it) waits the
 *		same way for the commits of writers, but a fold of a worker before
 *		it ends the wait: that worker has batched already, and another
 *		wait here would add to the freshness of every level it feeds.
 *
 *		A later worker that has only the rollups of rollups (they are off
 *		the path from a commit to the first level) folds once per
 *		upper_fold_interval while they keep changing, which combines that
 *		many passes' changes of every group below, unless wait_for_rollups
 *		wants a full pass.  Vacuuming changelogs and summarizing source
 *		indexes happen in the waits (FgFoldHousekeeping).
 */
static void
pace_after_pass(uint64 pass, TimestampTz pass_start, uint64 pass_commits,
				uint64 pass_fed, int64 folded, int nfailed, bool upper_only)
{
	long		spent = (long) ((GetCurrentTimestamp() - pass_start) / 1000);
	uint64		commits = pg_atomic_read_u64(&my_slot->w[my_role].commits) - pass_commits;
	bool		dense = (commits >= FG_DENSE_COMMITS);
	FgPacing	pacing;
	long		cycle;
	TimestampTz next;
	bool		woken = false;

	if (upper_only)
		cycle = (folded == 0 || nfailed > 0) ? 0 : fluss_grid_upper_fold_interval;
	else
		cycle = (folded == 0) ? 0
			: dense ? Max(fluss_grid_fold_interval,
						  Min(spent * 100 / fluss_grid_worker_share,
							  Max(spent, fluss_grid_max_batch_wait)))
			: fluss_grid_fold_interval;
	next = TimestampTzPlusMilliseconds(pass_start, cycle);

	if (folded > 0)
		ereport(fluss_grid_log_level,
				(errmsg_internal("fluss_grid %spass folded %lld changes in %ld ms, %llu commits meanwhile, next pass %ld ms after its start",
								 worker_log_prefix(),
								 (long long) folded, spent,
								 (unsigned long long) commits, cycle)));

	/* chores fill the wait; they run after an idle pass too */
	FgFoldHousekeeping(next);
	if (folded == 0 || cycle == 0)
		return;

	/*
	 * The first worker just sleeps: every commit in the wait is for it, and
	 * its latch stays set by them.  Commits of writers need not wake the
	 * later workers; they look at the commit count when the wait ends (and
	 * set their own latch if it moved).  Folds of earlier workers end the
	 * wait of one that folds the first levels; wait_for_rollups and
	 * database commands end any.
	 */
	if (my_role == FG_ROLE_FIRST)
	{
		long		wait = (long) ((next - GetCurrentTimestamp() + 999) / 1000);

		if (wait > 0)
			(void) WaitLatch(NULL, WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, wait,
							 PG_WAIT_EXTENSION);
		return;
	}
	pacing = upper_only ? FG_PACING_UPPER : FG_PACING_FED;
	LWLockAcquire(FgSharedState->lock, LW_EXCLUSIVE);
	my_slot->w[my_role].pacing = pacing;
	LWLockRelease(FgSharedState->lock);
	for (;;)
	{
		long		wait = (long) ((next - GetCurrentTimestamp() + 999) / 1000);

		/* (reset before looking, so that a fold from now on sets it) */
		ResetLatch(MyLatch);
		if (wait <= 0)
			break;
		if (full_pass_wanted(pass))
		{
			woken = true;
			break;
		}
		if (pacing == FG_PACING_FED &&
			pg_atomic_read_u64(&my_slot->w[my_role].fed) != pass_fed)
		{
			ereport(fluss_grid_log_level,
					(errmsg_internal("fluss_grid %swait ended %ld ms early by a fold of an earlier worker",
									 worker_log_prefix(), wait)));
			woken = true;
			break;
		}
		/* woken by earlier workers' folds (FED), wait_for_rollups, commands */
		if (pacing == FG_PACING_UPPER)
			(void) nap(wait, true);
		else
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 wait, PG_WAIT_EXTENSION);
		CHECK_FOR_INTERRUPTS();
	}
	LWLockAcquire(FgSharedState->lock, LW_EXCLUSIVE);
	my_slot->w[my_role].pacing = FG_PACING_NONE;
	woken |= pg_atomic_read_u64(&my_slot->w[my_role].commits) != pass_commits;
	LWLockRelease(FgSharedState->lock);
	if (woken)
		SetLatch(MyLatch);		/* what came meanwhile is folded at once */
}

/*
 * worker_main
 *		The body of every worker of database dbid.
 *
 *		The stages (FG_STAGE_*) a pass folds: a later worker announces its
 *		cut (FgFoldCut) for its current pass and folds from there; each
 *		worker folds up to the cut announced by the next later worker that
 *		runs, or to the end.  So the first worker folds everything while it
 *		is alone.  Each records the stages of its last clean pass, for
 *		wait_for_rollups.
 */
static void
worker_main(Oid dbid, FgWorkerRole role)
{
	int			stages = 0;		/* of the last pass; 0 until one ran */
	uint64		last_pass_commits = 0;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	/* claim the role in the database's slot; a second claimant leaves */
	LWLockAcquire(FgSharedState->lock, LW_EXCLUSIVE);
	my_slot = FgDatabaseSlotFor(dbid, true);
	if (my_slot == NULL ||
		(my_slot->w[role].pid != 0 && my_slot->w[role].pid != MyProcPid) ||
		GetCurrentTimestamp() < my_slot->paused_until)
	{
		/* another worker runs, or a database command wants us away */
		LWLockRelease(FgSharedState->lock);
		my_slot = NULL;
		proc_exit(0);
	}
	my_role = role;
	my_slot->w[role].pid = MyProcPid;
	my_slot->w[role].latch = MyLatch;
	my_slot->w[role].split = 0;
	my_slot->w[role].pacing = FG_PACING_NONE;
	if (role != FG_ROLE_FIRST)
		stages = my_slot->stages;	/* as the first worker last saw them */
	LWLockRelease(FgSharedState->lock);
	on_shmem_exit(worker_release_slot, (Datum) 0);

	BackgroundWorkerInitializeConnectionByOid(dbid, InvalidOid, 0);
	pgstat_report_appname(psprintf("fluss_grid %s", worker_names[role]));

	/*
	 * A fold deletes the changelog rows it applies in the same transaction
	 * that applies them, so losing a fold's commit in a crash loses nothing:
	 * the rows are still there and are folded again.  Its commits need not
	 * wait for the WAL flush, which would compete with the writers'.
	 */
	SetConfigOption("synchronous_commit", "off", PGC_SUSET, PGC_S_OVERRIDE);

	if (!worker_has_extension())
		proc_exit(0);
	ereport(LOG, (errmsg("fluss_grid %s started", worker_names[role])));

	for (;;)
	{
		uint64		pass;
		int			nfailed = 0;
		long		timeout;
		bool		paused;
		bool		full;
		int			from = 0;
		int			to = FG_NUM_STAGES;
		int64		folded = 0;
		TimestampTz pass_start = GetCurrentTimestamp();
		uint64		pass_commits = pg_atomic_read_u64(&my_slot->w[role].commits);
		uint64		pass_fed = pg_atomic_read_u64(&my_slot->w[role].fed);
		bool		upper_only;

		/*
		 * Commits since the previous pass began: is the stream dense?  A
		 * later worker is woken by each fold of the one before, which
		 * commits once per pass: one is a stream.
		 */
		bool		dense_before = (pass_commits - last_pass_commits >=
									(role == FG_ROLE_FIRST ? FG_DENSE_COMMITS : 1));

		last_pass_commits = pass_commits;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		/*
		 * A later worker without stages of its own leaves: the workers
		 * before it fold them again, and the first one starts it again
		 * when it is wanted.
		 */
		if (role != FG_ROLE_FIRST && !role_wanted(role, stages))
			proc_exit(0);

		/* the first worker starts the later ones that have stages to take */
		if (role == FG_ROLE_FIRST)
			for (int r = FG_ROLE_SECOND; r < FG_NUM_ROLES; r++)
				if (role_wanted(r, stages))
					ensure_later_worker(r);

		LWLockAcquire(FgSharedState->lock, LW_EXCLUSIVE);
		paused = GetCurrentTimestamp() < my_slot->paused_until;
		pass = ++my_slot->w[role].passes_started;
		full = (pass <= my_slot->w[role].full_passes_upto);
		if (role != FG_ROLE_FIRST)
		{
			/* announced before folding: the workers before fold what is before */
			from = FgFoldCut(stages, role);
			my_slot->w[role].split = from;
		}
		/* up to the cut of the next later worker that runs and has one */
		for (int r = role + 1; r < FG_NUM_ROLES; r++)
		{
			FgWorkerState *later = &my_slot->w[r];

			if (r < fluss_grid_workers_per_database && later->pid != 0 &&
				later->split > from)
			{
				to = later->split;
				break;
			}
		}
		FgChoresElsewhere = chores_elsewhere(role);
		upper_only = (role != FG_ROLE_FIRST && from == FG_STAGE_UPPER);
		LWLockRelease(FgSharedState->lock);
		if (paused)
			proc_exit(0);		/* stepping aside; started again later */

		if (fluss_grid_enabled)
		{
			pgstat_report_activity(STATE_RUNNING, "folding");
			folded = FgFoldAll(true, from, to, dense_before && !full, &nfailed, &stages);
			pgstat_report_activity(STATE_IDLE, NULL);

			if (!worker_has_extension())
				proc_exit(0);
		}
		else
			nfailed = 1;

		/* the worker's deletes and updates must reach autovacuum */
		pgstat_report_stat(false);

		LWLockAcquire(FgSharedState->lock, LW_EXCLUSIVE);
		my_slot->w[role].passes_done = pass;
		if (fluss_grid_enabled)
			my_slot->stages = stages;
		if (nfailed == 0)
		{
			my_slot->w[role].passes_clean = pass;
			my_slot->w[role].clean_from = from;
			my_slot->w[role].clean_to = to;
		}
		LWLockRelease(FgSharedState->lock);
		ConditionVariableBroadcast(&FgSharedState->pass_cv);

		if (fluss_grid_enabled)
			pace_after_pass(pass, pass_start, pass_commits, pass_fed, folded,
							nfailed, upper_only);

		/* read after the reload above, so a new naptime applies at once */
		timeout = fluss_grid_naptime;
		if (nfailed > 0)
			timeout = Min(timeout, 100);
		if (timeout >= 1000)
			pgstat_report_stat(true);
		(void) nap(timeout, upper_only && fluss_grid_enabled);
		ResetLatch(MyLatch);
	}
}

void
fluss_grid_worker_main(Datum arg)
{
	worker_main(DatumGetObjectId(arg), FG_ROLE_FIRST);
}

void
fluss_grid_second_worker_main(Datum arg)
{
	worker_main(DatumGetObjectId(arg), FG_ROLE_SECOND);
}

void
fluss_grid_third_worker_main(Datum arg)
{
	worker_main(DatumGetObjectId(arg), FG_ROLE_THIRD);
}

/* ---------------------------------------------------------------------
 * Stepping aside for commands that need a database without connections
 * ---------------------------------------------------------------------
 */
static Oid
step_aside_target(Node *stmt, bool *restart_after)
{
	const char *name = NULL;
	ListCell   *lc;

	*restart_after = true;
	switch (nodeTag(stmt))
	{
		case T_DropdbStmt:
			name = ((DropdbStmt *) stmt)->dbname;
			*restart_after = false;
			break;
		case T_RenameStmt:
			if (((RenameStmt *) stmt)->renameType == OBJECT_DATABASE)
				name = ((RenameStmt *) stmt)->subname;
			break;
		case T_CreatedbStmt:
			foreach(lc, ((CreatedbStmt *) stmt)->options)
			{
				DefElem    *d = lfirst(lc);

				if (strcmp(d->defname, "template") == 0 && d->arg)
					name = defGetString(d);
			}
			break;
		case T_AlterDatabaseStmt:
			foreach(lc, ((AlterDatabaseStmt *) stmt)->options)
			{
				DefElem    *d = lfirst(lc);

				if (strcmp(d->defname, "tablespace") == 0)
					name = ((AlterDatabaseStmt *) stmt)->dbname;
			}
			break;
		default:
			break;
	}
	return name ? get_database_oid(name, true) : InvalidOid;
}

/* ask the database's workers to exit and wait (up to 10 s) until they have */
static void
step_aside(Oid dbid)
{
	FgDatabaseSlot *s;
	bool		running;

	LWLockAcquire(FgSharedState->lock, LW_EXCLUSIVE);
	s = FgDatabaseSlotFor(dbid, false);
	if (s == NULL)
	{
		LWLockRelease(FgSharedState->lock);
		return;
	}
	s->paused_until = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), 60000);
	for (int r = 0; r < FG_NUM_ROLES; r++)
		if (s->w[r].latch)
			SetLatch(s->w[r].latch);
	LWLockRelease(FgSharedState->lock);

	for (int i = 0; i < 2000; i++)
	{
		pid_t		pids[FG_NUM_ROLES];

		LWLockAcquire(FgSharedState->lock, LW_SHARED);
		running = false;
		for (int r = 0; r < FG_NUM_ROLES; r++)
		{
			pids[r] = (s->dbid == dbid) ? s->w[r].pid : 0;
			running |= (pids[r] != 0);
		}
		LWLockRelease(FgSharedState->lock);
		if (!running)
			break;

		/*
		 * A long fold does not look at the pause until it ends: after half a
		 * second cancel it (it rolls back, its changes stay pending), every
		 * second while the worker is still there.
		 */
		if (i >= 50 && i % 100 == 50)
			for (int r = 0; r < FG_NUM_ROLES; r++)
				if (pids[r] > 0)
					(void) kill(pids[r], SIGINT);
		CHECK_FOR_INTERRUPTS();
		pg_usleep(10000L);
	}
}

static void
resume(Oid dbid, bool restart)
{
	FgDatabaseSlot *s;

	LWLockAcquire(FgSharedState->lock, LW_EXCLUSIVE);
	s = FgDatabaseSlotFor(dbid, false);
	if (s)
		s->paused_until = 0;
	LWLockRelease(FgSharedState->lock);
	if (restart && FgSharedState->launcher_latch)
		SetLatch(FgSharedState->launcher_latch);
}

static void
fg_process_utility(PlannedStmt *pstmt, const char *queryString,
				   bool readOnlyTree, ProcessUtilityContext context,
				   ParamListInfo params, QueryEnvironment *queryEnv,
				   DestReceiver *dest, QueryCompletion *qc)
{
	volatile Oid dbid = InvalidOid;
	bool		restart = true;
	volatile bool restart_v;

	if (FgSharedState != NULL)
		dbid = step_aside_target(pstmt->utilityStmt, &restart);
	restart_v = restart;
	if (OidIsValid(dbid))
		step_aside(dbid);

	PG_TRY();
	{
		if (prev_ProcessUtility)
			prev_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);
		else
			standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
									params, queryEnv, dest, qc);
	}
	PG_FINALLY();
	{
		if (OidIsValid(dbid))
			resume(dbid, restart_v);
	}
	PG_END_TRY();
}
