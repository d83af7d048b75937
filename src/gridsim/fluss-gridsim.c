/*-------------------------------------------------------------------------
 *
 * fluss-gridsim.c
 *	  fluss-gridsim: a libpq client that streams simulated power-grid
 *	  telemetry into the warehouse's raw table with COPY.
 *
 *	  It reads the stations from <schema>.dim_station, steps the grid model
 *	  (model.c) over a time grid, adds faults and dirty data on request,
 *	  and sends the rows as one COPY per batch (a commit every --batch-ms)
 *	  or writes them to a file.  Usage, options, the model and the retry
 *	  semantics are in docs/SIMULATOR.md.
 *
 *	  Retries: a batch is kept in memory until its COPY has returned
 *	  COMMAND_OK.  When the connection is lost, the program reconnects with
 *	  backoff and sends the whole batch again; a batch whose commit was in
 *	  flight when the connection broke may therefore arrive twice (the
 *	  warehouse deduplicates on (station_id, ts), the highest ingest_seq
 *	  winning), but no batch is dropped silently.  A server error that is
 *	  not a lost connection (permission denied, a bad value) ends the
 *	  program with status 1.
 *
 * IDENTIFICATION
 *	  src/gridsim/fluss-gridsim.c
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim.h"

static volatile sig_atomic_t stop_signal = 0;

static void fatal(Sim *sim, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static double wall_now(void);
static void sleep_until(double when);
static void *xmalloc(size_t n);
static void buf_reserve(Buf *b, size_t extra);
static PGconn *connect_db(const Options *opt, bool quiet_fail);
static void load_stations(Sim *sim);
static void check_target_table(Sim *sim);
static void format_row(Sim *sim, const Row *row, const char *ts_text,
					   int ts_len);
static void emit_row(Sim *sim, const Row *row, bool current_ts);
static void dirty_row(Sim *sim, Row *row);
static void hold_row(Sim *sim, const Row *row, int64_t delay);
static void release_held(Sim *sim, int64_t upto_tick);
static void inject_faults(Sim *sim, int64_t t);
static void copy_stream(Sim *sim);
static void commit_batch(Sim *sim);
static bool try_send_batch(Sim *sim, char **errmsg, bool *retryable);
static void progress(Sim *sim, double now, bool force);
static void summary(Sim *sim);
static void handle_signal(int signo);

/* ------------------------------------------------------------------------
 * Small helpers
 * ------------------------------------------------------------------------
 */


/*
 * fatal: report an error, print the summary when the run had started,
 * exit 1.
 */
static void
fatal(Sim *sim, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: error: ", PROGNAME);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (sim != NULL && sim->t0 > 0)
		summary(sim);
	exit(1);
}

/* wall_now: the monotonic clock in seconds (pacing, batches, progress) */
static double
wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* sleep until the monotonic time when; a signal ends the sleep early */
static void
sleep_until(double when)
{
	double d = when - wall_now();
	struct timespec ts;

	if (d <= 0)
		return;
	ts.tv_sec = (time_t) d;
	ts.tv_nsec = (long) ((d - ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
}

/* xmalloc: malloc or exit 1 */
static void *
xmalloc(size_t n)
{
	void *p = malloc(n);

	if (p == NULL)
	{
		fprintf(stderr, "%s: out of memory\n", PROGNAME);
		exit(1);
	}
	return p;
}

/* buf_reserve: room for extra more bytes in b */
static void
buf_reserve(Buf *b, size_t extra)
{
	if (b->len + extra <= b->cap)
		return;
	b->cap = (b->len + extra) * 2;
	b->data = realloc(b->data, b->cap);
	if (b->data == NULL)
	{
		fprintf(stderr, "%s: out of memory\n", PROGNAME);
		exit(1);
	}
}

/*
 * handle_signal: SIGINT/SIGTERM: ask the main loop to stop after the current
 * batch
 */
static void
handle_signal(int signo)
{
	stop_signal = signo;
	/* a second signal kills the program the default way */
	signal(signo, SIG_DFL);
}


/* ------------------------------------------------------------------------
 * Database
 * ------------------------------------------------------------------------
 */

/*
 * connect_db: connect with CONNINFO or the environment; NULL on failure
 * (reported unless quiet_fail).
 */
static PGconn *
connect_db(const Options *opt, bool quiet_fail)
{
	const char *keys[] = { "dbname", "fallback_application_name", NULL };
	const char *vals[] = { opt->conninfo, PROGNAME, NULL };
	PGconn *conn = PQconnectdbParams(keys, vals, 1);

	if (conn == NULL)
	{
		fprintf(stderr, "%s: out of memory\n", PROGNAME);
		exit(1);
	}
	if (PQstatus(conn) != CONNECTION_OK)
	{
		if (!quiet_fail)
			fprintf(stderr, "%s: %s", PROGNAME, PQerrorMessage(conn));
		PQfinish(conn);
		return NULL;
	}
	return conn;
}

/* qualified: "schema"."table", quoted; caller frees */
static char *
qualified(PGconn *conn, const char *schema, const char *table)
{
	char *s = PQescapeIdentifier(conn, schema, strlen(schema));
	char *t = PQescapeIdentifier(conn, table, strlen(table));
	char *r;

	if (s == NULL || t == NULL)
	{
		fprintf(stderr, "%s: %s", PROGNAME, PQerrorMessage(conn));
		exit(1);
	}
	r = xmalloc(strlen(s) + strlen(t) + 2);
	sprintf(r, "%s.%s", s, t);
	PQfreemem(s);
	PQfreemem(t);
	return r;
}

/*
 * load_stations: read the stations into the model; exit 1 when the table
 * is missing, holds a bad row or fewer stations than --stations.
 */
static void
load_stations(Sim *sim)
{
	Options *opt = sim->opt;
	char *rel = qualified(sim->conn, opt->schema, "dim_station");
	char *sql = xmalloc(strlen(rel) + 256);
	PGresult *res;
	int n;

	sprintf(
		sql,
		"SELECT station_id, region, kind, capacity_mw, nominal_kv, longitude,"
		" max(station_id) OVER () FROM %s ORDER BY station_id",
		rel);
	res = PQexec(sim->conn, sql);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

		fprintf(stderr, "%s: error: cannot read the stations from %s: %s",
				PROGNAME, rel, PQresultErrorMessage(res));
		if (state != NULL &&
			(strcmp(state, "42P01") == 0 || strcmp(state, "3F000") == 0))
			fprintf(
				stderr,
				"%s: hint: the simulator needs the warehouse's tables %s.dim_station and %s.ods_grid_realtime_raw; create them first or choose their schema with --schema\n",
				PROGNAME, opt->schema, opt->schema);
		exit(1);
	}
	n = PQntuples(res);
	if (n == 0)
		fatal(NULL, "%s has no stations", rel);
	if (opt->stations > n)
		fatal(NULL, "--stations %d asks for more stations than %s has (%d)",
			  opt->stations, rel, n);
	if (opt->stations > 0)
		n = opt->stations;

	sim->model.stations = xmalloc(n * sizeof(GsStation));
	memset(sim->model.stations, 0, n * sizeof(GsStation));
	sim->model.nstations = n;
	sim->max_station_id = atoi(PQgetvalue(res, 0, 6));
	for (int i = 0; i < n; i++)
	{
		GsStation *s = &sim->model.stations[i];
		const char *id = PQgetvalue(res, i, 0);

		if (PQgetisnull(res, i, 0) || PQgetisnull(res, i, 1) ||
			PQgetisnull(res, i, 2) || PQgetisnull(res, i, 3) ||
			PQgetisnull(res, i, 4))
			fatal(
				NULL,
				"station %s in %s has a NULL station_id, region, kind, capacity_mw or nominal_kv",
				id, rel);
		s->id = atoi(id);
		s->region = GsModelRegion(&sim->model, PQgetvalue(res, i, 1));
		if (!GsKindFromName(PQgetvalue(res, i, 2), &s->kind))
			fatal(NULL, "station %d in %s has an unknown kind \"%s\"", s->id,
				  rel, PQgetvalue(res, i, 2));
		s->capacity_mw = strtod(PQgetvalue(res, i, 3), NULL);
		s->nominal_kv = strtod(PQgetvalue(res, i, 4), NULL);
		if (!(s->capacity_mw > 0) || !isfinite(s->capacity_mw) ||
			!(s->nominal_kv > 0) || !isfinite(s->nominal_kv))
			fatal(
				NULL,
				"station %d in %s needs a positive capacity_mw and nominal_kv",
				s->id, rel);
		s->longitude =
			PQgetisnull(res, i, 5) ? NAN : strtod(PQgetvalue(res, i, 5), NULL);
	}
	PQclear(res);
	free(sql);
	free(rel);
}

/*
 * check_target_table: fail early, with the server's message, when the raw
 * table is missing or not insertable by this user.
 */
static void
check_target_table(Sim *sim)
{
	char *rel =
		qualified(sim->conn, sim->opt->schema, "ods_grid_realtime_raw");
	char *sql = xmalloc(strlen(rel) + 64);
	PGresult *res;

	sprintf(sql, "SELECT 1 FROM %s LIMIT 0", rel);
	res = PQexec(sim->conn, sql);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		fprintf(stderr, "%s: error: cannot use %s: %s", PROGNAME, rel,
				PQresultErrorMessage(res));
		exit(1);
	}
	PQclear(res);
	free(sql);
	sim->copy_sql = xmalloc(strlen(rel) + 128);
	sprintf(
		sim->copy_sql,
		"COPY %s (station_id, ts, load_mw, generation_mw, frequency_hz, voltage_kv) FROM STDIN",
		rel);
	free(rel);
}

/* ------------------------------------------------------------------------
 * Rows: formatting, dirty data, held rows
 * ------------------------------------------------------------------------
 */

/*
 * put_fixed: v with the given decimals (1..6), NaN as "NaN"; fixed point
 * arithmetic, so the text is the same everywhere for the same double.
 */
static char *
put_fixed(char *p, double v, int decimals)
{
	static const int64_t scales[] = {
		1, 10, 100, 1000, 10000, 100000, 1000000
	};
	int64_t scale = scales[decimals];
	int64_t n, ip, fp;
	char tmp[24];
	int k = 0;

	if (isnan(v))
	{
		memcpy(p, "NaN", 3);
		return p + 3;
	}
	if (!isfinite(v) || fabs(v) * scale > 9e15)
		return p + sprintf(p, "%.*f", decimals, v);
	n = llround(v * scale);
	if (n < 0)
	{
		*p++ = '-';
		n = -n;
	}
	ip = n / scale;
	fp = n % scale;
	do
	{
		tmp[k++] = (char) ('0' + ip % 10);
		ip /= 10;
	} while (ip > 0);
	while (k > 0)
		*p++ = tmp[--k];
	*p++ = '.';
	for (int i = decimals - 1; i >= 0; i--)
	{
		p[i] = (char) ('0' + fp % 10);
		fp /= 10;
	}
	return p + decimals;
}

/* append one COPY text line to the batch */
static void
format_row(Sim *sim, const Row *row, const char *ts_text, int ts_len)
{
	char *p;

	buf_reserve(&sim->batch, 160 + ts_len);
	p = sim->batch.data + sim->batch.len;
	p += sprintf(p, "%" PRId32 "\t", row->station_id);
	memcpy(p, ts_text, ts_len);
	p += ts_len;
	*p++ = '\t';
	p = put_fixed(p, row->load_mw, 3);
	*p++ = '\t';
	p = put_fixed(p, row->generation_mw, 3);
	*p++ = '\t';
	p = put_fixed(p, row->frequency_hz, 4);
	*p++ = '\t';
	p = put_fixed(p, row->voltage_kv, 3);
	*p++ = '\n';
	sim->batch.len = p - sim->batch.data;
	sim->batch_rows++;
	sim->rows_generated++;
}

/*
 * emit_row: append a row; current_ts says its ts is the current tick's
 * (whose text is cached).
 */
static void
emit_row(Sim *sim, const Row *row, bool current_ts)
{
	if (current_ts)
		format_row(sim, row, sim->ts_text, sim->ts_len);
	else
	{
		char ts[48];
		int len = GsFormatTimestamp(ts, row->ts, 0);

		format_row(sim, row, ts, len);
	}
	if (sim->batch.len - sim->sent >= SEND_CHUNK)
		copy_stream(sim);
}

/* heap of held rows, ordered by (release_tick, seq) */
static bool
held_before(const HeldRow *a, const HeldRow *b)
{
	return a->release_tick < b->release_tick ||
		   (a->release_tick == b->release_tick && a->seq < b->seq);
}

/* hold_row: send row delay (simulated time, at least one tick) later */
static void
hold_row(Sim *sim, const Row *row, int64_t delay)
{
	int64_t ticks = (delay + sim->opt->interval - 1) / sim->opt->interval;
	int i;

	if (sim->nheld == sim->held_cap)
	{
		sim->held_cap = sim->held_cap ? sim->held_cap * 2 : 1024;
		sim->held = realloc(sim->held, sim->held_cap * sizeof(HeldRow));
		if (sim->held == NULL)
		{
			fprintf(stderr, "%s: out of memory\n", PROGNAME);
			exit(1);
		}
	}
	i = sim->nheld++;
	sim->held[i].release_tick = sim->tick + (ticks < 1 ? 1 : ticks);
	sim->held[i].seq = sim->held_seq++;
	sim->held[i].row = *row;
	while (i > 0 && held_before(&sim->held[i], &sim->held[(i - 1) / 2]))
	{
		HeldRow tmp = sim->held[i];

		sim->held[i] = sim->held[(i - 1) / 2];
		sim->held[(i - 1) / 2] = tmp;
		i = (i - 1) / 2;
	}
}

/* release_held: emit the held rows due by tick upto_tick, in order */
static void
release_held(Sim *sim, int64_t upto_tick)
{
	while (sim->nheld > 0 && sim->held[0].release_tick <= upto_tick)
	{
		Row row = sim->held[0].row;
		int i = 0;

		sim->held[0] = sim->held[--sim->nheld];
		for (;;)
		{
			int l = 2 * i + 1, r = l + 1, m = i;
			HeldRow tmp;

			if (l < sim->nheld && held_before(&sim->held[l], &sim->held[m]))
				m = l;
			if (r < sim->nheld && held_before(&sim->held[r], &sim->held[m]))
				m = r;
			if (m == i)
				break;
			tmp = sim->held[i];
			sim->held[i] = sim->held[m];
			sim->held[m] = tmp;
			i = m;
		}
		emit_row(sim, &row, false);
	}
}

/*
 * dirty_row: with probability --dirty, spoil the clean row of the current
 * tick one way or another; emits whatever is to be sent now.
 */
static void
dirty_row(Sim *sim, Row *row)
{
	GsRng *rng = &sim->dirty_rng;
	DirtyKind kind;
	Row bad;

	if (sim->opt->dirty <= 0 || GsRngUniform(rng) >= sim->opt->dirty)
	{
		emit_row(sim, row, true);
		return;
	}
	kind = (DirtyKind) GsRngBelow(rng, DIRTY_NKINDS);
	sim->dirty_count[kind]++;
	bad = *row;
	switch (kind)
	{
		case DIRTY_NAN:
			switch (GsRngBelow(rng, 4))
			{
				case 0:
					row->load_mw = NAN;
					break;
				case 1:
					row->generation_mw = NAN;
					break;
				case 2:
					row->frequency_hz = NAN;
					break;
				default:
					row->voltage_kv = NAN;
					break;
			}
			emit_row(sim, row, true);
			break;
		case DIRTY_DUPLICATE:
			emit_row(sim, row, true);
			emit_row(sim, row, true);
			sim->rows_extra++;
			break;
		case DIRTY_CORRECTION:
			/* a wrong reading now, the right one 1 to 30 s later */
			bad.load_mw *= 1.05 + 0.25 * GsRngUniform(rng);
			bad.generation_mw *= 1.05 + 0.25 * GsRngUniform(rng);
			bad.voltage_kv *= 1.02 + 0.05 * GsRngUniform(rng);
			bad.frequency_hz += 0.01 + 0.05 * GsRngUniform(rng);
			emit_row(sim, &bad, true);
			hold_row(sim, row,
					 (1 + (int64_t) GsRngBelow(rng, 30)) * GS_USEC_PER_SEC);
			sim->rows_extra++;
			break;
		case DIRTY_OUT_OF_ORDER:
			hold_row(sim, row,
					 (1 + (int64_t) GsRngBelow(rng, 5)) * GS_USEC_PER_SEC);
			break;
		case DIRTY_LATE:
			hold_row(sim, row,
					 (120 + (int64_t) GsRngBelow(rng, 480)) * GS_USEC_PER_SEC);
			break;
		case DIRTY_UNKNOWN_STATION:
			emit_row(sim, row, true);
			bad.station_id =
				sim->max_station_id < INT32_MAX - 1000 ?
					sim->max_station_id + 1 + (int32_t) GsRngBelow(rng, 1000) :
					-1 - (int32_t) GsRngBelow(rng, 1000);
			emit_row(sim, &bad, true);
			sim->rows_extra++;
			break;
		case DIRTY_FUTURE_TS:
			emit_row(sim, row, true);
			bad.ts +=
				(int64_t) (365 + GsRngBelow(rng, 30 * 365)) * GS_USEC_PER_DAY;
			emit_row(sim, &bad, false);
			sim->rows_extra++;
			break;
		case DIRTY_BAD_FREQUENCY:
		{
			static const double values[] = { 0.0, 60.0, 99.99, -50.0 };

			row->frequency_hz = values[GsRngBelow(rng, 4)];
			emit_row(sim, row, true);
		}
		break;
		case DIRTY_NEGATIVE_LOAD:
			row->load_mw =
				-(fabs(row->load_mw) + 1.0 + 100.0 * GsRngUniform(rng));
			emit_row(sim, row, true);
			break;
		case DIRTY_NKINDS:
			break;
	}
}

/* ------------------------------------------------------------------------
 * Faults
 * ------------------------------------------------------------------------
 */

/* station index of a --faults target, -1 when not simulated */
static int
station_index(Sim *sim, const char *target)
{
	char *end;
	long id = strtol(target, &end, 10);

	if (*end != '\0' || end == target)
		return -1;
	for (int i = 0; i < sim->model.nstations; i++)
		if (sim->model.stations[i].id == id)
			return i;
	return -1;
}

/* region index of a --faults target, -1 when not simulated */
static int
region_index(Sim *sim, const char *target)
{
	for (int i = 0; i < sim->model.nregions; i++)
		if (strcmp(sim->model.regions[i].name, target) == 0)
			return i;
	return -1;
}

/* check the --faults targets once the stations are known (exit 2) */
static void
check_fault_targets(Sim *sim)
{
	for (int i = 0; i < sim->opt->nfaults; i++)
	{
		Fault *f = &sim->opt->faults[i];

		if (f->target == NULL)
			continue;
		if (f->kind == FAULT_DIP ? region_index(sim, f->target) < 0 :
								   station_index(sim, f->target) < 0)
			usage_error("--faults: %s target \"%s\" is not a simulated %s",
						fault_names[f->kind], f->target,
						f->kind == FAULT_DIP ? "region" : "station id");
		if (f->kind == FAULT_TRIP &&
			!GsKindGenerates(
				sim->model.stations[station_index(sim, f->target)].kind))
			usage_error(
				"--faults: trip target %s is a substation, not a plant",
				f->target);
	}
}

/* inject one fault at t; target NULL: a random one */
static void
inject(Sim *sim, FaultKind kind, const char *target, int64_t t)
{
	GsModel *m = &sim->model;
	GsRng *rng = &sim->fault_rng;
	char when[48];
	char until[48];

	GsFormatTimestamp(when, t, GS_LOCAL_OFFSET);
	sim->fault_count[kind]++;
	switch (kind)
	{
		case FAULT_TRIP:
		{
			int idx = -1;
			int nlive = 0;
			double lost;
			const int64_t outage = 10 * GS_USEC_PER_MIN;
			const int64_t ramp = 5 * GS_USEC_PER_MIN;

			if (target != NULL)
				idx = station_index(sim, target);
			else
			{
				/* a random plant in service with some output */
				for (int i = 0; i < m->nstations; i++)
				{
					GsStation *s = &m->stations[i];

					if (GsKindGenerates(s->kind) && t >= s->trip_full &&
						s->generation_mw > 0.05 * s->capacity_mw &&
						GsRngBelow(rng, ++nlive) == 0)
						idx = i;
				}
			}
			if (idx < 0)
			{
				fprintf(
					stderr,
					"%s: fault: trip at %s: no plant with output to trip\n",
					PROGNAME, when);
				sim->fault_count[kind]--;
				return;
			}
			lost = GsTrip(m, idx, t, outage, ramp);
			GsFormatTimestamp(until, t + outage, GS_LOCAL_OFFSET);
			fprintf(
				stderr,
				"%s: fault: trip of station %d (%s, %s) at %s: %.1f MW lost; out of service until %s, then back to full output over 5 min\n",
				PROGNAME, m->stations[idx].id,
				m->regions[m->stations[idx].region].name,
				GsKindName(m->stations[idx].kind), when, lost, until);
		}
		break;
		case FAULT_DIP:
		{
			int r = target != NULL ? region_index(sim, target) :
									 (int) GsRngBelow(rng, m->nregions);
			double lost = GsDip(m, r, 0.12);

			fprintf(
				stderr,
				"%s: fault: frequency dip in %s at %s: %.1f MW of import lost (HVDC block), AGC restores the balance\n",
				PROGNAME, m->regions[r].name, when, lost);
		}
		break;
		case FAULT_SAG:
		{
			int idx = target != NULL ? station_index(sim, target) :
									   (int) GsRngBelow(rng, m->nstations);
			int64_t dur = sim->opt->interval > 3 * GS_USEC_PER_SEC ?
							  sim->opt->interval :
							  3 * GS_USEC_PER_SEC;
			double depth = GsSag(m, idx, t, dur, rng);

			fprintf(
				stderr,
				"%s: fault: voltage sag at station %d (%s) at %s: %.0f%% of its voltage for %.0f s, the region's other buses a third as deep\n",
				PROGNAME, m->stations[idx].id,
				m->regions[m->stations[idx].region].name, when, depth * 100.0,
				(double) dur / GS_USEC_PER_SEC);
		}
		break;
		case FAULT_NKINDS:
			break;
	}
}

/* inject_faults: the faults due at t (before the model steps to t) */
static void
inject_faults(Sim *sim, int64_t t)
{
	Options *opt = sim->opt;

	for (int i = 0; i < opt->nfaults; i++)
	{
		Fault *f = &opt->faults[i];

		if (!f->done && opt->start + f->offset <= t)
		{
			f->done = true;
			inject(sim, f->kind, f->target, t);
		}
	}
	while (opt->fault_rate_per_hour > 0 && sim->next_random_fault <= t)
	{
		double u = GsRngUniform(&sim->fault_rng);
		double gap_h = -log(1.0 - u) / opt->fault_rate_per_hour;

		if (sim->next_random_fault > INT64_MIN)
			inject(sim, (FaultKind) GsRngBelow(&sim->fault_rng, FAULT_NKINDS),
				   NULL, t);
		sim->next_random_fault =
			(sim->next_random_fault > INT64_MIN ? sim->next_random_fault : t) +
			(int64_t) (gap_h * GS_USEC_PER_HOUR) + 1;
	}
}

/* ------------------------------------------------------------------------
 * Sending
 * ------------------------------------------------------------------------
 */

/* result of the last libpq call as an error text; caller frees */
static char *
conn_error(PGconn *conn, PGresult *res, bool *retryable)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = res ? PQresultErrorMessage(res) : "";
	char *copy;

	if (msg == NULL || msg[0] == '\0')
		msg = PQerrorMessage(conn);
	if (msg == NULL || msg[0] == '\0')
		msg = "unknown error\n";
	copy = strdup(msg);
	/*
	 * a lost connection, an administrator's or a crash's shutdown, or a
	 * rolled back transaction (serialization failure, deadlock): the batch
	 * was not committed and can be sent again
	 */
	*retryable = PQstatus(conn) == CONNECTION_BAD || state == NULL ||
				 strncmp(state, "08", 2) == 0 ||
				 strncmp(state, "40", 2) == 0 || strcmp(state, "57P01") == 0 ||
				 strcmp(state, "57P02") == 0 || strcmp(state, "57P03") == 0;
	/* one line: newlines (and the tabs after them) become one space */
	{
		char *w = copy;

		for (const char *r = copy; *r != '\0'; r++)
		{
			if (*r == '\n')
			{
				while (r[1] == '\t' || r[1] == ' ')
					r++;
				if (r[1] != '\0')
					*w++ = ' ';
			}
			else
				*w++ = *r;
		}
		*w = '\0';
	}
	return copy;
}

/* begin the COPY of the current batch; false and *errmsg on failure */
static bool
copy_begin(Sim *sim, char **errmsg, bool *retryable)
{
	PGresult *res = PQexec(sim->conn, sim->copy_sql);

	if (PQresultStatus(res) != PGRES_COPY_IN)
	{
		*errmsg = conn_error(sim->conn, res, retryable);
		PQclear(res);
		return false;
	}
	PQclear(res);
	sim->in_copy = true;
	sim->sent = 0;
	return true;
}

/* hand the not yet sent part of the batch to libpq */
static bool
copy_put(Sim *sim, char **errmsg, bool *retryable)
{
	while (sim->sent < sim->batch.len)
	{
		size_t n = sim->batch.len - sim->sent;

		if (n > SEND_CHUNK)
			n = SEND_CHUNK;
		if (PQputCopyData(sim->conn, sim->batch.data + sim->sent, (int) n) !=
			1)
		{
			*errmsg = conn_error(sim->conn, NULL, retryable);
			return false;
		}
		sim->sent += n;
	}
	return true;
}

/* end the COPY; true when the server has committed it */
static bool
copy_end(Sim *sim, char **errmsg, bool *retryable)
{
	PGresult *res;
	bool ok = true;

	sim->in_copy = false;
	if (PQputCopyEnd(sim->conn, NULL) != 1)
	{
		*errmsg = conn_error(sim->conn, NULL, retryable);
		return false;
	}
	while ((res = PQgetResult(sim->conn)) != NULL)
	{
		if (PQresultStatus(res) == PGRES_COPY_IN)
		{
			/* cannot happen after PQputCopyEnd; do not hang on it */
			PQputCopyEnd(sim->conn, "unexpected COPY state");
		}
		else if (PQresultStatus(res) != PGRES_COMMAND_OK && ok)
		{
			*errmsg = conn_error(sim->conn, res, retryable);
			ok = false;
		}
		PQclear(res);
		if (PQstatus(sim->conn) == CONNECTION_BAD)
			break;
	}
	return ok;
}

/*
 * copy_stream: while a batch grows, send what is there (starting the COPY
 * if needed), so the server parses while the next rows are made.  A failure
 * only marks the attempt broken; commit_batch retries.
 */
static void
copy_stream(Sim *sim)
{
	char *errmsg = NULL;
	bool retryable = true;

	if (sim->out != NULL || sim->broken || sim->batch.len == sim->sent)
		return;
	if ((!sim->in_copy && !copy_begin(sim, &errmsg, &retryable)) ||
		!copy_put(sim, &errmsg, &retryable))
	{
		if (!retryable)
			fatal(sim, "COPY into the raw table failed: %s", errmsg);
		fprintf(stderr, "%s: connection lost while sending: %s\n", PROGNAME,
				errmsg);
		free(errmsg);
		sim->broken = true;
		sim->in_copy = false;
	}
}

/* one full attempt to send the batch on the current connection */
static bool
try_send_batch(Sim *sim, char **errmsg, bool *retryable)
{
	if (sim->broken || sim->conn == NULL ||
		PQstatus(sim->conn) != CONNECTION_OK)
	{
		*errmsg = strdup("not connected");
		*retryable = true;
		return false;
	}
	if (!sim->in_copy && !copy_begin(sim, errmsg, retryable))
		return false;
	if (!copy_put(sim, errmsg, retryable))
		return false;
	return copy_end(sim, errmsg, retryable);
}

/*
 * commit_batch: make the current batch durable: write it to the output
 * file, or finish its COPY; on a lost connection reconnect with backoff
 * (100 ms doubling to 5 s, up to --retry-timeout) and send it again.
 */
static void
commit_batch(Sim *sim)
{
	char *errmsg = NULL;
	bool retryable = true;
	double backoff = 0.1, first_failure = 0;
	int attempt = 0;

	if (sim->batch_rows == 0)
		return;
	if (sim->out != NULL)
	{
		if (fwrite(sim->batch.data, 1, sim->batch.len, sim->out) !=
				sim->batch.len ||
			fflush(sim->out) != 0)
			fatal(sim, "cannot write to %s: %s", sim->opt->output,
				  strerror(errno));
	}
	else
	{
		while (!try_send_batch(sim, &errmsg, &retryable))
		{
			if (!retryable)
				fatal(sim, "COPY into the raw table failed: %s", errmsg);
			if (attempt == 0)
				first_failure = wall_now();
			attempt++;
			fprintf(
				stderr,
				"%s: batch not committed: %s; reconnecting to resend its %" PRId64
				" rows (attempt %d) in %.1f s\n",
				PROGNAME, errmsg, sim->batch_rows, attempt, backoff);
			free(errmsg);
			errmsg = NULL;
			if (wall_now() - first_failure > sim->opt->retry_timeout / 1e6)
				fatal(
					sim,
					"giving up after %.0f s of reconnecting; a batch of %" PRId64
					" rows was not sent",
					wall_now() - first_failure, sim->batch_rows);
			sleep_until(wall_now() + backoff);
			if (stop_signal)
				fatal(sim,
					  "stopped while reconnecting; a batch of %" PRId64
					  " rows was not sent",
					  sim->batch_rows);
			backoff = backoff * 2 > 5.0 ? 5.0 : backoff * 2;
			if (sim->conn != NULL)
				PQfinish(sim->conn);
			sim->conn = connect_db(sim->opt, false);
			sim->in_copy = false;
			sim->broken = false;
			sim->sent = 0;
			if (sim->conn != NULL)
			{
				sim->reconnects++;
				fprintf(stderr, "%s: reconnected\n", PROGNAME);
			}
			else
				sim->broken = true;
		}
		if (attempt > 0)
			sim->resent_batches++;
	}
	sim->batches++;
	sim->rows_committed += sim->batch_rows;
	sim->batch.len = 0;
	sim->batch_rows = 0;
	sim->sent = 0;
}

/* ------------------------------------------------------------------------
 * Reporting
 * ------------------------------------------------------------------------
 */

/* progress: one line on stderr at most once a second (unless forced) */
static void
progress(Sim *sim, double now, bool force)
{
	char when[48];

	if (sim->opt->quiet || (!force && now - sim->last_progress < 1.0))
		return;
	GsFormatTimestamp(when, sim->model.t, GS_LOCAL_OFFSET);
	fprintf(stderr,
			"%s: %" PRId64 " rows sent, %.0f rows/s, simulated time %s\n",
			PROGNAME, sim->rows_committed,
			(sim->rows_committed - sim->last_progress_rows) /
				(now - sim->last_progress > 0 ? now - sim->last_progress : 1),
			when);
	sim->last_progress = now;
	sim->last_progress_rows = sim->rows_committed;
}

/*
 * summary: the final report; the "summary:" lines are stable key=value
 * lists for scripts and tests.
 */
static void
summary(Sim *sim)
{
	double elapsed = wall_now() - sim->t0;
	char from[48], to[48];

	GsFormatTimestamp(from, sim->opt->start, GS_LOCAL_OFFSET);
	GsFormatTimestamp(to, sim->model.t, GS_LOCAL_OFFSET);
	fprintf(stderr,
			"%s: summary: rows=%" PRId64 " clean=%" PRId64 " extra=%" PRId64
			" generated=%" PRId64 " batches=%" PRId64
			" resent_batches=%" PRId64 " reconnects=%" PRId64
			" elapsed=%.3fs rate=%.0f/s\n",
			PROGNAME, sim->rows_committed, sim->rows_clean, sim->rows_extra,
			sim->rows_generated, sim->batches, sim->resent_batches,
			sim->reconnects, elapsed,
			elapsed > 0 ? sim->rows_committed / elapsed : 0.0);
	fprintf(stderr,
			"%s: summary: stations=%d ticks=%" PRId64 " simulated=%s..%s%s\n",
			PROGNAME, sim->model.nstations, sim->tick, from, to,
			stop_signal ? " (stopped by a signal)" : "");
	fprintf(stderr, "%s: summary: dirty", PROGNAME);
	for (int k = 0; k < DIRTY_NKINDS; k++)
		fprintf(stderr, " %s=%" PRId64, dirty_names[k], sim->dirty_count[k]);
	fprintf(stderr, "\n%s: summary: faults", PROGNAME);
	for (int k = 0; k < FAULT_NKINDS; k++)
		fprintf(stderr, " %s=%" PRId64, fault_names[k], sim->fault_count[k]);
	fputc('\n', stderr);
}

/* ------------------------------------------------------------------------
 * Main loop
 * ------------------------------------------------------------------------
 */

int
main(int argc, char **argv)
{
	Options opt;
	Sim sim;
	struct sigaction sa;
	int64_t ticks;
	double rate;
	uint64_t x;

	parse_options(argc, argv, &opt);
	memset(&sim, 0, sizeof(sim));
	sim.opt = &opt;

	sim.conn = connect_db(&opt, false);
	if (sim.conn == NULL)
		exit(1);
	load_stations(&sim);
	check_fault_targets(&sim);
	if (opt.output != NULL)
	{
		PQfinish(sim.conn);
		sim.conn = NULL;
		if (strcmp(opt.output, "-") == 0)
			sim.out = stdout;
		else if ((sim.out = fopen(opt.output, "w")) == NULL)
			fatal(NULL, "cannot open %s: %s", opt.output, strerror(errno));
	}
	else
		check_target_table(&sim);

	/* the time grid and the pace */
	if (opt.realtime)
	{
		struct timespec now;

		if (!opt.rate_given)
			opt.rate = opt.interval_given ?
						   sim.model.nstations * 1e6 / opt.interval :
						   sim.model.nstations;
		else
			opt.interval =
				(int64_t) llround(sim.model.nstations * 1e6 / opt.rate);
		if (opt.interval < 1)
			opt.interval = 1;
		/* start on the next whole second of the wall clock */
		clock_gettime(CLOCK_REALTIME, &now);
		opt.start = ((int64_t) now.tv_sec + 1) * GS_USEC_PER_SEC;
		sleep_until(wall_now() + (1e9 - now.tv_nsec) / 1e9);
	}
	rate = opt.rate;
	ticks = opt.duration > 0 ? opt.duration / opt.interval : INT64_MAX;
	if (ticks == 0)
		usage_error("--duration is shorter than one --interval");

	x = opt.seed;
	GsModelInit(&sim.model, GsSplitmix64(&x));
	GsRngSeed(&sim.dirty_rng, GsSplitmix64(&x));
	GsRngSeed(&sim.fault_rng, GsSplitmix64(&x));
	sim.next_random_fault = INT64_MIN;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handle_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (!opt.quiet)
	{
		char when[48];

		GsFormatTimestamp(when, opt.start, GS_LOCAL_OFFSET);
		fprintf(
			stderr,
			"%s: %d stations in %d regions, %s mode from %s, every %.3f s, %s%s\n",
			PROGNAME, sim.model.nstations, sim.model.nregions,
			opt.realtime ? "real-time" : "replay", when,
			(double) opt.interval / GS_USEC_PER_SEC,
			rate > 0 ? "paced" : "unpaced", opt.output ? ", to a file" : "");
	}

	sim.t0 = wall_now();
	sim.last_progress = sim.t0;
	sim.batch_start = sim.t0;
	for (sim.tick = 0; sim.tick < ticks && !stop_signal; sim.tick++)
	{
		int64_t t = opt.start + sim.tick * opt.interval;

		inject_faults(&sim, t);
		GsModelStep(&sim.model, t, opt.interval);
		sim.ts_len = GsFormatTimestamp(sim.ts_text, t, 0);

		for (int i = 0; i < sim.model.nstations && !stop_signal; i++)
		{
			GsStation *s = &sim.model.stations[i];
			Row row;
			double now;

			row.station_id = s->id;
			row.ts = t;
			row.load_mw = s->load_mw;
			row.generation_mw = s->generation_mw;
			row.frequency_hz = s->frequency_hz;
			row.voltage_kv = s->voltage_kv;
			sim.rows_clean++;
			dirty_row(&sim, &row);

			/* pace, commit and report (the clock read every 64 rows) */
			if ((sim.rows_clean & 63) != 0 && rate == 0)
				continue;
			now = wall_now();
			for (;;)
			{
				double due =
					rate > 0 ? sim.t0 + (double) sim.rows_clean / rate : now;
				double batch_due = sim.batch_start + opt.batch_ms / 1e3;

				if (sim.batch.len >= BATCH_MAX_BYTES ||
					(sim.batch_rows > 0 && now >= batch_due))
				{
					commit_batch(&sim);
					now = wall_now();
					sim.batch_start = now;
					batch_due = now + opt.batch_ms / 1e3;
				}
				else if (sim.batch_rows == 0)
					sim.batch_start = now;
				progress(&sim, now, false);
				if (now >= due || stop_signal)
					break;
				copy_stream(&sim);
				sleep_until(fmin(fmin(due, batch_due), now + 0.1));
				now = wall_now();
			}
		}
		release_held(&sim, sim.tick);
	}

	/* the rows still held back, then the last batch */
	release_held(&sim, INT64_MAX);
	commit_batch(&sim);
	if (stop_signal)
		fprintf(stderr, "%s: stopped by signal %d after the current batch\n",
				PROGNAME, (int) stop_signal);
	if (sim.out != NULL && sim.out != stdout && fclose(sim.out) != 0)
		fatal(&sim, "cannot write to %s: %s", opt.output, strerror(errno));
	progress(&sim, wall_now(), true);
	summary(&sim);
	if (sim.conn != NULL)
		PQfinish(sim.conn);
	return 0;
}
