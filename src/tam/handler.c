/*-------------------------------------------------------------------------
 *
 * handler.c
 *	  The fluss_columnar table access method: its TableAmRoutine, the
 *	  planner and drop hooks it needs, and its SQL functions.
 *
 *	  Supported: scans, INSERT, COPY, DELETE, UPDATE (a deletion record
 *	  plus a new row), TRUNCATE, DROP, ALTER TABLE rewrites (SET ACCESS
 *	  METHOD both ways, column type changes), SET TABLESPACE, VACUUM
 *	  (vacuum.c: compaction of row groups), VACUUM FULL, ANALYZE,
 *	  fetches by TID (AFTER ROW triggers, UPDATE, TID scans), row locks (exclusive whatever the
 *	  mode), indexes (B-tree and the others but BRIN; index, index-only
 *	  and bitmap scans; unique checks, primary keys).  Everything else
 *	  fails with ERRCODE_FEATURE_NOT_SUPPORTED naming the operation and
 *	  the access method: CREATE INDEX / REINDEX CONCURRENTLY, BRIN,
 *	  exclusion constraints, ON CONFLICT, CLUSTER, TABLESAMPLE, parallel
 *	  scans of the access method itself (parallel workers read these
 *	  tables only through the parallel ColumnarScan of customscan.c; the
 *	  planner hook checks plans, and no workers are started in a
 *	  transaction holding rows only its backend can see), UNLOGGED
 *	  tables.
 *
 * IDENTIFICATION
 *	  src/tam/handler.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/amapi.h"
#include "access/brin.h"
#include "access/heapam.h"
#include "access/multixact.h"
#include "access/parallel.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/objectaccess.h"
#include "catalog/pg_am.h"
#include "catalog/pg_class.h"
#include "catalog/storage.h"
#include "commands/defrem.h"
#include "executor/executor.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "optimizer/plancat.h"
#include "optimizer/planner.h"
#include "parser/parsetree.h"
#include "pgstat.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "storage/predicate.h"
#include "storage/procarray.h"
#include "storage/smgr.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "tam/columnar.h"

PG_FUNCTION_INFO_V1(columnar_handler);
PG_FUNCTION_INFO_V1(columnar_set);
PG_FUNCTION_INFO_V1(columnar_storage_id);

static object_access_hook_type prev_object_access_hook = NULL;
static get_relation_info_hook_type prev_get_relation_info_hook = NULL;
static planner_hook_type prev_planner_hook = NULL;
static ProcessUtility_hook_type prev_process_utility_hook = NULL;
static ExecutorRun_hook_type prev_executor_run_hook = NULL;

/* set while planning when a fluss_columnar relation was seen */
static bool planning_saw_columnar = false;

/* > 0 while a utility statement fills a fluss_columnar relation */
static int	filling_columnar = 0;

static void unsupported(const char *what) pg_attribute_noreturn();
static bool fills_columnar(Node *stmt);

/* ERRCODE_FEATURE_NOT_SUPPORTED for an operation not supported yet */
static void
unsupported(const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("%s is not supported by access method \"%s\"",
					what, COLUMNAR_AM_NAME)));
}

/*
 * ColumnarAmOid
 *		Oid of the access method, InvalidOid where the extension is not
 *		installed.
 */
Oid
ColumnarAmOid(void)
{
	return get_am_oid(COLUMNAR_AM_NAME, true);
}

/*
 * ColumnarIsColumnarRelid
 *		Whether relid is a relation of this access method.
 */
bool
ColumnarIsColumnarRelid(Oid relid)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Oid			am;

	if (!HeapTupleIsValid(tup))
		return false;
	am = ((Form_pg_class) GETSTRUCT(tup))->relam;
	ReleaseSysCache(tup);
	return OidIsValid(am) && am == ColumnarAmOid();
}

/* ------------------------------------------------------------------------
 * Callbacks
 * ------------------------------------------------------------------------
 */

static const TupleTableSlotOps *
columnar_slot_callbacks(Relation rel)
{
	return &TTSOpsVirtual;
}

static Size
columnar_parallelscan_estimate(Relation rel)
{
	unsupported("parallel scan");
}

static Size
columnar_parallelscan_initialize(Relation rel, ParallelTableScanDesc pscan)
{
	unsupported("parallel scan");
}

static void
columnar_parallelscan_reinitialize(Relation rel, ParallelTableScanDesc pscan)
{
	unsupported("parallel scan");
}

static struct IndexFetchTableData *
columnar_index_fetch_begin(Relation rel)
{
	return (struct IndexFetchTableData *) ColumnarIndexFetchBegin(rel);
}

static void
columnar_index_fetch_reset(struct IndexFetchTableData *data)
{
	ColumnarIndexFetchReset((ColumnarIndexFetch) data);
}

static void
columnar_index_fetch_end(struct IndexFetchTableData *data)
{
	ColumnarIndexFetchEnd((ColumnarIndexFetch) data);
}

/*
 * columnar_index_fetch_tuple
 *		A TID is one row version (no HOT chains): never call again.  A row
 *		is never reported dead to all, so index entries are not killed;
 *		they stay until a rewrite (VACUUM FULL) rebuilds the indexes.
 */
static bool
columnar_index_fetch_tuple(struct IndexFetchTableData *scan, ItemPointer tid,
						   Snapshot snapshot, TupleTableSlot *slot,
						   bool *call_again, bool *all_dead)
{
	*call_again = false;
	if (all_dead)
		*all_dead = false;
	return ColumnarIndexFetchRow((ColumnarIndexFetch) scan, tid, snapshot, slot);
}

static bool
columnar_tuple_fetch_row_version(Relation rel, ItemPointer tid,
								 Snapshot snapshot, TupleTableSlot *slot)
{
	return ColumnarFetchRow(rel, tid, snapshot, slot);
}

static bool
columnar_tuple_tid_valid(TableScanDesc scan, ItemPointer tid)
{
	return ItemPointerIsValid(tid) &&
		ItemPointerGetOffsetNumberNoCheck(tid) <= COLUMNAR_ROWS_PER_BLOCK;
}

static void
columnar_tuple_get_latest_tid(TableScanDesc scan, ItemPointer tid)
{
	/* rows are never updated in place: a TID is its own latest version */
}

static bool
columnar_tuple_satisfies_snapshot(Relation rel, TupleTableSlot *slot,
								  Snapshot snapshot)
{
	TupleTableSlot *tmp = MakeSingleTupleTableSlot(RelationGetDescr(rel),
												   &TTSOpsVirtual);
	bool		found = ColumnarFetchRow(rel, &slot->tts_tid, snapshot, tmp);

	ExecDropSingleTupleTableSlot(tmp);
	return found;
}

/*
 * columnar_index_delete_tuples
 *		No index entry is found deletable (bottom-up and simple deletion
 *		in B-trees do nothing): they stay until a rewrite.
 */
static TransactionId
columnar_index_delete_tuples(Relation rel, TM_IndexDeleteOp *delstate)
{
	return InvalidTransactionId;
}

static void
columnar_tuple_insert(Relation rel, TupleTableSlot *slot, CommandId cid,
					  int options, struct BulkInsertStateData *bistate)
{
	CheckForSerializableConflictIn(rel, NULL, InvalidBlockNumber);
	ColumnarInsert(rel, slot, cid, 1);
	pgstat_count_heap_insert(rel, 1);
}

static void
columnar_tuple_insert_speculative(Relation rel, TupleTableSlot *slot,
								  CommandId cid, int options,
								  struct BulkInsertStateData *bistate,
								  uint32 specToken)
{
	unsupported("INSERT ... ON CONFLICT");
}

static void
columnar_tuple_complete_speculative(Relation rel, TupleTableSlot *slot,
									uint32 specToken, bool succeeded)
{
	unsupported("INSERT ... ON CONFLICT");
}

static void
columnar_multi_insert(Relation rel, TupleTableSlot **slots, int nslots,
					  CommandId cid, int options,
					  struct BulkInsertStateData *bistate)
{
	int			i;

	CheckForSerializableConflictIn(rel, NULL, InvalidBlockNumber);
	for (i = 0; i < nslots; i++)
		ColumnarInsert(rel, slots[i], cid, nslots - i);
	pgstat_count_heap_insert(rel, nslots);
}

static TM_Result
columnar_tuple_delete(Relation rel, ItemPointer tid, CommandId cid,
					  Snapshot snapshot, Snapshot crosscheck, bool wait,
					  TM_FailureData *tmfd, bool changingPart)
{
	uint64		storage_id = ColumnarStorageId(rel, false);
	TM_Result	result;

	if (storage_id == 0)
		elog(ERROR, "fluss_columnar relation \"%s\" has no storage",
			 RelationGetRelationName(rel));
	CheckForSerializableConflictIn(rel, NULL, InvalidBlockNumber);
	result = ColumnarDeleteRow(rel, storage_id, ColumnarTidToRowNumber(tid),
							   cid, snapshot, wait, tmfd, changingPart);
	/* counted as heap counts them: autovacuum and autoanalyze read these */
	if (result == TM_Ok)
		pgstat_count_heap_delete(rel);
	return result;
}

static TM_Result
columnar_tuple_update(Relation rel, ItemPointer otid, TupleTableSlot *slot,
					  CommandId cid, Snapshot snapshot, Snapshot crosscheck,
					  bool wait, TM_FailureData *tmfd,
					  LockTupleMode *lockmode, bool *update_indexes)
{
	uint64		storage_id = ColumnarStorageId(rel, false);
	TM_Result	result;

	if (storage_id == 0)
		elog(ERROR, "fluss_columnar relation \"%s\" has no storage",
			 RelationGetRelationName(rel));
	*lockmode = LockTupleExclusive;
	/* the new version has a new TID: every index needs an entry for it */
	*update_indexes = true;
	CheckForSerializableConflictIn(rel, NULL, InvalidBlockNumber);
	result = ColumnarDeleteRow(rel, storage_id, ColumnarTidToRowNumber(otid),
							   cid, snapshot, wait, tmfd, true);
	if (result != TM_Ok)
		return result;
	ColumnarInsert(rel, slot, cid, 1);
#if PG_VERSION_NUM >= 160000
	pgstat_count_heap_update(rel, false, true);
#else
	pgstat_count_heap_update(rel, false);
#endif
	return TM_Ok;
}

/*
 * columnar_tuple_lock
 *		Lock a row until the end of the transaction (SELECT FOR UPDATE /
 *		SHARE, BEFORE ROW triggers of UPDATE and DELETE): the heavyweight
 *		lock of its TID, which every deleter of the row also takes.  Every
 *		mode locks exclusively (stricter than heap, never weaker), and each
 *		locked row holds a lock-table entry until commit.  Then, as for a
 *		delete: a deletion in progress is waited for, a committed one gives
 *		TM_Deleted (or a serialization failure after an UPDATE), this
 *		transaction's own TM_SelfModified.
 */
static TM_Result
columnar_tuple_lock(Relation rel, ItemPointer tid, Snapshot snapshot,
					TupleTableSlot *slot, CommandId cid, LockTupleMode mode,
					LockWaitPolicy wait_policy, uint8 flags,
					TM_FailureData *tmfd)
{
	uint64		storage_id = ColumnarStorageId(rel, false);
	TM_Result	result;

	tmfd->traversed = false;
	if (storage_id == 0 || !ColumnarFetchRow(rel, tid, SnapshotAny, slot))
		return TM_Invisible;

	switch (wait_policy)
	{
		case LockWaitBlock:
			LockTuple(rel, tid, ExclusiveLock);
			break;
		case LockWaitSkip:
			if (!ConditionalLockTuple(rel, tid, ExclusiveLock))
				return TM_WouldBlock;
			break;
		case LockWaitError:
			if (!ConditionalLockTuple(rel, tid, ExclusiveLock))
				ereport(ERROR,
						(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
						 errmsg("could not obtain lock on row in relation \"%s\"",
								RelationGetRelationName(rel))));
			break;
	}
	result = ColumnarCheckRow(rel, storage_id, ColumnarTidToRowNumber(tid),
							  wait_policy == LockWaitBlock, tmfd, false,
							  false);
	if (result == TM_WouldBlock && wait_policy == LockWaitError)
		ereport(ERROR,
				(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
				 errmsg("could not obtain lock on row in relation \"%s\"",
						RelationGetRelationName(rel))));
	return result;
}

static void
columnar_finish_bulk_insert(Relation rel, int options)
{
	ColumnarFlushRelation(rel, false);
}

static void
columnar_relation_set_new_filenode(Relation rel, const RelFileNode *newrnode,
								   char persistence, TransactionId *freezeXid,
								   MultiXactId *minmulti)
{
	SMgrRelation srel;

	if (persistence == RELPERSISTENCE_UNLOGGED)
		unsupported("UNLOGGED table");

	/* TRUNCATE or a new file: the old file's metadata goes (MVCC) */
	if (!RelFileNodeEquals(rel->rd_node, *newrnode) &&
		smgrexists(RelationGetSmgr(rel), MAIN_FORKNUM))
		ColumnarDeleteStorageMetadata(ColumnarStorageId(rel, false));
	ColumnarForgetStorageIdCache(rel);

	/* row groups hold no transaction ids */
	*freezeXid = InvalidTransactionId;
	*minmulti = InvalidMultiXactId;

	srel = RelationCreateStorage(*newrnode, persistence, true);
	smgrclose(srel);
}

static void
columnar_relation_nontransactional_truncate(Relation rel)
{
	uint64		storage_id = ColumnarStorageId(rel, false);

	if (storage_id != 0)
	{
		ColumnarDiscardStorage(storage_id);
		ColumnarDeleteStorageMetadata(storage_id);
	}
	RelationTruncate(rel, 0);
	ColumnarForgetStorageIdCache(rel);
	ColumnarResetFetchCache();
}

static void
columnar_relation_copy_data(Relation rel, const RelFileNode *newrnode)
{
	SMgrRelation dstrel;

	/* the file is copied as is, metapage and storage id included */
	FlushRelationBuffers(rel);
	dstrel = RelationCreateStorage(*newrnode, rel->rd_rel->relpersistence, true);
	RelationCopyStorage(RelationGetSmgr(rel), dstrel, MAIN_FORKNUM,
						rel->rd_rel->relpersistence);
	RelationDropStorage(rel);
	smgrclose(dstrel);
}

static void
columnar_relation_copy_for_cluster(Relation OldTable, Relation NewTable,
								   Relation OldIndex, bool use_sort,
								   TransactionId OldestXmin,
								   TransactionId *xid_cutoff,
								   MultiXactId *multi_cutoff,
								   double *num_tuples, double *tups_vacuumed,
								   double *tups_recently_dead)
{
	Snapshot	snapshot;
	TableScanDesc scan;
	TupleTableSlot *slot;
	ColumnarOptions options;
	CommandId	cid = GetCurrentCommandId(true);

	if (OldIndex != NULL)
		unsupported("CLUSTER");

	/* VACUUM FULL: copy the rows visible now, keep the options */
	ColumnarGetOptions(RelationGetRelid(OldTable), &options);
	ColumnarSetPendingOptions(NewTable, &options);
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	scan = table_beginscan(OldTable, snapshot, 0, NULL);
	slot = MakeSingleTupleTableSlot(RelationGetDescr(OldTable), &TTSOpsVirtual);
	*num_tuples = 0;
	*tups_vacuumed = 0;
	*tups_recently_dead = 0;
	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		CHECK_FOR_INTERRUPTS();
		ColumnarInsert(NewTable, slot, cid, PG_INT32_MAX);
		*num_tuples += 1;
	}
	ExecDropSingleTupleTableSlot(slot);
	table_endscan(scan);
	UnregisterSnapshot(snapshot);
	ColumnarFlushRelation(NewTable, false);

	*xid_cutoff = InvalidTransactionId;
	*multi_cutoff = InvalidMultiXactId;
}

/* compaction, index cleanup and truncation: vacuum.c */
static void
columnar_relation_vacuum(Relation rel, struct VacuumParams *params,
						 BufferAccessStrategy bstrategy)
{
	ColumnarVacuum(rel, params, bstrategy);
}

static bool
columnar_scan_analyze_next_block(TableScanDesc scan, BlockNumber blockno,
								 BufferAccessStrategy bstrategy)
{
	/*
	 * Blocks are not rows here: the first sampled "block" returns every
	 * row, and ANALYZE's reservoir sampling picks its sample from them.
	 */
	return true;
}

static bool
columnar_scan_analyze_next_tuple(TableScanDesc scan, TransactionId OldestXmin,
								 double *liverows, double *deadrows,
								 TupleTableSlot *slot)
{
	if (ColumnarGetNextSlot(scan, ForwardScanDirection, slot))
	{
		*liverows += 1;
		return true;
	}
	return false;
}

/* what an index build passes from row to row */
typedef struct ColumnarBuildState
{
	Relation	index_rel;
	IndexInfo  *index_info;
	EState	   *estate;
	ExprContext *econtext;
	ExprState  *predicate;
	IndexBuildCallback callback;
	void	   *callback_state;
} ColumnarBuildState;

/* one row for an index build: predicate, index expressions, callback */
static void
columnar_build_row(Relation rel, TupleTableSlot *slot, bool alive, void *arg)
{
	ColumnarBuildState *bs = arg;
	Datum		values[INDEX_MAX_KEYS];
	bool		isnull[INDEX_MAX_KEYS];

	MemoryContextReset(bs->econtext->ecxt_per_tuple_memory);
	bs->econtext->ecxt_scantuple = slot;
	if (bs->predicate != NULL && !ExecQual(bs->predicate, bs->econtext))
		return;
	FormIndexDatum(bs->index_info, slot, bs->estate, values, isnull);
	bs->callback(bs->index_rel, &slot->tts_tid, values, isnull, alive,
				 bs->callback_state);
}

/*
 * columnar_index_build_range_scan
 *		Build an index (CREATE INDEX, REINDEX, and the rebuilds after
 *		TRUNCATE and rewrites), under a lock that keeps writers out: the
 *		rows a fresh snapshot sees, plus the deleted rows older snapshots
 *		may still see (as dead).  Concurrent builds (they would need
 *		index_validate_scan), parallel builds, BRIN (its block ranges are
 *		pages, TIDs here are row numbers) and exclusion constraints are
 *		refused.
 */
static double
columnar_index_build_range_scan(Relation table_rel, Relation index_rel,
								struct IndexInfo *index_info, bool allow_sync,
								bool anyvisible, bool progress,
								BlockNumber start_blockno,
								BlockNumber numblocks,
								IndexBuildCallback callback,
								void *callback_state, TableScanDesc scan)
{
	ColumnarBuildState bs;
	Snapshot	snapshot;
	TupleTableSlot *slot;
	double		reltuples;

	if (index_info->ii_Concurrent)
		unsupported("CREATE INDEX CONCURRENTLY");
	if (scan != NULL)
		unsupported("parallel index build");
	if (index_rel->rd_rel->relam == BRIN_AM_OID)
		unsupported("BRIN index");
	if (index_info->ii_ExclusionOps != NULL)
		unsupported("exclusion constraint");
	if (start_blockno != 0 || numblocks != InvalidBlockNumber)
		unsupported("index build over a block range");

	memset(&bs, 0, sizeof(bs));
	bs.index_rel = index_rel;
	bs.index_info = index_info;
	bs.estate = CreateExecutorState();
	bs.econtext = GetPerTupleExprContext(bs.estate);
	bs.predicate = ExecPrepareQual(index_info->ii_Predicate, bs.estate);
	bs.callback = callback;
	bs.callback_state = callback_state;
	slot = table_slot_create(table_rel, NULL);

	snapshot = RegisterSnapshot(GetLatestSnapshot());
	reltuples = ColumnarIndexBuildScan(table_rel, snapshot,
									   GetOldestNonRemovableTransactionId(table_rel),
									   slot, columnar_build_row, &bs);
	UnregisterSnapshot(snapshot);

	ExecDropSingleTupleTableSlot(slot);
	FreeExecutorState(bs.estate);
	/* these may have been pointing to the now-gone estate */
	index_info->ii_ExpressionsState = NIL;
	index_info->ii_PredicateState = NULL;
	return reltuples;
}

static void
columnar_index_validate_scan(Relation table_rel, Relation index_rel,
							 struct IndexInfo *index_info, Snapshot snapshot,
							 struct ValidateIndexState *state)
{
	unsupported("CREATE INDEX CONCURRENTLY");
}

static bool
columnar_relation_needs_toast_table(Relation rel)
{
	return false;
}

static Oid
columnar_relation_toast_am(Relation rel)
{
	return InvalidOid;
}

static void
columnar_relation_fetch_toast_slice(Relation toastrel, Oid valueid,
									int32 attrsize, int32 sliceoffset,
									int32 slicelength, struct varlena *result)
{
	unsupported("TOAST storage");
}

static void
columnar_relation_estimate_size(Relation rel, int32 *attr_widths,
								BlockNumber *pages, double *tuples,
								double *allvisfrac)
{
	uint64		storage_id = ColumnarStorageId(rel, false);
	ColumnarWriteBuffer *buf;
	double		rows = 0;

	*pages = RelationGetNumberOfBlocks(rel);
	if (storage_id != 0)
	{
		rows = ColumnarCountRows(storage_id, NULL);
		for (buf = ColumnarPendingBuffers(); buf; buf = buf->next)
			if (buf->storage_id == storage_id)
				rows += buf->nrows;
	}
	*tuples = rows;
	*allvisfrac = 0;
}

static bool
columnar_scan_bitmap_next_block(TableScanDesc scan,
								struct TBMIterateResult *tbmres)
{
	return ColumnarBitmapNextBlock(scan, tbmres);
}

static bool
columnar_scan_bitmap_next_tuple(TableScanDesc scan,
								struct TBMIterateResult *tbmres,
								TupleTableSlot *slot)
{
	return ColumnarBitmapNextTuple(scan, tbmres, slot);
}

static bool
columnar_scan_sample_next_block(TableScanDesc scan,
								struct SampleScanState *scanstate)
{
	unsupported("TABLESAMPLE");
}

static bool
columnar_scan_sample_next_tuple(TableScanDesc scan,
								struct SampleScanState *scanstate,
								TupleTableSlot *slot)
{
	unsupported("TABLESAMPLE");
}

static const TableAmRoutine columnar_methods = {
	.type = T_TableAmRoutine,

	.slot_callbacks = columnar_slot_callbacks,

	.scan_begin = ColumnarBeginScan,
	.scan_end = ColumnarEndScan,
	.scan_rescan = ColumnarRescan,
	.scan_getnextslot = ColumnarGetNextSlot,

	.scan_set_tidrange = NULL,
	.scan_getnextslot_tidrange = NULL,

	.parallelscan_estimate = columnar_parallelscan_estimate,
	.parallelscan_initialize = columnar_parallelscan_initialize,
	.parallelscan_reinitialize = columnar_parallelscan_reinitialize,

	.index_fetch_begin = columnar_index_fetch_begin,
	.index_fetch_reset = columnar_index_fetch_reset,
	.index_fetch_end = columnar_index_fetch_end,
	.index_fetch_tuple = columnar_index_fetch_tuple,

	.tuple_fetch_row_version = columnar_tuple_fetch_row_version,
	.tuple_tid_valid = columnar_tuple_tid_valid,
	.tuple_get_latest_tid = columnar_tuple_get_latest_tid,
	.tuple_satisfies_snapshot = columnar_tuple_satisfies_snapshot,
	.index_delete_tuples = columnar_index_delete_tuples,

	.tuple_insert = columnar_tuple_insert,
	.tuple_insert_speculative = columnar_tuple_insert_speculative,
	.tuple_complete_speculative = columnar_tuple_complete_speculative,
	.multi_insert = columnar_multi_insert,
	.tuple_delete = columnar_tuple_delete,
	.tuple_update = columnar_tuple_update,
	.tuple_lock = columnar_tuple_lock,
	.finish_bulk_insert = columnar_finish_bulk_insert,

	.relation_set_new_filenode = columnar_relation_set_new_filenode,
	.relation_nontransactional_truncate = columnar_relation_nontransactional_truncate,
	.relation_copy_data = columnar_relation_copy_data,
	.relation_copy_for_cluster = columnar_relation_copy_for_cluster,
	.relation_vacuum = columnar_relation_vacuum,
	.scan_analyze_next_block = columnar_scan_analyze_next_block,
	.scan_analyze_next_tuple = columnar_scan_analyze_next_tuple,
	.index_build_range_scan = columnar_index_build_range_scan,
	.index_validate_scan = columnar_index_validate_scan,

	.relation_size = table_block_relation_size,
	.relation_needs_toast_table = columnar_relation_needs_toast_table,
	.relation_toast_am = columnar_relation_toast_am,
	.relation_fetch_toast_slice = columnar_relation_fetch_toast_slice,

	.relation_estimate_size = columnar_relation_estimate_size,

	.scan_bitmap_next_block = columnar_scan_bitmap_next_block,
	.scan_bitmap_next_tuple = columnar_scan_bitmap_next_tuple,
	.scan_sample_next_block = columnar_scan_sample_next_block,
	.scan_sample_next_tuple = columnar_scan_sample_next_tuple
};

/* ------------------------------------------------------------------------
 * Hooks
 * ------------------------------------------------------------------------
 */

/*
 * columnar_object_access
 *		DROP of a fluss_columnar relation deletes its metadata (MVCC, in
 *		the dropping transaction) and its options; ALTER of a collatable
 *		column forgets its chunks' least/greatest.
 */
static void
columnar_object_access(ObjectAccessType access, Oid classId, Oid objectId,
					   int subId, void *arg)
{
	if (prev_object_access_hook)
		prev_object_access_hook(access, classId, objectId, subId, arg);

	if (access == OAT_DROP && classId == RelationRelationId && subId == 0 &&
		ColumnarIsColumnarRelid(objectId))
	{
		Relation	rel = relation_open(objectId, AccessExclusiveLock);

		if (smgrexists(RelationGetSmgr(rel), MAIN_FORKNUM))
			ColumnarDeleteStorageMetadata(ColumnarStorageId(rel, false));
		ColumnarDeleteOptions(objectId);
		relation_close(rel, NoLock);
	}

	/*
	 * ALTER of a column (its collation may have changed without a
	 * rewrite): least/greatest of collatable columns are no longer to be
	 * trusted for row-group skipping.
	 */
	if (access == OAT_POST_ALTER && classId == RelationRelationId &&
		subId > 0 && ColumnarIsColumnarRelid(objectId))
	{
		Relation	rel = relation_open(objectId, NoLock);

		if (subId <= RelationGetDescr(rel)->natts &&
			type_is_collatable(TupleDescAttr(RelationGetDescr(rel),
											 subId - 1)->atttypid) &&
			smgrexists(RelationGetSmgr(rel), MAIN_FORKNUM))
			ColumnarForgetMinMax(ColumnarStorageId(rel, false),
								 (AttrNumber) subId);
		relation_close(rel, NoLock);
	}
}

/*
 * note fluss_columnar relations met while planning; no parallel index
 * builds
 */
static void
columnar_get_relation_info(PlannerInfo *root, Oid relationObjectId,
						   bool inhparent, RelOptInfo *rel)
{
	if (prev_get_relation_info_hook)
		prev_get_relation_info_hook(root, relationObjectId, inhparent, rel);
	if (!inhparent && ColumnarIsColumnarRelid(relationObjectId))
		planning_saw_columnar = true;

	/*
	 * plan_create_index_workers (the only planning of a Query without a
	 * join tree; its relation is marked an inheritance parent) must not
	 * plan a parallel B-tree build: that would need a parallel scan.
	 */
	if (root->parse->jointree == NULL &&
		ColumnarIsColumnarRelid(relationObjectId))
		rel->rel_parallel_workers = 0;
}

/*
 * worker_scans_ok
 *		Whether every scan of a fluss_columnar relation in plan that a
 *		parallel worker may run (in_worker: plan is below a Gather or
 *		Gather Merge) is a parallel-aware ColumnarScan; the other scans
 *		of these relations would use the access method's parallel scan,
 *		which does not exist, or read the whole relation in each worker,
 *		which the custom scan's path marking is meant to prevent.
 */
static bool
worker_scans_ok(PlannedStmt *stmt, Plan *plan, bool in_worker,
				bool *saw_gather)
{
	ListCell   *lc;
	List	   *children = NIL;

	if (plan == NULL)
		return true;
	check_stack_depth();
	switch (nodeTag(plan))
	{
		case T_Gather:
		case T_GatherMerge:
			in_worker = true;
			*saw_gather = true;
			break;
		case T_SeqScan:
		case T_SampleScan:
		case T_IndexScan:
		case T_IndexOnlyScan:
		case T_BitmapHeapScan:
		case T_TidScan:
		case T_TidRangeScan:
		case T_CustomScan:
			{
				Index		scanrelid = ((Scan *) plan)->scanrelid;

				if (in_worker && scanrelid > 0 &&
					!ColumnarIsParallelScan(plan))
				{
					RangeTblEntry *rte = rt_fetch(scanrelid, stmt->rtable);

					if (rte->rtekind == RTE_RELATION &&
						ColumnarIsColumnarRelid(rte->relid))
						return false;
				}
				if (IsA(plan, CustomScan))
					children = ((CustomScan *) plan)->custom_plans;
			}
			break;
		case T_Append:
			children = ((Append *) plan)->appendplans;
			break;
		case T_MergeAppend:
			children = ((MergeAppend *) plan)->mergeplans;
			break;
		case T_SubqueryScan:
			children = list_make1(((SubqueryScan *) plan)->subplan);
			break;
		default:
			break;
	}
	foreach(lc, children)
		if (!worker_scans_ok(stmt, lfirst(lc), in_worker, saw_gather))
			return false;
	return worker_scans_ok(stmt, plan->lefttree, in_worker, saw_gather) &&
		worker_scans_ok(stmt, plan->righttree, in_worker, saw_gather);
}

/*
 * parallel_plan_ok
 *		Whether a parallel plan reads fluss_columnar relations only in the
 *		leader or through parallel-aware ColumnarScans.  Subplans that are
 *		parallel-safe may run in a worker when the plan has a Gather.
 */
static bool
parallel_plan_ok(PlannedStmt *stmt)
{
	bool		saw_gather = false;
	ListCell   *lc;

	if (!worker_scans_ok(stmt, stmt->planTree, false, &saw_gather))
		return false;
	foreach(lc, stmt->subplans)
		if (!worker_scans_ok(stmt, lfirst(lc), false, &saw_gather))
			return false;
	/* a parallel-safe subplan may be run by a worker of any Gather */
	if (saw_gather)
		foreach(lc, stmt->subplans)
		{
			Plan	   *sub = lfirst(lc);

			if (sub && sub->parallel_safe &&
				!worker_scans_ok(stmt, sub, true, &saw_gather))
				return false;
		}
	return true;
}

/*
 * columnar_planner
 *		A parallel plan may read a fluss_columnar relation only through the
 *		parallel-aware ColumnarScan (customscan.c) in its workers, and not
 *		at all when that scan is turned off: such plans are made again
 *		without parallelism.  (The rows another backend's transaction has
 *		not flushed are in that backend's memory only: workers are not
 *		started in such a transaction, see columnar_executor_run.)
 */
static PlannedStmt *
columnar_planner(Query *parse, const char *query_string, int cursorOptions,
				 ParamListInfo boundParams)
{
	bool		saved = planning_saw_columnar;
	PlannedStmt *result;

	/*
	 * The planner scribbles on its Query: a plan that may have to be made
	 * again is first made from a copy.
	 */
	Query	   *first = (cursorOptions & CURSOR_OPT_PARALLEL_OK) ? copyObject(parse) : parse;

	/*
	 * Refused before planning: ON CONFLICT on a relation with indexes
	 * needs speculative insertion (without indexes it is a plain INSERT).
	 */
	if (parse->onConflict != NULL && parse->resultRelation > 0)
	{
		Oid			relid = rt_fetch(parse->resultRelation, parse->rtable)->relid;

		if (ColumnarIsColumnarRelid(relid))
		{
			Relation	rel = table_open(relid, NoLock);
			bool		indexed = RelationGetIndexList(rel) != NIL;

			table_close(rel, NoLock);
			if (indexed)
				unsupported("INSERT ... ON CONFLICT");
		}
	}

	planning_saw_columnar = false;
	PG_TRY();
	{
		if (prev_planner_hook)
			result = prev_planner_hook(first, query_string, cursorOptions,
									   boundParams);
		else
			result = standard_planner(first, query_string, cursorOptions,
									  boundParams);
		if (planning_saw_columnar && result->parallelModeNeeded &&
			(!fluss_grid_columnar_customscan || !parallel_plan_ok(result)))
		{
			int			opts = cursorOptions & ~CURSOR_OPT_PARALLEL_OK;

			if (prev_planner_hook)
				result = prev_planner_hook(parse, query_string, opts,
										   boundParams);
			else
				result = standard_planner(parse, query_string, opts,
										  boundParams);
		}
	}
	PG_FINALLY();
	{
		planning_saw_columnar = saved || planning_saw_columnar;
	}
	PG_END_TRY();
	return result;
}

/*
 * columnar_executor_run
 *		Run a parallel plan without workers (in the leader alone, as a
 *		cursor's) when this transaction holds fluss_columnar rows another
 *		process cannot read: rows in its write buffers, row groups it
 *		flushed (their rows' command ids are in its memory).  Parallel
 *		mode forbids writes, so that cannot change while the plan runs; a
 *		plan made before the writes (a prepared statement) is caught here.
 *		A parallel-aware ColumnarScan without workers reads everything.
 *
 *		Also when the rows of the plan fill a fluss_columnar relation
 *		(CREATE TABLE AS, materialized views): the leader writes them
 *		while the workers run, and the access method's first write of a
 *		new relation file takes a storage id from a sequence, which
 *		parallel mode forbids.
 *
 *		The executor decides from the statement's parallelModeNeeded when
 *		the run starts (execute_once = false is not honoured the same way
 *		by every minor release), so the run is given a copy of the
 *		statement without it; the cached plan itself is never changed.
 */
static void
columnar_executor_run(QueryDesc *queryDesc, ScanDirection direction,
					  uint64 count, bool execute_once)
{
	PlannedStmt *stmt = queryDesc->plannedstmt;

	if (stmt->parallelModeNeeded && !IsParallelWorker() &&
		(filling_columnar > 0 || ColumnarTransactionWrote()))
	{
		PlannedStmt *serial = palloc(sizeof(PlannedStmt));

		memcpy(serial, stmt, sizeof(PlannedStmt));
		serial->parallelModeNeeded = false;
		queryDesc->plannedstmt = serial;
	}
	PG_TRY();
	{
		if (prev_executor_run_hook)
			prev_executor_run_hook(queryDesc, direction, count, execute_once);
		else
			standard_ExecutorRun(queryDesc, direction, count, execute_once);
	}
	PG_FINALLY();
	{
		if (queryDesc->plannedstmt != stmt)
		{
			pfree(queryDesc->plannedstmt);
			queryDesc->plannedstmt = stmt;
		}
	}
	PG_END_TRY();
}

/* whether the REINDEX options ask for CONCURRENTLY */
static bool
reindex_concurrently(ReindexStmt *stmt)
{
	ListCell   *lc;

	foreach(lc, stmt->params)
	{
		DefElem    *opt = lfirst(lc);

		if (strcmp(opt->defname, "concurrently") == 0 && defGetBoolean(opt))
			return true;
	}
	return false;
}

/*
 * fills_columnar
 *		Whether a utility statement fills a fluss_columnar relation with
 *		the rows of a query: CREATE TABLE AS, SELECT INTO, CREATE and
 *		REFRESH MATERIALIZED VIEW (also under EXPLAIN ANALYZE).
 */
static bool
fills_columnar(Node *stmt)
{
	if (IsA(stmt, ExplainStmt))
	{
		Query	   *q = (Query *) ((ExplainStmt *) stmt)->query;

		if (q == NULL || !IsA(q, Query) || q->utilityStmt == NULL)
			return false;
		stmt = q->utilityStmt;
	}
	if (IsA(stmt, CreateTableAsStmt))
	{
		IntoClause *into = ((CreateTableAsStmt *) stmt)->into;
		const char *am = into->accessMethod ? into->accessMethod :
			default_table_access_method;

		return am != NULL && strcmp(am, COLUMNAR_AM_NAME) == 0;
	}
	if (IsA(stmt, RefreshMatViewStmt))
	{
		Oid			relid = RangeVarGetRelid(((RefreshMatViewStmt *) stmt)->relation,
											 NoLock, true);

		return OidIsValid(relid) && ColumnarIsColumnarRelid(relid);
	}
	return false;
}

/*
 * columnar_process_utility
 *		CREATE INDEX CONCURRENTLY and REINDEX CONCURRENTLY of a
 *		fluss_columnar relation are refused before they begin (a refusal
 *		from the build would leave an invalid index behind).  REINDEX
 *		SCHEMA / DATABASE CONCURRENTLY meet the refusal of the build.
 */
static void
columnar_process_utility(PlannedStmt *pstmt, const char *queryString,
						 bool readOnlyTree, ProcessUtilityContext context,
						 ParamListInfo params, QueryEnvironment *queryEnv,
						 DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *stmt = pstmt->utilityStmt;
	bool		fills;

	if (IsA(stmt, IndexStmt) && ((IndexStmt *) stmt)->concurrent)
	{
		Oid			relid = RangeVarGetRelid(((IndexStmt *) stmt)->relation,
											 NoLock, true);

		if (OidIsValid(relid) && ColumnarIsColumnarRelid(relid))
			unsupported("CREATE INDEX CONCURRENTLY");
	}
	else if (IsA(stmt, ReindexStmt) && reindex_concurrently((ReindexStmt *) stmt) &&
			 ((ReindexStmt *) stmt)->relation != NULL)
	{
		ReindexStmt *r = (ReindexStmt *) stmt;
		Oid			relid = RangeVarGetRelid(r->relation, NoLock, true);

		if (OidIsValid(relid) && r->kind == REINDEX_OBJECT_INDEX)
			relid = IndexGetRelation(relid, true);
		if (OidIsValid(relid) && ColumnarIsColumnarRelid(relid))
			unsupported("REINDEX CONCURRENTLY");
	}

	/* a fluss_columnar relation filled from a query: see executor_run */
	fills = fills_columnar(stmt);
	if (fills)
		filling_columnar++;
	PG_TRY();
	{
		if (prev_process_utility_hook)
			prev_process_utility_hook(pstmt, queryString, readOnlyTree,
									  context, params, queryEnv, dest, qc);
		else
			standard_ProcessUtility(pstmt, queryString, readOnlyTree,
									context, params, queryEnv, dest, qc);
	}
	PG_FINALLY();
	{
		if (fills)
			filling_columnar--;
	}
	PG_END_TRY();
}

/*
 * TamInit
 *		Install the hooks and transaction callbacks of the access method.
 */
void
TamInit(void)
{
	prev_object_access_hook = object_access_hook;
	object_access_hook = columnar_object_access;
	prev_get_relation_info_hook = get_relation_info_hook;
	get_relation_info_hook = columnar_get_relation_info;
	prev_planner_hook = planner_hook;
	planner_hook = columnar_planner;
	prev_process_utility_hook = ProcessUtility_hook;
	ProcessUtility_hook = columnar_process_utility;
	prev_executor_run_hook = ExecutorRun_hook;
	ExecutorRun_hook = columnar_executor_run;
	ColumnarWriterInit();
	ColumnarCustomScanInit();
}

/* ------------------------------------------------------------------------
 * SQL functions
 * ------------------------------------------------------------------------
 */

/*
 * columnar_handler
 *		The handler of CREATE ACCESS METHOD fluss_columnar.
 */
Datum
columnar_handler(PG_FUNCTION_ARGS)
{
	PG_RETURN_POINTER(&columnar_methods);
}

/* the relation in argument 0, checked to be fluss_columnar */
static Oid
columnar_arg_relid(FunctionCallInfo fcinfo)
{
	Oid			relid;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("relation must not be NULL")));
	relid = PG_GETARG_OID(0);
	if (!ColumnarIsColumnarRelid(relid))
	{
		char	   *name = get_rel_name(relid);

		if (name == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_TABLE),
					 errmsg("relation with OID %u does not exist", relid)));
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("relation \"%s\" does not use access method \"%s\"",
						name, COLUMNAR_AM_NAME)));
	}
	return relid;
}

/*
 * columnar_set(rel, compression_level, row_group_rows)
 *		Set the options of a fluss_columnar relation; NULL keeps a value.
 *		They apply to row groups written from then on, including those of
 *		rows this transaction has already buffered.
 */
Datum
columnar_set(PG_FUNCTION_ARGS)
{
	Oid			relid = columnar_arg_relid(fcinfo);
	ColumnarOptions options;

	if (!pg_class_ownercheck(relid, GetUserId()))
		aclcheck_error(ACLCHECK_NOT_OWNER, OBJECT_TABLE, get_rel_name(relid));

	ColumnarGetOptions(relid, &options);
	if (!PG_ARGISNULL(1))
	{
		int			level = PG_GETARG_INT32(1);

		if (level < COLUMNAR_MIN_LEVEL || level > COLUMNAR_MAX_LEVEL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("compression_level must be between %d and %d",
							COLUMNAR_MIN_LEVEL, COLUMNAR_MAX_LEVEL)));
		options.compression_level = level;
	}
	if (!PG_ARGISNULL(2))
	{
		int			rows = PG_GETARG_INT32(2);

		if (rows < COLUMNAR_MIN_ROW_GROUP_ROWS || rows > COLUMNAR_MAX_ROW_GROUP_ROWS)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("row_group_rows must be between %d and %d",
							COLUMNAR_MIN_ROW_GROUP_ROWS,
							COLUMNAR_MAX_ROW_GROUP_ROWS)));
		options.row_group_rows = rows;
	}
	ColumnarSetOptions(relid, options.compression_level, options.row_group_rows);
	/* rows this transaction has buffered are written with them too */
	for (ColumnarWriteBuffer *buf = ColumnarPendingBuffers(); buf; buf = buf->next)
		if (buf->relid == relid)
			buf->options = options;
	PG_RETURN_VOID();
}

/*
 * columnar_storage_id(rel)
 *		The storage id of rel's current file (NULL before its first write):
 *		the key of its rows in the metadata tables.
 */
Datum
columnar_storage_id(PG_FUNCTION_ARGS)
{
	Oid			relid = columnar_arg_relid(fcinfo);
	Relation	rel = relation_open(relid, AccessShareLock);
	uint64		id = ColumnarStorageId(rel, false);

	relation_close(rel, AccessShareLock);
	if (id == 0)
		PG_RETURN_NULL();
	PG_RETURN_INT64((int64) id);
}
