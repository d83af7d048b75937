/*-------------------------------------------------------------------------
 *
 * columnar.h
 *	  Declarations shared by the files of the fluss_columnar table access
 *	  method: storage format, metadata, write buffers, scans.
 *
 *	  The access method knows nothing of rollups; the rollup engine knows
 *	  nothing of storage.  See docs/COLUMNAR.md for the design.
 *
 * IDENTIFICATION
 *	  src/tam/columnar.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef FLUSS_COLUMNAR_H
#define FLUSS_COLUMNAR_H

#include "postgres.h"

#include "access/htup.h"
#include "access/tableam.h"
#include "fmgr.h"
#include "nodes/bitmapset.h"
#include "nodes/plannodes.h"
#include "port/atomics.h"
#include "storage/bufpage.h"
#include "storage/itemptr.h"
#include "utils/rel.h"
#include "utils/snapshot.h"

#define COLUMNAR_AM_NAME "fluss_columnar"

/* block 0 of the main fork */
#define COLUMNAR_METAPAGE_BLOCK 0
#define COLUMNAR_MAGIC 0x464C5343	/* "FLSC" */
#define COLUMNAR_VERSION 1

/* bytes of row-group data one page holds (after the page header) */
#define COLUMNAR_PAGE_DATA (BLCKSZ - SizeOfPageHeaderData)

/* row number <-> TID: block = rn / N, offset = rn % N + 1 */
#define COLUMNAR_ROWS_PER_BLOCK MaxHeapTuplesPerPage
#define COLUMNAR_MAX_ROW_NUMBER \
	((uint64) (MaxBlockNumber) * COLUMNAR_ROWS_PER_BLOCK)

/* defaults of fluss_grid.columnar_options */
#define COLUMNAR_DEFAULT_LEVEL 3
#define COLUMNAR_DEFAULT_ROW_GROUP_ROWS 150000
#define COLUMNAR_MIN_ROW_GROUP_ROWS 10
#define COLUMNAR_MAX_ROW_GROUP_ROWS 1000000
#define COLUMNAR_MIN_LEVEL 1
#define COLUMNAR_MAX_LEVEL 19

/* a buffer is flushed early when its rows take this many bytes */
#define COLUMNAR_MAX_BUFFER_BYTES (256 * 1024 * 1024)

/* compression of a chunk */
#define COLUMNAR_COMPRESSION_NONE 0
#define COLUMNAR_COMPRESSION_ZSTD 1

/* encoding of the values of a chunk before compression */
#define COLUMNAR_ENCODING_PLAIN 0
#define COLUMNAR_ENCODING_DELTA 1	/* integers: differences, wrapping */
#define COLUMNAR_ENCODING_SHUFFLE 2 /* floats: byte planes */
#define COLUMNAR_ENCODING_DECIMAL 3 /* floats: decimal mantissas - least */
#define COLUMNAR_ENCODING_DECIMAL_DELTA 4	/* ... differences at a stride */

typedef struct ColumnarMetaPageData
{
	uint32		magic;
	uint32		version;
	uint64		storage_id;
	uint64		next_row;		/* first row number not yet reserved */
	uint64		next_row_group; /* next row-group number */
} ColumnarMetaPageData;

typedef struct ColumnarOptions
{
	int			compression_level;
	int			row_group_rows;
} ColumnarOptions;

/* one column of one row group, as fluss_grid.columnar_chunk describes it */
typedef struct ColumnarChunk
{
	bool		present;		/* false: column added after the row group */
	uint64		offset;			/* in the row group's byte stream */
	uint64		length;			/* stored (compressed) bytes */
	uint64		raw_length;		/* bytes before compression */
	int16		compression;
	int16		encoding;
	int32		null_count;
	uint32		checksum;		/* CRC-32C of the stored bytes */
	bytea	   *min_value;		/* binary send form of the least value */
	bytea	   *max_value;		/* ... of the greatest; NULL: not recorded */
} ColumnarChunk;

/* one row group, as fluss_grid.columnar_row_group describes it */
typedef struct ColumnarRowGroup
{
	uint64		storage_id;
	int64		row_group;
	uint64		first_row;
	int32		row_count;
	uint64		first_block;
	uint64		data_length;
	int			natts;			/* length of chunks */
	ColumnarChunk *chunks;		/* by attnum - 1 */
	/* row groups this transaction wrote: their rows' command ids */
	bool		own;
	CommandId	cid_all;		/* every row's, when cids is NULL */
	CommandId  *cids;
} ColumnarRowGroup;

static inline CommandId
ColumnarRowGroupCid(const ColumnarRowGroup *rg, int32 row)
{
	return rg->cids ? rg->cids[row] : rg->cid_all;
}

/* a decoded row group (or a copy of buffered rows) ready to scan */
typedef struct ColumnarBatch
{
	uint64		first_row;
	int32		nrows;
	int			natts;
	Datum	  **values;			/* [att][row] */
	bool	  **isnull;			/* [att][row] */
	bool	   *visible;		/* [row]; NULL: all */
	uint64	   *rownums;		/* [row]; NULL: first_row + row */
} ColumnarBatch;

/*
 * A rows' write buffer of one relation storage in one subtransaction,
 * column by column: values[att][row], by-value types as they are, others
 * pointing to copies in value_cxt (detoasted varlenas).  Columns added
 * after the buffer was made (att >= natts) hold their missing value.
 */
typedef struct ColumnarWriteBuffer
{
	Oid			relid;
	uint64		storage_id;
	SubTransactionId subxid;
	MemoryContext context;		/* the buffer's arrays */
	MemoryContext value_cxt;	/* by-reference values; reset at a flush */
	char	   *arena;			/* free space of value_cxt's last block */
	Size		arena_left;
	uint64		first_row;		/* row number of row 0 */
	uint64		reserved_end;	/* first row number not reserved */
	int32		nrows;
	int32		maxrows;
	int			natts;			/* columns of values/isnull */
	Datum	  **values;			/* [att][row] */
	bool	  **isnull;			/* [att][row] */
	CommandId  *cids;
	Size		bytes;
	ColumnarOptions options;
	struct ColumnarWriteBuffer *next;
} ColumnarWriteBuffer;

/* a row group VACUUM superseded, as fluss_grid.columnar_free_extent says */
typedef struct ColumnarFreeExtent
{
	uint64		storage_id;
	uint64		first_row;
	int32		row_count;
	uint64		first_block;
	uint64		nblocks;
	bool		indexes_clean;
	bool		selected;		/* vacuum.c: its index entries go now */
} ColumnarFreeExtent;

/* handler.c */
extern void TamInit(void);
extern Oid	ColumnarAmOid(void);
extern bool ColumnarIsColumnarRelid(Oid relid);

/* storage.c: metapage and row-group pages */
extern uint64 ColumnarStorageId(Relation rel, bool create);
extern uint64 ColumnarReserveRows(Relation rel, uint64 count, uint64 expect_start);
extern int64 ColumnarNextRowGroup(Relation rel);
extern uint64 ColumnarWriteData(Relation rel, const char *data, uint64 len);
extern void ColumnarWriteDataAt(Relation rel, BlockNumber first,
								const char *data, uint64 len);
extern void ColumnarReadData(Relation rel, uint64 first_block, uint64 offset,
							 char *dst, uint64 len, int64 row_group,
							 const char *attname);
extern void ColumnarForgetStorageIdCache(Relation rel);

/* metadata.c: the heap tables of schema fluss_grid */
extern void ColumnarGetOptions(Oid relid, ColumnarOptions *options);
extern void ColumnarSetOptions(Oid relid, int level, int row_group_rows);
extern void ColumnarDeleteOptions(Oid relid);
extern void ColumnarInsertRowGroup(ColumnarRowGroup *rg);
extern List *ColumnarReadRowGroups(uint64 storage_id, Snapshot snapshot,
								   int natts);
extern ColumnarRowGroup *ColumnarFindRowGroup(uint64 storage_id, uint64 rownum,
											  Snapshot snapshot, int natts);
extern void ColumnarDeleteStorageMetadata(uint64 storage_id);
extern void ColumnarForgetMinMax(uint64 storage_id, AttrNumber attnum);
extern bool *ColumnarReadDeletions(uint64 storage_id, uint64 first_row,
								   int32 nrows, Snapshot snapshot);
extern bool ColumnarRowDeleted(uint64 storage_id, uint64 rownum,
							   Snapshot snapshot);
extern TM_Result ColumnarDeleteRow(Relation rel, uint64 storage_id,
								   uint64 rownum, CommandId cid,
								   Snapshot snapshot, bool wait,
								   TM_FailureData *tmfd, bool is_update);
extern TM_Result ColumnarCheckRow(Relation rel, uint64 storage_id,
								  uint64 rownum, bool wait,
								  TM_FailureData *tmfd, bool insert,
								  bool is_update);
extern double ColumnarCountRows(uint64 storage_id, Snapshot snapshot);
extern ItemPointerData ColumnarInsertReservation(uint64 storage_id,
												 uint64 first_row,
												 uint64 count);
extern void ColumnarDeleteReservations(List *tids);
extern TransactionId ColumnarReservationXid(uint64 storage_id, uint64 rownum);
extern ColumnarRowGroup *ColumnarFindRowGroupDirty(uint64 storage_id,
												   uint64 rownum, int natts,
												   TransactionId *xmin);
extern bool ColumnarRowDeletedDirty(uint64 storage_id, uint64 rownum,
									TransactionId *xmax);
extern int64 ColumnarRecentlyDeleted(uint64 storage_id, Snapshot snapshot,
									 TransactionId oldest_xmin,
									 uint64 **rownums);

extern void ColumnarSupersedeRowGroup(ColumnarRowGroup *rg, Snapshot snapshot);
extern bool ColumnarRowGroupSuperseded(uint64 storage_id, uint64 rownum);
extern bool ColumnarClaimFreeExtent(uint64 storage_id, uint64 nblocks,
									uint64 limit, uint64 *first_block);
extern void ColumnarMoveRowGroup(ColumnarRowGroup *rg, uint64 new_first_block,
								 Snapshot snapshot);
extern int	ColumnarCoalesceExtents(uint64 storage_id);
extern List *ColumnarFreeExtents(uint64 storage_id, Snapshot snapshot,
								 bool dead_to_all, TransactionId horizon);
extern void ColumnarMarkExtentClean(ColumnarFreeExtent *e, Snapshot snapshot);
extern void ColumnarDeleteExtent(ColumnarFreeExtent *e, Snapshot snapshot);
extern void ColumnarForgetExtentPages(ColumnarFreeExtent *e,
									  Snapshot snapshot);
extern uint64 ColumnarUsedBlocks(uint64 storage_id);
extern bool ColumnarRowGroupRowGone(uint64 storage_id, uint64 first_row,
									uint64 first_block, TransactionId horizon);
extern List *ColumnarSupersededRowGroups(uint64 storage_id,
										 TransactionId oldest_xmin, int natts);

/* vacuum.c: VACUUM without FULL */
extern void ColumnarVacuum(Relation rel, struct VacuumParams *params,
						   BufferAccessStrategy bstrategy);

/* compression.c: one column of one row group <-> bytes */
extern char *ColumnarEncodeChunk(Form_pg_attribute att, Datum *values,
								 bool *isnull, int32 nrows, int level,
								 ColumnarChunk *chunk);
/*
 * A buffer kept from one chunk to the next (by a scan), so that reading a
 * row group does not allocate, and fault in, megabytes anew.
 */
typedef struct ColumnarScratch
{
	MemoryContext cxt;			/* where data is allocated */
	char	   *data;
	Size		size;
} ColumnarScratch;

extern char *ColumnarScratchGet(ColumnarScratch *scratch, Size size);
extern void ColumnarDecodeChunk(Relation rel, Form_pg_attribute att,
								const char *stored, ColumnarChunk *chunk,
								int32 nrows, int64 row_group,
								const bool *wanted,
								Datum *values, bool *isnull,
								ColumnarScratch *scratch);
extern uint32 ColumnarChecksum(const char *data, uint64 len);
extern void ColumnarChunkMinMax(Form_pg_attribute att, Datum *values,
								bool *isnull, int32 nrows,
								ColumnarChunk *chunk);

/* writer.c: write buffers, flushing, transaction callbacks */
extern void ColumnarWriterInit(void);
extern void ColumnarInsert(Relation rel, TupleTableSlot *slot, CommandId cid,
						   int32 coming);
extern void ColumnarFlushRelation(Relation rel, bool all_subxacts);
extern void ColumnarDiscardStorage(uint64 storage_id);
extern ColumnarWriteBuffer *ColumnarPendingBuffers(void);
extern void ColumnarBufferRow(ColumnarWriteBuffer *buf, TupleDesc desc,
							  int32 row, Datum *values, bool *isnull);
extern List *ColumnarFlushedRowGroups(uint64 storage_id);
extern bool ColumnarTransactionWrote(void);
extern void ColumnarSetPendingOptions(Relation rel, const ColumnarOptions *o);

/* reader.c: scans and fetches */
extern TableScanDesc ColumnarBeginScan(Relation rel, Snapshot snapshot,
									   int nkeys, struct ScanKeyData *key,
									   ParallelTableScanDesc pscan,
									   uint32 flags);
extern void ColumnarEndScan(TableScanDesc scan);
extern void ColumnarRescan(TableScanDesc scan, struct ScanKeyData *key,
						   bool set_params, bool allow_strat,
						   bool allow_sync, bool allow_pagemode);
extern bool ColumnarGetNextSlot(TableScanDesc scan, ScanDirection direction,
								TupleTableSlot *slot);
extern bool ColumnarFetchRow(Relation rel, ItemPointer tid, Snapshot snapshot,
							 TupleTableSlot *slot);
extern ColumnarBatch *ColumnarLoadRowGroup(Relation rel, TupleDesc desc,
										   ColumnarRowGroup *rg,
										   Bitmapset *attrs,
										   MemoryContext cxt);
/* whether a scan must read row group rg (false: no row of it can match) */
typedef bool (*ColumnarRowGroupFilter) (ColumnarRowGroup *rg, void *arg);
extern void ColumnarScanSetProjection(TableScanDesc scan, Bitmapset *attrs,
									  ColumnarRowGroupFilter filter,
									  void *filter_arg);
extern void ColumnarScanSetShared(TableScanDesc scan, pg_atomic_uint64 *next,
								  bool with_tail);
extern int64 ColumnarScanSkippedRowGroups(TableScanDesc scan);

/*
 * A qual "column op value" of the scan's quals (op a btree comparison of
 * the column type's default operator family, value not NULL), which a
 * scan may apply to the decoded values of a row group before any row is
 * formed: a row failing it fails the quals, which still run on every row
 * returned.  cmp is the family's order proc (column type, value type).
 */
typedef struct ColumnarRowQual
{
	AttrNumber	attno;
	int			strategy;		/* BTLessStrategyNumber ... */
	Oid			collation;
	FmgrInfo   *cmp;
	Datum		value;
} ColumnarRowQual;

extern void ColumnarScanSetRowQuals(TableScanDesc scan,
									const ColumnarRowQual *quals, int nquals);
extern int64 ColumnarScanEmptyRowGroups(TableScanDesc scan);
extern void ColumnarResetFetchCache(void);

/* reader.c: fetches for index scans, index builds, bitmap scans */
typedef struct ColumnarIndexFetchData *ColumnarIndexFetch;
typedef void (*ColumnarBuildRowCallback) (Relation rel, TupleTableSlot *slot,
										  bool alive, void *arg);
extern ColumnarIndexFetch ColumnarIndexFetchBegin(Relation rel);
extern void ColumnarIndexFetchReset(ColumnarIndexFetch fetch);
extern void ColumnarIndexFetchEnd(ColumnarIndexFetch fetch);
extern bool ColumnarIndexFetchRow(ColumnarIndexFetch fetch, ItemPointer tid,
								  Snapshot snapshot, TupleTableSlot *slot);
extern double ColumnarIndexBuildScan(Relation rel, Snapshot snapshot,
									 TransactionId oldest_xmin,
									 TupleTableSlot *slot,
									 ColumnarBuildRowCallback callback,
									 void *arg);
extern bool ColumnarBitmapNextBlock(TableScanDesc scan,
									struct TBMIterateResult *tbmres);
extern bool ColumnarBitmapNextTuple(TableScanDesc scan,
									struct TBMIterateResult *tbmres,
									TupleTableSlot *slot);

/* customscan.c: projection and row-group skipping */
extern bool fluss_grid_columnar_customscan;
extern void ColumnarCustomScanInit(void);
extern bool ColumnarIsParallelScan(Plan *plan);

static inline void
ColumnarRowNumberToTid(uint64 rownum, ItemPointer tid)
{
	ItemPointerSetBlockNumber(tid,
							  (BlockNumber) (rownum / COLUMNAR_ROWS_PER_BLOCK));
	ItemPointerSetOffsetNumber(tid,
							   (OffsetNumber) (rownum % COLUMNAR_ROWS_PER_BLOCK + 1));
}

static inline uint64
ColumnarTidToRowNumber(ItemPointer tid)
{
	return (uint64) ItemPointerGetBlockNumberNoCheck(tid) * COLUMNAR_ROWS_PER_BLOCK +
		ItemPointerGetOffsetNumberNoCheck(tid) - 1;
}

#endif							/* FLUSS_COLUMNAR_H */
