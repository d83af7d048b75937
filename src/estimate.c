/*-------------------------------------------------------------------------
 *
 * estimate.c
 *	  fluss_grid.seldom(condition): the condition, with a planner support
 *	  function that estimates it true for one row in a thousand.
 *
 * The fold and the realtime view recompute the groups whose extremes were
 * retracted ("stale") through a LATERAL index scan of the source per group.
 * Such groups are rare, but the planner cannot know it: a boolean column of
 * a CTE gets a selectivity of one half, so every realtime query was costed
 * as if half the pending groups needed a recompute, and its cost crossed
 * jit_above_cost; JIT compilation then took over a second for a query that
 * runs in milliseconds.  Wrapping the filter in seldom() gives the planner
 * the right order of magnitude.
 *
 * IDENTIFICATION
 *	  src/estimate.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "nodes/supportnodes.h"

#include "fluss_grid.h"

PG_FUNCTION_INFO_V1(fluss_grid_seldom);
PG_FUNCTION_INFO_V1(fluss_grid_seldom_support);

#define FG_SELDOM_SELECTIVITY 0.001

Datum
fluss_grid_seldom(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(PG_GETARG_BOOL(0));
}

Datum
fluss_grid_seldom_support(PG_FUNCTION_ARGS)
{
	Node	   *rawreq = (Node *) PG_GETARG_POINTER(0);

	if (IsA(rawreq, SupportRequestSelectivity))
	{
		SupportRequestSelectivity *req = (SupportRequestSelectivity *) rawreq;

		req->selectivity = FG_SELDOM_SELECTIVITY;
		PG_RETURN_POINTER(req);
	}
	PG_RETURN_POINTER(NULL);
}
