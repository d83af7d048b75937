/*-------------------------------------------------------------------------
 *
 * fold_compute.c
 *	  The C fold: fluss_grid.fold_compute(rollup, limit) reads a rollup's
 *	  changelog, combines each group's rows, applies them to the group's
 *	  rollup row and returns the rows to write, consuming the changelog
 *	  rows it read; the fold statement (FgSqlFoldCompute) writes them with
 *	  plain UPDATE, INSERT and DELETE, so that indexes, constraints and
 *	  triggers (the capture of the next level among them) behave as they
 *	  do for the SQL fold.
 *
 * The SQL fold (FgSqlFold) does the same with one aggregate per state
 * component and one expression per phase; its executor start-up (some
 * thirty aggregates, six data-modifying CTEs) dominated a fold of a few
 * groups, and its per-group arithmetic a large one.  Here the arithmetic is
 * aggstate_fold.c's, the grouping a sort with each key type's ordering,
 * and each group's rollup row is found through the rollup's unique index.
 *
 * Whatever the C fold does not do, it leaves to the SQL fold, having
 * changed nothing: a group whose extreme was retracted (recomputed from
 * the source), a TRUNCATE marker (the reset statement empties the rollup
 * first), more changelog rows than fit in maintenance_work_mem, row-level
 * security on the rollup or its changelog, aggregates over numeric, a
 * rollup table without its unique index.  FgFoldRollup then runs the SQL
 * fold in the same snapshot.
 *
 * With a row limit (fluss_grid.batch_size) it folds whole groups, those
 * with the oldest change first, until the limit is reached, as the SQL
 * fold's batched statement does: a group is never split between two folds,
 * so a group recomputed from the source has all its changes consumed.
 *
 * The function may be called only by the fold (FgFoldComputeBegin marks
 * the rollup being folded); anyone else gets an error.
 *
 * IDENTIFICATION
 *	  src/fold_compute.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/nbtree.h"
#include "access/relscan.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/namespace.h"
#include "catalog/pg_am.h"
#include "catalog/pg_index.h"
#include "executor/executor.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "parser/parse_relation.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"
#include "utils/sortsupport.h"
#include "utils/typcache.h"

#include "fluss_grid.h"

PG_FUNCTION_INFO_V1(fluss_grid_fold_compute);

/* the fold in progress in this backend, and what the function reports */
static int32 fold_active = 0;
static int64 fold_consumed = 0;
static bool fold_fallback = false;
static bool fold_more = false;	/* a row limit left changelog rows */
static bool fold_soft = false;	/* the row limit grows with the backlog */

/* a group of sorted changelog rows, for choosing a batch */
typedef struct FoldGroup
{
	int			first;			/* its rows: [first, end) */
	int			end;
	TimestampTz oldest;			/* its oldest change (_fg_at) */
} FoldGroup;

/* one changelog row, deformed */
typedef struct FoldRow
{
	ItemPointerData tid;
	Datum	   *values;
	bool	   *nulls;
} FoldRow;

/* attribute numbers and type facts of one call */
typedef struct FoldLayout
{
	const FgRollup *r;
	int			nkeycols;		/* bucket and keys */
	AttrNumber *dkey;			/* changelog: bucket, keys */
	AttrNumber	dcount;			/* changelog: _fg_count */
	AttrNumber	dreset;			/* changelog: _fg_reset */
	AttrNumber	dat;			/* changelog: _fg_at */
	AttrNumber *ddelta;			/* changelog: every delta column */
	int		   *doff;			/* per aggregate: its first in ddelta; and
								 * the total after the last */
	AttrNumber	rcount;			/* rollup: _fg_count */
	AttrNumber *rstate;			/* rollup: every state column */
	int		   *soff;			/* per aggregate: its first in rstate */
	int			nstates;
	int		   *accoff;			/* per aggregate: its first accumulator */
	int			nacc;
	FgLiftArg  *args;
	SortSupport ssup;			/* per key column: GROUP BY's ordering */
	Oid			indexid;		/* the rollup's unique index */
	RegProcedure *eqproc;		/* per key column: its equality */
	Oid		   *eqcoll;
} FoldLayout;

/* for qsort_arg: the sort keys of changelog rows */
static int
fold_row_cmp(const void *a, const void *b, void *arg)
{
	const FoldLayout *l = arg;
	const FoldRow *x = *(FoldRow *const *) a;
	const FoldRow *y = *(FoldRow *const *) b;

	for (int k = 0; k < l->nkeycols; k++)
	{
		AttrNumber	att = l->dkey[k] - 1;
		int			c = ApplySortComparator(x->values[att], x->nulls[att],
											y->values[att], y->nulls[att],
											&l->ssup[k]);

		if (c != 0)
			return c;
	}
	return 0;
}

static AttrNumber
fold_attnum(Relation rel, const char *name)
{
	AttrNumber	att = attnameAttNum(rel, name, false);

	if (att == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" does not exist",
						name, RelationGetRelationName(rel)),
				 errdetail("The tables of a rollup are written only by fluss_grid.")));
	return att;
}

/*
 * fold_find_index
 *		The rollup table's unique btree index on (bucket, keys), as
 *		create_rollup made it; InvalidOid if it is gone.
 */
static Oid
fold_find_index(Relation rollup, FoldLayout *l)
{
	List	   *indexes = RelationGetIndexList(rollup);
	ListCell   *lc;
	Oid			found = InvalidOid;

	foreach(lc, indexes)
	{
		Relation	ind = index_open(lfirst_oid(lc), AccessShareLock);
		Form_pg_index fi = ind->rd_index;
		bool		ok = fi->indisunique && fi->indisvalid && fi->indimmediate &&
			fi->indnkeyatts == l->nkeycols && ind->rd_rel->relam == BTREE_AM_OID &&
			RelationGetIndexExpressions(ind) == NIL &&
			RelationGetIndexPredicate(ind) == NIL;

		for (int k = 0; ok && k < l->nkeycols; k++)
		{
			const char *name = (k == 0) ? "bucket" : l->r->keys[k - 1];

			ok = (fi->indkey.values[k] == fold_attnum(rollup, name));
		}
		if (ok)
		{
			found = RelationGetRelid(ind);
			for (int k = 0; k < l->nkeycols; k++)
			{
				Oid			opc = ind->rd_opcintype[k];
				Oid			eqop = get_opfamily_member(ind->rd_opfamily[k], opc, opc,
													   BTEqualStrategyNumber);

				if (!OidIsValid(eqop))
					found = InvalidOid;
				else
				{
					l->eqproc[k] = get_opcode(eqop);
					l->eqcoll[k] = ind->rd_indcollation[k];
				}
			}
		}
		index_close(ind, AccessShareLock);
		if (OidIsValid(found))
			break;
	}
	list_free(indexes);
	return found;
}

/*
 * fold_layout
 *		Where everything is, for rollup r; false when the C fold cannot fold
 *		it.
 */
static bool
fold_layout(FoldLayout *l, const FgRollup *r, Relation delta, Relation rollup)
{
	List	   *names;
	ListCell   *lc;
	int			n;

	memset(l, 0, sizeof(FoldLayout));
	l->r = r;
	for (int i = 0; i < r->naggs; i++)
		if (!FgAggFoldPossible(&r->aggs[i]))
			return false;

	l->nkeycols = r->nkeys + 1;
	l->dkey = palloc(sizeof(AttrNumber) * l->nkeycols);
	l->ssup = palloc0(sizeof(SortSupportData) * l->nkeycols);
	l->eqproc = palloc(sizeof(RegProcedure) * l->nkeycols);
	l->eqcoll = palloc(sizeof(Oid) * l->nkeycols);
	for (int k = 0; k < l->nkeycols; k++)
	{
		const char *name = (k == 0) ? "bucket" : r->keys[k - 1];
		Form_pg_attribute att;
		TypeCacheEntry *tce;

		l->dkey[k] = fold_attnum(delta, name);
		att = TupleDescAttr(RelationGetDescr(delta), l->dkey[k] - 1);
		tce = lookup_type_cache(att->atttypid, TYPECACHE_LT_OPR);
		if (!OidIsValid(tce->lt_opr))
			return false;
		l->ssup[k].ssup_cxt = CurrentMemoryContext;
		l->ssup[k].ssup_collation = att->attcollation;
		l->ssup[k].ssup_nulls_first = false;
		PrepareSortSupportFromOrderingOp(tce->lt_opr, &l->ssup[k]);
	}
	l->dcount = fold_attnum(delta, FG_PREFIX "count");
	l->dreset = fold_attnum(delta, FG_PREFIX "reset");
	l->dat = fold_attnum(delta, FG_PREFIX "at");
	l->rcount = fold_attnum(rollup, FG_PREFIX "count");

	l->doff = palloc(sizeof(int) * (r->naggs + 1));
	l->soff = palloc(sizeof(int) * r->naggs);
	l->accoff = palloc(sizeof(int) * r->naggs);
	l->args = palloc(sizeof(FgLiftArg) * r->naggs);
	names = NIL;
	for (int i = 1; i <= r->naggs; i++)
	{
		l->doff[i - 1] = list_length(names);
		FgAggDeltaColumnNames(&names, r, i);
	}
	l->doff[r->naggs] = list_length(names);
	l->ddelta = palloc(sizeof(AttrNumber) * list_length(names));
	n = 0;
	foreach(lc, names)
		l->ddelta[n++] = fold_attnum(delta, lfirst(lc));

	names = NIL;
	for (int i = 1; i <= r->naggs; i++)
	{
		l->soff[i - 1] = list_length(names);
		FgAggStateColumnNames(&names, r, i);
		l->accoff[i - 1] = l->nacc;
		l->nacc += FgAggLiftWidth(&r->aggs[i - 1]);
		FgAggLiftArgInit(&l->args[i - 1], &r->aggs[i - 1]);
	}
	l->nstates = list_length(names);
	l->rstate = palloc(sizeof(AttrNumber) * l->nstates);
	n = 0;
	foreach(lc, names)
		l->rstate[n++] = fold_attnum(rollup, lfirst(lc));

	l->indexid = fold_find_index(rollup, l);
	return OidIsValid(l->indexid);
}

/*
 * FgFoldComputeBegin / FgFoldComputeEnd
 *		Bracket the fold statement of rollup id; with soft_limit, the row
 *		limit grows to a quarter of the changelog rows read.  End returns false when the
 *		C fold left the work to the SQL fold, else the number of changelog
 *		rows consumed in *consumed.  End must be called on error too.
 */
void
FgFoldComputeBegin(int32 id, bool soft_limit)
{
	fold_active = id;
	fold_soft = soft_limit;
	fold_consumed = 0;
	fold_fallback = false;
	fold_more = false;
}

bool
FgFoldComputeEnd(int64 *consumed, bool *more)
{
	fold_active = 0;
	*consumed = fold_consumed;
	*more = fold_more;
	return !fold_fallback;
}

/* for qsort: groups by their oldest change, then in key order */
static int
fold_group_cmp(const void *a, const void *b)
{
	const FoldGroup *x = a;
	const FoldGroup *y = b;

	if (x->oldest != y->oldest)
		return x->oldest < y->oldest ? -1 : 1;
	return x->first - y->first;
}

/*
 * choose_batch
 *		Of the nrows sorted rows, keep whole groups, oldest change first,
 *		while fewer than max_rows are kept (so at least one, and the last
 *		one may pass the limit); in key order.  Returns the number kept.
 */
static int
choose_batch(FoldRow **rows, int nrows, int64 max_rows, FoldLayout *l)
{
	FoldGroup  *groups = palloc(sizeof(FoldGroup) * nrows);
	FoldRow   **kept = palloc(sizeof(FoldRow *) * nrows);
	bool	   *chosen;
	int			ngroups = 0;
	int64		upto = 0;
	int			nkept = 0;

	for (int first = 0; first < nrows;)
	{
		int			end = first + 1;
		TimestampTz oldest = DT_NOEND;

		while (end < nrows && fold_row_cmp(&rows[first], &rows[end], l) == 0)
			end++;
		for (int i = first; i < end; i++)
		{
			AttrNumber	att = l->dat - 1;

			if (!rows[i]->nulls[att] && DatumGetTimestampTz(rows[i]->values[att]) < oldest)
				oldest = DatumGetTimestampTz(rows[i]->values[att]);
		}
		groups[ngroups].first = first;
		groups[ngroups].end = end;
		groups[ngroups].oldest = oldest;
		ngroups++;
		first = end;
	}
	qsort(groups, ngroups, sizeof(FoldGroup), fold_group_cmp);
	chosen = palloc0(sizeof(bool) * nrows);
	for (int g = 0; g < ngroups && upto < max_rows; g++)
	{
		upto += groups[g].end - groups[g].first;
		chosen[groups[g].first] = true;
	}
	/* back in key order: the chosen groups' rows */
	for (int first = 0; first < nrows;)
	{
		int			end = first + 1;

		while (end < nrows && fold_row_cmp(&rows[first], &rows[end], l) == 0)
			end++;
		if (chosen[first])
			for (int i = first; i < end; i++)
				kept[nkept++] = rows[i];
		first = end;
	}
	memcpy(rows, kept, sizeof(FoldRow *) * nkept);
	pfree(kept);
	pfree(chosen);
	pfree(groups);
	return nkept;
}

/*
 * fluss_grid_fold_compute
 *		fluss_grid.fold_compute(rollup integer, max_rows bigint) RETURNS
 *		SETOF record: per group, the operation ('u'pdate, 'i'nsert,
 *		'd'elete), the rollup row's TID (update, delete), then the rollup
 *		row: bucket, keys, user columns, _fg_count, state columns.  With
 *		max_rows > 0, whole groups, oldest first, until max_rows changelog
 *		rows are consumed; the rest is left for the next fold.
 */
Datum
fluss_grid_fold_compute(PG_FUNCTION_ARGS)
{
	int32		id = PG_GETARG_INT32(0);
	int64		max_rows = PG_GETARG_INT64(1);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	FgCacheEntry *e;
	const FgRollup *r;
	MemoryContext cxt;
	MemoryContext groupcxt;
	MemoryContext oldcxt;
	Oid			deltaid;
	Relation	delta;
	Relation	rollup;
	Relation	index;
	FoldLayout	l;
	TableScanDesc scan;
	IndexScanDesc iscan;
	TupleTableSlot *dslot;
	TupleTableSlot *rslot;
	Snapshot	snap = GetActiveSnapshot();
	FoldRow   **rows = NULL;
	int			nrows = 0;
	int			maxrows = 0;
	int			ncols;
	Datum	   *values;
	bool	   *nulls;
	ScanKeyData *skeys;
	FgLiftAcc  *ins;
	FgLiftAcc  *del;
	Datum	   *oldstate;
	bool	   *oldnull;
	AclResult	aclresult;

	if (fold_active == 0 || fold_active != id)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("fluss_grid.fold_compute() may only be called by the fold"),
				 errhint("Use fluss_grid.fold_now() or fluss_grid.wait_for_rollups().")));
	e = FgCacheGet(id);
	if (e == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("rollup %d does not exist", id)));
	r = e->rollup;

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);

	deltaid = get_relname_relid(psprintf("changelog_%d", r->id),
								get_namespace_oid(FG_SCHEMA, false));
	if (!OidIsValid(deltaid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("changelog of rollup %s does not exist", r->relname)));
	aclresult = pg_class_aclcheck(deltaid, GetUserId(), ACL_SELECT | ACL_DELETE);
	if (aclresult != ACLCHECK_OK)
		aclcheck_error(aclresult, OBJECT_TABLE, get_rel_name(deltaid));
	aclresult = pg_class_aclcheck(r->relid, GetUserId(), ACL_SELECT);
	if (aclresult != ACLCHECK_OK)
		aclcheck_error(aclresult, OBJECT_TABLE, get_rel_name(r->relid));
	if (check_enable_rls(deltaid, InvalidOid, true) == RLS_ENABLED ||
		check_enable_rls(r->relid, InvalidOid, true) == RLS_ENABLED)
	{
		fold_fallback = true;
		PG_RETURN_NULL();
	}

	cxt = AllocSetContextCreate(CurrentMemoryContext, "fluss_grid fold",
								ALLOCSET_DEFAULT_SIZES);
	groupcxt = AllocSetContextCreate(cxt, "fluss_grid fold group",
									 ALLOCSET_DEFAULT_SIZES);
	oldcxt = MemoryContextSwitchTo(cxt);

	delta = table_open(deltaid, RowExclusiveLock);
	rollup = table_open(r->relid, AccessShareLock);
	if (!fold_layout(&l, r, delta, rollup))
	{
		table_close(rollup, AccessShareLock);
		table_close(delta, RowExclusiveLock);
		MemoryContextSwitchTo(oldcxt);
		MemoryContextDelete(cxt);
		fold_fallback = true;
		PG_RETURN_NULL();
	}
	ncols = 2 + l.nkeycols + r->naggs + 1 + l.nstates;
	if (rsinfo->setDesc->natts != ncols)
		elog(ERROR, "fluss_grid.fold_compute: %d result columns expected, not %d",
			 ncols, rsinfo->setDesc->natts);

	/* the changelog rows this snapshot sees, all deformed */
	dslot = table_slot_create(delta, NULL);
	scan = table_beginscan(delta, snap, 0, NULL);
	while (table_scan_getnextslot(scan, ForwardScanDirection, dslot))
	{
		FoldRow    *row;
		int			natts = RelationGetDescr(delta)->natts;

		/* a copy of the row, deformed once */
		row = palloc(sizeof(FoldRow));
		row->tid = dslot->tts_tid;
		row->values = palloc(sizeof(Datum) * natts);
		row->nulls = palloc(sizeof(bool) * natts);
		heap_deform_tuple(ExecCopySlotHeapTuple(dslot), RelationGetDescr(delta),
						  row->values, row->nulls);
		if (!row->nulls[l.dreset - 1] && DatumGetBool(row->values[l.dreset - 1]))
		{
			/* a TRUNCATE marker: the reset statement's, before any fold */
			fold_fallback = true;
			break;
		}
		if (nrows == maxrows)
		{
			maxrows = Max(64, maxrows * 2);
			rows = rows ? repalloc(rows, sizeof(FoldRow *) * maxrows)
				: palloc(sizeof(FoldRow *) * maxrows);
		}
		rows[nrows++] = row;

		/*
		 * The rows are held in memory: a backlog larger than
		 * maintenance_work_mem (a worker paused for hours, a huge bulk
		 * load with fine groups) is the SQL fold's, which sorts within
		 * work_mem.
		 */
		if (nrows % 256 == 0 &&
			MemoryContextMemAllocated(cxt, true) > (Size) maintenance_work_mem * 1024)
		{
			fold_fallback = true;
			break;
		}
	}
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(dslot);

	if (fold_fallback || nrows == 0)
	{
		table_close(rollup, AccessShareLock);
		table_close(delta, RowExclusiveLock);
		MemoryContextSwitchTo(oldcxt);
		MemoryContextDelete(cxt);
		PG_RETURN_NULL();
	}

	/* groups are runs of equal keys */
	qsort_arg(rows, nrows, sizeof(FoldRow *), fold_row_cmp, &l);
	if (max_rows > 0 && fold_soft)
		max_rows = Max(max_rows, nrows / 4);
	if (max_rows > 0 && nrows > max_rows)
	{
		int			kept = choose_batch(rows, nrows, max_rows, &l);

		fold_more = (kept < nrows);
		nrows = kept;
	}

	index = index_open(l.indexid, AccessShareLock);
	rslot = table_slot_create(rollup, NULL);
	skeys = palloc(sizeof(ScanKeyData) * l.nkeycols);
	iscan = index_beginscan(rollup, index, snap, l.nkeycols, 0);
	values = palloc(sizeof(Datum) * ncols);
	nulls = palloc(sizeof(bool) * ncols);
	ins = palloc(sizeof(FgLiftAcc) * Max(l.nacc, 1));
	del = palloc(sizeof(FgLiftAcc) * Max(l.nacc, 1));
	oldstate = palloc(sizeof(Datum) * Max(l.nstates, 1));
	oldnull = palloc(sizeof(bool) * Max(l.nstates, 1));

	for (int first = 0; first < nrows && !fold_fallback;)
	{
		FoldRow    *g = rows[first];
		int			end = first + 1;
		bool		exists;
		int64		count = 0;
		int64		oldcount = 0;
		int			col;

		while (end < nrows && fold_row_cmp(&rows[first], &rows[end], &l) == 0)
			end++;

		/*
		 * The group's rollup row, through the unique index.  In cxt: the
		 * index scan keeps what it allocates (btree's killed items) for
		 * later groups.
		 */
		for (int k = 0; k < l.nkeycols; k++)
		{
			AttrNumber	att = l.dkey[k] - 1;

			if (g->nulls[att])
				ScanKeyEntryInitialize(&skeys[k], SK_ISNULL | SK_SEARCHNULL, k + 1,
									   InvalidStrategy, InvalidOid, InvalidOid,
									   InvalidOid, (Datum) 0);
			else
				ScanKeyEntryInitialize(&skeys[k], 0, k + 1, BTEqualStrategyNumber,
									   InvalidOid, l.eqcoll[k], l.eqproc[k],
									   g->values[att]);
		}
		index_rescan(iscan, skeys, l.nkeycols, NULL, 0);
		exists = index_getnext_slot(iscan, ForwardScanDirection, rslot);
		if (exists)
		{
			bool		isnull;

			slot_getallattrs(rslot);
			oldcount = DatumGetInt64(slot_getattr(rslot, l.rcount, &isnull));
			for (int s = 0; s < l.nstates; s++)
			{
				oldstate[s] = rslot->tts_values[l.rstate[s] - 1];
				oldnull[s] = rslot->tts_isnull[l.rstate[s] - 1];
			}
		}

		/* combine the group's changelog rows */
		MemoryContextSwitchTo(groupcxt);
		memset(ins, 0, sizeof(FgLiftAcc) * l.nacc);
		memset(del, 0, sizeof(FgLiftAcc) * l.nacc);
		for (int i = first; i < end; i++)
		{
			FoldRow    *row = rows[i];
			Datum		dv[FG_LIFT_MAX_WIDTH];
			bool		dn[FG_LIFT_MAX_WIDTH];

			if (!row->nulls[l.dcount - 1])
				count += DatumGetInt64(row->values[l.dcount - 1]);
			for (int a = 0; a < r->naggs; a++)
			{
				int			w = l.doff[a + 1] - l.doff[a];

				for (int c = 0; c < w; c++)
				{
					dv[c] = row->values[l.ddelta[l.doff[a] + c] - 1];
					dn[c] = row->nulls[l.ddelta[l.doff[a] + c] - 1];
				}
				FgAggFoldDelta(&r->aggs[a], &l.args[a], &ins[l.accoff[a]],
							   &del[l.accoff[a]], dv, dn, groupcxt);
			}
		}
		count += oldcount;

		/* the new row */
		col = 0;
		values[col] = CharGetDatum(exists ? (count != 0 ? 'u' : 'd') : 'i');
		nulls[col++] = false;
		values[col] = exists ? PointerGetDatum(&rslot->tts_tid) : (Datum) 0;
		nulls[col++] = !exists;
		for (int k = 0; k < l.nkeycols; k++)
		{
			values[col] = g->values[l.dkey[k] - 1];
			nulls[col++] = g->nulls[l.dkey[k] - 1];
		}
		{
			int			ucol = col;
			int			scol = col + r->naggs + 1;

			values[ucol + r->naggs] = Int64GetDatum(count);
			nulls[ucol + r->naggs] = false;
			for (int a = 0; a < r->naggs && !fold_fallback; a++)
			{
				if (FgAggFoldApply(&r->aggs[a], &l.args[a],
								   exists ? &oldstate[l.soff[a]] : NULL,
								   exists ? &oldnull[l.soff[a]] : NULL,
								   &ins[l.accoff[a]], &del[l.accoff[a]],
								   &values[scol + l.soff[a]], &nulls[scol + l.soff[a]],
								   &values[ucol + a], &nulls[ucol + a], groupcxt))
					fold_fallback = true;	/* recompute: the SQL fold's */
			}
		}
		if (!fold_fallback && (exists || count != 0))
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		ExecClearTuple(rslot);
		MemoryContextSwitchTo(cxt);
		MemoryContextReset(groupcxt);
		first = end;
	}
	index_endscan(iscan);
	ExecDropSingleTupleTableSlot(rslot);
	index_close(index, AccessShareLock);

	if (fold_fallback)
		tuplestore_clear(rsinfo->setResult);
	else
	{
		/* consumed: deleted in the fold's transaction, as the SQL fold's */
		for (int i = 0; i < nrows; i++)
			simple_heap_delete(delta, &rows[i]->tid);
		fold_consumed = nrows;
	}

	table_close(rollup, AccessShareLock);
	table_close(delta, RowExclusiveLock);
	MemoryContextSwitchTo(oldcxt);
	MemoryContextDelete(cxt);
	PG_RETURN_NULL();
}
