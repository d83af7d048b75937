/*-------------------------------------------------------------------------
 *
 * storage.c
 *	  The main fork of a fluss_columnar relation: a metapage at block 0 and
 *	  row-group data on fresh pages.
 *
 *	  The metapage holds a magic, a version, the relation's storage id (the
 *	  key of its metadata, kept when the file is copied to a new tablespace
 *	  and replaced on TRUNCATE or a rewrite) and two counters: the next row
 *	  number to reserve and the next row-group number.  It is created at the
 *	  first write, WAL-logged as a full page (a block 0 of zeros, left by a
 *	  crash between extending the file and flushing that WAL, means "no
 *	  storage yet", as an empty file does); the counters change under an
 *	  exclusive buffer lock and are WAL-logged with generic WAL (a small
 *	  delta).
 *
 *	  A row group's data is one byte stream (its column chunks one after the
 *	  other) written to consecutive new pages, each page filled after its
 *	  header and WAL-logged once as a full page image whose unused tail the
 *	  WAL record leaves out; WAL volume is therefore about the compressed
 *	  size.  Pages are never changed while a row group on them can be
 *	  read.  A crash or an
 *	  abort after writing them leaves pages no metadata row references.
 *
 *	  A row group may instead go to the pages of a free extent, a row
 *	  group that VACUUM superseded and no snapshot can read any more
 *	  (vacuum.c): the writer claims the extent by deleting its metadata
 *	  row in its own transaction, then rewrites those pages whole, each
 *	  WAL-logged as a full page image.
 *
 *	  Locking: the relation extension lock is held while a row group's
 *	  pages are added, so that they are consecutive; a claimed extent is
 *	  the claiming transaction's alone (its row is being deleted by it).
 *
 * IDENTIFICATION
 *	  src/tam/storage.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/generic_xlog.h"
#include "access/xloginsert.h"
#include "catalog/namespace.h"
#include "commands/sequence.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "tam/columnar.h"

typedef struct StorageIdCache
{
	Oid			relnode;
	uint64		storage_id;
} StorageIdCache;

static ColumnarMetaPageData *meta_of(Relation rel, Page page);

/* the metapage contents of page, checked */
static ColumnarMetaPageData *
meta_of(Relation rel, Page page)
{
	ColumnarMetaPageData *meta;

	meta = (ColumnarMetaPageData *) ((char *) page + SizeOfPageHeaderData);
	if (PageIsNew(page) || meta->magic != COLUMNAR_MAGIC)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("relation \"%s\" has no valid fluss_columnar metapage",
						RelationGetRelationName(rel))));
	if (meta->version != COLUMNAR_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("relation \"%s\" has fluss_columnar storage version %u, this build reads version %u",
						RelationGetRelationName(rel), meta->version,
						COLUMNAR_VERSION)));
	return meta;
}

/*
 * ColumnarStorageId
 *		The storage id of rel's current relation file; 0 when the file has
 *		no metapage yet (nothing was ever written, or block 0 is all zeros),
 *		unless create, which writes the metapage with a new id.
 */
uint64
ColumnarStorageId(Relation rel, bool create)
{
	StorageIdCache *cache = (StorageIdCache *) rel->rd_amcache;
	uint64		id = 0;
	Buffer		buf;

	if (cache && cache->relnode == rel->rd_node.relNode)
		return cache->storage_id;

	if (RelationGetNumberOfBlocks(rel) > 0)
	{
		Page		page;

		buf = ReadBuffer(rel, COLUMNAR_METAPAGE_BLOCK);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		/* all zeros: extended, then a crash before its WAL was flushed */
		if (!PageIsNew(page))
			id = meta_of(rel, page)->storage_id;
		UnlockReleaseBuffer(buf);
	}

	if (id == 0)
	{
		Oid			seq;
		Page		page;
		ColumnarMetaPageData *meta;

		if (!create)
			return 0;
		seq = get_relname_relid("columnar_storage_id_seq",
								get_namespace_oid("fluss_grid", false));
		if (!OidIsValid(seq))
			elog(ERROR, "sequence fluss_grid.columnar_storage_id_seq is missing");
		id = (uint64) nextval_internal(seq, false);

		LockRelationForExtension(rel, ExclusiveLock);
		if (RelationGetNumberOfBlocks(rel) == 0)
		{
			buf = ReadBufferExtended(rel, MAIN_FORKNUM, P_NEW, RBM_NORMAL, NULL);
			if (BufferGetBlockNumber(buf) != COLUMNAR_METAPAGE_BLOCK)
				elog(ERROR, "metapage of \"%s\" is not block 0",
					 RelationGetRelationName(rel));
		}
		else
			buf = ReadBuffer(rel, COLUMNAR_METAPAGE_BLOCK);
		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		page = BufferGetPage(buf);
		if (!PageIsNew(page))
		{
			/* someone else was first: use theirs */
			id = meta_of(rel, page)->storage_id;
		}
		else
		{
			START_CRIT_SECTION();
			PageInit(page, BLCKSZ, 0);
			meta = (ColumnarMetaPageData *) ((char *) page + SizeOfPageHeaderData);
			meta->magic = COLUMNAR_MAGIC;
			meta->version = COLUMNAR_VERSION;
			meta->storage_id = id;
			meta->next_row = 0;
			meta->next_row_group = 1;
			((PageHeader) page)->pd_lower = SizeOfPageHeaderData + sizeof(ColumnarMetaPageData);
			MarkBufferDirty(buf);
			if (RelationNeedsWAL(rel))
				log_newpage_buffer(buf, true);
			END_CRIT_SECTION();
		}
		UnlockReleaseBuffer(buf);
		UnlockRelationForExtension(rel, ExclusiveLock);
	}

	if (rel->rd_amcache == NULL)
		rel->rd_amcache = MemoryContextAlloc(CacheMemoryContext,
											 sizeof(StorageIdCache));
	cache = (StorageIdCache *) rel->rd_amcache;
	cache->relnode = rel->rd_node.relNode;
	cache->storage_id = id;
	return id;
}

/*
 * ColumnarForgetStorageIdCache
 *		After the relation file was reset in place (nontransactional
 *		truncate), forget the cached storage id.
 */
void
ColumnarForgetStorageIdCache(Relation rel)
{
	if (rel->rd_amcache)
		pfree(rel->rd_amcache);
	rel->rd_amcache = NULL;
}

/*
 * ColumnarReserveRows
 *		Reserve count row numbers; returns the first.  With expect_start
 *		other than PG_UINT64_MAX, reserve only if the counter still stands
 *		at expect_start (so that a buffer's range grows contiguously) and
 *		return PG_UINT64_MAX otherwise.
 */
uint64
ColumnarReserveRows(Relation rel, uint64 count, uint64 expect_start)
{
	Buffer		buf;
	GenericXLogState *state;
	Page		page;
	ColumnarMetaPageData *meta;
	uint64		start;

	(void) ColumnarStorageId(rel, true);
	buf = ReadBuffer(rel, COLUMNAR_METAPAGE_BLOCK);
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	meta = meta_of(rel, BufferGetPage(buf));
	start = meta->next_row;
	if (expect_start != PG_UINT64_MAX && start != expect_start)
	{
		UnlockReleaseBuffer(buf);
		return PG_UINT64_MAX;
	}
	if (start + count > COLUMNAR_MAX_ROW_NUMBER)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("relation \"%s\" has used up its row numbers",
						RelationGetRelationName(rel)),
				 errhint("Rewrite it with VACUUM FULL.")));

	state = GenericXLogStart(rel);
	page = GenericXLogRegisterBuffer(state, buf, 0);
	meta = (ColumnarMetaPageData *) ((char *) page + SizeOfPageHeaderData);
	meta->next_row = start + count;
	GenericXLogFinish(state);
	UnlockReleaseBuffer(buf);
	return start;
}

/*
 * ColumnarNextRowGroup
 *		A new row-group number of rel.
 */
int64
ColumnarNextRowGroup(Relation rel)
{
	Buffer		buf;
	GenericXLogState *state;
	Page		page;
	ColumnarMetaPageData *meta;
	int64		rg;

	buf = ReadBuffer(rel, COLUMNAR_METAPAGE_BLOCK);
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	meta = meta_of(rel, BufferGetPage(buf));
	rg = (int64) meta->next_row_group;

	state = GenericXLogStart(rel);
	page = GenericXLogRegisterBuffer(state, buf, 0);
	meta = (ColumnarMetaPageData *) ((char *) page + SizeOfPageHeaderData);
	meta->next_row_group = rg + 1;
	GenericXLogFinish(state);
	UnlockReleaseBuffer(buf);
	return rg;
}

/*
 * fill_page
 *		Make the exclusively locked page of buf hold n bytes of row-group
 *		data, WAL-logged as a full page image (the unused tail left out).
 */
static void
fill_page(Buffer buf, const char *data, uint64 n, bool wal)
{
	Page		page = BufferGetPage(buf);

	START_CRIT_SECTION();
	PageInit(page, BLCKSZ, 0);
	memcpy((char *) page + SizeOfPageHeaderData, data, n);
	((PageHeader) page)->pd_lower = SizeOfPageHeaderData + n;
	MarkBufferDirty(buf);
	if (wal)
		log_newpage_buffer(buf, true);
	END_CRIT_SECTION();
}

/*
 * ColumnarWriteDataAt
 *		Write len bytes on the existing pages from first, which a claimed
 *		free extent gives this transaction alone (their old contents no
 *		snapshot can read): each page rebuilt from zeros and WAL-logged as
 *		a full page image, as new pages are.
 */
void
ColumnarWriteDataAt(Relation rel, BlockNumber first, const char *data,
					uint64 len)
{
	uint64		done = 0;
	bool		wal = RelationNeedsWAL(rel);

	while (done < len)
	{
		uint64		n = Min(len - done, (uint64) COLUMNAR_PAGE_DATA);
		Buffer		buf;

		CHECK_FOR_INTERRUPTS();
		buf = ReadBufferExtended(rel, MAIN_FORKNUM,
								 first + (BlockNumber) (done / COLUMNAR_PAGE_DATA),
								 RBM_ZERO_AND_LOCK, NULL);
		fill_page(buf, data + done, n, wal);

		UnlockReleaseBuffer(buf);
		done += n;
	}
}

/*
 * ColumnarWriteData
 *		Write len bytes on consecutive pages, those of a free extent big
 *		enough or new ones; returns the first block (0, the metapage, when
 *		len is 0: nothing is ever read there).
 */
uint64
ColumnarWriteData(Relation rel, const char *data, uint64 len)
{
	uint64		done = 0;
	BlockNumber first = InvalidBlockNumber;
	bool		wal = RelationNeedsWAL(rel);
	uint64		reuse;

	if (len == 0)
		return 0;

	/* pages a VACUUM freed, if an extent is big enough */
	if (ColumnarClaimFreeExtent(ColumnarStorageId(rel, true),
								(len + COLUMNAR_PAGE_DATA - 1) / COLUMNAR_PAGE_DATA,
								RelationGetNumberOfBlocks(rel), &reuse))
	{
		ColumnarWriteDataAt(rel, (BlockNumber) reuse, data, len);
		return reuse;
	}

	LockRelationForExtension(rel, ExclusiveLock);
	while (done < len)
	{
		uint64		n = Min(len - done, (uint64) COLUMNAR_PAGE_DATA);
		Buffer		buf;

		CHECK_FOR_INTERRUPTS();
		buf = ReadBufferExtended(rel, MAIN_FORKNUM, P_NEW, RBM_NORMAL, NULL);
		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		if (first == InvalidBlockNumber)
			first = BufferGetBlockNumber(buf);
		else if (BufferGetBlockNumber(buf) != first + done / COLUMNAR_PAGE_DATA)
			elog(ERROR, "pages of a row group of \"%s\" are not consecutive",
				 RelationGetRelationName(rel));
		fill_page(buf, data + done, n, wal);

		UnlockReleaseBuffer(buf);
		done += n;
	}
	UnlockRelationForExtension(rel, ExclusiveLock);
	return first;
}

/*
 * ColumnarReadData
 *		Copy len bytes at offset of the byte stream that starts at
 *		first_block into dst.  Pages that are missing, new or too short
 *		raise ERRCODE_DATA_CORRUPTED naming the row group and column.
 */
void
ColumnarReadData(Relation rel, uint64 first_block, uint64 offset, char *dst,
				 uint64 len, int64 row_group, const char *attname)
{
	BlockNumber nblocks;

	if (len == 0)
		return;
	nblocks = RelationGetNumberOfBlocks(rel);
	while (len > 0)
	{
		uint64		blk = first_block + offset / COLUMNAR_PAGE_DATA;
		uint64		within = offset % COLUMNAR_PAGE_DATA;
		uint64		n = Min(len, COLUMNAR_PAGE_DATA - within);
		Buffer		buf;
		Page		page;

		if (blk == COLUMNAR_METAPAGE_BLOCK || blk >= nblocks)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("corrupted data in row group %lld, column \"%s\" of relation \"%s\"",
							(long long) row_group, attname,
							RelationGetRelationName(rel)),
					 errdetail("Block %llu is beyond the end of the relation (%u blocks).",
							   (unsigned long long) blk, nblocks)));
		buf = ReadBuffer(rel, (BlockNumber) blk);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		if (PageIsNew(page) ||
			((PageHeader) page)->pd_lower < SizeOfPageHeaderData + within + n)
		{
			UnlockReleaseBuffer(buf);
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("corrupted data in row group %lld, column \"%s\" of relation \"%s\"",
							(long long) row_group, attname,
							RelationGetRelationName(rel)),
					 errdetail("Block %llu holds less data than recorded.",
							   (unsigned long long) blk)));
		}
		memcpy(dst, (char *) page + SizeOfPageHeaderData + within, n);
		UnlockReleaseBuffer(buf);
		dst += n;
		offset += n;
		len -= n;
	}
}
