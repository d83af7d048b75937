/*-------------------------------------------------------------------------
 *
 * aggstate.c
 *	  The arithmetic of aggregate partial states, in one place.
 *
 * Every aggregate of a rollup is kept as a vector of state components,
 * each with one of four merge disciplines:
 *
 *	ADD   an additive counter or sum; a retraction adds the negated value,
 *		  so inserts and deletes commute exactly.  Non-finite inputs are
 *		  counted apart (pinf, ninf, nan) so that retracting an Infinity
 *		  restores a finite sum instead of leaving NaN behind.
 *	MOM   float8 moments {n, sum, sum of squares} over finite values, the
 *		  sums kept as double-double pairs (moments.c), so that retracting a
 *		  large value gives back the small ones exactly enough.
 *	EXT   an extreme (min or max), kept as a top-k list (extreme.c): the
 *		  best few values with their row counts.  Retracting the extreme
 *		  promotes the next value; only a list that runs dry marks the
 *		  group stale, and the fold recomputes it from the source.
 *	FL    first/last: the value of the row that sorts first (last) by
 *		  (time, value), plus that time.  Retraction works as for EXT.
 *
 * The changelog (delta) table stores ADD components as signed sums and the
 * others as separate "inserted" and "deleted" parts.  The functions below
 * produce the SQL for the four phases that the capture trigger, the fold,
 * the refresh and the realtime view all share:
 *
 *	lift      source rows (sign-tagged) -> delta columns, aggregated by group
 *	combine   several delta rows of a group -> one
 *	apply     old rollup state (or none) + combined delta -> new state
 *	finalize  state -> the user-visible aggregate value
 *
 * Because all four are generated here, the three consumers cannot disagree.
 *
 * The lift also exists in C (FgAggLift*, in aggstate_lift.c), driven
 * by the same component tables: the capture trigger uses it for statements
 * that only insert or only delete, where it is several times cheaper than
 * the SQL aggregate.  It must produce exactly the delta row the SQL lift
 * produces; the regression test "lift" compares the two.
 *
 * IDENTIFICATION
 *	  src/aggstate.c
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

/* component vectors per aggregate shape */
static const FgComp comps_count_star[] = {
	{"n", FG_MERGE_ADD, FG_RV_ROWS, "bigint"}, {NULL}
};
static const FgComp comps_count[] = {
	{"n", FG_MERGE_ADD, FG_RV_NONNULL, "bigint"}, {NULL}
};
static const FgComp comps_sum_int[] = {
	{"n", FG_MERGE_ADD, FG_RV_NONNULL, "bigint"},
	{"s", FG_MERGE_ADD, FG_RV_FINITE_SUM, "bigint"}, {NULL}
};
static const FgComp comps_sum_int8[] = {
	{"n", FG_MERGE_ADD, FG_RV_NONNULL, "bigint"},
	{"s", FG_MERGE_ADD, FG_RV_FINITE_SUM, "numeric"}, {NULL}
};
static const FgComp comps_sum_float[] = {
	{"n", FG_MERGE_ADD, FG_RV_NONNULL, "bigint"},
	{"m", FG_MERGE_MOM, FG_RV_MOM, "double precision[]"},
	{"pinf", FG_MERGE_ADD, FG_RV_PINF, "bigint"},
	{"ninf", FG_MERGE_ADD, FG_RV_NINF, "bigint"},
	{"nan", FG_MERGE_ADD, FG_RV_NAN, "bigint"}, {NULL}
};
static const FgComp comps_sum_numeric[] = {
	{"n", FG_MERGE_ADD, FG_RV_NONNULL, "bigint"},
	{"s", FG_MERGE_ADD, FG_RV_FINITE_SUM, "numeric"},
	{"pinf", FG_MERGE_ADD, FG_RV_PINF, "bigint"},
	{"ninf", FG_MERGE_ADD, FG_RV_NINF, "bigint"},
	{"nan", FG_MERGE_ADD, FG_RV_NAN, "bigint"},
	{"dsc", FG_MERGE_DSC, FG_RV_SCALE, "integer"}, {NULL}
};
static const FgComp comps_stddev_numeric[] = {
	{"n", FG_MERGE_ADD, FG_RV_NONNULL, "bigint"},
	{"s", FG_MERGE_ADD, FG_RV_FINITE_SUM, "numeric"},
	{"q", FG_MERGE_ADD, FG_RV_FINITE_SQ, "numeric"},
	{"nan", FG_MERGE_ADD, FG_RV_NONFINITE, "bigint"},
	{"dsc", FG_MERGE_DSC, FG_RV_SCALE, "integer"}, {NULL}
};
static const FgComp comps_stddev_exact[] = {
	{"n", FG_MERGE_ADD, FG_RV_NONNULL, "bigint"},
	{"s", FG_MERGE_ADD, FG_RV_FINITE_SUM, "numeric"},
	{"q", FG_MERGE_ADD, FG_RV_FINITE_SQ, "numeric"},
	{"nan", FG_MERGE_ADD, FG_RV_NONFINITE, "bigint"}, {NULL}
};
static const FgComp comps_stddev_float[] = {
	{"n", FG_MERGE_ADD, FG_RV_NONNULL, "bigint"},
	{"nan", FG_MERGE_ADD, FG_RV_NONFINITE, "bigint"},
	{"m", FG_MERGE_MOM, FG_RV_MOM, "double precision[]"}, {NULL}
};
static const FgComp comps_ext[] = {
	{"k", FG_MERGE_EXT, FG_RV_VALUE, "bytea"}, {NULL}
};
static const FgComp comps_fl[] = {
	{"v", FG_MERGE_FL, FG_RV_VALUE, NULL}, {NULL}
};

/* the empty float moments state, as SQL */
#define MOM_ZERO "'{0,0,0,0,0}'::float8[]"

static const char *comp_type(const FgAgg *agg, const FgComp *c);
static const char *time_type_name(Oid timetype);
static void old_ref(StringInfo buf, const char *old, int i, const char *col,
					const char *type);

/*
 * FgAggKindFromName
 *		Map a function name from an aggregate spec to its kind.
 */
FgAggKind
FgAggKindFromName(const char *name, bool star, bool *ok)
{
	*ok = true;
	if (strcmp(name, "count") == 0)
		return star ? FG_AGG_COUNT_STAR : FG_AGG_COUNT;
	if (star)
		*ok = false;
	if (strcmp(name, "sum") == 0)
		return FG_AGG_SUM;
	if (strcmp(name, "avg") == 0)
		return FG_AGG_AVG;
	if (strcmp(name, "min") == 0)
		return FG_AGG_MIN;
	if (strcmp(name, "max") == 0)
		return FG_AGG_MAX;
	if (strcmp(name, "stddev") == 0 || strcmp(name, "stddev_samp") == 0)
		return FG_AGG_STDDEV;
	if (strcmp(name, "first") == 0)
		return FG_AGG_FIRST;
	if (strcmp(name, "last") == 0)
		return FG_AGG_LAST;
	*ok = false;
	return FG_AGG_COUNT;
}

/*
 * FgAggKindName
 *		The SQL name of an aggregate kind, as stored in the catalog.
 */
const char *
FgAggKindName(FgAggKind kind)
{
	switch (kind)
	{
		case FG_AGG_COUNT_STAR:
			return "count(*)";
		case FG_AGG_COUNT:
			return "count";
		case FG_AGG_SUM:
			return "sum";
		case FG_AGG_AVG:
			return "avg";
		case FG_AGG_MIN:
			return "min";
		case FG_AGG_MAX:
			return "max";
		case FG_AGG_STDDEV:
			return "stddev";
		case FG_AGG_FIRST:
			return "first";
		case FG_AGG_LAST:
			return "last";
	}
	return "?";
}

/*
 * FgTypeClassOf
 *		Numeric class of an input type; FG_TC_OTHER for anything else.
 */
FgTypeClass
FgTypeClassOf(Oid typid)
{
	switch (typid)
	{
		case InvalidOid:
			return FG_TC_NONE;
		case INT2OID:
		case INT4OID:
			return FG_TC_INT;
		case INT8OID:
			return FG_TC_INT8;
		case FLOAT4OID:
		case FLOAT8OID:
			return FG_TC_FLOAT;
		case NUMERICOID:
			return FG_TC_NUMERIC;
		default:
			return FG_TC_OTHER;
	}
}

/*
 * FgAggResultType
 *		The result type PostgreSQL's own aggregate gives for this input.
 */
Oid
FgAggResultType(FgAggKind kind, Oid argtype)
{
	FgTypeClass tc = FgTypeClassOf(argtype);

	switch (kind)
	{
		case FG_AGG_COUNT_STAR:
		case FG_AGG_COUNT:
			return INT8OID;
		case FG_AGG_SUM:
			if (tc == FG_TC_INT)
				return INT8OID;
			if (tc == FG_TC_INT8 || tc == FG_TC_NUMERIC)
				return NUMERICOID;
			return argtype;		/* float4 stays float4 */
		case FG_AGG_AVG:
		case FG_AGG_STDDEV:
			return tc == FG_TC_FLOAT ? FLOAT8OID : NUMERICOID;
		case FG_AGG_MIN:
		case FG_AGG_MAX:
		case FG_AGG_FIRST:
		case FG_AGG_LAST:
			return argtype;
	}
	return InvalidOid;
}

bool
FgAggMinLike(FgAggKind kind)
{
	return kind == FG_AGG_MIN || kind == FG_AGG_FIRST;
}

const FgComp *
FgAggComps(const FgAgg *agg)
{
	FgTypeClass tc = FgTypeClassOf(agg->argtype);

	switch (agg->kind)
	{
		case FG_AGG_COUNT_STAR:
			return comps_count_star;
		case FG_AGG_COUNT:
			return comps_count;
		case FG_AGG_SUM:
		case FG_AGG_AVG:
			if (tc == FG_TC_INT)
				return comps_sum_int;
			if (tc == FG_TC_INT8)
				return comps_sum_int8;
			if (tc == FG_TC_FLOAT)
				return comps_sum_float;
			return comps_sum_numeric;
		case FG_AGG_STDDEV:
			if (tc == FG_TC_FLOAT)
				return comps_stddev_float;
			return tc == FG_TC_NUMERIC ? comps_stddev_numeric : comps_stddev_exact;
		case FG_AGG_MIN:
		case FG_AGG_MAX:
			return comps_ext;
		case FG_AGG_FIRST:
		case FG_AGG_LAST:
			return comps_fl;
	}
	return NULL;
}

static const char *
comp_type(const FgAgg *agg, const FgComp *c)
{
	return c->type ? c->type : format_type_be(agg->argtype);
}

static const char *
time_type_name(Oid timetype)
{
	return timetype == TIMESTAMPOID ? "timestamp without time zone"
		: "timestamp with time zone";
}

/*
 * FgAggCanGoStale
 *		True for aggregates whose retraction may need a recompute.
 */
bool
FgAggCanGoStale(const FgAgg *agg)
{
	return agg->kind == FG_AGG_MIN || agg->kind == FG_AGG_MAX ||
		agg->kind == FG_AGG_FIRST || agg->kind == FG_AGG_LAST ||
		((FgTypeClassOf(agg->argtype) == FG_TC_NUMERIC ||
		  FgTypeClassOf(agg->argtype) == FG_TC_FLOAT) &&
		 (agg->kind == FG_AGG_SUM || agg->kind == FG_AGG_AVG ||
		  agg->kind == FG_AGG_STDDEV));
}

/*
 * FgAggColumnDefs
 *		Column definitions of aggregate i's state, in the rollup table
 *		(delta = false) or in its changelog table (delta = true), all of
 *		them or the part asked for.  Each definition is preceded by ", ".
 */
void
FgAggColumnDefs(StringInfo buf, const FgAgg *agg, int i, bool delta,
				Oid timetype, FgColumnPart part)
{
	const FgComp *c;

	for (c = FgAggComps(agg); c->name; c++)
	{
		const char *t = comp_type(agg, c);

		if ((part == FG_COLS_LISTS && c->merge != FG_MERGE_EXT) ||
			(part == FG_COLS_BUT_LISTS && c->merge == FG_MERGE_EXT))
			continue;
		if (c->merge == FG_MERGE_ADD)
			appendStringInfo(buf, ", _fg_%d_%s %s NOT NULL DEFAULT 0",
							 i, c->name, t);
		else if (c->merge == FG_MERGE_DSC)
		{
			if (delta)
				appendStringInfo(buf, ", _fg_%d_dsc_ins integer, _fg_%d_dsc_del integer", i, i);
			else
				appendStringInfo(buf, ", _fg_%d_dsc integer", i);
		}
		else if (!delta)
		{
			appendStringInfo(buf, ", _fg_%d_%s %s", i, c->name, t);
			if (c->merge == FG_MERGE_FL)
				appendStringInfo(buf, ", _fg_%d_t %s", i,
								 time_type_name(timetype));
		}
		else if (c->merge == FG_MERGE_MOM)
			appendStringInfo(buf, ", _fg_%d_m_ins %s, _fg_%d_m_del %s",
							 i, t, i, t);
		else
		{
			appendStringInfo(buf, ", _fg_%d_ins %s, _fg_%d_del %s",
							 i, t, i, t);
			if (c->merge == FG_MERGE_FL)
				appendStringInfo(buf, ", _fg_%d_ins_t %s, _fg_%d_del_t %s",
								 i, time_type_name(timetype),
								 i, time_type_name(timetype));
		}
	}
}

/*
 * FgAggStateColumnNames
 *		Names of the rollup-table state columns of aggregate i, in the order
 *		FgAggColumnDefs (FG_COLS_ALL) and FgAggApplyExprs produce them.
 */
void
FgAggStateColumnNames(List **names, const FgRollup *r, int i)
{
	const FgAgg *agg = &r->aggs[i - 1];
	const FgComp *c;

	for (c = FgAggComps(agg); c->name; c++)
	{
		*names = lappend(*names, psprintf("_fg_%d_%s", i, c->name));
		if (c->merge == FG_MERGE_FL)
			*names = lappend(*names, psprintf("_fg_%d_t", i));
	}
}

/*
 * Row-level value of one component, for lifting.  The row stream has
 * columns _fg_sign, _fg_t (time), and per aggregate i either _fg_x_<i>
 * (argument) and _fg_f_<i> (filter) for a table source, or _fg_p_<i>_<c>
 * (the parent rollup's components) for a rollup source.
 */
static void
append_finite(StringInfo buf, const char *x, FgTypeClass tc)
{
	if (tc == FG_TC_FLOAT)
		appendStringInfo(buf, "%s > '-Infinity'::float8 AND %s < 'Infinity'::float8", x, x);
	else if (tc == FG_TC_NUMERIC)
		appendStringInfo(buf, "%s > '-Infinity'::numeric AND %s < 'Infinity'::numeric", x, x);
	else
		appendStringInfo(buf, "%s IS NOT NULL", x);
}

static void
append_filter(StringInfo buf, const FgAgg *agg, int i)
{
	if (agg->filter)
		appendStringInfo(buf, " AND _fg_f_%d", i);
}

/*
 * append_topk_pair
 *		", ins, del" for a top-k list's inserted and deleted side, both NULL
 *		when they are equal: a pair that cancels lifts nothing (as the C
 *		lift, FgAggLiftEmitPair, does).  The planner computes each of the
 *		repeated aggregate calls once.
 */
static void
append_topk_pair(StringInfo buf, const char *ins, const char *del)
{
	appendStringInfo(buf, ", CASE WHEN %s = %s THEN NULL ELSE %s END", ins, del, ins);
	appendStringInfo(buf, ", CASE WHEN %s = %s THEN NULL ELSE %s END", ins, del, del);
}

/*
 * FgAggLiftExprs
 *		Aggregate expressions turning the sign-tagged row stream into the
 *		delta columns of aggregate i, each preceded by ", ".
 */
void
FgAggLiftExprs(StringInfo buf, const FgRollup *r, int i)
{
	const FgAgg *agg = &r->aggs[i - 1];
	FgTypeClass tc = FgTypeClassOf(agg->argtype);
	bool		from_rollup = (r->parent_id != 0);
	const FgComp *c;
	char		x[32];

	snprintf(x, sizeof(x), "_fg_x_%d", i);

	for (c = FgAggComps(agg); c->name; c++)
	{
		const char *t = comp_type(agg, c);

		if (from_rollup)
		{
			/* the parent already holds states: merge them */
			switch (c->merge)
			{
				case FG_MERGE_ADD:
					appendStringInfo(buf,
									 ", coalesce(sum(_fg_sign * _fg_p_%d_%s), 0)::%s",
									 i, c->name, t);
					break;
				case FG_MERGE_DSC:
					appendStringInfo(buf,
									 ", max(_fg_p_%d_dsc) FILTER (WHERE _fg_sign > 0)"
									 ", max(_fg_p_%d_dsc) FILTER (WHERE _fg_sign < 0)",
									 i, i);
					break;
				case FG_MERGE_MOM:
					appendStringInfo(buf,
									 ", nullif(fluss_grid.mom_merge(_fg_p_%d_m) FILTER (WHERE _fg_sign > 0), " MOM_ZERO ")"
									 ", nullif(fluss_grid.mom_merge(_fg_p_%d_m) FILTER (WHERE _fg_sign < 0), " MOM_ZERO ")",
									 i, i);
					break;
				case FG_MERGE_EXT:
					append_topk_pair(buf,
									 psprintf("fluss_grid.topk_merge(_fg_p_%d_k) FILTER (WHERE _fg_sign > 0)", i),
									 psprintf("fluss_grid.topk_merge(_fg_p_%d_k) FILTER (WHERE _fg_sign < 0)", i));
					break;
				case FG_MERGE_FL:
					{
						const char *dir = FgAggMinLike(agg->kind) ? "" : " DESC";
						const char *ext = FgAggMinLike(agg->kind) ? "min" : "max";

						appendStringInfo(buf,
										 ", (array_agg(_fg_p_%d_v ORDER BY _fg_p_%d_t%s, _fg_p_%d_v%s) FILTER (WHERE _fg_sign > 0 AND _fg_p_%d_t IS NOT NULL))[1]"
										 ", (array_agg(_fg_p_%d_v ORDER BY _fg_p_%d_t%s, _fg_p_%d_v%s) FILTER (WHERE _fg_sign < 0 AND _fg_p_%d_t IS NOT NULL))[1]"
										 ", %s(_fg_p_%d_t) FILTER (WHERE _fg_sign > 0)"
										 ", %s(_fg_p_%d_t) FILTER (WHERE _fg_sign < 0)",
										 i, i, dir, i, dir, i,
										 i, i, dir, i, dir, i,
										 ext, i, ext, i);
					}
					break;
			}
			continue;
		}

		switch (c->rv)
		{
			case FG_RV_ROWS:
				appendStringInfoString(buf, ", coalesce(sum(_fg_sign) FILTER (WHERE true");
				append_filter(buf, agg, i);
				appendStringInfoString(buf, "), 0)::bigint");
				break;
			case FG_RV_NONNULL:
				appendStringInfo(buf,
								 ", coalesce(sum(_fg_sign) FILTER (WHERE %s IS NOT NULL", x);
				append_filter(buf, agg, i);
				appendStringInfoString(buf, "), 0)::bigint");
				break;
			case FG_RV_FINITE_SUM:
			case FG_RV_FINITE_SQ:
				{
					/* float sums are moments (FG_RV_MOM), never these */
					const char *cast = (tc == FG_TC_INT) ? "bigint" : "numeric";

					if (c->rv == FG_RV_FINITE_SUM)
						appendStringInfo(buf, ", coalesce(sum(_fg_sign * %s::%s) FILTER (WHERE ",
										 x, cast);
					else
						appendStringInfo(buf, ", coalesce(sum(_fg_sign * %s::numeric * %s::numeric) FILTER (WHERE ",
										 x, x);
					append_finite(buf, x, tc);
					append_filter(buf, agg, i);
					appendStringInfo(buf, "), 0)::%s", t);
				}
				break;
			case FG_RV_PINF:
			case FG_RV_NINF:
			case FG_RV_NAN:
			case FG_RV_NONFINITE:
				{
					const char *lit = (tc == FG_TC_FLOAT) ? "float8" : "numeric";

					appendStringInfoString(buf, ", coalesce(sum(_fg_sign) FILTER (WHERE ");
					if (tc != FG_TC_FLOAT && tc != FG_TC_NUMERIC)
						appendStringInfoString(buf, "false");
					else if (c->rv == FG_RV_PINF)
						appendStringInfo(buf, "%s = 'Infinity'::%s", x, lit);
					else if (c->rv == FG_RV_NINF)
						appendStringInfo(buf, "%s = '-Infinity'::%s", x, lit);
					else if (c->rv == FG_RV_NAN)
						appendStringInfo(buf, "%s = 'NaN'::%s", x, lit);
					else
						appendStringInfo(buf, "NOT (%s > '-Infinity'::%s AND %s < 'Infinity'::%s)",
										 x, lit, x, lit);
					append_filter(buf, agg, i);
					appendStringInfoString(buf, "), 0)::bigint");
				}
				break;
			case FG_RV_SCALE:
				appendStringInfo(buf, ", max(scale(%s)) FILTER (WHERE _fg_sign > 0", x);
				append_filter(buf, agg, i);
				appendStringInfo(buf, "), max(scale(%s)) FILTER (WHERE _fg_sign < 0", x);
				append_filter(buf, agg, i);
				appendStringInfoChar(buf, ')');
				break;
			case FG_RV_MOM:
				/* an empty side is NULL, not zeros: changelog rows stay small */
				appendStringInfo(buf, ", nullif(fluss_grid.mom_state(%s::float8) FILTER (WHERE _fg_sign > 0 AND ", x);
				append_finite(buf, x, tc);
				append_filter(buf, agg, i);
				appendStringInfo(buf, "), " MOM_ZERO "), nullif(fluss_grid.mom_state(%s::float8) FILTER (WHERE _fg_sign < 0 AND ", x);
				append_finite(buf, x, tc);
				append_filter(buf, agg, i);
				appendStringInfoString(buf, "), " MOM_ZERO ")");
				break;
			case FG_RV_VALUE:
				if (c->merge == FG_MERGE_EXT)
				{
					const char *ismax = FgAggMinLike(agg->kind) ? "false" : "true";
					StringInfoData ins;
					StringInfoData del;

					initStringInfo(&ins);
					appendStringInfo(&ins, "fluss_grid.topk(%s, %s) FILTER (WHERE _fg_sign > 0",
									 x, ismax);
					append_filter(&ins, agg, i);
					appendStringInfoChar(&ins, ')');
					initStringInfo(&del);
					appendStringInfo(&del, "fluss_grid.topk(%s, %s) FILTER (WHERE _fg_sign < 0",
									 x, ismax);
					append_filter(&del, agg, i);
					appendStringInfoChar(&del, ')');
					append_topk_pair(buf, ins.data, del.data);
				}
				else
				{
					const char *dir = FgAggMinLike(agg->kind) ? "" : " DESC";
					const char *ext = FgAggMinLike(agg->kind) ? "min" : "max";

					appendStringInfo(buf, ", (array_agg(%s ORDER BY _fg_t%s, %s%s) FILTER (WHERE _fg_sign > 0",
									 x, dir, x, dir);
					append_filter(buf, agg, i);
					appendStringInfo(buf, "))[1], (array_agg(%s ORDER BY _fg_t%s, %s%s) FILTER (WHERE _fg_sign < 0",
									 x, dir, x, dir);
					append_filter(buf, agg, i);
					appendStringInfo(buf, "))[1], %s(_fg_t) FILTER (WHERE _fg_sign > 0", ext);
					append_filter(buf, agg, i);
					appendStringInfo(buf, "), %s(_fg_t) FILTER (WHERE _fg_sign < 0", ext);
					append_filter(buf, agg, i);
					appendStringInfoChar(buf, ')');
				}
				break;
		}
	}
}

/*
 * FgAggCombineExprs
 *		Aggregate expressions merging several delta rows (alias d) of a group
 *		into one, for aggregate i; same column order as FgAggColumnDefs.
 */
void
FgAggCombineExprs(StringInfo buf, const FgRollup *r, int i, const char *d)
{
	const FgAgg *agg = &r->aggs[i - 1];
	const FgComp *c;
	const char *ext = FgAggMinLike(agg->kind) ? "min" : "max";
	const char *dir = FgAggMinLike(agg->kind) ? "" : " DESC";

	for (c = FgAggComps(agg); c->name; c++)
	{
		switch (c->merge)
		{
			case FG_MERGE_ADD:
				appendStringInfo(buf, ", coalesce(sum(%s._fg_%d_%s), 0)::%s",
								 d, i, c->name, comp_type(agg, c));
				break;
			case FG_MERGE_MOM:
				appendStringInfo(buf,
								 ", fluss_grid.mom_merge(%s._fg_%d_m_ins), fluss_grid.mom_merge(%s._fg_%d_m_del)",
								 d, i, d, i);
				break;
			case FG_MERGE_DSC:
				appendStringInfo(buf, ", max(%s._fg_%d_dsc_ins), max(%s._fg_%d_dsc_del)",
								 d, i, d, i);
				break;
			case FG_MERGE_EXT:
				appendStringInfo(buf,
								 ", fluss_grid.topk_merge(%s._fg_%d_ins), fluss_grid.topk_merge(%s._fg_%d_del)",
								 d, i, d, i);
				break;
			case FG_MERGE_FL:
				appendStringInfo(buf,
								 ", (array_agg(%s._fg_%d_ins ORDER BY %s._fg_%d_ins_t%s, %s._fg_%d_ins%s) FILTER (WHERE %s._fg_%d_ins_t IS NOT NULL))[1]"
								 ", (array_agg(%s._fg_%d_del ORDER BY %s._fg_%d_del_t%s, %s._fg_%d_del%s) FILTER (WHERE %s._fg_%d_del_t IS NOT NULL))[1]"
								 ", %s(%s._fg_%d_ins_t), %s(%s._fg_%d_del_t)",
								 d, i, d, i, dir, d, i, dir, d, i,
								 d, i, d, i, dir, d, i, dir, d, i,
								 ext, d, i, ext, d, i);
				break;
		}
	}
}

/* "old._fg_<i>_<col>", or a typed NULL when there is no old state */
static void
old_ref(StringInfo buf, const char *old, int i, const char *col,
		const char *type)
{
	if (old)
		appendStringInfo(buf, "%s._fg_%d_%s", old, i, col);
	else
		appendStringInfo(buf, "NULL::%s", type);
}

/* the new top-k list of min/max aggregate i: old + inserted - deleted */
static void
ext_apply_expr(StringInfo buf, const char *old, int i, const char *g)
{
	appendStringInfoString(buf, "fluss_grid.topk_apply(");
	old_ref(buf, old, i, "k", "bytea");
	appendStringInfo(buf, ", %s._fg_%d_ins, %s._fg_%d_del)", g, i, g, i);
}

/*
 * FgAggApplyExprs
 *		Expressions for the new state of aggregate i from the old rollup row
 *		(alias old, or NULL for a group without one) and the combined delta
 *		(alias g); same order as FgAggStateColumnNames.
 */
void
FgAggApplyExprs(StringInfo buf, const FgRollup *r, int i, const char *old,
				const char *g)
{
	const FgAgg *agg = &r->aggs[i - 1];
	const FgComp *c;
	bool		minlike = FgAggMinLike(agg->kind);
	const char *tt = time_type_name(r->timetype);

	for (c = FgAggComps(agg); c->name; c++)
	{
		const char *t = comp_type(agg, c);

		appendStringInfoString(buf, ", ");
		switch (c->merge)
		{
			case FG_MERGE_ADD:
				appendStringInfoString(buf, "coalesce(");
				old_ref(buf, old, i, c->name, t);
				appendStringInfo(buf, ", 0) + %s._fg_%d_%s", g, i, c->name);
				break;
			case FG_MERGE_MOM:
				appendStringInfoString(buf,
									   "fluss_grid.mom_sub(fluss_grid.mom_add(coalesce(");
				old_ref(buf, old, i, "m", t);
				appendStringInfo(buf, ", " MOM_ZERO "), coalesce(%s._fg_%d_m_ins, " MOM_ZERO "))"
								 ", coalesce(%s._fg_%d_m_del, " MOM_ZERO "))",
								 g, i, g, i);
				break;
			case FG_MERGE_DSC:
				appendStringInfoString(buf, "greatest(");
				old_ref(buf, old, i, "dsc", "integer");
				appendStringInfo(buf, ", %s._fg_%d_dsc_ins)", g, i);
				break;
			case FG_MERGE_EXT:
				ext_apply_expr(buf, old, i, g);
				break;
			case FG_MERGE_FL:
				{
					/*
					 * The inserted candidate wins when it sorts before (after)
					 * the old one by time, then by value with NULLs last.
					 */
					StringInfoData ov,
								ot;

					initStringInfo(&ov);
					initStringInfo(&ot);
					old_ref(&ov, old, i, "v", t);
					old_ref(&ot, old, i, "t", tt);
					if (minlike)
						appendStringInfo(buf,
										 "CASE WHEN %s._fg_%d_ins_t IS NOT NULL AND (%s IS NULL OR %s._fg_%d_ins_t < %s"
										 " OR (%s._fg_%d_ins_t = %s AND %s._fg_%d_ins IS NOT NULL AND (%s IS NULL OR %s._fg_%d_ins < %s)))"
										 " THEN %s._fg_%d_ins ELSE %s END, least(%s, %s._fg_%d_ins_t)",
										 g, i, ot.data, g, i, ot.data,
										 g, i, ot.data, g, i, ov.data, g, i, ov.data,
										 g, i, ov.data, ot.data, g, i);
					else
						appendStringInfo(buf,
										 "CASE WHEN %s._fg_%d_ins_t IS NOT NULL AND (%s IS NULL OR %s._fg_%d_ins_t > %s"
										 " OR (%s._fg_%d_ins_t = %s AND %s IS NOT NULL AND (%s._fg_%d_ins IS NULL OR %s._fg_%d_ins > %s)))"
										 " THEN %s._fg_%d_ins ELSE %s END, greatest(%s, %s._fg_%d_ins_t)",
										 g, i, ot.data, g, i, ot.data,
										 g, i, ot.data, ov.data, g, i, g, i, ov.data,
										 g, i, ov.data, ot.data, g, i);
				}
				break;
		}
	}
}

/*
 * FgAggStaleExpr
 *		Boolean expression: does the delta retract the old extreme of
 *		aggregate i, so that the group must be recomputed from the source?
 *		Appends "false" for aggregates that never go stale.
 */
void
FgAggStaleExpr(StringInfo buf, const FgRollup *r, int i, const char *old,
			   const char *g)
{
	const FgAgg *agg = &r->aggs[i - 1];
	bool		minlike = FgAggMinLike(agg->kind);
	const char *cmp = minlike ? "<=" : ">=";
	const char *ext = minlike ? "least" : "greatest";
	const char *col = (agg->kind == FG_AGG_MIN || agg->kind == FG_AGG_MAX) ? "" : "_t";
	const char *oldcol = col[0] ? "t" : "v";

	if (!FgAggCanGoStale(agg))
	{
		appendStringInfoString(buf, "false");
		return;
	}
	if (FgTypeClassOf(agg->argtype) == FG_TC_FLOAT &&
		(agg->kind == FG_AGG_SUM || agg->kind == FG_AGG_AVG || agg->kind == FG_AGG_STDDEV))
	{
		/*
		 * float moments: double-double sums hold about 106 bits, so a value
		 * retracted from among values 1e10 times smaller (1e20 in squares)
		 * would leave rounding larger than what remains; recompute then.
		 */
		appendStringInfo(buf, "coalesce(%s._fg_%d_m_del[4] > 1e20 * abs(coalesce(", g, i);
		if (old)
			appendStringInfo(buf, "%s._fg_%d_m[4]", old, i);
		else
			appendStringInfoString(buf, "NULL::float8");
		appendStringInfo(buf, ", 0) + coalesce(%s._fg_%d_m_ins[4], 0) - %s._fg_%d_m_del[4]), false)",
						 g, i, g, i);
		return;
	}
	if (agg->kind != FG_AGG_MIN && agg->kind != FG_AGG_MAX &&
		agg->kind != FG_AGG_FIRST && agg->kind != FG_AGG_LAST)
	{
		/* numeric sum/avg/stddev: the row with the largest scale left */
		appendStringInfo(buf, "(%s._fg_%d_dsc_del IS NOT NULL AND coalesce(%s._fg_%d_dsc_del >= greatest(",
						 g, i, g, i);
		if (old)
			appendStringInfo(buf, "%s._fg_%d_dsc", old, i);
		else
			appendStringInfoString(buf, "NULL");
		appendStringInfo(buf, ", %s._fg_%d_dsc_ins), true))", g, i);
		return;
	}
	if (agg->kind == FG_AGG_MIN || agg->kind == FG_AGG_MAX)
	{
		/* stale when the new top-k list runs dry */
		appendStringInfo(buf, "(%s._fg_%d_del IS NOT NULL AND coalesce(fluss_grid.topk_stale(",
						 g, i);
		ext_apply_expr(buf, old, i, g);
		appendStringInfoString(buf, "), false))");
		return;
	}
	appendStringInfo(buf, "(%s._fg_%d_del%s IS NOT NULL AND coalesce(%s._fg_%d_del%s %s %s(",
					 g, i, col, g, i, col, cmp, ext);
	if (old)
		appendStringInfo(buf, "%s._fg_%d_%s", old, i, oldcol);
	else
		appendStringInfoString(buf, "NULL");
	appendStringInfo(buf, ", %s._fg_%d_ins%s), true))", g, i, col);
}

/*
 * FgAggFinalizeExpr
 *		The user-visible value of aggregate i from its state columns, read
 *		through alias c.
 */
void
FgAggFinalizeExpr(StringInfo buf, const FgRollup *r, int i, const char *c)
{
	const FgAgg *agg = &r->aggs[i - 1];
	FgTypeClass tc = FgTypeClassOf(agg->argtype);
	Oid			restype = FgAggResultType(agg->kind, agg->argtype);
	const char *rt = format_type_be(restype);

	switch (agg->kind)
	{
		case FG_AGG_COUNT_STAR:
		case FG_AGG_COUNT:
			appendStringInfo(buf, "%s._fg_%d_n", c, i);
			break;
		case FG_AGG_SUM:
		case FG_AGG_AVG:
			appendStringInfo(buf, "CASE WHEN %s._fg_%d_n = 0 THEN NULL", c, i);
			if (tc == FG_TC_FLOAT || tc == FG_TC_NUMERIC)
				appendStringInfo(buf,
								 " WHEN %s._fg_%d_nan > 0 OR (%s._fg_%d_pinf > 0 AND %s._fg_%d_ninf > 0) THEN 'NaN'::%s"
								 " WHEN %s._fg_%d_pinf > 0 THEN 'Infinity'::%s"
								 " WHEN %s._fg_%d_ninf > 0 THEN '-Infinity'::%s",
								 c, i, c, i, c, i, rt, c, i, rt, c, i, rt);
			if (tc == FG_TC_NUMERIC && agg->kind == FG_AGG_SUM)
				appendStringInfo(buf, " ELSE round(%s._fg_%d_s, %s._fg_%d_dsc) END", c, i, c, i);
			else if (tc == FG_TC_NUMERIC)
				appendStringInfo(buf, " ELSE round(%s._fg_%d_s, %s._fg_%d_dsc) / %s._fg_%d_n::numeric END",
								 c, i, c, i, c, i);
			else if (agg->kind == FG_AGG_SUM && tc == FG_TC_FLOAT)
				appendStringInfo(buf, " ELSE fluss_grid.mom_sum(%s._fg_%d_m)::%s END", c, i, rt);
			else if (agg->kind == FG_AGG_SUM)
				appendStringInfo(buf, " ELSE %s._fg_%d_s::%s END", c, i, rt);
			else if (tc == FG_TC_FLOAT)
				appendStringInfo(buf, " ELSE fluss_grid.mom_sum(%s._fg_%d_m) / %s._fg_%d_n END",
								 c, i, c, i);
			else
				appendStringInfo(buf,
								 " ELSE %s._fg_%d_s::numeric / %s._fg_%d_n::numeric END",
								 c, i, c, i);
			break;
		case FG_AGG_STDDEV:
			appendStringInfo(buf,
							 "CASE WHEN %s._fg_%d_n < 2 THEN NULL WHEN %s._fg_%d_nan > 0 THEN 'NaN'::%s",
							 c, i, c, i, rt);
			if (tc == FG_TC_FLOAT)
				appendStringInfo(buf, " ELSE fluss_grid.mom_stddev(%s._fg_%d_m) END",
								 c, i);
			else
			{
				/*
				 * As numeric_stddev_internal: the variance divided at the
				 * scale select_div_scale picks, its square root rounded to
				 * that same scale.
				 */
				char	   *dsc = (tc == FG_TC_NUMERIC) ? psprintf("%s._fg_%d_dsc", c, i) : "0";
				char	   *var = psprintf("(round(greatest(%s._fg_%d_n::numeric * %s._fg_%d_q - %s._fg_%d_s * %s._fg_%d_s, 0), 2 * %s)"
										   " / (%s._fg_%d_n::numeric * (%s._fg_%d_n - 1)::numeric))",
										   c, i, c, i, c, i, c, i, dsc, c, i, c, i);

				/*
				 * Equal values: PostgreSQL returns a plain 0.  Otherwise the
				 * root taken with spare digits, then rounded once.
				 */
				appendStringInfo(buf,
								 " WHEN %s._fg_%d_n::numeric * %s._fg_%d_q - %s._fg_%d_s * %s._fg_%d_s <= 0 THEN 0::numeric"
								 " ELSE round(sqrt(round(%s, 2 * scale(%s) + 20)), scale(%s)) END",
								 c, i, c, i, c, i, c, i, var, var, var);
			}
			break;
		case FG_AGG_MIN:
		case FG_AGG_MAX:
			appendStringInfo(buf, "fluss_grid.topk_best(%s._fg_%d_k, NULL::%s)",
							 c, i, format_type_be(agg->argtype));
			break;
		case FG_AGG_FIRST:
		case FG_AGG_LAST:
			appendStringInfo(buf, "%s._fg_%d_v", c, i);
			break;
	}
}

/*
 * FgAggDeltaColumnNames
 *		Append the names of aggregate i's changelog columns, in
 *		FgAggColumnDefs order, to *names.
 */
void
FgAggDeltaColumnNames(List **names, const FgRollup *r, int i)
{
	const FgAgg *agg = &r->aggs[i - 1];
	const FgComp *c;
	static const char *const pair[] = {"ins", "del"};

	for (c = FgAggComps(agg); c->name; c++)
	{
		switch (c->merge)
		{
			case FG_MERGE_ADD:
				*names = lappend(*names, psprintf("_fg_%d_%s", i, c->name));
				break;
			case FG_MERGE_MOM:
			case FG_MERGE_DSC:
				for (int k = 0; k < 2; k++)
					*names = lappend(*names, psprintf("_fg_%d_%s_%s", i,
													  c->merge == FG_MERGE_MOM ? "m" : "dsc",
													  pair[k]));
				break;
			case FG_MERGE_EXT:
				for (int k = 0; k < 2; k++)
					*names = lappend(*names, psprintf("_fg_%d_%s", i, pair[k]));
				break;
			case FG_MERGE_FL:
				for (int k = 0; k < 2; k++)
					*names = lappend(*names, psprintf("_fg_%d_%s", i, pair[k]));
				for (int k = 0; k < 2; k++)
					*names = lappend(*names, psprintf("_fg_%d_%s_t", i, pair[k]));
				break;
		}
	}
}

/*
 * FgAggParentColumns
 *		For a rollup whose source is a rollup: the parent's state columns
 *		of the carried aggregate, renamed to _fg_p_<i>_<c> for the lift.
 */
void
FgAggParentColumns(StringInfo buf, const FgRollup *r, int i, const char *s)
{
	const FgAgg *agg = &r->aggs[i - 1];
	int			j = agg->srcindex;
	const FgComp *c;

	for (c = FgAggComps(agg); c->name; c++)
	{
		appendStringInfo(buf, ", %s._fg_%d_%s AS _fg_p_%d_%s",
						 s, j, c->name, i, c->name);
		if (c->merge == FG_MERGE_FL)
			appendStringInfo(buf, ", %s._fg_%d_t AS _fg_p_%d_t", s, j, i);
	}
}

/*
 * FgAggParentColumnNames
 *		The names FgAggParentColumns gives aggregate i's parent columns, in
 *		its order.
 */
List *
FgAggParentColumnNames(const FgRollup *r, int i)
{
	const FgAgg *agg = &r->aggs[i - 1];
	List	   *names = NIL;

	for (const FgComp *c = FgAggComps(agg); c->name; c++)
	{
		names = lappend(names, psprintf("_fg_p_%d_%s", i, c->name));
		if (c->merge == FG_MERGE_FL)
			names = lappend(names, psprintf("_fg_p_%d_t", i));
	}
	return names;
}
