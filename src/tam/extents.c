/*-------------------------------------------------------------------------
 *
 * extents.c
 *	  The metadata VACUUM keeps (vacuum.c): row groups it supersedes or
 *	  moves, and the free extents (fluss_grid.columnar_free_extent) of their
 *	  pages, which become reusable once no snapshot can read the old row
 *	  group; writers claim them (storage.c).  Split from metadata.c, whose
 *	  direct heap and index access it shares.
 *
 * IDENTIFICATION
 *	  src/tam/extents.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/relscan.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "executor/tuptable.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "storage/procarray.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "tam/columnar.h"
#include "tam/metadata_columns.h"

static void insert_extent(ColumnarRowGroup *rg, int32 row_count);

/* ------------------------------------------------------------------------
 * VACUUM (vacuum.c): superseded row groups and their free extents
 * ------------------------------------------------------------------------
 */

/* pages a row group of data_length bytes occupies */
static uint64
data_blocks(uint64 data_length)
{
	return (data_length + COLUMNAR_PAGE_DATA - 1) / COLUMNAR_PAGE_DATA;
}

/*
 * delete the rows of table (key: storage id, then the bigint column attnum)
 * in [lo, hi)
 */
static void
delete_range(const char *table, const char *index, AttrNumber attnum,
			 uint64 storage_id, uint64 lo, uint64 hi, Snapshot snapshot)
{
	Relation	rel = table_open(ColumnarMetaRelid(table, false), RowExclusiveLock);
	SysScanDesc scan;
	ScanKeyData keys[3];
	HeapTuple	tup;

	ScanKeyInit(&keys[0], 1, BTEqualStrategyNumber, F_INT8EQ,
				Int64GetDatum((int64) storage_id));
	ScanKeyInit(&keys[1], attnum, BTGreaterEqualStrategyNumber, F_INT8GE,
				Int64GetDatum((int64) lo));
	ScanKeyInit(&keys[2], attnum, BTLessStrategyNumber, F_INT8LT,
				Int64GetDatum((int64) hi));
	scan = systable_beginscan(rel, ColumnarMetaRelid(index, false), true, snapshot,
							  3, keys);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
		CatalogTupleDelete(rel, &tup->t_self);
	systable_endscan(scan);
	table_close(rel, RowExclusiveLock);
}

/*
 * ColumnarSupersedeRowGroup
 *		In the current transaction (MVCC): delete the metadata of rg (its
 *		row-group row, chunks and deletion records, as snapshot sees them)
 *		and record its pages and row numbers in columnar_free_extent.
 *		Snapshots that do not see this transaction keep reading rg.
 */
void
ColumnarSupersedeRowGroup(ColumnarRowGroup *rg, Snapshot snapshot)
{
	uint64		end = rg->first_row + rg->row_count;

	delete_range("columnar_row_group", "columnar_row_group_pkey",
				 Anum_rg_first_row, rg->storage_id, rg->first_row, rg->first_row + 1, snapshot);
	delete_range("columnar_chunk", "columnar_chunk_pkey",
				 Anum_chunk_first_row, rg->storage_id, rg->first_row, rg->first_row + 1, snapshot);
	delete_range("columnar_deleted", "columnar_deleted_pkey",
				 Anum_del_row_number, rg->storage_id, rg->first_row, end, snapshot);

	insert_extent(rg, rg->row_count);
}

/*
 * insert_extent
 *		Record the pages of rg as a free extent, not reusable yet; with
 *		row_count > 0, the index entries of that many rows from
 *		rg->first_row go before it is.
 */
static void
insert_extent(ColumnarRowGroup *rg, int32 row_count)
{
	Relation	rel = table_open(ColumnarMetaRelid("columnar_free_extent", false),
								 RowExclusiveLock);
	Datum		values[Natts_free];
	bool		nulls[Natts_free] = {false, false, false, false, false, false};

	values[Anum_free_storage_id - 1] = Int64GetDatum((int64) rg->storage_id);
	values[Anum_free_first_row - 1] = Int64GetDatum((int64) rg->first_row);
	values[Anum_free_row_count - 1] = Int32GetDatum(row_count);
	values[Anum_free_first_block - 1] = Int64GetDatum((int64) rg->first_block);
	values[Anum_free_nblocks - 1] =
		Int64GetDatum((int64) data_blocks(rg->data_length));
	values[Anum_free_indexes_clean - 1] = BoolGetDatum(false);
	CatalogTupleInsert(rel, heap_form_tuple(RelationGetDescr(rel), values,
											nulls));
	table_close(rel, RowExclusiveLock);
}

/*
 * ColumnarMoveRowGroup
 *		In the current transaction (MVCC): rg's data now also lies from
 *		new_first_block.  Its metadata row gets a new version there (the
 *		row numbers, chunks and deletion records stay); snapshots that do
 *		not see this transaction keep reading the old pages, recorded as a
 *		free extent without index entries to remove.
 */
void
ColumnarMoveRowGroup(ColumnarRowGroup *rg, uint64 new_first_block,
					 Snapshot snapshot)
{
	Relation	rgrel = table_open(ColumnarMetaRelid("columnar_row_group", false),
								   RowExclusiveLock);
	SysScanDesc scan;
	ScanKeyData keys[2];
	HeapTuple	tup;
	int			n = 0;

	ScanKeyInit(&keys[0], Anum_rg_storage_id, BTEqualStrategyNumber, F_INT8EQ,
				Int64GetDatum((int64) rg->storage_id));
	ScanKeyInit(&keys[1], Anum_rg_first_row, BTEqualStrategyNumber, F_INT8EQ,
				Int64GetDatum((int64) rg->first_row));
	scan = systable_beginscan(rgrel, ColumnarMetaRelid("columnar_row_group_pkey", false),
							  true, snapshot, 2, keys);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Datum		values[Natts_rg] = {0};
		bool		nulls[Natts_rg] = {false};
		bool		replace[Natts_rg] = {false};
		HeapTuple	newtup;

		values[Anum_rg_first_block - 1] = Int64GetDatum((int64) new_first_block);
		replace[Anum_rg_first_block - 1] = true;
		newtup = heap_modify_tuple(tup, RelationGetDescr(rgrel), values, nulls,
								   replace);
		CatalogTupleUpdate(rgrel, &newtup->t_self, newtup);
		heap_freetuple(newtup);
		n++;
	}
	systable_endscan(scan);
	table_close(rgrel, RowExclusiveLock);
	if (n != 1)
		elog(ERROR, "row group %lld of storage %llu has %d metadata rows",
			 (long long) rg->row_group, (unsigned long long) rg->storage_id, n);
	insert_extent(rg, 0);
}

/*
 * ColumnarClaimFreeExtent
 *		Take, in the current transaction, nblocks pages of a free extent of
 *		storage_id whose index entries are gone (no snapshot can read its
 *		old row group, see vacuum.c) and that ends at or before block limit;
 *		their first block goes to *first_block.  The claim deletes the extent's
 *		row (what is left of it is recorded as a new row): another writer
 *		that claims the same extent meanwhile finds the row being deleted
 *		and takes another one; if this transaction aborts, the extent is
 *		free again.  Returns false when no extent is big enough.
 */
bool
ColumnarClaimFreeExtent(uint64 storage_id, uint64 nblocks, uint64 limit,
						uint64 *first_block)
{
	Oid			relid = ColumnarMetaRelid("columnar_free_extent", true);
	Relation	rel;
	Snapshot	snapshot;
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tup;
	bool		claimed = false;

	if (!OidIsValid(relid) || nblocks == 0)
		return false;
	rel = table_open(relid, RowExclusiveLock);
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	ScanKeyInit(&key, Anum_free_storage_id, BTEqualStrategyNumber, F_INT8EQ,
				Int64GetDatum((int64) storage_id));
	scan = systable_beginscan(rel, ColumnarMetaRelid("columnar_free_extent_pkey", false),
							  true, snapshot, 1, &key);
	while (!claimed && HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Datum		values[Natts_free];
		bool		nulls[Natts_free];
		uint64		first;
		uint64		n;
		TM_FailureData tmfd;

		heap_deform_tuple(tup, RelationGetDescr(rel), values, nulls);
		first = (uint64) DatumGetInt64(values[Anum_free_first_block - 1]);
		n = (uint64) DatumGetInt64(values[Anum_free_nblocks - 1]);
		if (!DatumGetBool(values[Anum_free_indexes_clean - 1]) ||
			n < nblocks || first == COLUMNAR_METAPAGE_BLOCK ||
			first + nblocks > limit)
			continue;
		if (heap_delete(rel, &tup->t_self, GetCurrentCommandId(true),
						InvalidSnapshot, false, &tmfd, false) != TM_Ok)
			continue;			/* another writer took it */
		if (n > nblocks)
		{
			values[Anum_free_first_block - 1] = Int64GetDatum((int64) (first + nblocks));
			values[Anum_free_nblocks - 1] = Int64GetDatum((int64) (n - nblocks));
			CatalogTupleInsert(rel, heap_form_tuple(RelationGetDescr(rel),
													values, nulls));
		}
		*first_block = first;
		claimed = true;
	}
	systable_endscan(scan);
	UnregisterSnapshot(snapshot);
	table_close(rel, RowExclusiveLock);
	if (claimed)
		CommandCounterIncrement();
	return claimed;
}

/* whether the xmin of tup committed (hint bits first: frozen rows too) */
static bool
xmin_committed(HeapTuple tup)
{
	if (HeapTupleHeaderXminCommitted(tup->t_data))
		return true;
	if (HeapTupleHeaderXminInvalid(tup->t_data))
		return false;
	return TransactionIdDidCommit(HeapTupleHeaderGetRawXmin(tup->t_data));
}

/*
 * ColumnarRowGroupSuperseded
 *		Whether rownum belongs to a row group whose metadata row a committed
 *		transaction (a VACUUM) deleted and no live row group holds it: a
 *		snapshot older than that VACUUM may still see the row, but it lives
 *		on under another row number, so changing it must fail.
 */
bool
ColumnarRowGroupSuperseded(uint64 storage_id, uint64 rownum)
{
	Relation	rgrel;
	Relation	idx;
	SysScanDesc scan;
	ScanKeyData keys[2];
	HeapTuple	tup;
	SnapshotData dirty;
	bool		live = false;
	bool		superseded = false;

	/*
	 * Every version of the metadata rows of the row group holding rownum
	 * (row groups never overlap, and only a move gives one a second
	 * version): a live one (for a dirty snapshot: committed or in progress,
	 * not deleted by a committed transaction) means the row is where it
	 * was; none, but one whose insert committed, means a VACUUM superseded
	 * it.  No row group at all: the row is still in a write buffer.
	 */
	rgrel = table_open(ColumnarMetaRelid("columnar_row_group", false), AccessShareLock);
	idx = index_open(ColumnarMetaRelid("columnar_row_group_pkey", false),
					 AccessShareLock);
	ScanKeyInit(&keys[0], Anum_rg_storage_id, BTEqualStrategyNumber, F_INT8EQ,
				Int64GetDatum((int64) storage_id));
	ScanKeyInit(&keys[1], Anum_rg_first_row, BTLessEqualStrategyNumber, F_INT8LE,
				Int64GetDatum((int64) rownum));
	scan = systable_beginscan_ordered(rgrel, idx, SnapshotAny, 2, keys);
	while (HeapTupleIsValid(tup = systable_getnext_ordered(scan, BackwardScanDirection)))
	{
		BufferHeapTupleTableSlot *bslot = (BufferHeapTupleTableSlot *) scan->slot;
		bool		isnull;
		uint64		first = (uint64) DatumGetInt64(heap_getattr(tup, Anum_rg_first_row,
																RelationGetDescr(rgrel),
																&isnull));
		int32		count = DatumGetInt32(heap_getattr(tup, Anum_rg_row_count,
													   RelationGetDescr(rgrel),
													   &isnull));

		if (rownum >= first + count)
			break;
		InitDirtySnapshot(dirty);
		LockBuffer(bslot->buffer, BUFFER_LOCK_SHARE);
		if (HeapTupleSatisfiesVisibility(tup, &dirty, bslot->buffer))
			live = true;
		LockBuffer(bslot->buffer, BUFFER_LOCK_UNLOCK);
		if (live)
			break;
		if (xmin_committed(tup))
			superseded = true;
	}
	systable_endscan_ordered(scan);
	index_close(idx, AccessShareLock);
	table_close(rgrel, AccessShareLock);
	return superseded && !live;
}

/*
 * ColumnarFreeExtents
 *		The free extents of storage_id that snapshot sees, oldest row
 *		numbers first.  With dead_to_all, only those whose inserting
 *		(superseding) transaction precedes horizon: no snapshot can read
 *		their row groups any more.
 */
List *
ColumnarFreeExtents(uint64 storage_id, Snapshot snapshot, bool dead_to_all,
					TransactionId horizon)
{
	Relation	rel = table_open(ColumnarMetaRelid("columnar_free_extent", false),
								 AccessShareLock);
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tup;
	List	   *result = NIL;

	ScanKeyInit(&key, Anum_free_storage_id, BTEqualStrategyNumber, F_INT8EQ,
				Int64GetDatum((int64) storage_id));
	scan = systable_beginscan(rel, ColumnarMetaRelid("columnar_free_extent_pkey", false),
							  true, snapshot, 1, &key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Datum		values[Natts_free];
		bool		nulls[Natts_free];
		ColumnarFreeExtent *e;
		TransactionId xmin = HeapTupleHeaderGetRawXmin(tup->t_data);

		if (dead_to_all && !HeapTupleHeaderXminFrozen(tup->t_data) &&
			TransactionIdIsNormal(xmin) &&
			!TransactionIdPrecedes(xmin, horizon))
			continue;
		heap_deform_tuple(tup, RelationGetDescr(rel), values, nulls);
		e = palloc0(sizeof(ColumnarFreeExtent));
		e->storage_id = storage_id;
		e->first_row = (uint64) DatumGetInt64(values[Anum_free_first_row - 1]);
		e->row_count = DatumGetInt32(values[Anum_free_row_count - 1]);
		e->first_block = (uint64) DatumGetInt64(values[Anum_free_first_block - 1]);
		e->nblocks = (uint64) DatumGetInt64(values[Anum_free_nblocks - 1]);
		e->indexes_clean = DatumGetBool(values[Anum_free_indexes_clean - 1]);
		result = lappend(result, e);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return result;
}

/* what update_extent does */
typedef enum ExtentChange
{
	EXTENT_MARK_CLEAN,
	EXTENT_DELETE,
	EXTENT_FORGET_PAGES
} ExtentChange;

/* change the free-extent row of e that snapshot sees */
static void
update_extent(ColumnarFreeExtent *e, Snapshot snapshot, ExtentChange change)
{
	Relation	rel = table_open(ColumnarMetaRelid("columnar_free_extent", false),
								 RowExclusiveLock);
	SysScanDesc scan;
	ScanKeyData keys[3];
	HeapTuple	tup;

	ScanKeyInit(&keys[0], Anum_free_storage_id, BTEqualStrategyNumber, F_INT8EQ,
				Int64GetDatum((int64) e->storage_id));
	ScanKeyInit(&keys[1], Anum_free_first_row, BTEqualStrategyNumber, F_INT8EQ,
				Int64GetDatum((int64) e->first_row));
	ScanKeyInit(&keys[2], Anum_free_first_block, BTEqualStrategyNumber, F_INT8EQ,
				Int64GetDatum((int64) e->first_block));
	scan = systable_beginscan(rel, ColumnarMetaRelid("columnar_free_extent_pkey", false),
							  true, snapshot, 3, keys);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		if (change == EXTENT_DELETE)
			CatalogTupleDelete(rel, &tup->t_self);
		else
		{
			Datum		values[Natts_free] = {0};
			bool		nulls[Natts_free] = {false};
			bool		replace[Natts_free] = {false};
			HeapTuple	newtup;

			if (change == EXTENT_MARK_CLEAN)
			{
				values[Anum_free_indexes_clean - 1] = BoolGetDatum(true);
				replace[Anum_free_indexes_clean - 1] = true;
			}
			else
			{
				values[Anum_free_nblocks - 1] = Int64GetDatum(0);
				replace[Anum_free_nblocks - 1] = true;
			}
			newtup = heap_modify_tuple(tup, RelationGetDescr(rel), values,
									   nulls, replace);
			CatalogTupleUpdate(rel, &newtup->t_self, newtup);
			heap_freetuple(newtup);
		}
	}
	systable_endscan(scan);
	table_close(rel, RowExclusiveLock);
}

/*
 * ColumnarMarkExtentClean
 *		Record that the index entries of extent e are gone.
 */
void
ColumnarMarkExtentClean(ColumnarFreeExtent *e, Snapshot snapshot)
{
	update_extent(e, snapshot, EXTENT_MARK_CLEAN);
}

/*
 * ColumnarDeleteExtent
 *		Forget extent e.
 */
void
ColumnarDeleteExtent(ColumnarFreeExtent *e, Snapshot snapshot)
{
	update_extent(e, snapshot, EXTENT_DELETE);
}

/*
 * ColumnarForgetExtentPages
 *		Extent e keeps only its row numbers (their index entries still go):
 *		its pages are past the end of what the file will keep.
 */
void
ColumnarForgetExtentPages(ColumnarFreeExtent *e, Snapshot snapshot)
{
	update_extent(e, snapshot, EXTENT_FORGET_PAGES);
}

/*
 * ColumnarUsedBlocks
 *		One past the last block that a row group of storage_id whose
 *		metadata row still physically exists uses (live, being written,
 *		deleted but not yet pruned: a snapshot, also on a standby, may
 *		still read it); at least 1, the metapage.
 */
uint64
ColumnarUsedBlocks(uint64 storage_id)
{
	Relation	rgrel = table_open(ColumnarMetaRelid("columnar_row_group", false),
								   AccessShareLock);
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tup;
	uint64		end = 1;

	ScanKeyInit(&key, Anum_rg_storage_id, BTEqualStrategyNumber, F_INT8EQ,
				Int64GetDatum((int64) storage_id));
	scan = systable_beginscan(rgrel, ColumnarMetaRelid("columnar_row_group_pkey", false),
							  true, SnapshotAny, 1, &key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		ColumnarRowGroup *rg = ColumnarRowGroupFromTuple(rgrel, tup, 0);

		if (rg->data_length > 0)
			end = Max(end, rg->first_block + data_blocks(rg->data_length));
		pfree(rg->chunks);
		pfree(rg);
	}
	systable_endscan(scan);
	table_close(rgrel, AccessShareLock);
	return end;
}

/*
 * ColumnarSupersededRowGroups
 *		The row groups of storage_id a committed VACUUM superseded that a
 *		snapshot older than oldest_xmin may still read, with their chunks:
 *		an index built now must hold their rows (as dead) for such
 *		snapshots.
 */
List *
ColumnarSupersededRowGroups(uint64 storage_id, TransactionId oldest_xmin,
							int natts)
{
	Relation	rgrel = table_open(ColumnarMetaRelid("columnar_row_group", false),
								   AccessShareLock);
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tup;
	List	   *result = NIL;
	ListCell   *lc;

	ScanKeyInit(&key, Anum_rg_storage_id, BTEqualStrategyNumber, F_INT8EQ,
				Int64GetDatum((int64) storage_id));
	scan = systable_beginscan(rgrel, ColumnarMetaRelid("columnar_row_group_pkey", false),
							  true, SnapshotAny, 1, &key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		BufferHeapTupleTableSlot *bslot = (BufferHeapTupleTableSlot *) scan->slot;
		HTSV_Result state;

		/* the old version of a moved row group: its rows live on */
		if (!ItemPointerEquals(&tup->t_self, &tup->t_data->t_ctid))
			continue;
		LockBuffer(bslot->buffer, BUFFER_LOCK_SHARE);
		state = HeapTupleSatisfiesVacuum(tup, oldest_xmin, bslot->buffer);
		LockBuffer(bslot->buffer, BUFFER_LOCK_UNLOCK);
		if (state == HEAPTUPLE_RECENTLY_DEAD)
			result = lappend(result, ColumnarRowGroupFromTuple(rgrel, tup, natts));
	}
	systable_endscan(scan);
	table_close(rgrel, AccessShareLock);
	foreach(lc, result)
		ColumnarReadChunks((ColumnarRowGroup *) lfirst(lc), SnapshotAny);
	return result;
}

/*
 * ColumnarRowGroupRowGone
 *		Whether the metadata row of the row group of storage_id starting at
 *		first_row and stored from first_block is physically gone (a row
 *		group VACUUM moved has a newer version elsewhere: that one does not
 *		count).  A row dead to every snapshot (as of
 *		horizon) is pruned away first, if its page's cleanup lock is free:
 *		the prune's WAL record cancels the standby queries that could
 *		still read the row group, before anything it points to is removed.
 */
bool
ColumnarRowGroupRowGone(uint64 storage_id, uint64 first_row,
						uint64 first_block, TransactionId horizon)
{
	Relation	rgrel = table_open(ColumnarMetaRelid("columnar_row_group", false),
								   AccessShareLock);
	SysScanDesc scan;
	ScanKeyData keys[2];
	HeapTuple	tup;
	BlockNumber prune = InvalidBlockNumber;
	bool		present = false;
	int			pass;

	for (pass = 0; pass < 2; pass++)
	{
		present = false;
		ScanKeyInit(&keys[0], Anum_rg_storage_id, BTEqualStrategyNumber,
					F_INT8EQ, Int64GetDatum((int64) storage_id));
		ScanKeyInit(&keys[1], Anum_rg_first_row, BTEqualStrategyNumber,
					F_INT8EQ, Int64GetDatum((int64) first_row));
		scan = systable_beginscan(rgrel, ColumnarMetaRelid("columnar_row_group_pkey", false),
								  true, SnapshotAny, 2, keys);
		while (HeapTupleIsValid(tup = systable_getnext(scan)))
		{
			BufferHeapTupleTableSlot *bslot = (BufferHeapTupleTableSlot *) scan->slot;
			HTSV_Result state;
			bool		isnull;

			if ((uint64) DatumGetInt64(heap_getattr(tup, Anum_rg_first_block,
													RelationGetDescr(rgrel),
													&isnull)) != first_block)
				continue;
			present = true;
			LockBuffer(bslot->buffer, BUFFER_LOCK_SHARE);
			state = HeapTupleSatisfiesVacuum(tup, horizon, bslot->buffer);
			LockBuffer(bslot->buffer, BUFFER_LOCK_UNLOCK);
			if (state == HEAPTUPLE_DEAD)
				prune = ItemPointerGetBlockNumber(&tup->t_self);
		}
		systable_endscan(scan);
		if (!present || pass == 1 || prune == InvalidBlockNumber)
			break;

		/* prune the page, as any scan of it may (heap_page_prune_opt) */
		{
			Buffer		buf = ReadBuffer(rgrel, prune);

			if (ConditionalLockBufferForCleanup(buf))
			{
				int			nnewlpdead;

				(void) heap_page_prune(rgrel, buf,
									   GetOldestNonRemovableTransactionId(rgrel),
									   GlobalVisTestFor(rgrel),
									   InvalidTransactionId, 0,
									   &nnewlpdead, NULL);
				LockBuffer(buf, BUFFER_LOCK_UNLOCK);
			}
			ReleaseBuffer(buf);
		}
	}
	table_close(rgrel, AccessShareLock);
	return !present;
}

/* qsort: extents by first block */
static int
extent_by_block(const void *a, const void *b)
{
	const ColumnarFreeExtent *x = *(ColumnarFreeExtent *const *) a;
	const ColumnarFreeExtent *y = *(ColumnarFreeExtent *const *) b;

	if (x->first_block == y->first_block)
		return 0;
	return x->first_block < y->first_block ? -1 : 1;
}

/*
 * ColumnarCoalesceExtents
 *		Merge runs of adjacent reusable extents of storage_id into one
 *		extent each, so that a row group bigger than any of them fits.
 *		The caller keeps writers out (ExclusiveLock on the relation): no
 *		one claims an extent meanwhile.  Returns how many extents went.
 */
int
ColumnarCoalesceExtents(uint64 storage_id)
{
	Snapshot	snapshot = RegisterSnapshot(GetLatestSnapshot());
	List	   *all = ColumnarFreeExtents(storage_id, snapshot, false,
										  InvalidTransactionId);
	ColumnarFreeExtent **ext;
	ListCell   *lc;
	int			n = 0;
	int			merged = 0;
	int			i;

	ext = palloc(sizeof(ColumnarFreeExtent *) * Max(list_length(all), 1));
	foreach(lc, all)
	{
		ColumnarFreeExtent *e = lfirst(lc);

		if (e->indexes_clean && e->nblocks > 0)
			ext[n++] = e;
	}
	qsort(ext, n, sizeof(ColumnarFreeExtent *), extent_by_block);
	for (i = 0; i < n;)
	{
		int			j = i + 1;
		uint64		end = ext[i]->first_block + ext[i]->nblocks;

		while (j < n && ext[j]->first_block == end)
		{
			end += ext[j]->nblocks;
			j++;
		}
		if (j - i > 1)
		{
			Relation	rel;
			Datum		values[Natts_free];
			bool		nulls[Natts_free] = {false, false, false, false, false, false};
			int			k;

			for (k = i; k < j; k++)
				update_extent(ext[k], snapshot, EXTENT_DELETE);
			rel = table_open(ColumnarMetaRelid("columnar_free_extent", false),
							 RowExclusiveLock);
			values[Anum_free_storage_id - 1] = Int64GetDatum((int64) storage_id);
			values[Anum_free_first_row - 1] = Int64GetDatum((int64) ext[i]->first_row);
			values[Anum_free_row_count - 1] = Int32GetDatum(0);
			values[Anum_free_first_block - 1] = Int64GetDatum((int64) ext[i]->first_block);
			values[Anum_free_nblocks - 1] =
				Int64GetDatum((int64) (end - ext[i]->first_block));
			values[Anum_free_indexes_clean - 1] = BoolGetDatum(true);
			CatalogTupleInsert(rel, heap_form_tuple(RelationGetDescr(rel),
													values, nulls));
			table_close(rel, RowExclusiveLock);
			merged += j - i - 1;
		}
		i = j;
	}
	UnregisterSnapshot(snapshot);
	if (merged > 0)
		CommandCounterIncrement();
	return merged;
}
