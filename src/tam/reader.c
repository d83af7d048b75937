/*-------------------------------------------------------------------------
 *
 * reader.c
 *	  Sequential scans and fetches by TID of fluss_columnar relations.
 *
 *	  A scan reads, in row-number order, the row groups its snapshot sees
 *	  (the metadata rows are MVCC), then what this backend's own
 *	  transaction wrote that the metadata does not show to the snapshot:
 *	  row groups flushed with a later command id (filtered per row by the
 *	  rows' own command ids) and the rows still in write buffers (copied
 *	  when the scan reaches them, so later inserts and flushes cannot
 *	  disturb it).  Deleted rows are those whose deletion records the
 *	  snapshot sees, loaded once per row group.
 *
 *	  One row group is decoded at a time, into arrays and buffers the scan
 *	  keeps from one row group to the next (see ColumnarKeep), the rest in
 *	  a memory context reset between row groups: every column, or only
 *	  those a projection set by the custom scan (customscan.c) names,
 *	  whose filter may also skip row groups before they are read.
 *	  Fetching by TID decodes the row group of the row and keeps it (one
 *	  per backend) for the next fetch; index fetches (index and bitmap
 *	  scans, unique checks) keep one per scan, with its deletions for the
 *	  scan's snapshot.  Index builds read the rows a snapshot sees, then
 *	  the recently deleted ones.
 *
 * IDENTIFICATION
 *	  src/tam/reader.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/relscan.h"
#include "access/stratnum.h"
#include "access/xact.h"
#include "executor/tuptable.h"
#include "nodes/tidbitmap.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/predicate.h"
#include "utils/datum.h"
#include "utils/float.h"
#include "utils/fmgroids.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "tam/columnar.h"

/*
 * What a sequential scan keeps from one row group to the next, in its
 * memory context: per column the values and null flags arrays, and the
 * buffers a chunk is read and decompressed into.  A row group's arrays
 * are megabytes; allocated anew for each, glibc gave them back to the
 * kernel at every reset, and the page faults of the next cost about as
 * much as decoding (8 % of the GROUP BY of figure 3).
 */
typedef struct ColumnarKeep
{
	MemoryContext cxt;
	int			natts;
	int32		rows;			/* capacity of the arrays */
	Datum	  **values;			/* [att], NULL: not allocated */
	bool	  **isnull;
	ColumnarScratch stored;
	ColumnarScratch raw;
} ColumnarKeep;

typedef struct ColumnarScanDescData
{
	TableScanDescData base;
	MemoryContext scan_cxt;
	MemoryContext batch_cxt;
	uint64		storage_id;
	List	   *row_groups;		/* of ColumnarRowGroup, from the metadata */
	int			next_rg;		/* index into row_groups */
	bool		tail_done;		/* own row groups and buffers queued */
	List	   *tail;			/* of ColumnarBatch / ColumnarRowGroup */
	ColumnarBatch *batch;
	int32		pos;
	TupleDesc	desc;			/* of the slot rows are returned in */
	ColumnarIndexFetch bitmap_fetch;	/* bitmap scans: their fetches */
	int			bitmap_pos;		/* next offset of the bitmap's block */
	Bitmapset  *attrs;			/* attnums to decode; NULL: all */
	ColumnarRowGroupFilter filter;	/* NULL: read every row group */
	void	   *filter_arg;
	int64		skipped;		/* row groups the filter skipped */
	pg_atomic_uint64 *shared_next;	/* parallel: next index to claim */
	bool		no_tail;		/* parallel worker: row groups only */
	int			nquals;			/* row quals (late materialisation) */
	ColumnarRowQual *quals;
	Bitmapset  *qual_attrs;		/* their attnums, decoded first */
	int64		empty;			/* row groups no row of which passed them */
	ColumnarKeep keep;			/* decoding buffers kept between row groups */
	int			ndecoded;		/* columns of batch decoded, and: */
	int		   *decoded;		/* their indexes, then the others' */
} ColumnarScanDescData;

typedef ColumnarScanDescData *ColumnarScanDesc;

/* tail entries: a row group of our own (filtered by command id) or rows */
typedef struct TailItem
{
	ColumnarRowGroup *rg;		/* or NULL */
	ColumnarBatch *rows;		/* copied buffer rows */
} TailItem;

static MemoryContext fetch_cxt = NULL;
static ColumnarBatch *fetch_batch = NULL;
static uint64 fetch_storage = 0;
static int64 fetch_first_row = -1;

static bool own_row_visible(Snapshot snapshot, CommandId cid);
static ColumnarBatch *buffer_batch(ColumnarScanDesc scan, ColumnarWriteBuffer *buf);
static void build_tail(ColumnarScanDesc scan);
static void apply_visibility(ColumnarScanDesc scan, ColumnarBatch *batch,
							 ColumnarRowGroup *own);
static void load_columns(Relation rel, TupleDesc desc, ColumnarRowGroup *rg,
						 Bitmapset *attrs, const bool *wanted,
						 ColumnarBatch *batch, ColumnarKeep *keep);
static ColumnarBatch *new_batch(Relation rel, TupleDesc desc,
							   ColumnarRowGroup *rg);
static ColumnarBatch *load_row_group(ColumnarScanDesc scan,
									 ColumnarRowGroup *rg,
									 ColumnarRowGroup *own);
static int32 apply_row_quals(ColumnarScanDesc scan, ColumnarBatch *batch);

/* whether a row this transaction wrote with cid is visible to snapshot */
static bool
own_row_visible(Snapshot snapshot, CommandId cid)
{
	if (snapshot == NULL || !IsMVCCSnapshot(snapshot))
		return true;
	return cid < snapshot->curcid;
}

/*
 * ColumnarLoadRowGroup
 *		Read and decode the columns of rg in cxt, as desc describes them:
 *		the descriptor of the slot, which during an ALTER TABLE rewrite is
 *		the old one while the relation's already shows the new types.
 *		attrs names the attnums to decode (NULL: all); the others are left
 *		unread, their values and isnull arrays NULL (read as NULLs).
 */
ColumnarBatch *
ColumnarLoadRowGroup(Relation rel, TupleDesc desc, ColumnarRowGroup *rg,
					 Bitmapset *attrs, MemoryContext cxt)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);
	ColumnarBatch *batch = new_batch(rel, desc, rg);

	load_columns(rel, desc, rg, attrs, NULL, batch, NULL);
	MemoryContextSwitchTo(old);
	return batch;
}

/* an empty batch for rg, in the current memory context */
static ColumnarBatch *
new_batch(Relation rel, TupleDesc desc, ColumnarRowGroup *rg)
{
	ColumnarBatch *batch = palloc0(sizeof(ColumnarBatch));

	batch->first_row = rg->first_row;
	batch->nrows = rg->row_count;
	batch->natts = desc->natts;
	batch->values = palloc0(sizeof(Datum *) * Max(desc->natts, 1));
	batch->isnull = palloc0(sizeof(bool *) * Max(desc->natts, 1));
	if (rg->row_count <= 0 || rg->row_count > COLUMNAR_MAX_ROW_GROUP_ROWS)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("corrupted metadata of row group %lld of relation \"%s\"",
						(long long) rg->row_group, RelationGetRelationName(rel)),
				 errdetail("Row count %d is impossible.", rg->row_count)));
	return batch;
}

/*
 * keep_arrays
 *		The values and null flags arrays of column i kept by keep, for
 *		rows rows: allocated at the first use, and again (for all columns)
 *		when a row group has more rows than the arrays hold.
 */
static void
keep_arrays(ColumnarKeep *keep, int natts, int i, int32 rows,
			Datum **values, bool **isnull)
{
	if (keep->values == NULL || keep->natts != natts || keep->rows < rows)
	{
		MemoryContextReset(keep->cxt);
		keep->stored.data = keep->raw.data = NULL;
		keep->stored.size = keep->raw.size = 0;
		keep->natts = natts;
		keep->rows = rows;
		keep->values = MemoryContextAllocZero(keep->cxt,
											  sizeof(Datum *) * Max(natts, 1));
		keep->isnull = MemoryContextAllocZero(keep->cxt,
											  sizeof(bool *) * Max(natts, 1));
	}
	if (keep->values[i] == NULL)
	{
		keep->values[i] = MemoryContextAllocHuge(keep->cxt,
												 sizeof(Datum) * keep->rows);
		keep->isnull[i] = MemoryContextAllocHuge(keep->cxt,
												 sizeof(bool) * keep->rows);
	}
	*values = keep->values[i];
	*isnull = keep->isnull[i];
}

/*
 * load_columns
 *		Decode into batch (allocated in the current memory context) the
 *		columns of rg in attrs (NULL: all) that it does not hold yet; only
 *		the rows in wanted (NULL: all) need correct values.  With keep,
 *		its arrays and buffers are used, overwriting those of the row
 *		group before (which nothing may look at any more).
 */
static void
load_columns(Relation rel, TupleDesc desc, ColumnarRowGroup *rg,
			 Bitmapset *attrs, const bool *wanted, ColumnarBatch *batch,
			 ColumnarKeep *keep)
{
	int			i;

	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		Datum	   *values;
		bool	   *isnull;
		ColumnarChunk *c = i < rg->natts ? &rg->chunks[i] : NULL;

		if ((attrs != NULL && !bms_is_member(i + 1, attrs)) ||
			batch->values[i] != NULL)
			continue;
		if (keep)
			keep_arrays(keep, desc->natts, i, rg->row_count, &values, &isnull);
		else
		{
			values = palloc_extended(sizeof(Datum) * rg->row_count,
									 MCXT_ALLOC_HUGE);
			isnull = palloc_extended(sizeof(bool) * rg->row_count,
									 MCXT_ALLOC_HUGE);
		}

		batch->values[i] = values;
		batch->isnull[i] = isnull;
		if (att->attisdropped || c == NULL || !c->present)
		{
			/* dropped, or added after this row group was written */
			bool		missing_null = true;
			Datum		missing = (Datum) 0;
			int32		r;

			if (!att->attisdropped && att->atthasmissing)
				missing = getmissingattr(desc, i + 1, &missing_null);
			for (r = 0; r < rg->row_count; r++)
			{
				values[r] = missing;
				isnull[r] = missing_null;
			}
			continue;
		}
		else
		{
			char	   *stored;

			if (c->offset > rg->data_length ||
				c->length > rg->data_length - c->offset)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_CORRUPTED),
						 errmsg("corrupted data in row group %lld, column \"%s\" of relation \"%s\"",
								(long long) rg->row_group, NameStr(att->attname),
								RelationGetRelationName(rel)),
						 errdetail("Chunk lies outside the row group's data.")));
			if (keep)
				stored = ColumnarScratchGet(&keep->stored, c->length + 1);
			else
				stored = palloc_extended(c->length + 1, MCXT_ALLOC_HUGE);
			ColumnarReadData(rel, rg->first_block, c->offset, stored, c->length,
							 rg->row_group, NameStr(att->attname));
			ColumnarDecodeChunk(rel, att, stored, c, rg->row_count,
								rg->row_group, wanted, values, isnull,
								keep ? &keep->raw : NULL);
			if (!keep)
				pfree(stored);
		}
	}
}

/* hide rows deleted for the scan's snapshot, and own rows by command id */
static void
apply_visibility(ColumnarScanDesc scan, ColumnarBatch *batch,
				 ColumnarRowGroup *own)
{
	Snapshot	snapshot = scan->base.rs_snapshot;
	bool	   *deleted = NULL;
	int32		r;

	if (batch->rownums == NULL && snapshot != SnapshotAny)
		deleted = ColumnarReadDeletions(scan->storage_id, batch->first_row,
										batch->nrows, snapshot);
	if (batch->rownums && snapshot != SnapshotAny)
	{
		/* buffered rows: one lookup over their range */
		uint64		lo = batch->rownums[0];
		uint64		hi = batch->rownums[batch->nrows - 1];
		bool	   *d = ColumnarReadDeletions(scan->storage_id, lo,
											  (int32) (hi - lo + 1), snapshot);

		if (d)
		{
			deleted = palloc0(sizeof(bool) * batch->nrows);
			for (r = 0; r < batch->nrows; r++)
				deleted[r] = d[batch->rownums[r] - lo];
		}
	}
	if (deleted == NULL && own == NULL)
		return;
	batch->visible = palloc(sizeof(bool) * batch->nrows);
	for (r = 0; r < batch->nrows; r++)
		batch->visible[r] = !(deleted && deleted[r]) &&
			(own == NULL || own_row_visible(snapshot, ColumnarRowGroupCid(own, r)));
}

/* cmp's result satisfies a comparison of the given btree strategy */
static inline bool
strategy_holds(int strategy, int32 cmp)
{
	switch (strategy)
	{
		case BTLessStrategyNumber:
			return cmp < 0;
		case BTLessEqualStrategyNumber:
			return cmp <= 0;
		case BTEqualStrategyNumber:
			return cmp == 0;
		case BTGreaterEqualStrategyNumber:
			return cmp >= 0;
		case BTGreaterStrategyNumber:
			return cmp > 0;
	}
	return true;
}

/*
 * apply_row_quals
 *		Hide the rows of batch that fail one of the scan's row quals (NULLs
 *		fail them all: the operators are strict), comparing the decoded
 *		values with the family's order proc, inline for the order procs of
 *		integers, dates, timestamps and floats (the same comparisons, NaN
 *		greatest).  Returns the rows still visible.  Quals whose column is
 *		not decoded are not applied.
 */
static int32
apply_row_quals(ColumnarScanDesc scan, ColumnarBatch *batch)
{
	bool		ok[3];			/* by comparison result + 1 */
	int32		nrows = batch->nrows;
	bool	   *vis = batch->visible;
	int32		left = 0;
	int32		r;
	int			k;

	if (vis == NULL)
	{
		vis = palloc(sizeof(bool) * nrows);
		memset(vis, true, sizeof(bool) * nrows);
		batch->visible = vis;
	}
	for (k = 0; k < scan->nquals; k++)
	{
		ColumnarRowQual *q = &scan->quals[k];
		Datum	   *values;
		bool	   *isnull;
		int			st = q->strategy;

		if (q->attno < 1 || q->attno > batch->natts ||
			batch->values[q->attno - 1] == NULL)
			continue;
		values = batch->values[q->attno - 1];
		isnull = batch->isnull[q->attno - 1];
		ok[0] = strategy_holds(st, -1);
		ok[1] = strategy_holds(st, 0);
		ok[2] = strategy_holds(st, 1);

		switch (q->cmp->fn_oid)
		{
			case F_BTINT8CMP:
			case F_TIMESTAMP_CMP:
			case F_TIMESTAMPTZ_CMP:
				{
					int64		v = DatumGetInt64(q->value);

					/* no branch a row (a NULL's value is read, not used) */
					for (r = 0; r < nrows; r++)
					{
						int64		x = DatumGetInt64(values[r]);

						vis[r] = vis[r] & !isnull[r] & ok[(x > v) - (x < v) + 1];
					}
				}
				break;
			case F_BTINT4CMP:
			case F_DATE_CMP:
				{
					int32		v = DatumGetInt32(q->value);

					/* no branch a row (a NULL's value is read, not used) */
					for (r = 0; r < nrows; r++)
					{
						int32		x = DatumGetInt32(values[r]);

						vis[r] = vis[r] & !isnull[r] & ok[(x > v) - (x < v) + 1];
					}
				}
				break;
			case F_BTFLOAT8CMP:
				{
					float8		v = DatumGetFloat8(q->value);

					for (r = 0; r < nrows; r++)
						if (vis[r])
							vis[r] = !isnull[r] &&
								strategy_holds(st,
											   float8_cmp_internal(DatumGetFloat8(values[r]), v));
				}
				break;
			default:
				for (r = 0; r < nrows; r++)
					if (vis[r])
						vis[r] = !isnull[r] &&
							strategy_holds(st,
										   DatumGetInt32(FunctionCall2Coll(q->cmp,
																		   q->collation,
																		   values[r],
																		   q->value)));
				break;
		}
	}
	for (r = 0; r < nrows; r++)
		left += vis[r];
	return left;
}

/*
 * load_row_group
 *		Decode rg for the scan (own: this transaction wrote it) in the
 *		batch context, with the visibility of its rows.  With row quals,
 *		their columns first: if no visible row passes them, the row group
 *		is counted empty and NULL returned without decoding the others.
 */
static ColumnarBatch *
load_row_group(ColumnarScanDesc scan, ColumnarRowGroup *rg,
			   ColumnarRowGroup *own)
{
	Relation	rel = scan->base.rs_rd;
	ColumnarBatch *batch;
	MemoryContext old = MemoryContextSwitchTo(scan->batch_cxt);

	batch = new_batch(rel, scan->desc, rg);
	if (scan->nquals == 0)
	{
		load_columns(rel, scan->desc, rg, scan->attrs, NULL, batch,
					 &scan->keep);
		apply_visibility(scan, batch, own);
		MemoryContextSwitchTo(old);
		return batch;
	}
	load_columns(rel, scan->desc, rg, scan->qual_attrs, NULL, batch,
				 &scan->keep);
	apply_visibility(scan, batch, own);
	if (apply_row_quals(scan, batch) == 0)
	{
		MemoryContextSwitchTo(old);
		MemoryContextReset(scan->batch_cxt);
		scan->empty++;
		return NULL;
	}
	/* the rows hidden now are never looked at: their values may be left */
	load_columns(rel, scan->desc, rg, scan->attrs, batch->visible, batch,
				 &scan->keep);
	MemoryContextSwitchTo(old);
	return batch;
}

/* the rows of buf visible to the scan, copied into the batch context */
static ColumnarBatch *
buffer_batch(ColumnarScanDesc scan, ColumnarWriteBuffer *buf)
{
	TupleDesc	desc = scan->desc;
	ColumnarBatch *batch;
	Datum	   *v;
	bool	   *nl;
	int32		n = 0;
	int32		r;
	int			i;
	MemoryContext old = MemoryContextSwitchTo(scan->scan_cxt);

	for (r = 0; r < buf->nrows; r++)
		if (own_row_visible(scan->base.rs_snapshot, buf->cids[r]))
			n++;
	if (n == 0)
	{
		MemoryContextSwitchTo(old);
		return NULL;
	}
	batch = palloc0(sizeof(ColumnarBatch));
	batch->first_row = buf->first_row;
	batch->nrows = n;
	batch->natts = desc->natts;
	batch->rownums = palloc_extended(sizeof(uint64) * n, MCXT_ALLOC_HUGE);
	batch->values = palloc(sizeof(Datum *) * Max(desc->natts, 1));
	batch->isnull = palloc(sizeof(bool *) * Max(desc->natts, 1));
	for (i = 0; i < desc->natts; i++)
	{
		batch->values[i] = palloc_extended(sizeof(Datum) * n, MCXT_ALLOC_HUGE);
		batch->isnull[i] = palloc_extended(sizeof(bool) * n, MCXT_ALLOC_HUGE);
	}
	v = palloc(sizeof(Datum) * Max(desc->natts, 1));
	nl = palloc(sizeof(bool) * Max(desc->natts, 1));
	n = 0;
	for (r = 0; r < buf->nrows; r++)
	{
		if (!own_row_visible(scan->base.rs_snapshot, buf->cids[r]))
			continue;
		ColumnarBufferRow(buf, desc, r, v, nl);
		for (i = 0; i < desc->natts; i++)
		{
			Form_pg_attribute att = TupleDescAttr(desc, i);

			/* copied: the buffer may be flushed while the scan runs */
			batch->values[i][n] = nl[i] || att->attbyval ? v[i] :
				datumCopy(v[i], false, att->attlen);
			batch->isnull[i][n] = nl[i];
		}
		batch->rownums[n] = buf->first_row + r;
		n++;
	}
	pfree(v);
	pfree(nl);
	MemoryContextSwitchTo(old);
	return batch;
}

/*
 * build_tail
 *		Queue what this transaction wrote that the metadata snapshot did
 *		not show: its own row groups missing from the list, then copies of
 *		its buffered rows.  Done in one go, so that a row is either in a
 *		flushed row group or in a buffer, never both or neither.
 */
static void
build_tail(ColumnarScanDesc scan)
{
	List	   *own = ColumnarFlushedRowGroups(scan->storage_id);
	ListCell   *lc;
	ColumnarWriteBuffer *buf;
	MemoryContext old;

	scan->tail_done = true;
	old = MemoryContextSwitchTo(scan->scan_cxt);
	foreach(lc, own)
	{
		ColumnarRowGroup *rg = lfirst(lc);
		ListCell   *lc2;
		bool		listed = false;

		foreach(lc2, scan->row_groups)
			if (((ColumnarRowGroup *) lfirst(lc2))->first_row == rg->first_row)
				listed = true;
		if (!listed)
		{
			TailItem   *t = palloc0(sizeof(TailItem));

			t->rg = rg;
			scan->tail = lappend(scan->tail, t);
		}
	}
	MemoryContextSwitchTo(old);

	/* oldest buffers first */
	for (buf = ColumnarPendingBuffers(); buf; buf = buf->next)
	{
		if (buf->storage_id == scan->storage_id && buf->nrows > 0)
		{
			ColumnarBatch *b = buffer_batch(scan, buf);

			if (b)
			{
				TailItem   *t;

				old = MemoryContextSwitchTo(scan->scan_cxt);
				t = palloc0(sizeof(TailItem));
				t->rows = b;
				scan->tail = lcons(t, scan->tail);
				MemoryContextSwitchTo(old);
			}
		}
	}
	/* row groups before buffers: move buffer items (at the head) back */
	if (scan->tail != NIL)
	{
		List	   *rgs = NIL;
		List	   *rows = NIL;

		old = MemoryContextSwitchTo(scan->scan_cxt);
		foreach(lc, scan->tail)
		{
			TailItem   *t = lfirst(lc);

			if (t->rg)
				rgs = lappend(rgs, t);
			else
				rows = lappend(rows, t);
		}
		scan->tail = list_concat(rgs, rows);
		MemoryContextSwitchTo(old);
	}
}

TableScanDesc
ColumnarBeginScan(Relation rel, Snapshot snapshot, int nkeys,
				  struct ScanKeyData *key, ParallelTableScanDesc pscan,
				  uint32 flags)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext,
											  "fluss_columnar scan",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	ColumnarScanDesc scan = palloc0(sizeof(ColumnarScanDescData));

	if (pscan != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("parallel scans are not supported by access method \"%s\"",
						COLUMNAR_AM_NAME)));

	if (snapshot == NULL)
	{
		/* ANALYZE: the rows visible now */
		snapshot = RegisterSnapshot(GetLatestSnapshot());
		flags |= SO_TEMP_SNAPSHOT;
	}
	scan->base.rs_rd = rel;
	scan->base.rs_snapshot = snapshot;
	scan->base.rs_nkeys = nkeys;
	scan->base.rs_key = key;
	scan->base.rs_flags = flags;
	scan->base.rs_parallel = NULL;
	scan->scan_cxt = cxt;
	scan->batch_cxt = AllocSetContextCreate(cxt, "fluss_columnar row group",
											ALLOCSET_DEFAULT_SIZES);
	scan->keep.cxt = AllocSetContextCreate(cxt, "fluss_columnar decoding buffers",
										   ALLOCSET_DEFAULT_SIZES);
	scan->keep.stored.cxt = scan->keep.raw.cxt = scan->keep.cxt;
	scan->storage_id = ColumnarStorageId(rel, false);
	/* a bitmap scan fetches its rows by TID */
	if (scan->storage_id != 0 && !(flags & SO_TYPE_BITMAPSCAN))
		scan->row_groups = ColumnarReadRowGroups(scan->storage_id, snapshot,
												 RelationGetDescr(rel)->natts);
	if (IsMVCCSnapshot(snapshot))
		PredicateLockRelation(rel, snapshot);
	MemoryContextSwitchTo(old);
	return (TableScanDesc) scan;
}

/*
 * ColumnarScanSetProjection
 *		Decode only the attnums in attrs (NULL: all) and skip the row
 *		groups for which filter returns false.  Set before the first row
 *		is read; attrs is copied into the scan's context.
 */
void
ColumnarScanSetProjection(TableScanDesc sscan, Bitmapset *attrs,
						  ColumnarRowGroupFilter filter, void *filter_arg)
{
	ColumnarScanDesc scan = (ColumnarScanDesc) sscan;
	MemoryContext old = MemoryContextSwitchTo(scan->scan_cxt);

	scan->attrs = bms_copy(attrs);
	scan->filter = filter;
	scan->filter_arg = filter_arg;
	MemoryContextSwitchTo(old);
}

/*
 * ColumnarScanSetShared
 *		Make the scan one participant of a parallel scan: the row groups
 *		of its list (the same list in every participant: the same
 *		snapshot, row-number order) are claimed by index through *next,
 *		shared by the participants.  A participant without tail reads
 *		none of the rows only this backend's transaction can see (its
 *		own row groups the metadata does not show, its write buffers):
 *		workers, which have none anyway.  Set before the first row.
 */
void
ColumnarScanSetShared(TableScanDesc sscan, pg_atomic_uint64 *next,
					  bool with_tail)
{
	ColumnarScanDesc scan = (ColumnarScanDesc) sscan;

	scan->shared_next = next;
	scan->no_tail = !with_tail;
	scan->tail_done = scan->no_tail;
}

/*
 * ColumnarScanSetRowQuals
 *		Apply quals to the decoded values of each row group (and of the
 *		buffered rows) before rows are formed, decoding their columns
 *		first and the others only for row groups where some row passed
 *		(late materialisation).  quals is copied; the FmgrInfos and the
 *		values must live as long as the scan.  Set before the first row is
 *		read, after the projection.
 */
void
ColumnarScanSetRowQuals(TableScanDesc sscan, const ColumnarRowQual *quals,
						int nquals)
{
	ColumnarScanDesc scan = (ColumnarScanDesc) sscan;
	MemoryContext old = MemoryContextSwitchTo(scan->scan_cxt);
	int			k;

	scan->nquals = 0;
	scan->quals = palloc(sizeof(ColumnarRowQual) * Max(nquals, 1));
	scan->qual_attrs = NULL;
	for (k = 0; k < nquals; k++)
	{
		/* only columns the scan decodes anyway */
		if (quals[k].attno < 1 ||
			(scan->attrs != NULL && !bms_is_member(quals[k].attno, scan->attrs)))
			continue;
		scan->quals[scan->nquals++] = quals[k];
		scan->qual_attrs = bms_add_member(scan->qual_attrs, quals[k].attno);
	}
	MemoryContextSwitchTo(old);
}

/* how many row groups were read but had no row passing the row quals */
int64
ColumnarScanEmptyRowGroups(TableScanDesc sscan)
{
	return ((ColumnarScanDesc) sscan)->empty;
}

/* how many row groups the scan's filter has skipped */
int64
ColumnarScanSkippedRowGroups(TableScanDesc sscan)
{
	return ((ColumnarScanDesc) sscan)->skipped;
}

void
ColumnarEndScan(TableScanDesc sscan)
{
	ColumnarScanDesc scan = (ColumnarScanDesc) sscan;

	if (sscan->rs_flags & SO_TEMP_SNAPSHOT)
		UnregisterSnapshot(sscan->rs_snapshot);
	MemoryContextDelete(scan->scan_cxt);
}

void
ColumnarRescan(TableScanDesc sscan, struct ScanKeyData *key, bool set_params,
			   bool allow_strat, bool allow_sync, bool allow_pagemode)
{
	ColumnarScanDesc scan = (ColumnarScanDesc) sscan;

	scan->next_rg = 0;
	scan->batch = NULL;
	scan->pos = 0;
	scan->tail = NIL;
	scan->tail_done = scan->no_tail;
	MemoryContextReset(scan->batch_cxt);
}

/*
 * list_decoded
 *		Into scan->decoded, the indexes of the columns b holds, then those
 *		of the others; their number in scan->ndecoded.
 */
static void
list_decoded(ColumnarScanDesc scan, ColumnarBatch *b)
{
	int			n = 0;
	int			i;

	if (scan->decoded == NULL)
		scan->decoded = MemoryContextAlloc(scan->scan_cxt,
										   sizeof(int) * Max(b->natts, 1));
	for (i = 0; i < b->natts; i++)
		if (b->values[i] != NULL)
			scan->decoded[n++] = i;
	scan->ndecoded = n;
	for (i = 0; i < b->natts; i++)
		if (b->values[i] == NULL)
			scan->decoded[n++] = i;
}

bool
ColumnarGetNextSlot(TableScanDesc sscan, ScanDirection direction,
					TupleTableSlot *slot)
{
	ColumnarScanDesc scan = (ColumnarScanDesc) sscan;
	Relation	rel = sscan->rs_rd;

	if (direction != ForwardScanDirection && direction != NoMovementScanDirection)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("backward scans are not supported by access method \"%s\"",
						COLUMNAR_AM_NAME)));
	ExecClearTuple(slot);
	if (scan->desc == NULL)
		scan->desc = slot->tts_tupleDescriptor;
	else if (scan->desc != slot->tts_tupleDescriptor &&
			 scan->desc->natts != slot->tts_tupleDescriptor->natts)
		elog(ERROR, "fluss_columnar scan called with slots of different row types");
	for (;;)
	{
		ColumnarBatch *b = scan->batch;

		CHECK_FOR_INTERRUPTS();
		if (b != NULL)
		{
			Datum	   *values = slot->tts_values;
			bool	   *isnull = slot->tts_isnull;
			int			ndecoded;
			int		   *decoded;

			if (scan->pos == 0)
				list_decoded(scan, b);
			ndecoded = scan->ndecoded;
			decoded = scan->decoded;
			while (scan->pos < b->nrows)
			{
				int32		r = scan->pos++;
				int			k;

				if (b->visible && !b->visible[r])
					continue;
				for (k = 0; k < ndecoded; k++)
				{
					int			i = decoded[k];

					values[i] = b->values[i][r];
					isnull[i] = b->isnull[i][r];
				}
				/* not decoded: the query does not use them */
				for (; k < b->natts; k++)
				{
					values[decoded[k]] = (Datum) 0;
					isnull[decoded[k]] = true;
				}
				ExecStoreVirtualTuple(slot);
				ColumnarRowNumberToTid(b->rownums ? b->rownums[r] : b->first_row + r,
									   &slot->tts_tid);
				slot->tts_tableOid = RelationGetRelid(rel);
				return true;
			}
			scan->batch = NULL;
		}

		/* next batch */
		MemoryContextReset(scan->batch_cxt);
		scan->pos = 0;
		if (scan->shared_next != NULL &&
			scan->next_rg < list_length(scan->row_groups))
		{
			/* parallel: the next row group no participant has claimed */
			uint64		claim = pg_atomic_fetch_add_u64(scan->shared_next, 1);

			scan->next_rg = (int) Min(claim, (uint64) list_length(scan->row_groups));
		}
		if (scan->next_rg < list_length(scan->row_groups))
		{
			ColumnarRowGroup *rg = list_nth(scan->row_groups, scan->next_rg++);

			if (scan->filter && !scan->filter(rg, scan->filter_arg))
			{
				scan->skipped++;
				continue;
			}
			scan->batch = load_row_group(scan, rg, NULL);
			continue;
		}
		if (scan->storage_id == 0)
			return false;
		if (!scan->tail_done)
			build_tail(scan);
		if (scan->tail != NIL)
		{
			TailItem   *t = linitial(scan->tail);
			MemoryContext old;

			scan->tail = list_delete_first(scan->tail);
			if (t->rg && scan->filter && !scan->filter(t->rg, scan->filter_arg))
			{
				scan->skipped++;
				continue;
			}
			if (t->rg)
				scan->batch = load_row_group(scan, t->rg, t->rg);
			else
			{
				scan->batch = t->rows;
				old = MemoryContextSwitchTo(scan->batch_cxt);
				apply_visibility(scan, scan->batch, NULL);
				if (scan->nquals > 0)
					apply_row_quals(scan, scan->batch);
				MemoryContextSwitchTo(old);
			}
			continue;
		}
		return false;
	}
}

/*
 * ColumnarResetFetchCache
 *		Forget the row group kept for fetches by TID.
 */
void
ColumnarResetFetchCache(void)
{
	if (fetch_cxt)
		MemoryContextReset(fetch_cxt);
	fetch_batch = NULL;
	fetch_storage = 0;
	fetch_first_row = -1;
}

/*
 * ColumnarFetchRow
 *		The row at tid if snapshot sees it, into slot.
 */
bool
ColumnarFetchRow(Relation rel, ItemPointer tid, Snapshot snapshot,
				 TupleTableSlot *slot)
{
	uint64		storage_id = ColumnarStorageId(rel, false);
	uint64		rownum;
	ColumnarWriteBuffer *buf;
	ColumnarRowGroup *rg = NULL;
	ListCell   *lc;
	int32		r;
	int			i;

	if (storage_id == 0 || !ItemPointerIsValid(tid) ||
		ItemPointerGetOffsetNumberNoCheck(tid) > COLUMNAR_ROWS_PER_BLOCK)
		return false;
	rownum = ColumnarTidToRowNumber(tid);

	/* still in a write buffer? */
	for (buf = ColumnarPendingBuffers(); buf; buf = buf->next)
	{
		if (buf->storage_id != storage_id || rownum < buf->first_row ||
			rownum >= buf->first_row + buf->nrows)
			continue;
		r = (int32) (rownum - buf->first_row);
		if (!own_row_visible(snapshot, buf->cids[r]))
			return false;
		if (snapshot != SnapshotAny &&
			ColumnarRowDeleted(storage_id, rownum, snapshot))
			return false;
		ExecClearTuple(slot);
		ColumnarBufferRow(buf, slot->tts_tupleDescriptor, r,
						  slot->tts_values, slot->tts_isnull);
		ExecStoreVirtualTuple(slot);
		/* the buffer may be flushed before the slot is used */
		ExecMaterializeSlot(slot);
		slot->tts_tid = *tid;
		slot->tts_tableOid = RelationGetRelid(rel);
		return true;
	}

	/* in a row group this transaction wrote? */
	foreach(lc, ColumnarFlushedRowGroups(storage_id))
	{
		ColumnarRowGroup *own = lfirst(lc);

		if (rownum >= own->first_row && rownum < own->first_row + own->row_count)
		{
			if (!own_row_visible(snapshot,
								 ColumnarRowGroupCid(own, (int32) (rownum - own->first_row))))
				return false;
			rg = own;
			break;
		}
	}
	if (rg == NULL)
	{
		rg = ColumnarFindRowGroup(storage_id, rownum, snapshot,
								  RelationGetDescr(rel)->natts);
		if (rg == NULL)
			return false;
	}
	if (snapshot != SnapshotAny &&
		ColumnarRowDeleted(storage_id, rownum, snapshot))
		return false;

	if (fetch_cxt == NULL)
		fetch_cxt = AllocSetContextCreate(TopMemoryContext,
										  "fluss_columnar fetch cache",
										  ALLOCSET_DEFAULT_SIZES);
	if (fetch_batch == NULL || fetch_storage != storage_id ||
		fetch_first_row != (int64) rg->first_row ||
		fetch_batch->natts != slot->tts_tupleDescriptor->natts)
	{
		ColumnarResetFetchCache();
		fetch_batch = ColumnarLoadRowGroup(rel, slot->tts_tupleDescriptor, rg,
										   NULL, fetch_cxt);
		fetch_storage = storage_id;
		fetch_first_row = (int64) rg->first_row;
	}
	r = (int32) (rownum - rg->first_row);
	ExecClearTuple(slot);
	for (i = 0; i < fetch_batch->natts; i++)
	{
		slot->tts_values[i] = fetch_batch->values[i][r];
		slot->tts_isnull[i] = fetch_batch->isnull[i][r];
	}
	ExecStoreVirtualTuple(slot);
	ExecMaterializeSlot(slot);
	slot->tts_tid = *tid;
	slot->tts_tableOid = RelationGetRelid(rel);
	return true;
}

/* ------------------------------------------------------------------------
 * Fetches for index scans
 *
 * An index scan (and a bitmap heap scan, and a unique check) fetches rows
 * by TID through a ColumnarIndexFetch, which keeps the row group of the
 * last row fetched: decoded, with which of its rows are deleted for the
 * snapshot of the last fetch.  An index scan by time, whose TIDs come in
 * runs from one row group, decodes each row group once per run.
 * ------------------------------------------------------------------------
 */
typedef struct ColumnarIndexFetchData
{
	IndexFetchTableData base;
	MemoryContext cxt;			/* the row group kept; reset between them */
	uint64		storage_id;		/* of the row group kept */
	ColumnarBatch *batch;		/* decoded row group, or NULL */
	ColumnarRowGroup *own;		/* when this transaction wrote it */
	/* visibility of the kept row group for one MVCC snapshot */
	Snapshot	vis_snapshot;	/* NULL: not known */
	CommandId	vis_curcid;
	bool		vis_rg;			/* the snapshot sees the row group */
	bool	   *vis_deleted;	/* [row]; NULL: none deleted */
} ColumnarIndexFetchData;

static bool fetch_dirty(ColumnarIndexFetch fetch, uint64 storage_id,
						uint64 rownum, ItemPointer tid, Snapshot snapshot,
						TupleTableSlot *slot);

ColumnarIndexFetch
ColumnarIndexFetchBegin(Relation rel)
{
	ColumnarIndexFetch fetch = palloc0(sizeof(ColumnarIndexFetchData));

	fetch->base.rel = rel;
	fetch->cxt = AllocSetContextCreate(CurrentMemoryContext,
									   "fluss_columnar index fetch",
									   ALLOCSET_DEFAULT_SIZES);
	return fetch;
}

void
ColumnarIndexFetchReset(ColumnarIndexFetch fetch)
{
	/* the snapshot may change at a rescan; the decoded rows do not */
	fetch->vis_snapshot = NULL;
}

void
ColumnarIndexFetchEnd(ColumnarIndexFetch fetch)
{
	MemoryContextDelete(fetch->cxt);
	pfree(fetch);
}

/* keep rg (decoded for desc) in fetch, decoding it unless already kept */
static void
keep_row_group(ColumnarIndexFetch fetch, Relation rel, TupleDesc desc,
			   uint64 storage_id, ColumnarRowGroup *rg, bool own)
{
	if (fetch->batch == NULL || fetch->storage_id != storage_id ||
		fetch->batch->first_row != rg->first_row ||
		fetch->batch->natts != desc->natts)
	{
		MemoryContextReset(fetch->cxt);
		fetch->batch = NULL;
		fetch->vis_snapshot = NULL;
		fetch->vis_deleted = NULL;
		elog(DEBUG1, "fluss_columnar index fetch decodes row group %lld of \"%s\"",
			 (long long) rg->row_group, RelationGetRelationName(rel));
		fetch->batch = ColumnarLoadRowGroup(rel, desc, rg, NULL, fetch->cxt);
		fetch->storage_id = storage_id;
	}
	/* own row groups live in TopTransactionContext, as long as the scan */
	fetch->own = own ? rg : NULL;
}

/* store row r of the kept row group in slot */
static void
store_kept_row(ColumnarIndexFetch fetch, int32 r, ItemPointer tid,
			   TupleTableSlot *slot)
{
	ColumnarBatch *b = fetch->batch;
	int			i;

	ExecClearTuple(slot);
	for (i = 0; i < b->natts; i++)
	{
		slot->tts_values[i] = b->values[i][r];
		slot->tts_isnull[i] = b->isnull[i][r];
	}
	ExecStoreVirtualTuple(slot);
	/* the kept row group goes at the next fetch: the slot needs a copy */
	ExecMaterializeSlot(slot);
	slot->tts_tid = *tid;
	slot->tts_tableOid = RelationGetRelid(fetch->base.rel);
}

/* the row group this transaction wrote holding rownum, or NULL */
static ColumnarRowGroup *
own_row_group(uint64 storage_id, uint64 rownum)
{
	ListCell   *lc;

	foreach(lc, ColumnarFlushedRowGroups(storage_id))
	{
		ColumnarRowGroup *own = lfirst(lc);

		if (rownum >= own->first_row && rownum < own->first_row + own->row_count)
			return own;
	}
	return NULL;
}

/* whether rownum is in one of this backend's write buffers */
static bool
in_write_buffer(uint64 storage_id, uint64 rownum)
{
	ColumnarWriteBuffer *buf;

	for (buf = ColumnarPendingBuffers(); buf; buf = buf->next)
		if (buf->storage_id == storage_id && rownum >= buf->first_row &&
			rownum < buf->first_row + buf->nrows)
			return true;
	return false;
}

/*
 * ColumnarIndexFetchRow
 *		The row at tid if snapshot sees it, into slot, through the row
 *		group fetch keeps.  With a dirty snapshot (unique checks), a row
 *		another transaction in progress inserted, or is deleting, is seen
 *		and that transaction's id set in the snapshot's xmin (or xmax), as
 *		heap does, so that the caller waits for it.
 */
bool
ColumnarIndexFetchRow(ColumnarIndexFetch fetch, ItemPointer tid,
					  Snapshot snapshot, TupleTableSlot *slot)
{
	Relation	rel = fetch->base.rel;
	TupleDesc	desc = slot->tts_tupleDescriptor;
	uint64		storage_id = ColumnarStorageId(rel, false);
	uint64		rownum;
	ColumnarBatch *b = fetch->batch;
	int32		r;

	if (snapshot->snapshot_type == SNAPSHOT_DIRTY)
	{
		snapshot->xmin = snapshot->xmax = InvalidTransactionId;
		snapshot->speculativeToken = 0;
	}
	if (storage_id == 0 || !ItemPointerIsValid(tid) ||
		ItemPointerGetOffsetNumberNoCheck(tid) > COLUMNAR_ROWS_PER_BLOCK)
		return false;
	rownum = ColumnarTidToRowNumber(tid);

	/* rows still buffered: as any fetch by TID (not kept) */
	if (in_write_buffer(storage_id, rownum))
		return ColumnarFetchRow(rel, tid, snapshot, slot);
	if (snapshot->snapshot_type == SNAPSHOT_DIRTY)
		return fetch_dirty(fetch, storage_id, rownum, tid, snapshot, slot);

	if (!(IsMVCCSnapshot(snapshot) && b != NULL &&
		  fetch->storage_id == storage_id && b->natts == desc->natts &&
		  rownum >= b->first_row && rownum < b->first_row + b->nrows &&
		  fetch->vis_snapshot == snapshot &&
		  fetch->vis_curcid == snapshot->curcid))
	{
		/* another row group, or another snapshot: look the row up */
		ColumnarRowGroup *rg = own_row_group(storage_id, rownum);
		bool		own = (rg != NULL);

		if (rg == NULL)
			rg = ColumnarFindRowGroup(storage_id, rownum, snapshot, desc->natts);
		if (rg == NULL)
			return false;
		keep_row_group(fetch, rel, desc, storage_id, rg, own);
		b = fetch->batch;
		fetch->vis_snapshot = NULL;
		if (IsMVCCSnapshot(snapshot))
		{
			MemoryContext old = MemoryContextSwitchTo(fetch->cxt);

			if (fetch->vis_deleted)
				pfree(fetch->vis_deleted);
			fetch->vis_deleted = ColumnarReadDeletions(storage_id, b->first_row,
													   b->nrows, snapshot);
			MemoryContextSwitchTo(old);
			fetch->vis_snapshot = snapshot;
			fetch->vis_curcid = snapshot->curcid;
		}
		else
		{
			/* other snapshots: this row only, not kept */
			r = (int32) (rownum - b->first_row);
			if (fetch->own &&
				!own_row_visible(snapshot, ColumnarRowGroupCid(fetch->own, r)))
				return false;
			if (snapshot != SnapshotAny &&
				ColumnarRowDeleted(storage_id, rownum, snapshot))
				return false;
			store_kept_row(fetch, r, tid, slot);
			return true;
		}
	}
	r = (int32) (rownum - b->first_row);
	if (fetch->own && !own_row_visible(snapshot, ColumnarRowGroupCid(fetch->own, r)))
		return false;
	if (fetch->vis_deleted && fetch->vis_deleted[r])
		return false;
	store_kept_row(fetch, r, tid, slot);
	return true;
}

/* ColumnarIndexFetchRow with a dirty snapshot, for a row not buffered */
static bool
fetch_dirty(ColumnarIndexFetch fetch, uint64 storage_id, uint64 rownum,
			ItemPointer tid, Snapshot snapshot, TupleTableSlot *slot)
{
	Relation	rel = fetch->base.rel;
	TupleDesc	desc = slot->tts_tupleDescriptor;
	ColumnarRowGroup *rg = own_row_group(storage_id, rownum);
	TransactionId xmin = InvalidTransactionId;
	TransactionId xmax;
	bool		own = (rg != NULL);

	if (rg == NULL)
		rg = ColumnarFindRowGroupDirty(storage_id, rownum, desc->natts, &xmin);
	if (rg == NULL)
	{
		/*
		 * In no row group: in another backend's write buffer if a
		 * transaction in progress reserved its number; its values are
		 * unknown here, so the row is all NULLs.  Only unique checks get
		 * that far, and they wait for that transaction, then look again.
		 */
		xmin = ColumnarReservationXid(storage_id, rownum);
		if (!TransactionIdIsValid(xmin))
			return false;
		snapshot->xmin = xmin;
		ExecStoreAllNullTuple(slot);
		slot->tts_tid = *tid;
		slot->tts_tableOid = RelationGetRelid(rel);
		return true;
	}
	keep_row_group(fetch, rel, desc, storage_id, rg, own);
	fetch->vis_snapshot = NULL;
	if (TransactionIdIsValid(xmin))
		snapshot->xmin = xmin;	/* only its writer can have deleted it */
	else
	{
		if (ColumnarRowDeletedDirty(storage_id, rownum, &xmax))
			return false;
		snapshot->xmax = xmax;
	}
	store_kept_row(fetch, (int32) (rownum - rg->first_row), tid, slot);
	return true;
}

/* ------------------------------------------------------------------------
 * Index builds
 * ------------------------------------------------------------------------
 */

/*
 * ColumnarIndexBuildScan
 *		Call callback for every row of rel an index built now must hold:
 *		the rows snapshot sees (alive), and the rows whose deletion it sees
 *		but an older snapshot may not (not alive: in the index for those
 *		snapshots, left out of uniqueness).  Returns the number of alive
 *		rows.
 */
double
ColumnarIndexBuildScan(Relation rel, Snapshot snapshot,
					   TransactionId oldest_xmin, TupleTableSlot *slot,
					   ColumnarBuildRowCallback callback, void *arg)
{
	TableScanDesc scan = table_beginscan(rel, snapshot, 0, NULL);
	uint64		storage_id = ColumnarStorageId(rel, false);
	double		alive = 0;

	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		CHECK_FOR_INTERRUPTS();
		callback(rel, slot, true, arg);
		alive += 1;
	}
	table_endscan(scan);

	if (storage_id != 0)
	{
		uint64	   *rownums;
		int64		n = ColumnarRecentlyDeleted(storage_id, snapshot, oldest_xmin,
											   &rownums);
		ColumnarIndexFetch fetch = ColumnarIndexFetchBegin(rel);
		int64		i;

		for (i = 0; i < n; i++)
		{
			ItemPointerData tid;

			CHECK_FOR_INTERRUPTS();
			ColumnarRowNumberToTid(rownums[i], &tid);
			if (ColumnarIndexFetchRow(fetch, &tid, SnapshotAny, slot))
				callback(rel, slot, false, arg);
		}
		ColumnarIndexFetchEnd(fetch);
		pfree(rownums);

		/*
		 * Row groups a VACUUM superseded that an older snapshot may still
		 * read: every row of them, as dead (the deleted ones do no harm).
		 */
		{
			List	   *old_rgs = ColumnarSupersededRowGroups(storage_id,
															  oldest_xmin,
															  slot->tts_tupleDescriptor->natts);
			ListCell   *lc;
			MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext,
													  "fluss_columnar superseded row group",
													  ALLOCSET_DEFAULT_SIZES);

			foreach(lc, old_rgs)
			{
				ColumnarRowGroup *rg = lfirst(lc);
				ColumnarBatch *b = ColumnarLoadRowGroup(rel,
														slot->tts_tupleDescriptor,
														rg, NULL, cxt);
				int32		r;

				for (r = 0; r < b->nrows; r++)
				{
					int			a;

					CHECK_FOR_INTERRUPTS();
					ExecClearTuple(slot);
					for (a = 0; a < b->natts; a++)
					{
						slot->tts_values[a] = b->values[a][r];
						slot->tts_isnull[a] = b->isnull[a][r];
					}
					ExecStoreVirtualTuple(slot);
					ColumnarRowNumberToTid(rg->first_row + r, &slot->tts_tid);
					callback(rel, slot, false, arg);
				}
				MemoryContextReset(cxt);
			}
			MemoryContextDelete(cxt);
		}
	}
	return alive;
}

/* ------------------------------------------------------------------------
 * Bitmap heap scans: the TIDs of each "block" fetched one by one
 * ------------------------------------------------------------------------
 */
bool
ColumnarBitmapNextBlock(TableScanDesc sscan, struct TBMIterateResult *tbmres)
{
	ColumnarScanDesc scan = (ColumnarScanDesc) sscan;

	if (scan->bitmap_fetch == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(scan->scan_cxt);

		scan->bitmap_fetch = ColumnarIndexFetchBegin(sscan->rs_rd);
		MemoryContextSwitchTo(old);
	}
	scan->bitmap_pos = 0;
	/* a block of row numbers past the last reserved one holds nothing */
	return (uint64) tbmres->blockno * COLUMNAR_ROWS_PER_BLOCK < COLUMNAR_MAX_ROW_NUMBER;
}

bool
ColumnarBitmapNextTuple(TableScanDesc sscan, struct TBMIterateResult *tbmres,
						TupleTableSlot *slot)
{
	ColumnarScanDesc scan = (ColumnarScanDesc) sscan;
	int			count = tbmres->ntuples >= 0 ? tbmres->ntuples : COLUMNAR_ROWS_PER_BLOCK;

	while (scan->bitmap_pos < count)
	{
		ItemPointerData tid;
		OffsetNumber off = tbmres->ntuples >= 0 ?
			tbmres->offsets[scan->bitmap_pos] : (OffsetNumber) (scan->bitmap_pos + 1);

		scan->bitmap_pos++;
		CHECK_FOR_INTERRUPTS();
		ItemPointerSet(&tid, tbmres->blockno, off);
		if (ColumnarIndexFetchRow(scan->bitmap_fetch, &tid, sscan->rs_snapshot, slot))
			return true;
	}
	return false;
}
