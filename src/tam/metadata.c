/*-------------------------------------------------------------------------
 *
 * metadata.c
 *	  The metadata of fluss_columnar relations, in heap tables of schema
 *	  fluss_grid read and written with direct heap and index access in the
 *	  caller's transaction:
 *
 *	  columnar_row_group  one row per row group (storage id, first row
 *	                      number, row count, first block, data length)
 *	  columnar_chunk      one row per column of a row group (byte offset,
 *	                      length, raw length, compression, encoding, NULL
 *	                      count, CRC-32C, least and greatest value)
 *	  columnar_deleted    one row per deleted row (storage id, row number,
 *	                      whether an UPDATE deleted it)
 *	  columnar_reserved   one row per range of row numbers reserved for rows
 *	                      not yet in a row group, for relations with a
 *	                      unique index (storage id, first row, row count)
 *	  columnar_free_extent  one row per row group VACUUM superseded: its
 *	                      row numbers and pages, freed once every snapshot
 *	                      sees the superseding transaction (vacuum.c;
 *	                      read and written in extents.c)
 *	  columnar_options    compression level and row-group size per relation
 *	                      (kept by pg_dump)
 *
 *	  Because these are ordinary MVCC rows, a row group or a deletion is
 *	  visible exactly to the snapshots that see the transaction that wrote
 *	  it: aborted writes vanish, REPEATABLE READ sees a fixed set.
 *
 *	  Locking: deleting a row takes the tuple lock of its TID while it
 *	  checks for and writes the deletion record, so two deleters of one row
 *	  are serialized; the second waits for the first's transaction.
 *
 * IDENTIFICATION
 *	  src/tam/metadata.c
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

static void delete_by_storage(const char *table, const char *index,
							  uint64 storage_id);

/* oid of fluss_grid.<name>, or an error naming the extension */
Oid
ColumnarMetaRelid(const char *name, bool missing_ok)
{
	Oid			ns = get_namespace_oid("fluss_grid", true);
	Oid			relid = OidIsValid(ns) ? get_relname_relid(name, ns) : InvalidOid;

	if (!OidIsValid(relid) && !missing_ok)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("fluss_columnar metadata table fluss_grid.%s does not exist",
						name),
				 errhint("Create the extension with CREATE EXTENSION fluss_grid.")));
	return relid;
}

/*
 * ColumnarGetOptions
 *		The options of relid, defaults where it has none.
 */
void
ColumnarGetOptions(Oid relid, ColumnarOptions *options)
{
	Oid			optrel = ColumnarMetaRelid("columnar_options", true);
	Relation	rel;
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tup;

	options->compression_level = COLUMNAR_DEFAULT_LEVEL;
	options->row_group_rows = COLUMNAR_DEFAULT_ROW_GROUP_ROWS;
	if (!OidIsValid(optrel))
		return;
	rel = table_open(optrel, AccessShareLock);
	ScanKeyInit(&key, Anum_opt_relid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(relid));
	scan = systable_beginscan(rel, ColumnarMetaRelid("columnar_options_pkey", false),
							  true, NULL, 1, &key);
	if (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Datum		values[Natts_opt];
		bool		nulls[Natts_opt];

		heap_deform_tuple(tup, RelationGetDescr(rel), values, nulls);
		if (!nulls[Anum_opt_level - 1])
			options->compression_level = DatumGetInt32(values[Anum_opt_level - 1]);
		if (!nulls[Anum_opt_row_group_rows - 1])
			options->row_group_rows = DatumGetInt32(values[Anum_opt_row_group_rows - 1]);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
}

/*
 * ColumnarSetOptions
 *		Insert or update the options row of relid.
 */
void
ColumnarSetOptions(Oid relid, int level, int row_group_rows)
{
	Relation	rel = table_open(ColumnarMetaRelid("columnar_options", false),
								 RowExclusiveLock);
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tup;
	Datum		values[Natts_opt];
	bool		nulls[Natts_opt] = {false, false, false};

	values[Anum_opt_relid - 1] = ObjectIdGetDatum(relid);
	values[Anum_opt_level - 1] = Int32GetDatum(level);
	values[Anum_opt_row_group_rows - 1] = Int32GetDatum(row_group_rows);

	ScanKeyInit(&key, Anum_opt_relid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(relid));
	scan = systable_beginscan(rel, ColumnarMetaRelid("columnar_options_pkey", false),
							  true, NULL, 1, &key);
	if (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		bool		replace[Natts_opt] = {false, true, true};
		HeapTuple	newtup = heap_modify_tuple(tup, RelationGetDescr(rel),
											   values, nulls, replace);

		CatalogTupleUpdate(rel, &newtup->t_self, newtup);
	}
	else
		CatalogTupleInsert(rel, heap_form_tuple(RelationGetDescr(rel),
												values, nulls));
	systable_endscan(scan);
	table_close(rel, RowExclusiveLock);
	CommandCounterIncrement();
}

/*
 * ColumnarDeleteOptions
 *		Forget the options of a dropped relation.
 */
void
ColumnarDeleteOptions(Oid relid)
{
	Oid			optrel = ColumnarMetaRelid("columnar_options", true);
	Relation	rel;
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tup;

	if (!OidIsValid(optrel))
		return;
	rel = table_open(optrel, RowExclusiveLock);
	ScanKeyInit(&key, Anum_opt_relid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(relid));
	scan = systable_beginscan(rel, ColumnarMetaRelid("columnar_options_pkey", false),
							  true, NULL, 1, &key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
		CatalogTupleDelete(rel, &tup->t_self);
	systable_endscan(scan);
	table_close(rel, RowExclusiveLock);
}

/*
 * ColumnarInsertRowGroup
 *		Record a written row group and its chunks in the current
 *		transaction.
 */
void
ColumnarInsertRowGroup(ColumnarRowGroup *rg)
{
	Relation	rgrel = table_open(ColumnarMetaRelid("columnar_row_group", false),
								   RowExclusiveLock);
	Relation	chrel = table_open(ColumnarMetaRelid("columnar_chunk", false),
								   RowExclusiveLock);
	Datum		values[Natts_chunk];
	bool		nulls[Natts_chunk];
	CatalogIndexState indstate;
	int			i;

	memset(nulls, 0, sizeof(nulls));
	values[Anum_rg_storage_id - 1] = Int64GetDatum((int64) rg->storage_id);
	values[Anum_rg_row_group - 1] = Int64GetDatum(rg->row_group);
	values[Anum_rg_first_row - 1] = Int64GetDatum((int64) rg->first_row);
	values[Anum_rg_row_count - 1] = Int32GetDatum(rg->row_count);
	values[Anum_rg_first_block - 1] = Int64GetDatum((int64) rg->first_block);
	values[Anum_rg_data_length - 1] = Int64GetDatum((int64) rg->data_length);
	CatalogTupleInsert(rgrel, heap_form_tuple(RelationGetDescr(rgrel),
											  values, nulls));

	indstate = CatalogOpenIndexes(chrel);
	for (i = 0; i < rg->natts; i++)
	{
		ColumnarChunk *c = &rg->chunks[i];

		if (!c->present)
			continue;
		values[Anum_chunk_storage_id - 1] = Int64GetDatum((int64) rg->storage_id);
		values[Anum_chunk_first_row - 1] = Int64GetDatum((int64) rg->first_row);
		values[Anum_chunk_attnum - 1] = Int16GetDatum(i + 1);
		values[Anum_chunk_data_offset - 1] = Int64GetDatum((int64) c->offset);
		values[Anum_chunk_data_length - 1] = Int64GetDatum((int64) c->length);
		values[Anum_chunk_raw_length - 1] = Int64GetDatum((int64) c->raw_length);
		values[Anum_chunk_compression - 1] = Int16GetDatum(c->compression);
		values[Anum_chunk_encoding - 1] = Int16GetDatum(c->encoding);
		values[Anum_chunk_null_count - 1] = Int32GetDatum(c->null_count);
		values[Anum_chunk_checksum - 1] = Int64GetDatum((int64) c->checksum);
		nulls[Anum_chunk_min_value - 1] = (c->min_value == NULL);
		nulls[Anum_chunk_max_value - 1] = (c->max_value == NULL);
		if (c->min_value)
			values[Anum_chunk_min_value - 1] = PointerGetDatum(c->min_value);
		if (c->max_value)
			values[Anum_chunk_max_value - 1] = PointerGetDatum(c->max_value);
		CatalogTupleInsertWithInfo(chrel,
								   heap_form_tuple(RelationGetDescr(chrel),
												   values, nulls),
								   indstate);
	}
	CatalogCloseIndexes(indstate);
	table_close(chrel, RowExclusiveLock);
	table_close(rgrel, RowExclusiveLock);
}

ColumnarRowGroup *
ColumnarRowGroupFromTuple(Relation rgrel, HeapTuple tup, int natts)
{
	Datum		values[Natts_rg];
	bool		nulls[Natts_rg];
	ColumnarRowGroup *rg = palloc0(sizeof(ColumnarRowGroup));

	heap_deform_tuple(tup, RelationGetDescr(rgrel), values, nulls);
	rg->storage_id = (uint64) DatumGetInt64(values[Anum_rg_storage_id - 1]);
	rg->row_group = DatumGetInt64(values[Anum_rg_row_group - 1]);
	rg->first_row = (uint64) DatumGetInt64(values[Anum_rg_first_row - 1]);
	rg->row_count = DatumGetInt32(values[Anum_rg_row_count - 1]);
	rg->first_block = (uint64) DatumGetInt64(values[Anum_rg_first_block - 1]);
	rg->data_length = (uint64) DatumGetInt64(values[Anum_rg_data_length - 1]);
	rg->natts = natts;
	rg->chunks = palloc0(sizeof(ColumnarChunk) * Max(natts, 1));
	return rg;
}

/* fill rg->chunks from fluss_grid.columnar_chunk */
void
ColumnarReadChunks(ColumnarRowGroup *rg, Snapshot snapshot)
{
	Relation	chrel = table_open(ColumnarMetaRelid("columnar_chunk", false),
								   AccessShareLock);
	Relation	idx = index_open(ColumnarMetaRelid("columnar_chunk_pkey", false),
								 AccessShareLock);
	SysScanDesc scan;
	ScanKeyData keys[2];
	HeapTuple	tup;

	ScanKeyInit(&keys[0], Anum_chunk_storage_id, BTEqualStrategyNumber, F_INT8EQ,
				Int64GetDatum((int64) rg->storage_id));
	ScanKeyInit(&keys[1], Anum_chunk_first_row, BTEqualStrategyNumber, F_INT8EQ,
				Int64GetDatum((int64) rg->first_row));
	scan = systable_beginscan_ordered(chrel, idx, snapshot, 2, keys);
	while (HeapTupleIsValid(tup = systable_getnext_ordered(scan, ForwardScanDirection)))
	{
		Datum		values[Natts_chunk];
		bool		nulls[Natts_chunk];
		int			attnum;
		ColumnarChunk *c;

		heap_deform_tuple(tup, RelationGetDescr(chrel), values, nulls);
		attnum = DatumGetInt16(values[Anum_chunk_attnum - 1]);
		if (attnum < 1 || attnum > rg->natts)
			continue;
		c = &rg->chunks[attnum - 1];
		c->present = true;
		c->offset = (uint64) DatumGetInt64(values[Anum_chunk_data_offset - 1]);
		c->length = (uint64) DatumGetInt64(values[Anum_chunk_data_length - 1]);
		c->raw_length = (uint64) DatumGetInt64(values[Anum_chunk_raw_length - 1]);
		c->compression = DatumGetInt16(values[Anum_chunk_compression - 1]);
		c->encoding = DatumGetInt16(values[Anum_chunk_encoding - 1]);
		c->null_count = DatumGetInt32(values[Anum_chunk_null_count - 1]);
		c->checksum = (uint32) DatumGetInt64(values[Anum_chunk_checksum - 1]);
		c->min_value = nulls[Anum_chunk_min_value - 1] ? NULL :
			DatumGetByteaPCopy(values[Anum_chunk_min_value - 1]);
		c->max_value = nulls[Anum_chunk_max_value - 1] ? NULL :
			DatumGetByteaPCopy(values[Anum_chunk_max_value - 1]);
	}
	systable_endscan_ordered(scan);
	index_close(idx, AccessShareLock);
	table_close(chrel, AccessShareLock);
}

/*
 * ColumnarReadRowGroups
 *		The row groups of storage_id visible to snapshot, in row-number
 *		order, with their chunks.
 */
List *
ColumnarReadRowGroups(uint64 storage_id, Snapshot snapshot, int natts)
{
	Relation	rgrel = table_open(ColumnarMetaRelid("columnar_row_group", false),
								   AccessShareLock);
	Relation	idx = index_open(ColumnarMetaRelid("columnar_row_group_pkey", false),
								 AccessShareLock);
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tup;
	List	   *result = NIL;
	ListCell   *lc;

	ScanKeyInit(&key, Anum_rg_storage_id, BTEqualStrategyNumber, F_INT8EQ,
				Int64GetDatum((int64) storage_id));
	scan = systable_beginscan_ordered(rgrel, idx, snapshot, 1, &key);
	while (HeapTupleIsValid(tup = systable_getnext_ordered(scan, ForwardScanDirection)))
		result = lappend(result, ColumnarRowGroupFromTuple(rgrel, tup, natts));
	systable_endscan_ordered(scan);
	index_close(idx, AccessShareLock);
	table_close(rgrel, AccessShareLock);

	foreach(lc, result)
		ColumnarReadChunks((ColumnarRowGroup *) lfirst(lc), snapshot);
	return result;
}

/*
 * ColumnarFindRowGroup
 *		The row group of storage_id holding rownum visible to snapshot, or
 *		NULL.
 */
ColumnarRowGroup *
ColumnarFindRowGroup(uint64 storage_id, uint64 rownum, Snapshot snapshot,
					 int natts)
{
	Relation	rgrel = table_open(ColumnarMetaRelid("columnar_row_group", false),
								   AccessShareLock);
	Relation	idx = index_open(ColumnarMetaRelid("columnar_row_group_pkey", false),
								 AccessShareLock);
	SysScanDesc scan;
	ScanKeyData keys[2];
	HeapTuple	tup;
	ColumnarRowGroup *rg = NULL;

	ScanKeyInit(&keys[0], Anum_rg_storage_id, BTEqualStrategyNumber, F_INT8EQ,
				Int64GetDatum((int64) storage_id));
	ScanKeyInit(&keys[1], Anum_rg_first_row, BTLessEqualStrategyNumber, F_INT8LE,
				Int64GetDatum((int64) rownum));
	scan = systable_beginscan_ordered(rgrel, idx, snapshot, 2, keys);
	while (HeapTupleIsValid(tup = systable_getnext_ordered(scan, BackwardScanDirection)))
	{
		ColumnarRowGroup *cand = ColumnarRowGroupFromTuple(rgrel, tup, natts);

		if (rownum < cand->first_row + cand->row_count)
			rg = cand;
		break;
	}
	systable_endscan_ordered(scan);
	index_close(idx, AccessShareLock);
	table_close(rgrel, AccessShareLock);
	if (rg)
		ColumnarReadChunks(rg, snapshot);
	return rg;
}

/* delete the rows of table whose first column is storage_id */
static void
delete_by_storage(const char *table, const char *index, uint64 storage_id)
{
	Oid			relid = ColumnarMetaRelid(table, true);
	Relation	rel;
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tup;

	if (!OidIsValid(relid))
		return;
	rel = table_open(relid, RowExclusiveLock);
	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_INT8EQ,
				Int64GetDatum((int64) storage_id));
	scan = systable_beginscan(rel, ColumnarMetaRelid(index, false), true, NULL, 1, &key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
		simple_heap_delete(rel, &tup->t_self);
	systable_endscan(scan);
	table_close(rel, RowExclusiveLock);
}

/*
 * ColumnarForgetMinMax
 *		Clear (MVCC, in the current transaction) the recorded least and
 *		greatest values of column attnum in every row group of storage_id:
 *		an ALTER TABLE that changes the column's collation without a
 *		rewrite leaves them ordered under the old one, and row-group
 *		skipping must then not trust them.
 */
void
ColumnarForgetMinMax(uint64 storage_id, AttrNumber attnum)
{
	Relation	rel;
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tup;

	if (storage_id == 0)
		return;
	rel = table_open(ColumnarMetaRelid("columnar_chunk", false), RowExclusiveLock);
	ScanKeyInit(&key, Anum_chunk_storage_id, BTEqualStrategyNumber, F_INT8EQ,
				Int64GetDatum((int64) storage_id));
	scan = systable_beginscan(rel, ColumnarMetaRelid("columnar_chunk_pkey", false),
							  true, NULL, 1, &key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Datum		values[Natts_chunk] = {0};
		bool		nulls[Natts_chunk] = {false};
		bool		replace[Natts_chunk] = {false};
		bool		isnull;
		Datum		att = heap_getattr(tup, Anum_chunk_attnum,
									   RelationGetDescr(rel), &isnull);
		HeapTuple	newtup;

		if (isnull || DatumGetInt16(att) != attnum)
			continue;
		(void) heap_getattr(tup, Anum_chunk_min_value, RelationGetDescr(rel),
							&isnull);
		if (isnull)
			continue;
		nulls[Anum_chunk_min_value - 1] = nulls[Anum_chunk_max_value - 1] = true;
		replace[Anum_chunk_min_value - 1] = replace[Anum_chunk_max_value - 1] = true;
		newtup = heap_modify_tuple(tup, RelationGetDescr(rel), values, nulls,
								   replace);
		CatalogTupleUpdate(rel, &newtup->t_self, newtup);
		heap_freetuple(newtup);
	}
	systable_endscan(scan);
	table_close(rel, RowExclusiveLock);
	CommandCounterIncrement();
}

/*
 * ColumnarDeleteStorageMetadata
 *		Delete (MVCC, in the current transaction) all metadata of a
 *		relation file that TRUNCATE, a rewrite or DROP replaces.
 */
void
ColumnarDeleteStorageMetadata(uint64 storage_id)
{
	if (storage_id == 0)
		return;
	delete_by_storage("columnar_row_group", "columnar_row_group_pkey", storage_id);
	delete_by_storage("columnar_chunk", "columnar_chunk_pkey", storage_id);
	delete_by_storage("columnar_deleted", "columnar_deleted_pkey", storage_id);
	delete_by_storage("columnar_reserved", "columnar_reserved_pkey", storage_id);
	delete_by_storage("columnar_free_extent", "columnar_free_extent_pkey",
					  storage_id);
}

/*
 * ColumnarReadDeletions
 *		Which of the nrows rows from first_row are deleted for snapshot;
 *		NULL when none is.
 */
bool *
ColumnarReadDeletions(uint64 storage_id, uint64 first_row, int32 nrows,
					  Snapshot snapshot)
{
	Relation	rel = table_open(ColumnarMetaRelid("columnar_deleted", false),
								 AccessShareLock);
	SysScanDesc scan;
	ScanKeyData keys[3];
	HeapTuple	tup;
	bool	   *deleted = NULL;

	ScanKeyInit(&keys[0], Anum_del_storage_id, BTEqualStrategyNumber,
				F_INT8EQ, Int64GetDatum((int64) storage_id));
	ScanKeyInit(&keys[1], Anum_del_row_number, BTGreaterEqualStrategyNumber,
				F_INT8GE, Int64GetDatum((int64) first_row));
	ScanKeyInit(&keys[2], Anum_del_row_number, BTLessStrategyNumber,
				F_INT8LT, Int64GetDatum((int64) (first_row + nrows)));
	scan = systable_beginscan(rel, ColumnarMetaRelid("columnar_deleted_pkey", false),
							  true, snapshot, 3, keys);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		bool		isnull;
		uint64		rn = (uint64) DatumGetInt64(heap_getattr(tup, Anum_del_row_number,
															 RelationGetDescr(rel),
															 &isnull));

		if (rn < first_row || rn >= first_row + nrows)
			continue;
		if (deleted == NULL)
			deleted = palloc0(sizeof(bool) * nrows);
		deleted[rn - first_row] = true;
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return deleted;
}

/*
 * ColumnarRowDeleted
 *		Whether snapshot sees a deletion of rownum.
 */
bool
ColumnarRowDeleted(uint64 storage_id, uint64 rownum, Snapshot snapshot)
{
	bool	   *d = ColumnarReadDeletions(storage_id, rownum, 1, snapshot);

	return d != NULL && d[0];
}

/*
 * ColumnarDeleteRow
 *		Record the deletion of rownum by the current transaction, with heap
 *		semantics: a deletion by a transaction still in progress is waited
 *		for (wait is always true for DELETE and UPDATE), a committed
 *		deletion returns TM_Deleted (the executor skips the row, or raises
 *		a serialization failure under REPEATABLE READ), a committed UPDATE
 *		raises a serialization failure (the new version cannot be followed
 *		yet), a deletion by this transaction returns TM_SelfModified.
 */
TM_Result
ColumnarDeleteRow(Relation rel, uint64 storage_id, uint64 rownum,
				  CommandId cid, Snapshot snapshot, bool wait,
				  TM_FailureData *tmfd, bool is_update)
{
	ItemPointerData tid;
	TM_Result	result;

	ColumnarRowNumberToTid(rownum, &tid);
	LockTuple(rel, &tid, ExclusiveLock);
	result = ColumnarCheckRow(rel, storage_id, rownum, wait, tmfd,
							  true, is_update);
	UnlockTuple(rel, &tid, ExclusiveLock);
	return result;
}

/*
 * ColumnarCheckRow
 *		With the tuple lock of rownum held: whether another transaction
 *		deleted it (waiting for one in progress), as ColumnarDeleteRow
 *		describes; with insert and TM_Ok, record the deletion.
 */
TM_Result
ColumnarCheckRow(Relation rel, uint64 storage_id, uint64 rownum, bool wait,
				 TM_FailureData *tmfd, bool insert, bool is_update)
{
	Relation	delrel = table_open(ColumnarMetaRelid("columnar_deleted", false),
									RowExclusiveLock);
	Oid			idxoid = ColumnarMetaRelid("columnar_deleted_pkey", false);
	ItemPointerData tid;
	TM_Result	result = TM_Ok;

	ColumnarRowNumberToTid(rownum, &tid);
	for (;;)
	{
		SnapshotData dirty;
		SysScanDesc scan;
		ScanKeyData keys[2];
		HeapTuple	tup;
		TransactionId wait_for = InvalidTransactionId;
		bool		found = false;

		InitDirtySnapshot(dirty);
		ScanKeyInit(&keys[0], Anum_del_storage_id, BTEqualStrategyNumber,
					F_INT8EQ, Int64GetDatum((int64) storage_id));
		ScanKeyInit(&keys[1], Anum_del_row_number, BTEqualStrategyNumber,
					F_INT8EQ, Int64GetDatum((int64) rownum));
		scan = systable_beginscan(delrel, idxoid, true, &dirty, 2, keys);
		if (HeapTupleIsValid(tup = systable_getnext(scan)))
		{
			TransactionId xmin = HeapTupleHeaderGetXmin(tup->t_data);
			bool		isnull;
			bool		updated = DatumGetBool(heap_getattr(tup, Anum_del_updated,
															RelationGetDescr(delrel),
															&isnull));

			found = true;
			if (TransactionIdIsValid(dirty.xmin))
				wait_for = dirty.xmin;
			else if (TransactionIdIsCurrentTransactionId(xmin))
			{
				result = TM_SelfModified;
				tmfd->ctid = tid;
				tmfd->xmax = xmin;
				tmfd->cmax = HeapTupleHeaderGetCmin(tup->t_data);
			}
			else if (updated)
			{
				systable_endscan(scan);
				ereport(ERROR,
						(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
						 errmsg("could not serialize access due to concurrent update"),
						 errdetail("A concurrent transaction updated a row of fluss_columnar relation \"%s\".",
								   RelationGetRelationName(rel)),
						 errhint("The transaction might succeed if retried.")));
			}
			else
			{
				result = TM_Deleted;
				tmfd->ctid = tid;
				tmfd->xmax = xmin;
				tmfd->cmax = InvalidCommandId;
			}
		}
		systable_endscan(scan);

		if (TransactionIdIsValid(wait_for))
		{
			if (!wait)
			{
				result = TM_WouldBlock;
				break;
			}
			XactLockTableWait(wait_for, rel, &tid, XLTW_Delete);
			continue;
		}
		/*
		 * A VACUUM that committed after our snapshot may have moved the
		 * row to a new row group: the row this snapshot sees is no longer
		 * the current version, as after a concurrent update.
		 */
		if (!found && ColumnarRowGroupSuperseded(storage_id, rownum))
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("could not serialize access due to concurrent update"),
					 errdetail("VACUUM moved a row of fluss_columnar relation \"%s\" since this transaction's snapshot was taken.",
							   RelationGetRelationName(rel)),
					 errhint("The transaction might succeed if retried.")));
		if (!found && insert)
		{
			Datum		values[Natts_del];
			bool		nulls[Natts_del] = {false, false, false};

			values[Anum_del_storage_id - 1] = Int64GetDatum((int64) storage_id);
			values[Anum_del_row_number - 1] = Int64GetDatum((int64) rownum);
			values[Anum_del_updated - 1] = BoolGetDatum(is_update);
			CatalogTupleInsert(delrel, heap_form_tuple(RelationGetDescr(delrel),
													   values, nulls));
			result = TM_Ok;
		}
		break;
	}
	table_close(delrel, RowExclusiveLock);
	return result;
}

/*
 * ColumnarCountRows
 *		Rows of the row groups of storage_id visible to snapshot (deleted
 *		rows included): the planner's estimate.
 */
double
ColumnarCountRows(uint64 storage_id, Snapshot snapshot)
{
	Relation	rgrel = table_open(ColumnarMetaRelid("columnar_row_group", false),
								   AccessShareLock);
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tup;
	double		rows = 0;

	ScanKeyInit(&key, Anum_rg_storage_id, BTEqualStrategyNumber, F_INT8EQ,
				Int64GetDatum((int64) storage_id));
	scan = systable_beginscan(rgrel, ColumnarMetaRelid("columnar_row_group_pkey", false),
							  true, snapshot, 1, &key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		bool		isnull;

		rows += DatumGetInt32(heap_getattr(tup, Anum_rg_row_count,
										   RelationGetDescr(rgrel), &isnull));
	}
	systable_endscan(scan);
	table_close(rgrel, AccessShareLock);
	return rows;
}

/*
 * ColumnarInsertReservation
 *		Record, in the current transaction, that it reserved count row
 *		numbers from first_row of storage_id.  Another transaction's unique
 *		check meeting an index entry of such a row, which is in this
 *		backend's write buffer only, learns from it whom to wait for.
 */
ItemPointerData
ColumnarInsertReservation(uint64 storage_id, uint64 first_row, uint64 count)
{
	Relation	rel = table_open(ColumnarMetaRelid("columnar_reserved", false),
								 RowExclusiveLock);
	Datum		values[Natts_res];
	bool		nulls[Natts_res] = {false, false, false};
	HeapTuple	tup;

	values[Anum_res_storage_id - 1] = Int64GetDatum((int64) storage_id);
	values[Anum_res_first_row - 1] = Int64GetDatum((int64) first_row);
	values[Anum_res_row_count - 1] = Int64GetDatum((int64) count);
	tup = heap_form_tuple(RelationGetDescr(rel), values, nulls);
	CatalogTupleInsert(rel, tup);
	table_close(rel, RowExclusiveLock);
	return tup->t_self;
}

/*
 * ColumnarDeleteReservations
 *		Delete the reservation rows at tids, which this transaction
 *		inserted, once every row they announced is in a row group: the
 *		writer calls it before commit, after the last flush, so the rows
 *		die with the commit instead of piling up.  A row already deleted by
 *		this transaction (TRUNCATE or DROP of the relation) is left alone.
 */
void
ColumnarDeleteReservations(List *tids)
{
	Relation	rel;
	ListCell   *lc;

	if (tids == NIL)
		return;
	/* the rows may have been inserted by the current command */
	CommandCounterIncrement();
	rel = table_open(ColumnarMetaRelid("columnar_reserved", false), RowExclusiveLock);
	foreach(lc, tids)
	{
		HeapTupleData tuple;
		Buffer		buffer;

		/* gone already when this transaction dropped or emptied the storage */
		tuple.t_self = *(ItemPointer) lfirst(lc);
		if (!heap_fetch(rel, SnapshotSelf, &tuple, &buffer, false))
			continue;
		ReleaseBuffer(buffer);
		simple_heap_delete(rel, &tuple.t_self);
	}
	table_close(rel, RowExclusiveLock);
}

/*
 * ColumnarReservationXid
 *		The transaction, still in progress and not this one, that reserved
 *		rownum of storage_id; InvalidTransactionId if none did, or if it
 *		ended (committed rows are in row groups, aborted ones nowhere).
 */
TransactionId
ColumnarReservationXid(uint64 storage_id, uint64 rownum)
{
	Relation	rel = table_open(ColumnarMetaRelid("columnar_reserved", false),
								 AccessShareLock);
	Relation	idx = index_open(ColumnarMetaRelid("columnar_reserved_pkey", false),
								 AccessShareLock);
	SnapshotData dirty;
	SysScanDesc scan;
	ScanKeyData keys[2];
	HeapTuple	tup;
	TransactionId result = InvalidTransactionId;

	InitDirtySnapshot(dirty);
	ScanKeyInit(&keys[0], Anum_res_storage_id, BTEqualStrategyNumber, F_INT8EQ,
				Int64GetDatum((int64) storage_id));
	ScanKeyInit(&keys[1], Anum_res_first_row, BTLessEqualStrategyNumber, F_INT8LE,
				Int64GetDatum((int64) rownum));
	scan = systable_beginscan_ordered(rel, idx, &dirty, 2, keys);
	if (HeapTupleIsValid(tup = systable_getnext_ordered(scan, BackwardScanDirection)))
	{
		Datum		values[Natts_res];
		bool		nulls[Natts_res];
		TransactionId xmin = dirty.xmin;

		heap_deform_tuple(tup, RelationGetDescr(rel), values, nulls);
		if (rownum < (uint64) DatumGetInt64(values[Anum_res_first_row - 1]) +
			(uint64) DatumGetInt64(values[Anum_res_row_count - 1]))
			result = xmin;
	}
	systable_endscan_ordered(scan);
	index_close(idx, AccessShareLock);
	table_close(rel, AccessShareLock);
	return result;
}

/*
 * ColumnarFindRowGroupDirty
 *		As ColumnarFindRowGroup for a dirty snapshot: the row group holding
 *		rownum written by a committed transaction, this one or one still in
 *		progress, whose id goes to *xmin (InvalidTransactionId otherwise).
 */
ColumnarRowGroup *
ColumnarFindRowGroupDirty(uint64 storage_id, uint64 rownum, int natts,
						  TransactionId *xmin)
{
	Relation	rgrel = table_open(ColumnarMetaRelid("columnar_row_group", false),
								   AccessShareLock);
	Relation	idx = index_open(ColumnarMetaRelid("columnar_row_group_pkey", false),
								 AccessShareLock);
	SnapshotData dirty;
	SnapshotData dirty_chunks;
	SysScanDesc scan;
	ScanKeyData keys[2];
	HeapTuple	tup;
	ColumnarRowGroup *rg = NULL;

	*xmin = InvalidTransactionId;
	InitDirtySnapshot(dirty);
	ScanKeyInit(&keys[0], Anum_rg_storage_id, BTEqualStrategyNumber, F_INT8EQ,
				Int64GetDatum((int64) storage_id));
	ScanKeyInit(&keys[1], Anum_rg_first_row, BTLessEqualStrategyNumber, F_INT8LE,
				Int64GetDatum((int64) rownum));
	scan = systable_beginscan_ordered(rgrel, idx, &dirty, 2, keys);
	if (HeapTupleIsValid(tup = systable_getnext_ordered(scan, BackwardScanDirection)))
	{
		ColumnarRowGroup *cand = ColumnarRowGroupFromTuple(rgrel, tup, natts);

		if (rownum < cand->first_row + cand->row_count)
		{
			rg = cand;
			*xmin = dirty.xmin;
		}
	}
	systable_endscan_ordered(scan);
	index_close(idx, AccessShareLock);
	table_close(rgrel, AccessShareLock);
	if (rg)
	{
		InitDirtySnapshot(dirty_chunks);
		ColumnarReadChunks(rg, &dirty_chunks);
	}
	return rg;
}

/*
 * ColumnarRowDeletedDirty
 *		Whether a deletion of rownum was committed or made by this
 *		transaction (true), or is being made by another transaction still
 *		in progress (false, its id in *xmax), or none is recorded (false).
 */
bool
ColumnarRowDeletedDirty(uint64 storage_id, uint64 rownum, TransactionId *xmax)
{
	Relation	rel = table_open(ColumnarMetaRelid("columnar_deleted", false),
								 AccessShareLock);
	SnapshotData dirty;
	SysScanDesc scan;
	ScanKeyData keys[2];
	HeapTuple	tup;
	bool		deleted = false;

	*xmax = InvalidTransactionId;
	InitDirtySnapshot(dirty);
	ScanKeyInit(&keys[0], Anum_del_storage_id, BTEqualStrategyNumber,
				F_INT8EQ, Int64GetDatum((int64) storage_id));
	ScanKeyInit(&keys[1], Anum_del_row_number, BTEqualStrategyNumber,
				F_INT8EQ, Int64GetDatum((int64) rownum));
	scan = systable_beginscan(rel, ColumnarMetaRelid("columnar_deleted_pkey", false),
							  true, &dirty, 2, keys);
	if (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		if (TransactionIdIsValid(dirty.xmin))
			*xmax = dirty.xmin;
		else
			deleted = true;
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return deleted;
}

/*
 * ColumnarRecentlyDeleted
 *		The row numbers of storage_id whose deletion snapshot sees but some
 *		transaction may not: made by this transaction, or by one not older
 *		than oldest_xmin.  An index build indexes these rows as dead, for
 *		the older snapshots that may still read them through the index.
 *		Returns how many, their numbers in *rownums.
 */
int64
ColumnarRecentlyDeleted(uint64 storage_id, Snapshot snapshot,
						TransactionId oldest_xmin, uint64 **rownums)
{
	Relation	rel = table_open(ColumnarMetaRelid("columnar_deleted", false),
								 AccessShareLock);
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tup;
	int64		n = 0;
	int64		max = 64;

	*rownums = palloc(sizeof(uint64) * max);
	ScanKeyInit(&key, Anum_del_storage_id, BTEqualStrategyNumber,
				F_INT8EQ, Int64GetDatum((int64) storage_id));
	scan = systable_beginscan(rel, ColumnarMetaRelid("columnar_deleted_pkey", false),
							  true, snapshot, 1, &key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		TransactionId xmin = HeapTupleHeaderGetXmin(tup->t_data);
		bool		isnull;

		if (!TransactionIdIsCurrentTransactionId(xmin) &&
			TransactionIdIsNormal(xmin) &&
			TransactionIdPrecedes(xmin, oldest_xmin))
			continue;
		if (!TransactionIdIsCurrentTransactionId(xmin) &&
			!TransactionIdIsNormal(xmin))
			continue;			/* frozen: old */
		if (n == max)
		{
			max *= 2;
			*rownums = repalloc_huge(*rownums, sizeof(uint64) * max);
		}
		(*rownums)[n++] = (uint64) DatumGetInt64(heap_getattr(tup, Anum_del_row_number,
															  RelationGetDescr(rel),
															  &isnull));
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return n;
}
