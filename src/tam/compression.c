/*-------------------------------------------------------------------------
 *
 * compression.c
 *	  One column of one row group to bytes and back: null bitmap (only when
 *	  the column has NULLs in the row group), values, an encoding that suits
 *	  time series (delta for integers and timestamps; for floats decimal
 *	  scaling when every value is a short decimal, else byte planes), zstd,
 *	  and a CRC-32C over the stored bytes.
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

#include <math.h>
#include <zstd.h>

#include "access/detoast.h"
#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "port/pg_crc32c.h"
#include "utils/float.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#include "tam/columnar.h"

/*
 * zstd contexts, made at first use and kept for the backend's life: a
 * context per chunk cost its allocation (megabytes at higher levels, page
 * faults included) for every column of every row group written or read.
 */
static ZSTD_CCtx *zstd_cctx = NULL;
static ZSTD_DCtx *zstd_dctx = NULL;

static void corrupted(Relation rel, Form_pg_attribute att, int64 row_group,
					  const char *why) pg_attribute_noreturn();
static bool delta_type(Oid typid);
static uint64 get_fixed(const char *p, int width);
static void put_fixed(char *p, int width, uint64 v);
static bool encode_decimal(Form_pg_attribute att, Datum *values, bool *isnull,
						   int32 nrows, int32 nvals, StringInfo raw,
						   ColumnarChunk *chunk);
static void decode_decimal(Relation rel, Form_pg_attribute att,
						   const char *raw, uint64 len, ColumnarChunk *chunk,
						   int32 nrows, int32 nvals, int64 row_group,
						   const bool *wanted, Datum *values, bool *isnull);

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
 * The comparisons of the chunk's least and greatest value: the types a
 * telemetry table is made of are compared inline, as their default btree
 * operator classes do (floats: NaN above everything, -0 equal to 0), the
 * others through the opclass's comparison function.
 */
typedef enum MinMaxCmp
{
	MINMAX_FMGR,
	MINMAX_INT2,
	MINMAX_INT4,
	MINMAX_INT8,
	MINMAX_FLOAT4,
	MINMAX_FLOAT8
} MinMaxCmp;

static MinMaxCmp
fast_cmp_of(Oid typid)
{
	switch (typid)
	{
		case INT2OID:
			return MINMAX_INT2;
		case INT4OID:
		case DATEOID:
			return MINMAX_INT4;
		case INT8OID:
		case TIMESTAMPOID:
		case TIMESTAMPTZOID:
		case TIMEOID:
			return MINMAX_INT8;
		case FLOAT4OID:
			return MINMAX_FLOAT4;
		case FLOAT8OID:
			return MINMAX_FLOAT8;
		default:
			return MINMAX_FMGR;
	}
}

static inline int
fast_cmp(MinMaxCmp kind, Datum a, Datum b)
{
	switch (kind)
	{
		case MINMAX_INT2:
			return (DatumGetInt16(a) > DatumGetInt16(b)) - (DatumGetInt16(a) < DatumGetInt16(b));
		case MINMAX_INT4:
			return (DatumGetInt32(a) > DatumGetInt32(b)) - (DatumGetInt32(a) < DatumGetInt32(b));
		case MINMAX_INT8:
			return (DatumGetInt64(a) > DatumGetInt64(b)) - (DatumGetInt64(a) < DatumGetInt64(b));
		case MINMAX_FLOAT4:
			return float4_cmp_internal(DatumGetFloat4(a), DatumGetFloat4(b));
		case MINMAX_FLOAT8:
			return float8_cmp_internal(DatumGetFloat8(a), DatumGetFloat8(b));
		case MINMAX_FMGR:
			break;
	}
	pg_unreachable();
}

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
	MinMaxCmp	fast = fast_cmp_of(att->atttypid);
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
		if (fast != MINMAX_FMGR)
		{
			if (fast_cmp(fast, values[i], min) < 0)
				min = values[i];
			else if (fast_cmp(fast, values[i], max) > 0)
				max = values[i];
		}
		else if (DatumGetInt32(FunctionCall2Coll(&tce->cmp_proc_finfo,
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
 * Decimal scaling of float4/float8 chunks.
 *
 * Telemetry is mostly rounded decimals (49.987 Hz, 220.45 kV): as binary
 * floats their low mantissa bits look random and zstd cannot shrink them,
 * but as integers m with v = m / 10^d they are small numbers.  A chunk is
 * stored this way only when this holds *exactly* for every non-NULL value:
 * the encoder checks each value by computing what the decoder will compute
 * (decimal_value) and comparing the bits, so -0.0, NaN, infinities,
 * denormals and values with too many digits make the chunk fall back to
 * byte planes.
 *
 * The values section (after the null bitmap, if any) is a header
 *
 *	 byte 0      DECIMAL_TAG
 *	 byte 1      scale d (0 .. DECIMAL_MAX_SCALE)
 *	 byte 2      width w of the packed values (1 .. 8 bytes)
 *	 byte 3      0
 *	 bytes 4-7   stride s (int32): 0 for COLUMNAR_ENCODING_DECIMAL,
 *	             1 .. count - 1 for COLUMNAR_ENCODING_DECIMAL_DELTA
 *	 bytes 8-11  count (int32): the number of non-NULL values
 *	 bytes 12-19 base (int64): the least mantissa
 *
 * followed by w byte planes of count bytes each (byte k of every packed
 * value together).  With x[i] = m[i] - base, the packed value is x[i], or,
 * with a stride s, x[i] for i < s and zigzag(x[i] - x[i - s]) after: one
 * station's consecutive samples are s rows apart when a grid reports all
 * stations every second.  Measured on a replica of the canonical hour
 * (150,000-row chunks, zstd level 3, bytes per row): load_mw 5.74 as byte
 * planes of the float bits, 2.66 as x[] packed value by value, 2.04 as x[]
 * in byte planes, 2.10 with stride 1, 1.65 with stride 1,400; generation_mw 6.08,
 * 2.64, 2.20, 2.29, 2.15; frequency_hz 5.05, 0.84, 0.84, 0.93, 0.92;
 * voltage_kv 4.01, 1.42, 1.26, 1.34, 1.34; varints were worse than byte
 * planes in every case.  So: byte planes, and a stride only where it makes
 * the numbers smaller (decimal_choose_stride).
 */
#define DECIMAL_TAG 0xDC
#define DECIMAL_MAX_SCALE 15
#define DECIMAL_HEADER_BYTES 20
/* strides tried, and values sampled to try them */
#define DECIMAL_MAX_STRIDE 4096
#define DECIMAL_STRIDE_SAMPLES 128

static const double decimal_pow10[DECIMAL_MAX_SCALE + 1] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7,
	1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15
};

/* the value of mantissa m at scale d: the decoder's one computation */
static inline double
decimal_value(int64 m, int d)
{
	return (double) m / decimal_pow10[d];
}

static inline uint64
zigzag(uint64 v)
{
	return (v << 1) ^ (uint64) ((int64) v >> 63);
}

static inline uint64
unzigzag(uint64 v)
{
	return (v >> 1) ^ (uint64) -(int64) (v & 1);
}

/* significant bits of v */
static inline int
bit_length(uint64 v)
{
	return v == 0 ? 0 : 64 - __builtin_clzll(v);
}

/*
 * decimal_mantissa
 *		Whether v (a float4's value widened, when float4) is exactly
 *		decimal_value(m, d) (then rounded to float4); sets *m.
 */
static bool
decimal_mantissa(double v, bool float4, int d, int64 *m)
{
	double		t = v * decimal_pow10[d];
	int64		mm;

	if (!(fabs(t) < 4611686018427387904.0))	/* 2^62; also NaN */
		return false;
	mm = (int64) rint(t);
	if (float4)
	{
		float		back = (float) decimal_value(mm, d);
		float		orig = (float) v;

		if (memcmp(&back, &orig, sizeof(float)) != 0)
			return false;
	}
	else
	{
		double		back = decimal_value(mm, d);

		if (memcmp(&back, &v, sizeof(double)) != 0)
			return false;
	}
	*m = mm;
	return true;
}

/*
 * decimal_choose_stride
 *		The stride s (0: none) whose differences x[i] - x[i - s] have the
 *		fewest significant bits in total, if fewer than x itself.  Strides
 *		1 .. DECIMAL_MAX_STRIDE are compared on a sample, the best one and
 *		no stride on every value.  Any answer decodes correctly; this only
 *		decides the size.
 */
static int32
decimal_choose_stride(const uint64 *x, int32 n)
{
	int32		maxs = Min(DECIMAL_MAX_STRIDE, n / 2);
	int32		best = 0;
	uint64		best_cost = PG_UINT64_MAX;
	uint64		cost_none = 0;
	uint64		cost_best = 0;
	int32		s;
	int32		i;

	uint32		costs[DECIMAL_MAX_STRIDE + 1];
	int32		j;

	if (n < 16)
		return 0;

	/*
	 * Sample by sample, every stride: the values one sample is compared
	 * with lie next to each other (stride by stride they were a cache miss
	 * each).  At most 128 x 64 bits a stride: fits a uint32.
	 */
	memset(costs, 0, sizeof(uint32) * (maxs + 1));
	for (j = 0; j < DECIMAL_STRIDE_SAMPLES; j++)
	{
		int32		at = maxs + (int32) ((int64) j * (n - maxs) / DECIMAL_STRIDE_SAMPLES);
		uint64		v = x[at];

		for (s = 1; s <= maxs; s++)
			costs[s] += bit_length(zigzag(v - x[at - s]));
	}
	for (s = 1; s <= maxs; s++)
		if (costs[s] < best_cost)
		{
			best_cost = costs[s];
			best = s;
		}
	for (i = 0; i < n; i++)
	{
		cost_none += bit_length(x[i]);
		cost_best += bit_length(i < best ? x[i] : zigzag(x[i] - x[i - best]));
	}
	return cost_best < cost_none ? best : 0;
}

/*
 * encode_decimal
 *		Append the values section of a decimal-scaled float4/float8 chunk
 *		to raw and set chunk->encoding, if every non-NULL value is exactly
 *		a decimal of at most DECIMAL_MAX_SCALE digits after the point;
 *		otherwise return false and leave raw alone.
 */
static bool
encode_decimal(Form_pg_attribute att, Datum *values, bool *isnull,
			   int32 nrows, int32 nvals, StringInfo raw, ColumnarChunk *chunk)
{
	bool		float4 = (att->atttypid == FLOAT4OID);
	int64	   *m;
	uint64	   *x;
	int64		base;
	uint64		maxu = 0;
	int			d = 0;
	int32		checked = 0;	/* m[0 .. checked-1] are at scale d */
	int32		stride;
	int			width;
	int32		i;
	int32		k;
	char	   *p;

	if (nvals == 0)
		return false;
	m = palloc_extended(sizeof(int64) * nvals, MCXT_ALLOC_HUGE);
	k = 0;
	for (i = 0; i < nrows; i++)
	{
		double		v;

		if (isnull[i])
			continue;
		v = float4 ? (double) DatumGetFloat4(values[i]) : DatumGetFloat8(values[i]);
		while (!decimal_mantissa(v, float4, d, &m[k]))
		{
			if (++d > DECIMAL_MAX_SCALE)
			{
				pfree(m);
				return false;
			}
			checked = 0;
		}
		if (checked == k)
			checked++;
		k++;
	}
	/* values before the last change of scale: again at the final one */
	if (checked < nvals)
	{
		k = 0;
		for (i = 0; i < nrows && k < nvals; i++)
		{
			double		v;

			if (isnull[i])
				continue;
			v = float4 ? (double) DatumGetFloat4(values[i]) : DatumGetFloat8(values[i]);
			if (!decimal_mantissa(v, float4, d, &m[k]))
			{
				pfree(m);
				return false;
			}
			k++;
		}
	}

	base = m[0];
	for (k = 1; k < nvals; k++)
		if (m[k] < base)
			base = m[k];
	x = palloc_extended(sizeof(uint64) * nvals, MCXT_ALLOC_HUGE);
	for (k = 0; k < nvals; k++)
		x[k] = (uint64) m[k] - (uint64) base;
	pfree(m);

	stride = decimal_choose_stride(x, nvals);
	/* packed values in place, last first (x[k - stride] is still needed) */
	if (stride > 0)
		for (k = nvals - 1; k >= stride; k--)
			x[k] = zigzag(x[k] - x[k - stride]);
	for (k = 0; k < nvals; k++)
		maxu |= x[k];
	width = Max(1, (bit_length(maxu) + 7) / 8);

	enlargeStringInfo(raw, DECIMAL_HEADER_BYTES + (Size) nvals * width);
	p = raw->data + raw->len;
	p[0] = (char) DECIMAL_TAG;
	p[1] = (char) d;
	p[2] = (char) width;
	p[3] = 0;
	memcpy(p + 4, &stride, sizeof(int32));
	memcpy(p + 8, &nvals, sizeof(int32));
	memcpy(p + 12, &base, sizeof(int64));
	p += DECIMAL_HEADER_BYTES;
	for (k = 0; k < nvals; k++)
	{
		int			b;

		for (b = 0; b < width; b++)
			p[(Size) b * nvals + k] = (char) ((x[k] >> (8 * b)) & 0xFF);
	}
	raw->len += DECIMAL_HEADER_BYTES + nvals * width;
	pfree(x);
	chunk->encoding = stride > 0 ? COLUMNAR_ENCODING_DECIMAL_DELTA :
		COLUMNAR_ENCODING_DECIMAL;
	return true;
}

/*
 * decode_decimal
 *		Check and decode the len bytes of a decimal values section into the
 *		non-NULL rows of values.
 */
static void
decode_decimal(Relation rel, Form_pg_attribute att, const char *raw,
			   uint64 len, ColumnarChunk *chunk, int32 nrows, int32 nvals,
			   int64 row_group, const bool *wanted, Datum *values,
			   bool *isnull)
{
	bool		float4 = (att->atttypid == FLOAT4OID);
	int			d;
	int			width;
	int32		stride;
	int32		count;
	int64		base;
	uint64	   *x;
	const char *p;
	int32		i;
	int32		k;

	if (!att->attbyval ||
		(att->atttypid != FLOAT4OID && att->atttypid != FLOAT8OID))
		corrupted(rel, att, row_group, "Impossible encoding.");
	if (len < DECIMAL_HEADER_BYTES)
		corrupted(rel, att, row_group, "Decimal header is truncated.");
	if ((uint8) raw[0] != DECIMAL_TAG || raw[3] != 0)
		corrupted(rel, att, row_group, "Decimal header is invalid.");
	d = (uint8) raw[1];
	width = (uint8) raw[2];
	memcpy(&stride, raw + 4, sizeof(int32));
	memcpy(&count, raw + 8, sizeof(int32));
	memcpy(&base, raw + 12, sizeof(int64));
	if (d > DECIMAL_MAX_SCALE)
		corrupted(rel, att, row_group, "Decimal scale is out of range.");
	if (width < 1 || width > 8)
		corrupted(rel, att, row_group, "Decimal value width is out of range.");
	if (count != nvals)
		corrupted(rel, att, row_group, "Mantissa count does not match the row count.");
	if (chunk->encoding == COLUMNAR_ENCODING_DECIMAL ? stride != 0 :
		(stride < 1 || stride >= nvals))
		corrupted(rel, att, row_group, "Delta stride is out of range.");
	if (len - DECIMAL_HEADER_BYTES != (uint64) nvals * width)
		corrupted(rel, att, row_group, "Mantissa bytes do not match the row count.");

	/*
	 * The mantissas are assembled in values itself (a Datum holds a uint64
	 * here: float8 is by value), then turned into floats in place, from
	 * the last row back so that NULL rows can be spread out: x[k] is only
	 * overwritten at row i >= k.
	 */
	StaticAssertStmt(sizeof(Datum) == sizeof(uint64), "Datum holds a uint64");
	p = raw + DECIMAL_HEADER_BYTES;
	x = (uint64 *) values;
	for (k = 0; k < nvals; k++)
		x[k] = (uint8) p[k];
	for (i = 1; i < width; i++)
	{
		const char *plane = p + (Size) i * nvals;

		for (k = 0; k < nvals; k++)
			x[k] |= ((uint64) (uint8) plane[k]) << (8 * i);
	}
	if (stride > 0)
		for (k = stride; k < nvals; k++)
			x[k] = x[k - stride] + unzigzag(x[k]);	/* wraps: as encoded */

	k = nvals - 1;
	for (i = nrows - 1; i >= 0; i--)
	{
		double		v;

		if (isnull[i] || (wanted && !wanted[i]))
		{
			k -= !isnull[i];
			values[i] = (Datum) 0;
			continue;
		}
		v = decimal_value((int64) ((uint64) base + x[k]), d);
		values[i] = float4 ? Float4GetDatum((float) v) : Float8GetDatum(v);
		k--;
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
		if (shuffle && encode_decimal(att, values, isnull, nrows, nvals,
									  &raw, chunk))
			goto compress;
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

					if (VARATT_IS_EXTERNAL(v) || VARATT_IS_COMPRESSED(v))
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

compress:
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
	if (zstd_cctx == NULL && (zstd_cctx = ZSTD_createCCtx()) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory"),
				 errdetail("Failed to create a zstd compression context.")));
	rc = ZSTD_compressCCtx(zstd_cctx, stored, bound, raw.data, raw.len, level);
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
 * ColumnarScratchGet
 *		scratch's buffer, grown to at least size bytes (its contents are
 *		not kept when it grows).
 */
char *
ColumnarScratchGet(ColumnarScratch *scratch, Size size)
{
	if (scratch->data == NULL || scratch->size < size)
	{
		if (scratch->data)
			pfree(scratch->data);
		scratch->data = NULL;
		/* some room, so that slightly larger chunks do not reallocate */
		if (size < MaxAllocHugeSize / 2)
			size = Max(size + size / 8, 8192);
		scratch->data = MemoryContextAllocHuge(scratch->cxt, size);
		scratch->size = size;
	}
	return scratch->data;
}

/*
 * ColumnarDecodeChunk
 *		Check, decompress and decode the stored bytes of one chunk into
 *		nrows values and null flags.  By-reference values are allocated in
 *		the current memory context; a value equal to the one of the row
 *		before (the next non-NULL row) is not copied again: both rows point
 *		to the same copy.  wanted (NULL: all rows) names the rows
 *		whose values the caller will look at: a decoder may leave the
 *		others' values 0 where that saves work (the null flags and every
 *		check are always done in full).  scratch (NULL: none) is the
 *		buffer to decompress into.
 */
void
ColumnarDecodeChunk(Relation rel, Form_pg_attribute att, const char *stored,
					ColumnarChunk *chunk, int32 nrows, int64 row_group,
					const bool *wanted, Datum *values, bool *isnull,
					ColumnarScratch *scratch)
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
		if (scratch)
			raw = ColumnarScratchGet(scratch, rawlen + 1);
		else
			raw = buf = palloc_extended(rawlen + 1, MCXT_ALLOC_HUGE);
		if (zstd_dctx == NULL && (zstd_dctx = ZSTD_createDCtx()) == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory"),
					 errdetail("Failed to create a zstd decompression context.")));
		rc = ZSTD_decompressDCtx(zstd_dctx, (char *) raw, rawlen, stored,
								 chunk->length);
		if (ZSTD_isError(rc))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("corrupted data in row group %lld, column \"%s\" of relation \"%s\"",
							(long long) row_group, NameStr(att->attname),
							RelationGetRelationName(rel)),
					 errdetail("zstd: %s", ZSTD_getErrorName(rc))));
		if (rc != rawlen)
			corrupted(rel, att, row_group, "Decompressed length differs from the recorded length.");
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

	if (chunk->encoding < COLUMNAR_ENCODING_PLAIN ||
		chunk->encoding > COLUMNAR_ENCODING_DECIMAL_DELTA ||
		(!att->attbyval && chunk->encoding != COLUMNAR_ENCODING_PLAIN))
		corrupted(rel, att, row_group, "Impossible encoding.");

	if (att->attbyval)
	{
		int			width = att->attlen;
		uint64		prev = 0;
		int32		k = 0;

		if (chunk->encoding == COLUMNAR_ENCODING_DECIMAL ||
			chunk->encoding == COLUMNAR_ENCODING_DECIMAL_DELTA)
		{
			decode_decimal(rel, att, raw + pos, rawlen - pos, chunk, nrows,
						   nvals, row_group, wanted, values, isnull);
			if (buf)
				pfree(buf);
			return;
		}
		if (rawlen - pos != (uint64) nvals * width)
			corrupted(rel, att, row_group, "Value bytes do not match the row count.");
		if (chunk->encoding == COLUMNAR_ENCODING_SHUFFLE && width == 1)
			corrupted(rel, att, row_group, "Impossible encoding.");
		if (nvals == nrows && width == 8 &&
			(chunk->encoding == COLUMNAR_ENCODING_PLAIN ||
			 chunk->encoding == COLUMNAR_ENCODING_DELTA))
		{
			/* the common case of times and bigints, without a switch a row */
			const char *src = raw + pos;

			for (i = 0; i < nrows; i++)
			{
				uint64		v;

				memcpy(&v, src + (Size) i * 8, 8);
				if (chunk->encoding == COLUMNAR_ENCODING_DELTA)
				{
					v += prev;
					prev = v;
				}
				values[i] = Int64GetDatum((int64) v);
			}
			if (buf)
				pfree(buf);
			return;
		}
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
		char	   *prev = NULL;	/* the last copy made */
		uint32		prev_len = 0;
		const char *prev_data = NULL;	/* its bytes in raw */

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
			/* the value of the row before, again: share its copy */
			if (prev != NULL && len == prev_len &&
				memcmp(prev_data, raw + p, len) == 0)
			{
				p += len;
				values[i] = PointerGetDatum(prev);
				continue;
			}
			prev = v;
			prev_len = len;
			prev_data = raw + p;
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
