/*-------------------------------------------------------------------------
 *
 * writer.c
 *	  Write buffers of fluss_columnar relations and their flushing.
 *
 *	  INSERT, COPY and rewrites add rows to a backend-local buffer per
 *	  relation storage and subtransaction, in a memory context under
 *	  TopTransactionContext.  Each buffered row already has its row number
 *	  (and so its TID): numbers are reserved on the metapage, 64 (or a COPY
 *	  batch) at first and doubling, and a buffer grows its range in place
 *	  while no other backend reserved in between.  For a relation with a
 *	  unique index each reservation is also recorded, in the reserving
 *	  transaction, in fluss_grid.columnar_reserved: another transaction's
 *	  unique check that meets the TID of a buffered row learns there whom
 *	  to wait for (reader.c, fetch_dirty).
 *
 *	  A buffer becomes a row group (its pages plus metadata rows in the
 *	  current transaction) when it is full, at the end of COPY and other
 *	  bulk inserts, when its subtransaction commits into a parent that has
 *	  its own buffer of the same relation, and before commit.  A buffer of
 *	  an aborted subtransaction is dropped.
 *
 *	  Rows in a buffer are never invisible to their own transaction: scans
 *	  read the buffers of this backend after the row groups (reader.c),
 *	  and fetches by TID (AFTER ROW triggers, UPDATE) find them there.  A
 *	  row is visible to a snapshot of this transaction whose command id is
 *	  above the row's; the per-row command ids are kept for row groups this
 *	  transaction wrote as well, because their metadata rows carry the
 *	  command id of the flush, which may be later than the rows'.
 *
 * IDENTIFICATION
 *	  src/tam/writer.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/detoast.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/xact.h"
#include "catalog/pg_index.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "storage/predicate.h"
#include "utils/datum.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/syscache.h"

#include "tam/columnar.h"

/* a row group written by this transaction, with its rows' command ids */
typedef struct FlushedRowGroup
{
	SubTransactionId subxid;
	ColumnarRowGroup *rg;
} FlushedRowGroup;

/* a columnar_reserved row this transaction inserted */
typedef struct Reservation
{
	SubTransactionId subxid;
	ItemPointerData tid;
} Reservation;

/* newest first */
static ColumnarWriteBuffer *buffers = NULL;
static List *flushed = NIL;
static List *reservations = NIL;	/* in TopTransactionContext */
static bool callbacks_registered = false;

static void xact_callback(XactEvent event, void *arg);
static void subxact_callback(SubXactEvent event, SubTransactionId mySubid,
							 SubTransactionId parentSubid, void *arg);
static ColumnarWriteBuffer *get_buffer(Relation rel, uint64 storage_id);
static void flush_buffer(Relation rel, ColumnarWriteBuffer *buf);
static void flush_or_drop(ColumnarWriteBuffer *buf);
static void unlink_buffer(ColumnarWriteBuffer *buf);
static bool has_unique_index(Relation rel);
static void *buffer_copy(ColumnarWriteBuffer *buf, const void *p, Size len);
static void buffer_add_columns(ColumnarWriteBuffer *buf, TupleDesc desc);

/*
 * ColumnarWriterInit
 *		Register the transaction callbacks (once per backend).
 */
void
ColumnarWriterInit(void)
{
	if (callbacks_registered)
		return;
	RegisterXactCallback(xact_callback, NULL);
	RegisterSubXactCallback(subxact_callback, NULL);
	callbacks_registered = true;
}

/* the buffer of rel's storage in the current subtransaction, made if new */
static ColumnarWriteBuffer *
get_buffer(Relation rel, uint64 storage_id)
{
	SubTransactionId subxid = GetCurrentSubTransactionId();
	ColumnarWriteBuffer *buf;
	MemoryContext cxt;

	ColumnarWriteBuffer *found = NULL;

	/*
	 * A storage belongs to one relation at a time, but not always to the
	 * same one: ALTER TABLE ... SET ACCESS METHOD fills a transient
	 * relation whose file then passes to the altered table.  The buffers
	 * follow the relation that writes the storage now.
	 */
	for (buf = buffers; buf; buf = buf->next)
		if (buf->storage_id == storage_id)
		{
			buf->relid = RelationGetRelid(rel);
			if (buf->subxid == subxid && found == NULL)
				found = buf;
		}
	if (found)
		return found;

	cxt = AllocSetContextCreate(TopTransactionContext,
								"fluss_columnar write buffer",
								ALLOCSET_DEFAULT_SIZES);
	buf = MemoryContextAllocZero(TopTransactionContext,
								 sizeof(ColumnarWriteBuffer));
	buf->relid = RelationGetRelid(rel);
	buf->storage_id = storage_id;
	buf->subxid = subxid;
	buf->context = cxt;
	buf->value_cxt = AllocSetContextCreate(cxt,
										   "fluss_columnar buffered values",
										   ALLOCSET_DEFAULT_SIZES);
	buf->maxrows = 64;
	buf->natts = RelationGetDescr(rel)->natts;
	buf->values = MemoryContextAlloc(cxt, sizeof(Datum *) * Max(buf->natts, 1));
	buf->isnull = MemoryContextAlloc(cxt, sizeof(bool *) * Max(buf->natts, 1));
	for (int i = 0; i < buf->natts; i++)
	{
		buf->values[i] = MemoryContextAlloc(cxt, sizeof(Datum) * buf->maxrows);
		buf->isnull[i] = MemoryContextAlloc(cxt, sizeof(bool) * buf->maxrows);
	}
	buf->cids = MemoryContextAlloc(cxt, sizeof(CommandId) * buf->maxrows);
	ColumnarGetOptions(RelationGetRelid(rel), &buf->options);
	buf->next = buffers;
	buffers = buf;
	return buf;
}

/* size of the blocks buffered by-reference values are copied into */
#define BUFFER_ARENA_BLOCK (64 * 1024)

/*
 * buffer_copy
 *		A copy of the len bytes at p in buf's value context.  Small values
 *		are packed into blocks of BUFFER_ARENA_BLOCK (maxaligned), so that
 *		a COPY pays no allocation per value; large ones get their own.
 */
static void *
buffer_copy(ColumnarWriteBuffer *buf, const void *p, Size len)
{
	Size		need = MAXALIGN(len);
	char	   *dst;

	if (need > BUFFER_ARENA_BLOCK / 8)
		dst = MemoryContextAllocHuge(buf->value_cxt, len);
	else
	{
		if (need > buf->arena_left)
		{
			buf->arena = MemoryContextAlloc(buf->value_cxt, BUFFER_ARENA_BLOCK);
			buf->arena_left = BUFFER_ARENA_BLOCK;
		}
		dst = buf->arena;
		buf->arena += need;
		buf->arena_left -= need;
	}
	memcpy(dst, p, len);
	return dst;
}

/*
 * buffer_add_columns
 *		Columns added to the relation (ALTER TABLE ... ADD COLUMN without
 *		a rewrite) since buf was made: arrays for them, the rows buffered
 *		so far holding the column's missing value (NULL, or the default
 *		the ALTER recorded), as a heap tuple formed before would read.
 */
static void
buffer_add_columns(ColumnarWriteBuffer *buf, TupleDesc desc)
{
	int			natts = desc->natts;
	int			i;

	buf->values = repalloc(buf->values, sizeof(Datum *) * natts);
	buf->isnull = repalloc(buf->isnull, sizeof(bool *) * natts);
	for (i = buf->natts; i < natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		bool		missing_null = true;
		Datum		missing = (Datum) 0;
		int32		r;

		if (!att->attisdropped && att->atthasmissing)
			missing = getmissingattr(desc, i + 1, &missing_null);
		if (!missing_null && !att->attbyval)
			missing = PointerGetDatum(buffer_copy(buf, DatumGetPointer(missing),
												  datumGetSize(missing, false,
															   att->attlen)));
		buf->values[i] = MemoryContextAllocHuge(buf->context,
												sizeof(Datum) * buf->maxrows);
		buf->isnull[i] = MemoryContextAllocHuge(buf->context,
												sizeof(bool) * buf->maxrows);
		for (r = 0; r < buf->nrows; r++)
		{
			buf->values[i][r] = missing;
			buf->isnull[i][r] = missing_null;
		}
	}
	buf->natts = natts;
}

/*
 * ColumnarBufferRow
 *		Row row of buf into values/isnull, as desc (the reader's, with at
 *		least the columns the buffer was made with) describes it: columns
 *		beyond the buffer's hold their missing value.  By-reference values
 *		point into the buffer: copy them before anything is inserted.
 */
void
ColumnarBufferRow(ColumnarWriteBuffer *buf, TupleDesc desc, int32 row,
				  Datum *values, bool *isnull)
{
	int			i;

	for (i = 0; i < desc->natts; i++)
	{
		if (i < buf->natts)
		{
			values[i] = buf->values[i][row];
			isnull[i] = buf->isnull[i][row];
		}
		else
		{
			Form_pg_attribute att = TupleDescAttr(desc, i);

			isnull[i] = true;
			values[i] = (Datum) 0;
			if (!att->attisdropped && att->atthasmissing)
				values[i] = getmissingattr(desc, i + 1, &isnull[i]);
		}
	}
}

/* whether rel has a unique index (or a primary key) */
static bool
has_unique_index(Relation rel)
{
	List	   *indexes;
	ListCell   *lc;
	bool		result = false;

	if (!rel->rd_rel->relhasindex)
		return false;
	indexes = RelationGetIndexList(rel);
	foreach(lc, indexes)
	{
		HeapTuple	tup = SearchSysCache1(INDEXRELID,
										  ObjectIdGetDatum(lfirst_oid(lc)));

		if (!HeapTupleIsValid(tup))
			continue;
		if (((Form_pg_index) GETSTRUCT(tup))->indisunique)
			result = true;
		ReleaseSysCache(tup);
	}
	list_free(indexes);
	return result;
}

/*
 * ColumnarSetPendingOptions
 *		Use options for rel's buffer in this subtransaction (a rewrite
 *		into a transient relation keeps the options of the original).
 */
void
ColumnarSetPendingOptions(Relation rel, const ColumnarOptions *o)
{
	ColumnarWriteBuffer *buf = get_buffer(rel, ColumnarStorageId(rel, true));

	buf->options = *o;
}

/*
 * ColumnarInsert
 *		Add the row in slot to rel's buffer; sets the slot's TID.  coming
 *		is how many rows the caller is about to insert, this one included
 *		(the rest of a COPY batch): row numbers are reserved for them at
 *		once, or for as many as the buffer holds if that is more (doubling),
 *		up to a row group.  Numbers reserved and not used are lost at the
 *		end of the transaction, so a reservation never exceeds about twice
 *		what the transaction wrote, plus 64.
 */
void
ColumnarInsert(Relation rel, TupleTableSlot *slot, CommandId cid, int32 coming)
{
	uint64		storage_id = ColumnarStorageId(rel, true);
	ColumnarWriteBuffer *buf = get_buffer(rel, storage_id);
	TupleDesc	desc = RelationGetDescr(rel);
	MemoryContext old;
	uint64		rownum;
	Size		bytes = (sizeof(Datum) + sizeof(bool)) * desc->natts;
	int32		r;
	int			natts;
	int			i;

	if (buf->nrows > 0 &&
		(buf->nrows >= buf->options.row_group_rows ||
		 buf->bytes >= COLUMNAR_MAX_BUFFER_BYTES))
		flush_buffer(rel, buf);

	if (buf->first_row + buf->nrows >= buf->reserved_end)
	{
		int32		room = buf->options.row_group_rows - buf->nrows;
		uint64		want = Min(Max(Max(64, buf->nrows), coming), room);
		uint64		start = PG_UINT64_MAX;

		if (buf->nrows > 0)
			start = ColumnarReserveRows(rel, want, buf->reserved_end);
		if (start == PG_UINT64_MAX)
		{
			/* not contiguous: what is buffered becomes a row group */
			if (buf->nrows > 0)
				flush_buffer(rel, buf);
			want = Min(Max(64, coming), buf->options.row_group_rows);
			start = ColumnarReserveRows(rel, want, PG_UINT64_MAX);
			buf->first_row = start;
		}
		buf->reserved_end = start + want;
		if (has_unique_index(rel))
		{
			ItemPointerData tid = ColumnarInsertReservation(storage_id, start, want);
			Reservation *res = MemoryContextAlloc(TopTransactionContext,
												  sizeof(Reservation));

			res->subxid = GetCurrentSubTransactionId();
			res->tid = tid;
			old = MemoryContextSwitchTo(TopTransactionContext);
			reservations = lappend(reservations, res);
			MemoryContextSwitchTo(old);
		}
	}

	slot_getallattrs(slot);
	if (desc->natts > buf->natts)
		buffer_add_columns(buf, desc);
	if (buf->nrows >= buf->maxrows)
	{
		buf->maxrows *= 2;
		for (i = 0; i < buf->natts; i++)
		{
			buf->values[i] = repalloc_huge(buf->values[i],
										   sizeof(Datum) * buf->maxrows);
			buf->isnull[i] = repalloc_huge(buf->isnull[i],
										   sizeof(bool) * buf->maxrows);
		}
		buf->cids = repalloc_huge(buf->cids, sizeof(CommandId) * buf->maxrows);
	}

	r = buf->nrows;
	natts = Min(desc->natts, buf->natts);
	for (i = 0; i < natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		Datum		value = slot->tts_values[i];
		bool		null = slot->tts_isnull[i];

		if (!null && !att->attbyval)
		{
			Pointer		p = DatumGetPointer(value);

			/*
			 * Store plain values: no TOAST pointers into other tables, no
			 * expanded objects (both are "short" by VARATT_IS_SHORT: its
			 * 1-byte header test is true of external datums too).
			 */
			if (att->attlen == -1 &&
				(VARATT_IS_EXTERNAL(p) || VARATT_IS_COMPRESSED(p)))
			{
				old = MemoryContextSwitchTo(buf->value_cxt);
				value = PointerGetDatum(detoast_attr((struct varlena *) p));
				MemoryContextSwitchTo(old);
				bytes += VARSIZE(DatumGetPointer(value));
			}
			else
			{
				Size		len = att->attlen > 0 ? (Size) att->attlen :
				att->attlen == -1 ? VARSIZE_ANY(p) : strlen(p) + 1;

				value = PointerGetDatum(buffer_copy(buf, p, len));
				bytes += len;
			}
		}
		buf->values[i][r] = value;
		buf->isnull[i][r] = null;
	}
	/* cannot happen (columns are never removed from a descriptor) */
	for (; i < buf->natts; i++)
	{
		buf->values[i][r] = (Datum) 0;
		buf->isnull[i][r] = true;
	}

	rownum = buf->first_row + buf->nrows;
	buf->cids[buf->nrows] = cid;
	buf->nrows++;
	buf->bytes += bytes;

	ColumnarRowNumberToTid(rownum, &slot->tts_tid);
	slot->tts_tableOid = RelationGetRelid(rel);
}

/*
 * flush_buffer
 *		Write the rows of buf (of rel's current storage, in the current
 *		subtransaction) as one row group and empty buf.  Row numbers
 *		reserved but unused stay with buf.
 */
static void
flush_buffer(Relation rel, ColumnarWriteBuffer *buf)
{
	TupleDesc	desc = RelationGetDescr(rel);
	int			natts = desc->natts;
	int32		nrows = buf->nrows;
	MemoryContext cxt;
	MemoryContext old;
	Datum	  **values;
	bool	  **isnull;
	StringInfoData stream;
	ColumnarRowGroup *rg;
	FlushedRowGroup *f;
	int			i;
	int32		r;

	if (nrows == 0)
		return;
	Assert(buf->subxid == GetCurrentSubTransactionId());

	cxt = AllocSetContextCreate(CurrentMemoryContext,
								"fluss_columnar flush",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);

	/* the buffer's columns as they are; columns added since: missing */
	if (natts > buf->natts)
		buffer_add_columns(buf, desc);
	values = buf->values;
	isnull = buf->isnull;

	rg = MemoryContextAllocZero(TopTransactionContext, sizeof(ColumnarRowGroup));
	rg->storage_id = buf->storage_id;
	rg->first_row = buf->first_row;
	rg->row_count = nrows;
	rg->natts = natts;
	rg->chunks = MemoryContextAllocZero(TopTransactionContext,
										sizeof(ColumnarChunk) * Max(natts, 1));
	initStringInfo(&stream);
	for (i = 0; i < natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		char	   *bytes;

		CHECK_FOR_INTERRUPTS();
		if (att->attisdropped)
			continue;
		bytes = ColumnarEncodeChunk(att, values[i], isnull[i], nrows,
									buf->options.compression_level,
									&rg->chunks[i]);
		rg->chunks[i].offset = stream.len;
		ColumnarChunkMinMax(att, values[i], isnull[i], nrows, &rg->chunks[i]);
		if ((uint64) stream.len + rg->chunks[i].length >= MaxAllocSize)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("row group of relation \"%s\" is too large",
							RelationGetRelationName(rel)),
					 errhint("Lower its row_group_rows with fluss_grid.columnar_set().")));
		appendBinaryStringInfo(&stream, bytes, rg->chunks[i].length);
		pfree(bytes);
	}

	rg->row_group = ColumnarNextRowGroup(rel);
	rg->data_length = stream.len;
	rg->first_block = ColumnarWriteData(rel, stream.data, stream.len);
	ColumnarInsertRowGroup(rg);

	/* min/max were allocated in cxt, which goes */
	for (i = 0; i < natts; i++)
		rg->chunks[i].min_value = rg->chunks[i].max_value = NULL;

	/*
	 * Remember the rows' command ids for this transaction's own scans: one
	 * for all (the common case: one statement's rows) or one per row.
	 */
	rg->own = true;
	rg->cid_all = buf->cids[0];
	for (r = 1; r < nrows; r++)
		if (buf->cids[r] != rg->cid_all)
		{
			rg->cids = MemoryContextAlloc(TopTransactionContext,
										  sizeof(CommandId) * nrows);
			memcpy(rg->cids, buf->cids, sizeof(CommandId) * nrows);
			break;
		}
	f = MemoryContextAlloc(TopTransactionContext, sizeof(FlushedRowGroup));
	f->subxid = GetCurrentSubTransactionId();
	f->rg = rg;
	MemoryContextSwitchTo(TopTransactionContext);
	flushed = lappend(flushed, f);

	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);

	/* empty the buffer, keeping its unused row numbers */
	MemoryContextReset(buf->value_cxt);
	buf->arena = NULL;
	buf->arena_left = 0;
	buf->first_row += nrows;
	buf->nrows = 0;
	buf->bytes = 0;
}

/* remove buf from the list and free it */
static void
unlink_buffer(ColumnarWriteBuffer *buf)
{
	ColumnarWriteBuffer **p;

	for (p = &buffers; *p; p = &(*p)->next)
		if (*p == buf)
		{
			*p = buf->next;
			break;
		}
	MemoryContextDelete(buf->context);
	pfree(buf);
}

/*
 * flush_or_drop
 *		Flush buf if its relation still has the buffer's storage (it was
 *		not dropped or truncated since), else drop it; unlink it either way.
 */
static void
flush_or_drop(ColumnarWriteBuffer *buf)
{
	Relation	rel = try_relation_open(buf->relid, NoLock);

	if (rel != NULL)
	{
		if (rel->rd_rel->relam == ColumnarAmOid() &&
			ColumnarStorageId(rel, false) == buf->storage_id)
			flush_buffer(rel, buf);
		relation_close(rel, NoLock);
	}
	unlink_buffer(buf);
}

/*
 * ColumnarFlushRelation
 *		Flush rel's buffers of the current subtransaction (end of COPY and
 *		of other bulk inserts).
 */
void
ColumnarFlushRelation(Relation rel, bool all_subxacts)
{
	uint64		storage_id = ColumnarStorageId(rel, false);
	SubTransactionId subxid = GetCurrentSubTransactionId();
	ColumnarWriteBuffer *buf;

	if (storage_id == 0)
		return;
	for (buf = buffers; buf; buf = buf->next)
		if (buf->storage_id == storage_id &&
			(buf->subxid == subxid || all_subxacts))
			flush_buffer(rel, buf);
}

/*
 * ColumnarDiscardStorage
 *		Forget the buffers of a storage reset in place.
 */
void
ColumnarDiscardStorage(uint64 storage_id)
{
	ColumnarWriteBuffer *buf = buffers;

	while (buf)
	{
		ColumnarWriteBuffer *next = buf->next;

		if (buf->storage_id == storage_id)
			unlink_buffer(buf);
		buf = next;
	}
}

/*
 * ColumnarPendingBuffers
 *		This backend's buffers, newest first.
 */
ColumnarWriteBuffer *
ColumnarPendingBuffers(void)
{
	return buffers;
}

/*
 * ColumnarFlushedRowGroups
 *		The row groups of storage_id this transaction wrote (and did not
 *		roll back), with their rows' command ids.
 */
List *
ColumnarFlushedRowGroups(uint64 storage_id)
{
	List	   *result = NIL;
	ListCell   *lc;

	foreach(lc, flushed)
	{
		FlushedRowGroup *f = lfirst(lc);

		if (f->rg->storage_id == storage_id)
			result = lappend(result, f->rg);
	}
	return result;
}

/*
 * ColumnarTransactionWrote
 *		Whether this backend holds rows of its transaction that another
 *		backend cannot read as it would: buffered rows, or row groups it
 *		flushed (whose rows' command ids only it knows).  Parallel workers
 *		are not started while this is true (handler.c).
 */
bool
ColumnarTransactionWrote(void)
{
	ColumnarWriteBuffer *buf;

	if (flushed != NIL)
		return true;
	for (buf = buffers; buf; buf = buf->next)
		if (buf->nrows > 0)
			return true;
	return false;
}

/* commit: buffers become row groups; end: forget everything */
static void
xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
		case XACT_EVENT_PRE_PREPARE:
			while (buffers)
				flush_or_drop(buffers);

			/*
			 * Every reserved row is now in a row group or nowhere, and the
			 * row groups are what other transactions' unique checks find
			 * from here on: the reservation rows have served.
			 */
			if (reservations != NIL)
			{
				List	   *tids = NIL;
				ListCell   *lc;

				foreach(lc, reservations)
					tids = lappend(tids, &((Reservation *) lfirst(lc))->tid);
				ColumnarDeleteReservations(tids);
				list_free(tids);
				reservations = NIL;
			}
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PREPARE:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PARALLEL_ABORT:
			/* the memory went with TopTransactionContext */
			buffers = NULL;
			flushed = NIL;
			reservations = NIL;
			ColumnarResetFetchCache();
			break;
		default:
			break;
	}
}

/*
 * subxact_callback
 *		Commit of a subtransaction: its buffers pass to the parent, or are
 *		flushed when the parent has a buffer of the same storage.  Abort:
 *		its buffers and its row groups are forgotten (their metadata rows
 *		are rolled back with it).
 */
static void
subxact_callback(SubXactEvent event, SubTransactionId mySubid,
				 SubTransactionId parentSubid, void *arg)
{
	ColumnarWriteBuffer *buf;
	ColumnarWriteBuffer *next;

	switch (event)
	{
		case SUBXACT_EVENT_PRE_COMMIT_SUB:
			for (buf = buffers; buf; buf = next)
			{
				ColumnarWriteBuffer *other;
				bool		parent_has = false;

				next = buf->next;
				if (buf->subxid != mySubid)
					continue;
				for (other = buffers; other; other = other->next)
					if (other != buf && other->storage_id == buf->storage_id &&
						other->subxid == parentSubid)
						parent_has = true;
				if (parent_has)
					flush_or_drop(buf);
				else
					buf->subxid = parentSubid;
			}
			{
				ListCell   *lc;

				foreach(lc, reservations)
				{
					Reservation *res = lfirst(lc);

					if (res->subxid == mySubid)
						res->subxid = parentSubid;
				}
			}
			break;
		case SUBXACT_EVENT_ABORT_SUB:
			{
				ListCell   *lc;

				for (buf = buffers; buf; buf = next)
				{
					next = buf->next;
					if (buf->subxid >= mySubid)
						unlink_buffer(buf);
				}
				foreach(lc, flushed)
				{
					FlushedRowGroup *f = lfirst(lc);

					if (f->subxid >= mySubid)
						flushed = foreach_delete_current(flushed, lc);
				}
				/* rolled back with the subtransaction */
				foreach(lc, reservations)
				{
					Reservation *res = lfirst(lc);

					if (res->subxid >= mySubid)
						reservations = foreach_delete_current(reservations, lc);
				}
				ColumnarResetFetchCache();
			}
			break;
		default:
			break;
	}
}
