/*-------------------------------------------------------------------------
 *
 * sim.h
 *	  fluss-gridsim's run: options, rows, batches and the state of a run,
 *	  shared by the main program (fluss-gridsim.c) and its command-line
 *	  parsing (options.c).  The grid model's interface is gridsim.h.
 *
 * IDENTIFICATION
 *	  src/gridsim/sim.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef FLUSS_GRIDSIM_SIM_H
#define FLUSS_GRIDSIM_SIM_H

#include <signal.h>
#include <stdio.h>

#include "libpq-fe.h"

#include "gridsim.h"

#define GRIDSIM_VERSION "1.0"
#define PROGNAME		"fluss-gridsim"

/* a batch is committed at this size even before --batch-ms has passed */
#define BATCH_MAX_BYTES (16 * 1024 * 1024)
/* data is handed to libpq in chunks of this size while a batch grows */
#define SEND_CHUNK (256 * 1024)

/* kinds of dirty data (--dirty) */
typedef enum DirtyKind
{
	DIRTY_NAN,			   /* one value is NaN (in place) */
	DIRTY_DUPLICATE,	   /* the row is sent twice (extra row) */
	DIRTY_CORRECTION,	   /* a wrong row, the right one later (extra) */
	DIRTY_OUT_OF_ORDER,	   /* the row comes seconds late (in place) */
	DIRTY_LATE,			   /* the row comes minutes late (in place) */
	DIRTY_UNKNOWN_STATION, /* a copy for a station id not in dim_station */
	DIRTY_FUTURE_TS,	   /* a copy years in the future (extra) */
	DIRTY_BAD_FREQUENCY,   /* frequency 0, 60 or 99.99 Hz (in place) */
	DIRTY_NEGATIVE_LOAD,   /* load_mw below zero (in place) */
	DIRTY_NKINDS
} DirtyKind;

extern const char *const dirty_names[DIRTY_NKINDS];

typedef enum FaultKind
{
	FAULT_TRIP,
	FAULT_DIP,
	FAULT_SAG,
	FAULT_NKINDS
} FaultKind;

extern const char *const fault_names[FAULT_NKINDS];

/* a fault of --faults: at offset from the start, optional target */
typedef struct Fault
{
	FaultKind kind;
	int64_t offset;
	char *target; /* station id (trip, sag), region (dip) */
	bool done;
} Fault;

/* one row of ods_grid_realtime_raw */
typedef struct Row
{
	int32_t station_id;
	int64_t ts;
	double load_mw;
	double generation_mw;
	double frequency_hz;
	double voltage_kv;
} Row;

/* a row held back (out of order, late, the right row of a correction) */
typedef struct HeldRow
{
	int64_t release_tick;
	uint64_t seq;
	Row row;
} HeldRow;

typedef struct Buf
{
	char *data;
	size_t len;
	size_t cap;
} Buf;

/* options */
typedef struct Options
{
	const char *conninfo;
	const char *schema;
	int stations; /* 0: all */
	double rate;  /* rows per second, 0: unlimited */
	bool rate_given;
	uint64_t seed;
	int64_t duration; /* 0: unlimited */
	bool realtime;
	int64_t start;
	int64_t interval;
	bool interval_given;
	int batch_ms;
	double dirty;
	Fault *faults;
	int nfaults;
	double fault_rate_per_hour; /* random faults, 0: none */
	const char *output;
	bool quiet;
	int64_t retry_timeout;
} Options;

/* the running simulation */
typedef struct Sim
{
	Options *opt;
	GsModel model;
	int32_t max_station_id; /* over all of dim_station */
	char *copy_sql;

	PGconn *conn;
	FILE *out;
	bool in_copy; /* a COPY of the current batch is open */
	bool broken;  /* the current attempt failed */
	size_t sent;  /* bytes of the batch handed to libpq */

	Buf batch;
	int64_t batch_rows;
	double batch_start; /* wall clock, s */

	GsRng dirty_rng;
	GsRng fault_rng;
	HeldRow *held; /* binary heap on (release_tick, seq) */
	int nheld;
	int held_cap;
	uint64_t held_seq;
	int64_t next_random_fault;

	/* counters */
	int64_t tick;
	int64_t rows_clean; /* clean rows generated */
	int64_t rows_extra; /* extra dirty rows generated */
	int64_t rows_generated;
	int64_t rows_committed;
	int64_t batches;
	int64_t resent_batches;
	int64_t reconnects;
	int64_t dirty_count[DIRTY_NKINDS];
	int64_t fault_count[FAULT_NKINDS];

	double t0; /* wall clock at the start, s */
	double last_progress;
	int64_t last_progress_rows;
	char ts_text[48]; /* the current tick's formatted ts */
	int ts_len;
} Sim;

/* options.c */
extern void usage(FILE *f);
extern void usage_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));
extern void parse_options(int argc, char **argv, Options *opt);

#endif							/* FLUSS_GRIDSIM_SIM_H */
