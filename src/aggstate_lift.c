/*-------------------------------------------------------------------------
 *
 * aggstate_lift.c
 *	  The C lift's arithmetic per state component (lift.c drives it):
 *	  accumulating source rows, merging a rollup source's states, and
 *	  emitting the delta columns, exactly as the SQL lift of aggstate.c
 *	  computes them (regression test "lift" compares the two).
 *
 * IDENTIFICATION
 *	  src/aggstate_lift.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/int.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/float.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/typcache.h"

#include "fluss_grid.h"
#include "aggstate_comps.h"
#include "moments.h"

/*
 * FgAggLiftWidth
 *		Number of accumulators (one per state component) of an aggregate.
 */
int
FgAggLiftWidth(const FgAgg *agg)
{
	int			n = 0;

	for (const FgComp *c = FgAggComps(agg); c->name; c++)
		n++;
	return n;
}

/*
 * The shapes of state that the capture accumulates most, with a path of
 * their own in FgAggLiftAccum: a statement's every row passes through it
 * once per aggregate, and the general loop over components spends more on
 * dispatch than on arithmetic for them.
 */
typedef enum LiftShape
{
	LIFT_SHAPE_GENERAL,
	LIFT_SHAPE_ROWS,			/* count(*) */
	LIFT_SHAPE_FLOAT_SUM,		/* sum/avg of real or double precision */
	LIFT_SHAPE_EXT_BYVAL		/* min/max of a by-value type */
} LiftShape;

static LiftShape
lift_shape(const FgLiftArg *arg)
{
	const FgComp *c = arg->comps;
	static const FgRowValue float_sum[] = {
		FG_RV_NONNULL, FG_RV_MOM, FG_RV_PINF, FG_RV_NINF, FG_RV_NAN
	};
	int			n = 0;

	while (c[n].name)
		n++;
	if (n == 1 && c[0].rv == FG_RV_ROWS)
		return LIFT_SHAPE_ROWS;
	if (n == 1 && c[0].merge == FG_MERGE_EXT && arg->typbyval)
		return LIFT_SHAPE_EXT_BYVAL;
	if (n == lengthof(float_sum) && arg->tc == FG_TC_FLOAT)
	{
		for (int i = 0; i < n; i++)
			if (c[i].rv != float_sum[i])
				return LIFT_SHAPE_GENERAL;
		return LIFT_SHAPE_FLOAT_SUM;
	}
	return LIFT_SHAPE_GENERAL;
}

/*
 * FgAggLiftArgInit
 *		Type facts the C lift needs about an aggregate's argument.
 */
void
FgAggLiftArgInit(FgLiftArg *arg, const FgAgg *agg)
{
	memset(arg, 0, sizeof(FgLiftArg));
	arg->type = agg->argtype;
	arg->comps = FgAggComps(agg);
	arg->tc = FgTypeClassOf(agg->argtype);
	if (OidIsValid(agg->argtype))
		get_typlenbyval(agg->argtype, &arg->typlen, &arg->typbyval);
	arg->shape = lift_shape(arg);
	if (!OidIsValid(agg->argtype))
		return;
	if (agg->kind == FG_AGG_MIN || agg->kind == FG_AGG_MAX ||
		agg->kind == FG_AGG_FIRST || agg->kind == FG_AGG_LAST)
	{
		TypeCacheEntry *tce = lookup_type_cache(agg->argtype,
												TYPECACHE_CMP_PROC_FINFO);

		if (!OidIsValid(tce->cmp_proc_finfo.fn_oid))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_FUNCTION),
					 errmsg("could not identify a comparison function for type %s",
							format_type_be(agg->argtype))));
		arg->cmp = &tce->cmp_proc_finfo;
	}
}

/* the btree order of two non-NULL values, as min()/max() see it */
static inline int
lift_cmp(const FgLiftArg *arg, Datum a, Datum b)
{
	switch (arg->type)
	{
		case INT2OID:
			return (int) DatumGetInt16(a) - (int) DatumGetInt16(b);
		case INT4OID:
			return DatumGetInt32(a) < DatumGetInt32(b) ? -1 :
				DatumGetInt32(a) > DatumGetInt32(b) ? 1 : 0;
		case INT8OID:
			return DatumGetInt64(a) < DatumGetInt64(b) ? -1 :
				DatumGetInt64(a) > DatumGetInt64(b) ? 1 : 0;
		case FLOAT4OID:
			return float4_cmp_internal(DatumGetFloat4(a), DatumGetFloat4(b));
		case FLOAT8OID:
			return float8_cmp_internal(DatumGetFloat8(a), DatumGetFloat8(b));
		default:
			return DatumGetInt32(FunctionCall2Coll(arg->cmp, InvalidOid, a, b));
	}
}

static void
lift_keep(const FgLiftArg *arg, FgLiftAcc *acc, Datum x, MemoryContext cxt)
{
	if (!arg->typbyval && acc->has && !acc->isnull)
		pfree(DatumGetPointer(acc->value));
	if (arg->typbyval)
		acc->value = x;
	else
	{
		MemoryContext old = MemoryContextSwitchTo(cxt);

		acc->value = datumCopy(x, false, arg->typlen);
		MemoryContextSwitchTo(old);
	}
}

/* nsum += x, kept in cxt */
static void
lift_numeric_add(FgLiftAcc *acc, Numeric x, MemoryContext cxt)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);

	if (acc->nsum == (Datum) 0)
		acc->nsum = PointerGetDatum(DatumGetNumeric(datumCopy(NumericGetDatum(x), false, -1)));
	else
	{
		Numeric		sum = numeric_add_opt_error(DatumGetNumeric(acc->nsum), x, NULL);

		pfree(DatumGetPointer(acc->nsum));
		acc->nsum = NumericGetDatum(sum);
	}
	MemoryContextSwitchTo(old);
}

/* classification of a non-NULL input: finite, or which non-finite */
typedef enum LiftClass
{
	LIFT_FINITE,
	LIFT_PINF,
	LIFT_NINF,
	LIFT_NAN
} LiftClass;

static inline LiftClass
lift_class(FgTypeClass tc, Oid type, Datum x, double *fx)
{
	if (tc == FG_TC_FLOAT)
	{
		double		v = (type == FLOAT4OID) ? (double) DatumGetFloat4(x)
		: DatumGetFloat8(x);

		*fx = v;
		if (isnan(v))
			return LIFT_NAN;
		if (isinf(v))
			return v > 0 ? LIFT_PINF : LIFT_NINF;
		return LIFT_FINITE;
	}
	if (tc == FG_TC_NUMERIC)
	{
		Numeric		n = DatumGetNumeric(x);

		if (numeric_is_nan(n))
			return LIFT_NAN;
		if (numeric_is_inf(n))
			return DatumGetInt32(DirectFunctionCall2(numeric_cmp, NumericGetDatum(n),
													 NumericGetDatum(int64_to_numeric(0)))) > 0
				? LIFT_PINF : LIFT_NINF;
	}
	return LIFT_FINITE;
}

static int64
lift_int(Oid type, Datum x)
{
	switch (type)
	{
		case INT2OID:
			return DatumGetInt16(x);
		case INT4OID:
			return DatumGetInt32(x);
		default:
			return DatumGetInt64(x);
	}
}

/*
 * FgAggFirstLastKeep
 *		Keep (x, t) in acc when it sorts before (first) or after (last) what
 *		acc holds: by time, then by value, a NULL value sorting last (first
 *		for last()), as the SQL lift's array_agg(... ORDER BY) does.
 */
void
FgAggFirstLastKeep(const FgAgg *agg, const FgLiftArg *arg, FgLiftAcc *acc,
				Datum x, bool xnull, Timestamp t, MemoryContext cxt)
{
	int			cmp;

	if (!acc->has)
		cmp = -1;
	else if (t != acc->t)
		cmp = (t < acc->t) ? -1 : 1;
	else if (xnull || acc->isnull)
		cmp = (xnull ? 1 : 0) - (acc->isnull ? 1 : 0);
	else
		cmp = lift_cmp(arg, x, acc->value);
	if (!FgAggMinLike(agg->kind) && acc->has)
		cmp = -cmp;
	if (cmp < 0)
	{
		if (xnull)
		{
			if (!arg->typbyval && acc->has && !acc->isnull)
				pfree(DatumGetPointer(acc->value));
			acc->value = (Datum) 0;
		}
		else
			lift_keep(arg, acc, x, cxt);
		acc->isnull = xnull;
		acc->t = t;
		acc->has = true;
	}
}

/*
 * FgAggLiftAccum
 *		Add one row, whose FILTER (if any) passed, to aggregate agg's
 *		accumulators acc[FgAggLiftWidth(agg)].  x is the argument (detoasted
 *		by the caller), t the row's time; values kept live in cxt.
 */
void
FgAggLiftAccum(const FgAgg *agg, const FgLiftArg *arg, FgLiftAcc *acc,
			   Datum x, bool xnull, Timestamp t, MemoryContext cxt)
{
	FgTypeClass tc = (FgTypeClass) arg->tc;
	LiftClass	cls = LIFT_FINITE;
	double		fx = 0;

	/* what the loop below does for these shapes, without its dispatch */
	switch ((LiftShape) arg->shape)
	{
		case LIFT_SHAPE_ROWS:
			acc->cnt++;
			return;
		case LIFT_SHAPE_FLOAT_SUM:
			if (xnull)
				return;
			acc[0].cnt++;
			fx = (arg->type == FLOAT4OID) ? (double) DatumGetFloat4(x)
				: DatumGetFloat8(x);
			if (likely(isfinite(fx)))
				FgMomAdd(acc[1].mom, fx);
			else if (isnan(fx))
				acc[4].cnt++;
			else
				acc[fx > 0 ? 2 : 3].cnt++;
			return;
		case LIFT_SHAPE_EXT_BYVAL:
			if (xnull)
				return;
			if (acc->topk == NULL)
				acc->topk = FgTopKCreate(arg->type, !FgAggMinLike(agg->kind), cxt);
			FgTopKAdd(acc->topk, x, 1);
			return;
		case LIFT_SHAPE_GENERAL:
			break;
	}

	if (!xnull && (tc == FG_TC_FLOAT || tc == FG_TC_NUMERIC))
		cls = lift_class(tc, arg->type, x, &fx);

	for (const FgComp *c = arg->comps; c->name; c++, acc++)
	{
		switch (c->rv)
		{
			case FG_RV_ROWS:
				acc->cnt++;
				break;
			case FG_RV_NONNULL:
				if (!xnull)
					acc->cnt++;
				break;
			case FG_RV_FINITE_SUM:
			case FG_RV_FINITE_SQ:
				if (xnull || cls != LIFT_FINITE)
					break;
#ifdef HAVE_INT128
				if (tc == FG_TC_INT || (tc == FG_TC_INT8 && c->rv == FG_RV_FINITE_SUM))
				{
					int128		v = lift_int(arg->type, x);

					acc->isum += (c->rv == FG_RV_FINITE_SUM) ? v : v * v;
					break;
				}
#endif
				{
					Numeric		n = (tc == FG_TC_NUMERIC) ? DatumGetNumeric(x)
					: int64_to_numeric(lift_int(arg->type, x));

					if (c->rv == FG_RV_FINITE_SQ)
						n = numeric_mul_opt_error(n, n, NULL);
					lift_numeric_add(acc, n, cxt);
				}
				break;
			case FG_RV_PINF:
				if (!xnull && cls == LIFT_PINF)
					acc->cnt++;
				break;
			case FG_RV_NINF:
				if (!xnull && cls == LIFT_NINF)
					acc->cnt++;
				break;
			case FG_RV_NAN:
				if (!xnull && cls == LIFT_NAN)
					acc->cnt++;
				break;
			case FG_RV_NONFINITE:
				if (!xnull && cls != LIFT_FINITE)
					acc->cnt++;
				break;
			case FG_RV_SCALE:
				if (!xnull && cls == LIFT_FINITE)
				{
					int32		sc = DatumGetInt32(DirectFunctionCall1(numeric_scale, x));

					if (!acc->has || sc > acc->dsc)
						acc->dsc = sc;
					acc->has = true;
				}
				break;
			case FG_RV_MOM:
				if (!xnull && cls == LIFT_FINITE)
					FgMomAdd(acc->mom, fx);
				break;
			case FG_RV_VALUE:
				if (c->merge == FG_MERGE_EXT)
				{
					if (xnull)
						break;
					if (acc->topk == NULL)
						acc->topk = FgTopKCreate(arg->type, !FgAggMinLike(agg->kind), cxt);
					FgTopKAdd(acc->topk, x, 1);
				}
				else
					FgAggFirstLastKeep(agg, arg, acc, x, xnull, t, cxt);
				break;
		}
	}
}

/*
 * FgAggLiftMerge
 *		Add one row of a rollup source to aggregate agg's accumulators:
 *		vals/nulls are the row's state components of agg, in
 *		FgAggParentColumns order (each component, and after a first/last
 *		value its time).  The merge the SQL lift of a rollup source does.
 */
void
FgAggLiftMerge(const FgAgg *agg, const FgLiftArg *arg, FgLiftAcc *acc,
			   const Datum *vals, const bool *nulls, MemoryContext cxt)
{
	int			j = 0;

	for (const FgComp *c = arg->comps; c->name; c++, acc++)
	{
		Datum		v = vals[j];
		bool		isnull = nulls[j++];

		switch (c->merge)
		{
			case FG_MERGE_ADD:
				if (isnull)
					break;
				if (c->rv != FG_RV_FINITE_SUM && c->rv != FG_RV_FINITE_SQ)
					acc->cnt += DatumGetInt64(v);
#ifdef HAVE_INT128
				else if (strcmp(c->type, "bigint") == 0)
					acc->isum += DatumGetInt64(v);
#endif
				else
					lift_numeric_add(acc, DatumGetNumeric(PG_DETOAST_DATUM(v)), cxt);
				break;
			case FG_MERGE_DSC:
				if (isnull)
					break;
				if (!acc->has || DatumGetInt32(v) > acc->dsc)
					acc->dsc = DatumGetInt32(v);
				acc->has = true;
				break;
			case FG_MERGE_MOM:
				if (!isnull)
					FgMomMerge(acc->mom, v);
				break;
			case FG_MERGE_EXT:
				if (!isnull)
					FgTopKMerge(&acc->topk, DatumGetByteaPP(v), cxt);
				break;
			case FG_MERGE_FL:
				{
					Datum		t = vals[j];
					bool		tnull = nulls[j++];

					if (!tnull)
					{
						if (!isnull && !arg->typbyval && arg->typlen == -1)
							v = PointerGetDatum(PG_DETOAST_DATUM(v));
						FgAggFirstLastKeep(agg, arg, acc, v, isnull,
										DatumGetTimestamp(t), cxt);
					}
				}
				break;
		}
	}
}

#ifdef HAVE_INT128
/* an exact int128 as numeric */
static Numeric
int128_to_numeric(int128 v)
{
	const int64 e18 = INT64CONST(1000000000000000000);
	Numeric		hi;

	if (v >= PG_INT64_MIN && v <= PG_INT64_MAX)
		return int64_to_numeric((int64) v);
	hi = int128_to_numeric(v / e18);
	return numeric_add_opt_error(numeric_mul_opt_error(hi, int64_to_numeric(e18), NULL),
								 int64_to_numeric((int64) (v % e18)), NULL);
}
#endif

/*
 * FgAggLiftEmitPair
 *		The delta columns of aggregate agg for an UPDATE's group: ins holds
 *		the accumulators of its new rows, del those of its old rows.  As the
 *		SQL lift's one row: counters and sums are the difference, the other
 *		components' inserted part comes from ins and deleted part from del.
 */
int
FgAggLiftEmitPair(const FgAgg *agg, const FgLiftArg *arg, FgLiftAcc *ins,
				  FgLiftAcc *del, Datum *out, bool *outnull)
{
	Datum		dout[FG_LIFT_MAX_WIDTH];
	bool		dnull[FG_LIFT_MAX_WIDTH];
	int			n = 0;

	for (const FgComp *c = FgAggComps(agg); c->name; c++)
		n += (c->merge == FG_MERGE_ADD) ? 1 : (c->merge == FG_MERGE_FL) ? 4 : 2;
	if (n > FG_LIFT_MAX_WIDTH)
		elog(ERROR, "fluss_grid: aggregate %s has %d delta columns, more than %d",
			 FgAggKindName(agg->kind), n, FG_LIFT_MAX_WIDTH);
	n = 0;
	FgAggLiftEmit(agg, arg, ins, 1, out, outnull);
	FgAggLiftEmit(agg, arg, del, -1, dout, dnull);
	for (const FgComp *c = FgAggComps(agg); c->name; c++)
	{
		switch (c->merge)
		{
			case FG_MERGE_ADD:
				if (strcmp(c->type, "bigint") == 0)
				{
					int64		sum;

					if (pg_add_s64_overflow(DatumGetInt64(out[n]),
											DatumGetInt64(dout[n]), &sum))
						ereport(ERROR,
								(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
								 errmsg("bigint out of range")));
					out[n] = Int64GetDatum(sum);
				}
				else
					out[n] = NumericGetDatum(numeric_add_opt_error(DatumGetNumeric(out[n]),
																   DatumGetNumeric(dout[n]),
																   NULL));
				n++;
				break;
			case FG_MERGE_MOM:
			case FG_MERGE_DSC:
				/* inserted, deleted */
				out[n + 1] = dout[n + 1];
				outnull[n + 1] = dnull[n + 1];
				n += 2;
				break;
			case FG_MERGE_EXT:
				out[n + 1] = dout[n + 1];
				outnull[n + 1] = dnull[n + 1];

				/*
				 * A group whose top-k list the UPDATE left as it was, value
				 * for value and count for count (a new value outside the
				 * group's FG_TOPK_KEEP best: most, in a full bucket of
				 * telemetry), lifts neither side.  The pair would cancel
				 * exactly in the parent's fold, and a changelog row of a
				 * rollup of rollups is mostly these lists.  As in the SQL
				 * lift.
				 */
				if (!outnull[n] && !outnull[n + 1] &&
					datumIsEqual(out[n], out[n + 1], false, -1))
				{
					out[n] = out[n + 1] = (Datum) 0;
					outnull[n] = outnull[n + 1] = true;
				}
				n += 2;
				break;
			case FG_MERGE_FL:
				/* inserted, deleted value; inserted, deleted time */
				out[n + 1] = dout[n + 1];
				outnull[n + 1] = dnull[n + 1];
				out[n + 3] = dout[n + 3];
				outnull[n + 3] = dnull[n + 3];
				n += 4;
				break;
		}
	}
	return n;
}

/*
 * FgAggLiftEmit
 *		The delta columns of aggregate agg (FgAggDeltaColumnNames order) from
 *		its accumulators; sign is +1 (the rows were inserted) or -1
 *		(deleted).  Returns the number of columns written.
 */
int
FgAggLiftEmit(const FgAgg *agg, const FgLiftArg *arg, FgLiftAcc *acc,
			  int sign, Datum *out, bool *outnull)
{
	int			n = 0;
	int			ins = (sign > 0) ? 0 : 1;	/* which of a pair is ours */
	int			oth = 1 - ins;

	for (const FgComp *c = FgAggComps(agg); c->name; c++, acc++)
	{
		switch (c->merge)
		{
			case FG_MERGE_ADD:
				outnull[n] = false;
				if (c->rv != FG_RV_FINITE_SUM && c->rv != FG_RV_FINITE_SQ)
					out[n] = Int64GetDatum(sign * acc->cnt);
				else
				{
					Numeric		v = NULL;
					bool		is_int = (strcmp(c->type, "bigint") == 0);

#ifdef HAVE_INT128
					if (acc->nsum == (Datum) 0)
					{
						int128		w = sign * acc->isum;

						if (is_int)
						{
							if (w < PG_INT64_MIN || w > PG_INT64_MAX)
								ereport(ERROR,
										(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
										 errmsg("bigint out of range")));
							out[n] = Int64GetDatum((int64) w);
							n++;
							continue;
						}
						v = int128_to_numeric(w);
					}
					else
#endif
					{
						Assert(!is_int);
						v = DatumGetNumeric(acc->nsum);
						if (sign < 0)
							v = DatumGetNumeric(DirectFunctionCall1(numeric_uminus,
																	NumericGetDatum(v)));
					}
					out[n] = NumericGetDatum(v);
				}
				n++;
				break;
			case FG_MERGE_MOM:
				/* an empty side is NULL, as nullif() makes it in the SQL lift */
				outnull[n + ins] = (acc->mom[0] == 0);
				out[n + ins] = outnull[n + ins] ? (Datum) 0 : FgMomArrayNormalized(acc->mom);
				out[n + oth] = (Datum) 0;
				outnull[n + oth] = true;
				n += 2;
				break;
			case FG_MERGE_DSC:
				out[n + ins] = Int32GetDatum(acc->dsc);
				outnull[n + ins] = !acc->has;
				out[n + oth] = (Datum) 0;
				outnull[n + oth] = true;
				n += 2;
				break;
			case FG_MERGE_EXT:
				outnull[n + ins] = FgTopKIsEmpty(acc->topk);
				out[n + ins] = outnull[n + ins] ? (Datum) 0
					: PointerGetDatum(FgTopKSerialize(acc->topk));
				out[n + oth] = (Datum) 0;
				outnull[n + oth] = true;
				n += 2;
				break;
			case FG_MERGE_FL:
				out[n + ins] = acc->value;
				outnull[n + ins] = !acc->has || acc->isnull;
				out[n + oth] = (Datum) 0;
				outnull[n + oth] = true;
				out[n + 2 + ins] = TimestampGetDatum(acc->t);
				outnull[n + 2 + ins] = !acc->has;
				out[n + 2 + oth] = (Datum) 0;
				outnull[n + 2 + oth] = true;
				n += 4;
				break;
		}
	}
	return n;
}
