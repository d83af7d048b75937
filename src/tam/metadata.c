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
 *	                      sees the superseding transaction (vacuum.c)
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

/* columns of fluss_grid.columnar_row_group */
#define Natts_rg 6
#define Anum_rg_storage_id 1
#define Anum_rg_row_group 2
#define Anum_rg_first_row 3
#define Anum_rg_row_count 4
#define Anum_rg_first_block 5
#define Anum_rg_data_length 6

/* columns of fluss_grid.columnar_chunk */
#define Natts_chunk 12
#define Anum_chunk_storage_id 1
#define Anum_chunk_first_row 2
#define Anum_chunk_attnum 3
#define Anum_chunk_data_offset 4
#define Anum_chunk_data_length 5
#define Anum_chunk_raw_length 6
#define Anum_chunk_compression 7
#define Anum_chunk_encoding 8
#define Anum_chunk_null_count 9
#define Anum_chunk_checksum 10
#define Anum_chunk_min_value 11
#define Anum_chunk_max_value 12

/* columns of fluss_grid.columnar_deleted */
#define Natts_del 3
#define Anum_del_storage_id 1
#define Anum_del_row_number 2
#define Anum_del_updated 3

/* columns of fluss_grid.columnar_reserved */
#define Natts_res 3
#define Anum_res_storage_id 1
#define Anum_res_first_row 2
#define Anum_res_row_count 3

/* columns of fluss_grid.columnar_free_extent */
#define Natts_free 6
#define Anum_free_storage_id 1
#define Anum_free_first_row 2
#define Anum_free_row_count 3
#define Anum_free_first_block 4
#define Anum_free_nblocks 5
#define Anum_free_indexes_clean 6

/* columns of fluss_grid.columnar_options */
#define Natts_opt 3
#define Anum_opt_relid 1
#define Anum_opt_level 2
#define Anum_opt_row_group_rows 3

static Oid	meta_relid(const char *name, bool missing_ok);
static ColumnarRowGroup *row_group_from_tuple(Relation rgrel, HeapTuple tup,
											  int natts);
static void read_chunks(ColumnarRowGroup *rg, Snapshot snapshot);
static void delete_by_storage(const char *table, const char *index,
							  uint64 storage_id);
static void insert_extent(ColumnarRowGroup *rg, int32 row_count);

/* oid of fluss_grid.<name>, or an error naming the extension */
static Oid
meta_relid(const char *name, bool missing_ok)
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
	Oid			optrel = meta_relid("columnar_options", true);
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
	scan = systable_beginscan(rel, meta_relid("columnar_options_pkey", false),
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
	Relation	rel = table_open(meta_relid("columnar_options", false),
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
	scan = systable_beginscan(rel, meta_relid("columnar_options_pkey", false),
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
	Oid			optrel = meta_relid("columnar_options", true);
	Relation	rel;
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tup;

	if (!OidIsValid(optrel))
		return;
	rel = table_open(optrel, RowExclusiveLock);
	ScanKeyInit(&key, Anum_opt_relid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(relid));
	scan = systable_beginscan(rel, meta_relid("columnar_options_pkey", false),
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
	Relation	rgrel = table_open(meta_relid("columnar_row_group", false),
								   RowExclusiveLock);
	Relation	chrel = table_open(meta_relid("columnar_chunk", false),
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

static ColumnarRowGroup *
row_group_from_tuple(Relation rgrel, HeapTuple tup, int natts)
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
static void
read_chunks(ColumnarRowGroup *rg, Snapshot snapshot)
{
	Relation	chrel = table_open(meta_relid("columnar_chunk", false),
								   AccessShareLock);
	Relation	idx = index_open(meta_relid("columnar_chunk_pkey", false),
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
	Relation	rgrel = table_open(meta_relid("columnar_row_group", false),
								   AccessShareLock);
	Relation	idx = index_open(meta_relid("columnar_row_group_pkey", false),
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
		result = lappend(result, row_group_from_tuple(rgrel, tup, natts));
	systable_endscan_ordered(scan);
	index_close(idx, AccessShareLock);
	table_close(rgrel, AccessShareLock);

	foreach(lc, result)
		read_chunks((ColumnarRowGroup *) lfirst(lc), snapshot);
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
	Relation	rgrel = table_open(meta_relid("columnar_row_group", false),
								   AccessShareLock);
	Relation	idx = index_open(meta_relid("columnar_row_group_pkey", false),
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
		ColumnarRowGroup *cand = row_group_from_tuple(rgrel, tup, natts);

		if (rownum < cand->first_row + cand->row_count)
			rg = cand;
		break;
	}
	systable_endscan_ordered(scan);
	index_close(idx, AccessShareLock);
	table_close(rgrel, AccessShareLock);
	if (rg)
		read_chunks(rg, snapshot);
	return rg;
}

/* delete the rows of table whose first column is storage_id */
static void
delete_by_storage(const char *table, const char *index, uint64 storage_id)
{
	Oid			relid = meta_relid(table, true);
	Relation	rel;
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tup;

	if (!OidIsValid(relid))
		return;
	rel = table_open(relid, RowExclusiveLock);
	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_INT8EQ,
				Int64GetDatum((int64) storage_id));
	scan = systable_beginscan(rel, meta_relid(index, false), true, NULL, 1, &key);
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
	rel = table_open(meta_relid("columnar_chunk", false), RowExclusiveLock);
	ScanKeyInit(&key, Anum_chunk_storage_id, BTEqualStrategyNumber, F_INT8EQ,
				Int64GetDatum((int64) storage_id));
	scan = systable_beginscan(rel, meta_relid("columnar_chunk_pkey", false),
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
	Relation	rel = table_open(meta_relid("columnar_deleted", false),
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
	scan = systable_beginscan(rel, meta_relid("columnar_deleted_pkey", false),
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
	Relation	delrel = table_open(meta_relid("columnar_deleted", false),
									RowExclusiveLock);
	Oid			idxoid = meta_relid("columnar_deleted_pkey", false);
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
	Relation	rgrel = table_open(meta_relid("columnar_row_group", false),
								   AccessShareLock);
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tup;
	double		rows = 0;

	ScanKeyInit(&key, Anum_rg_storage_id, BTEqualStrategyNumber, F_INT8EQ,
				Int64GetDatum((int64) storage_id));
	scan = systable_beginscan(rgrel, meta_relid("columnar_row_group_pkey", false),
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
	Relation	rel = table_open(meta_relid("columnar_reserved", false),
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
	rel = table_open(meta_relid("columnar_reserved", false), RowExclusiveLock);
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
	Relation	rel = table_open(meta_relid("columnar_reserved", false),
								 AccessShareLock);
	Relation	idx = index_open(meta_relid("columnar_reserved_pkey", false),
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
	Relation	rgrel = table_open(meta_relid("columnar_row_group", false),
								   AccessShareLock);
	Relation	idx = index_open(meta_relid("columnar_row_group_pkey", false),
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
		ColumnarRowGroup *cand = row_group_from_tuple(rgrel, tup, natts);

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
		read_chunks(rg, &dirty_chunks);
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
	Relation	rel = table_open(meta_relid("columnar_deleted", false),
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
	scan = systable_beginscan(rel, meta_relid("columnar_deleted_pkey", false),
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
	Relation	rel = table_open(meta_relid("columnar_deleted", false),
								 AccessShareLock);
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tup;
	int64		n = 0;
	int64		max = 64;

	*rownums = palloc(sizeof(uint64) * max);
	ScanKeyInit(&key, Anum_del_storage_id, BTEqualStrategyNumber,
				F_INT8EQ, Int64GetDatum((int64) storage_id));
	scan = systable_beginscan(rel, meta_relid("columnar_deleted_pkey", false),
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
	Relation	rel = table_open(meta_relid(table, false), RowExclusiveLock);
	SysScanDesc scan;
	ScanKeyData keys[3];
	HeapTuple	tup;

	ScanKeyInit(&keys[0], 1, BTEqualStrategyNumber, F_INT8EQ,
				Int64GetDatum((int64) storage_id));
	ScanKeyInit(&keys[1], attnum, BTGreaterEqualStrategyNumber, F_INT8GE,
				Int64GetDatum((int64) lo));
	ScanKeyInit(&keys[2], attnum, BTLessStrategyNumber, F_INT8LT,
				Int64GetDatum((int64) hi));
	scan = systable_beginscan(rel, meta_relid(index, false), true, snapshot,
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
	Relation	rel = table_open(meta_relid("columnar_free_extent", false),
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
	Relation	rgrel = table_open(meta_relid("columnar_row_group", false),
								   RowExclusiveLock);
	SysScanDesc scan;
	ScanKeyData keys[2];
	HeapTuple	tup;
	int			n = 0;

	ScanKeyInit(&keys[0], Anum_rg_storage_id, BTEqualStrategyNumber, F_INT8EQ,
				Int64GetDatum((int64) rg->storage_id));
	ScanKeyInit(&keys[1], Anum_rg_first_row, BTEqualStrategyNumber, F_INT8EQ,
				Int64GetDatum((int64) rg->first_row));
	scan = systable_beginscan(rgrel, meta_relid("columnar_row_group_pkey", false),
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
	Oid			relid = meta_relid("columnar_free_extent", true);
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
	scan = systable_beginscan(rel, meta_relid("columnar_free_extent_pkey", false),
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
	rgrel = table_open(meta_relid("columnar_row_group", false), AccessShareLock);
	idx = index_open(meta_relid("columnar_row_group_pkey", false),
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
	Relation	rel = table_open(meta_relid("columnar_free_extent", false),
								 AccessShareLock);
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tup;
	List	   *result = NIL;

	ScanKeyInit(&key, Anum_free_storage_id, BTEqualStrategyNumber, F_INT8EQ,
				Int64GetDatum((int64) storage_id));
	scan = systable_beginscan(rel, meta_relid("columnar_free_extent_pkey", false),
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
	Relation	rel = table_open(meta_relid("columnar_free_extent", false),
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
	scan = systable_beginscan(rel, meta_relid("columnar_free_extent_pkey", false),
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
	Relation	rgrel = table_open(meta_relid("columnar_row_group", false),
								   AccessShareLock);
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tup;
	uint64		end = 1;

	ScanKeyInit(&key, Anum_rg_storage_id, BTEqualStrategyNumber, F_INT8EQ,
				Int64GetDatum((int64) storage_id));
	scan = systable_beginscan(rgrel, meta_relid("columnar_row_group_pkey", false),
							  true, SnapshotAny, 1, &key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		ColumnarRowGroup *rg = row_group_from_tuple(rgrel, tup, 0);

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
	Relation	rgrel = table_open(meta_relid("columnar_row_group", false),
								   AccessShareLock);
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tup;
	List	   *result = NIL;
	ListCell   *lc;

	ScanKeyInit(&key, Anum_rg_storage_id, BTEqualStrategyNumber, F_INT8EQ,
				Int64GetDatum((int64) storage_id));
	scan = systable_beginscan(rgrel, meta_relid("columnar_row_group_pkey", false),
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
			result = lappend(result, row_group_from_tuple(rgrel, tup, natts));
	}
	systable_endscan(scan);
	table_close(rgrel, AccessShareLock);
	foreach(lc, result)
		read_chunks((ColumnarRowGroup *) lfirst(lc), SnapshotAny);
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
	Relation	rgrel = table_open(meta_relid("columnar_row_group", false),
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
		scan = systable_beginscan(rgrel, meta_relid("columnar_row_group_pkey", false),
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
			rel = table_open(meta_relid("columnar_free_extent", false),
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
