/*-------------------------------------------------------------------------
 *
 * vacuum.c
 *	  VACUUM (without FULL) of fluss_columnar relations: compaction of row
 *	  groups, removal of the index entries of superseded row groups, and
 *	  truncation of a free tail of the relation file.
 *
 *	  Row-group pages are written once and never changed, so space comes
 *	  back by superseding whole row groups, in three steps over two or more
 *	  VACUUMs:
 *
 *	  1. Compaction.  Row groups that are small (under a quarter of
 *	     row_group_rows, when there are two or more of them), or that have
 *	     at least a fifth of their rows deleted, or all of them, are read
 *	     as the latest snapshot sees them; their live rows are written as
 *	     new row groups with new row numbers (so new TIDs, with new index
 *	     entries), and the old row groups' metadata rows are deleted and a
 *	     columnar_free_extent row recorded for each, all in VACUUM's
 *	     transaction.  Snapshots that do not see that transaction keep
 *	     reading the old row groups through their old metadata rows and old
 *	     index entries; the others read only the new ones.  A transaction
 *	     whose snapshot predates the compaction and then deletes, updates
 *	     or locks a moved row gets a serialization failure (metadata.c,
 *	     ColumnarCheckRow), never a lost update.  Compaction needs
 *	     ExclusiveLock on the relation (no writer, no row locker, readers
 *	     go on), taken conditionally: a few short tries, then it is
 *	     skipped (said at VERBOSE / DEBUG1).
 *
 *	  2. Index cleanup.  Once the superseding transaction precedes
 *	     GetOldestNonRemovableTransactionId (no snapshot can read the old
 *	     row group any more), a later VACUUM removes the old row numbers'
 *	     index entries with ambulkdelete and marks the extent clean.
 *
 *	  3. Reuse.  Writers (storage.c) put new row groups on the pages of
 *	     clean extents big enough (adjacent ones are merged by VACUUM while
 *	     it keeps writers out).  VACUUM moves the last row groups of the
 *	     file, as they are (same row numbers), to clean extents before
 *	     them: a new version of the metadata row points to the new pages,
 *	     the old pages become an extent (without index entries to remove)
 *	     once no snapshot reads them.
 *
 *	  4. Truncation.  Pages past the last one that a row group whose
 *	     metadata row still exists uses are cut off, under
 *	     AccessExclusiveLock taken conditionally (as heap's truncation
 *	     does), by a VACUUM that finds no extent there (an earlier one
 *	     forgets those extents first: see truncate_tail).
 *
 *	  Lazy VACUUM runs with PROC_IN_VACUUM set, which makes other backends
 *	  leave its transaction id out of their snapshots: a transaction that
 *	  writes MVCC rows must not have it (its rows would look committed to
 *	  snapshots taken before its commit, or aborted forever by a hint bit).
 *	  So before writing anything this VACUUM clears the flag (before its
 *	  transaction gets an id) and reads through a snapshot taken after
 *	  that; the flag only ever made other backends' horizons newer, never
 *	  older than a snapshot taken now.
 *
 * IDENTIFICATION
 *	  src/tam/vacuum.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "catalog/storage.h"
#include "commands/vacuum.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "tam/columnar.h"

/* conditional lock tries: VACUUM_LOCK_TRIES times, VACUUM_LOCK_WAIT_MS apart */
#define VACUUM_LOCK_TRIES 10
#define VACUUM_LOCK_WAIT_MS 20

/* sorted row-number ranges whose index entries go */
typedef struct DeadRanges
{
	int			n;
	uint64	   *lo;
	uint64	   *hi;				/* exclusive */
} DeadRanges;

static bool lock_conditionally(Relation rel, LOCKMODE mode);
static void leave_proc_in_vacuum(void);
static void cleanup_indexes(Relation rel, uint64 storage_id,
							TransactionId horizon, int elevel,
							BufferAccessStrategy bstrategy);
static bool range_callback(ItemPointer tid, void *arg);
static void compact(Relation rel, uint64 storage_id, int elevel);
static int	by_first_block_desc(const void *a, const void *b);
static void move_to_free_extents(Relation rel, uint64 storage_id, int elevel);
static void truncate_tail(Relation rel, uint64 storage_id, int elevel);
static void report_rows(Relation rel, uint64 storage_id);
static void insert_index_entries(Relation rel, Relation *indexes,
								 IndexInfo **infos, int nindexes,
								 EState *estate, TupleTableSlot *slot);

/*
 * lock_conditionally
 *		Take mode on rel without waiting in the lock queue: up to
 *		VACUUM_LOCK_TRIES tries, VACUUM_LOCK_WAIT_MS apart.  VACUUM holds
 *		ShareUpdateExclusiveLock already; queueing for a stronger lock
 *		would block every later writer behind it (and could deadlock).
 */
static bool
lock_conditionally(Relation rel, LOCKMODE mode)
{
	int			i;

	for (i = 0; i < VACUUM_LOCK_TRIES; i++)
	{
		if (ConditionalLockRelation(rel, mode))
			return true;
		CHECK_FOR_INTERRUPTS();
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 VACUUM_LOCK_WAIT_MS, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
	return false;
}

/*
 * leave_proc_in_vacuum
 *		Make this transaction an ordinary one for other backends' snapshots
 *		before it gets a transaction id (see the file header).
 */
static void
leave_proc_in_vacuum(void)
{
	if (!(MyProc->statusFlags & PROC_IN_VACUUM))
		return;
	LWLockAcquire(ProcArrayLock, LW_EXCLUSIVE);
	MyProc->statusFlags &= ~PROC_IN_VACUUM;
	ProcGlobal->statusFlags[MyProc->pgxactoff] = MyProc->statusFlags;
	LWLockRelease(ProcArrayLock);
}

/*
 * ColumnarVacuum
 *		The relation_vacuum callback: index cleanup of row groups no
 *		snapshot reads any more, compaction, truncation of a free tail.
 *		Called with ShareUpdateExclusiveLock held.
 */
void
ColumnarVacuum(Relation rel, struct VacuumParams *params,
			   BufferAccessStrategy bstrategy)
{
	uint64		storage_id = ColumnarStorageId(rel, false);
	int			elevel = (params->options & VACOPT_VERBOSE) ? INFO : DEBUG1;
	TransactionId horizon;

	if (storage_id == 0)
		return;
	if (TransactionIdIsValid(GetTopTransactionIdIfAny()))
	{
		/* cannot happen in VACUUM; never write as a PROC_IN_VACUUM xact */
		ereport(elevel,
				(errmsg("fluss_columnar: skipping VACUUM of \"%s\": its transaction already has an id",
						RelationGetRelationName(rel))));
		return;
	}
	leave_proc_in_vacuum();
	InvalidateCatalogSnapshot();
	horizon = GetOldestNonRemovableTransactionId(rel);

	/* VACUUM (INDEX_CLEANUP OFF): superseded extents stay unusable */
	if (params->index_cleanup != VACOPTVALUE_DISABLED)
	{
		cleanup_indexes(rel, storage_id, horizon, elevel, bstrategy);
		CommandCounterIncrement();
	}

	/* held to commit: the new row groups and moves are not committed yet */
	if (lock_conditionally(rel, ExclusiveLock))
	{
		int			merged = ColumnarCoalesceExtents(storage_id);

		if (merged > 0)
			ereport(elevel,
					(errmsg("fluss_columnar: merged %d adjacent free extents of \"%s\"",
							merged, RelationGetRelationName(rel))));
		compact(rel, storage_id, elevel);
		CommandCounterIncrement();
		move_to_free_extents(rel, storage_id, elevel);
		CommandCounterIncrement();
	}
	else
		ereport(elevel,
				(errmsg("fluss_columnar: skipping compaction of \"%s\": another transaction is writing or locking rows of it",
						RelationGetRelationName(rel))));
	if (params->truncate != VACOPTVALUE_DISABLED)
		truncate_tail(rel, storage_id, elevel);
	report_rows(rel, storage_id);
}

/*
 * report_rows
 *		Tell the statistics system the rows left live and the deleted ones
 *		still stored (in row groups under the rewrite threshold), as heap's
 *		VACUUM does: autovacuum compares the dead count, and the rows
 *		inserted since, with its thresholds, so it neither misses a
 *		columnar table nor vacuums it again for rows it cannot reclaim.
 */
static void
report_rows(Relation rel, uint64 storage_id)
{
	Snapshot	snapshot = RegisterSnapshot(GetLatestSnapshot());
	List	   *rgs = ColumnarReadRowGroups(storage_id, snapshot,
											RelationGetDescr(rel)->natts);
	int64		live = 0;
	int64		dead = 0;
	ListCell   *lc;

	foreach(lc, rgs)
	{
		ColumnarRowGroup *rg = lfirst(lc);
		bool	   *deleted = ColumnarReadDeletions(storage_id, rg->first_row,
													rg->row_count, snapshot);

		for (int32 r = 0; deleted && r < rg->row_count; r++)
			dead += deleted[r] ? 1 : 0;
		live += rg->row_count;
		if (deleted)
			pfree(deleted);
	}
	UnregisterSnapshot(snapshot);
	pgstat_report_vacuum(RelationGetRelid(rel), rel->rd_rel->relisshared,
						 live - dead, dead);
}

/* ------------------------------------------------------------------------
 * Index cleanup
 * ------------------------------------------------------------------------
 */

/* whether tid's row number lies in one of the ranges */
static bool
range_callback(ItemPointer tid, void *arg)
{
	DeadRanges *r = arg;
	uint64		rn = ColumnarTidToRowNumber(tid);
	int			lo = 0;
	int			hi = r->n - 1;

	while (lo <= hi)
	{
		int			mid = (lo + hi) / 2;

		if (rn < r->lo[mid])
			hi = mid - 1;
		else if (rn >= r->hi[mid])
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

/*
 * cleanup_indexes
 *		Remove the index entries of superseded row groups that no snapshot
 *		can read any more, and mark their extents clean.
 */
static void
cleanup_indexes(Relation rel, uint64 storage_id, TransactionId horizon,
				int elevel, BufferAccessStrategy bstrategy)
{
	Snapshot	snapshot = RegisterSnapshot(GetLatestSnapshot());
	List	   *extents = ColumnarFreeExtents(storage_id, snapshot, true, horizon);
	DeadRanges	ranges;
	ListCell   *lc;
	Relation   *indexes;
	int			nindexes;
	int			nselected = 0;
	int			i;

	ranges.n = 0;
	ranges.lo = palloc(sizeof(uint64) * Max(list_length(extents), 1));
	ranges.hi = palloc(sizeof(uint64) * Max(list_length(extents), 1));
	/* ordered by first_row (the index order); ranges never overlap */
	foreach(lc, extents)
	{
		ColumnarFreeExtent *e = lfirst(lc);

		if (e->indexes_clean)
			continue;
		/* the old metadata row goes first (see ColumnarRowGroupRowGone) */
		if (!ColumnarRowGroupRowGone(storage_id, e->first_row, e->first_block,
									 horizon))
			continue;
		e->selected = true;
		nselected++;
		/* a moved row group's rows live on: no index entries to remove */
		if (e->row_count == 0)
			continue;
		ranges.lo[ranges.n] = e->first_row;
		ranges.hi[ranges.n] = e->first_row + e->row_count;
		ranges.n++;
	}
	if (nselected == 0)
	{
		UnregisterSnapshot(snapshot);
		return;
	}
	if (ranges.n == 0)
		goto mark;

	vac_open_indexes(rel, RowExclusiveLock, &nindexes, &indexes);
	for (i = 0; i < nindexes; i++)
	{
		IndexVacuumInfo ivinfo;
		IndexBulkDeleteResult *stats;

		memset(&ivinfo, 0, sizeof(ivinfo));
		ivinfo.index = indexes[i];
		ivinfo.analyze_only = false;
		ivinfo.report_progress = false;
		ivinfo.estimated_count = true;
		ivinfo.message_level = elevel;
		ivinfo.num_heap_tuples = Max(rel->rd_rel->reltuples, 0);
		ivinfo.strategy = bstrategy;
		stats = index_bulk_delete(&ivinfo, NULL, range_callback, &ranges);
		stats = index_vacuum_cleanup(&ivinfo, stats);
		if (stats)
		{
			ereport(elevel,
					(errmsg("fluss_columnar: index \"%s\" now has %.0f entries, %.0f removed",
							RelationGetRelationName(indexes[i]),
							stats->num_index_tuples, stats->tuples_removed)));
			pfree(stats);
		}
	}
	vac_close_indexes(nindexes, indexes, NoLock);
	ereport(elevel,
			(errmsg("fluss_columnar: removed the index entries of %d superseded row groups of \"%s\"",
					ranges.n, RelationGetRelationName(rel))));

mark:
	foreach(lc, extents)
	{
		ColumnarFreeExtent *e = lfirst(lc);

		if (e->selected)
			ColumnarMarkExtentClean(e, snapshot);
	}
	ereport(elevel,
			(errmsg("fluss_columnar: %d free extents of \"%s\" can be reused",
					nselected, RelationGetRelationName(rel))));
	UnregisterSnapshot(snapshot);
}

/* ------------------------------------------------------------------------
 * Compaction
 * ------------------------------------------------------------------------
 */

/* index entries of the row in slot (new TID) in every index */
static void
insert_index_entries(Relation rel, Relation *indexes, IndexInfo **infos,
					 int nindexes, EState *estate, TupleTableSlot *slot)
{
	ExprContext *econtext = GetPerTupleExprContext(estate);
	int			i;

	econtext->ecxt_scantuple = slot;
	for (i = 0; i < nindexes; i++)
	{
		IndexInfo  *ii = infos[i];
		Datum		values[INDEX_MAX_KEYS];
		bool		isnull[INDEX_MAX_KEYS];

		if (!indexes[i]->rd_index->indisready)
			continue;
		if (ii->ii_Predicate != NIL)
		{
			if (ii->ii_PredicateState == NULL)
				ii->ii_PredicateState = ExecPrepareQual(ii->ii_Predicate, estate);
			if (!ExecQual(ii->ii_PredicateState, econtext))
				continue;
		}
		FormIndexDatum(ii, slot, estate, values, isnull);

		/*
		 * No uniqueness check: the row's old entry stays (for older
		 * snapshots) with the same key until the index cleanup.
		 */
		index_insert(indexes[i], values, isnull, &slot->tts_tid, rel,
					 UNIQUE_CHECK_NO, false, ii);
	}
	ResetExprContext(econtext);
}

/*
 * compact
 *		Rewrite the small row groups and those with many deleted rows
 *		(ExclusiveLock held).
 */
static void
compact(Relation rel, uint64 storage_id, int elevel)
{
	TupleDesc	desc = RelationGetDescr(rel);
	ColumnarOptions options;
	Snapshot	snapshot;
	List	   *rgs;
	List	   *chosen = NIL;
	List	   *small = NIL;
	bool		any_deleted = false;
	ListCell   *lc;
	MemoryContext cxt;
	MemoryContext old;
	Relation   *indexes;
	IndexInfo **infos;
	int			nindexes;
	EState	   *estate;
	TupleTableSlot *slot;
	CommandId	cid;
	int64		moved = 0;
	int64		dropped = 0;
	int			i;

	cxt = AllocSetContextCreate(CurrentMemoryContext,
								"fluss_columnar vacuum",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);
	ColumnarGetOptions(RelationGetRelid(rel), &options);

	/* every writer has ended: the latest snapshot sees all that is */
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	rgs = ColumnarReadRowGroups(storage_id, snapshot, desc->natts);
	foreach(lc, rgs)
	{
		ColumnarRowGroup *rg = lfirst(lc);
		bool	   *deleted = ColumnarReadDeletions(storage_id, rg->first_row,
													rg->row_count, snapshot);
		int32		ndeleted = 0;
		int32		r;

		for (r = 0; deleted && r < rg->row_count; r++)
			ndeleted += deleted[r] ? 1 : 0;
		if (deleted)
			pfree(deleted);
		if (ndeleted > 0 && (int64) ndeleted * 5 >= rg->row_count)
		{
			chosen = lappend(chosen, rg);
			any_deleted = true;
		}
		else if ((int64) rg->row_count * 4 < options.row_group_rows)
			small = lappend(small, rg);
	}
	/* one small row group alone would be rewritten as it is */
	if (list_length(small) >= 2 || (any_deleted && small != NIL))
		chosen = list_concat(chosen, small);
	if (chosen == NIL)
	{
		UnregisterSnapshot(snapshot);
		MemoryContextSwitchTo(old);
		MemoryContextDelete(cxt);
		return;
	}

	vac_open_indexes(rel, RowExclusiveLock, &nindexes, &indexes);
	infos = palloc(sizeof(IndexInfo *) * Max(nindexes, 1));
	for (i = 0; i < nindexes; i++)
		infos[i] = BuildIndexInfo(indexes[i]);
	estate = CreateExecutorState();
	slot = MakeSingleTupleTableSlot(desc, &TTSOpsVirtual);
	cid = GetCurrentCommandId(true);

	/* in row-number order, the order of rgs */
	foreach(lc, rgs)
	{
		ColumnarRowGroup *rg = lfirst(lc);
		MemoryContext batch_cxt;
		ColumnarBatch *batch;
		bool	   *deleted;
		int32		r;

		if (!list_member_ptr(chosen, rg))
			continue;
		CHECK_FOR_INTERRUPTS();
		batch_cxt = AllocSetContextCreate(cxt, "fluss_columnar vacuum row group",
										  ALLOCSET_DEFAULT_SIZES);
		batch = ColumnarLoadRowGroup(rel, desc, rg, NULL, batch_cxt);
		deleted = ColumnarReadDeletions(storage_id, rg->first_row,
										rg->row_count, snapshot);
		for (r = 0; r < batch->nrows; r++)
		{
			if (deleted && deleted[r])
			{
				dropped++;
				continue;
			}
			ExecClearTuple(slot);
			for (i = 0; i < desc->natts; i++)
			{
				slot->tts_values[i] = batch->values[i][r];
				slot->tts_isnull[i] = batch->isnull[i][r];
			}
			ExecStoreVirtualTuple(slot);
			ColumnarInsert(rel, slot, cid, PG_INT32_MAX);
			insert_index_entries(rel, indexes, infos, nindexes, estate, slot);
			moved++;
		}
		/* the buffer copied the rows: the decoded row group can go */
		MemoryContextDelete(batch_cxt);
		ColumnarSupersedeRowGroup(rg, snapshot);
	}
	ColumnarFlushRelation(rel, true);

	ExecDropSingleTupleTableSlot(slot);
	FreeExecutorState(estate);
	vac_close_indexes(nindexes, indexes, NoLock);
	UnregisterSnapshot(snapshot);

	ereport(elevel,
			(errmsg("fluss_columnar: compacted %d row groups of \"%s\": %lld rows moved, %lld deleted rows removed",
					list_length(chosen), RelationGetRelationName(rel),
					(long long) moved, (long long) dropped)));
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
}

/* ------------------------------------------------------------------------
 * Moves
 * ------------------------------------------------------------------------
 */

/* qsort: row groups by first block, last first */
static int
by_first_block_desc(const void *a, const void *b)
{
	const ColumnarRowGroup *x = *(ColumnarRowGroup *const *) a;
	const ColumnarRowGroup *y = *(ColumnarRowGroup *const *) b;

	if (x->first_block == y->first_block)
		return 0;
	return x->first_block > y->first_block ? -1 : 1;
}

/*
 * move_to_free_extents
 *		Copy the last row groups of the file, as they are, to reusable free
 *		extents before them, so that a later VACUUM can truncate the file:
 *		same row numbers (the index entries stay right), a new version of
 *		the metadata row pointing to the new pages; older snapshots read
 *		the old pages, which become a free extent.  Stops at the first row
 *		group no extent before it can take.
 */
static void
move_to_free_extents(Relation rel, uint64 storage_id, int elevel)
{
	Snapshot	snapshot = RegisterSnapshot(GetLatestSnapshot());
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext,
											  "fluss_columnar vacuum move",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	List	   *rgs = ColumnarReadRowGroups(storage_id, snapshot, 0);
	ColumnarRowGroup **sorted;
	ListCell   *lc;
	int			n = 0;
	int			i;
	int			moved = 0;

	sorted = palloc(sizeof(ColumnarRowGroup *) * Max(list_length(rgs), 1));
	foreach(lc, rgs)
		sorted[n++] = lfirst(lc);
	qsort(sorted, n, sizeof(ColumnarRowGroup *), by_first_block_desc);
	for (i = 0; i < n; i++)
	{
		ColumnarRowGroup *rg = sorted[i];
		uint64		nblocks = (rg->data_length + COLUMNAR_PAGE_DATA - 1) /
			COLUMNAR_PAGE_DATA;
		uint64		dest;
		char	   *data;

		CHECK_FOR_INTERRUPTS();
		if (nblocks == 0)
			continue;
		if (!ColumnarClaimFreeExtent(storage_id, nblocks, rg->first_block,
									 &dest))
			break;
		data = palloc_extended(rg->data_length, MCXT_ALLOC_HUGE);
		ColumnarReadData(rel, rg->first_block, 0, data, rg->data_length,
						 rg->row_group, "(all)");
		ColumnarWriteDataAt(rel, (BlockNumber) dest, data, rg->data_length);
		pfree(data);
		ColumnarMoveRowGroup(rg, dest, snapshot);
		moved++;
	}
	UnregisterSnapshot(snapshot);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
	if (moved > 0)
		ereport(elevel,
				(errmsg("fluss_columnar: moved %d row groups of \"%s\" into free pages before them",
						moved, RelationGetRelationName(rel))));
}

/* ------------------------------------------------------------------------
 * Truncation
 * ------------------------------------------------------------------------
 */

/*
 * truncate_tail
 *		Cut off the pages after the last one that a row group whose
 *		metadata row still exists uses, if AccessExclusiveLock can be had
 *		without waiting.  With that lock no transaction writes the
 *		relation, so pages after that are of superseded row groups or of
 *		aborted writes.
 *
 *		The truncation is not transactional (as heap's): if this
 *		transaction then aborted, or the server crashed before its commit,
 *		a change to columnar_free_extent made with it would be undone
 *		while the pages stay cut off, and an extent past the end could be
 *		claimed once the file grows again over other row groups.  So the
 *		extents past the end are first forgotten (deleted, or kept without
 *		pages when their index entries have still to go) by one VACUUM,
 *		and the file is truncated by a later one that finds none.
 */
static void
truncate_tail(Relation rel, uint64 storage_id, int elevel)
{
	BlockNumber nblocks = RelationGetNumberOfBlocks(rel);
	uint64		used;
	Snapshot	snapshot;
	List	   *extents;
	ListCell   *lc;
	bool		deferred = false;

	if (ColumnarUsedBlocks(storage_id) >= nblocks)
		return;
	if (!lock_conditionally(rel, AccessExclusiveLock))
	{
		ereport(elevel,
				(errmsg("fluss_columnar: skipping truncation of \"%s\": lock not available",
						RelationGetRelationName(rel))));
		return;
	}
	/* again, now that nobody else writes */
	nblocks = RelationGetNumberOfBlocks(rel);
	used = ColumnarUsedBlocks(storage_id);
	if (used >= nblocks)
		return;

	snapshot = RegisterSnapshot(GetLatestSnapshot());
	extents = ColumnarFreeExtents(storage_id, snapshot, false,
								  InvalidTransactionId);
	foreach(lc, extents)
	{
		ColumnarFreeExtent *e = lfirst(lc);

		if (e->nblocks == 0 && e->indexes_clean)
			ColumnarDeleteExtent(e, snapshot);
		else if (e->nblocks > 0 && e->first_block + e->nblocks > used)
		{
			if (e->indexes_clean)
				ColumnarDeleteExtent(e, snapshot);
			else
				ColumnarForgetExtentPages(e, snapshot);
			deferred = true;
		}
	}
	UnregisterSnapshot(snapshot);
	if (deferred)
	{
		ereport(elevel,
				(errmsg("fluss_columnar: \"%s\" can be truncated from %u to %llu pages by the next VACUUM",
						RelationGetRelationName(rel), nblocks,
						(unsigned long long) used)));
		return;
	}
	RelationTruncate(rel, (BlockNumber) used);
	ereport(elevel,
			(errmsg("fluss_columnar: truncated \"%s\" from %u to %llu pages",
					RelationGetRelationName(rel), nblocks,
					(unsigned long long) used)));
}
