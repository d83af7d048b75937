/*-------------------------------------------------------------------------
 *
 * extreme.c
 *	  fluss_grid.ext_count(value, weight, is_max): the summed weight of the
 *	  rows whose value equals the minimum (or maximum) of the group.
 *
 * A min or max kept with the number of rows that hold it survives the
 * retraction of one of several tied rows: telemetry rounded to 0.001 Hz has
 * dozens of rows at a minute's extreme, and without the count every such
 * UPDATE or DELETE would send the group to a recompute from the source.
 * Only when the last holder goes is the group recomputed.
 *
 * Values are compared with the type's default btree comparator, so NaN
 * equals NaN and sorts above every number, as in PostgreSQL's min/max.
 *
 * IDENTIFICATION
 *	  src/extreme.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/typcache.h"

#include "fluss_grid.h"

PG_FUNCTION_INFO_V1(fluss_grid_ext_count_accum);
PG_FUNCTION_INFO_V1(fluss_grid_ext_count_final);

typedef struct ExtCountState
{
	bool		has;
	Datum		value;
	int64		count;
	int16		typlen;
	bool		typbyval;
	Oid			collation;
	FmgrInfo   *cmp;
} ExtCountState;

/*
 * fluss_grid_ext_count_accum
 *		Transition: (state, value anyelement, weight bigint, is_max bool).
 */
Datum
fluss_grid_ext_count_accum(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	ExtCountState *st;
	Datum		x;
	int64		w;
	bool		is_max;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "fluss_grid.ext_count called in non-aggregate context");

	st = PG_ARGISNULL(0) ? NULL : (ExtCountState *) PG_GETARG_POINTER(0);
	if (st == NULL)
	{
		Oid			typid = get_fn_expr_argtype(fcinfo->flinfo, 1);
		TypeCacheEntry *tc = lookup_type_cache(typid, TYPECACHE_CMP_PROC_FINFO);

		if (!OidIsValid(tc->cmp_proc_finfo.fn_oid))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_FUNCTION),
					 errmsg("could not identify a comparison function for type %s",
							format_type_be(typid))));
		st = MemoryContextAllocZero(aggcxt, sizeof(ExtCountState));
		st->typlen = tc->typlen;
		st->typbyval = tc->typbyval;
		st->collation = PG_GET_COLLATION();
		st->cmp = &tc->cmp_proc_finfo;
	}
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_POINTER(st);

	x = PG_GETARG_DATUM(1);
	w = PG_GETARG_INT64(2);
	is_max = PG_ARGISNULL(3) ? false : PG_GETARG_BOOL(3);

	if (!st->has)
	{
		/* the per-call context is reset after us: keep values in aggcxt */
		MemoryContext old = MemoryContextSwitchTo(aggcxt);

		st->value = datumCopy(x, st->typbyval, st->typlen);
		MemoryContextSwitchTo(old);
		st->count = w;
		st->has = true;
	}
	else
	{
		int32		c = DatumGetInt32(FunctionCall2Coll(st->cmp, st->collation, x, st->value));

		if (is_max)
			c = -c;
		if (c < 0)
		{
			MemoryContext old = MemoryContextSwitchTo(aggcxt);

			if (!st->typbyval)
				pfree(DatumGetPointer(st->value));
			st->value = datumCopy(x, st->typbyval, st->typlen);
			MemoryContextSwitchTo(old);
			st->count = w;
		}
		else if (c == 0)
			st->count += w;
	}
	PG_RETURN_POINTER(st);
}

/*
 * fluss_grid_ext_count_final
 *		The weight at the extreme; NULL when no row had a value.
 */
Datum
fluss_grid_ext_count_final(PG_FUNCTION_ARGS)
{
	ExtCountState *st = PG_ARGISNULL(0) ? NULL : (ExtCountState *) PG_GETARG_POINTER(0);

	if (st == NULL || !st->has)
		PG_RETURN_NULL();
	PG_RETURN_INT64(st->count);
}
