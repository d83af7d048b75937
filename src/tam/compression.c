/*-------------------------------------------------------------------------
 *
 * compression.c
 *	  One column of one row group to bytes and back: null bitmap (only when
 *	  the column has NULLs in the row group), values, an encoding that suits
 *	  time series (delta for integers and timestamps, byte planes for
 *	  floats), zstd, and a CRC-32C over the stored bytes.
 *
 *	  Decoding trusts nothing it reads: every length is checked against the
 *	  buffer it points into, and a mismatch raises ERRCODE_DATA_CORRUPTED
 *	  naming the relation, row group and column.
 *
 * IDENTIFICATION
 *	  src/tam/compression.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <zstd.h>

#include "access/detoast.h"
#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "port/pg_crc32c.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#include "tam/columnar.h"

static void corrupted(Relation rel, Form_pg_attribute att, int64 row_group,
					  const char *why) pg_attribute_noreturn();
static bool delta_type(Oid typid);
static uint64 get_fixed(const char *p, int width);
static void put_fixed(char *p, int width, uint64 v);

/*
 * ColumnarChecksum
 *		CRC-32C of a chunk's stored bytes.
 */
uint32
ColumnarChecksum(const char *data, uint64 len)
{
	pg_crc32c	crc;

	INIT_CRC32C(crc);
	COMP_CRC32C(crc, data, len);
	FIN_CRC32C(crc);
	return (uint32) crc;
}

/* values longer than this leave a chunk without min/max */
#define COLUMNAR_MAX_MINMAX_BYTES 256

/*
 * ColumnarChunkMinMax
 *		Record the least and greatest non-NULL values of a chunk in their
 *		binary send form (exact and independent of settings such as
 *		TimeZone or extra_float_digits), for types with a default btree
 *		ordering (under the column's collation) and a send function;
 *		nothing for other types, all-NULL chunks and chunks with long
 *		values.  Reserved for row-group skipping.
 */
void
ColumnarChunkMinMax(Form_pg_attribute att, Datum *values, bool *isnull,
					int32 nrows, ColumnarChunk *chunk)
{
	TypeCacheEntry *tce = lookup_type_cache(att->atttypid,
											TYPECACHE_CMP_PROC_FINFO);
	Datum		min = (Datum) 0;
	Datum		max = (Datum) 0;
	bool		any = false;
	Oid			send;
	bool		varlena;
	int32		i;
	HeapTuple	typtup;

	chunk->min_value = NULL;
	chunk->max_value = NULL;
	if (!OidIsValid(tce->cmp_proc_finfo.fn_oid))
		return;
	typtup = SearchSysCache1(TYPEOID, ObjectIdGetDatum(att->atttypid));
	if (!HeapTupleIsValid(typtup))
		return;
	send = ((Form_pg_type) GETSTRUCT(typtup))->typsend;
	ReleaseSysCache(typtup);
	if (!OidIsValid(send))
		return;
	for (i = 0; i < nrows; i++)
	{
		if (isnull[i])
			continue;
		if (att->attlen == -1 &&
			VARSIZE_ANY_EXHDR(DatumGetPointer(values[i])) > COLUMNAR_MAX_MINMAX_BYTES)
			return;
		if (!any)
		{
			min = max = values[i];
			any = true;
			continue;
		}
		if (DatumGetInt32(FunctionCall2Coll(&tce->cmp_proc_finfo,
											att->attcollation,
											values[i], min)) < 0)
			min = values[i];
		else if (DatumGetInt32(FunctionCall2Coll(&tce->cmp_proc_finfo,
												 att->attcollation,
												 values[i], max)) > 0)
			max = values[i];
	}
	if (!any)
		return;
	getTypeBinaryOutputInfo(att->atttypid, &send, &varlena);
	chunk->min_value = OidSendFunctionCall(send, min);
	chunk->max_value = OidSendFunctionCall(send, max);
}

/* integer-like fixed-width types whose successive differences are small */
static bool
delta_type(Oid typid)
{
	switch (typid)
	{
		case INT2OID:
		case INT4OID:
		case INT8OID:
		case DATEOID:
		case TIMEOID:
		case TIMESTAMPOID:
		case TIMESTAMPTZOID:
			return true;
		default:
			return false;
	}
}

/* an unsigned little-or-native-endian integer of width bytes */
static uint64
get_fixed(const char *p, int width)
{
	switch (width)
	{
		case 1:
			return (uint8) *p;
		case 2:
			{
				uint16		v;

				memcpy(&v, p, 2);
				return v;
			}
		case 4:
			{
				uint32		v;

				memcpy(&v, p, 4);
				return v;
			}
		default:
			{
				uint64		v;

				memcpy(&v, p, 8);
				return v;
			}
	}
}

static void
put_fixed(char *p, int width, uint64 v)
{
	switch (width)
	{
		case 1:
			*p = (char) (uint8) v;
			break;
		case 2:
			{
				uint16		x = (uint16) v;

				memcpy(p, &x, 2);
				break;
			}
		case 4:
			{
				uint32		x = (uint32) v;

				memcpy(p, &x, 4);
				break;
			}
		default:
			memcpy(p, &v, 8);
			break;
	}
}

/*
 * ColumnarEncodeChunk
 *		Serialize nrows values of one column and compress them at level.
 *		Returns the stored bytes (palloc'd) and fills chunk, except offset.
 */
char *
ColumnarEncodeChunk(Form_pg_attribute att, Datum *values, bool *isnull,
					int32 nrows, int level, ColumnarChunk *chunk)
{
	StringInfoData raw;
	int32		nnull = 0;
	int32		i;
	char	   *stored;
	size_t		bound;
	size_t		rc;

	for (i = 0; i < nrows; i++)
		if (isnull[i])
			nnull++;

	memset(chunk, 0, sizeof(ColumnarChunk));
	chunk->present = true;
	chunk->null_count = nnull;
	chunk->encoding = COLUMNAR_ENCODING_PLAIN;

	initStringInfo(&raw);

	/* null bitmap only when there are NULLs: other columns pay nothing */
	if (nnull > 0)
	{
		int			nbytes = (nrows + 7) / 8;
		char	   *bits;

		enlargeStringInfo(&raw, nbytes);
		bits = raw.data + raw.len;
		memset(bits, 0, nbytes);
		for (i = 0; i < nrows; i++)
			if (isnull[i])
				bits[i / 8] |= (1 << (i % 8));
		raw.len += nbytes;
	}

	if (att->attbyval)
	{
		int			width = att->attlen;
		int32		nvals = nrows - nnull;
		char	   *p;
		uint64		prev = 0;
		bool		delta = delta_type(att->atttypid) && width > 1;
		bool		shuffle = (att->atttypid == FLOAT4OID ||
							   att->atttypid == FLOAT8OID);
		int32		k = 0;

		Assert(width == 1 || width == 2 || width == 4 || width == 8);
		enlargeStringInfo(&raw, (Size) nvals * width);
		p = raw.data + raw.len;
		for (i = 0; i < nrows; i++)
		{
			uint64		v;

			if (isnull[i])
				continue;
			switch (width)
			{
				case 1:
					v = (uint8) DatumGetChar(values[i]);
					break;
				case 2:
					v = (uint16) DatumGetInt16(values[i]);
					break;
				case 4:
					v = (uint32) DatumGetInt32(values[i]);
					break;
				default:
					v = (uint64) DatumGetInt64(values[i]);
					break;
			}
			if (delta)
			{
				uint64		d = v - prev;	/* wraps: exactly reversible */

				prev = v;
				v = d;
			}
			if (shuffle)
			{
				int			b;

				/* byte b of value k goes to plane b */
				for (b = 0; b < width; b++)
					p[(Size) b * nvals + k] = (char) ((v >> (8 * b)) & 0xFF);
			}
			else
				put_fixed(p + (Size) k * width, width, v);
			k++;
		}
		raw.len += nvals * width;
		if (delta)
			chunk->encoding = COLUMNAR_ENCODING_DELTA;
		else if (shuffle)
			chunk->encoding = COLUMNAR_ENCODING_SHUFFLE;
	}
	else
	{
		for (i = 0; i < nrows; i++)
		{
			if (isnull[i])
				continue;
			if (att->attlen > 0)
				appendBinaryStringInfo(&raw, DatumGetPointer(values[i]),
									   att->attlen);
			else
			{
				const char *data;
				uint32		len;

				if (att->attlen == -1)
				{
					struct varlena *v = (struct varlena *) DatumGetPointer(values[i]);

					if (VARATT_IS_EXTENDED(v) && !VARATT_IS_SHORT(v))
						v = detoast_attr(v);
					data = VARDATA_ANY(v);
					len = VARSIZE_ANY_EXHDR(v);
				}
				else
				{
					data = DatumGetCString(values[i]);
					len = strlen(data);
				}
				appendBinaryStringInfo(&raw, (char *) &len, sizeof(len));
				appendBinaryStringInfo(&raw, data, len);
			}
		}
	}

	chunk->raw_length = raw.len;
	if (raw.len == 0)
	{
		chunk->compression = COLUMNAR_COMPRESSION_NONE;
		chunk->length = 0;
		chunk->checksum = ColumnarChecksum(raw.data, 0);
		return raw.data;
	}

	bound = ZSTD_compressBound(raw.len);
	stored = palloc_extended(bound, MCXT_ALLOC_HUGE);
	rc = ZSTD_compress(stored, bound, raw.data, raw.len, level);
	if (ZSTD_isError(rc))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("zstd compression of column \"%s\" failed",
						NameStr(att->attname)),
				 errdetail("%s", ZSTD_getErrorName(rc))));
	if (rc >= (size_t) raw.len)
	{
		/* incompressible: keep the raw bytes */
		pfree(stored);
		chunk->compression = COLUMNAR_COMPRESSION_NONE;
		chunk->length = raw.len;
		chunk->checksum = ColumnarChecksum(raw.data, raw.len);
		return raw.data;
	}
	pfree(raw.data);
	chunk->compression = COLUMNAR_COMPRESSION_ZSTD;
	chunk->length = rc;
	chunk->checksum = ColumnarChecksum(stored, rc);
	return stored;
}

static void
corrupted(Relation rel, Form_pg_attribute att, int64 row_group,
		  const char *why)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("corrupted data in row group %lld, column \"%s\" of relation \"%s\"",
					(long long) row_group, NameStr(att->attname),
					RelationGetRelationName(rel)),
			 errdetail("%s", why)));
}

/*
 * ColumnarDecodeChunk
 *		Check, decompress and decode the stored bytes of one chunk into
 *		nrows values and null flags.  By-reference values are allocated in
 *		the current memory context.
 */
void
ColumnarDecodeChunk(Relation rel, Form_pg_attribute att, const char *stored,
					ColumnarChunk *chunk, int32 nrows, int64 row_group,
					Datum *values, bool *isnull)
{
	const char *raw;
	char	   *buf = NULL;
	uint64		rawlen = chunk->raw_length;
	uint64		pos = 0;
	int32		i;
	int32		nvals;

	if (ColumnarChecksum(stored, chunk->length) != chunk->checksum)
		corrupted(rel, att, row_group, "Checksum mismatch.");
	if (chunk->null_count < 0 || chunk->null_count > nrows)
		corrupted(rel, att, row_group, "Impossible NULL count.");

	if (chunk->compression == COLUMNAR_COMPRESSION_ZSTD)
	{
		size_t		rc;

		if (rawlen >= MaxAllocHugeSize)
			corrupted(rel, att, row_group, "Impossible decompressed length.");
		buf = palloc_extended(rawlen + 1, MCXT_ALLOC_HUGE);
		rc = ZSTD_decompress(buf, rawlen, stored, chunk->length);
		if (ZSTD_isError(rc))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("corrupted data in row group %lld, column \"%s\" of relation \"%s\"",
							(long long) row_group, NameStr(att->attname),
							RelationGetRelationName(rel)),
					 errdetail("zstd: %s", ZSTD_getErrorName(rc))));
		if (rc != rawlen)
			corrupted(rel, att, row_group, "Decompressed length differs from the recorded length.");
		raw = buf;
	}
	else if (chunk->compression == COLUMNAR_COMPRESSION_NONE)
	{
		if (chunk->length != rawlen)
			corrupted(rel, att, row_group, "Stored length differs from the recorded length.");
		raw = stored;
	}
	else
		corrupted(rel, att, row_group, "Unknown compression.");

	/* null bitmap */
	if (chunk->null_count > 0)
	{
		uint64		nbytes = (nrows + 7) / 8;
		int32		seen = 0;

		if (nbytes > rawlen)
			corrupted(rel, att, row_group, "Null bitmap is truncated.");
		for (i = 0; i < nrows; i++)
		{
			isnull[i] = (raw[i / 8] >> (i % 8)) & 1;
			seen += isnull[i];
		}
		if (seen != chunk->null_count)
			corrupted(rel, att, row_group, "Null bitmap disagrees with the NULL count.");
		pos = nbytes;
	}
	else
		memset(isnull, 0, sizeof(bool) * nrows);
	nvals = nrows - chunk->null_count;

	if (att->attbyval)
	{
		int			width = att->attlen;
		uint64		prev = 0;
		int32		k = 0;

		if (rawlen - pos != (uint64) nvals * width)
			corrupted(rel, att, row_group, "Value bytes do not match the row count.");
		if (chunk->encoding == COLUMNAR_ENCODING_SHUFFLE && width == 1)
			corrupted(rel, att, row_group, "Impossible encoding.");
		for (i = 0; i < nrows; i++)
		{
			uint64		v;

			if (isnull[i])
			{
				values[i] = (Datum) 0;
				continue;
			}
			if (chunk->encoding == COLUMNAR_ENCODING_SHUFFLE)
			{
				int			b;

				v = 0;
				for (b = 0; b < width; b++)
					v |= ((uint64) (uint8) raw[pos + (Size) b * nvals + k]) << (8 * b);
			}
			else
				v = get_fixed(raw + pos + (Size) k * width, width);
			if (chunk->encoding == COLUMNAR_ENCODING_DELTA)
			{
				v = v + prev;
				prev = v;
			}
			switch (width)
			{
				case 1:
					values[i] = CharGetDatum((char) (uint8) v);
					break;
				case 2:
					values[i] = Int16GetDatum((int16) (uint16) v);
					break;
				case 4:
					values[i] = Int32GetDatum((int32) (uint32) v);
					break;
				default:
					values[i] = Int64GetDatum((int64) v);
					break;
			}
			k++;
		}
	}
	else if (att->attlen > 0)
	{
		Size		stride = MAXALIGN(att->attlen);
		char	   *arena;
		int32		k = 0;

		if (rawlen - pos != (uint64) nvals * att->attlen)
			corrupted(rel, att, row_group, "Value bytes do not match the row count.");
		arena = palloc_extended(stride * Max(nvals, 1), MCXT_ALLOC_HUGE);
		for (i = 0; i < nrows; i++)
		{
			if (isnull[i])
			{
				values[i] = (Datum) 0;
				continue;
			}
			memcpy(arena + stride * k, raw + pos + (Size) k * att->attlen,
				   att->attlen);
			values[i] = PointerGetDatum(arena + stride * k);
			k++;
		}
	}
	else
	{
		/* two passes: sizes first, so one arena holds every value */
		uint64		p = pos;
		Size		total = 0;
		char	   *arena;
		Size		at = 0;
		int32		k;

		for (k = 0; k < nvals; k++)
		{
			uint32		len;

			if (rawlen - p < sizeof(uint32))
				corrupted(rel, att, row_group, "Value length is truncated.");
			memcpy(&len, raw + p, sizeof(uint32));
			p += sizeof(uint32);
			if (len > rawlen - p || len > MaxAllocSize - VARHDRSZ - 1)
				corrupted(rel, att, row_group, "Value is truncated.");
			p += len;
			total += MAXALIGN(len + VARHDRSZ + 1);
		}
		if (p != rawlen)
			corrupted(rel, att, row_group, "Trailing bytes after the last value.");
		arena = palloc_extended(Max(total, 1), MCXT_ALLOC_HUGE);
		p = pos;
		for (i = 0; i < nrows; i++)
		{
			uint32		len;
			char	   *v = arena + at;

			if (isnull[i])
			{
				values[i] = (Datum) 0;
				continue;
			}
			memcpy(&len, raw + p, sizeof(uint32));
			p += sizeof(uint32);
			if (att->attlen == -1)
			{
				SET_VARSIZE(v, len + VARHDRSZ);
				memcpy(VARDATA(v), raw + p, len);
			}
			else
			{
				memcpy(v, raw + p, len);
				v[len] = '\0';
			}
			p += len;
			at += MAXALIGN(len + VARHDRSZ + 1);
			values[i] = PointerGetDatum(v);
		}
	}

	if (buf)
		pfree(buf);
}
