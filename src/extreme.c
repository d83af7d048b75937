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

#include <math.h>

#include "access/detoast.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/datum.h"
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
#define TOPK_VERSION 1

/*
 * Stored form, after the varlena header: this header, then n entries, each
 * an int64 count followed by the value (a Datum for by-value types, else
 * the value's bytes), every entry padded to a multiple of 8 bytes.  Counts
 * and by-value Datums are read with memcpy, so a list with a short varlena
 * header is read in place; by-reference values need the 4-byte header
 * form, whose payload is 4-aligned.
 */
typedef struct TopKHeader
{
	Oid			typid;
	uint8		flags;
	uint8		version;
	uint16		n;
} TopKHeader;

#define TOPK_ENTRY_SIZE(vs)	MAXALIGN(sizeof(int64) + (vs))

/* a list; by-reference values live in cxt or in the bytea it was read from */
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

/* combining reads at most this many lists */
#define TOPK_MAX_INPUTS 3

static bool topk_type_ok(Oid typid);
static void topk_init(FgTopK *tk, Oid typid, bool is_max, MemoryContext cxt);
static int	topk_order(const FgTopK *tk, Datum a, Datum b);
static Datum topk_copy_value(const FgTopK *tk, Datum x);
static void topk_read(FgTopK *tk, bytea *b, const FgTopK *model);
static Datum topk_value_out(const FgTopK *tk, Datum v);
static void topk_combine(FgTopK *out, FgTopK **lists, const int *signs,
						 int nlists);

/*
 * topk_init
 *		An empty list of values of typid.
 */
static void
topk_init(FgTopK *tk, Oid typid, bool is_max, MemoryContext cxt)
{
	TypeCacheEntry *tc;

	if (!topk_type_ok(typid))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("top-k lists of type %s are not supported", format_type_be(typid)),
				 errhint("min and max of rollups take smallint, integer, bigint, real, double precision or numeric.")));
	tc = lookup_type_cache(typid, TYPECACHE_CMP_PROC_FINFO);
	if (!OidIsValid(tc->cmp_proc_finfo.fn_oid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("could not identify a comparison function for type %s",
						format_type_be(typid))));
	if (!tc->typbyval && tc->typlen > 1024)
		elog(ERROR, "fluss_grid: type %s is too wide for a top-k list",
			 format_type_be(typid));
	memset(tk, 0, offsetof(FgTopK, vals));
	tk->typid = typid;
	tk->typlen = tc->typlen;
	tk->typbyval = tc->typbyval;
	tk->is_max = is_max;
	tk->cmp = &tc->cmp_proc_finfo;
	tk->cxt = cxt;
}

/* an empty list of model's kind */
static void
topk_like(FgTopK *tk, const FgTopK *model)
{
	memcpy(tk, model, offsetof(FgTopK, vals));
	tk->trunc = tk->dry = false;
	tk->n = 0;
}

/* btree order of float8, NaN equal to itself and above everything */
static inline int
cmp_float8(double a, double b)
{
	if (a < b)
		return -1;
	if (a > b)
		return 1;
	if (a == b)
		return 0;
	if (isnan(a))
		return isnan(b) ? 0 : 1;
	return -1;
}

/* < 0 when a is the better extreme (sorts first in the list) */
static inline int
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
			c = cmp_float8(DatumGetFloat4(a), DatumGetFloat4(b));
			break;
		case FLOAT8OID:
			c = cmp_float8(DatumGetFloat8(a), DatumGetFloat8(b));
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

/* make every value of tk a copy of its own, in tk->cxt */
static void
topk_own(FgTopK *tk)
{
	for (int i = 0; i < tk->n; i++)
		tk->vals[i] = topk_copy_value(tk, tk->vals[i]);
}

/*
 * FgTopKCreate
 *		An empty list for the C lift, in cxt.
 */
FgTopK *
FgTopKCreate(Oid typid, bool is_max, MemoryContext cxt)
{
	FgTopK	   *tk = MemoryContextAlloc(cxt, sizeof(FgTopK));

	topk_init(tk, typid, is_max, cxt);
	return tk;
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
	return tk == NULL || (tk->n == 0 && !tk->trunc && !tk->dry);
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

/*
 * FgTopKSerialize
 *		The stored form of a list, in CurrentMemoryContext.
 */
bytea *
FgTopKSerialize(const FgTopK *tk)
{
	Size		len = VARHDRSZ + sizeof(TopKHeader);
	TopKHeader *h;
	bytea	   *b;
	char	   *p;

	for (int i = 0; i < tk->n; i++)
		len += TOPK_ENTRY_SIZE(topk_value_size(tk, tk->vals[i]));
	b = palloc0(len);
	SET_VARSIZE(b, len);
	h = (TopKHeader *) VARDATA(b);
	h->typid = tk->typid;
	h->flags = (tk->is_max ? TOPK_MAX : 0) | (tk->trunc ? TOPK_TRUNC : 0) |
		(tk->dry ? TOPK_DRY : 0);
	h->version = TOPK_VERSION;
	h->n = tk->n;
	p = VARDATA(b) + sizeof(TopKHeader);
	for (int i = 0; i < tk->n; i++)
	{
		Size		vs = topk_value_size(tk, tk->vals[i]);

		memcpy(p, &tk->cnts[i], sizeof(int64));
		if (tk->typbyval)
			memcpy(p + sizeof(int64), &tk->vals[i], sizeof(Datum));
		else
			memcpy(p + sizeof(int64), DatumGetPointer(tk->vals[i]), vs);
		p += TOPK_ENTRY_SIZE(vs);
	}
	return b;
}

/*
 * FgTopKMerge
 *		Unite the stored list b into *tkp, a list of its kind, or a new list
 *		in cxt when *tkp is NULL: the transition of topk_merge, and the C
 *		lift of a rollup source.  Allocates nothing for by-value types once
 *		the list exists.
 */
void
FgTopKMerge(FgTopK **tkp, bytea *b, MemoryContext cxt)
{
	FgTopK	   *st = *tkp;
	FgTopK		in;
	FgTopK		res;
	FgTopK	   *lists[2];
	static const int signs[2] = {1, 1};

	if (st == NULL)
	{
		st = MemoryContextAlloc(cxt, sizeof(FgTopK));
		topk_read(st, b, NULL);
		st->cxt = cxt;
		topk_own(st);
		*tkp = st;
		return;
	}
	topk_read(&in, b, st);
	lists[0] = st;
	lists[1] = &in;
	topk_like(&res, st);
	topk_combine(&res, lists, signs, 2);
	if (!st->typbyval)
	{
		/* the survivors become the list's own; the old values go */
		FgTopK		old = *st;

		topk_own(&res);
		for (int i = 0; i < old.n; i++)
			topk_free_value(&old, old.vals[i]);
	}
	*st = res;
}

/*
 * FgTopKApply
 *		The C fold's topk_apply: the stored list of a group after the fold,
 *		state (the stored list, or NULL) + ins - del (the fold's lists of
 *		inserted and deleted values, or NULL); NULL when no value is left.
 *		Sets *dry when the group must be recomputed from the source, and
 *		returns the best value left (a copy of its own) in best and bestnull.
 */
bytea *
FgTopKApply(bytea *state, FgTopK *ins, FgTopK *del, bool *dry,
			Datum *best, bool *bestnull)
{
	FgTopK		st;
	FgTopK	   *lists[3] = {NULL, ins, del};
	static const int signs[3] = {1, 1, -1};
	FgTopK	   *model;
	FgTopK		res;

	*dry = false;
	*best = (Datum) 0;
	*bestnull = true;
	model = ins ? ins : del;
	if (state)
	{
		topk_read(&st, state, model);
		lists[0] = &st;
		if (model == NULL)
			model = &st;
	}
	if (model == NULL)
		return NULL;
	topk_like(&res, model);
	topk_combine(&res, lists, signs, 3);
	*dry = res.dry;
	if (res.n == 0 && !res.trunc)
		return NULL;
	if (res.n > 0 && !res.dry)
	{
		*best = topk_value_out(&res, res.vals[0]);
		*bestnull = false;
	}
	return FgTopKSerialize(&res);
}

/* the argument types of min/max that rollups support */
static bool
topk_type_ok(Oid typid)
{
	return typid == INT2OID || typid == INT4OID || typid == INT8OID ||
		typid == FLOAT4OID || typid == FLOAT8OID || typid == NUMERICOID;
}

/*
 * topk_value_out
 *		A value leaving a list for the outside world, as a copy of its own.
 *		The functions are callable with any bytea, so a numeric is rebuilt
 *		through numeric_send/numeric_recv, which validates it: a forged
 *		list yields an error, never a malformed numeric.
 */
static Datum
topk_value_out(const FgTopK *tk, Datum v)
{
	bytea	   *wire;
	StringInfoData buf;

	if (tk->typbyval)
		return v;
	if (tk->typid != NUMERICOID)
		return datumCopy(v, false, tk->typlen);
	wire = DatumGetByteaPP(DirectFunctionCall1(numeric_send, v));
	buf.data = VARDATA_ANY(wire);
	buf.len = VARSIZE_ANY_EXHDR(wire);
	buf.maxlen = buf.len;
	buf.cursor = 0;
	return DirectFunctionCall3(numeric_recv, PointerGetDatum(&buf),
							   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
}

static void
topk_corrupt(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("invalid fluss_grid top-k list")));
}

/*
 * topk_read
 *		Parse a stored list (as passed in, possibly with a short header)
 *		into tk.  With a model, the list must be of the model's kind and its
 *		type facts are taken from it.  By-reference values point into b (or
 *		into a detoasted copy of it), which must outlive tk.  Anything
 *		malformed is reported, not trusted.
 */
static void
topk_read(FgTopK *tk, bytea *b, const FgTopK *model)
{
	TopKHeader	h;
	char	   *p;
	char	   *end;

	if (VARATT_IS_EXTENDED(b))
	{
		/* in place unless compressed, external, or holding varlenas */
		if (VARATT_IS_SHORT(b) && VARSIZE_ANY_EXHDR(b) >= sizeof(TopKHeader))
		{
			memcpy(&h, VARDATA_ANY(b), sizeof(TopKHeader));
			if (!(model ? model->typbyval : get_typbyval(h.typid)))
				b = (bytea *) detoast_attr((struct varlena *) b);
		}
		else
			b = (bytea *) detoast_attr((struct varlena *) b);
	}
	if (VARSIZE_ANY_EXHDR(b) < sizeof(TopKHeader))
		topk_corrupt();
	memcpy(&h, VARDATA_ANY(b), sizeof(TopKHeader));
	if (h.version != TOPK_VERSION || h.n > FG_TOPK_KEEP ||
		(h.flags & ~(TOPK_MAX | TOPK_TRUNC | TOPK_DRY)) != 0 ||
		!topk_type_ok(h.typid))
		topk_corrupt();
	if (model)
	{
		if (h.typid != model->typid || ((h.flags & TOPK_MAX) != 0) != model->is_max)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("fluss_grid top-k lists of different kinds cannot be combined")));
		topk_like(tk, model);
	}
	else
		topk_init(tk, h.typid, (h.flags & TOPK_MAX) != 0, CurrentMemoryContext);
	tk->trunc = (h.flags & TOPK_TRUNC) != 0;
	tk->dry = (h.flags & TOPK_DRY) != 0;
	p = VARDATA_ANY(b) + sizeof(TopKHeader);
	end = VARDATA_ANY(b) + VARSIZE_ANY_EXHDR(b);
	for (int i = 0; i < h.n; i++)
	{
		Size		vs;

		if (p + sizeof(int64) + (tk->typbyval ? sizeof(Datum) :
								 tk->typlen == -1 ? VARHDRSZ : tk->typlen) > end)
			topk_corrupt();
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
			if (tk->typlen == -1 && (VARATT_IS_EXTENDED(DatumGetPointer(tk->vals[i])) ||
									 p + sizeof(int64) + vs > end))
				topk_corrupt();
		}
		p += TOPK_ENTRY_SIZE(vs);
	}
	tk->n = h.n;
}

/* how many of l's entries are not worse than bound */
static int
topk_cut(const FgTopK *l, Datum bound)
{
	int			lo = 0,
				hi = l->n;

	while (lo < hi)
	{
		int			mid = (lo + hi) / 2;

		if (topk_order(l, l->vals[mid], bound) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * merge2
 *		w := a + sign * b, both sorted best first; equal values add up and
 *		keep a's representative.  Returns the number of entries of w.
 */
static int
merge2(const FgTopK *kind, const Datum *av, const int64 *ac, int an,
	   const Datum *bv, const int64 *bc, int bn, int sign,
	   Datum *wv, int64 *wc)
{
	int			i = 0,
				j = 0,
				n = 0;

	while (i < an && j < bn)
	{
		int			c = topk_order(kind, av[i], bv[j]);

		if (c < 0)
		{
			wv[n] = av[i];
			wc[n++] = ac[i++];
		}
		else if (c > 0)
		{
			wv[n] = bv[j];
			wc[n++] = sign * bc[j++];
		}
		else
		{
			wv[n] = av[i];
			wc[n++] = ac[i++] + sign * bc[j++];
		}
	}
	for (; i < an; i++, n++)
	{
		wv[n] = av[i];
		wc[n] = ac[i];
	}
	for (; j < bn; j++, n++)
	{
		wv[n] = bv[j];
		wc[n] = sign * bc[j];
	}
	return n;
}

/*
 * topk_combine
 *		out := sum(signs[i] * lists[i]), NULL entries of lists being empty;
 *		out must be initialised (its kind); its by-reference values point
 *		into the inputs.
 */
static void
topk_combine(FgTopK *out, FgTopK **lists, const int *signs, int nlists)
{
	bool		has_bound = false;
	Datum		bound = (Datum) 0;
	bool		trunc = false;
	bool		dry = false;
	Datum		wv[2][TOPK_MAX_INPUTS * FG_TOPK_KEEP];
	int64		wc[2][TOPK_MAX_INPUTS * FG_TOPK_KEEP];
	int			wn = 0;
	int			cur = 0;

	Assert(nlists <= TOPK_MAX_INPUTS);
	out->n = 0;
	for (int i = 0; i < nlists; i++)
	{
		FgTopK	   *l = lists[i];

		if (l == NULL)
			continue;
		dry |= l->dry;
		if (l->trunc)
		{
			trunc = true;
			if (l->n > 0 &&
				(!has_bound || topk_order(out, l->vals[l->n - 1], bound) < 0))
			{
				bound = l->vals[l->n - 1];
				has_bound = true;
			}
		}
	}
	if (dry)
	{
		out->dry = out->trunc = true;
		return;
	}

	/* merge the lists, each cut at the bound, into one sorted run */
	for (int i = 0; i < nlists; i++)
	{
		FgTopK	   *l = lists[i];
		int			n;

		if (l == NULL)
			continue;
		n = has_bound ? topk_cut(l, bound) : l->n;
		wn = merge2(out, wv[cur], wc[cur], wn, l->vals, l->cnts, n, signs[i],
					wv[1 - cur], wc[1 - cur]);
		cur = 1 - cur;
	}

	for (int j = 0; j < wn; j++)
	{
		if (wc[cur][j] < 0)
		{
			/* retracting rows never counted: recompute rather than guess */
			dry = true;
			break;
		}
		if (wc[cur][j] == 0)
			continue;
		if (out->n == FG_TOPK_KEEP)
		{
			trunc = true;
			break;
		}
		out->vals[out->n] = wv[cur][j];
		out->cnts[out->n] = wc[cur][j];
		out->n++;
	}
	out->trunc = trunc;
	out->dry = false;
	if (dry || (trunc && out->n == 0))
	{
		out->n = 0;
		out->dry = out->trunc = true;
	}
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
		tk = FgTopKCreate(get_fn_expr_argtype(fcinfo->flinfo, 1),
						  PG_GETARG_BOOL(2), aggcxt);
	}
	if (!PG_ARGISNULL(1))
		FgTopKAdd(tk, PG_GETARG_DATUM(1), 1);
	PG_RETURN_POINTER(tk);
}

/*
 * fluss_grid_topk_merge_accum
 *		Transition of aggregate fluss_grid.topk_merge(list bytea): the
 *		union of the lists.  Called once per changelog row by the fold and
 *		the realtime view, so it allocates nothing for by-value types.
 */
Datum
fluss_grid_topk_merge_accum(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	FgTopK	   *st;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "fluss_grid.topk_merge called in non-aggregate context");
	st = PG_ARGISNULL(0) ? NULL : (FgTopK *) PG_GETARG_POINTER(0);
	if (PG_ARGISNULL(1))
	{
		if (st == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(st);
	}
	FgTopKMerge(&st, PG_GETARG_BYTEA_PP(1), aggcxt);
	PG_RETURN_POINTER(st);
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

	if (FgTopKIsEmpty(tk))
		PG_RETURN_NULL();
	PG_RETURN_BYTEA_P(FgTopKSerialize(tk));
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
	FgTopK		in[3];
	FgTopK	   *lists[3] = {NULL, NULL, NULL};
	static const int signs[3] = {1, 1, -1};
	FgTopK	   *model = NULL;
	FgTopK		res;

	for (int i = 0; i < 3; i++)
	{
		if (PG_ARGISNULL(i))
			continue;
		topk_read(&in[i], PG_GETARG_BYTEA_PP(i), model);
		lists[i] = &in[i];
		if (model == NULL)
			model = &in[i];
	}
	if (model == NULL)
		PG_RETURN_NULL();
	topk_like(&res, model);
	topk_combine(&res, lists, signs, 3);
	if (res.n == 0 && !res.trunc)
		PG_RETURN_NULL();
	PG_RETURN_BYTEA_P(FgTopKSerialize(&res));
}

/*
 * fluss_grid_topk_stale
 *		Is the list dry, so that its group must be read from the source?
 */
Datum
fluss_grid_topk_stale(PG_FUNCTION_ARGS)
{
	bytea	   *b = PG_GETARG_BYTEA_PP(0);
	TopKHeader	h;

	if (VARSIZE_ANY_EXHDR(b) < sizeof(TopKHeader))
		topk_corrupt();
	memcpy(&h, VARDATA_ANY(b), sizeof(TopKHeader));
	PG_RETURN_BOOL((h.flags & TOPK_DRY) != 0);
}

/*
 * fluss_grid_topk_best
 *		(list, NULL::type) -> the best value of the list, of that type.
 */
Datum
fluss_grid_topk_best(PG_FUNCTION_ARGS)
{
	Oid			want = get_fn_expr_argtype(fcinfo->flinfo, 1);
	FgTopK		l;
	FgTopK	   *tk = &l;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	topk_read(tk, PG_GETARG_BYTEA_PP(0), NULL);
	if (tk->typid != want)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("top-k list holds values of type %s, not %s",
						format_type_be(tk->typid), format_type_be(want))));
	if (tk->n == 0 || tk->dry)
		PG_RETURN_NULL();
	if (tk->typbyval)
		PG_RETURN_DATUM(tk->vals[0]);
	PG_RETURN_DATUM(topk_value_out(tk, tk->vals[0]));
}

/*
 * fluss_grid_topk_text
 *		A list for people: "max {440.5 x2, 439.9 x1} truncated".
 */
Datum
fluss_grid_topk_text(PG_FUNCTION_ARGS)
{
	FgTopK		l;
	FgTopK	   *tk = &l;
	StringInfoData buf;
	Oid			outfn;
	bool		isvarlena;

	topk_read(tk, PG_GETARG_BYTEA_PP(0), NULL);
	getTypeOutputInfo(tk->typid, &outfn, &isvarlena);
	initStringInfo(&buf);
	appendStringInfo(&buf, "%s {", tk->is_max ? "max" : "min");
	for (int i = 0; i < tk->n; i++)
		appendStringInfo(&buf, "%s%s x" INT64_FORMAT, i ? ", " : "",
						 OidOutputFunctionCall(outfn, topk_value_out(tk, tk->vals[i])),
						 tk->cnts[i]);
	appendStringInfoChar(&buf, '}');
	if (tk->dry)
		appendStringInfoString(&buf, " dry");
	else if (tk->trunc)
		appendStringInfoString(&buf, " truncated");
	PG_RETURN_TEXT_P(cstring_to_text(buf.data));
}
