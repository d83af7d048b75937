/*-------------------------------------------------------------------------
 *
 * extreme.c
 *	  Top-k lists: how a rollup keeps min(x) and max(x) exact under
 *	  retraction without reading the source.
 *
 * A group's min is kept not as one value but as the FG_TOPK_KEEP best
 * distinct values of the group, each with the number of rows that hold it.
 * Retracting the minimum then promotes the runner-up; the source is read
 * only when every kept value has been retracted (the list "runs dry").
 *
 * A list is exact down to its last entry: every row of the multiset whose
 * value is at least as good as the last entry is counted in the list.  A
 * list that had to drop values ("truncated") knows nothing of values worse
 * than its last entry; an untruncated list holds the whole multiset.
 * Combining lists (a union of inserted rows, or state + inserted - deleted)
 * is exact down to the most restrictive last entry among the truncated
 * inputs, so entries worse than that are cut and the result is truncated.
 * A count that would go negative cannot happen with consistent inputs;
 * like an empty truncated list, it makes the result "dry", which the fold
 * answers with a recompute from the source.
 *
 * Lists are stored as bytea (engine state columns _fg_<i>_k, changelog
 * columns _fg_<i>_ins/_del); fluss_grid.topk_text() shows one.  The same
 * code accumulates rows for the SQL lift (aggregate fluss_grid.topk) and
 * the C lift (FgTopKAdd), so both write the same bytes.
 *
 * Values are compared with the type's default btree comparator, so NaN
 * equals NaN and sorts above every number, as in PostgreSQL's min/max.
 * Among equal values (1.5 and 1.50, 0 and -0) the later row's value
 * represents the group in the accumulation, as min() and max() keep it;
 * a combination keeps the representative of the earlier input, as least()
 * and greatest() do.
 *
 * IDENTIFICATION
 *	  src/extreme.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/detoast.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/float.h"
#include "utils/lsyscache.h"
#include "utils/typcache.h"

#include "fluss_grid.h"

PG_FUNCTION_INFO_V1(fluss_grid_topk_accum);
PG_FUNCTION_INFO_V1(fluss_grid_topk_merge_accum);
PG_FUNCTION_INFO_V1(fluss_grid_topk_final);
PG_FUNCTION_INFO_V1(fluss_grid_topk_apply);
PG_FUNCTION_INFO_V1(fluss_grid_topk_stale);
PG_FUNCTION_INFO_V1(fluss_grid_topk_best);
PG_FUNCTION_INFO_V1(fluss_grid_topk_text);

/* flags of the stored form */
#define TOPK_MAX	0x01		/* best = largest */
#define TOPK_TRUNC	0x02		/* values worse than the last were dropped */
#define TOPK_DRY	0x04		/* unusable: the group must be recomputed */

/*
 * Stored form: this header, then n entries, each an int64 count followed by
 * the value (a Datum for by-value types, else the value's bytes), every
 * entry padded to a multiple of 8 bytes.  The bytea itself is 4-aligned,
 * which is all a varlena value inside it needs.
 */
typedef struct TopKDisk
{
	int32		vl_len_;
	Oid			typid;
	uint8		flags;
	uint8		unused;
	uint16		n;
} TopKDisk;

#define TOPK_HDRSZ	MAXALIGN(sizeof(TopKDisk))

/* in-memory list; values of by-reference types are owned by cxt */
struct FgTopK
{
	Oid			typid;
	int16		typlen;
	bool		typbyval;
	bool		is_max;
	bool		trunc;
	bool		dry;
	int			n;
	FmgrInfo   *cmp;
	MemoryContext cxt;
	Datum		vals[FG_TOPK_KEEP + 1];
	int64		cnts[FG_TOPK_KEEP + 1];
};

/* an entry list of any length, for combining */
typedef struct TopKWork
{
	int			n;
	int			cap;
	Datum	   *vals;
	int64	   *cnts;
} TopKWork;

static FgTopK *topk_new(Oid typid, bool is_max, MemoryContext cxt);
static int	topk_order(const FgTopK *tk, Datum a, Datum b);
static Datum topk_copy_value(const FgTopK *tk, Datum x);
static FgTopK *topk_read(bytea *b, MemoryContext cxt);
static bytea *topk_write(const FgTopK *tk);
static FgTopK *topk_combine(FgTopK **lists, const int *signs, int nlists,
							MemoryContext cxt);

/*
 * topk_new
 *		An empty list of values of typid.
 */
static FgTopK *
topk_new(Oid typid, bool is_max, MemoryContext cxt)
{
	TypeCacheEntry *tc = lookup_type_cache(typid, TYPECACHE_CMP_PROC_FINFO);
	FgTopK	   *tk;

	if (!OidIsValid(tc->cmp_proc_finfo.fn_oid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("could not identify a comparison function for type %s",
						format_type_be(typid))));
	if (tc->typlen > 0 && !tc->typbyval && tc->typlen > 1024)
		elog(ERROR, "fluss_grid: type %s is too wide for a top-k list",
			 format_type_be(typid));
	tk = MemoryContextAllocZero(cxt, sizeof(FgTopK));
	tk->typid = typid;
	tk->typlen = tc->typlen;
	tk->typbyval = tc->typbyval;
	tk->is_max = is_max;
	tk->cmp = &tc->cmp_proc_finfo;
	tk->cxt = cxt;
	return tk;
}

/* < 0 when a is the better extreme (sorts first in the list) */
static int
topk_order(const FgTopK *tk, Datum a, Datum b)
{
	int			c;

	switch (tk->typid)
	{
		case INT2OID:
			c = (int) DatumGetInt16(a) - (int) DatumGetInt16(b);
			break;
		case INT4OID:
			c = DatumGetInt32(a) < DatumGetInt32(b) ? -1 :
				DatumGetInt32(a) > DatumGetInt32(b) ? 1 : 0;
			break;
		case INT8OID:
			c = DatumGetInt64(a) < DatumGetInt64(b) ? -1 :
				DatumGetInt64(a) > DatumGetInt64(b) ? 1 : 0;
			break;
		case FLOAT4OID:
			c = float4_cmp_internal(DatumGetFloat4(a), DatumGetFloat4(b));
			break;
		case FLOAT8OID:
			c = float8_cmp_internal(DatumGetFloat8(a), DatumGetFloat8(b));
			break;
		default:
			c = DatumGetInt32(FunctionCall2Coll(tk->cmp, InvalidOid, a, b));
			break;
	}
	return tk->is_max ? -c : c;
}

/* x copied into the list's context, varlenas with a 4-byte header */
static Datum
topk_copy_value(const FgTopK *tk, Datum x)
{
	MemoryContext old;
	Datum		r;

	if (tk->typbyval)
		return x;
	old = MemoryContextSwitchTo(tk->cxt);
	if (tk->typlen == -1)
	{
		struct varlena *v = (struct varlena *) DatumGetPointer(x);

		if (VARATT_IS_EXTENDED(v))
			r = PointerGetDatum(detoast_attr(v));
		else
			r = datumCopy(x, false, -1);
	}
	else
		r = datumCopy(x, false, tk->typlen);
	MemoryContextSwitchTo(old);
	return r;
}

static void
topk_free_value(const FgTopK *tk, Datum x)
{
	if (!tk->typbyval)
		pfree(DatumGetPointer(x));
}

/*
 * FgTopKCreate
 *		An empty list for the C lift, in cxt.
 */
FgTopK *
FgTopKCreate(Oid typid, bool is_max, MemoryContext cxt)
{
	return topk_new(typid, is_max, cxt);
}

/*
 * FgTopKAdd
 *		Count w rows holding the non-NULL value x.
 */
void
FgTopKAdd(FgTopK *tk, Datum x, int64 w)
{
	int			p;

	/* the common case: worse than a full list's last entry */
	if (tk->n == FG_TOPK_KEEP && topk_order(tk, x, tk->vals[tk->n - 1]) > 0)
	{
		tk->trunc = true;
		return;
	}
	for (p = tk->n - 1; p >= 0; p--)
	{
		int			c = topk_order(tk, x, tk->vals[p]);

		if (c == 0)
		{
			/* the later of equal values represents them, as min() keeps */
			tk->cnts[p] += w;
			if (!tk->typbyval)
			{
				topk_free_value(tk, tk->vals[p]);
				tk->vals[p] = topk_copy_value(tk, x);
			}
			else
				tk->vals[p] = x;
			return;
		}
		if (c > 0)
			break;
	}
	/* x goes to p + 1, after the entries better than it */
	p++;
	memmove(&tk->vals[p + 1], &tk->vals[p], sizeof(Datum) * (tk->n - p));
	memmove(&tk->cnts[p + 1], &tk->cnts[p], sizeof(int64) * (tk->n - p));
	tk->vals[p] = topk_copy_value(tk, x);
	tk->cnts[p] = w;
	tk->n++;
	if (tk->n > FG_TOPK_KEEP)
	{
		tk->n--;
		topk_free_value(tk, tk->vals[tk->n]);
		tk->trunc = true;
	}
}

/*
 * FgTopKIsEmpty
 *		No row counted yet.
 */
bool
FgTopKIsEmpty(const FgTopK *tk)
{
	return tk == NULL || (tk->n == 0 && !tk->trunc);
}

/*
 * FgTopKSerialize
 *		The stored form of a non-empty list, in CurrentMemoryContext.
 */
bytea *
FgTopKSerialize(const FgTopK *tk)
{
	return topk_write(tk);
}

static Size
topk_value_size(const FgTopK *tk, Datum v)
{
	if (tk->typbyval)
		return sizeof(Datum);
	if (tk->typlen == -1)
		return VARSIZE(DatumGetPointer(v));
	return tk->typlen;
}

static bytea *
topk_write(const FgTopK *tk)
{
	Size		len = TOPK_HDRSZ;
	TopKDisk   *d;
	char	   *p;

	for (int i = 0; i < tk->n; i++)
		len += MAXALIGN(sizeof(int64) + topk_value_size(tk, tk->vals[i]));
	d = palloc0(len);
	SET_VARSIZE(d, len);
	d->typid = tk->typid;
	d->flags = (tk->is_max ? TOPK_MAX : 0) | (tk->trunc ? TOPK_TRUNC : 0) |
		(tk->dry ? TOPK_DRY : 0);
	d->n = tk->n;
	p = (char *) d + TOPK_HDRSZ;
	for (int i = 0; i < tk->n; i++)
	{
		Size		vs = topk_value_size(tk, tk->vals[i]);

		memcpy(p, &tk->cnts[i], sizeof(int64));
		if (tk->typbyval)
			memcpy(p + sizeof(int64), &tk->vals[i], sizeof(Datum));
		else
			memcpy(p + sizeof(int64), DatumGetPointer(tk->vals[i]), vs);
		p += MAXALIGN(sizeof(int64) + vs);
	}
	return (bytea *) d;
}

/*
 * topk_read
 *		Parse a stored list; by-reference values point into b, which must
 *		outlive the result.  Anything malformed is reported, not trusted.
 */
static FgTopK *
topk_read(bytea *b, MemoryContext cxt)
{
	TopKDisk   *d = (TopKDisk *) b;
	Size		len = VARSIZE(b);
	FgTopK	   *tk;
	char	   *p;
	char	   *end = (char *) b + len;

	if (len < TOPK_HDRSZ || d->n > FG_TOPK_KEEP ||
		(d->flags & ~(TOPK_MAX | TOPK_TRUNC | TOPK_DRY)) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid fluss_grid top-k list")));
	tk = topk_new(d->typid, (d->flags & TOPK_MAX) != 0, cxt);
	tk->trunc = (d->flags & TOPK_TRUNC) != 0;
	tk->dry = (d->flags & TOPK_DRY) != 0;
	p = (char *) d + TOPK_HDRSZ;
	for (int i = 0; i < d->n; i++)
	{
		Size		vs;

		if (p + sizeof(int64) + (tk->typlen == -1 ? VARHDRSZ : 0) > end)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("invalid fluss_grid top-k list")));
		memcpy(&tk->cnts[i], p, sizeof(int64));
		if (tk->typbyval)
		{
			vs = sizeof(Datum);
			memcpy(&tk->vals[i], p + sizeof(int64), sizeof(Datum));
		}
		else
		{
			tk->vals[i] = PointerGetDatum(p + sizeof(int64));
			vs = (tk->typlen == -1) ? VARSIZE(DatumGetPointer(tk->vals[i])) : tk->typlen;
		}
		p += MAXALIGN(sizeof(int64) + vs);
		if (p > end + 7)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("invalid fluss_grid top-k list")));
	}
	tk->n = d->n;
	return tk;
}

/* append (v, c) to w, growing it */
static void
work_push(TopKWork *w, Datum v, int64 c)
{
	if (w->n == w->cap)
	{
		w->cap = Max(16, w->cap * 2);
		w->vals = w->vals ? repalloc(w->vals, sizeof(Datum) * w->cap)
			: palloc(sizeof(Datum) * w->cap);
		w->cnts = w->cnts ? repalloc(w->cnts, sizeof(int64) * w->cap)
			: palloc(sizeof(int64) * w->cap);
	}
	w->vals[w->n] = v;
	w->cnts[w->n] = c;
	w->n++;
}

/*
 * topk_combine
 *		sum(signs[i] * lists[i]) as a new list in cxt; NULL entries of lists
 *		are empty.  Returns NULL when all inputs are NULL.
 */
static FgTopK *
topk_combine(FgTopK **lists, const int *signs, int nlists, MemoryContext cxt)
{
	FgTopK	   *first = NULL;
	FgTopK	   *out;
	bool		has_bound = false;
	Datum		bound = (Datum) 0;
	bool		trunc = false;
	bool		dry = false;
	TopKWork	w = {0};
	MemoryContext old;

	for (int i = 0; i < nlists; i++)
	{
		FgTopK	   *l = lists[i];

		if (l == NULL)
			continue;
		if (first == NULL)
			first = l;
		else if (l->typid != first->typid || l->is_max != first->is_max)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("fluss_grid top-k lists of different kinds cannot be combined")));
		dry |= l->dry;
		if (l->trunc)
		{
			trunc = true;
			if (l->n > 0 &&
				(!has_bound || topk_order(l, l->vals[l->n - 1], bound) < 0))
			{
				bound = l->vals[l->n - 1];
				has_bound = true;
			}
		}
	}
	if (first == NULL)
		return NULL;
	out = topk_new(first->typid, first->is_max, cxt);
	if (dry)
	{
		out->dry = out->trunc = true;
		return out;
	}

	/* sum the counts of equal values, within the bound, in sorted order */
	old = MemoryContextSwitchTo(cxt);
	for (int i = 0; i < nlists; i++)
	{
		FgTopK	   *l = lists[i];

		if (l == NULL)
			continue;
		for (int j = 0; j < l->n; j++)
		{
			Datum		v = l->vals[j];
			int64		c = signs[i] * l->cnts[j];
			int			lo = 0,
						hi = w.n;

			if (has_bound && topk_order(l, v, bound) > 0)
				break;			/* this list's later entries are worse still */
			while (lo < hi)
			{
				int			mid = (lo + hi) / 2;

				if (topk_order(l, w.vals[mid], v) < 0)
					lo = mid + 1;
				else
					hi = mid;
			}
			if (lo < w.n && topk_order(l, w.vals[lo], v) == 0)
			{
				w.cnts[lo] += c;
				continue;
			}
			work_push(&w, v, c);
			memmove(&w.vals[lo + 1], &w.vals[lo], sizeof(Datum) * (w.n - 1 - lo));
			memmove(&w.cnts[lo + 1], &w.cnts[lo], sizeof(int64) * (w.n - 1 - lo));
			w.vals[lo] = v;
			w.cnts[lo] = c;
		}
	}
	MemoryContextSwitchTo(old);

	for (int j = 0; j < w.n; j++)
	{
		if (w.cnts[j] < 0)
		{
			/* retracting rows never counted: recompute rather than guess */
			dry = true;
			break;
		}
		if (w.cnts[j] == 0)
			continue;
		if (out->n == FG_TOPK_KEEP)
		{
			trunc = true;
			break;
		}
		out->vals[out->n] = topk_copy_value(out, w.vals[j]);
		out->cnts[out->n] = w.cnts[j];
		out->n++;
	}
	if (w.vals)
	{
		pfree(w.vals);
		pfree(w.cnts);
	}
	out->trunc = trunc;
	if (dry || (trunc && out->n == 0))
	{
		for (int j = 0; j < out->n; j++)
			topk_free_value(out, out->vals[j]);
		out->n = 0;
		out->dry = out->trunc = true;
	}
	return out;
}

static void
topk_free(FgTopK *tk)
{
	if (tk == NULL)
		return;
	for (int j = 0; j < tk->n; j++)
		topk_free_value(tk, tk->vals[j]);
	pfree(tk);
}

/* ---------------------------------------------------------------------
 * SQL interface
 * ---------------------------------------------------------------------
 */

/*
 * fluss_grid_topk_accum
 *		Transition of aggregate fluss_grid.topk(value anyelement,
 *		is_max boolean): the list of the rows' values.
 */
Datum
fluss_grid_topk_accum(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	FgTopK	   *tk;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "fluss_grid.topk called in non-aggregate context");
	tk = PG_ARGISNULL(0) ? NULL : (FgTopK *) PG_GETARG_POINTER(0);
	if (tk == NULL)
	{
		if (PG_ARGISNULL(2))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("is_max must not be NULL")));
		tk = topk_new(get_fn_expr_argtype(fcinfo->flinfo, 1),
					  PG_GETARG_BOOL(2), aggcxt);
	}
	if (!PG_ARGISNULL(1))
		FgTopKAdd(tk, PG_GETARG_DATUM(1), 1);
	PG_RETURN_POINTER(tk);
}

/*
 * fluss_grid_topk_merge_accum
 *		Transition of aggregate fluss_grid.topk_merge(list bytea): the
 *		union of the lists.
 */
Datum
fluss_grid_topk_merge_accum(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	FgTopK	   *st;
	FgTopK	   *in;
	FgTopK	   *lists[2];
	int			signs[2] = {1, 1};
	FgTopK	   *res;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "fluss_grid.topk_merge called in non-aggregate context");
	st = PG_ARGISNULL(0) ? NULL : (FgTopK *) PG_GETARG_POINTER(0);
	if (PG_ARGISNULL(1))
	{
		if (st == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(st);
	}
	in = topk_read(PG_GETARG_BYTEA_P(1), CurrentMemoryContext);
	lists[0] = st;
	lists[1] = in;
	res = topk_combine(lists, signs, 2, aggcxt);
	topk_free(st);
	PG_RETURN_POINTER(res);
}

/*
 * fluss_grid_topk_final
 *		Final function of both aggregates: the stored list, NULL when no
 *		row was counted.
 */
Datum
fluss_grid_topk_final(PG_FUNCTION_ARGS)
{
	FgTopK	   *tk = PG_ARGISNULL(0) ? NULL : (FgTopK *) PG_GETARG_POINTER(0);

	if (FgTopKIsEmpty(tk) && !(tk && tk->dry))
		PG_RETURN_NULL();
	PG_RETURN_BYTEA_P(topk_write(tk));
}

/*
 * fluss_grid_topk_apply
 *		(state, inserted, deleted) -> the new state: state + inserted -
 *		deleted.  NULL arguments are empty lists; the result is NULL when
 *		no value is left, a dry list when the group must be recomputed.
 */
Datum
fluss_grid_topk_apply(PG_FUNCTION_ARGS)
{
	FgTopK	   *lists[3];
	static const int signs[3] = {1, 1, -1};
	FgTopK	   *res;

	for (int i = 0; i < 3; i++)
		lists[i] = PG_ARGISNULL(i) ? NULL
			: topk_read(PG_GETARG_BYTEA_P(i), CurrentMemoryContext);
	res = topk_combine(lists, signs, 3, CurrentMemoryContext);
	if (res == NULL || (res->n == 0 && !res->trunc))
		PG_RETURN_NULL();
	PG_RETURN_BYTEA_P(topk_write(res));
}

/*
 * fluss_grid_topk_stale
 *		Is the list dry, so that its group must be read from the source?
 */
Datum
fluss_grid_topk_stale(PG_FUNCTION_ARGS)
{
	bytea	   *b = PG_GETARG_BYTEA_P(0);

	if (VARSIZE(b) < TOPK_HDRSZ)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid fluss_grid top-k list")));
	PG_RETURN_BOOL((((TopKDisk *) b)->flags & TOPK_DRY) != 0);
}

/*
 * fluss_grid_topk_best
 *		(list, NULL::type) -> the best value of the list, of that type.
 */
Datum
fluss_grid_topk_best(PG_FUNCTION_ARGS)
{
	Oid			want = get_fn_expr_argtype(fcinfo->flinfo, 1);
	FgTopK	   *tk;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	tk = topk_read(PG_GETARG_BYTEA_P(0), CurrentMemoryContext);
	if (tk->typid != want)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("top-k list holds values of type %s, not %s",
						format_type_be(tk->typid), format_type_be(want))));
	if (tk->n == 0 || tk->dry)
		PG_RETURN_NULL();
	if (tk->typbyval)
		PG_RETURN_DATUM(tk->vals[0]);
	PG_RETURN_DATUM(datumCopy(tk->vals[0], false, tk->typlen));
}

/*
 * fluss_grid_topk_text
 *		A list for people: "max {440.5 x2, 439.9 x1} truncated".
 */
Datum
fluss_grid_topk_text(PG_FUNCTION_ARGS)
{
	FgTopK	   *tk = topk_read(PG_GETARG_BYTEA_P(0), CurrentMemoryContext);
	StringInfoData buf;
	Oid			outfn;
	bool		isvarlena;

	getTypeOutputInfo(tk->typid, &outfn, &isvarlena);
	initStringInfo(&buf);
	appendStringInfo(&buf, "%s {", tk->is_max ? "max" : "min");
	for (int i = 0; i < tk->n; i++)
		appendStringInfo(&buf, "%s%s x" INT64_FORMAT, i ? ", " : "",
						 OidOutputFunctionCall(outfn, tk->vals[i]), tk->cnts[i]);
	appendStringInfoChar(&buf, '}');
	if (tk->dry)
		appendStringInfoString(&buf, " dry");
	else if (tk->trunc)
		appendStringInfoString(&buf, " truncated");
	PG_RETURN_TEXT_P(cstring_to_text(buf.data));
}
