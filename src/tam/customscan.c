/*-------------------------------------------------------------------------
 *
 * customscan.c
 *	  A custom scan of fluss_columnar relations that decodes only the
 *	  columns a query uses and skips row groups its quals rule out.
 *
 *	  In PostgreSQL 15 a table access method's scan is told neither which
 *	  columns nor which quals the query needs, so the planner is offered,
 *	  next to the sequential scan, a CustomScan path (ColumnarScan) for
 *	  every base relation of the access method.  Its plan carries:
 *
 *	  - the attnums the target list and the quals reference (a whole-row
 *		reference, or a system column other than ctid and tableoid, means
 *		every column); the other columns are not read, and arrive in the
 *		scan slot as NULLs that nothing above the scan looks at;
 *
 *	  - the quals "column op expression" (op a <, <=, =, >= or > of the
 *		column type's default btree operator family, the expression a
 *		Const or a Param, either side), whose expression is evaluated when
 *		the scan starts; a row group whose chunk least/greatest (see
 *		ColumnarChunkMinMax) prove that no row can satisfy one of them is
 *		not read.  Chunks without recorded least/greatest are always read,
 *		as are all chunks when the qual's collation is not the column's
 *		(the one least/greatest were computed under) or the expression is
 *		NULL.  Every qual is still evaluated on every row returned.
 *
 *	  Rows are read through the access method's own scan (reader.c), so
 *	  visibility, this transaction's buffered rows and TIDs (for UPDATE
 *	  and DELETE above the scan) are those of a sequential scan.
 *
 *	  The scan projects its rows itself when every entry of its target list
 *	  is a column of the relation or an expression that can be cached (see
 *	  "Projection" below): such an expression, say date_trunc('minute',
 *	  ts), is evaluated again only when the columns it reads change from
 *	  one row to the next, which in telemetry sorted by time is once per
 *	  run of equal timestamps.
 *
 *	  A partial path (Parallel Custom Scan under a Gather) shares the row
 *	  groups among the participants through a counter in the DSM segment
 *	  (see "Parallel execution" below); it is the only path by which
 *	  parallel workers read a fluss_columnar relation.
 *
 *	  fluss_grid.columnar_customscan = off offers no such path.
 *
 * IDENTIFICATION
 *	  src/tam/customscan.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/parallel.h"
#include "access/nbtree.h"
#include "access/relscan.h"
#include "access/sysattr.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/pg_am.h"
#include "catalog/pg_class.h"
#include "commands/defrem.h"
#include "commands/explain.h"
#include "executor/executor.h"
#include "lib/stringinfo.h"
#include "nodes/extensible.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "nodes/pg_list.h"
#include "optimizer/clauses.h"
#include "optimizer/cost.h"
#include "optimizer/optimizer.h"
#include "optimizer/pathnode.h"
#include "optimizer/paths.h"
#include "optimizer/restrictinfo.h"
#include "parser/parsetree.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/ruleutils.h"
#include "utils/snapmgr.h"

#include "tam/columnar.h"

/* one qual that may skip row groups, prepared for the executor */
typedef struct SkipQual
{
	AttrNumber	attno;
	int			strategy;		/* BTLessStrategyNumber ... */
	Oid			collation;
	FmgrInfo	cmp;			/* btree order proc (column type, expr type) */
	Oid			typreceive;
	Oid			typioparam;
	int32		typmod;
	ExprState  *expr;			/* the Const or Param side */
	Datum		value;			/* at scan start */
	bool		usable;			/* false: value NULL, never skip */
} SkipQual;

/*
 * One entry of the scan's own projection: a column of the scan slot, or an
 * expression whose last result is kept with the input values it was
 * computed from.
 */
typedef struct ProjectEntry
{
	AttrNumber	attno;			/* > 0: this column of the scan slot */
	ExprState  *expr;			/* else: the expression */
	int			ninputs;
	AttrNumber *inputs;			/* columns it reads (0-based) */
	Datum	   *last_in;		/* their values at the last evaluation */
	bool	   *last_null;
	bool		valid;			/* last_in, result: from an evaluation */
	Datum		result;			/* by value */
	bool		result_null;
} ProjectEntry;

typedef struct ColumnarScanState
{
	CustomScanState css;
	Bitmapset  *attrs;			/* attnums decoded */
	List	   *attr_list;		/* same, for EXPLAIN */
	int			nskip;
	SkipQual   *skip;
	MemoryContext filter_cxt;	/* reset per row group tested */
	MemoryContext value_cxt;	/* skipping quals' values, per scan */
	TableScanDesc scan;			/* NULL until the first row is asked */
	int64		skipped;		/* over rescans, this process */
	int64		empty;			/* row groups without a row passing, likewise */
	/* own projection (NULL: ExecScan's) */
	int			nproject;
	ProjectEntry *project;
	AttrNumber	project_maxatt; /* greatest column it reads */
	/* parallel scans */
	struct ColumnarParallelState *pstate;	/* NULL: not (yet) parallel */
	Snapshot	worker_snapshot;	/* a worker's copy of the leader's */
	int64		workers_skipped;	/* workers', collected by the leader */
	int64		workers_empty;	/* likewise */
} ColumnarScanState;

/*
 * The shared state of a parallel ColumnarScan, in the DSM segment of its
 * Gather: the index of the next row group to claim in the list that every
 * participant reads itself (the same snapshot, row-number order), the row
 * groups the workers skipped, and the leader's snapshot.
 */
typedef struct ColumnarParallelState
{
	pg_atomic_uint64 next_rg;
	pg_atomic_uint64 skipped;	/* added by workers at their end */
	pg_atomic_uint64 empty;		/* likewise, row groups without matches */
	bool		has_snapshot;	/* snapshot below: an MVCC one */
	char		snapshot[FLEXIBLE_ARRAY_MEMBER];
} ColumnarParallelState;

bool		fluss_grid_columnar_customscan = true;

static set_rel_pathlist_hook_type prev_set_rel_pathlist_hook = NULL;

static void columnar_set_rel_pathlist(PlannerInfo *root, RelOptInfo *rel,
									  Index rti, RangeTblEntry *rte);
static Plan *columnar_plan_path(PlannerInfo *root, RelOptInfo *rel,
								CustomPath *best_path, List *tlist,
								List *clauses, List *custom_plans);
static Node *columnar_create_state(CustomScan *cscan);
static void columnar_begin(CustomScanState *node, EState *estate, int eflags);
static TupleTableSlot *columnar_exec(CustomScanState *node);
static void columnar_end(CustomScanState *node);
static void columnar_rescan(CustomScanState *node);
static void columnar_explain(CustomScanState *node, List *ancestors,
							 ExplainState *es);
static Size columnar_estimate_dsm(CustomScanState *node,
								  ParallelContext *pcxt);
static void columnar_initialize_dsm(CustomScanState *node,
									ParallelContext *pcxt, void *coordinate);
static void columnar_reinitialize_dsm(CustomScanState *node,
									  ParallelContext *pcxt,
									  void *coordinate);
static void columnar_initialize_worker(CustomScanState *node, shm_toc *toc,
									   void *coordinate);
static void columnar_shutdown(CustomScanState *node);
static bool skip_qual_info(Expr *clause, Index relid, Oid *opno_out,
						   Var **var_out, Expr **other_out, int *strategy_out,
						   Oid *cmp_out);
static bool row_group_may_match(ColumnarRowGroup *rg, void *arg);
static void set_row_quals(ColumnarScanState *state);
static void init_projection(ColumnarScanState *state, CustomScan *cscan);
static TupleTableSlot *scan_project(ColumnarScanState *state);

static const CustomPathMethods columnar_path_methods = {
	.CustomName = "ColumnarScan",
	.PlanCustomPath = columnar_plan_path,
};

static const CustomScanMethods columnar_scan_methods = {
	.CustomName = "ColumnarScan",
	.CreateCustomScanState = columnar_create_state,
};

static const CustomExecMethods columnar_exec_methods = {
	.CustomName = "ColumnarScan",
	.BeginCustomScan = columnar_begin,
	.ExecCustomScan = columnar_exec,
	.EndCustomScan = columnar_end,
	.ReScanCustomScan = columnar_rescan,
	.EstimateDSMCustomScan = columnar_estimate_dsm,
	.InitializeDSMCustomScan = columnar_initialize_dsm,
	.ReInitializeDSMCustomScan = columnar_reinitialize_dsm,
	.InitializeWorkerCustomScan = columnar_initialize_worker,
	.ShutdownCustomScan = columnar_shutdown,
	.ExplainCustomScan = columnar_explain,
};

/*
 * ColumnarCustomScanInit
 *		Register the scan and the planner hook that offers it.
 */
void
ColumnarCustomScanInit(void)
{
	RegisterCustomScanMethods(&columnar_scan_methods);
	prev_set_rel_pathlist_hook = set_rel_pathlist_hook;
	set_rel_pathlist_hook = columnar_set_rel_pathlist;
}

/*
 * ColumnarIsParallelScan
 *		Whether plan is a parallel-aware ColumnarScan (the one scan of a
 *		fluss_columnar relation parallel workers may run).
 */
bool
ColumnarIsParallelScan(Plan *plan)
{
	return IsA(plan, CustomScan) && plan->parallel_aware &&
		((CustomScan *) plan)->methods == &columnar_scan_methods;
}

/* ------------------------------------------------------------------------
 * Planning
 * ------------------------------------------------------------------------
 */

/*
 * needed_attrs
 *		Into *attrs, the attnums (1-based) of rel the query reads: those
 *		of its target list and quals; false when it needs every column.
 */
static bool
needed_attrs(RelOptInfo *rel, int natts, Bitmapset **out)
{
	Bitmapset  *raw = NULL;
	Bitmapset  *attrs = NULL;
	ListCell   *lc;
	int			k;

	pull_varattnos((Node *) rel->reltarget->exprs, rel->relid, &raw);
	foreach(lc, rel->baserestrictinfo)
		pull_varattnos((Node *) ((RestrictInfo *) lfirst(lc))->clause,
					   rel->relid, &raw);
	/* quals of parameterized paths (joins pushed down) */
	foreach(lc, rel->joininfo)
		pull_varattnos((Node *) ((RestrictInfo *) lfirst(lc))->clause,
					   rel->relid, &raw);

	k = -1;
	while ((k = bms_next_member(raw, k)) >= 0)
	{
		AttrNumber	attno = k + FirstLowInvalidHeapAttributeNumber;

		if (attno == InvalidAttrNumber)
			return false;		/* whole row */
		if (attno < 0)
		{
			if (attno == SelfItemPointerAttributeNumber ||
				attno == TableOidAttributeNumber)
				continue;
			return false;
		}
		if (attno <= natts)
			attrs = bms_add_member(attrs, attno);
	}
	*out = attrs;
	return true;
}

/*
 * parallel_divisor
 *		The share of a partial path's rows one participant handles, as
 *		costsize.c computes it for a parallel sequential scan (the leader
 *		contributes less the more workers there are).
 */
static double
parallel_divisor(int workers)
{
	double		divisor = workers;

	if (parallel_leader_participation)
	{
		double		leader = 1.0 - (0.3 * workers);

		if (leader > 0)
			divisor += leader;
	}
	return divisor;
}

/*
 * columnar_path
 *		A ColumnarScan path over rel, costed from the sequential scan path
 *		seq (serial or partial, with as many workers as the path gets):
 *		cpu_tuple_cost per row stays; the rest of the run cost, pages and
 *		all, is taken as per-column work and scaled by share, the share of
 *		columns decoded.  The result is below the sequential scan's
 *		whenever a column is left out, and by a hair (0.1%) when every
 *		column is read, so that ties go to the path that can skip row
 *		groups.
 */
static CustomPath *
columnar_path(RelOptInfo *rel, Path *seq, double share)
{
	CustomPath *cpath = makeNode(CustomPath);
	Cost		cpu;
	Cost		run = seq->total_cost - seq->startup_cost;

	cpath->path.pathtype = T_CustomScan;
	cpath->path.parent = rel;
	cpath->path.pathtarget = rel->reltarget;
	cpath->path.param_info = seq->param_info;	/* lateral references */
	cpath->path.parallel_aware = seq->parallel_aware;
	cpath->path.parallel_safe = seq->parallel_safe;
	cpath->path.parallel_workers = seq->parallel_workers;
	cpath->path.rows = seq->rows;
	cpath->path.pathkeys = NIL;
	cpath->flags = CUSTOMPATH_SUPPORT_PROJECTION;
	cpath->methods = &columnar_path_methods;

	cpu = cpu_tuple_cost * rel->tuples;
	if (seq->parallel_workers > 0)
		cpu /= parallel_divisor(seq->parallel_workers);
	cpath->path.startup_cost = seq->startup_cost;
	if (run > cpu)
		cpath->path.total_cost = seq->startup_cost + cpu +
			(run - cpu) * share * 0.999;
	else
		cpath->path.total_cost = seq->startup_cost + run * 0.999;
	return cpath;
}

/*
 * columnar_set_rel_pathlist
 *		Add a ColumnarScan path for a plain base relation of the access
 *		method, and a partial (parallel-aware) one when the relation may
 *		be scanned in parallel.
 *
 *		The partial path is the only way a fluss_columnar relation is read
 *		by parallel workers: the access method has no parallel table scan
 *		of its own (heap's Parallel Seq Scan, parallel index and bitmap
 *		scans would use it), so the other partial paths are dropped, and
 *		the other paths of the relation are marked parallel-unsafe so that
 *		no worker runs them (under a Parallel Append, as a join's inner
 *		side).  The planner hook of handler.c checks the final plan.
 */
static void
columnar_set_rel_pathlist(PlannerInfo *root, RelOptInfo *rel, Index rti,
						  RangeTblEntry *rte)
{
	Path	   *seq = NULL;
	ListCell   *lc;
	Relation	relation;
	int			natts;
	int			nlive = 0;
	int			nneeded = 0;
	Bitmapset  *attrs;
	double		share;
	double		pages;
	int			workers;

	if (prev_set_rel_pathlist_hook)
		prev_set_rel_pathlist_hook(root, rel, rti, rte);

	if (!fluss_grid_columnar_customscan ||
		rte->rtekind != RTE_RELATION || rte->inh || rte->tablesample != NULL ||
		rte->relkind != RELKIND_RELATION ||
		(rel->reloptkind != RELOPT_BASEREL &&
		 rel->reloptkind != RELOPT_OTHER_MEMBER_REL) ||
		!ColumnarIsColumnarRelid(rte->relid))
		return;

	foreach(lc, rel->pathlist)
	{
		Path	   *p = lfirst(lc);

		if (p->pathtype == T_SeqScan && !p->parallel_aware)
			seq = p;
	}
	if (seq == NULL)
		return;

	relation = table_open(rte->relid, NoLock);
	natts = RelationGetDescr(relation)->natts;
	for (int i = 0; i < natts; i++)
		if (!TupleDescAttr(RelationGetDescr(relation), i)->attisdropped)
			nlive++;
	table_close(relation, NoLock);

	if (needed_attrs(rel, natts, &attrs))
		nneeded = bms_num_members(attrs);
	else
		nneeded = nlive;
	share = nlive > 0 ? (double) nneeded / nlive : 1.0;

	/* no worker may run a scan that is not ours and parallel-aware */
	rel->partial_pathlist = NIL;
	foreach(lc, rel->pathlist)
		((Path *) lfirst(lc))->parallel_safe = false;

	add_path(rel, (Path *) columnar_path(rel, seq, share));

	/*
	 * The partial path: workers as for a heap of the file's size or, when
	 * larger, of the decoded values the query reads (rows times the width
	 * of its target): decoding, not reading, is the work to share, and a
	 * well-compressed file is small for it.
	 */
	if (!rel->consider_parallel)
		return;
	pages = Max((double) rel->pages,
				rel->tuples * rel->reltarget->width / BLCKSZ);
	workers = compute_parallel_worker(rel, pages, -1,
									  max_parallel_workers_per_gather);
	if (workers <= 0)
		return;
	seq = create_seqscan_path(root, rel, rel->lateral_relids, workers);
	add_partial_path(rel, (Path *) columnar_path(rel, seq, share));
}

/*
 * skip_qual_info
 *		Whether clause is "Var op expr" or "expr op Var", Var a plain
 *		column of relid and expr a Const or Param, op one of the five
 *		comparisons of the Var type's default btree operator family; if
 *		so, the operator with the Var on the left, its strategy and the
 *		order proc comparing a column value with expr.
 */
static bool
skip_qual_info(Expr *clause, Index relid, Oid *opno_out, Var **var_out,
			   Expr **other_out, int *strategy_out, Oid *cmp_out)
{
	OpExpr	   *op;
	Node	   *left;
	Node	   *right;
	Var		   *var;
	Expr	   *other;
	Oid			opno;
	Oid			opclass;
	Oid			opfamily;
	int			strategy;
	Oid			cmp;

	if (!IsA(clause, OpExpr))
		return false;
	op = (OpExpr *) clause;
	if (list_length(op->args) != 2)
		return false;
	left = linitial(op->args);
	right = lsecond(op->args);
	opno = op->opno;
	if (IsA(left, Var) && (IsA(right, Const) || IsA(right, Param)))
	{
		var = (Var *) left;
		other = (Expr *) right;
	}
	else if (IsA(right, Var) && (IsA(left, Const) || IsA(left, Param)))
	{
		var = (Var *) right;
		other = (Expr *) left;
		opno = get_commutator(opno);
		if (!OidIsValid(opno))
			return false;
	}
	else
		return false;
	if (var->varno != relid || var->varattno <= 0 || var->varlevelsup != 0)
		return false;

	opclass = GetDefaultOpClass(var->vartype, BTREE_AM_OID);
	if (!OidIsValid(opclass))
		return false;
	opfamily = get_opclass_family(opclass);
	strategy = get_op_opfamily_strategy(opno, opfamily);
	if (strategy < BTLessStrategyNumber || strategy > BTGreaterStrategyNumber)
		return false;
	cmp = get_opfamily_proc(opfamily, var->vartype, exprType((Node *) other),
							BTORDER_PROC);
	if (!OidIsValid(cmp))
		return false;
	*opno_out = opno;
	*var_out = var;
	*other_out = other;
	*strategy_out = strategy;
	*cmp_out = cmp;
	return true;
}

/*
 * columnar_plan_path
 *		The CustomScan: quals and target list as a sequential scan's,
 *		custom_private the decoded attnums and, per skipping qual, its
 *		attnum, strategy, order proc and collation; custom_exprs the
 *		skipping quals themselves, with the Var on the left (setrefs.c
 *		fixes their Params, EXPLAIN shows them).
 */
static Plan *
columnar_plan_path(PlannerInfo *root, RelOptInfo *rel, CustomPath *best_path,
				   List *tlist, List *clauses, List *custom_plans)
{
	CustomScan *cscan = makeNode(CustomScan);
	RangeTblEntry *rte = planner_rt_fetch(rel->relid, root);
	Relation	relation = table_open(rte->relid, NoLock);
	TupleDesc	desc = RelationGetDescr(relation);
	Bitmapset  *attrs = NULL;
	bool		some = needed_attrs(rel, desc->natts, &attrs);
	List	   *attr_list = NIL;
	List	   *skip_info = NIL;
	List	   *skip_exprs = NIL;
	List	   *quals = extract_actual_clauses(clauses, false);
	ListCell   *lc;
	int			i;

	for (i = 1; i <= desc->natts; i++)
		if (!TupleDescAttr(desc, i - 1)->attisdropped &&
			(!some || bms_is_member(i, attrs)))
			attr_list = lappend_int(attr_list, i);

	foreach(lc, quals)
	{
		Oid			opno;
		Var		   *var;
		Expr	   *other;
		int			strategy;
		Oid			cmp;
		Form_pg_attribute att;
		Oid			collation;

		if (!skip_qual_info(lfirst(lc), rel->relid, &opno, &var, &other,
							&strategy, &cmp))
			continue;
		if (var->varattno > desc->natts)
			continue;
		att = TupleDescAttr(desc, var->varattno - 1);
		if (att->attisdropped || att->atttypid != var->vartype)
			continue;
		/* least/greatest were computed under the column's collation */
		collation = ((OpExpr *) lfirst(lc))->inputcollid;
		if (OidIsValid(att->attcollation) && collation != att->attcollation)
			continue;
		skip_info = lappend(skip_info,
							list_make4_oid((Oid) var->varattno, (Oid) strategy,
										   cmp, collation));
		skip_exprs = lappend(skip_exprs,
							 make_opclause(opno, BOOLOID, false, (Expr *) var,
										   copyObject(other), InvalidOid,
										   collation));
	}
	table_close(relation, NoLock);

	cscan->scan.plan.targetlist = tlist;
	cscan->scan.plan.qual = quals;
	cscan->scan.scanrelid = rel->relid;
	cscan->flags = best_path->flags;
	cscan->methods = &columnar_scan_methods;
	cscan->custom_private = list_make2(attr_list, skip_info);
	cscan->custom_exprs = skip_exprs;
	cscan->custom_plans = NIL;
	cscan->custom_scan_tlist = NIL;
	return (Plan *) cscan;
}

/* ------------------------------------------------------------------------
 * Execution
 * ------------------------------------------------------------------------
 */

static Node *
columnar_create_state(CustomScan *cscan)
{
	ColumnarScanState *state = palloc0(sizeof(ColumnarScanState));

	NodeSetTag(state, T_CustomScanState);
	state->css.methods = &columnar_exec_methods;
	return (Node *) state;
}

/*
 * columnar_begin
 *		Prepare the projection and the skipping quals; the scan itself is
 *		opened when the first row is asked for, after Params are set.
 */
static void
columnar_begin(CustomScanState *node, EState *estate, int eflags)
{
	ColumnarScanState *state = (ColumnarScanState *) node;
	CustomScan *cscan = (CustomScan *) node->ss.ps.plan;
	List	   *attr_list = linitial(cscan->custom_private);
	List	   *skip_info = lsecond(cscan->custom_private);
	TupleDesc	desc = RelationGetDescr(node->ss.ss_currentRelation);
	ListCell   *lc;
	ListCell   *lc2;
	int			k = 0;

	state->attr_list = attr_list;
	foreach(lc, attr_list)
		state->attrs = bms_add_member(state->attrs, lfirst_int(lc));
	if (state->attrs == NULL)
		state->attrs = bms_make_singleton(0);	/* decode nothing */

	state->nskip = list_length(skip_info);
	state->skip = palloc0(sizeof(SkipQual) * Max(state->nskip, 1));
	forboth(lc, skip_info, lc2, cscan->custom_exprs)
	{
		List	   *info = lfirst(lc);
		OpExpr	   *op = lfirst(lc2);
		SkipQual   *q = &state->skip[k++];
		Form_pg_attribute att;

		q->attno = (AttrNumber) linitial_oid(info);
		q->strategy = (int) lsecond_oid(info);
		fmgr_info(lthird_oid(info), &q->cmp);
		q->collation = lfourth_oid(info);
		att = TupleDescAttr(desc, q->attno - 1);
		getTypeBinaryInputInfo(att->atttypid, &q->typreceive, &q->typioparam);
		q->typmod = att->atttypmod;
		q->expr = ExecInitExpr(lsecond(op->args), &node->ss.ps);
	}
	init_projection(state, cscan);
	state->filter_cxt = AllocSetContextCreate(CurrentMemoryContext,
											  "fluss_columnar row-group filter",
											  ALLOCSET_SMALL_SIZES);
	state->value_cxt = AllocSetContextCreate(CurrentMemoryContext,
											 "fluss_columnar skip values",
											 ALLOCSET_SMALL_SIZES);
}

/* a chunk's least or greatest value, from its binary send form */
static Datum
chunk_bound(SkipQual *q, bytea *bound)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendBinaryStringInfo(&buf, VARDATA_ANY(bound), VARSIZE_ANY_EXHDR(bound));
	return OidReceiveFunctionCall(q->typreceive, &buf, q->typioparam, q->typmod);
}

/*
 * row_group_may_match
 *		False when a skipping qual cannot hold for any row of rg by the
 *		least and greatest values of its chunk (NULLs satisfy none of the
 *		comparisons); true whenever that is not proven.
 */
static bool
row_group_may_match(ColumnarRowGroup *rg, void *arg)
{
	ColumnarScanState *state = arg;
	MemoryContext old;
	bool		may = true;
	int			k;

	MemoryContextReset(state->filter_cxt);
	old = MemoryContextSwitchTo(state->filter_cxt);
	for (k = 0; k < state->nskip && may; k++)
	{
		SkipQual   *q = &state->skip[k];
		ColumnarChunk *c;
		int32		cmin;
		int32		cmax;

		if (!q->usable || q->attno > rg->natts)
			continue;
		c = &rg->chunks[q->attno - 1];
		if (!c->present || c->min_value == NULL || c->max_value == NULL)
			continue;
		cmin = DatumGetInt32(FunctionCall2Coll(&q->cmp, q->collation,
											   chunk_bound(q, c->min_value),
											   q->value));
		cmax = DatumGetInt32(FunctionCall2Coll(&q->cmp, q->collation,
											   chunk_bound(q, c->max_value),
											   q->value));
		switch (q->strategy)
		{
			case BTLessStrategyNumber:
				may = cmin < 0;
				break;
			case BTLessEqualStrategyNumber:
				may = cmin <= 0;
				break;
			case BTEqualStrategyNumber:
				may = cmin <= 0 && cmax >= 0;
				break;
			case BTGreaterEqualStrategyNumber:
				may = cmax >= 0;
				break;
			case BTGreaterStrategyNumber:
				may = cmax > 0;
				break;
		}
	}
	MemoryContextSwitchTo(old);
	return may;
}

/*
 * set_row_quals
 *		The skipping quals with a value also filter the decoded values of
 *		each row group before rows are formed (reader.c): the same
 *		comparisons the quals make, only earlier.
 */
static void
set_row_quals(ColumnarScanState *state)
{
	ColumnarRowQual *quals;
	int			n = 0;
	int			k;

	if (state->nskip == 0)
		return;
	quals = palloc(sizeof(ColumnarRowQual) * state->nskip);
	for (k = 0; k < state->nskip; k++)
	{
		SkipQual   *q = &state->skip[k];

		if (!q->usable)
			continue;
		quals[n].attno = q->attno;
		quals[n].strategy = q->strategy;
		quals[n].collation = q->collation;
		quals[n].cmp = &q->cmp;
		quals[n].value = q->value;
		n++;
	}
	ColumnarScanSetRowQuals(state->scan, quals, n);
	pfree(quals);
}

/* open the scan: evaluate the skipping quals' Params and Consts */
static void
open_scan(ColumnarScanState *state)
{
	ScanState  *ss = &state->css.ss;
	EState	   *estate = ss->ps.state;
	ExprContext *econtext = ss->ps.ps_ExprContext;
	int			k;

	MemoryContextReset(state->value_cxt);
	for (k = 0; k < state->nskip; k++)
	{
		SkipQual   *q = &state->skip[k];
		Oid			type = exprType((Node *) q->expr->expr);
		int16		typlen;
		bool		typbyval;
		bool		isnull;
		Datum		value;
		MemoryContext old;

		/* evaluated in per-tuple memory, kept for the whole scan */
		value = ExecEvalExprSwitchContext(q->expr, econtext, &isnull);
		q->usable = !isnull;
		if (isnull)
			continue;
		get_typlenbyval(type, &typlen, &typbyval);
		old = MemoryContextSwitchTo(state->value_cxt);
		q->value = datumCopy(value, typbyval, typlen);
		MemoryContextSwitchTo(old);
	}
	state->scan = table_beginscan(ss->ss_currentRelation,
								  state->worker_snapshot ? state->worker_snapshot :
								  estate->es_snapshot,
								  0, NULL);
	ColumnarScanSetProjection(state->scan, state->attrs,
							  state->nskip > 0 ? row_group_may_match : NULL,
							  state);
	/* parallel: claim row groups; only the leader reads its own rows */
	if (state->pstate)
		ColumnarScanSetShared(state->scan, &state->pstate->next_rg,
							  !IsParallelWorker());
	set_row_quals(state);
}

/* ExecScan's access method: the next row of the relation */
static TupleTableSlot *
columnar_next(ScanState *ss)
{
	ColumnarScanState *state = (ColumnarScanState *) ss;
	TupleTableSlot *slot = ss->ss_ScanTupleSlot;

	if (state->scan == NULL)
		open_scan(state);
	if (table_scan_getnextslot(state->scan, ss->ps.state->es_direction, slot))
		return slot;
	return NULL;
}

/* no EvalPlanQual rechecks beyond the quals */
static bool
columnar_recheck(ScanState *ss, TupleTableSlot *slot)
{
	return true;
}

/*
 * columnar_exec
 *		The next row: through the scan's own projection when it has one
 *		(not during an EvalPlanQual recheck, which ExecScan handles).
 */
static TupleTableSlot *
columnar_exec(CustomScanState *node)
{
	ColumnarScanState *state = (ColumnarScanState *) node;

	if (state->project != NULL && node->ss.ps.state->es_epq_active == NULL)
		return scan_project(state);
	return ExecScan(&node->ss, columnar_next, columnar_recheck);
}

/* ------------------------------------------------------------------------
 * Projection
 *
 * ExecScan evaluates the whole target list for every row.  When every
 * entry is either a column of the relation or an expression that reads
 * only by-value columns of the relation, returns a by-value type and calls
 * no volatile function (nor a subplan), the scan projects itself: columns
 * are copied from the scan slot, and each expression is evaluated again
 * only when a column it reads differs from the row it was last evaluated
 * for.  A stable function returns the same result for the same arguments
 * within a statement, and the inputs are compared bit for bit, so the
 * result is the one a new evaluation would give; a rescan (new Params)
 * forgets the kept results.  date_trunc('minute', ts) over rows sorted by
 * time is then evaluated once per distinct timestamp instead of once per
 * row.
 * ------------------------------------------------------------------------
 */

/*
 * cacheable_inputs
 *		Whether expr may keep its result between rows (see above); if so,
 *		the 0-based columns of relid it reads, in *inputs.
 */
static bool
cacheable_inputs(Expr *expr, Index relid, List **inputs)
{
	List	   *vars;
	ListCell   *lc;
	int16		typlen;
	bool		typbyval;

	*inputs = NIL;
	get_typlenbyval(exprType((Node *) expr), &typlen, &typbyval);
	if (!typbyval || contain_volatile_functions_after_planning(expr) ||
		contain_subplans((Node *) expr) ||
		expression_returns_set((Node *) expr))
		return false;
	vars = pull_var_clause((Node *) expr, PVC_INCLUDE_AGGREGATES |
						   PVC_INCLUDE_WINDOWFUNCS | PVC_INCLUDE_PLACEHOLDERS);
	foreach(lc, vars)
	{
		Var		   *var = lfirst(lc);

		if (!IsA(var, Var) || var->varno != relid || var->varlevelsup != 0 ||
			var->varattno <= 0)
			return false;
		get_typlenbyval(var->vartype, &typlen, &typbyval);
		if (!typbyval)
			return false;
		*inputs = list_append_unique_int(*inputs, var->varattno - 1);
	}
	return true;
}

/*
 * init_projection
 *		Set up the scan's own projection when its target list allows it
 *		and at least one expression can keep its result; otherwise leave
 *		the projection to ExecScan.
 */
static void
init_projection(ColumnarScanState *state, CustomScan *cscan)
{
	PlanState  *ps = &state->css.ss.ps;
	Index		relid = cscan->scan.scanrelid;
	List	   *tlist = cscan->scan.plan.targetlist;
	TupleDesc	desc = RelationGetDescr(state->css.ss.ss_currentRelation);
	ProjectEntry *entries;
	bool		any_expr = false;
	AttrNumber	maxatt = 0;
	ListCell   *lc;
	int			k = 0;

	/*
	 * A volatile qual might change what a stable function returns (a
	 * set_config of TimeZone): then every row evaluates everything.
	 */
	if (ps->ps_ProjInfo == NULL || tlist == NIL ||
		contain_volatile_functions_after_planning((Expr *) cscan->scan.plan.qual))
		return;
	entries = palloc0(sizeof(ProjectEntry) * list_length(tlist));
	foreach(lc, tlist)
	{
		TargetEntry *tle = lfirst(lc);
		ProjectEntry *e = &entries[k++];
		Var		   *var = (Var *) tle->expr;
		List	   *inputs;
		ListCell   *lc2;
		int			i = 0;

		if (IsA(var, Var) && var->varno == relid && var->varlevelsup == 0 &&
			var->varattno > 0 && var->varattno <= desc->natts)
		{
			e->attno = var->varattno;
			maxatt = Max(maxatt, var->varattno);
			continue;
		}
		if (!cacheable_inputs(tle->expr, relid, &inputs))
		{
			pfree(entries);
			return;
		}
		e->ninputs = list_length(inputs);
		e->inputs = palloc(sizeof(AttrNumber) * Max(e->ninputs, 1));
		e->last_in = palloc0(sizeof(Datum) * Max(e->ninputs, 1));
		e->last_null = palloc0(sizeof(bool) * Max(e->ninputs, 1));
		foreach(lc2, inputs)
		{
			e->inputs[i] = (AttrNumber) lfirst_int(lc2);
			if (e->inputs[i] >= desc->natts)
			{
				pfree(entries);
				return;
			}
			maxatt = Max(maxatt, e->inputs[i] + 1);
			i++;
		}
		any_expr = true;
	}
	if (!any_expr)
	{
		pfree(entries);
		return;
	}
	/* the expressions, evaluated against the scan slot */
	k = 0;
	foreach(lc, tlist)
	{
		ProjectEntry *e = &entries[k++];

		if (e->attno == 0)
			e->expr = ExecInitExpr(((TargetEntry *) lfirst(lc))->expr, ps);
	}
	state->nproject = list_length(tlist);
	state->project = entries;
	state->project_maxatt = maxatt;
}

/* forget the results kept (at a rescan: Params may have changed) */
static void
reset_projection(ColumnarScanState *state)
{
	int			k;

	for (k = 0; k < state->nproject; k++)
		state->project[k].valid = false;
}

/* the projection of the row in scan_slot into the result slot */
static TupleTableSlot *
project_row(ColumnarScanState *state, TupleTableSlot *scan_slot)
{
	TupleTableSlot *out = state->css.ss.ps.ps_ResultTupleSlot;
	ExprContext *econtext = state->css.ss.ps.ps_ExprContext;
	Datum	   *sv;
	bool	   *sn;
	int			k;

	slot_getsomeattrs(scan_slot, state->project_maxatt);
	sv = scan_slot->tts_values;
	sn = scan_slot->tts_isnull;
	ExecClearTuple(out);
	for (k = 0; k < state->nproject; k++)
	{
		ProjectEntry *e = &state->project[k];
		bool		same;
		int			i;

		if (e->attno > 0)
		{
			out->tts_values[k] = sv[e->attno - 1];
			out->tts_isnull[k] = sn[e->attno - 1];
			continue;
		}
		same = e->valid;
		for (i = 0; i < e->ninputs && same; i++)
		{
			AttrNumber	a = e->inputs[i];

			same = sn[a] == e->last_null[i] &&
				(sn[a] || sv[a] == e->last_in[i]);
		}
		if (!same)
		{
			e->result = ExecEvalExprSwitchContext(e->expr, econtext,
												  &e->result_null);
			for (i = 0; i < e->ninputs; i++)
			{
				e->last_in[i] = sv[e->inputs[i]];
				e->last_null[i] = sn[e->inputs[i]];
			}
			e->valid = true;
		}
		out->tts_values[k] = e->result;
		out->tts_isnull[k] = e->result_null;
	}
	return ExecStoreVirtualTuple(out);
}

/*
 * scan_project
 *		ExecScan with the scan's own projection: the next row passing the
 *		quals, projected.
 */
static TupleTableSlot *
scan_project(ColumnarScanState *state)
{
	ScanState  *ss = &state->css.ss;
	ExprContext *econtext = ss->ps.ps_ExprContext;
	ExprState  *qual = ss->ps.qual;

	ResetExprContext(econtext);
	for (;;)
	{
		TupleTableSlot *slot = columnar_next(ss);

		if (slot == NULL || TupIsNull(slot))
			return ExecClearTuple(ss->ps.ps_ResultTupleSlot);
		econtext->ecxt_scantuple = slot;
		if (qual == NULL || ExecQual(qual, econtext))
			return project_row(state, slot);
		InstrCountFiltered1(ss, 1);
		ResetExprContext(econtext);
	}
}

/*
 * close_scan
 *		Close the scan, keeping its count of skipped row groups (a
 *		worker's goes to the shared state, for the leader's EXPLAIN).
 */
static void
close_scan(ColumnarScanState *state)
{
	int64		skipped;
	int64		empty;

	if (state->scan == NULL)
		return;
	skipped = ColumnarScanSkippedRowGroups(state->scan);
	empty = ColumnarScanEmptyRowGroups(state->scan);
	if (IsParallelWorker() && state->pstate)
	{
		pg_atomic_fetch_add_u64(&state->pstate->skipped, (uint64) skipped);
		pg_atomic_fetch_add_u64(&state->pstate->empty, (uint64) empty);
	}
	else
	{
		state->skipped += skipped;
		state->empty += empty;
	}
	table_endscan(state->scan);
	state->scan = NULL;
}

static void
columnar_end(CustomScanState *node)
{
	ColumnarScanState *state = (ColumnarScanState *) node;

	close_scan(state);
	if (state->worker_snapshot)
	{
		UnregisterSnapshot(state->worker_snapshot);
		state->worker_snapshot = NULL;
	}
}

/* the next scan starts over, with the Params of then */
static void
columnar_rescan(CustomScanState *node)
{
	close_scan((ColumnarScanState *) node);
	reset_projection((ColumnarScanState *) node);
	ExecScanReScan(&node->ss);
}

/* ------------------------------------------------------------------------
 * Parallel execution
 *
 * Every participant (the leader and each worker) opens its own scan with
 * the leader's snapshot, so reads the same list of row groups from the
 * metadata, in row-number order; the next index to read is claimed from
 * a counter in the DSM segment, so each row group is read by exactly one
 * participant.  The rows only the leader can read (its write buffers, and
 * the row groups its transaction flushed that the metadata does not show
 * to the snapshot) are read by the leader alone, after its row groups:
 * workers have none.  A leader holding such rows would read them only if
 * it runs the scan to its end, which a Parallel Append or a Parallel Hash
 * build does not promise, so handler.c does not start workers at all in a
 * transaction that wrote fluss_columnar rows (the whole plan then runs in
 * the leader, and this node reads everything).
 * ------------------------------------------------------------------------
 */

/* the DSM size: the shared state and the leader's snapshot */
static Size
columnar_estimate_dsm(CustomScanState *node, ParallelContext *pcxt)
{
	Snapshot	snapshot = node->ss.ps.state->es_snapshot;
	Size		size = offsetof(ColumnarParallelState, snapshot);

	if (IsMVCCSnapshot(snapshot))
		size = add_size(size, EstimateSnapshotSpace(snapshot));
	return size;
}

/* the leader: initialise the shared state, use it for its own part */
static void
columnar_initialize_dsm(CustomScanState *node, ParallelContext *pcxt,
						void *coordinate)
{
	ColumnarScanState *state = (ColumnarScanState *) node;
	ColumnarParallelState *pstate = coordinate;
	Snapshot	snapshot = node->ss.ps.state->es_snapshot;

	pg_atomic_init_u64(&pstate->next_rg, 0);
	pg_atomic_init_u64(&pstate->skipped, 0);
	pg_atomic_init_u64(&pstate->empty, 0);
	pstate->has_snapshot = IsMVCCSnapshot(snapshot);
	if (pstate->has_snapshot)
		SerializeSnapshot(snapshot, pstate->snapshot);
	state->pstate = pstate;
}

/*
 * A rescan of the Gather: the row groups are claimed again from the
 * first.  The workers of the previous scan are gone; what they skipped is
 * kept for EXPLAIN.
 */
static void
columnar_reinitialize_dsm(CustomScanState *node, ParallelContext *pcxt,
						  void *coordinate)
{
	ColumnarScanState *state = (ColumnarScanState *) node;
	ColumnarParallelState *pstate = coordinate;

	state->workers_skipped += (int64) pg_atomic_exchange_u64(&pstate->skipped, 0);
	state->workers_empty += (int64) pg_atomic_exchange_u64(&pstate->empty, 0);
	pg_atomic_write_u64(&pstate->next_rg, 0);
}

/* a worker: the shared state and a copy of the leader's snapshot */
static void
columnar_initialize_worker(CustomScanState *node, shm_toc *toc,
						   void *coordinate)
{
	ColumnarScanState *state = (ColumnarScanState *) node;
	ColumnarParallelState *pstate = coordinate;

	state->pstate = pstate;
	if (pstate->has_snapshot)
		state->worker_snapshot =
			RegisterSnapshot(RestoreSnapshot(pstate->snapshot));
}

/*
 * Before the DSM segment goes (the scan is done, or a Limit above has all
 * it needs): the scan is closed; a worker hands over its count of skipped
 * row groups, the leader collects the counts of the workers that finished
 * and forgets the segment (a rescan of the Gather makes a new one).
 */
static void
columnar_shutdown(CustomScanState *node)
{
	ColumnarScanState *state = (ColumnarScanState *) node;

	if (state->pstate == NULL)
		return;
	close_scan(state);
	if (!IsParallelWorker())
	{
		state->workers_skipped +=
			(int64) pg_atomic_exchange_u64(&state->pstate->skipped, 0);
		state->workers_empty +=
			(int64) pg_atomic_exchange_u64(&state->pstate->empty, 0);
		state->pstate = NULL;
	}
}

/*
 * columnar_explain
 *		Columnar Projected Columns, Columnar Skip Quals and, under
 *		ANALYZE, Row Groups Skipped.
 */
static void
columnar_explain(CustomScanState *node, List *ancestors, ExplainState *es)
{
	ColumnarScanState *state = (ColumnarScanState *) node;
	CustomScan *cscan = (CustomScan *) node->ss.ps.plan;
	TupleDesc	desc = RelationGetDescr(node->ss.ss_currentRelation);
	StringInfoData cols;
	ListCell   *lc;

	initStringInfo(&cols);
	foreach(lc, state->attr_list)
	{
		Form_pg_attribute att = TupleDescAttr(desc, lfirst_int(lc) - 1);

		if (cols.len > 0)
			appendStringInfoString(&cols, ", ");
		appendStringInfoString(&cols, quote_identifier(NameStr(att->attname)));
	}
	ExplainPropertyText("Columnar Projected Columns",
						cols.len > 0 ? cols.data : "<none>", es);
	if (cscan->custom_exprs != NIL)
	{
		List	   *context;
		Node	   *expr;

		context = set_deparse_context_plan(es->deparse_cxt,
										   (Plan *) cscan, ancestors);
		expr = (Node *) make_ands_explicit(cscan->custom_exprs);
		ExplainPropertyText("Columnar Skip Quals",
							deparse_expression(expr, context,
											   list_length(es->rtable) > 1,
											   false),
							es);
		if (es->analyze)
		{
			int64		skipped = state->skipped + state->workers_skipped;
			int64		empty = state->empty + state->workers_empty;

			if (state->scan)
			{
				skipped += ColumnarScanSkippedRowGroups(state->scan);
				empty += ColumnarScanEmptyRowGroups(state->scan);
			}
			ExplainPropertyInteger("Row Groups Skipped", NULL, skipped, es);
			ExplainPropertyInteger("Row Groups Without Matches", NULL, empty,
								   es);
		}
	}
}
