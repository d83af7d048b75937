/*-------------------------------------------------------------------------
 *
 * catalog.c
 *	  Reading rollup definitions from fluss_grid.rollup, and the
 *	  backend-local cache of definitions and their saved plans.
 *
 * Cache entries are invalidated by relcache invalidations of any relation
 * they name (source, rollup, changelog, or a relation a capture plan was
 * built for).  An invalidated entry is not freed at once, since a caller up
 * the stack may still be executing one of its plans (a fold firing the
 * capture trigger of the next level, say); it is retired and freed at the
 * end of the transaction.
 *
 * IDENTIFICATION
 *	  src/catalog.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

#include "fluss_grid.h"

static HTAB *rollup_cache = NULL;
static List *retired = NIL;
static bool callbacks_registered = false;

/*
 * Bumped by every relcache invalidation: the worker's answers to catalog
 * queries (FgIntListQuery, FgExtensionExists) are good while it holds.
 */
static uint64 catalog_generation = 1;

static void
catalog_generation_callback(Datum arg, Oid relid)
{
	catalog_generation++;
}

static void
fg_watch_catalog(void)
{
	static bool watching = false;

	if (!watching)
	{
		CacheRegisterRelcacheCallback(catalog_generation_callback, (Datum) 0);
		watching = true;
	}
}

static void cache_relcache_callback(Datum arg, Oid relid);
static void cache_xact_callback(XactEvent event, void *arg);
static void free_entry(FgCacheEntry *e);
static char **text_array_elems(Datum d, int *n, bool **nulls);

/*
 * FgQualifiedName
 *		"schema"."name" of a relation, quoted as needed.
 */
char *
FgQualifiedName(Oid relid)
{
	char	   *rel = get_rel_name(relid);
	char	   *nsp;

	if (rel == NULL)
		elog(ERROR, "cache lookup failed for relation %u", relid);
	nsp = get_namespace_name(get_rel_namespace(relid));
	return quote_qualified_identifier(nsp, rel);
}

/*
 * FgExtensionOwner
 *		The role that owns the extension (a superuser), used for the
 *		engine's own objects in schema fluss_grid.
 */
Oid
FgExtensionOwner(void)
{
	Oid			owner = InvalidOid;
	bool		isnull;
	int			ret;

	SPI_connect();
	ret = SPI_execute("SELECT extowner FROM pg_catalog.pg_extension WHERE extname = 'fluss_grid'",
					  true, 1);
	if (ret == SPI_OK_SELECT && SPI_processed == 1)
		owner = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0],
											   SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	if (!OidIsValid(owner))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("extension \"fluss_grid\" is not installed in this database")));
	return owner;
}

static char **
text_array_elems(Datum d, int *n, bool **nulls)
{
	ArrayType  *arr = DatumGetArrayTypeP(d);
	Datum	   *elems;
	char	  **out;
	int16		typlen;
	bool		typbyval;
	char		typalign;
	Oid			elemtype = ARR_ELEMTYPE(arr);

	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	deconstruct_array(arr, elemtype, typlen, typbyval, typalign,
					  &elems, nulls, n);
	out = palloc0(sizeof(char *) * (*n + 1));
	for (int i = 0; i < *n; i++)
	{
		if ((*nulls)[i])
			continue;
		if (elemtype == NAMEOID)
			out[i] = pstrdup(NameStr(*DatumGetName(elems[i])));
		else if (elemtype == TEXTOID)
			out[i] = TextDatumGetCString(elems[i]);
		else if (elemtype == INT4OID)
			out[i] = psprintf("%d", DatumGetInt32(elems[i]));
		else					/* regtype */
			out[i] = psprintf("%u", DatumGetObjectId(elems[i]));
	}
	return out;
}

/*
 * FgRollupLoad
 *		Read one rollup's definition from the catalog, in the caller's
 *		memory context.
 */
FgRollup *
FgRollupLoad(int32 id, bool missing_ok)
{
	MemoryContext callercxt = CurrentMemoryContext;
	FgRollup   *r = NULL;
	Oid			argtypes[1] = {INT4OID};
	Datum		args[1];
	int			ret;

	args[0] = Int32GetDatum(id);
	SPI_connect();
	ret = SPI_execute_with_args(
								"SELECT id, rollup_rel, source_rel, coalesce(parent_id, 0), time_column,"
								" bucket, time_zone, group_by, agg_kind, agg_alias, agg_arg, agg_filter,"
								" agg_argtype, agg_srcindex, source_columns FROM fluss_grid.rollup WHERE id = $1",
								1, argtypes, args, NULL, false, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not read fluss_grid.rollup: %s", SPI_result_code_string(ret));

	if (SPI_processed == 1)
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		int			n;
		bool	   *nulls;
		char	  **kinds,
				  **aliases,
				  **argsv,
				  **filters,
				  **argtypes_s,
				  **srcidx;
		char	  **keys;
		bool	   *knulls;
		Datum		d;

		MemoryContextSwitchTo(callercxt);
		r = palloc0(sizeof(FgRollup));
		r->id = DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull));
		r->relid = DatumGetObjectId(SPI_getbinval(tup, desc, 2, &isnull));
		r->sourceid = DatumGetObjectId(SPI_getbinval(tup, desc, 3, &isnull));
		r->parent_id = DatumGetInt32(SPI_getbinval(tup, desc, 4, &isnull));
		r->time_column = pstrdup(NameStr(*DatumGetName(SPI_getbinval(tup, desc, 5, &isnull))));
		r->bucket = (Interval *) palloc(sizeof(Interval));
		memcpy(r->bucket, DatumGetIntervalP(SPI_getbinval(tup, desc, 6, &isnull)),
			   sizeof(Interval));
		r->time_zone = TextDatumGetCString(SPI_getbinval(tup, desc, 7, &isnull));

		d = SPI_getbinval(tup, desc, 8, &isnull);
		keys = text_array_elems(d, &r->nkeys, &knulls);
		r->keys = keys;

		kinds = text_array_elems(SPI_getbinval(tup, desc, 9, &isnull), &n, &nulls);
		r->naggs = n;
		aliases = text_array_elems(SPI_getbinval(tup, desc, 10, &isnull), &n, &nulls);
		argsv = text_array_elems(SPI_getbinval(tup, desc, 11, &isnull), &n, &nulls);
		filters = text_array_elems(SPI_getbinval(tup, desc, 12, &isnull), &n, &nulls);
		argtypes_s = text_array_elems(SPI_getbinval(tup, desc, 13, &isnull), &n, &nulls);
		srcidx = text_array_elems(SPI_getbinval(tup, desc, 14, &isnull), &n, &nulls);
		r->srccols = text_array_elems(SPI_getbinval(tup, desc, 15, &isnull), &r->nsrccols, &nulls);

		r->aggs = palloc0(sizeof(FgAgg) * Max(r->naggs, 1));
		for (int i = 0; i < r->naggs; i++)
		{
			FgAgg	   *a = &r->aggs[i];
			bool		ok;
			bool		star = strcmp(kinds[i], "count(*)") == 0;

			a->kind = FgAggKindFromName(star ? "count" : kinds[i], star, &ok);
			a->alias = aliases[i];
			a->arg = argsv[i];
			a->filter = filters[i];
			a->argtype = argtypes_s[i] ? (Oid) strtoul(argtypes_s[i], NULL, 10) : InvalidOid;
			a->srcindex = srcidx[i] ? atoi(srcidx[i]) : 0;
		}
	}
	SPI_finish();
	MemoryContextSwitchTo(callercxt);

	if (r == NULL)
	{
		if (missing_ok)
			return NULL;
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("rollup %d does not exist", id)));
	}

	/* derived facts */
	r->ownerid = InvalidOid;
	{
		HeapTuple	ct = SearchSysCache1(RELOID, ObjectIdGetDatum(r->relid));

		if (HeapTupleIsValid(ct))
		{
			r->ownerid = ((Form_pg_class) GETSTRUCT(ct))->relowner;
			ReleaseSysCache(ct);
		}
	}
	if (!OidIsValid(r->ownerid) || get_rel_name(r->sourceid) == NULL)
	{
		if (missing_ok)
			return NULL;
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("rollup %d has lost its table or its source", id)));
	}
	r->relname = FgQualifiedName(r->relid);
	r->sourcename = FgQualifiedName(r->sourceid);
	r->deltaname = psprintf("fluss_grid.changelog_%d", r->id);
	r->rtname = psprintf("fluss_grid.rt_%d", r->id);

	if (r->parent_id)
	{
		r->parent = FgRollupLoad(r->parent_id, missing_ok);
		if (r->parent == NULL)
			return NULL;
		r->timetype = r->parent->timetype;
		r->level = r->parent->level + 1;
	}
	else
	{
		AttrNumber	att = get_attnum(r->sourceid, r->time_column);

		if (att == InvalidAttrNumber)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("rollup %s buckets by column \"%s\" of %s, which no longer exists",
							r->relname, r->time_column, r->sourcename),
					 errdetail("Renaming a column that a rollup uses is not supported."),
					 errhint("Rename the column back, or drop the rollup first.")));
		r->timetype = get_atttype(r->sourceid, att);
		r->level = 1;
	}

	r->keytypes = palloc0(sizeof(Oid) * Max(r->nkeys, 1));
	r->keynotnull = palloc0(sizeof(bool) * Max(r->nkeys, 1));
	for (int k = 0; k < r->nkeys; k++)
	{
		AttrNumber	att = get_attnum(r->sourceid, r->keys[k]);
		HeapTuple	at;

		if (att == InvalidAttrNumber)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("rollup %s groups by column \"%s\" of %s, which no longer exists",
							r->relname, r->keys[k], r->sourcename),
					 errdetail("Renaming a column that a rollup uses is not supported."),
					 errhint("Rename the column back, or drop the rollup first.")));
		r->keytypes[k] = get_atttype(r->sourceid, att);
		at = SearchSysCache2(ATTNUM, ObjectIdGetDatum(r->sourceid), Int16GetDatum(att));
		if (HeapTupleIsValid(at))
		{
			r->keynotnull[k] = ((Form_pg_attribute) GETSTRUCT(at))->attnotnull;
			ReleaseSysCache(at);
		}
	}
	return r;
}

/*
 * FgRollupLoadByRelid
 *		The rollup whose table is relid, or NULL (missing_ok) / error.
 */
FgRollup *
FgRollupLoadByRelid(Oid relid, bool missing_ok)
{
	Oid			argtypes[1] = {OIDOID};
	Datum		args[1];
	int32		id = 0;
	bool		isnull;

	args[0] = ObjectIdGetDatum(relid);
	SPI_connect();
	if (SPI_execute_with_args("SELECT id FROM fluss_grid.rollup WHERE rollup_rel = $1",
							  1, argtypes, args, NULL, false, 1) == SPI_OK_SELECT &&
		SPI_processed == 1)
		id = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0],
										 SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	if (id == 0)
	{
		if (missing_ok)
			return NULL;
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a rollup", get_rel_name(relid) ? get_rel_name(relid) : "?"),
				 errhint("Rollups are listed in fluss_grid.rollups.")));
	}
	return FgRollupLoad(id, missing_ok);
}

/*
 * FgIntListQuery
 *		Run one of the engine's catalog queries (a string constant, $1 an
 *		integer) and return its integers.  The worker runs them in every
 *		pass, so their plans are prepared once and kept (the plan cache
 *		replans them should the catalog change).
 */
List *
FgIntListQuery(const char *sql, int32 arg)
{
	static const char *saved_sql[8];
	static SPIPlanPtr saved_plan[8];
	static int32 saved_arg[8];
	static uint64 saved_gen[8];
	static List *saved_ids[8];
	uint64		gen = catalog_generation;
	List	   *ids = NIL;
	MemoryContext callercxt = CurrentMemoryContext;
	Oid			argtypes[1] = {INT4OID};
	Datum		args[1];
	SPIPlanPtr	plan = NULL;
	int			i;

	/*
	 * The worker asks the same questions in every pass: its answers are
	 * kept until the next relcache invalidation (creating or dropping a
	 * rollup or transform creates or drops tables and triggers).
	 */
	if (IsBackgroundWorker)
	{
		fg_watch_catalog();
		for (i = 0; i < lengthof(saved_sql) && saved_sql[i] != NULL; i++)
			if (saved_sql[i] == sql && saved_arg[i] == arg && saved_gen[i] == gen)
				return list_copy(saved_ids[i]);
	}

	args[0] = Int32GetDatum(arg);
	SPI_connect();
	for (i = 0; i < lengthof(saved_sql) && saved_sql[i] != NULL; i++)
		if (saved_sql[i] == sql)
			plan = saved_plan[i];
	if (plan == NULL)
	{
		plan = SPI_prepare(sql, 1, argtypes);
		if (plan == NULL)
			elog(ERROR, "could not prepare fluss_grid catalog query: %s",
				 SPI_result_code_string(SPI_result));
		if (i < lengthof(saved_sql))
		{
			SPI_keepplan(plan);
			saved_sql[i] = sql;
			saved_plan[i] = plan;
		}
	}
	if (SPI_execute_plan(plan, args, NULL, false, 0) == SPI_OK_SELECT)
	{
		MemoryContext spicxt = MemoryContextSwitchTo(callercxt);

		for (uint64 i = 0; i < SPI_processed; i++)
		{
			bool		isnull;

			ids = lappend_int(ids,
							  DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[i],
														  SPI_tuptable->tupdesc, 1, &isnull)));
		}
		MemoryContextSwitchTo(spicxt);
	}
	SPI_finish();
	if (IsBackgroundWorker)
	{
		for (i = 0; i < lengthof(saved_sql) && saved_sql[i] != NULL; i++)
			if (saved_sql[i] == sql)
			{
				MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

				list_free(saved_ids[i]);
				saved_ids[i] = list_copy(ids);
				MemoryContextSwitchTo(old);
				saved_arg[i] = arg;
				saved_gen[i] = gen;
			}
	}
	return ids;
}

/*
 * FgExtensionExists
 *		Whether extension fluss_grid exists in this database; the worker
 *		keeps the answer until the next relcache invalidation.
 */
bool
FgExtensionExists(void)
{
	static uint64 known_gen = 0;
	static bool known = false;
	uint64		gen = catalog_generation;

	if (IsBackgroundWorker)
	{
		fg_watch_catalog();
		if (known_gen == gen)
			return known;
	}
	known = OidIsValid(get_extension_oid("fluss_grid", true));
	known_gen = IsBackgroundWorker ? gen : 0;
	return known;
}

/*
 * FgRollupIdsInFoldOrder
 *		Every rollup of this database, parents before children, so that one
 *		pass carries a change through every level.
 */
List *
FgRollupIdsInFoldOrder(void)
{
	return FgIntListQuery("WITH RECURSIVE t AS ("
						  " SELECT id, 1 AS lvl FROM fluss_grid.rollup WHERE parent_id IS NULL"
						  " UNION ALL SELECT r.id, t.lvl + 1 FROM fluss_grid.rollup r"
						  " JOIN t ON r.parent_id = t.id WHERE $1 = $1)"
						  " SELECT id FROM t ORDER BY lvl, id", 0);
}

/*
 * FgRollupIdsOfRollups
 *		The rollups whose source is another rollup (the upper levels).
 */
List *
FgRollupIdsOfRollups(void)
{
	return FgIntListQuery("SELECT id FROM fluss_grid.rollup WHERE parent_id IS NOT NULL"
						  " AND $1 = $1", 0);
}

/*
 * FgRollupChildren
 *		Rollups whose source is rollup id.
 */
List *
FgRollupChildren(int32 id)
{
	return FgIntListQuery("SELECT id FROM fluss_grid.rollup WHERE parent_id = $1 ORDER BY id", id);
}

/* ---------------------------------------------------------------------
 * Backend-local cache
 * ---------------------------------------------------------------------
 */

/*
 * FgCacheGet
 *		The cached definition of rollup id, loading it when absent or
 *		invalidated.  Returns NULL if the rollup no longer exists.
 */
FgCacheEntry *
FgCacheGet(int32 id)
{
	FgCacheEntry *e;
	bool		found;

	if (!callbacks_registered)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(int32);
		ctl.entrysize = sizeof(FgCacheEntry);
		rollup_cache = hash_create("fluss_grid rollup cache", 32, &ctl,
								   HASH_ELEM | HASH_BLOBS);
		CacheRegisterRelcacheCallback(cache_relcache_callback, (Datum) 0);
		RegisterXactCallback(cache_xact_callback, NULL);
		callbacks_registered = true;
	}

	e = hash_search(rollup_cache, &id, HASH_ENTER, &found);
	if (found && e->valid)
		return e;
	if (found && e->cxt != NULL)
	{
		/* retire the stale copy; it may still be in use up the stack */
		FgCacheEntry *old = MemoryContextAlloc(TopMemoryContext, sizeof(FgCacheEntry));

		MemoryContext oldcxt = MemoryContextSwitchTo(TopMemoryContext);

		memcpy(old, e, sizeof(FgCacheEntry));
		retired = lappend(retired, old);
		MemoryContextSwitchTo(oldcxt);
	}
	memset(((char *) e) + sizeof(int32), 0, sizeof(FgCacheEntry) - sizeof(int32));

	e->cxt = AllocSetContextCreate(TopMemoryContext, "fluss_grid rollup cache entry",
								   ALLOCSET_SMALL_SIZES);
	PG_TRY();
	{
		MemoryContext old = MemoryContextSwitchTo(e->cxt);

		e->rollup = FgRollupLoad(id, true);
		MemoryContextSwitchTo(old);
	}
	PG_CATCH();
	{
		MemoryContextDelete(e->cxt);
		hash_search(rollup_cache, &id, HASH_REMOVE, NULL);
		PG_RE_THROW();
	}
	PG_END_TRY();

	if (e->rollup == NULL)
	{
		MemoryContextDelete(e->cxt);
		hash_search(rollup_cache, &id, HASH_REMOVE, NULL);
		return NULL;
	}
	e->valid = true;
	return e;
}

/*
 * FgCachePlan
 *		Prepare and save a plan for sql in entry e, remembering relid (if
 *		valid) as one more relation whose invalidation drops the entry.
 */
SPIPlanPtr
FgCachePlan(FgCacheEntry *e, const char *sql, int nargs, Oid *argtypes,
			Oid relid)
{
	SPIPlanPtr	plan;
	MemoryContext old;

	plan = SPI_prepare(sql, nargs, argtypes);
	if (plan == NULL)
		elog(ERROR, "could not prepare fluss_grid statement: %s\n%s",
			 SPI_result_code_string(SPI_result), sql);
	SPI_keepplan(plan);

	old = MemoryContextSwitchTo(e->cxt);
	e->plans = lappend(e->plans, plan);
	if (OidIsValid(relid))
		e->relids = lappend_oid(e->relids, relid);
	MemoryContextSwitchTo(old);
	return plan;
}

/*
 * FgCacheForgetPlan
 *		Free the saved plan *plan of entry e (if any), to be prepared anew.
 */
void
FgCacheForgetPlan(FgCacheEntry *e, SPIPlanPtr *plan)
{
	if (*plan == NULL)
		return;
	e->plans = list_delete_ptr(e->plans, *plan);
	SPI_freeplan(*plan);
	*plan = NULL;
}

static void
free_entry(FgCacheEntry *e)
{
	ListCell   *lc;

	foreach(lc, e->plans)
		SPI_freeplan((SPIPlanPtr) lfirst(lc));
	if (e->cxt)
		MemoryContextDelete(e->cxt);
}

static void
cache_relcache_callback(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS seq;
	FgCacheEntry *e;

	if (rollup_cache == NULL)
		return;
	hash_seq_init(&seq, rollup_cache);
	while ((e = hash_seq_search(&seq)) != NULL)
	{
		if (!e->valid || e->rollup == NULL)
			continue;
		if (!OidIsValid(relid) || relid == e->rollup->relid ||
			relid == e->rollup->sourceid || list_member_oid(e->relids, relid) ||
			(e->rollup->parent && relid == e->rollup->parent->relid))
			e->valid = false;
	}
}

static void
cache_xact_callback(XactEvent event, void *arg)
{
	ListCell   *lc;

	if (event != XACT_EVENT_COMMIT && event != XACT_EVENT_ABORT &&
		event != XACT_EVENT_PARALLEL_COMMIT && event != XACT_EVENT_PARALLEL_ABORT)
		return;
	foreach(lc, retired)
	{
		free_entry((FgCacheEntry *) lfirst(lc));
		pfree(lfirst(lc));
	}
	list_free(retired);
	retired = NIL;

	/*
	 * After an abort the catalog rows an entry was built from may be gone;
	 * the rollup may also have been created in the aborted transaction.
	 */
	if (event == XACT_EVENT_ABORT && rollup_cache != NULL)
	{
		HASH_SEQ_STATUS seq;
		FgCacheEntry *e;

		hash_seq_init(&seq, rollup_cache);
		while ((e = hash_seq_search(&seq)) != NULL)
			e->valid = false;
	}
}

/*
 * FgCacheInvalidateAll
 *		Drop every cached definition (after DDL of our own).
 */
void
FgCacheInvalidateAll(void)
{
	cache_relcache_callback((Datum) 0, InvalidOid);
}
