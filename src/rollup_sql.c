/*-------------------------------------------------------------------------
 *
 * rollup_sql.c
 *	  Generates the SQL of one rollup: its tables, the capture statement
 *	  run by the changelog triggers, the fold, the refresh and the realtime
 *	  view.  The per-aggregate pieces come from aggstate.c; this file only
 *	  assembles them into statements.
 *
 * Vocabulary used in the generated SQL:
 *	R    the rollup table: bucket, keys, user columns, _fg_count, states
 *	D    its changelog: bucket, keys, _fg_count, delta states, _fg_reset,
 *		 _fg_at
 *	proj the source rows projected to (_fg_b, keys, [_fg_t], arguments)
 *	lift sign-tagged projected rows aggregated into D's shape
 *	fresh  states recomputed from source rows, in R's shape
 *
 * Every statement is generated once per backend and rollup and kept as a
 * saved SPI plan by its caller.
 *
 * IDENTIFICATION
 *	  src/rollup_sql.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "fluss_grid.h"

static void keys_list(StringInfo buf, const FgRollup *r, const char *prefix);
static void keys_match(StringInfo buf, const FgRollup *r, const char *a,
					   const char *b);
static void rollup_columns(StringInfo buf, const FgRollup *r,
						   const char *prefix);
static void delta_columns(StringInfo buf, const FgRollup *r);
static char *bucket_end_expr(const FgRollup *r, const char *b);
static char *proj_sql(const FgRollup *r, const char *item);
static char *lift_sql(const FgRollup *r, const char *stream);
static char *fresh_sql(const FgRollup *r, const char *item);
static char *combine_cte(const FgRollup *r, const char *from);
static char *joined_cte(const FgRollup *r, const char *rollup_from);
static char *stale_fresh_ctes(const FgRollup *r);
static char *set_list(const FgRollup *r, const char *src);
static bool has_first_last(const FgRollup *r);
static char *source_columns(const FgRollup *r, const char *alias);

/* ", k1, k2" with an optional "prefix." */
static void
keys_list(StringInfo buf, const FgRollup *r, const char *prefix)
{
	for (int k = 0; k < r->nkeys; k++)
		appendStringInfo(buf, ", %s%s%s", prefix ? prefix : "",
						 prefix ? "." : "", quote_identifier(r->keys[k]));
}

/* " AND a.k = b.k ..." using IS NOT DISTINCT FROM for nullable keys */
static void
keys_match(StringInfo buf, const FgRollup *r, const char *a, const char *b)
{
	for (int k = 0; k < r->nkeys; k++)
	{
		const char *q = quote_identifier(r->keys[k]);

		appendStringInfo(buf, " AND %s.%s %s %s.%s", a, q,
						 r->keynotnull[k] ? "=" : "IS NOT DISTINCT FROM", b, q);
	}
}

/*
 * bucket, keys, user columns, _fg_count, state columns (R's layout, as
 * statements name them; the table stores the top-k lists last)
 */
static void
rollup_columns(StringInfo buf, const FgRollup *r, const char *prefix)
{
	const char *p = prefix ? prefix : "";
	const char *dot = prefix ? "." : "";
	List	   *states = NIL;
	ListCell   *lc;

	appendStringInfo(buf, "%s%sbucket", p, dot);
	keys_list(buf, r, prefix);
	for (int i = 0; i < r->naggs; i++)
		appendStringInfo(buf, ", %s%s%s", p, dot,
						 quote_identifier(r->aggs[i].alias));
	appendStringInfo(buf, ", %s%s_fg_count", p, dot);
	for (int i = 1; i <= r->naggs; i++)
		FgAggStateColumnNames(&states, r, i);
	foreach(lc, states)
		appendStringInfo(buf, ", %s%s%s", p, dot, (char *) lfirst(lc));
}

/* bucket, keys, _fg_count, delta state columns (D's layout, no prefix) */
static void
delta_columns(StringInfo buf, const FgRollup *r)
{
	List	   *names = NIL;
	ListCell   *lc;

	appendStringInfoString(buf, "bucket");
	keys_list(buf, r, NULL);
	appendStringInfoString(buf, ", _fg_count");
	for (int i = 1; i <= r->naggs; i++)
		FgAggDeltaColumnNames(&names, r, i);
	foreach(lc, names)
		appendStringInfo(buf, ", %s", (char *) lfirst(lc));
}

/* state column names of R after bucket and keys: _fg_count, states */
static void
state_names(StringInfo buf, const FgRollup *r)
{
	List	   *states = NIL;
	ListCell   *lc;

	appendStringInfoString(buf, "_fg_count");
	for (int i = 1; i <= r->naggs; i++)
		FgAggStateColumnNames(&states, r, i);
	foreach(lc, states)
		appendStringInfo(buf, ", %s", (char *) lfirst(lc));
}

/* the source columns a recompute reads ("alias.*" for a rollup source) */
static char *
source_columns(const FgRollup *r, const char *alias)
{
	StringInfoData buf;

	initStringInfo(&buf);
	if (r->parent_id != 0 || r->nsrccols == 0)
	{
		appendStringInfo(&buf, "%s.*", alias);
		return buf.data;
	}
	for (int c = 0; c < r->nsrccols; c++)
		appendStringInfo(&buf, "%s%s.%s", c ? ", " : "", alias,
						 quote_identifier(r->srccols[c]));
	return buf.data;
}

static bool
has_first_last(const FgRollup *r)
{
	for (int i = 0; i < r->naggs; i++)
		if (r->aggs[i].kind == FG_AGG_FIRST || r->aggs[i].kind == FG_AGG_LAST)
			return true;
	return false;
}

/*
 * FgSqlBucketExpr
 *		The bucket a time value belongs to, as an immutable expression.
 *		Buckets of a timestamptz source follow the wall clock of the
 *		rollup's time zone; fixed-length buckets are aligned to Monday
 *		2000-01-03 00:00 local time, month-based ones to the calendar.
 */
char *
FgSqlBucketExpr(const FgRollup *r, const char *ts)
{
	Interval   *iv = r->bucket;
	char	   *ivtext = DatumGetCString(DirectFunctionCall1(interval_out,
															  PointerGetDatum(iv)));
	const char *tz = quote_literal_cstr(r->time_zone);
	StringInfoData local;
	StringInfoData out;

	/* the same as the timestamp form in the zone's wall clock (bucket.c) */
	if (r->timetype == TIMESTAMPTZOID)
		return psprintf("fluss_grid.time_bucket(%s::interval, %s, %s)",
						quote_literal_cstr(ivtext), ts, tz);

	initStringInfo(&local);
	initStringInfo(&out);
	appendStringInfo(&local, "(%s)", ts);

	if (iv->month != 0)
	{
		const char *unit = iv->month == 12 ? "year" : iv->month == 3 ? "quarter" : "month";

		appendStringInfo(&out, "date_trunc('%s', %s)", unit, local.data);
	}
	else
		appendStringInfo(&out,
						 "date_bin(%s::interval, %s, '2000-01-03 00:00:00'::timestamp)",
						 quote_literal_cstr(ivtext), local.data);
	return psprintf("(%s)", out.data);
}

/* the start of the bucket after the one starting at b */
static char *
bucket_end_expr(const FgRollup *r, const char *b)
{
	char	   *ivtext = DatumGetCString(DirectFunctionCall1(interval_out,
															  PointerGetDatum(r->bucket)));
	const char *iv = quote_literal_cstr(ivtext);

	if (r->timetype == TIMESTAMPTZOID)
	{
		const char *tz = quote_literal_cstr(r->time_zone);

		return psprintf("((((%s) AT TIME ZONE %s) + %s::interval) AT TIME ZONE %s)",
						b, tz, iv, tz);
	}
	return psprintf("((%s) + %s::interval)", b, iv);
}

/*
 * proj_sql
 *		Project the rows of a FROM item aliased s to what the lift needs:
 *		_fg_b (bucket), keys, _fg_t (time, only with first/last), and per
 *		aggregate its argument and filter (table source) or the parent's
 *		state columns (rollup source).  Rows with a NULL time are dropped:
 *		they belong to no bucket.
 */
static char *
proj_sql(const FgRollup *r, const char *item)
{
	StringInfoData buf;
	const char *tcol = r->parent_id ? "bucket" : quote_identifier(r->time_column);
	char	   *ts = psprintf("s.%s", tcol);

	initStringInfo(&buf);
	appendStringInfo(&buf, "SELECT %s AS _fg_b", FgSqlBucketExpr(r, ts));
	keys_list(&buf, r, "s");
	if (has_first_last(r))
		appendStringInfo(&buf, ", %s AS _fg_t", ts);
	if (r->parent_id)
	{
		appendStringInfoString(&buf, ", s._fg_count AS _fg_c");
		for (int i = 1; i <= r->naggs; i++)
			FgAggParentColumns(&buf, r, i, "s");
	}
	else
	{
		for (int i = 1; i <= r->naggs; i++)
		{
			const FgAgg *agg = &r->aggs[i - 1];

			if (agg->arg)
				appendStringInfo(&buf, ", (%s) AS _fg_x_%d", agg->arg, i);

			/*
			 * 1.5 and 1.50 are equal, but not to PostgreSQL's numeric
			 * results: the scale tells an UPDATE from a no-op.
			 */
			if (agg->arg && agg->argtype == NUMERICOID)
				appendStringInfo(&buf, ", scale(%s) AS _fg_xs_%d", agg->arg, i);
			if (agg->filter)
				appendStringInfo(&buf, ", (%s) AS _fg_f_%d", agg->filter, i);
		}
	}
	appendStringInfo(&buf, " FROM %s WHERE %s IS NOT NULL", item, ts);
	return buf.data;
}

/*
 * lift_sql
 *		Aggregate a sign-tagged stream of projected rows into D's layout.
 */
static char *
lift_sql(const FgRollup *r, const char *stream)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "SELECT * FROM (SELECT x._fg_b");
	keys_list(&buf, r, "x");
	if (r->parent_id)
		appendStringInfoString(&buf, ", coalesce(sum(_fg_sign * _fg_c), 0)::bigint");
	else
		appendStringInfoString(&buf, ", coalesce(sum(_fg_sign), 0)::bigint");
	for (int i = 1; i <= r->naggs; i++)
		FgAggLiftExprs(&buf, r, i);
	appendStringInfo(&buf, " FROM (%s) x GROUP BY x._fg_b", stream);
	keys_list(&buf, r, "x");
	appendStringInfoString(&buf, ") AS l(");
	delta_columns(&buf, r);
	appendStringInfoChar(&buf, ')');
	return buf.data;
}

/*
 * fresh_sql
 *		States recomputed from every row of a FROM item aliased s, in R's
 *		layout (groups without rows do not appear).
 */
static char *
fresh_sql(const FgRollup *r, const char *item)
{
	StringInfoData buf;
	char	   *stream = psprintf("SELECT 1 AS _fg_sign, p.* FROM (%s) p",
								  proj_sql(r, item));

	initStringInfo(&buf);
	appendStringInfoString(&buf, "SELECT c.bucket");
	keys_list(&buf, r, "c");
	for (int i = 1; i <= r->naggs; i++)
	{
		appendStringInfoString(&buf, ", ");
		FgAggFinalizeExpr(&buf, r, i, "c");
		appendStringInfo(&buf, " AS %s", quote_identifier(r->aggs[i - 1].alias));
	}
	appendStringInfoString(&buf, ", c._fg_count");
	{
		List	   *states = NIL;
		ListCell   *lc;

		for (int i = 1; i <= r->naggs; i++)
			FgAggStateColumnNames(&states, r, i);
		foreach(lc, states)
			appendStringInfo(&buf, ", c.%s", (char *) lfirst(lc));
	}
	appendStringInfoString(&buf, " FROM (SELECT l.bucket");
	keys_list(&buf, r, "l");
	appendStringInfoString(&buf, ", l._fg_count");
	for (int i = 1; i <= r->naggs; i++)
		FgAggApplyExprs(&buf, r, i, NULL, "l");
	appendStringInfo(&buf, " FROM (%s) l) AS c(bucket", lift_sql(r, stream));
	keys_list(&buf, r, NULL);
	appendStringInfoString(&buf, ", ");
	state_names(&buf, r);
	appendStringInfoString(&buf, ") WHERE c._fg_count <> 0");
	return buf.data;
}

/* "g AS (...)": the changelog rows of FROM item d combined per group */
static char *
combine_cte(const FgRollup *r, const char *from)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "g AS (SELECT * FROM (SELECT d.bucket");
	keys_list(&buf, r, "d");
	appendStringInfoString(&buf, ", coalesce(sum(d._fg_count), 0)::bigint");
	for (int i = 1; i <= r->naggs; i++)
		FgAggCombineExprs(&buf, r, i, "d");
	appendStringInfo(&buf, " FROM %s GROUP BY d.bucket", from);
	keys_list(&buf, r, "d");
	appendStringInfoString(&buf, ") AS g0(");
	delta_columns(&buf, r);
	appendStringInfoString(&buf, "))");
	return buf.data;
}

/*
 * "j AS (...), n AS (...)": combined deltas applied to the rollup rows
 * (FROM item o, left-joined), with flags _fg_exists and _fg_stale; n adds
 * the user columns to the groups that need no recompute.
 */
static char *
joined_cte(const FgRollup *r, const char *rollup_from)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "j AS (SELECT * FROM (SELECT g.bucket");
	keys_list(&buf, r, "g");
	appendStringInfoString(&buf, ", (o.bucket IS NOT NULL), (false");
	for (int i = 1; i <= r->naggs; i++)
	{
		if (!FgAggCanGoStale(&r->aggs[i - 1]))
			continue;
		appendStringInfoString(&buf, " OR ");
		FgAggStaleExpr(&buf, r, i, "o", "g");
	}
	appendStringInfoString(&buf, "), coalesce(o._fg_count, 0) + g._fg_count");
	for (int i = 1; i <= r->naggs; i++)
		FgAggApplyExprs(&buf, r, i, "o", "g");
	appendStringInfo(&buf, " FROM g LEFT JOIN %s ON o.bucket = g.bucket", rollup_from);
	keys_match(&buf, r, "o", "g");
	appendStringInfoString(&buf, ") AS j0(bucket");
	keys_list(&buf, r, NULL);
	appendStringInfoString(&buf, ", _fg_exists, _fg_stale, ");
	state_names(&buf, r);
	appendStringInfoString(&buf, ")), n AS (SELECT c.bucket");
	keys_list(&buf, r, "c");
	for (int i = 1; i <= r->naggs; i++)
	{
		appendStringInfoString(&buf, ", ");
		FgAggFinalizeExpr(&buf, r, i, "c");
		appendStringInfo(&buf, " AS %s", quote_identifier(r->aggs[i - 1].alias));
	}
	appendStringInfoString(&buf, ", c._fg_count");
	{
		List	   *states = NIL;
		ListCell   *lc;

		for (int i = 1; i <= r->naggs; i++)
			FgAggStateColumnNames(&states, r, i);
		foreach(lc, states)
			appendStringInfo(&buf, ", c.%s", (char *) lfirst(lc));
	}
	appendStringInfoString(&buf, ", c._fg_exists FROM j c WHERE NOT c._fg_stale)");
	return buf.data;
}

/*
 * "st AS (...), f AS (...)": the groups whose extremes were retracted, and
 * their states recomputed from the source in the same snapshot.
 */
static char *
stale_fresh_ctes(const FgRollup *r)
{
	StringInfoData buf;
	StringInfoData item;
	const char *tcol = r->parent_id ? "bucket" : quote_identifier(r->time_column);

	/*
	 * A LATERAL subquery (not flattened), so that each stale group's
	 * bucket is read through an index on the time column rather than the
	 * whole source hashed; it selects only the columns the rollup uses, so that the
	 * realtime view does not depend on the others.  Arguments are deparsed
	 * as s.col, s being the subquery.
	 */
	initStringInfo(&item);
	/*
	 * [bucket, next bucket) in absolute time holds the rows of the bucket
	 * when it is exactly one bucket width long, so the bucket expression
	 * need not be evaluated per row.  Not so around a change of the clocks:
	 * a local time that happens twice converts to its later instant, so a
	 * bucket starting then also owns the earlier hour (read from an hour
	 * earlier), and the bucket before it ends an hour late (it reaches into
	 * the next bucket).  In those cases, and for months, filter by bucket.
	 */
	if (r->timetype == TIMESTAMPTZOID)
		appendStringInfo(&item, "st CROSS JOIN LATERAL (SELECT %s FROM %s s0 WHERE s0.%s >= st._fg_lo"
						 " AND s0.%s < st._fg_hi AND (st._fg_exact OR %s = st.bucket)",
						 source_columns(r, "s0"), r->sourcename, tcol, tcol,
						 FgSqlBucketExpr(r, psprintf("s0.%s", tcol)));
	else
		appendStringInfo(&item, "st CROSS JOIN LATERAL (SELECT %s FROM %s s0 WHERE s0.%s >= st.bucket"
						 " AND s0.%s < %s",
						 source_columns(r, "s0"), r->sourcename, tcol, tcol,
						 bucket_end_expr(r, "st.bucket"));
	keys_match(&item, r, "s0", "st");
	/* OFFSET 0 keeps the planner from flattening it into a hash join */
	appendStringInfoString(&item, " OFFSET 0) s");

	initStringInfo(&buf);
	appendStringInfoString(&buf, "st AS (SELECT bucket");
	keys_list(&buf, r, NULL);
	appendStringInfoString(&buf, ", _fg_exists");
	if (r->timetype == TIMESTAMPTZOID)
	{
		/* the range to read and whether it is exact, once per stale group */
		char	   *lower = psprintf("(CASE WHEN %s = bucket THEN bucket - interval '1 hour'"
									 " ELSE bucket END)",
									 FgSqlBucketExpr(r, "bucket - interval '1 hour'"));
		char	   *end = bucket_end_expr(r, "bucket");
		char	   *width = DatumGetCString(DirectFunctionCall1(interval_out,
																PointerGetDatum(r->bucket)));

		appendStringInfo(&buf, ", %s AS _fg_lo, %s AS _fg_hi,"
						 " (%s = bucket AND %s - bucket = %s::interval) AS _fg_exact",
						 lower, end, lower, end, quote_literal_cstr(width));
	}
	appendStringInfo(&buf, " FROM j WHERE fluss_grid.seldom(_fg_stale)), f AS (%s)",
					 fresh_sql(r, item.data));
	return buf.data;
}

/* "col = src.col, ..." for every column of R but bucket and keys */
static char *
set_list(const FgRollup *r, const char *src)
{
	StringInfoData buf;
	List	   *states = NIL;
	ListCell   *lc;
	bool		first = true;

	initStringInfo(&buf);
	for (int i = 0; i < r->naggs; i++)
	{
		const char *q = quote_identifier(r->aggs[i].alias);

		appendStringInfo(&buf, "%s%s = %s.%s", first ? "" : ", ", q, src, q);
		first = false;
	}
	appendStringInfo(&buf, "%s_fg_count = %s._fg_count", first ? "" : ", ", src);
	for (int i = 1; i <= r->naggs; i++)
		FgAggStateColumnNames(&states, r, i);
	foreach(lc, states)
		appendStringInfo(&buf, ", %s = %s.%s", (char *) lfirst(lc), src,
						 (char *) lfirst(lc));
	return buf.data;
}

/*
 * FgSqlCreateTable
 *		DDL for the rollup table and its unique index (run as the user).
 */
char *
FgSqlCreateTable(const FgRollup *r)
{
	StringInfoData buf;
	const char *tt = format_type_be(r->timetype);

	initStringInfo(&buf);
	appendStringInfo(&buf, "CREATE TABLE %s (bucket %s NOT NULL", r->relname, tt);
	for (int k = 0; k < r->nkeys; k++)
		appendStringInfo(&buf, ", %s %s%s", quote_identifier(r->keys[k]),
						 format_type_be_qualified(r->keytypes[k]),
						 r->keynotnull[k] ? " NOT NULL" : "");
	for (int i = 0; i < r->naggs; i++)
		appendStringInfo(&buf, ", %s %s", quote_identifier(r->aggs[i].alias),
						 format_type_be(FgAggResultType(r->aggs[i].kind,
														r->aggs[i].argtype)));
	appendStringInfoString(&buf, ", _fg_count bigint NOT NULL");

	/*
	 * The top-k lists of min/max go last.  A fold's UPDATE of a group
	 * leaves them as they were unless a new value enters the 8 best, and a
	 * HOT update's WAL record leaves out the new row's bytes that equal
	 * the old row's at its end (and start): there, they are most of the
	 * row.  (Every statement names the columns it reads and writes.)
	 */
	for (int i = 1; i <= r->naggs; i++)
		FgAggColumnDefs(&buf, &r->aggs[i - 1], i, false, r->timetype, FG_COLS_BUT_LISTS);
	for (int i = 1; i <= r->naggs; i++)
		FgAggColumnDefs(&buf, &r->aggs[i - 1], i, false, r->timetype, FG_COLS_LISTS);
	appendStringInfoString(&buf, ");\n");

	appendStringInfo(&buf, "CREATE UNIQUE INDEX ON %s (bucket", r->relname);
	keys_list(&buf, r, NULL);
	appendStringInfoString(&buf, ") NULLS NOT DISTINCT;\n");
	return buf.data;
}

/*
 * FgSqlCreateChangelog
 *		DDL for the rollup's changelog table in schema fluss_grid: D's
 *		layout, then the TRUNCATE marker and the arrival time.  Folded rows
 *		are deleted, so autovacuum is told to reclaim them early.
 */
char *
FgSqlCreateChangelog(const FgRollup *r)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "CREATE TABLE %s (bucket %s", r->deltaname,
					 format_type_be(r->timetype));
	for (int k = 0; k < r->nkeys; k++)
		appendStringInfo(&buf, ", %s %s", quote_identifier(r->keys[k]),
						 format_type_be_qualified(r->keytypes[k]));
	appendStringInfoString(&buf, ", _fg_count bigint NOT NULL DEFAULT 0");
	for (int i = 1; i <= r->naggs; i++)
		FgAggColumnDefs(&buf, &r->aggs[i - 1], i, true, r->timetype, FG_COLS_ALL);
	appendStringInfoString(&buf,
						   ", _fg_reset boolean NOT NULL DEFAULT false"
						   ", _fg_at timestamptz NOT NULL DEFAULT now())"
						   FG_CHANGELOG_RELOPTIONS);

	/*
	 * TRUNCATE markers are found through a partial index, so that the fold
	 * and every realtime query need not scan the changelog for them.  The C
	 * lift writes without index maintenance: its rows are never markers
	 * (lift.c checks that this stays the only index).
	 */
	appendStringInfo(&buf, "; CREATE INDEX changelog_%d_reset ON %s (_fg_reset) WHERE _fg_reset",
					 r->id, r->deltaname);
	return buf.data;
}

/*
 * FgSqlCapture
 *		The statement a changelog trigger runs: the statement's changes
 *		pre-aggregated per bucket and group into the changelog.
 *
 * relname is the relation (REL modes) or its row type (ROW modes).  The
 * UPDATE form drops rows whose projection did not change, so an UPDATE of
 * columns the rollup does not use writes nothing and never forces a
 * recompute.
 */
/* the FROM items holding a capture's new and old rows (NULL: none) */
static void
capture_items(FgCaptureMode mode, const char *relname, char **newp,
			  char **oldp)
{
	char	   *newitem = NULL;
	char	   *olditem = NULL;

	switch (mode)
	{
		case FG_CAPTURE_INSERT:
			newitem = FG_NEW_TABLE " s";
			break;
		case FG_CAPTURE_DELETE:
			olditem = FG_OLD_TABLE " s";
			break;
		case FG_CAPTURE_UPDATE:
			newitem = FG_NEW_TABLE " s";
			olditem = FG_OLD_TABLE " s";
			break;
		case FG_CAPTURE_RETRACT_REL:
			olditem = psprintf("ONLY %s s", relname);
			break;
		case FG_CAPTURE_INSERT_REL:
			newitem = psprintf("ONLY %s s", relname);
			break;
		case FG_CAPTURE_INSERT_ROW:
			newitem = psprintf("(SELECT ($1::%s).*) s", relname);
			break;
		case FG_CAPTURE_DELETE_ROW:
			olditem = psprintf("(SELECT ($2::%s).*) s", relname);
			break;
		case FG_CAPTURE_UPDATE_ROW:
			newitem = psprintf("(SELECT ($1::%s).*) s", relname);
			olditem = psprintf("(SELECT ($2::%s).*) s", relname);
			break;
	}
	*newp = newitem;
	*oldp = olditem;
}

char *
FgSqlCapture(const FgRollup *r, FgCaptureMode mode, const char *relname)
{
	StringInfoData buf;
	char	   *newitem;
	char	   *olditem;
	char	   *stream;

	capture_items(mode, relname, &newitem, &olditem);
	initStringInfo(&buf);
	if (newitem && olditem)
	{
		appendStringInfo(&buf, "WITH pn AS (%s), po AS (%s) ",
						 proj_sql(r, newitem), proj_sql(r, olditem));
		stream = "SELECT 1 AS _fg_sign, a.* FROM (SELECT * FROM pn EXCEPT ALL SELECT * FROM po) a"
			" UNION ALL SELECT -1, b.* FROM (SELECT * FROM po EXCEPT ALL SELECT * FROM pn) b";
	}
	else if (newitem)
		stream = psprintf("SELECT 1 AS _fg_sign, p.* FROM (%s) p",
						  proj_sql(r, newitem));
	else
		stream = psprintf("SELECT -1 AS _fg_sign, p.* FROM (%s) p",
						  proj_sql(r, olditem));

	appendStringInfo(&buf, "INSERT INTO %s (", r->deltaname);
	delta_columns(&buf, r);
	appendStringInfo(&buf, ") %s", lift_sql(r, stream));
	return buf.data;
}

/*
 * FgSqlCaptureProjection
 *		For the C lift (lift.c): the rows of a one-sided capture mode,
 *		projected as the SQL lift sees them, not aggregated.
 */
char *
FgSqlCaptureProjection(const FgRollup *r, FgCaptureMode mode,
					   const char *relname)
{
	char	   *newitem;
	char	   *olditem;

	capture_items(mode, relname, &newitem, &olditem);
	Assert((newitem == NULL) != (olditem == NULL));
	return proj_sql(r, newitem ? newitem : olditem);
}

/*
 * FgSqlReset
 *		Apply pending TRUNCATE markers: empty the rollup.  Changes captured
 *		before the TRUNCATE were removed by its trigger.
 */
char *
FgSqlReset(const FgRollup *r)
{
	return psprintf("WITH m AS (DELETE FROM %s WHERE _fg_reset RETURNING 1)"
					" DELETE FROM %s WHERE EXISTS (SELECT 1 FROM m)",
					r->deltaname, r->relname);
}

/*
 * FgSqlFold
 *		One statement, hence one snapshot: consume every visible changelog
 *		row (batched: whole groups up to $1 rows), apply the combined deltas to the rollup, recompute the groups
 *		whose extremes were retracted from the source as of the same
 *		snapshot, and delete groups left without rows.  Returns the number
 *		of changelog rows consumed and of groups recomputed.
 */
char *
FgSqlFold(const FgRollup *r, bool batched)
{
	StringInfoData buf;
	StringInfoData cols;
	char	   *rollup_from = psprintf("%s o", r->relname);

	initStringInfo(&cols);
	rollup_columns(&cols, r, NULL);

	initStringInfo(&buf);
	if (!batched)
		appendStringInfo(&buf,
						 "WITH d AS (DELETE FROM %s WHERE NOT _fg_reset RETURNING *), ",
						 r->deltaname);
	else
	{
		/*
		 * At most $1 changelog rows, but always whole groups (oldest first,
		 * at least one): a group recomputed from the source must have all
		 * its visible changes consumed, or the rest would count twice.
		 */
		appendStringInfoString(&buf, "WITH sel AS (SELECT bucket");
		keys_list(&buf, r, NULL);
		appendStringInfoString(&buf, " FROM (SELECT bucket");
		keys_list(&buf, r, NULL);
		appendStringInfo(&buf,
						 ", count(*) AS _fg_n, sum(count(*)) OVER (ORDER BY min(_fg_at), bucket"
						 " ROWS UNBOUNDED PRECEDING) AS _fg_upto FROM %s WHERE NOT _fg_reset"
						 " GROUP BY bucket", r->deltaname);
		keys_list(&buf, r, NULL);
		appendStringInfo(&buf,
						 ") x WHERE _fg_upto - _fg_n < $1), d AS (DELETE FROM %s c USING sel"
						 " WHERE NOT c._fg_reset AND c.bucket = sel.bucket", r->deltaname);
		keys_match(&buf, r, "c", "sel");
		appendStringInfoString(&buf, " RETURNING c.*), ");
	}
	appendStringInfo(&buf, "%s, %s, %s", combine_cte(r, "d"),
					 joined_cte(r, rollup_from), stale_fresh_ctes(r));

	/* groups applied incrementally */
	appendStringInfo(&buf,
					 ", u1 AS (UPDATE %s o SET %s FROM n WHERE n._fg_exists AND n._fg_count <> 0"
					 " AND o.bucket = n.bucket",
					 r->relname, set_list(r, "n"));
	keys_match(&buf, r, "o", "n");
	/*
	 * New groups are written in bucket order, so that the rows of one
	 * bucket share pages: "the newest minute of every station" then reads
	 * a few dozen pages, not one page per row (a bulk fold's hash order).
	 */
	appendStringInfo(&buf,
					 " RETURNING 1), i1 AS (INSERT INTO %s (%s) SELECT %s FROM n"
					 " WHERE NOT n._fg_exists AND n._fg_count <> 0 ORDER BY n.bucket",
					 r->relname, cols.data, cols.data);
	keys_list(&buf, r, "n");
	appendStringInfoString(&buf, " RETURNING 1)");
	appendStringInfo(&buf,
					 ", d1 AS (DELETE FROM %s o USING n WHERE n._fg_exists AND n._fg_count = 0"
					 " AND o.bucket = n.bucket", r->relname);
	keys_match(&buf, r, "o", "n");

	/* groups recomputed */
	appendStringInfo(&buf,
					 " RETURNING 1), u2 AS (UPDATE %s o SET %s FROM f JOIN st ON st.bucket = f.bucket",
					 r->relname, set_list(r, "f"));
	keys_match(&buf, r, "st", "f");
	appendStringInfoString(&buf, " WHERE st._fg_exists AND o.bucket = f.bucket");
	keys_match(&buf, r, "o", "f");
	appendStringInfo(&buf, " RETURNING 1), i2 AS (INSERT INTO %s (%s) SELECT ",
					 r->relname, cols.data);
	rollup_columns(&buf, r, "f");
	appendStringInfoString(&buf, " FROM f JOIN st ON st.bucket = f.bucket");
	keys_match(&buf, r, "st", "f");
	appendStringInfo(&buf,
					 " WHERE NOT st._fg_exists RETURNING 1), d2 AS (DELETE FROM %s o USING st"
					 " WHERE st._fg_exists AND o.bucket = st.bucket", r->relname);
	keys_match(&buf, r, "o", "st");
	appendStringInfoString(&buf,
						   " AND NOT EXISTS (SELECT 1 FROM f WHERE f.bucket = st.bucket");
	keys_match(&buf, r, "f", "st");
	appendStringInfoString(&buf,
						   ") RETURNING 1)"
						   " SELECT (SELECT count(*) FROM d), (SELECT count(*) FROM st),"
						   " (SELECT count(*) FROM u1) + (SELECT count(*) FROM i1) +"
						   " (SELECT count(*) FROM d1) + (SELECT count(*) FROM u2) +"
						   " (SELECT count(*) FROM i2) + (SELECT count(*) FROM d2)");
	/* changelog rows left for the next fold */
	if (batched)
		appendStringInfo(&buf, ", (SELECT count(*) FROM %s WHERE NOT _fg_reset)"
						 " - (SELECT count(*) FROM d)", r->deltaname);
	else
		appendStringInfoString(&buf, ", 0::bigint");
	return buf.data;
}

/*
 * FgSqlFoldCompute
 *		The C fold's statement: fluss_grid.fold_compute($1 = row limit)
 *		computes the rows (fold_compute.c), plain UPDATE, INSERT and DELETE
 *		write them, by TID, so that the rollup's indexes, constraints and
 *		triggers (the next level's capture) see an ordinary statement.
 *		Returns the number of rollup rows written or removed.
 */
char *
FgSqlFoldCompute(const FgRollup *r)
{
	StringInfoData buf;
	List	   *names = NIL;
	ListCell   *lc;
	bool		first = true;

	names = lappend(names, "bucket");
	for (int k = 0; k < r->nkeys; k++)
		names = lappend(names, r->keys[k]);
	for (int i = 0; i < r->naggs; i++)
		names = lappend(names, r->aggs[i].alias);
	names = lappend(names, FG_PREFIX "count");
	for (int i = 1; i <= r->naggs; i++)
		FgAggStateColumnNames(&names, r, i);

	initStringInfo(&buf);
	appendStringInfo(&buf,
					 "WITH c AS MATERIALIZED (SELECT * FROM " FG_SCHEMA ".fold_compute(%d, $1)"
					 " AS c(_fg_op \"char\", _fg_tid tid", r->id);
	foreach(lc, names)
	{
		const char *name = lfirst(lc);
		AttrNumber	att = get_attnum(r->relid, name);
		Oid			typid;
		int32		typmod;
		Oid			collid;

		if (att == InvalidAttrNumber)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("column \"%s\" of rollup %s does not exist", name, r->relname)));
		get_atttypetypmodcoll(r->relid, att, &typid, &typmod, &collid);
		appendStringInfo(&buf, ", %s %s", quote_identifier(name),
						 format_type_extended(typid, typmod,
											  FORMAT_TYPE_TYPEMOD_GIVEN |
											  FORMAT_TYPE_FORCE_QUALIFY));
	}
	appendStringInfo(&buf, ")), u AS (UPDATE %s o SET %s FROM c"
					 " WHERE c._fg_op = 'u' AND o.ctid = c._fg_tid RETURNING 1)",
					 r->relname, set_list(r, "c"));
	/* new groups in bucket order, as the SQL fold writes them */
	appendStringInfo(&buf, ", i AS (INSERT INTO %s (", r->relname);
	foreach(lc, names)
	{
		appendStringInfo(&buf, "%s%s", first ? "" : ", ",
						 quote_identifier(lfirst(lc)));
		first = false;
	}
	appendStringInfoString(&buf, ") SELECT ");
	rollup_columns(&buf, r, "c");
	appendStringInfoString(&buf, " FROM c WHERE c._fg_op = 'i' ORDER BY c.bucket");
	keys_list(&buf, r, "c");
	appendStringInfo(&buf, " RETURNING 1), x AS (DELETE FROM %s o USING c"
					 " WHERE c._fg_op = 'd' AND o.ctid = c._fg_tid RETURNING 1)"
					 " SELECT (SELECT count(*) FROM u) + (SELECT count(*) FROM i)"
					 " + (SELECT count(*) FROM x)", r->relname);
	return buf.data;
}

/*
 * FgSqlRefresh
 *		Recompute every bucket overlapping [$1, $2) from the source (NULL
 *		bounds are open) and consume the changelog rows of those buckets, in
 *		one snapshot.  Returns the number of rollup rows written or removed.
 */
char *
FgSqlRefresh(const FgRollup *r)
{
	StringInfoData buf;
	StringInfoData item;
	StringInfoData cols;
	const char *tcol = r->parent_id ? "bucket" : quote_identifier(r->time_column);
	const char *tt = format_type_be(r->timetype);
	char	   *lo = psprintf("$1::%s", tt);
	char	   *hi = psprintf("$2::%s", tt);

	initStringInfo(&cols);
	rollup_columns(&cols, r, NULL);

	initStringInfo(&item);
	appendStringInfo(&item,
					 "rng CROSS JOIN LATERAL (SELECT %s FROM %s s0"
					 " WHERE s0.%s >= coalesce(rng.lo, '-infinity') AND s0.%s < coalesce(rng.hi, 'infinity')) s",
					 source_columns(r, "s0"), r->sourcename, tcol, tcol);

	initStringInfo(&buf);
	appendStringInfo(&buf,
					 "WITH rng AS (SELECT %s AS lo, CASE WHEN %s IS NULL THEN NULL"
					 " WHEN %s = %s THEN %s ELSE %s END AS hi)",
					 FgSqlBucketExpr(r, lo), hi, FgSqlBucketExpr(r, hi), hi, hi,
					 bucket_end_expr(r, FgSqlBucketExpr(r, hi)));
	appendStringInfo(&buf,
					 ", dd AS (DELETE FROM %s d USING rng WHERE NOT d._fg_reset"
					 " AND (rng.lo IS NULL OR d.bucket >= rng.lo) AND (rng.hi IS NULL OR d.bucket < rng.hi)"
					 " RETURNING 1), f AS (%s)",
					 r->deltaname, fresh_sql(r, item.data));
	appendStringInfo(&buf, ", u AS (UPDATE %s o SET %s FROM f WHERE o.bucket = f.bucket",
					 r->relname, set_list(r, "f"));
	keys_match(&buf, r, "o", "f");
	appendStringInfo(&buf, " RETURNING 1), i AS (INSERT INTO %s (%s) SELECT ",
					 r->relname, cols.data);
	rollup_columns(&buf, r, "f");
	appendStringInfo(&buf, " FROM f WHERE NOT EXISTS (SELECT 1 FROM %s o WHERE o.bucket = f.bucket",
					 r->relname);
	keys_match(&buf, r, "o", "f");
	appendStringInfo(&buf,
					 ") RETURNING 1), x AS (DELETE FROM %s o USING rng"
					 " WHERE (rng.lo IS NULL OR o.bucket >= rng.lo) AND (rng.hi IS NULL OR o.bucket < rng.hi)"
					 " AND NOT EXISTS (SELECT 1 FROM f WHERE f.bucket = o.bucket",
					 r->relname);
	keys_match(&buf, r, "f", "o");
	appendStringInfoString(&buf,
						   ") RETURNING 1) SELECT (SELECT count(*) FROM u) + (SELECT count(*) FROM i)"
						   " + (SELECT count(*) FROM x) + 0 * (SELECT count(*) FROM dd)");
	return buf.data;
}

/*
 * FgSqlRealtimeView
 *		CREATE VIEW for the internal realtime view, in R's layout.
 *
 * For a table source: the rollup rows untouched by pending changes, plus
 * the groups with pending changes applied, plus the stale groups
 * recomputed from the source; one snapshot, so exact at any moment.  For a
 * rollup source: recomputed from the parent's realtime view, since the
 * parent's own pending changes have not reached this rollup's changelog.
 */
char *
FgSqlRealtimeView(const FgRollup *r)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "CREATE VIEW %s AS ", r->rtname);
	if (r->parent_id)
	{
		char	   *item = psprintf("(SELECT p.* FROM %s p) s", r->parent->rtname);

		appendStringInfoString(&buf, fresh_sql(r, item));
		return buf.data;
	}

	{
		char	   *from = psprintf("%s d WHERE NOT d._fg_reset", r->deltaname);
		char	   *rollup_from = psprintf("(SELECT * FROM %s WHERE NOT (SELECT reset FROM rs)) o",
										   r->relname);

		appendStringInfo(&buf,
						 "WITH rs AS (SELECT EXISTS (SELECT 1 FROM %s WHERE _fg_reset) AS reset), %s, %s, %s",
						 r->deltaname, combine_cte(r, from),
						 joined_cte(r, rollup_from), stale_fresh_ctes(r));
	}
	appendStringInfoString(&buf, " SELECT ");
	rollup_columns(&buf, r, "o");
	appendStringInfo(&buf,
					 " FROM %s o WHERE NOT (SELECT reset FROM rs)"
					 " AND NOT EXISTS (SELECT 1 FROM g WHERE g.bucket = o.bucket",
					 r->relname);
	keys_match(&buf, r, "g", "o");
	appendStringInfoString(&buf, ") UNION ALL SELECT ");
	rollup_columns(&buf, r, "n");
	appendStringInfoString(&buf, " FROM n WHERE n._fg_count <> 0 UNION ALL SELECT ");
	rollup_columns(&buf, r, "f");
	appendStringInfoString(&buf, " FROM f");
	return buf.data;
}

/*
 * FgSqlUserColumns
 *		"bucket, keys, user columns" with an optional prefix, for the
 *		user-facing realtime view.
 */
char *
FgSqlUserColumns(const FgRollup *r, const char *alias)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "%s%sbucket", alias ? alias : "", alias ? "." : "");
	keys_list(&buf, r, alias);
	for (int i = 0; i < r->naggs; i++)
		appendStringInfo(&buf, ", %s%s%s", alias ? alias : "", alias ? "." : "",
						 quote_identifier(r->aggs[i].alias));
	return buf.data;
}
