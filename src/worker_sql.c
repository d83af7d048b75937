/*-------------------------------------------------------------------------
 *
 * worker_sql.c
 *	  The SQL face of the workers: start_worker() for CREATE EXTENSION,
 *	  wait_for_rollups(), and the workers() and rollup status functions
 *	  behind fluss_grid.workers() and the fluss_grid.rollups view.
 *
 * All of it reads or nudges the shared state worker.c sets up
 * (FgSharedState, under its lock); without shared_preload_libraries there
 * is none, and wait_for_rollups() folds in the calling session instead.
 *
 * IDENTIFICATION
 *	  src/worker_sql.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xlog.h"
#include "commands/dbcommands.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/condition_variable.h"
#include "storage/latch.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "fluss_grid.h"

PG_FUNCTION_INFO_V1(fluss_grid_start_worker);
PG_FUNCTION_INFO_V1(fluss_grid_wait_for_rollups);
PG_FUNCTION_INFO_V1(fluss_grid_workers);
PG_FUNCTION_INFO_V1(fluss_grid_rollup_status);

/* per role: its name in fluss_grid.workers() */
static const char *const role_names[FG_NUM_ROLES] = {
	"first", "second", "third"
};

/*
 * fluss_grid_start_worker
 *		Start this database's worker (called by CREATE EXTENSION).  Without
 *		shared_preload_libraries there are no workers: say so.
 */
Datum
fluss_grid_start_worker(PG_FUNCTION_ARGS)
{
	if (FgSharedState == NULL)
	{
		ereport(WARNING,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("fluss_grid is not loaded through shared_preload_libraries, so no background worker folds changes"),
				 errhint("Add fluss_grid to shared_preload_libraries and restart the server; until then call fluss_grid.fold_now() or fluss_grid.wait_for_rollups() to fold pending changes.")));
		PG_RETURN_BOOL(false);
	}
	FgEnsureWorkerAtCommit();
	PG_RETURN_BOOL(true);
}

/*
 * fluss_grid_wait_for_rollups
 *		True once every change committed before the call has been folded
 *		into every level; false at the timeout.  With workers running, wake
 *		them and wait for passes that started after the call and failed
 *		nowhere (below); without, fold here.
 */
Datum
fluss_grid_wait_for_rollups(PG_FUNCTION_ARGS)
{
	Interval   *timeout;
	int64		timeout_ms;
	TimestampTz deadline;
	FgDatabaseSlot *slot = NULL;
	uint64		target = 0;
	bool		use_worker = false;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("argument \"%s\" must not be null", "timeout")));
	timeout = PG_GETARG_INTERVAL_P(0);
	if (timeout->month < 0 || timeout->day < 0 || timeout->time < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("timeout must not be negative")));
	if (RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("cannot wait for rollups during recovery"),
				 errdetail("On a standby, rollups are folded on the primary and arrive by replication.")));
	timeout_ms = (timeout->month * (int64) DAYS_PER_MONTH + timeout->day) * (int64) (SECS_PER_DAY * 1000) +
		timeout->time / 1000;
	deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), timeout_ms);

	if (FgSharedState != NULL && fluss_grid_enabled)
	{
		LWLockAcquire(FgSharedState->lock, LW_SHARED);
		slot = FgDatabaseSlotFor(MyDatabaseId, false);
		if (slot && slot->w[FG_ROLE_FIRST].pid != 0 && slot->w[FG_ROLE_FIRST].latch)
		{
			use_worker = true;
			target = slot->w[FG_ROLE_FIRST].passes_started + 1;
			SetLatch(slot->w[FG_ROLE_FIRST].latch);
		}
		LWLockRelease(FgSharedState->lock);
	}

	/*
	 * With workers: first a clean pass of the first worker that started
	 * after the call.  If it folded every stage, done; else the stages
	 * after it were a later worker's: then a clean pass of the next later
	 * worker that runs, started after the one before ended (it sees what
	 * that pass wrote into their changelogs), that took no stage the
	 * passes before left out (the cuts move only when transforms or
	 * rollups come or go; then wait again from the first worker), and so
	 * on until the last stage.  Each pass waited for must fold every
	 * rollup it has (full_passes_upto: no deferral, no pacing).  A worker
	 * that goes away sends the wait back to the first worker, or to
	 * folding here.
	 */
	if (use_worker)
	{
		bool		result = false;
		int			role = FG_ROLE_FIRST;
		int			covered = 0;	/* stages [0, covered) are folded */

		ConditionVariablePrepareToSleep(&FgSharedState->pass_cv);
		for (;;)
		{
			bool		done = false;
			bool		alive;
			long		left;
			FgWorkerState *w;

			LWLockAcquire(FgSharedState->lock, LW_EXCLUSIVE);
			alive = slot->dbid == MyDatabaseId && slot->w[FG_ROLE_FIRST].pid != 0;
			w = &slot->w[role];
			if (alive && w->passes_clean >= target && w->clean_from <= covered &&
				(role == FG_ROLE_FIRST || w->pid != 0))
			{
				int			next = role + 1;

				covered = Max(covered, w->clean_to);
				while (next < FG_NUM_ROLES && slot->w[next].pid == 0)
					next++;
				if (covered >= FG_NUM_STAGES)
					done = true;
				else if (next < FG_NUM_ROLES)
				{
					/* the later stages were a later worker's */
					role = next;
					target = slot->w[next].passes_started + 1;
				}
				else
				{
					/* its later worker left: the first worker again */
					role = FG_ROLE_FIRST;
					covered = 0;
					target = slot->w[FG_ROLE_FIRST].passes_started + 1;
				}
			}
			else if (alive && role != FG_ROLE_FIRST &&
					 (w->pid == 0 || w->passes_clean >= target))
			{
				/* gone, or its cut moved: the first worker again */
				role = FG_ROLE_FIRST;
				covered = 0;
				target = slot->w[FG_ROLE_FIRST].passes_started + 1;
			}
			if (!done && alive)
			{
				w = &slot->w[role];
				w->full_passes_upto = Max(w->full_passes_upto, w->passes_started + 1);
				if (w->latch)
					SetLatch(w->latch);
			}
			LWLockRelease(FgSharedState->lock);
			if (done)
			{
				result = true;
				break;
			}
			if (!alive)
				break;			/* fold here instead */
			/* rounded up: under a millisecond left is not yet the deadline */
			left = (long) ((deadline - GetCurrentTimestamp() + 999) / 1000);
			if (left <= 0)
				break;
			(void) ConditionVariableTimedSleep(&FgSharedState->pass_cv, Min(left, 100),
											   PG_WAIT_EXTENSION);
		}
		ConditionVariableCancelSleep();
		if (result)
		{
			/*
			 * The workers commit their folds asynchronously: flush them, so
			 * that a WAL position read after the call covers them and a
			 * standby that has replayed up to it shows the folded rollups.
			 * (The end of the WAL inserted, not the insert position: at a
			 * page boundary that lies past the page header, a position
			 * XLogFlush cannot reach until more WAL comes.)
			 */
			XLogFlush(GetXLogInsertEndRecPtr());
			PG_RETURN_BOOL(true);
		}
		if (GetCurrentTimestamp() >= deadline)
			PG_RETURN_BOOL(false);
	}

	/* no worker: fold in this backend until a pass fails nowhere */
	for (;;)
	{
		int			nfailed;

		(void) FgFoldAll(false, 0, FG_NUM_STAGES, false, &nfailed, NULL);
		if (nfailed == 0)
			PG_RETURN_BOOL(true);
		if (GetCurrentTimestamp() >= deadline)
			PG_RETURN_BOOL(false);
		CHECK_FOR_INTERRUPTS();
		pg_usleep(20000L);
	}
}

/*
 * fluss_grid_workers
 *		The running workers: database, pid, passes completed, role (first,
 *		second, third: the stages each takes, OPERATIONS.md).
 */
Datum
fluss_grid_workers(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, 0);
	if (FgSharedState == NULL)
		return (Datum) 0;
	LWLockAcquire(FgSharedState->lock, LW_SHARED);
	for (int i = 0; i < fluss_grid_max_databases * FG_NUM_ROLES; i++)
	{
		FgDatabaseSlot *s = &FgSharedState->dbs[i / FG_NUM_ROLES];
		FgWorkerState *w = &s->w[i % FG_NUM_ROLES];
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};
		char	   *name;

		if (s->dbid == InvalidOid || w->pid == 0)
			continue;
		name = get_database_name(s->dbid);
		if (name == NULL)
			continue;
		values[0] = CStringGetDatum(name);
		values[0] = DirectFunctionCall1(namein, values[0]);
		values[1] = Int32GetDatum(w->pid);
		values[2] = Int64GetDatum((int64) w->passes_done);
		values[3] = CStringGetTextDatum(role_names[i % FG_NUM_ROLES]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	LWLockRelease(FgSharedState->lock);
	return (Datum) 0;
}

/*
 * fluss_grid_rollup_status
 *		Fold statistics and last error of this database's rollups.
 */
Datum
fluss_grid_rollup_status(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, 0);
	if (FgSharedState == NULL)
		return (Datum) 0;
	LWLockAcquire(FgSharedState->lock, LW_SHARED);
	for (int i = 0; i < FG_MAX_STATUS; i++)
	{
		FgRollupStatus *st = &FgSharedState->status[i];
		Datum		values[8];
		bool		nulls[8] = {false, false, false, false, false, false, false, false};

		if (st->dbid != MyDatabaseId)
			continue;
		values[0] = Int32GetDatum(st->rollup_id);
		values[1] = TimestampTzGetDatum(st->last_fold);
		nulls[1] = (st->last_fold == 0);
		values[2] = Int64GetDatum(st->folds);
		values[3] = Int64GetDatum(st->deltas);
		values[6] = Int64GetDatum(st->recomputed);
		values[7] = Int64GetDatum(st->c_folds);
		values[4] = CStringGetTextDatum(st->last_error);
		nulls[4] = (st->last_error[0] == '\0' || st->failures == 0);
		values[5] = TimestampTzGetDatum(st->last_error_at);
		nulls[5] = (st->last_error_at == 0);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	LWLockRelease(FgSharedState->lock);
	return (Datum) 0;
}
