/*-------------------------------------------------------------------------
 *
 * api.c
 *	  SQL functions of the rollup engine: create_rollup, drop_rollup,
 *	  refresh_rollup, wait_for_rollups, fold_now, changelog_stats,
 *	  forget_rollup.
 *
 * create_rollup validates everything before it creates anything, and does
 * all its work in the caller's transaction, so an error leaves nothing
 * behind.  It locks the source in SHARE ROW EXCLUSIVE mode (as CREATE
 * TRIGGER would): writers wait while the rollup is created and backfilled,
 * and no change can slip between the backfill and the first captured
 * statement.
 *
 * The user's own objects (rollup table, <name>_realtime view, source
 * index) are created with the user's rights; the engine's objects in
 * schema fluss_grid (changelog, internal realtime view, catalog row) are
 * created as the extension owner and handed to the rollup owner.
 *
 * IDENTIFICATION
 *	  src/api.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/pg_am.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_class.h"
#include "catalog/pg_index.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "parser/parse_agg.h"
#include "rewrite/rewriteManip.h"
#include "utils/regproc.h"
#include "utils/wait_event.h"
#include "parser/parse_coerce.h"
#include "parser/parse_collate.h"
#include "parser/parse_expr.h"
#include "parser/parse_relation.h"
#include "parser/parser.h"
#include "pgtime.h"
#include "storage/lmgr.h"
#include "access/xlog.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/ruleutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "fluss_grid.h"

PG_FUNCTION_INFO_V1(fluss_grid_create_rollup);
PG_FUNCTION_INFO_V1(fluss_grid_drop_rollup);
PG_FUNCTION_INFO_V1(fluss_grid_refresh_rollup);
PG_FUNCTION_INFO_V1(fluss_grid_fold_now);
PG_FUNCTION_INFO_V1(fluss_grid_changelog_stats);
PG_FUNCTION_INFO_V1(fluss_grid_forget_rollup);

#if PG_VERSION_NUM >= 160000
#define fg_rel_ownercheck(relid, role) object_ownercheck(RelationRelationId, relid, role)
#else
#define fg_rel_ownercheck(relid, role) pg_class_ownercheck(relid, role)
#endif

static void check_not_null(FunctionCallInfo fcinfo, int argno, const char *name);
static void check_bucket(Interval *iv);
static int64 interval_usecs(const Interval *iv);
static void check_name(const char *name, List *used);
static void parse_table_aggregate(const char *spec, Relation rel, FgAgg *agg,
								  Bitmapset **used_cols);
static void parse_rollup_aggregate(const char *spec, const FgRollup *parent,
								   FgAgg *agg);
static char *deparse_pinned(Node *expr, Relation rel);
static void check_expr(ParseState *pstate, Node *expr, const char *spec,
					   const char *what);
static void spi_exec(const char *sql);
static void become(Oid role, Oid *save_userid, int *save_sec);
static Datum text_array(List *strings);
static char *ensure_source_index(const FgRollup *r);
static void drop_one_rollup(int32 id);
static void forget_rollup(int32 id);
static int64 refresh(const FgRollup *r, Datum lo, bool lo_null, Datum hi,
					 bool hi_null);

/* error context: which aggregate spec was being parsed */
static void
agg_spec_context(void *arg)
{
	const char *spec = (const char *) arg;
	int			pos = geterrposition();

	/* a position points into "SELECT <spec>", not into the caller's query */
	if (pos > 0)
	{
		errposition(0);
		internalerrposition(pos);
		internalerrquery(psprintf("SELECT %s", spec));
	}
	errcontext("aggregate \"%s\"", spec);
}

static void
check_not_null(FunctionCallInfo fcinfo, int argno, const char *name)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("argument \"%s\" must not be null", name)));
}

static int64
interval_usecs(const Interval *iv)
{
	return (int64) iv->day * USECS_PER_DAY + iv->time;
}

/* a bucket must be positive, and either calendar months or a fixed length */
static void
check_bucket(Interval *iv)
{
	if (iv->month < 0 || iv->day < 0 || iv->time < 0 ||
		(iv->month == 0 && interval_usecs(iv) <= 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("bucket width must be positive"),
				 errhint("Use an interval such as '1 minute', '1 hour' or '1 day'.")));
	if (iv->month != 0 && (iv->day != 0 || iv->time != 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("bucket width cannot mix months with days or time"),
				 errhint("Use either a whole number of months or a fixed length.")));
	if (iv->month != 0 && iv->month != 1 && iv->month != 3 && iv->month != 12)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("month-based buckets must be 1 month, 3 months or 1 year")));
}

/* a user column name: not reserved, not used twice */
static void
check_name(const char *name, List *used)
{
	ListCell   *lc;

	if (strcmp(name, "bucket") == 0 || strncmp(name, FG_PREFIX, strlen(FG_PREFIX)) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_RESERVED_NAME),
				 errmsg("column name \"%s\" is reserved in a rollup", name),
				 errdetail("Column \"bucket\" and names starting with \"%s\" belong to fluss_grid.",
						   FG_PREFIX),
				 errhint("Give the column another name with AS.")));
	foreach(lc, used)
		if (strcmp((char *) lfirst(lc), name) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_COLUMN),
					 errmsg("column name \"%s\" appears more than once in the rollup", name),
					 errhint("Give each aggregate its own name with AS.")));
}

/* deparse an analyzed expression with every non-catalog name qualified */
static char *
deparse_pinned(Node *expr, Relation rel)
{
	int			nest = NewGUCNestLevel();
	char	   *out;

	(void) set_config_option("search_path", "pg_catalog, pg_temp",
							 PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	/* columns qualified as s.col: see proj_sql() in rollup_sql.c */
	out = deparse_expression(expr,
							 deparse_context_for("s", RelationGetRelid(rel)),
							 true, false);
	AtEOXact_GUC(true, nest);
	return out;
}

static void
check_expr(ParseState *pstate, Node *expr, const char *spec, const char *what)
{
	if (pstate->p_hasAggs || contain_aggs_of_level(expr, 0))
		ereport(ERROR,
				(errcode(ERRCODE_GROUPING_ERROR),
				 errmsg("%s of a rollup aggregate cannot contain an aggregate", what)));
	if (pstate->p_hasWindowFuncs || contain_windowfuncs(expr))
		ereport(ERROR,
				(errcode(ERRCODE_WINDOWING_ERROR),
				 errmsg("%s of a rollup aggregate cannot contain a window function", what)));
	if (pstate->p_hasSubLinks)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s of a rollup aggregate cannot contain a subquery", what)));
	if (pstate->p_hasTargetSRFs || expression_returns_set(expr))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s of a rollup aggregate cannot return a set", what)));
	if (contain_mutable_functions(expr))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
				 errmsg("functions in the %s of a rollup aggregate must be marked IMMUTABLE", what),
				 errdetail("A rollup is maintained incrementally, so an expression must give the same result every time it is evaluated.")));
}

/*
 * parse_table_aggregate
 *		Parse "func(arg) [FILTER (WHERE cond)] [AS alias]" over the source
 *		relation, validate it, and deparse argument and filter.
 */
static void
parse_table_aggregate(const char *spec, Relation rel, FgAgg *agg,
					  Bitmapset **used_cols)
{
	char	   *sql = psprintf("SELECT %s", spec);
	List	   *raw;
	SelectStmt *sel;
	ResTarget  *rt;
	FuncCall   *fc;
	char	   *fname;
	bool		ok;
	ParseState *pstate;
	ParseNamespaceItem *nsitem;

	raw = raw_parser(sql, RAW_PARSE_DEFAULT);
	if (list_length(raw) != 1 ||
		!IsA(((RawStmt *) linitial(raw))->stmt, SelectStmt))
		goto malformed;
	sel = (SelectStmt *) ((RawStmt *) linitial(raw))->stmt;
	if (list_length(sel->targetList) != 1 || sel->fromClause || sel->whereClause ||
		sel->groupClause || sel->havingClause || sel->sortClause || sel->limitCount ||
		sel->limitOffset || sel->intoClause || sel->distinctClause ||
		sel->windowClause || sel->valuesLists || sel->withClause ||
		sel->op != SETOP_NONE || sel->lockingClause)
		goto malformed;
	rt = linitial(sel->targetList);
	if (!IsA(rt->val, FuncCall))
		goto malformed;
	fc = (FuncCall *) rt->val;

	if (list_length(fc->funcname) == 2 &&
		strcmp(strVal(linitial(fc->funcname)), "pg_catalog") == 0)
		fname = strVal(lsecond(fc->funcname));
	else if (list_length(fc->funcname) == 1)
		fname = strVal(linitial(fc->funcname));
	else
		fname = NameListToString(fc->funcname);

	agg->kind = FgAggKindFromName(fname, fc->agg_star, &ok);
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("aggregate %s%s is not supported in a rollup", fname,
						fc->agg_star ? "(*)" : ""),
				 errhint("Supported: count(*), count, sum, avg, min, max, stddev, first and last.")));
	if (fc->agg_order || fc->agg_within_group || fc->agg_distinct ||
		fc->func_variadic || fc->over)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("DISTINCT, ORDER BY, WITHIN GROUP, VARIADIC and OVER are not supported in a rollup aggregate")));
	if (!fc->agg_star && list_length(fc->args) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("aggregate %s takes exactly one argument in a rollup", fname),
				 errhint("first(x) and last(x) order by the rollup's time column.")));

	pstate = make_parsestate(NULL);
	pstate->p_sourcetext = sql;
	nsitem = addRangeTableEntryForRelation(pstate, rel, AccessShareLock,
										   NULL, false, true);
	addNSItemToQuery(pstate, nsitem, true, true, true);

	agg->arg = NULL;
	agg->argtype = InvalidOid;
	if (!fc->agg_star)
	{
		Node	   *arg = transformExpr(pstate, linitial(fc->args), EXPR_KIND_SELECT_TARGET);
		FgTypeClass tc;

		assign_expr_collations(pstate, arg);
		check_expr(pstate, arg, spec, "argument");
		agg->argtype = exprType(arg);
		tc = FgTypeClassOf(agg->argtype);
		if (agg->kind != FG_AGG_COUNT && (tc == FG_TC_OTHER || tc == FG_TC_NONE))
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("aggregate %s of a rollup does not accept type %s", fname,
							format_type_be(agg->argtype)),
					 errhint("Arguments must be smallint, integer, bigint, real, double precision or numeric; cast if needed.")));
		agg->arg = deparse_pinned(arg, rel);
		pull_varattnos(arg, 1, used_cols);
	}

	agg->filter = NULL;
	if (fc->agg_filter)
	{
		Node	   *f = transformExpr(pstate, fc->agg_filter, EXPR_KIND_FILTER);

		f = coerce_to_boolean(pstate, f, "FILTER");
		assign_expr_collations(pstate, f);
		check_expr(pstate, f, spec, "FILTER clause");
		agg->filter = deparse_pinned(f, rel);
		pull_varattnos(f, 1, used_cols);
	}

	if (rt->name)
		agg->alias = pstrdup(rt->name);
	else if (agg->kind == FG_AGG_COUNT_STAR)
		agg->alias = pstrdup("n");
	else if (IsA(linitial(fc->args), ColumnRef) &&
			 list_length(((ColumnRef *) linitial(fc->args))->fields) == 1 &&
			 IsA(linitial(((ColumnRef *) linitial(fc->args))->fields), String))
	{
		char	   *col = strVal(linitial(((ColumnRef *) linitial(fc->args))->fields));

		agg->alias = psprintf("%s_%s", fname, col);
		if (strlen(agg->alias) >= NAMEDATALEN)
			agg->alias[NAMEDATALEN - 1] = '\0';
	}
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("aggregate over an expression needs a name"),
				 errhint("Write it as \"%s AS name\".", spec)));
	free_parsestate(pstate);
	return;

malformed:
	ereport(ERROR,
			(errcode(ERRCODE_SYNTAX_ERROR),
			 errmsg("malformed rollup aggregate \"%s\"", spec),
			 errhint("Write one aggregate call, for example 'avg(load_mw) AS avg_load_mw' or 'count(*) FILTER (WHERE frequency_hz < 49.8) AS n_low'.")));
}

/*
 * parse_rollup_aggregate
 *		For a rollup of a rollup: "alias [AS new_alias]" naming one of the
 *		parent's aggregates, carried up.
 */
static void
parse_rollup_aggregate(const char *spec, const FgRollup *parent, FgAgg *agg)
{
	List	   *raw = raw_parser(psprintf("SELECT %s", spec), RAW_PARSE_DEFAULT);
	SelectStmt *sel;
	ResTarget  *rt;
	ColumnRef  *cr;
	char	   *name;

	if (list_length(raw) != 1 || !IsA(((RawStmt *) linitial(raw))->stmt, SelectStmt))
		goto malformed;
	sel = (SelectStmt *) ((RawStmt *) linitial(raw))->stmt;
	if (list_length(sel->targetList) != 1 || sel->fromClause || sel->whereClause ||
		sel->op != SETOP_NONE)
		goto malformed;
	rt = linitial(sel->targetList);
	if (!IsA(rt->val, ColumnRef))
		goto malformed;
	cr = (ColumnRef *) rt->val;
	if (list_length(cr->fields) != 1 || !IsA(linitial(cr->fields), String))
		goto malformed;
	name = strVal(linitial(cr->fields));
	for (int j = 0; j < parent->naggs; j++)
	{
		if (strcmp(parent->aggs[j].alias, name) == 0)
		{
			*agg = parent->aggs[j];
			agg->srcindex = j + 1;
			agg->alias = pstrdup(rt->name ? rt->name : name);
			agg->arg = pstrdup(name);
			agg->filter = NULL;
			return;
		}
	}
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_COLUMN),
			 errmsg("rollup %s has no aggregate \"%s\"", parent->relname, name),
			 errhint("A rollup of a rollup carries up aggregates of its source by name; see fluss_grid.rollups.")));

malformed:
	ereport(ERROR,
			(errcode(ERRCODE_SYNTAX_ERROR),
			 errmsg("malformed aggregate \"%s\" for a rollup of a rollup", spec),
			 errhint("Name one of the source rollup's aggregates, optionally with AS.")));
}

static void
spi_exec(const char *sql)
{
	int			ret = SPI_execute(sql, false, 0);

	if (ret < 0)
		elog(ERROR, "fluss_grid: statement failed (%s): %s",
			 SPI_result_code_string(ret), sql);
}

static void
become(Oid role, Oid *save_userid, int *save_sec)
{
	GetUserIdAndSecContext(save_userid, save_sec);
	SetUserIdAndSecContext(role, *save_sec | SECURITY_LOCAL_USERID_CHANGE);
}

/* a text[] datum from a list of C strings (NULL pointers become NULLs) */
static Datum
text_array(List *strings)
{
	int			n = list_length(strings);
	Datum	   *elems = palloc0(sizeof(Datum) * Max(n, 1));
	bool	   *nulls = palloc0(sizeof(bool) * Max(n, 1));
	int			dims[1] = {n};
	int			lbs[1] = {1};
	int			i = 0;
	ListCell   *lc;

	foreach(lc, strings)
	{
		char	   *s = lfirst(lc);

		nulls[i] = (s == NULL);
		if (s)
			elems[i] = CStringGetTextDatum(s);
		i++;
	}
	if (n == 0)
		return PointerGetDatum(construct_empty_array(TEXTOID));
	return PointerGetDatum(construct_md_array(elems, nulls, 1, dims, lbs,
											  TEXTOID, -1, false, TYPALIGN_INT));
}

/*
 * ensure_source_index
 *		Recomputing a group whose extreme was retracted reads one bucket of
 *		the source; make sure an index finds it: a btree or BRIN led by the
 *		time column, or a btree on (keys, time).  If none does, create a
 *		BRIN index on the time column: telemetry arrives in time order, so
 *		a block-range summary finds a bucket in a few hundred pages while
 *		costing ingest next to nothing (a btree doubled COPY time, see
 *		docs/BENCHMARKS.md).  The worker summarizes its new ranges
 *		(fold.c); autosummarize stays off: it queues a request per filled
 *		range in autovacuum's 256-slot work queue, and a bulk load or a
 *		fast stream overflows that, with a LOG line for each request
 *		dropped.  Returns the name of the index created, or
 *		NULL.  Sources stored by another table access method than heap
 *		(or with such a partition) get no index: such a method may not
 *		support BRIN, and its own scans find a bucket.
 */
static char *
ensure_source_index(const FgRollup *r)
{
	Relation	rel = table_open(r->sourceid, NoLock);
	List	   *indexes = RelationGetIndexList(rel);
	char	   *relname = pstrdup(RelationGetRelationName(rel));
	ListCell   *lc;
	AttrNumber	keys_then_time[INDEX_MAX_KEYS];
	int			nkt = 0;
	AttrNumber	tatt = get_attnum(r->sourceid, r->time_column);
	char	   *name;

	if (r->nkeys + 1 <= INDEX_MAX_KEYS)
	{
		for (int k = 0; k < r->nkeys; k++)
			keys_then_time[nkt++] = get_attnum(r->sourceid, r->keys[k]);
		keys_then_time[nkt++] = tatt;
	}

	foreach(lc, indexes)
	{
		Relation	idx = index_open(lfirst_oid(lc), AccessShareLock);
		Form_pg_index ix = idx->rd_index;
		bool		usable = heap_attisnull(idx->rd_indextuple, Anum_pg_index_indpred, NULL);
		bool		btree = idx->rd_rel->relam == BTREE_AM_OID;
		bool		by_time = usable && (btree || idx->rd_rel->relam == BRIN_AM_OID) &&
			ix->indnkeyatts >= 1 && ix->indkey.values[0] == tatt;
		bool		by_keys = usable && btree && nkt > 0 && ix->indnkeyatts >= nkt;

		for (int k = 0; by_keys && k < nkt; k++)
			if (ix->indkey.values[k] != keys_then_time[k])
				by_keys = false;
		index_close(idx, AccessShareLock);
		if (by_time || by_keys)
		{
			table_close(rel, NoLock);
			return NULL;
		}
	}
	/* an open relation cannot be indexed: close it first */
	table_close(rel, NoLock);

	foreach(lc, find_all_inheritors(r->sourceid, NoLock, NULL))
	{
		Oid			relid = lfirst_oid(lc);

		HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
		bool		other_am = false;

		if (HeapTupleIsValid(tup))
		{
			Form_pg_class form = (Form_pg_class) GETSTRUCT(tup);

			other_am = form->relkind == RELKIND_RELATION &&
				form->relam != HEAP_TABLE_AM_OID;
			ReleaseSysCache(tup);
		}
		if (other_am)
			return NULL;
	}

	name = psprintf("%.40s_fg%d_idx", relname, r->id);
	spi_exec(psprintf("CREATE INDEX %s ON %s USING brin (%s)"
					  " WITH (pages_per_range = 32)",
					  quote_identifier(name), r->sourcename,
					  quote_identifier(r->time_column)));
	return name;
}

/*
 * fluss_grid_create_rollup
 */
Datum
fluss_grid_create_rollup(PG_FUNCTION_ARGS)
{
	char	   *name;
	List	   *names;
	RangeVar   *rv;
	Oid			nspid;
	Oid			sourceid;
	char		relkind;
	FgRollup   *parent;
	FgRollup   *r;
	Relation	srel;
	List	   *used = NIL;
	char	   *rtuser;
	Oid			extowner;
	Oid			save_userid;
	int			save_sec;
	char	   *volatile source_index = NULL;
	char	   *realtime;
	Bitmapset  *used_cols = NULL;

	check_not_null(fcinfo, 0, "name");
	check_not_null(fcinfo, 1, "source");
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (name[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("rollup name must not be empty")));
	names = stringToQualifiedNameList(name);
	rv = makeRangeVarFromNameList(names);
	nspid = RangeVarGetCreationNamespace(rv);
	if (strlen(rv->relname) + strlen("_realtime") >= NAMEDATALEN)
		ereport(ERROR,
				(errcode(ERRCODE_NAME_TOO_LONG),
				 errmsg("rollup name \"%s\" is too long", rv->relname),
				 errdetail("The view \"%s_realtime\" must fit in %d bytes.",
						   rv->relname, NAMEDATALEN - 1)));
	realtime = psprintf("%s_realtime", rv->relname);
	if (OidIsValid(get_relname_relid(rv->relname, nspid)))
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_TABLE),
				 errmsg("relation \"%s\" already exists", rv->relname)));
	if (OidIsValid(get_relname_relid(realtime, nspid)))
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_TABLE),
				 errmsg("relation \"%s\" already exists", realtime),
				 errdetail("A rollup comes with a view named after it.")));

	sourceid = PG_GETARG_OID(1);
	if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(sourceid)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", sourceid)));
	relkind = get_rel_relkind(sourceid);
	if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a table", get_rel_name(sourceid)),
				 errdetail("A rollup's source must be a table, a partitioned table or another rollup.")));
	if (!fg_rel_ownercheck(sourceid, GetUserId()))
		aclcheck_error(ACLCHECK_NOT_OWNER, OBJECT_TABLE, get_rel_name(sourceid));

	/* writers wait from here until commit: nothing slips past the backfill */
	LockRelationOid(sourceid, ShareRowExclusiveLock);
	srel = table_open(sourceid, NoLock);

	parent = FgRollupLoadByRelid(sourceid, true);
	r = palloc0(sizeof(FgRollup));
	r->sourceid = sourceid;
	r->ownerid = GetUserId();
	r->parent = parent;

	if (PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("argument \"bucket\" must not be null"),
				 errhint("Give the bucket width, for example bucket => interval '1 minute'.")));
	r->bucket = PG_GETARG_INTERVAL_P(3);
	check_bucket(r->bucket);

	if (parent == NULL)
	{
		/* a table source */
		AttrNumber	tatt;
		ArrayType  *arr;

		r->level = 1;
		if (PG_ARGISNULL(2))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("argument \"time_column\" must not be null"),
					 errhint("Name the timestamptz or timestamp column that places rows in buckets.")));
		r->time_column = pstrdup(NameStr(*PG_GETARG_NAME(2)));
		tatt = get_attnum(sourceid, r->time_column);
		if (tatt == InvalidAttrNumber)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("column \"%s\" of relation \"%s\" does not exist",
							r->time_column, get_rel_name(sourceid))));
		r->timetype = get_atttype(sourceid, tatt);
		if (r->timetype != TIMESTAMPTZOID && r->timetype != TIMESTAMPOID)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("time column \"%s\" must be of type timestamp with time zone or timestamp, not %s",
							r->time_column, format_type_be(r->timetype))));

		if (PG_ARGISNULL(6))
			r->time_zone = pstrdup("UTC");
		else if (r->timetype == TIMESTAMPOID)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("time_zone applies only to a timestamp with time zone column"),
					 errdetail("Buckets of a timestamp column follow its own wall clock.")));
		else
		{
			char	   *tzname = text_to_cstring(PG_GETARG_TEXT_PP(6));
			pg_tz	   *tz = pg_tzset(tzname);

			if (tz == NULL || tzname[0] == '\0')
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("time zone \"%s\" not recognized", tzname),
						 errhint("Use a name from pg_timezone_names, such as 'Asia/Shanghai'.")));
			r->time_zone = pstrdup(pg_get_timezone_name(tz));
		}

		/* group keys */
		if (!PG_ARGISNULL(4))
		{
			Datum	   *elems;
			bool	   *nulls;
			int			n;

			arr = PG_GETARG_ARRAYTYPE_P(4);
			deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
			r->nkeys = n;
			r->keys = palloc0(sizeof(char *) * Max(n, 1));
			r->keytypes = palloc0(sizeof(Oid) * Max(n, 1));
			r->keynotnull = palloc0(sizeof(bool) * Max(n, 1));
			for (int k = 0; k < n; k++)
			{
				AttrNumber	att;

				if (nulls[k])
					ereport(ERROR,
							(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
							 errmsg("group_by must not contain NULL")));
				r->keys[k] = TextDatumGetCString(elems[k]);
				att = get_attnum(sourceid, r->keys[k]);
				if (att == InvalidAttrNumber)
					ereport(ERROR,
							(errcode(ERRCODE_UNDEFINED_COLUMN),
							 errmsg("column \"%s\" of relation \"%s\" does not exist",
									r->keys[k], get_rel_name(sourceid)),
							 errhint("group_by takes column names, not expressions.")));
				check_name(r->keys[k], used);
				used = lappend(used, r->keys[k]);
				r->keytypes[k] = get_atttype(sourceid, att);
				r->keynotnull[k] = TupleDescAttr(RelationGetDescr(srel), att - 1)->attnotnull;
				if (!OidIsValid(GetDefaultOpClass(r->keytypes[k], BTREE_AM_OID)))
					ereport(ERROR,
							(errcode(ERRCODE_UNDEFINED_FUNCTION),
							 errmsg("group key \"%s\" of type %s cannot be grouped",
									r->keys[k], format_type_be(r->keytypes[k])),
							 errdetail("The type has no default btree operator class.")));
			}
		}

		/* aggregates */
		if (PG_ARGISNULL(5))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("argument \"aggregates\" must not be null"),
					 errhint("List the aggregates, for example ARRAY['count(*) AS n', 'avg(load_mw) AS avg_load_mw'].")));
		{
			Datum	   *elems;
			bool	   *nulls;
			int			n;

			arr = PG_GETARG_ARRAYTYPE_P(5);
			deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
			if (n == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("a rollup needs at least one aggregate")));
			r->naggs = n;
			r->aggs = palloc0(sizeof(FgAgg) * n);
			for (int i = 0; i < n; i++)
			{
				ErrorContextCallback cb;
				char	   *spec;

				if (nulls[i])
					ereport(ERROR,
							(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
							 errmsg("aggregates must not contain NULL")));
				spec = TextDatumGetCString(elems[i]);
				cb.callback = agg_spec_context;
				cb.arg = spec;
				cb.previous = error_context_stack;
				error_context_stack = &cb;
				parse_table_aggregate(spec, srel, &r->aggs[i], &used_cols);
				check_name(r->aggs[i].alias, used);
				error_context_stack = cb.previous;
				used = lappend(used, r->aggs[i].alias);
			}
		}

		/* the columns recomputes read: time, keys, aggregate inputs */
		{
			int			att = -1;
			Bitmapset  *atts = NULL;

			atts = bms_add_member(atts, get_attnum(sourceid, r->time_column));
			for (int k = 0; k < r->nkeys; k++)
				atts = bms_add_member(atts, get_attnum(sourceid, r->keys[k]));
			while ((att = bms_next_member(used_cols, att)) >= 0)
			{
				AttrNumber	attno = att + FirstLowInvalidHeapAttributeNumber;

				if (attno > 0)
					atts = bms_add_member(atts, attno);
			}
			r->nsrccols = 0;
			r->srccols = palloc0(sizeof(char *) * bms_num_members(atts));
			att = -1;
			while ((att = bms_next_member(atts, att)) >= 0)
				r->srccols[r->nsrccols++] = get_attname(sourceid, att, false);
		}
	}
	else
	{
		/* a rollup source: carry up its aggregates */
		Interval   *piv = parent->bucket;
		Interval   *civ = r->bucket;
		bool		nests;

		r->level = parent->level + 1;
		r->parent_id = parent->id;
		r->timetype = parent->timetype;
		r->time_column = pstrdup("bucket");
		if (!PG_ARGISNULL(2) && strcmp(NameStr(*PG_GETARG_NAME(2)), "bucket") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("a rollup of a rollup is bucketed by its source's \"bucket\" column")));
		r->time_zone = parent->time_zone;
		if (!PG_ARGISNULL(6))
		{
			char	   *tzname = text_to_cstring(PG_GETARG_TEXT_PP(6));
			pg_tz	   *tz = pg_tzset(tzname);

			if (tz == NULL || strcmp(pg_get_timezone_name(tz), parent->time_zone) != 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("time zone \"%s\" differs from the source rollup's time zone \"%s\"",
								tzname, parent->time_zone),
						 errdetail("Buckets of a rollup of a rollup must nest exactly in its source's.")));
		}

		if (civ->month == 0 && piv->month == 0)
			nests = interval_usecs(civ) % interval_usecs(piv) == 0;
		else if (civ->month > 0 && piv->month == 0)
			nests = USECS_PER_DAY % interval_usecs(piv) == 0;
		else if (civ->month > 0 && piv->month > 0)
			nests = civ->month % piv->month == 0;
		else
			nests = false;
		if (!nests)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("bucket %s is not a whole multiple of the source rollup's bucket %s",
							DatumGetCString(DirectFunctionCall1(interval_out, PointerGetDatum(civ))),
							DatumGetCString(DirectFunctionCall1(interval_out, PointerGetDatum(piv)))),
					 errdetail("A rollup of a rollup needs buckets that each cover whole buckets of its source.")));

		/* group keys: a subset of the parent's */
		if (PG_ARGISNULL(4))
		{
			r->nkeys = parent->nkeys;
			r->keys = parent->keys;
		}
		else
		{
			Datum	   *elems;
			bool	   *nulls;
			int			n;

			deconstruct_array(PG_GETARG_ARRAYTYPE_P(4), TEXTOID, -1, false,
							  TYPALIGN_INT, &elems, &nulls, &n);
			r->nkeys = n;
			r->keys = palloc0(sizeof(char *) * Max(n, 1));
			for (int k = 0; k < n; k++)
			{
				bool		found = false;

				if (nulls[k])
					ereport(ERROR,
							(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
							 errmsg("group_by must not contain NULL")));
				r->keys[k] = TextDatumGetCString(elems[k]);
				for (int p = 0; p < parent->nkeys; p++)
					found |= strcmp(parent->keys[p], r->keys[k]) == 0;
				if (!found)
					ereport(ERROR,
							(errcode(ERRCODE_UNDEFINED_COLUMN),
							 errmsg("\"%s\" is not a group key of rollup %s", r->keys[k],
									parent->relname),
							 errhint("A rollup of a rollup groups by a subset of its source's keys.")));
				check_name(r->keys[k], used);
				used = lappend(used, r->keys[k]);
			}
		}
		r->keytypes = palloc0(sizeof(Oid) * Max(r->nkeys, 1));
		r->keynotnull = palloc0(sizeof(bool) * Max(r->nkeys, 1));
		for (int k = 0; k < r->nkeys; k++)
		{
			AttrNumber	att = get_attnum(sourceid, r->keys[k]);

			r->keytypes[k] = get_atttype(sourceid, att);
			r->keynotnull[k] = TupleDescAttr(RelationGetDescr(srel), att - 1)->attnotnull;
		}

		if (PG_ARGISNULL(5))
		{
			r->naggs = parent->naggs;
			r->aggs = palloc0(sizeof(FgAgg) * r->naggs);
			for (int i = 0; i < r->naggs; i++)
			{
				r->aggs[i] = parent->aggs[i];
				r->aggs[i].srcindex = i + 1;
				r->aggs[i].arg = parent->aggs[i].alias;
				r->aggs[i].filter = NULL;
				check_name(r->aggs[i].alias, used);
				used = lappend(used, r->aggs[i].alias);
			}
		}
		else
		{
			Datum	   *elems;
			bool	   *nulls;
			int			n;

			deconstruct_array(PG_GETARG_ARRAYTYPE_P(5), TEXTOID, -1, false,
							  TYPALIGN_INT, &elems, &nulls, &n);
			if (n == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("a rollup needs at least one aggregate")));
			r->naggs = n;
			r->aggs = palloc0(sizeof(FgAgg) * n);
			for (int i = 0; i < n; i++)
			{
				if (nulls[i])
					ereport(ERROR,
							(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
							 errmsg("aggregates must not contain NULL")));
				parse_rollup_aggregate(TextDatumGetCString(elems[i]), parent, &r->aggs[i]);
				check_name(r->aggs[i].alias, used);
				used = lappend(used, r->aggs[i].alias);
			}
		}
	}

	/* ---- everything is valid: create ---- */
	table_close(srel, NoLock);
	extowner = FgExtensionOwner();
	SPI_connect();
	{
		bool		isnull;

		become(extowner, &save_userid, &save_sec);
		spi_exec("SELECT nextval('fluss_grid.rollup_id_seq')");
		SetUserIdAndSecContext(save_userid, save_sec);
		r->id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
											SPI_tuptable->tupdesc, 1, &isnull));
	}
	r->relname = quote_qualified_identifier(get_namespace_name(nspid), rv->relname);
	r->sourcename = FgQualifiedName(sourceid);
	r->deltaname = psprintf("fluss_grid.changelog_%d", r->id);
	r->rtname = psprintf("fluss_grid.rt_%d", r->id);
	rtuser = quote_qualified_identifier(get_namespace_name(nspid), realtime);

	FgSuppressDdlFollowUp = true;
	PG_TRY();
	{
		StringInfoData sql;
		List	   *kinds = NIL,
				   *aliases = NIL,
				   *args = NIL,
				   *filters = NIL,
				   *types = NIL,
				   *srcidx = NIL,
				   *keys = NIL;
		Oid			argtypes[16] = {INT4OID, OIDOID, OIDOID, INT4OID, TEXTOID,
			INTERVALOID, TEXTOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID,
		TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID, TEXTOID, TEXTARRAYOID};
		Datum		values[16];
		char		nulls[16];
		List	   *srccols = NIL;

		/* the user's table, with the user's rights */
		spi_exec(FgSqlCreateTable(r));
		r->relid = get_relname_relid(rv->relname, nspid);
		if (parent == NULL)
			source_index = ensure_source_index(r);

		/* the engine's objects, as the extension owner */
		become(extowner, &save_userid, &save_sec);
		spi_exec(FgSqlCreateChangelog(r));
		initStringInfo(&sql);
		appendStringInfo(&sql, "ALTER TABLE %s OWNER TO %s", r->deltaname,
						 quote_identifier(GetUserNameFromId(r->ownerid, false)));
		spi_exec(sql.data);

		for (int k = 0; k < r->nkeys; k++)
			keys = lappend(keys, r->keys[k]);
		for (int i = 0; i < r->naggs; i++)
		{
			kinds = lappend(kinds, (char *) FgAggKindName(r->aggs[i].kind));
			aliases = lappend(aliases, r->aggs[i].alias);
			args = lappend(args, r->aggs[i].kind == FG_AGG_COUNT_STAR ? NULL : r->aggs[i].arg);
			filters = lappend(filters, r->aggs[i].filter);
			types = lappend(types, OidIsValid(r->aggs[i].argtype) ?
							psprintf("%u", r->aggs[i].argtype) : NULL);
			srcidx = lappend(srcidx, psprintf("%d", r->aggs[i].srcindex));
		}
		memset(nulls, ' ', sizeof(nulls));
		values[0] = Int32GetDatum(r->id);
		values[1] = ObjectIdGetDatum(r->relid);
		values[2] = ObjectIdGetDatum(sourceid);
		values[3] = Int32GetDatum(r->parent_id);
		nulls[3] = r->parent_id ? ' ' : 'n';
		values[4] = CStringGetTextDatum(r->time_column);
		values[5] = IntervalPGetDatum(r->bucket);
		values[6] = CStringGetTextDatum(r->time_zone);
		values[7] = text_array(keys);
		values[8] = text_array(kinds);
		values[9] = text_array(aliases);
		values[10] = text_array(args);
		values[11] = text_array(filters);
		values[12] = text_array(types);
		values[13] = text_array(srcidx);
		values[14] = source_index ? CStringGetTextDatum(source_index) : (Datum) 0;
		nulls[14] = source_index ? ' ' : 'n';
		for (int c = 0; c < r->nsrccols; c++)
			srccols = lappend(srccols, r->srccols[c]);
		values[15] = text_array(srccols);
		if (SPI_execute_with_args("INSERT INTO fluss_grid.rollup (id, rollup_rel, source_rel, parent_id,"
								  " time_column, bucket, time_zone, group_by, agg_kind, agg_alias, agg_arg,"
								  " agg_filter, agg_argtype, agg_srcindex, source_index, source_columns) VALUES ($1,"
								  " $2::oid::regclass, $3::oid::regclass, $4, $5, $6, $7, $8::name[], $9,"
								  " $10::name[], $11, $12, (SELECT array_agg(t::oid::regtype ORDER BY o)"
								  " FROM unnest($13) WITH ORDINALITY AS u(t, o)), $14::int[], $15, $16::name[])",
								  16, argtypes, values, nulls, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not record rollup in fluss_grid.rollup");

		spi_exec(FgSqlRealtimeView(r));
		resetStringInfo(&sql);
		appendStringInfo(&sql, "ALTER VIEW %s OWNER TO %s", r->rtname,
						 quote_identifier(GetUserNameFromId(r->ownerid, false)));
		spi_exec(sql.data);

		/* capture on the source and all its partitions */
		FgReconcileCapture(r, false);
		SetUserIdAndSecContext(save_userid, save_sec);

		/* the user's realtime view */
		resetStringInfo(&sql);
		appendStringInfo(&sql, "CREATE VIEW %s AS SELECT %s FROM %s", rtuser,
						 FgSqlUserColumns(r, NULL), r->rtname);
		spi_exec(sql.data);
	}
	PG_FINALLY();
	{
		FgSuppressDdlFollowUp = false;
	}
	PG_END_TRY();
	SPI_finish();

	/* backfill what the source already holds */
	FgCacheInvalidateAll();
	{
		FgRollup   *loaded = FgRollupLoad(r->id, false);
		bool		acquired;

		FgLockRollup(r->id, true, &acquired);
		(void) refresh(loaded, (Datum) 0, true, (Datum) 0, true);
	}

	FgEnsureWorkerAtCommit();
	FgNoteChangelogWrite();
	PG_RETURN_OID(r->relid);
}

/*
 * refresh
 *		Recompute [lo, hi) of rollup r as its owner; the caller holds the
 *		fold lock.
 */
static int64
refresh(const FgRollup *r, Datum lo, bool lo_null, Datum hi, bool hi_null)
{
	FgCacheEntry *e = FgCacheGet(r->id);
	Oid			save_userid;
	int			save_sec;
	int			save_nestlevel;
	Datum		values[2];
	char		nulls[2];
	int64		n = 0;
	int			ret;
	Snapshot	snap;

	if (e == NULL)
		return 0;
	SPI_connect();
	FgAsRollupOwner(e->rollup, &save_userid, &save_sec, &save_nestlevel);
	if (e->reset_plan == NULL)
		e->reset_plan = FgCachePlan(e, FgSqlReset(e->rollup), 0, NULL, InvalidOid);
	if (e->refresh_plan == NULL)
	{
		Oid			types[2] = {e->rollup->timetype, e->rollup->timetype};

		e->refresh_plan = FgCachePlan(e, FgSqlRefresh(e->rollup), 2, types, InvalidOid);
	}
	/* one snapshot for both statements, as in a fold (fold.c) */
	snap = RegisterSnapshot(GetTransactionSnapshot());
	ret = SPI_execute_snapshot(e->reset_plan, NULL, NULL, snap, InvalidSnapshot,
							   false, true, 0);
	if (ret < 0)
		elog(ERROR, "fluss_grid reset failed: %s", SPI_result_code_string(ret));
	values[0] = lo;
	values[1] = hi;
	nulls[0] = lo_null ? 'n' : ' ';
	nulls[1] = hi_null ? 'n' : ' ';
	ret = SPI_execute_snapshot(e->refresh_plan, values, nulls, snap, InvalidSnapshot,
							   false, true, 0);
	UnregisterSnapshot(snap);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "fluss_grid refresh failed: %s", SPI_result_code_string(ret));
	else
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		n = isnull ? 0 : DatumGetInt64(d);
	}
	FgRestoreUser(save_userid, save_sec, save_nestlevel);
	SPI_finish();
	FgNoteChangelogWrite();
	return n;
}

/* the rollup behind a regclass argument, after the ownership check */
static FgRollup *
owned_rollup(Oid relid, const char *action)
{
	FgRollup   *r;

	if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	r = FgRollupLoadByRelid(relid, false);
	if (!fg_rel_ownercheck(relid, GetUserId()))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("must be owner of rollup %s to %s it", get_rel_name(relid), action)));
	return r;
}

/*
 * fluss_grid_refresh_rollup
 */
Datum
fluss_grid_refresh_rollup(PG_FUNCTION_ARGS)
{
	FgRollup   *r;
	Datum		lo = PG_GETARG_DATUM(1);
	Datum		hi = PG_GETARG_DATUM(2);
	bool		acquired;

	check_not_null(fcinfo, 0, "rollup");
	if (!PG_ARGISNULL(1) && !PG_ARGISNULL(2) &&
		timestamp_cmp_internal(DatumGetTimestampTz(lo), DatumGetTimestampTz(hi)) > 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("refresh range starts after it ends"),
				 errdetail("from_ts is %s, to_ts is %s.",
						   timestamptz_to_str(DatumGetTimestampTz(lo)),
						   timestamptz_to_str(DatumGetTimestampTz(hi))),
				 errhint("Swap the two bounds.")));
	r = owned_rollup(PG_GETARG_OID(0), "refresh");
	if (r->timetype == TIMESTAMPOID)
	{
		if (!PG_ARGISNULL(1))
			lo = DirectFunctionCall1(timestamptz_timestamp, lo);
		if (!PG_ARGISNULL(2))
			hi = DirectFunctionCall1(timestamptz_timestamp, hi);
	}
	FgLockRollup(r->id, true, &acquired);
	PG_RETURN_INT64(refresh(r, lo, PG_ARGISNULL(1), hi, PG_ARGISNULL(2)));
}

/*
 * forget_rollup
 *		Remove the engine's side of rollup id: capture triggers, changelog,
 *		internal realtime view (and with it the user's), catalog row.  The
 *		rollup table itself is left alone.
 */
static void
forget_rollup(int32 id)
{
	StringInfoData sql;
	Oid			extowner = FgExtensionOwner();
	Oid			save_userid;
	int			save_sec;
	char	   *q = psprintf("SELECT tgrelid::regclass::text, tgname FROM pg_catalog.pg_trigger"
							 " WHERE tgname LIKE '\\_fg\\_capture\\_%d\\_%%' AND NOT tgisinternal"
							 " AND tgparentid = 0", id);

	become(extowner, &save_userid, &save_sec);
	FgSuppressDdlFollowUp = true;
	PG_TRY();
	{
		int			nest = NewGUCNestLevel();

		/* the cascade to the user's realtime view is expected: no NOTICE */
		(void) set_config_option("client_min_messages", "warning",
								 PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
		SPI_connect();
		initStringInfo(&sql);
		if (SPI_execute(q, true, 0) == SPI_OK_SELECT)
		{
			for (uint64 i = 0; i < SPI_processed; i++)
				appendStringInfo(&sql, "DROP TRIGGER IF EXISTS %s ON %s;\n",
								 quote_identifier(SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2)),
								 SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1));
		}
		appendStringInfo(&sql,
						 "DROP VIEW IF EXISTS fluss_grid.rt_%d CASCADE;\n"
						 "DROP TABLE IF EXISTS fluss_grid.changelog_%d;\n"
						 "DELETE FROM fluss_grid.rollup WHERE id = %d;\n", id, id, id);
		spi_exec(sql.data);
		SPI_finish();
		AtEOXact_GUC(true, nest);
	}
	PG_FINALLY();
	{
		FgSuppressDdlFollowUp = false;
	}
	PG_END_TRY();
	SetUserIdAndSecContext(save_userid, save_sec);
	FgCacheInvalidateAll();
}

/* drop rollup id and its table (children must be gone already) */
static void
drop_one_rollup(int32 id)
{
	FgRollup   *r = FgRollupLoad(id, false);
	bool		acquired;
	char	   *relname = r->relname;
	char	   *index_sql = NULL;

	FgLockRollup(id, true, &acquired);
	{
		/* the index create_rollup made on the source, unless shared */
		Oid			argtypes[1] = {INT4OID};
		Datum		args[1] = {Int32GetDatum(id)};

		SPI_connect();
		if (SPI_execute_with_args("SELECT quote_ident(n.nspname) || '.' || quote_ident(r.source_index)"
								  " FROM fluss_grid.rollup r JOIN pg_class c ON c.oid = r.source_rel"
								  " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE r.id = $1"
								  " AND r.source_index IS NOT NULL AND NOT EXISTS (SELECT 1 FROM"
								  " fluss_grid.rollup o WHERE o.id <> r.id AND o.source_rel = r.source_rel"
								  " AND o.source_index = r.source_index)",
								  1, argtypes, args, NULL, true, 1) == SPI_OK_SELECT &&
			SPI_processed == 1)
		{
			char	   *v = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

			index_sql = MemoryContextStrdup(TopTransactionContext,
											psprintf("DROP INDEX IF EXISTS %s", v));
		}
		SPI_finish();
	}
	forget_rollup(id);
	SPI_connect();
	spi_exec(psprintf("DROP TABLE %s", relname));
	if (index_sql)
		spi_exec(index_sql);
	SPI_finish();
}

/* fold locks of rollup id and everything built on it, top-down */
static void
lock_tree(int32 id)
{
	List	   *children = FgRollupChildren(id);
	ListCell   *lc;
	bool		acquired;

	FgLockRollup(id, true, &acquired);
	foreach(lc, children)
		lock_tree(lfirst_int(lc));
}

static void
drop_tree(int32 id, bool cascade, const char *name)
{
	List	   *children = FgRollupChildren(id);
	ListCell   *lc;

	if (children != NIL && !cascade)
	{
		FgRollup   *c = FgRollupLoad(linitial_int(children), false);

		ereport(ERROR,
				(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
				 errmsg("cannot drop rollup %s because other rollups depend on it", name),
				 errdetail("Rollup %s is built on it.", c->relname),
				 errhint("Drop the dependent rollups first, or use cascade => true.")));
	}
	foreach(lc, children)
		drop_tree(lfirst_int(lc), true, name);
	drop_one_rollup(id);
}

/*
 * fluss_grid_drop_rollup
 */
Datum
fluss_grid_drop_rollup(PG_FUNCTION_ARGS)
{
	FgRollup   *r;
	bool		cascade = PG_ARGISNULL(1) ? false : PG_GETARG_BOOL(1);

	check_not_null(fcinfo, 0, "rollup");
	r = owned_rollup(PG_GETARG_OID(0), "drop");

	/*
	 * Lock order, to never deadlock with writers or the worker: first the
	 * source (writers finish, and no fold of a parent rollup can be writing
	 * into our changelog), then the fold locks of the whole tree.
	 */
	LockRelationOid(r->sourceid, ShareRowExclusiveLock);
	if (r->parent_id != 0)
	{
		bool		acquired;

		FgLockRollup(r->parent_id, true, &acquired);
	}
	lock_tree(r->id);
	drop_tree(r->id, cascade, r->relname);
	PG_RETURN_VOID();
}

/*
 * fluss_grid_forget_rollup
 *		SQL entry point for the sql_drop event trigger.
 */
Datum
fluss_grid_forget_rollup(PG_FUNCTION_ARGS)
{
	if (!FgSuppressDdlFollowUp)
		forget_rollup(PG_GETARG_INT32(0));
	PG_RETURN_VOID();
}

/*
 * fluss_grid_fold_now
 *		Fold every rollup's pending changes in this transaction.
 */
Datum
fluss_grid_fold_now(PG_FUNCTION_ARGS)
{
	int			nfailed;

	if (RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("cannot fold rollups during recovery")));
	PG_RETURN_INT64(FgFoldAll(false, 0, FG_NUM_STAGES, false, &nfailed, NULL));
}

/*
 * fluss_grid_changelog_stats
 *		Pending changelog rows of a rollup and the arrival time of the
 *		oldest, for fluss_grid.rollups.  Counts only; read as the extension
 *		owner so that the view works for every role.
 */
Datum
fluss_grid_changelog_stats(PG_FUNCTION_ARGS)
{
	int32		id = PG_GETARG_INT32(0);
	TupleDesc	tupdesc;
	Datum		values[2] = {0, 0};
	bool		nulls[2] = {true, true};
	char	   *rel = psprintf("changelog_%d", id);

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	if (OidIsValid(get_relname_relid(rel, get_namespace_oid(FG_SCHEMA, false))))
	{
		Oid			save_userid;
		int			save_sec;

		become(FgExtensionOwner(), &save_userid, &save_sec);
		SPI_connect();
		if (SPI_execute(psprintf("SELECT count(*), min(_fg_at) FROM fluss_grid.%s", rel),
						true, 0) == SPI_OK_SELECT && SPI_processed == 1)
		{
			values[0] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &nulls[0]);
			values[1] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &nulls[1]);
		}
		SPI_finish();
		SetUserIdAndSecContext(save_userid, save_sec);
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
