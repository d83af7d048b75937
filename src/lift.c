/*-------------------------------------------------------------------------
 *
 * lift.c
 *	  The capture trigger's pre-aggregation in C: a statement's rows,
 *	  projected by a saved plan (bucket, keys, arguments, filters), are
 *	  folded into a hash table of partial states keyed by bucket and group,
 *	  and written to the changelog as one delta row per group.  For a
 *	  statement's transition table the plan's expressions are evaluated
 *	  directly (lift_direct), without an executor per statement.
 *
 * This replaces the SQL lift (an INSERT ... SELECT ... GROUP BY with two
 * aggregates per state component, most of them idle) for INSERT, COPY,
 * DELETE, the capture of a whole attached or truncated partition, and
 * UPDATE statements: an UPDATE's old and new rows are projected pairwise,
 * a pair whose projections are equal is dropped (as the SQL form's EXCEPT
 * ALL drops it), and the rest are lifted into one changelog row per group
 * holding both sides, as the SQL lift's.  A rollup source's rows carry states, which are merged
 * (FgAggLiftMerge) rather than accumulated.  The arithmetic per component
 * is aggstate.c's (FgAggLift*), driven by the same tables as the SQL it
 * stands in for.
 *
 * Memory is bounded: when the groups outgrow work_mem, they are written
 * out and the table starts again; the fold combines a group's several
 * delta rows as it does those of several statements.
 *
 * IDENTIFICATION
 *	  src/lift.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "executor/executor.h"
#include "executor/spi_priv.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/plancache.h"
#include "utils/relcache.h"
#include "utils/rel.h"
#include "utils/typcache.h"

#include "fluss_grid.h"

/*
 * Statements with at most this many rows are projected without an
 * executor, whose start-up and shutdown cost more than a few rows.  Above
 * it they are amortised, and the plan of a large statement may be
 * JIT-compiled, which interpreted expression states would forgo; a
 * projection that evaluates no expression (columns and the bucket only)
 * goes without the executor at any size.
 */
#define FG_LIFT_DIRECT_MAX_ROWS 1000

/*
 * per group: rows counted, then the accumulators of every aggregate; for
 * an UPDATE (paired) the rows and accumulators of the old rows follow
 */
typedef struct LiftGroup
{
	int64		rows;
	int64		rows_old;
	FgLiftAcc	acc[FLEXIBLE_ARRAY_MEMBER];
} LiftGroup;

/*
 * One output column of the projection, evaluated without the executor: a
 * column of the row is copied, fluss_grid.time_bucket() of a column with
 * constant width and zone is computed through a bucket cache (no function
 * call per row), anything else runs its own expression state.
 */
typedef enum LiftColKind
{
	LIFT_COL_COPY,
	LIFT_COL_BUCKET,
	LIFT_COL_EXPR
} LiftColKind;

typedef struct LiftCol
{
	LiftColKind kind;
	int			att;			/* COPY, BUCKET: column of the row (0-based) */
	FgBucketCache bucket;		/* BUCKET */
	ExprState  *expr;			/* EXPR */
} LiftCol;

typedef struct LiftState
{
	DestReceiver pub;			/* must be first */
	const FgRollup *r;
	bool		busy;			/* a capture is using it */
	bool		ready;			/* layout and hash table set up */
	int			sign;			/* +1 inserted rows, -1 deleted rows */
	bool		paired;			/* an UPDATE: both, one delta row per group */
	bool		old_row;		/* paired: the row received is an old one */
	Oid			deltaid;
	Relation	delta;			/* the changelog, open during a capture */
	MemoryContext cxt;			/* lives for the statement */
	MemoryContext tablecxt;		/* groups; reset after each flush */
	MemoryContext rowcxt;		/* reset per row */
	Size		limit;			/* bytes of groups before a flush */

	/* projection: 0 bucket, 1..nkeys keys, then by name */
	int			nkeycols;
	int			tcol;			/* _fg_t, or -1 */
	int		   *xcol;			/* per aggregate: _fg_x_<i>, or -1 */
	int		   *fcol;			/* per aggregate: _fg_f_<i>, or -1 */
	/* a rollup source: _fg_c, and per aggregate its _fg_p_<i>_* columns */
	int			ccol;
	int		  **pcol;
	int		   *pwidth;
	Datum	   *pvals;
	bool	   *pnulls;
	int		   *accoff;			/* per aggregate: first accumulator */
	int			nacc;
	FgLiftArg  *args;
	TupleTableSlot *keyslot;	/* virtual: the key of the current row */
	TupleTableSlot *outslot;	/* minimal: the key of a group written out */
	TupleHashTable hash;

	/*
	 * The group of the previous row and its key (in the hash table's copy):
	 * rows arrive in runs of one bucket and group (a COPY in time order, a
	 * statement of one station), which then skip the hash lookup.
	 */
	LiftGroup  *last_group;
	TupleTableSlot *lastslot;
	int16	   *keylen;
	bool	   *keybyval;

	/* changelog: out[j] goes to attribute map[j] */
	int			nout;
	int		   *map;
	Datum	   *out;
	bool	   *outnull;
	Datum	   *values;
	bool	   *isnull;
	int			reset_att;
	List	   *indexes_ok;		/* changelog indexes checked, in cxt */
	int			at_att;
	int64		written;

	/*
	 * The projection evaluated without the executor: expression states
	 * built once from the saved plan (identified by the CachedPlan and its
	 * generation), run straight over the transition table.
	 */
	CachedPlan *direct_plan;
	int			direct_generation;
	bool		direct_ok;		/* the plan is a lone scan we can replace */
	bool		direct_any_size;	/* no expression states: for every size */
	MemoryContext direct_cxt;
	ExprContext *direct_econtext;
	TupleTableSlot *direct_scanslot;
	TupleTableSlot *direct_oldslot; /* an UPDATE's old row */
	TupleTableSlot *direct_out; /* the projection of a (new) row */
	TupleTableSlot *direct_oldout;	/* of an UPDATE's old row */
	int			direct_ncols;
	LiftCol    *direct_cols;	/* per output column */
	int			direct_natts;	/* columns of the row the projection reads */
	int			direct_notnull; /* the filter "column IS NOT NULL", or -1 */
	ExprState  *direct_qual;	/* any other filter */
	TupleDesc	direct_desc;
} LiftState;

static void lift_startup(DestReceiver *self, int operation, TupleDesc desc);
static bool lift_receive(TupleTableSlot *slot, DestReceiver *self);
static void lift_shutdown(DestReceiver *self);
static void lift_destroy(DestReceiver *self);
static void lift_flush(LiftState *ls);
static void lift_update_pairs(LiftState *ls, Tuplestorestate *oldrows,
							  Tuplestorestate *newrows);
static bool lift_direct(LiftState *ls, SPIPlanPtr plan, Tuplestorestate *rows,
						TupleDesc rowdesc);
static void lift_check_indexes(LiftState *ls);
static void lift_map_delta(LiftState *ls);

/*
 * FgLiftPossible
 *		Whether the C lift can serve rollup r (else the capture uses SQL).
 */
bool
FgLiftPossible(const FgRollup *r)
{
#ifndef HAVE_INT128
	return false;
#else
	for (int k = 0; k < r->nkeys; k++)
	{
		TypeCacheEntry *tce = lookup_type_cache(r->keytypes[k],
												TYPECACHE_EQ_OPR | TYPECACHE_HASH_PROC);

		if (!OidIsValid(tce->eq_opr) || !OidIsValid(tce->hash_proc))
			return false;
	}
	return true;
#endif
}

/* a fresh lift state for rollup r, in a new child of parent */
static LiftState *
lift_state_create(const FgRollup *r, MemoryContext parent)
{
	MemoryContext cxt = AllocSetContextCreate(parent, "fluss_grid lift",
											  ALLOCSET_DEFAULT_SIZES);
	LiftState  *ls = MemoryContextAllocZero(cxt, sizeof(LiftState));

	ls->pub.receiveSlot = lift_receive;
	ls->pub.rStartup = lift_startup;
	ls->pub.rShutdown = lift_shutdown;
	ls->pub.rDestroy = lift_destroy;
	ls->pub.mydest = DestNone;
	ls->r = r;
	ls->cxt = cxt;
	ls->tablecxt = AllocSetContextCreate(cxt, "fluss_grid lift groups",
										 ALLOCSET_DEFAULT_SIZES);
	ls->rowcxt = AllocSetContextCreate(cxt, "fluss_grid lift row",
									   ALLOCSET_SMALL_SIZES);
	ls->deltaid = get_relname_relid(psprintf("changelog_%d", r->id),
									get_namespace_oid(FG_SCHEMA, false));
	if (!OidIsValid(ls->deltaid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("changelog of rollup %s does not exist", r->relname)));
	return ls;
}

/*
 * FgLiftCapture
 *		Run the projection plan (FgSqlCaptureProjection) with params, lift
 *		its rows with sign into the changelog of e's rollup.  Returns the
 *		number of delta rows written.
 *
 * The layout, the hash table and the changelog's column map live in the
 * cache entry and serve every statement (a single-row INSERT would
 * otherwise spend more on setting them up than on its row); a nested
 * capture of the same rollup, should an argument expression write to the
 * source, gets a state of its own.
 */
static LiftState *
lift_acquire(FgCacheEntry *e, void **cached, bool *own)
{
	LiftState  *ls = (LiftState *) *cached;

	*own = false;
	if (ls == NULL)
		*cached = ls = lift_state_create(e->rollup, e->cxt);
	else if (ls->busy)
	{
		ls = lift_state_create(e->rollup, CurrentMemoryContext);
		*own = true;
	}
	return ls;
}

/* ready ls for a capture with sign */
static void
lift_begin(LiftState *ls, int sign)
{
	/* whatever an earlier failed capture left behind */
	ls->last_group = NULL;
	if (ls->ready)
		ResetTupleHashTable(ls->hash);
	MemoryContextReset(ls->tablecxt);
	MemoryContextReset(ls->rowcxt);
	ls->sign = sign;
	ls->paired = false;
	ls->old_row = false;
	ls->written = 0;
	ls->limit = (Size) work_mem * 1024;
	ls->busy = true;
}

/* what one capture lifts: a statement's rows, or an UPDATE's pairs */
typedef struct LiftJob
{
	SPIPlanPtr	plan;			/* the projection */
	ParamListInfo params;		/* row capture: the row, as parameters */
	Tuplestorestate *rows;		/* one-sided: the transition table */
	Tuplestorestate *oldrows;	/* an UPDATE (ls->paired): old rows ... */
	Tuplestorestate *newrows;	/* ... and new rows */
	TupleDesc	rowdesc;
} LiftJob;

/*
 * lift_run
 *		Lift job with ls (begun by lift_begin) into the changelog; returns
 *		the number of delta rows written.  A private state (own) goes away
 *		afterwards.
 */
static int64
lift_run(LiftState *volatile ls, bool own, const LiftJob *job)
{
	SPIExecuteOptions options;
	int			ret;
	int64		written;

	PG_TRY();
	{
		ls->delta = table_open(ls->deltaid, RowExclusiveLock);
		if (ls->paired)
		{
			lift_startup(&ls->pub, CMD_SELECT, ls->direct_desc);
			lift_update_pairs(ls, job->oldrows, job->newrows);
		}
		else if (job->rows == NULL || job->params != NULL ||
				 !lift_direct(ls, job->plan, job->rows, job->rowdesc))
		{
			memset(&options, 0, sizeof(options));
			options.params = job->params;
			options.read_only = false;
			options.dest = &ls->pub;
			/* a SELECT into a receiver that is not SPI's reports SPI_OK_UTILITY */
			ret = SPI_execute_plan_extended(job->plan, &options);
			if (ret < 0)
				elog(ERROR, "fluss_grid capture projection failed: %s",
					 SPI_result_code_string(ret));
		}
		if (ls->ready)
			lift_flush(ls);
		table_close(ls->delta, NoLock);
		ls->delta = NULL;
	}
	PG_CATCH();
	{
		ls->busy = false;
		ls->delta = NULL;
		PG_RE_THROW();
	}
	PG_END_TRY();
	ls->busy = false;
	written = ls->written;
	if (own)
		MemoryContextDelete(ls->cxt);
	return written;
}

int64
FgLiftCapture(FgCacheEntry *e, SPIPlanPtr plan, ParamListInfo params,
			  int sign, Tuplestorestate *rows, TupleDesc rowdesc)
{
	LiftJob		job = {plan, params, rows, NULL, NULL, rowdesc};
	bool		own;
	LiftState  *ls = lift_acquire(e, &e->lift, &own);

	lift_begin(ls, sign);
	return lift_run(ls, own, &job);
}

/*
 * column number (0-based) of name in desc, or -1; user column names never
 * start with the engine's prefix, so they cannot be taken for its columns
 */
static int
column_of(TupleDesc desc, const char *name)
{
	int			attno = SPI_fnumber(desc, name);

	return attno > 0 ? attno - 1 : -1;
}

static void
lift_startup(DestReceiver *self, int operation, TupleDesc desc)
{
	LiftState  *ls = (LiftState *) self;
	const FgRollup *r = ls->r;
	MemoryContext old;
	TupleDesc	keydesc;
	AttrNumber *keyidx;
	Oid		   *eqops;
	Oid		   *eqfuncs;
	FmgrInfo   *hashfns;
	Oid		   *collations;
	char		name[NAMEDATALEN];

	if (ls->ready)
		return;					/* set up by an earlier statement */
	old = MemoryContextSwitchTo(ls->cxt);
	ls->nkeycols = 1 + r->nkeys;
	ls->tcol = column_of(desc, "_fg_t");
	ls->xcol = palloc(sizeof(int) * r->naggs);
	ls->fcol = palloc(sizeof(int) * r->naggs);
	ls->accoff = palloc(sizeof(int) * r->naggs);
	ls->args = palloc(sizeof(FgLiftArg) * r->naggs);
	ls->ccol = -1;
	if (r->parent_id != 0)
	{
		ls->ccol = column_of(desc, "_fg_c");
		ls->pcol = palloc(sizeof(int *) * r->naggs);
		ls->pwidth = palloc(sizeof(int) * r->naggs);
		ls->pvals = palloc(sizeof(Datum) * desc->natts);
		ls->pnulls = palloc(sizeof(bool) * desc->natts);
		if (ls->ccol < 0)
			elog(ERROR, "capture projection of rollup %s does not match its definition",
				 r->relname);
	}
	for (int i = 0; i < r->naggs; i++)
	{
		ls->accoff[i] = ls->nacc;
		ls->nacc += FgAggLiftWidth(&r->aggs[i]);
		FgAggLiftArgInit(&ls->args[i], &r->aggs[i]);
		if (r->parent_id != 0)
		{
			/* the parent's state columns, as FgAggParentColumns names them */
			List	   *names = FgAggParentColumnNames(r, i + 1);
			ListCell   *lc;
			int			j = 0;

			ls->xcol[i] = ls->fcol[i] = -1;
			ls->pwidth[i] = list_length(names);
			ls->pcol[i] = palloc(sizeof(int) * ls->pwidth[i]);
			foreach(lc, names)
			{
				if ((ls->pcol[i][j++] = column_of(desc, lfirst(lc))) < 0)
					elog(ERROR, "capture projection of rollup %s does not match its definition",
						 r->relname);
			}
			continue;
		}
		snprintf(name, sizeof(name), "_fg_x_%d", i + 1);
		ls->xcol[i] = column_of(desc, name);
		snprintf(name, sizeof(name), "_fg_f_%d", i + 1);
		ls->fcol[i] = column_of(desc, name);
		if ((r->aggs[i].arg != NULL) != (ls->xcol[i] >= 0) ||
			(r->aggs[i].filter != NULL) != (ls->fcol[i] >= 0))
			elog(ERROR, "capture projection of rollup %s does not match its definition",
				 r->relname);
	}

	/* the hash table over (bucket, keys), with GROUP BY's equality */
	keydesc = CreateTemplateTupleDesc(ls->nkeycols);
	keyidx = palloc(sizeof(AttrNumber) * ls->nkeycols);
	eqops = palloc(sizeof(Oid) * ls->nkeycols);
	collations = palloc(sizeof(Oid) * ls->nkeycols);
	for (int k = 0; k < ls->nkeycols; k++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, k);
		TypeCacheEntry *tce = lookup_type_cache(att->atttypid, TYPECACHE_EQ_OPR);

		TupleDescCopyEntry(keydesc, k + 1, desc, k + 1);
		keyidx[k] = k + 1;
		eqops[k] = tce->eq_opr;
		collations[k] = att->attcollation;
	}
	execTuplesHashPrepare(ls->nkeycols, eqops, &eqfuncs, &hashfns);
	ls->keyslot = MakeSingleTupleTableSlot(keydesc, &TTSOpsVirtual);
	ls->outslot = MakeSingleTupleTableSlot(keydesc, &TTSOpsMinimalTuple);
	ls->lastslot = MakeSingleTupleTableSlot(keydesc, &TTSOpsMinimalTuple);
	ls->keylen = palloc(sizeof(int16) * ls->nkeycols);
	ls->keybyval = palloc(sizeof(bool) * ls->nkeycols);
	for (int k = 0; k < ls->nkeycols; k++)
	{
		ls->keylen[k] = TupleDescAttr(keydesc, k)->attlen;
		ls->keybyval[k] = TupleDescAttr(keydesc, k)->attbyval;
	}
	ls->hash = BuildTupleHashTableExt(NULL, keydesc, ls->nkeycols, keyidx,
									  eqfuncs, hashfns, collations, 64, 0,
									  ls->cxt, ls->tablecxt, ls->rowcxt,
									  false);
	lift_map_delta(ls);
	ls->ready = true;
	MemoryContextSwitchTo(old);
}

/*
 * lift_map_delta
 *		Where each lifted column goes in the changelog: bucket, keys,
 *		_fg_count, then every aggregate's delta columns, by name.
 */
static void
lift_map_delta(LiftState *ls)
{
	const FgRollup *r = ls->r;
	TupleDesc	desc = RelationGetDescr(ls->delta);
	List	   *names = NIL;
	ListCell   *lc;
	int			j = 0;
	bool	   *seen;

	names = lappend(names, "bucket");
	for (int k = 0; k < r->nkeys; k++)
		names = lappend(names, r->keys[k]);
	names = lappend(names, "_fg_count");
	for (int i = 1; i <= r->naggs; i++)
		FgAggDeltaColumnNames(&names, r, i);

	ls->nout = list_length(names);
	ls->map = palloc(sizeof(int) * ls->nout);
	ls->out = palloc0(sizeof(Datum) * ls->nout);
	ls->outnull = palloc0(sizeof(bool) * ls->nout);
	ls->values = palloc0(sizeof(Datum) * desc->natts);
	ls->isnull = palloc0(sizeof(bool) * desc->natts);
	seen = palloc0(sizeof(bool) * desc->natts);
	foreach(lc, names)
	{
		int			a = column_of(desc, lfirst(lc));

		if (a < 0)
			elog(ERROR, "changelog of rollup %s has no column \"%s\"",
				 r->relname, (char *) lfirst(lc));
		ls->map[j++] = a;
		seen[a] = true;
	}
	ls->reset_att = column_of(desc, "_fg_reset");
	ls->at_att = column_of(desc, "_fg_at");
	if (ls->reset_att < 0 || ls->at_att < 0)
		elog(ERROR, "changelog of rollup %s lacks its marker columns", r->relname);
	seen[ls->reset_att] = seen[ls->at_att] = true;
	for (int a = 0; a < desc->natts; a++)
		if (!seen[a] && !TupleDescAttr(desc, a)->attisdropped)
			elog(ERROR, "changelog of rollup %s has an unexpected column \"%s\"",
				 r->relname, NameStr(TupleDescAttr(desc, a)->attname));
}

/*
 * lift_same_group
 *		Whether the row's key is the previous row's, byte for byte (equal
 *		bytes are equal for every equality operator; anything else, a
 *		compressed or out-of-line value included, takes the hash lookup).
 */
static bool
lift_same_group(LiftState *ls, TupleTableSlot *slot)
{
	if (ls->last_group == NULL)
		return false;
	for (int k = 0; k < ls->nkeycols; k++)
	{
		Datum		a = slot->tts_values[k];
		Datum		b = ls->lastslot->tts_values[k];

		if (slot->tts_isnull[k] != ls->lastslot->tts_isnull[k])
			return false;
		if (slot->tts_isnull[k])
			continue;
		if (ls->keylen[k] == -1)
		{
			if (VARATT_IS_EXTENDED(DatumGetPointer(a)) && !VARATT_IS_SHORT(DatumGetPointer(a)))
				return false;
			if (VARATT_IS_EXTENDED(DatumGetPointer(b)) && !VARATT_IS_SHORT(DatumGetPointer(b)))
				return false;
			if (VARSIZE_ANY_EXHDR(DatumGetPointer(a)) != VARSIZE_ANY_EXHDR(DatumGetPointer(b)) ||
				memcmp(VARDATA_ANY(DatumGetPointer(a)), VARDATA_ANY(DatumGetPointer(b)),
					   VARSIZE_ANY_EXHDR(DatumGetPointer(a))) != 0)
				return false;
		}
		else if (!datumIsEqual(a, b, ls->keybyval[k], ls->keylen[k]))
			return false;
	}
	return true;
}

static bool
lift_receive(TupleTableSlot *slot, DestReceiver *self)
{
	LiftState  *ls = (LiftState *) self;
	const FgRollup *r = ls->r;
	MemoryContext old;
	TupleHashEntry entry;
	LiftGroup  *g;
	int64	   *rows;
	FgLiftAcc  *acc;
	bool		isnew;
	Timestamp	t = 0;

	slot_getallattrs(slot);
	MemoryContextReset(ls->rowcxt);
	old = MemoryContextSwitchTo(ls->rowcxt);

	if (lift_same_group(ls, slot))
		g = ls->last_group;
	else
	{
		ExecClearTuple(ls->keyslot);
		for (int k = 0; k < ls->nkeycols; k++)
		{
			ls->keyslot->tts_values[k] = slot->tts_values[k];
			ls->keyslot->tts_isnull[k] = slot->tts_isnull[k];
		}
		ExecStoreVirtualTuple(ls->keyslot);
		entry = LookupTupleHashEntry(ls->hash, ls->keyslot, &isnew, NULL);
		if (isnew)
			entry->additional = MemoryContextAllocZero(ls->tablecxt,
													   offsetof(LiftGroup, acc) +
													   sizeof(FgLiftAcc) * ls->nacc *
													   (ls->paired ? 2 : 1));
		g = (LiftGroup *) entry->additional;
		ls->last_group = g;
		ExecStoreMinimalTuple(entry->firstTuple, ls->lastslot, false);
		slot_getallattrs(ls->lastslot);
	}
	rows = ls->old_row ? &g->rows_old : &g->rows;
	acc = ls->old_row ? g->acc + ls->nacc : g->acc;

	if (ls->ccol >= 0)
	{
		/* a rollup source: merge its row's states */
		if (!slot->tts_isnull[ls->ccol])
			*rows += DatumGetInt64(slot->tts_values[ls->ccol]);
		for (int i = 0; i < r->naggs; i++)
		{
			for (int j = 0; j < ls->pwidth[i]; j++)
			{
				ls->pvals[j] = slot->tts_values[ls->pcol[i][j]];
				ls->pnulls[j] = slot->tts_isnull[ls->pcol[i][j]];
			}
			FgAggLiftMerge(&r->aggs[i], &ls->args[i], &acc[ls->accoff[i]],
						   ls->pvals, ls->pnulls, ls->tablecxt);
		}
		MemoryContextSwitchTo(old);
		if (MemoryContextMemAllocated(ls->tablecxt, true) > ls->limit)
			lift_flush(ls);
		return true;
	}

	(*rows)++;
	if (ls->tcol >= 0)
		t = DatumGetTimestamp(slot->tts_values[ls->tcol]);
	for (int i = 0; i < r->naggs; i++)
	{
		Datum		x = (Datum) 0;
		bool		xnull = true;
		int			fc = ls->fcol[i];

		if (fc >= 0 && (slot->tts_isnull[fc] || !DatumGetBool(slot->tts_values[fc])))
			continue;
		if (ls->xcol[i] >= 0)
		{
			x = slot->tts_values[ls->xcol[i]];
			xnull = slot->tts_isnull[ls->xcol[i]];
			if (!xnull && ls->args[i].type == NUMERICOID)
				x = PointerGetDatum(PG_DETOAST_DATUM(x));
		}
		FgAggLiftAccum(&r->aggs[i], &ls->args[i], &acc[ls->accoff[i]],
					   x, xnull, t, ls->tablecxt);
	}
	MemoryContextSwitchTo(old);

	if (MemoryContextMemAllocated(ls->tablecxt, true) > ls->limit)
		lift_flush(ls);
	return true;
}

/*
 * lift_direct_column
 *		Set col up to compute expr, an output column of the projection,
 *		over the scan (scanrelid) of a transition table of descriptor
 *		rowdesc.  Returns the column of the row it reads directly
 *		(0-based), or -1 when it runs an expression state.
 */
static int
lift_direct_column(LiftCol *col, Expr *expr, Index scanrelid, TupleDesc rowdesc,
				   MemoryContext cxt)
{
	if (IsA(expr, Var))
	{
		Var		   *v = (Var *) expr;

		if (v->varno == scanrelid && v->varlevelsup == 0 && v->varattno > 0 &&
			v->varattno <= rowdesc->natts &&
			TupleDescAttr(rowdesc, v->varattno - 1)->atttypid == v->vartype)
		{
			col->kind = LIFT_COL_COPY;
			col->att = v->varattno - 1;
			return col->att;
		}
	}
	else if (IsA(expr, FuncExpr) && list_length(((FuncExpr *) expr)->args) == 3)
	{
		FuncExpr   *f = (FuncExpr *) expr;
		Const	   *width = linitial(f->args);
		Var		   *ts = lsecond(f->args);
		Const	   *zone = lthird(f->args);
		FmgrInfo	finfo;

		fmgr_info(f->funcid, &finfo);
		if (finfo.fn_addr == fluss_grid_time_bucket &&
			IsA(width, Const) && !width->constisnull &&
			IsA(zone, Const) && !zone->constisnull &&
			IsA(ts, Var) && ts->varno == scanrelid && ts->varlevelsup == 0 &&
			ts->varattno > 0 && ts->varattno <= rowdesc->natts &&
			TupleDescAttr(rowdesc, ts->varattno - 1)->atttypid == TIMESTAMPTZOID)
		{
			col->kind = LIFT_COL_BUCKET;
			col->att = ts->varattno - 1;
			FgBucketCacheInit(&col->bucket, DatumGetIntervalP(width->constvalue),
							  DatumGetTextPP(zone->constvalue), cxt);
			return col->att;
		}
	}
	col->kind = LIFT_COL_EXPR;
	col->expr = ExecInitExpr(expr, NULL);
	return -1;
}

/*
 * lift_direct_prepare
 *		Set up the evaluation of the projection from the saved plan cplan,
 *		when it is a lone scan of the transition table (as it is for every
 *		statement capture); else remember that it is not.
 */
static void
lift_direct_prepare(LiftState *ls, CachedPlan *cplan, TupleDesc rowdesc)
{
	PlannedStmt *ps;
	Plan	   *top;
	MemoryContext old;
	List	   *tlist;
	List	   *qual;
	Index		scanrelid;
	ListCell   *lc;
	int			i = 0;

	if (ls->direct_cxt)
		MemoryContextDelete(ls->direct_cxt);
	ls->direct_cxt = NULL;
	ls->direct_plan = cplan;
	ls->direct_generation = cplan->generation;
	ls->direct_ok = false;

	if (list_length(cplan->stmt_list) != 1)
		return;
	ps = linitial_node(PlannedStmt, cplan->stmt_list);
	top = ps->planTree;
	if (ps->commandType != CMD_SELECT || ps->subplans != NIL ||
		!IsA(top, NamedTuplestoreScan) || top->initPlan != NIL ||
		top->lefttree != NULL || top->righttree != NULL)
		return;
	scanrelid = ((Scan *) top)->scanrelid;

	ls->direct_cxt = AllocSetContextCreate(ls->cxt, "fluss_grid lift projection",
										   ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(ls->direct_cxt);
	tlist = copyObject(top->targetlist);
	qual = copyObject(top->qual);
	ls->direct_econtext = CreateStandaloneExprContext();
	ls->direct_scanslot = MakeSingleTupleTableSlot(CreateTupleDescCopy(rowdesc),
												   &TTSOpsMinimalTuple);
	ls->direct_oldslot = MakeSingleTupleTableSlot(ls->direct_scanslot->tts_tupleDescriptor,
												  &TTSOpsMinimalTuple);
	ls->direct_desc = ExecTypeFromTL(tlist);
	ls->direct_out = MakeSingleTupleTableSlot(ls->direct_desc, &TTSOpsVirtual);
	ls->direct_oldout = MakeSingleTupleTableSlot(ls->direct_desc, &TTSOpsVirtual);
	ls->direct_ncols = list_length(tlist);
	ls->direct_cols = palloc0(sizeof(LiftCol) * ls->direct_ncols);
	ls->direct_natts = 0;
	ls->direct_any_size = true;
	foreach(lc, tlist)
	{
		TargetEntry *tle = lfirst_node(TargetEntry, lc);
		int			att = lift_direct_column(&ls->direct_cols[i], tle->expr, scanrelid,
											 rowdesc, ls->direct_cxt);

		if (att < 0)
			ls->direct_any_size = false;
		ls->direct_natts = Max(ls->direct_natts, att + 1);
		i++;
	}

	/* the projection's filter: the time column IS NOT NULL */
	ls->direct_notnull = -1;
	ls->direct_qual = NULL;
	if (list_length(qual) == 1 && IsA(linitial(qual), NullTest) &&
		((NullTest *) linitial(qual))->nulltesttype == IS_NOT_NULL &&
		!((NullTest *) linitial(qual))->argisrow &&
		IsA(((NullTest *) linitial(qual))->arg, Var))
	{
		Var		   *v = (Var *) ((NullTest *) linitial(qual))->arg;

		if (v->varno == scanrelid && v->varlevelsup == 0 && v->varattno > 0 &&
			v->varattno <= rowdesc->natts)
		{
			ls->direct_notnull = v->varattno - 1;
			ls->direct_natts = Max(ls->direct_natts, (int) v->varattno);
		}
	}
	if (ls->direct_notnull < 0 && qual != NIL)
	{
		ls->direct_qual = ExecInitQual(qual, NULL);
		ls->direct_any_size = false;
	}
	MemoryContextSwitchTo(old);
	ls->direct_ok = true;
}

/*
 * lift_project
 *		The projection of row into out, or NULL when the row does not pass
 *		the projection's filter.  Values of the row's columns point into
 *		the row; computed ones live in the expression context's memory.
 */
static TupleTableSlot *
lift_project(LiftState *ls, TupleTableSlot *row, TupleTableSlot *out)
{
	ExprContext *econtext = ls->direct_econtext;

	slot_getsomeattrs(row, ls->direct_natts);
	if (ls->direct_notnull >= 0 && row->tts_isnull[ls->direct_notnull])
		return NULL;
	econtext->ecxt_scantuple = row;
	if (ls->direct_qual != NULL && !ExecQual(ls->direct_qual, econtext))
		return NULL;
	ExecClearTuple(out);
	for (int i = 0; i < ls->direct_ncols; i++)
	{
		LiftCol    *col = &ls->direct_cols[i];

		switch (col->kind)
		{
			case LIFT_COL_COPY:
				out->tts_values[i] = row->tts_values[col->att];
				out->tts_isnull[i] = row->tts_isnull[col->att];
				break;
			case LIFT_COL_BUCKET:
				/* time_bucket() is strict */
				out->tts_isnull[i] = row->tts_isnull[col->att];
				out->tts_values[i] = out->tts_isnull[i] ? (Datum) 0 :
					TimestampTzGetDatum(FgBucketOf(&col->bucket,
												   DatumGetTimestampTz(row->tts_values[col->att])));
				break;
			case LIFT_COL_EXPR:
				out->tts_values[i] = ExecEvalExprSwitchContext(col->expr, econtext,
															   &out->tts_isnull[i]);
				break;
		}
	}
	return ExecStoreVirtualTuple(out);
}

/*
 * lift_direct
 *		Feed the receiver the projection of every row of the transition
 *		table (rows, of descriptor rowdesc) without starting an executor
 *		for it: for a one-row statement
 *		the executor's start-up and shutdown cost more than the row.  The
 *		saved plan still decides (it is revalidated, and replanned after
 *		DDL); returns false when its shape is not a lone scan, and the
 *		caller runs it through SPI.
 */
static bool
lift_direct_usable(LiftState *ls, SPIPlanPtr plan, TupleDesc rowdesc)
{
	CachedPlan *cplan = SPI_plan_get_cached_plan(plan);
	ResourceOwner owner = plan->saved ? CurrentResourceOwner : NULL;

	if (cplan == NULL)
		return false;
	if (ls->direct_plan != cplan || ls->direct_generation != cplan->generation)
		lift_direct_prepare(ls, cplan, rowdesc);
	ReleaseCachedPlan(cplan, owner);
	return ls->direct_ok;
}

static bool
lift_direct(LiftState *ls, SPIPlanPtr plan, Tuplestorestate *rows,
			TupleDesc rowdesc)
{
	int			ptr;

	if (!lift_direct_usable(ls, plan, rowdesc))
		return false;

	/*
	 * A large statement whose projection runs expressions goes through the
	 * executor, which may compile them (JIT); one that only copies columns
	 * and computes buckets is cheapest here whatever its size.
	 */
	if (!ls->direct_any_size &&
		tuplestore_tuple_count(rows) > FG_LIFT_DIRECT_MAX_ROWS)
		return false;

	lift_startup(&ls->pub, CMD_SELECT, ls->direct_desc);
	ptr = tuplestore_alloc_read_pointer(rows, EXEC_FLAG_REWIND);
	tuplestore_select_read_pointer(rows, ptr);
	tuplestore_rescan(rows);
	while (tuplestore_gettupleslot(rows, true, false, ls->direct_scanslot))
	{
		TupleTableSlot *out = lift_project(ls, ls->direct_scanslot, ls->direct_out);

		if (out != NULL)
			lift_receive(out, &ls->pub);
		ResetExprContext(ls->direct_econtext);
	}
	return true;
}

/* do two projected rows hold the same values, bit for bit? */
static bool
projections_equal(TupleTableSlot *a, TupleTableSlot *b)
{
	TupleDesc	desc = a->tts_tupleDescriptor;

	for (int k = 0; k < desc->natts; k++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, k);

		if (a->tts_isnull[k] != b->tts_isnull[k])
			return false;
		if (!a->tts_isnull[k] &&
			!datumIsEqual(a->tts_values[k], b->tts_values[k],
						  att->attbyval, att->attlen))
			return false;
	}
	return true;
}

/*
 * lift_update_pairs
 *		Project an UPDATE's old and new rows side by side (the transition
 *		tables hold them in the same order) and lift what changed into the
 *		paired state ls: old rows on the retracting side, new rows on the
 *		adding side.  A pair with equal projections
 *		changes no group: dropping it keeps an UPDATE of columns the rollup
 *		does not use from writing anything or retracting an extreme.
 */
static void
lift_update_pairs(LiftState *ls, Tuplestorestate *oldrows,
				  Tuplestorestate *newrows)
{
	int			pold = tuplestore_alloc_read_pointer(oldrows, EXEC_FLAG_REWIND);
	int			pnew = tuplestore_alloc_read_pointer(newrows, EXEC_FLAG_REWIND);

	tuplestore_select_read_pointer(oldrows, pold);
	tuplestore_rescan(oldrows);
	tuplestore_select_read_pointer(newrows, pnew);
	tuplestore_rescan(newrows);
	for (;;)
	{
		bool		has_old = tuplestore_gettupleslot(oldrows, true, false,
													  ls->direct_oldslot);
		bool		has_new = tuplestore_gettupleslot(newrows, true, false,
													  ls->direct_scanslot);
		TupleTableSlot *po = NULL;
		TupleTableSlot *pn = NULL;

		if (!has_old && !has_new)
			break;
		if (has_old)
			po = lift_project(ls, ls->direct_oldslot, ls->direct_oldout);
		if (has_new)
			pn = lift_project(ls, ls->direct_scanslot, ls->direct_out);
		if (po == NULL || pn == NULL || !projections_equal(po, pn))
		{
			if (po)
			{
				ls->old_row = true;
				lift_receive(po, &ls->pub);
				ls->old_row = false;
			}
			if (pn)
				lift_receive(pn, &ls->pub);
		}
		ResetExprContext(ls->direct_econtext);
	}
}

/*
 * FgLiftCaptureUpdate
 *		The C lift of an UPDATE statement of e's source: oldrows and newrows
 *		(its transition tables, of descriptor rowdesc) projected by plan,
 *		the INSERT capture's projection, evaluated directly over each, and
 *		lifted into one changelog row per group holding both sides (as the
 *		SQL lift's row: its counters and sums the difference, its
 *		inserted and deleted parts the new and the old rows').  Returns the number
 *		of delta rows written, or -1 when the plan is not a lone scan that
 *		can be evaluated so (the caller then runs the SQL form).
 *
 * Directly whatever the number of rows: pairing old and new rows needs
 * both at hand, which an executor run per side would not give.
 */
int64
FgLiftCaptureUpdate(FgCacheEntry *e, SPIPlanPtr plan,
					Tuplestorestate *oldrows, Tuplestorestate *newrows,
					TupleDesc rowdesc)
{
	LiftJob		job = {plan, NULL, NULL, oldrows, newrows, rowdesc};
	bool		own;
	LiftState  *ls = lift_acquire(e, &e->lift_update, &own);

	if (!lift_direct_usable(ls, plan, rowdesc))
	{
		if (own)
			MemoryContextDelete(ls->cxt);
		return -1;
	}
	lift_begin(ls, 1);
	ls->paired = true;
	return lift_run(ls, own, &job);
}

/*
 * lift_check_indexes
 *		simple_heap_insert maintains no index.  The changelog's one index is
 *		partial on _fg_reset (TRUNCATE markers, inserted by SQL), which rows
 *		of the lift never satisfy; any other index would be left incomplete,
 *		so refuse to write past it.  Checked again only when the list of
 *		indexes changes.
 */
static void
lift_check_indexes(LiftState *ls)
{
	List	   *idx = RelationGetIndexList(ls->delta);
	ListCell   *lc;
	MemoryContext old;

	if (equal(idx, ls->indexes_ok))
	{
		list_free(idx);
		return;
	}
	foreach(lc, idx)
	{
		Relation	irel = index_open(lfirst_oid(lc), RowExclusiveLock);
		List	   *pred = RelationGetIndexPredicate(irel);
		bool		ok;

		ok = (list_length(pred) == 1 && IsA(linitial(pred), Var) &&
			  ((Var *) linitial(pred))->varattno == ls->reset_att + 1);
		if (!ok)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("changelog \"%s\" has an index fluss_grid does not maintain",
							RelationGetRelationName(ls->delta)),
					 errdetail("Index \"%s\" is not partial on _fg_reset.",
							   RelationGetRelationName(irel)),
					 errhint("Drop the index: changelogs are internal to fluss_grid.")));
		index_close(irel, NoLock);
	}
	old = MemoryContextSwitchTo(ls->cxt);
	list_free(ls->indexes_ok);
	ls->indexes_ok = list_copy(idx);
	MemoryContextSwitchTo(old);
	list_free(idx);
}

/*
 * lift_flush
 *		Write every group as a delta row into the changelog and empty the
 *		table.
 */
static void
lift_flush(LiftState *ls)
{
	const FgRollup *r = ls->r;
	TupleDesc	desc = RelationGetDescr(ls->delta);
	TupleHashIterator iter;
	TupleHashEntry entry;
	TimestampTz now = GetCurrentTransactionStartTimestamp();
	MemoryContext old;

	lift_check_indexes(ls);
	old = MemoryContextSwitchTo(ls->rowcxt);
	InitTupleHashIterator(ls->hash, &iter);
	while ((entry = ScanTupleHashTable(ls->hash, &iter)) != NULL)
	{
		LiftGroup  *g = (LiftGroup *) entry->additional;
		HeapTuple	tup;
		int			j;

		MemoryContextReset(ls->rowcxt);
		ExecStoreMinimalTuple(entry->firstTuple, ls->outslot, false);
		slot_getallattrs(ls->outslot);
		for (j = 0; j < ls->nkeycols; j++)
		{
			ls->out[j] = ls->outslot->tts_values[j];
			ls->outnull[j] = ls->outslot->tts_isnull[j];
		}
		ls->out[j] = Int64GetDatum(ls->paired ? g->rows - g->rows_old
								   : ls->sign * g->rows);
		ls->outnull[j++] = false;
		for (int i = 0; i < r->naggs; i++)
		{
			if (ls->paired)
				j += FgAggLiftEmitPair(&r->aggs[i], &ls->args[i],
									   &g->acc[ls->accoff[i]],
									   &g->acc[ls->nacc + ls->accoff[i]],
									   ls->out + j, ls->outnull + j);
			else
				j += FgAggLiftEmit(&r->aggs[i], &ls->args[i], &g->acc[ls->accoff[i]],
								   ls->sign, ls->out + j, ls->outnull + j);
		}
		Assert(j == ls->nout);

		for (int a = 0; a < desc->natts; a++)
			ls->isnull[a] = true;
		for (j = 0; j < ls->nout; j++)
		{
			ls->values[ls->map[j]] = ls->out[j];
			ls->isnull[ls->map[j]] = ls->outnull[j];
		}
		ls->values[ls->reset_att] = BoolGetDatum(false);
		ls->isnull[ls->reset_att] = false;
		ls->values[ls->at_att] = TimestampTzGetDatum(now);
		ls->isnull[ls->at_att] = false;

		tup = heap_form_tuple(desc, ls->values, ls->isnull);
		simple_heap_insert(ls->delta, tup);
		ExecClearTuple(ls->outslot);
		ls->written++;
	}
	TermTupleHashIterator(&iter);
	MemoryContextSwitchTo(old);
	MemoryContextReset(ls->rowcxt);
	ls->last_group = NULL;
	ResetTupleHashTable(ls->hash);
	MemoryContextReset(ls->tablecxt);
}

static void
lift_shutdown(DestReceiver *self)
{
}

static void
lift_destroy(DestReceiver *self)
{
}
