/*-------------------------------------------------------------------------
 *
 * bucket.c
 *	  fluss_grid.time_bucket(width, ts, zone): the start of the bucket a
 *	  timestamptz belongs to, on the wall clock of a time zone.
 *
 * It is, by definition, the expression the engine used to write in SQL:
 *
 *	(date_bin(width, ts AT TIME ZONE zone, '2000-01-03') AT TIME ZONE zone)
 *
 * (date_trunc('month' | 'quarter' | 'year', ...) for month-based widths),
 * and it computes exactly that, by calling the same functions.  What it
 * adds is a cache per call site: after computing a bucket it remembers the
 * range of times that provably fall into it, so the next rows of a
 * statement (telemetry arrives in time order) cost two comparisons instead
 * of two time zone lookups and conversions.  A range is only remembered
 * when the zone's UTC offset does not change inside it, so daylight saving
 * transitions always take the exact path.  The capture's C lift computes
 * buckets through the same cache (FgBucketOf), without a function call
 * per row.
 *
 * IDENTIFICATION
 *	  src/bucket.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "datatype/timestamp.h"
#include "fmgr.h"
#include "pgtime.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "fluss_grid.h"

PG_FUNCTION_INFO_V1(fluss_grid_time_bucket);

/* fixed-width buckets are aligned to Monday 2000-01-03 00:00 local time */
#define FG_BUCKET_ORIGIN (2 * USECS_PER_DAY)

/* ts AT TIME ZONE zone */
static Timestamp
local_of(Datum zone, TimestampTz ts)
{
	return DatumGetTimestamp(DirectFunctionCall2(timestamptz_zone, zone,
												 TimestampTzGetDatum(ts)));
}

/* local AT TIME ZONE zone */
static TimestampTz
utc_of(Datum zone, Timestamp local)
{
	return DatumGetTimestampTz(DirectFunctionCall2(timestamp_zone, zone,
												   TimestampGetDatum(local)));
}

/* the start of the local bucket holding a local time */
static Timestamp
local_bucket(Interval *width, Timestamp local)
{
	if (width->month != 0)
	{
		const char *unit = width->month == 12 ? "year"
		: width->month == 3 ? "quarter" : "month";

		return DatumGetTimestamp(DirectFunctionCall2(timestamp_trunc,
													 CStringGetTextDatum(unit),
													 TimestampGetDatum(local)));
	}
	return DatumGetTimestamp(DirectFunctionCall3(timestamp_bin,
												 IntervalPGetDatum(width),
												 TimestampGetDatum(local),
												 TimestampGetDatum(FG_BUCKET_ORIGIN)));
}

static bool
same_zone(const text *a, const text *b)
{
	return VARSIZE_ANY_EXHDR(a) == VARSIZE_ANY_EXHDR(b) &&
		memcmp(VARDATA_ANY(a), VARDATA_ANY(b), VARSIZE_ANY_EXHDR(a)) == 0;
}

/*
 * cache_range
 *		After computing bucket b for ts, remember [b, e) if every time in it
 *		provably maps to b: the zone's offset is constant on [b, e), so local
 *		time is a translation of UTC there, and both ends fall into the same
 *		local bucket, so (local bucketing being monotonic) everything between
 *		does.
 */
static void
cache_range(FgBucketCache *c, Datum zone, TimestampTz ts, TimestampTz b)
{
	TimestampTz e;
	Timestamp	lb;
	pg_time_t	tb;
	pg_time_t	boundary;
	long		before_gmtoff,
				after_gmtoff;
	int			before_isdst,
				after_isdst;
	int			res;

	c->cached = false;
	if (c->tz == NULL || TIMESTAMP_NOT_FINITE(b) || b > ts)
		return;
	lb = local_of(zone, b);
	e = utc_of(zone, DatumGetTimestamp(DirectFunctionCall2(timestamp_pl_interval,
														   TimestampGetDatum(lb),
														   IntervalPGetDatum(&c->width))));
	if (TIMESTAMP_NOT_FINITE(e) || e <= ts)
		return;

	tb = timestamptz_to_time_t(b);
	res = pg_next_dst_boundary(&tb, &before_gmtoff, &before_isdst, &boundary,
							   &after_gmtoff, &after_isdst, c->tz);
	if (res < 0 || (res == 1 && time_t_to_timestamptz(boundary) < e))
		return;
	/* the offset seen by the conversion itself is the same at both ends */
	if (lb - b != local_of(zone, e - 1) - (e - 1))
		return;
	if (local_bucket(&c->width, lb) != local_bucket(&c->width, local_of(zone, e - 1)))
		return;
	c->lo = b;
	c->hi = e;
	c->bucket = b;
	c->cached = true;
}

/*
 * FgBucketCacheInit
 *		Set c up for buckets of width in zone, copied into cxt.
 */
void
FgBucketCacheInit(FgBucketCache *c, const Interval *width, const text *zone,
				  MemoryContext cxt)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);
	char	   *name = text_to_cstring(zone);

	c->width = *width;
	c->zone = (text *) palloc(VARSIZE_ANY_EXHDR(zone) + VARHDRSZ);
	SET_VARSIZE(c->zone, VARSIZE_ANY_EXHDR(zone) + VARHDRSZ);
	memcpy(VARDATA(c->zone), VARDATA_ANY(zone), VARSIZE_ANY_EXHDR(zone));
	c->tz = (strlen(name) < TZ_STRLEN_MAX) ? pg_tzset(name) : NULL;
	c->cached = false;
	pfree(name);
	MemoryContextSwitchTo(old);
}

/*
 * FgBucketCompute
 *		The bucket of ts, computed; remembers the range of times sharing it
 *		when that is provable.  FgBucketOf tries that range first.
 */
TimestampTz
FgBucketCompute(FgBucketCache *c, TimestampTz ts)
{
	Datum		zone = PointerGetDatum(c->zone);
	TimestampTz b;

	b = utc_of(zone, local_bucket(&c->width, local_of(zone, ts)));
	cache_range(c, zone, ts, b);
	return b;
}

/*
 * fluss_grid_time_bucket
 *		time_bucket(width interval, ts timestamptz, zone text) -> timestamptz
 */
Datum
fluss_grid_time_bucket(PG_FUNCTION_ARGS)
{
	Interval   *width = PG_GETARG_INTERVAL_P(0);
	TimestampTz ts = PG_GETARG_TIMESTAMPTZ(1);
	text	   *zone = PG_GETARG_TEXT_PP(2);
	FgBucketCache *c = (FgBucketCache *) fcinfo->flinfo->fn_extra;

	/* a call site's width and zone are constants, as a rule */
	if (c == NULL || memcmp(&c->width, width, sizeof(Interval)) != 0 ||
		!same_zone(c->zone, zone))
	{
		if (c == NULL)
			c = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(FgBucketCache));
		else if (c->zone)
			pfree(c->zone);
		FgBucketCacheInit(c, width, zone, fcinfo->flinfo->fn_mcxt);
		fcinfo->flinfo->fn_extra = c;
	}
	PG_RETURN_TIMESTAMPTZ(FgBucketOf(c, ts));
}
