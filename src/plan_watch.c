/*-------------------------------------------------------------------------
 *
 * plan_watch.c
 *	  Noticing that a saved fold plan was made for tables of another size.
 *
 * A fold statement has no parameters (or only a row limit), so the plan
 * cache keeps one generic plan until an invalidation of a table it reads.
 * Invalidations come from DDL and from VACUUM or ANALYZE updating
 * pg_class; with autovacuum off, or between two autoanalyze runs, a plan
 * made while a rollup, transform target or changelog was a few pages is
 * kept however large the table grows.  Such a plan may join a sequential
 * scan of the target inside a nested loop over the batch: harmless at one
 * page, minutes for one fold at a few hundred.  The other way round, a
 * plan made for a bulk batch hash-joins whole tables in every small fold.
 *
 * So the fold remembers how many pages each table it reads had when its
 * plans were made, and replans once one of them has doubled or halved.
 * Block counts come from the storage manager (an lseek per relation and
 * fold), so they hold without statistics.  Below a floor, sizes count as
 * the floor: tiny tables do not cause replans as they fill.
 *
 * IDENTIFICATION
 *	  src/plan_watch.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relation.h"
#include "catalog/pg_class.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "fluss_grid.h"

/* sizes below this many pages count as this many */
#define FG_WATCH_FLOOR_PAGES 8

/* a changelog fills and is vacuumed empty all the time */
#define FG_WATCH_CHANGELOG_FLOOR_PAGES 64

/* replan when a size has changed by this factor */
#define FG_WATCH_FACTOR 2

/*
 * relation_pages
 *		Pages of relid now, or InvalidBlockNumber for a relation without
 *		storage (a partitioned table, a view) or one dropped meanwhile.
 *		The fold locks these relations anyway; the lock is kept.
 */
static BlockNumber
relation_pages(Oid relid)
{
	Relation	rel;
	BlockNumber pages = InvalidBlockNumber;

	if (!OidIsValid(relid))
		return InvalidBlockNumber;
	rel = try_relation_open(relid, AccessShareLock);
	if (rel == NULL)
		return InvalidBlockNumber;
	if (RELKIND_HAS_STORAGE(rel->rd_rel->relkind))
		pages = RelationGetNumberOfBlocks(rel);
	relation_close(rel, NoLock);
	return pages;
}

static BlockNumber
floored(BlockNumber pages, BlockNumber floor)
{
	return pages < floor ? floor : pages;
}

/*
 * FgPlanWatchInit
 *		Watch the relations relids (the first one a changelog when
 *		first_is_changelog) for the fold of what (a rollup or transform
 *		target); sizes are recorded at the first check.
 */
void
FgPlanWatchInit(FgPlanWatch *w, Oid what, int nrels, const Oid *relids,
				bool first_is_changelog)
{
	Assert(nrels <= FG_PLAN_WATCH_MAX);
	w->what = what;
	w->nrels = nrels;
	w->first_is_changelog = first_is_changelog;
	for (int i = 0; i < nrels; i++)
	{
		w->relids[i] = relids[i];
		w->pages[i] = InvalidBlockNumber;
	}
	w->set = false;
}

static void
record_sizes(FgPlanWatch *w)
{
	for (int i = 0; i < w->nrels; i++)
		w->pages[i] = relation_pages(w->relids[i]);
	w->set = true;
}

/*
 * FgPlanWatchMoved
 *		True when a watched relation's size has moved by FG_WATCH_FACTOR
 *		or more since the sizes were recorded; they are recorded anew
 *		then, as the caller is to replan.  The first time, records them
 *		and returns false (the plans are being made now).
 */
bool
FgPlanWatchMoved(FgPlanWatch *w)
{
	if (!w->set)
	{
		record_sizes(w);
		return false;
	}
	for (int i = 0; i < w->nrels; i++)
	{
		BlockNumber now = relation_pages(w->relids[i]);
		BlockNumber floor = (i == 0 && w->first_is_changelog) ?
			FG_WATCH_CHANGELOG_FLOOR_PAGES : FG_WATCH_FLOOR_PAGES;
		BlockNumber then = w->pages[i];

		if (now == InvalidBlockNumber || then == InvalidBlockNumber)
			continue;
		if (floored(then, floor) / FG_WATCH_FACTOR >= floored(now, floor) ||
			floored(now, floor) / FG_WATCH_FACTOR >= floored(then, floor))
		{
			char	   *what = get_rel_name(w->what);
			char	   *name = get_rel_name(w->relids[i]);

			elog(DEBUG1, "fluss_grid: replanning the fold of %s: %s went from %u to %u pages",
				 what ? what : "?", name ? name : "?", then, now);
			record_sizes(w);
			return true;
		}
	}
	return false;
}
