/*-------------------------------------------------------------------------
 *
 * aggstate_fold.c
 *	  The C fold's arithmetic per aggregate (fold_compute.c drives it):
 *	  combining a group's changelog rows, applying them to the stored
 *	  state, deciding whether the group must be recomputed, and the user
 *	  value, exactly as the SQL fold of aggstate.c computes them (regression
 *	  test "fold" compares the two).
 *
 * The SQL fold's phases, per aggregate, are FgAggCombineExprs (changelog
 * rows of a group into one), FgAggApplyExprs (old state + that row),
 * FgAggStaleExpr and FgAggFinalizeExpr; each function below names the one
 * it mirrors.  Aggregates whose state holds a numeric display scale
 * (sum, avg and stddev of numeric) and the exact stddev of integers are
 * left to the SQL fold: FgAggFoldPossible.
 *
 * IDENTIFICATION
 *	  src/aggstate_fold.c
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
#include "utils/fmgrprotos.h"
#include "utils/numeric.h"

#include "fluss_grid.h"
#include "aggstate_comps.h"

/*
 * FgAggFoldPossible
 *		Can the C fold compute aggregate agg?
 */
bool
FgAggFoldPossible(const FgAgg *agg)
{
	if (agg->kind == FG_AGG_STDDEV && FgTypeClassOf(agg->argtype) != FG_TC_FLOAT)
		return false;
	for (const FgComp *c = FgAggComps(agg); c->name; c++)
		if (c->merge == FG_MERGE_DSC)
			return false;
	return true;
}

/*
 * FgAggFoldDelta
 *		Add one changelog row's columns of aggregate agg (vals/nulls, in
 *		FgAggDeltaColumnNames order) to the group's accumulators of inserted
 *		(ins) and deleted (del) parts: FgAggCombineExprs.  Counters and sums
 *		are signed and all go to ins.
 */
void
FgAggFoldDelta(const FgAgg *agg, const FgLiftArg *arg, FgLiftAcc *ins,
			   FgLiftAcc *del, const Datum *vals, const bool *nulls,
			   MemoryContext cxt)
{
	Datum		iv[FG_LIFT_MAX_WIDTH];
	Datum		dv[FG_LIFT_MAX_WIDTH];
	bool		in[FG_LIFT_MAX_WIDTH];
	bool		dn[FG_LIFT_MAX_WIDTH];
	int			j = 0;
	int			k = 0;

	for (const FgComp *c = FgAggComps(agg); c->name; c++)
	{
		switch (c->merge)
		{
			case FG_MERGE_ADD:
				iv[k] = vals[j];
				in[k] = nulls[j];
				dv[k] = (Datum) 0;
				dn[k] = true;
				j++;
				k++;
				break;
			case FG_MERGE_MOM:
			case FG_MERGE_EXT:
				iv[k] = vals[j];
				in[k] = nulls[j];
				dv[k] = vals[j + 1];
				dn[k] = nulls[j + 1];
				j += 2;
				k++;
				break;
			case FG_MERGE_FL:
				/* ins, del, ins_t, del_t -> (value, time) per side */
				iv[k] = vals[j];
				in[k] = nulls[j];
				dv[k] = vals[j + 1];
				dn[k] = nulls[j + 1];
				iv[k + 1] = vals[j + 2];
				in[k + 1] = nulls[j + 2];
				dv[k + 1] = vals[j + 3];
				dn[k + 1] = nulls[j + 3];
				j += 4;
				k += 2;
				break;
			case FG_MERGE_DSC:
				elog(ERROR, "fluss_grid: the C fold cannot combine numeric scales");
		}
	}
	FgAggLiftMerge(agg, arg, ins, iv, in, cxt);
	FgAggLiftMerge(agg, arg, del, dv, dn, cxt);
}

/* a + b for bigint state columns, with bigint's overflow error */
static int64
fold_add64(int64 a, int64 b)
{
	int64		r;

	if (pg_add_s64_overflow(a, b, &r))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("bigint out of range")));
	return r;
}

/* the 'NaN', 'Infinity' or '-Infinity' of a float result type */
static Datum
fold_float_special(Oid restype, double v)
{
	if (restype == FLOAT4OID)
		return Float4GetDatum((float4) v);
	return Float8GetDatum(v);
}

/*
 * FgAggFoldApply
 *		The new state of aggregate agg, from its old state (old/oldnull in
 *		FgAggStateColumnNames order, or old == NULL for a new group) and the
 *		group's accumulators ins and del: FgAggApplyExprs, into out/outnull
 *		(same order).  Returns true when the group must be recomputed from
 *		the source instead (FgAggStaleExpr); otherwise result and resnull get
 *		the user value (FgAggFinalizeExpr).
 */
bool
FgAggFoldApply(const FgAgg *agg, const FgLiftArg *arg, const Datum *old,
			   const bool *oldnull, FgLiftAcc *ins, FgLiftAcc *del,
			   Datum *out, bool *outnull, Datum *result, bool *resnull,
			   MemoryContext cxt)
{
	FgTypeClass tc = FgTypeClassOf(agg->argtype);
	Oid			restype = FgAggResultType(agg->kind, agg->argtype);
	bool		minlike = FgAggMinLike(agg->kind);
	int64		n = 0,
				pinf = 0,
				ninf = 0,
				nan = 0;
	Datum		sum = (Datum) 0;	/* "s": bigint or numeric */
	float8		mom[FG_MOM_LEN] = {0};
	Datum		best = (Datum) 0;
	bool		bestnull = true;
	Datum		flv = (Datum) 0;
	bool		flvnull = true;
	int			j = 0;
	int			a = 0;			/* ins/del accumulator of the component */

	for (const FgComp *c = FgAggComps(agg); c->name; c++, a++)
	{
		bool		onull = (old == NULL) || oldnull[j];
		Datum		ov = onull ? (Datum) 0 : old[j];

		switch (c->merge)
		{
			case FG_MERGE_ADD:
				outnull[j] = false;
				if (c->rv != FG_RV_FINITE_SUM && c->rv != FG_RV_FINITE_SQ)
				{
					int64		v = fold_add64(onull ? 0 : DatumGetInt64(ov),
											   ins[a].cnt);

					out[j] = Int64GetDatum(v);
					if (strcmp(c->name, "n") == 0)
						n = v;
					else if (c->rv == FG_RV_PINF)
						pinf = v;
					else if (c->rv == FG_RV_NINF)
						ninf = v;
					else
						nan = v;
				}
				else if (strcmp(c->type, "bigint") == 0)
				{
#ifdef HAVE_INT128
					int128		v = (int128) (onull ? 0 : DatumGetInt64(ov)) + ins[a].isum;

					if (v < PG_INT64_MIN || v > PG_INT64_MAX)
						ereport(ERROR,
								(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
								 errmsg("bigint out of range")));
					out[j] = Int64GetDatum((int64) v);
#else
					elog(ERROR, "fluss_grid: the C fold needs 128-bit integers");
#endif
					sum = out[j];
				}
				else
				{
					/* numeric: coalesce(old, 0) + delta */
					Numeric		d = (ins[a].nsum == (Datum) 0) ? int64_to_numeric(0)
					: DatumGetNumeric(ins[a].nsum);

					out[j] = onull ? NumericGetDatum(d)
						: NumericGetDatum(numeric_add_opt_error(DatumGetNumeric(ov), d, NULL));
					sum = out[j];
				}
				j++;
				break;
			case FG_MERGE_MOM:
				if (!onull)
					FgMomRead(ov, mom);
				FgMomCombine(mom, ins[a].mom, 1.0);
				FgMomCombine(mom, del[a].mom, -1.0);
				out[j] = FgMomArray(mom);
				outnull[j] = false;

				/*
				 * Stale: the retracted squares dwarf what is left (see
				 * FgAggStaleExpr), read from the old state, not the new.
				 */
				if (del[a].mom[0] != 0)
				{
					float8		oq = 0;

					if (!onull)
					{
						float8		ovals[FG_MOM_LEN];

						FgMomRead(ov, ovals);
						oq = ovals[3];
					}
					if (del[a].mom[3] > 1e20 * fabs(oq + ins[a].mom[3] - del[a].mom[3]))
						return true;
				}
				j++;
				break;
			case FG_MERGE_EXT:
				{
					bool		dry;
					bytea	   *k;
					FgTopK	   *di = FgTopKIsEmpty(del[a].topk) ? NULL : del[a].topk;
					FgTopK	   *ii = FgTopKIsEmpty(ins[a].topk) ? NULL : ins[a].topk;

					k = FgTopKApply(onull ? NULL : DatumGetByteaPP(ov), ii, di,
									&dry, &best, &bestnull);
					if (di != NULL && k != NULL && dry)
						return true;
					out[j] = PointerGetDatum(k);
					outnull[j] = (k == NULL);
					j++;
				}
				break;
			case FG_MERGE_FL:
				{
					FgLiftAcc	acc;
					bool		tnull = (old == NULL) || oldnull[j + 1];

					/* the old candidate, then the inserted one if it wins */
					memset(&acc, 0, sizeof(acc));
					if (!tnull)
					{
						Datum		v = ov;

						if (!onull && !arg->typbyval && arg->typlen == -1)
							v = PointerGetDatum(PG_DETOAST_DATUM(v));
						FgAggFirstLastKeep(agg, arg, &acc, v, onull,
										   DatumGetTimestamp(old[j + 1]), cxt);
					}
					if (ins[a].has)
						FgAggFirstLastKeep(agg, arg, &acc, ins[a].value,
										   ins[a].isnull, ins[a].t, cxt);

					/*
					 * Stale when a retracted row is at or beyond the kept
					 * time: least(old, ins) for first, greatest for last, a
					 * NULL bound (nothing kept) counting as stale.
					 */
					if (del[a].has &&
						(!acc.has || (minlike ? del[a].t <= acc.t : del[a].t >= acc.t)))
						return true;
					out[j] = acc.value;
					outnull[j] = !acc.has || acc.isnull;
					out[j + 1] = TimestampGetDatum(acc.t);
					outnull[j + 1] = !acc.has;
					flv = out[j];
					flvnull = outnull[j];
					j += 2;
				}
				break;
			case FG_MERGE_DSC:
				elog(ERROR, "fluss_grid: the C fold cannot apply numeric scales");
		}
	}

	/* the user value */
	*resnull = false;
	switch (agg->kind)
	{
		case FG_AGG_COUNT_STAR:
		case FG_AGG_COUNT:
			*result = Int64GetDatum(n);
			break;
		case FG_AGG_SUM:
		case FG_AGG_AVG:
			if (n == 0)
			{
				*resnull = true;
				break;
			}
			if (tc == FG_TC_FLOAT)
			{
				if (nan > 0 || (pinf > 0 && ninf > 0))
					*result = fold_float_special(restype, get_float8_nan());
				else if (pinf > 0)
					*result = fold_float_special(restype, get_float8_infinity());
				else if (ninf > 0)
					*result = fold_float_special(restype, -get_float8_infinity());
				else if (agg->kind == FG_AGG_SUM && restype == FLOAT4OID)
					*result = DirectFunctionCall1(dtof, Float8GetDatum(mom[1] + mom[2]));
				else if (agg->kind == FG_AGG_SUM)
					*result = Float8GetDatum(mom[1] + mom[2]);
				else
					*result = DirectFunctionCall2(float8div,
												  Float8GetDatum(mom[1] + mom[2]),
												  Float8GetDatum((float8) n));
			}
			else if (agg->kind == FG_AGG_SUM)
				*result = sum;	/* bigint for int2/int4, numeric for int8 */
			else
			{
				Datum		s = (tc == FG_TC_INT)
					? NumericGetDatum(int64_to_numeric(DatumGetInt64(sum))) : sum;

				*result = DirectFunctionCall2(numeric_div, s,
											  NumericGetDatum(int64_to_numeric(n)));
			}
			break;
		case FG_AGG_STDDEV:
			if (n < 2)
				*resnull = true;
			else if (nan > 0)
				*result = Float8GetDatum(get_float8_nan());
			else if (mom[0] < 2)
				*resnull = true;	/* as mom_stddev */
			else
				*result = Float8GetDatum(FgMomStddev(mom));
			break;
		case FG_AGG_MIN:
		case FG_AGG_MAX:
			*result = best;
			*resnull = bestnull;
			break;
		case FG_AGG_FIRST:
		case FG_AGG_LAST:
			*result = flv;
			*resnull = flvnull;
			break;
	}
	return false;
}
