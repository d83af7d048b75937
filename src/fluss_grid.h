/*-------------------------------------------------------------------------
 *
 * fluss_grid.h
 *	  Shared declarations of the fluss_grid extension: GUCs, the rollup
 *	  definition read from the catalog, the SQL generator, the fold and the
 *	  background workers.
 *
 * IDENTIFICATION
 *	  src/fluss_grid.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef FLUSS_GRID_H
#define FLUSS_GRID_H

#include "postgres.h"

#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "nodes/pg_list.h"
#include "port/atomics.h"
#include "storage/block.h"
#include "storage/condition_variable.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "utils/timestamp.h"

#define FG_SCHEMA "fluss_grid"

/*
 * Storage options of every changelog: a queue, so autovacuum visits it
 * after 1,000 dead rows whatever its size, and its indexes are always
 * cleaned so that a drained changelog can be truncated (see
 * vacuum_changelog in fold.c).
 */
#define FG_CHANGELOG_RELOPTIONS \
	" WITH (autovacuum_vacuum_threshold = 1000," \
	" autovacuum_vacuum_scale_factor = 0," \
	" autovacuum_vacuum_insert_threshold = 10000," \
	" autovacuum_vacuum_cost_delay = 0," \
	" vacuum_index_cleanup = on)"
/* prefix of every column, trigger and object the engine owns */
#define FG_PREFIX "_fg_"

/* GUCs (fluss_grid.c) */
extern bool fluss_grid_enabled;
extern int	fluss_grid_naptime;
extern int	fluss_grid_fold_interval;
extern int	fluss_grid_log_level;
extern int	fluss_grid_max_databases;
extern int	fluss_grid_capture_method;
extern int	fluss_grid_batch_size;
extern int	fluss_grid_worker_share;
extern int	fluss_grid_upper_fold_interval;
extern int	fluss_grid_workers_per_database;
extern int	fluss_grid_max_batch_wait;
extern int	fluss_grid_fold_method;

typedef enum FgFoldMethod
{
	FG_FOLD_METHOD_C,			/* fold_compute.c where it applies */
	FG_FOLD_METHOD_SQL			/* always the SQL fold */
} FgFoldMethod;

typedef enum FgCaptureMethod
{
	FG_CAPTURE_METHOD_C,		/* C lift where it applies (lift.c) */
	FG_CAPTURE_METHOD_SQL		/* always the SQL lift */
} FgCaptureMethod;

/* ---------------------------------------------------------------------
 * Aggregates (aggstate.c): the one place that knows partial states.
 * ---------------------------------------------------------------------
 */
typedef enum FgAggKind
{
	FG_AGG_COUNT_STAR,
	FG_AGG_COUNT,
	FG_AGG_SUM,
	FG_AGG_AVG,
	FG_AGG_MIN,
	FG_AGG_MAX,
	FG_AGG_STDDEV,
	FG_AGG_FIRST,
	FG_AGG_LAST
} FgAggKind;

/* numeric class of an aggregate's input, which decides its state */
typedef enum FgTypeClass
{
	FG_TC_NONE,					/* count(*) */
	FG_TC_INT,					/* int2, int4 */
	FG_TC_INT8,
	FG_TC_FLOAT,				/* float4, float8 */
	FG_TC_NUMERIC,
	FG_TC_OTHER					/* only for count(x) */
} FgTypeClass;

typedef struct FgAgg
{
	FgAggKind	kind;
	char	   *alias;			/* user column name */
	char	   *arg;			/* deparsed argument over the source row, or
								 * the source rollup's alias; NULL for * */
	char	   *filter;			/* deparsed FILTER condition, or NULL */
	Oid			argtype;		/* type of arg (InvalidOid for count(*)) */
	int			srcindex;		/* rollup source: index of the carried agg */
} FgAgg;

/* A rollup, as stored in fluss_grid.rollup. */
typedef struct FgRollup
{
	int32		id;
	Oid			relid;			/* the rollup table */
	Oid			sourceid;		/* source table or parent rollup table */
	int32		parent_id;		/* 0 unless the source is a rollup */
	Oid			ownerid;
	char	   *relname;		/* qualified, quoted rollup name */
	char	   *sourcename;		/* qualified, quoted source name */
	char	   *deltaname;		/* qualified, quoted changelog table */
	char	   *rtname;			/* qualified, quoted internal realtime view */
	char	   *time_column;	/* plain column name in the source */
	Oid			timetype;		/* TIMESTAMPTZOID or TIMESTAMPOID */
	Interval   *bucket;
	char	   *time_zone;
	int			nkeys;
	char	  **keys;			/* plain key column names */
	Oid		   *keytypes;
	bool	   *keynotnull;
	int			naggs;
	FgAgg	   *aggs;
	int			nsrccols;		/* table source: columns the rollup reads */
	char	  **srccols;
	struct FgRollup *parent;	/* loaded on demand for rollup sources */
	int			level;			/* 1 for a table source, parent + 1 */
} FgRollup;

extern FgAggKind FgAggKindFromName(const char *name, bool star, bool *ok);
extern const char *FgAggKindName(FgAggKind kind);
extern FgTypeClass FgTypeClassOf(Oid typid);
extern Oid	FgAggResultType(FgAggKind kind, Oid argtype);
/* which of an aggregate's state columns FgAggColumnDefs defines */
typedef enum FgColumnPart
{
	FG_COLS_ALL,
	FG_COLS_BUT_LISTS,			/* all but top-k lists */
	FG_COLS_LISTS				/* top-k lists only */
} FgColumnPart;

extern void FgAggColumnDefs(StringInfo buf, const FgAgg *agg, int i,
							bool delta, Oid timetype, FgColumnPart part);
extern void FgAggLiftExprs(StringInfo buf, const FgRollup *r, int i);
extern void FgAggCombineExprs(StringInfo buf, const FgRollup *r, int i,
							  const char *d);
extern void FgAggApplyExprs(StringInfo buf, const FgRollup *r, int i,
							const char *old, const char *g);
extern void FgAggStaleExpr(StringInfo buf, const FgRollup *r, int i,
						   const char *old, const char *g);
extern bool FgAggCanGoStale(const FgAgg *agg);
extern void FgAggFinalizeExpr(StringInfo buf, const FgRollup *r, int i,
							  const char *c);
extern void FgAggStateColumnNames(List **names, const FgRollup *r, int i);
extern void FgAggDeltaColumnNames(List **names, const FgRollup *r, int i);
extern void FgAggParentColumns(StringInfo buf, const FgRollup *r, int i,
							   const char *s);

/*
 * The C lift (aggstate.c): what FgAggLiftExprs computes in SQL, computed
 * row by row in C for one-sided captures (all rows inserted, or all
 * deleted).  One accumulator per state component of an aggregate.
 */
#define FG_MOM_LEN 5

typedef struct FgLiftArg
{
	Oid			type;			/* argument type; InvalidOid for count(*) */
	int16		typlen;
	bool		typbyval;
	FmgrInfo   *cmp;			/* btree comparator (min/max/first/last) */
	const void *comps;			/* aggstate.c's component vector */
	int			tc;				/* FgTypeClass of type */
	int			shape;			/* aggstate_lift.c's fast path, if any */
} FgLiftArg;

typedef struct FgLiftAcc
{
	int64		cnt;			/* counters: rows, non-NULL, non-finite */
#ifdef HAVE_INT128
	int128		isum;			/* integer sums and squares */
#endif
	Datum		nsum;			/* numeric sums and squares, 0 = none */
	float8		mom[FG_MOM_LEN];
	bool		has;			/* scale, first/last seen */
	bool		isnull;			/* first/last: its value is NULL */
	int32		dsc;
	Datum		value;			/* first/last */
	struct FgTopK *topk;		/* min/max: the best values (extreme.c) */
	Timestamp	t;				/* first/last: its time */
} FgLiftAcc;

extern int	FgAggLiftWidth(const FgAgg *agg);
extern void FgAggLiftArgInit(FgLiftArg *arg, const FgAgg *agg);
extern void FgAggLiftAccum(const FgAgg *agg, const FgLiftArg *arg,
						   FgLiftAcc *acc, Datum x, bool xnull, Timestamp t,
						   MemoryContext cxt);
extern List *FgAggParentColumnNames(const FgRollup *r, int i);
extern void FgAggLiftMerge(const FgAgg *agg, const FgLiftArg *arg,
						   FgLiftAcc *acc, const Datum *vals,
						   const bool *nulls, MemoryContext cxt);
/* the C fold's arithmetic (aggstate_fold.c) */
extern bool FgAggFoldPossible(const FgAgg *agg);
extern void FgAggFoldDelta(const FgAgg *agg, const FgLiftArg *arg,
						   FgLiftAcc *ins, FgLiftAcc *del, const Datum *vals,
						   const bool *nulls, MemoryContext cxt);
extern bool FgAggFoldApply(const FgAgg *agg, const FgLiftArg *arg,
						   const Datum *old, const bool *oldnull,
						   FgLiftAcc *ins, FgLiftAcc *del, Datum *out,
						   bool *outnull, Datum *result, bool *resnull,
						   MemoryContext cxt);
/* most delta columns of one aggregate (numeric sum: n, s, pinf, ninf, nan, dsc x2) */
#define FG_LIFT_MAX_WIDTH 8
extern int	FgAggLiftEmitPair(const FgAgg *agg, const FgLiftArg *arg,
							  FgLiftAcc *ins, FgLiftAcc *del,
							  Datum *out, bool *outnull);
extern int	FgAggLiftEmit(const FgAgg *agg, const FgLiftArg *arg,
						  FgLiftAcc *acc, int sign, Datum *out, bool *outnull);

/*
 * Top-k lists of min/max (extreme.c): the FG_TOPK_KEEP best distinct values
 * of a group with their row counts, so that retracting the extreme promotes
 * the next one instead of reading the source.
 */
#define FG_TOPK_KEEP 8

typedef struct FgTopK FgTopK;

extern FgTopK *FgTopKCreate(Oid typid, bool is_max, MemoryContext cxt);
extern void FgTopKAdd(FgTopK *tk, Datum x, int64 w);
extern bool FgTopKIsEmpty(const FgTopK *tk);
extern bytea *FgTopKSerialize(const FgTopK *tk);
extern void FgTopKMerge(FgTopK **tkp, bytea *b, MemoryContext cxt);

extern bytea *FgTopKApply(bytea *state, FgTopK *ins, FgTopK *del, bool *dry,
						  Datum *best, bool *bestnull);

/* moments.c */
extern void FgMomAccum(float8 *v, double x);
extern void FgMomRead(Datum d, float8 *v);
extern void FgMomCombine(float8 *a, const float8 *b, double sign);
extern double FgMomStddev(const float8 *v);
extern Datum FgMomArray(const float8 *v);
extern Datum FgMomArrayNormalized(const float8 *v);
extern void FgMomMerge(float8 *v, Datum d);

/* ---------------------------------------------------------------------
 * Catalog (catalog.c)
 * ---------------------------------------------------------------------
 */
extern FgRollup *FgRollupLoad(int32 id, bool missing_ok);
extern FgRollup *FgRollupLoadByRelid(Oid relid, bool missing_ok);
extern List *FgIntListQuery(const char *sql, int32 arg);
extern List *FgRollupIdsInFoldOrder(void);
extern List *FgRollupIdsOfRollups(void);
extern List *FgRollupChildren(int32 id);
extern Oid	FgExtensionOwner(void);
extern bool FgExtensionExists(void);
extern char *FgQualifiedName(Oid relid);

/*
 * The sizes a fold's saved plans were made for (plan_watch.c): replan when
 * a table has doubled or halved since.
 */
#define FG_PLAN_WATCH_MAX 4

typedef struct FgPlanWatch
{
	bool		set;			/* sizes recorded */
	bool		first_is_changelog;
	Oid			what;			/* the rollup or transform target, for messages */
	int			nrels;
	Oid			relids[FG_PLAN_WATCH_MAX];
	BlockNumber pages[FG_PLAN_WATCH_MAX];
} FgPlanWatch;

extern void FgPlanWatchInit(FgPlanWatch *w, Oid what, int nrels, const Oid *relids,
							bool first_is_changelog);
extern bool FgPlanWatchMoved(FgPlanWatch *w);

/* backend-local cache of definitions and their saved plans */
typedef struct FgCapturePlan
{
	Oid			relid;
	int			mode;			/* FgCaptureMode */
	bool		projection;		/* rows for the C lift, not the SQL lift */
	SPIPlanPtr	plan;
} FgCapturePlan;

typedef struct FgCacheEntry
{
	int32		id;				/* hash key, must be first */
	bool		valid;
	MemoryContext cxt;
	FgRollup   *rollup;
	List	   *plans;			/* every saved plan, for freeing */
	List	   *relids;			/* more relations whose change drops us */
	List	   *captures;		/* FgCapturePlan */
	SPIPlanPtr	fold_plan;
	SPIPlanPtr	fold_batch_plan;	/* with a limit on rows consumed, $1 */
	SPIPlanPtr	reset_plan;
	SPIPlanPtr	fold_c_plan;	/* the C fold's statement, $1 = row limit */
	int			fold_c_possible;	/* C fold usable: 1, not: -1, unknown: 0 */
	bool		ready;			/* check_ready passed (fold.c) */
	SPIPlanPtr	refresh_plan;
	void	   *lift;			/* lift.c's state for the C lift */
	void	   *lift_update;	/* and for UPDATE statements (paired) */
	int			lift_possible;	/* C lift usable: 1, not: -1, unknown: 0 */
	FgPlanWatch fold_watch;		/* sizes the fold's plans were made for */
} FgCacheEntry;

extern FgCacheEntry *FgCacheGet(int32 id);
extern SPIPlanPtr FgCachePlan(FgCacheEntry *e, const char *sql, int nargs,
							  Oid *argtypes, Oid relid);
extern void FgCacheInvalidateAll(void);
extern void FgCacheForgetPlan(FgCacheEntry *e, SPIPlanPtr *plan);

/* ---------------------------------------------------------------------
 * SQL generation (rollup_sql.c)
 * ---------------------------------------------------------------------
 */
typedef enum FgCaptureMode
{
	FG_CAPTURE_INSERT,			/* NEW TABLE */
	FG_CAPTURE_DELETE,			/* OLD TABLE */
	FG_CAPTURE_UPDATE,			/* OLD and NEW TABLE */
	FG_CAPTURE_RETRACT_REL,		/* every row of a relation, retracted */
	FG_CAPTURE_INSERT_REL,		/* every row of a relation, inserted */
	FG_CAPTURE_INSERT_ROW,		/* one row, $1 (logical replication) */
	FG_CAPTURE_DELETE_ROW,		/* one row, $2 */
	FG_CAPTURE_UPDATE_ROW		/* $2 replaced by $1 */
} FgCaptureMode;

#define FG_NEW_TABLE "_fg_new"
#define FG_OLD_TABLE "_fg_old"

extern char *FgSqlBucketExpr(const FgRollup *r, const char *tscol);

/*
 * The bucket of a timestamptz on the wall clock of a zone (bucket.c), with
 * the range of times known to share the last bucket computed.
 */
typedef struct FgBucketCache
{
	Interval	width;
	text	   *zone;
	struct pg_tz *tz;			/* NULL unless the zone is a tz database name */
	bool		cached;
	TimestampTz lo;				/* every time in [lo, hi) ... */
	TimestampTz hi;
	TimestampTz bucket;			/* ... belongs to this bucket */
} FgBucketCache;

extern void FgBucketCacheInit(FgBucketCache *c, const Interval *width,
							  const text *zone, MemoryContext cxt);
extern TimestampTz FgBucketCompute(FgBucketCache *c, TimestampTz ts);
extern Datum fluss_grid_time_bucket(PG_FUNCTION_ARGS);

static inline TimestampTz
FgBucketOf(FgBucketCache *c, TimestampTz ts)
{
	if (c->cached && ts >= c->lo && ts < c->hi)
		return c->bucket;
	return FgBucketCompute(c, ts);
}
extern char *FgSqlCreateTable(const FgRollup *r);
extern char *FgSqlCreateChangelog(const FgRollup *r);
extern char *FgSqlCapture(const FgRollup *r, FgCaptureMode mode,
						  const char *relname);
extern char *FgSqlCaptureProjection(const FgRollup *r, FgCaptureMode mode,
									const char *relname);
extern char *FgSqlFold(const FgRollup *r, bool batched);
extern char *FgSqlReset(const FgRollup *r);
extern char *FgSqlFoldCompute(const FgRollup *r);
extern char *FgSqlRefresh(const FgRollup *r);
extern char *FgSqlRealtimeView(const FgRollup *r);
extern char *FgSqlUserColumns(const FgRollup *r, const char *alias);

/* ---------------------------------------------------------------------
 * Changelog capture (changelog.c)
 * ---------------------------------------------------------------------
 */
extern void FgAttachCapture(const FgRollup *r, Oid relid);
extern void FgDetachCapture(int32 rollup_id, Oid relid);
extern void FgReconcileCapture(const FgRollup *r, bool backfill);
extern void FgNoteChangelogWrite(void);

/* lift.c */
extern bool FgLiftPossible(const FgRollup *r);
extern int64 FgLiftCapture(FgCacheEntry *e, SPIPlanPtr plan,
						   ParamListInfo params, int sign,
						   Tuplestorestate *rows, TupleDesc rowdesc);
extern int64 FgLiftCaptureUpdate(FgCacheEntry *e, SPIPlanPtr plan,
								 Tuplestorestate *oldrows,
								 Tuplestorestate *newrows,
								 TupleDesc rowdesc);
extern bool FgSuppressDdlFollowUp;

/* ---------------------------------------------------------------------
 * Fold (fold.c)
 * ---------------------------------------------------------------------
 */
typedef struct FgFoldResult
{
	int64		deltas;			/* changelog rows consumed */
	int64		recomputed;		/* groups recomputed from the source */
	bool		more;			/* batch_size left changes for another fold */
	bool		in_c;			/* folded by the C fold (fold_compute.c) */
} FgFoldResult;

extern bool FgFoldRollup(const FgRollup *r, bool wait, int64 limit, FgFoldResult *res);
/* fold_compute.c */
extern void FgFoldComputeBegin(int32 id, bool soft_limit);
extern bool FgFoldComputeEnd(int64 *consumed, bool *more);
/*
 * The stages of a database's folds: a pass folds a range of them, those of
 * a stage after those of the stages before.  FgFoldAll reports the stages
 * present as a bit mask (1 << stage).
 */
#define FG_STAGE_TRANSFORMS 0	/* transforms */
#define FG_STAGE_TABLES		1	/* rollups of tables (transform targets too) */
#define FG_STAGE_UPPER		2	/* rollups of rollups */
#define FG_NUM_STAGES		3

extern int64 FgFoldAll(bool in_worker, int from_stage, int to_stage,
					   bool defer_upper, int *nfailed, int *stages);
extern int	FgFoldCut(int stages, int role);
extern void FgFoldHousekeeping(TimestampTz deadline);
extern bool FgChoresElsewhere;
extern void FgAsOwner(Oid owner, Oid *save_userid, int *save_sec,
					  int *save_nestlevel);
extern void FgAsRollupOwner(const FgRollup *r, Oid *save_userid,
							int *save_sec, int *save_nestlevel);
extern void FgRestoreUser(Oid save_userid, int save_sec, int save_nestlevel);
extern void FgLockRollup(int32 id, bool wait, bool *acquired);

/* transform.c */
extern bool FgFoldTransform(int32 id, bool wait, FgFoldResult *res);
extern bool FgLockFoldRelations(const Oid *reads, int nreads, const Oid *writes,
								int nwrites, bool wait);
extern List *FgTransformIds(void);
extern void FgCheckTransforms(const char *command);

/* ---------------------------------------------------------------------
 * Shared state and workers (worker.c)
 * ---------------------------------------------------------------------
 */
#define FG_MAX_STATUS 256

typedef struct FgRollupStatus
{
	Oid			dbid;
	int32		rollup_id;
	TimestampTz last_fold;
	TimestampTz last_error_at;
	int64		folds;
	int64		deltas;
	int64		recomputed;		/* groups read again from the source */
	int64		c_folds;		/* folds done by the C fold */
	int			failures;		/* consecutive failures, for backoff */
	TimestampTz retry_after;
	char		last_error[256];

	/*
	 * Chores of its folds handed to the database's housekeeping worker
	 * (FgFoldHousekeeping): changelog rows folded since they were handed
	 * over, and whether its source grew and its rollup table changed.
	 */
	int64		chore_rows;
	bool		chore_source_grew;
	bool		chore_rollup_changed;
} FgRollupStatus;

/*
 * A database has up to three workers: the first (FG_ROLE_FIRST, started by
 * the launcher) and, when its folds come in more than one stage (FgFoldCut)
 * and fluss_grid.workers_per_database allows, the second and the third
 * (started by the first), each folding the stages from its cut on, up to
 * the next running worker's cut.  Stages whose worker does not run are
 * folded by the running worker before them.
 */
typedef enum FgWorkerRole
{
	FG_ROLE_FIRST = 0,
	FG_ROLE_SECOND = 1,
	FG_ROLE_THIRD = 2
} FgWorkerRole;

#define FG_NUM_ROLES 3

/* what wakes a worker in the wait after a pass (worker.c, pace_after_pass) */
typedef enum FgPacing
{
	FG_PACING_NONE,				/* not waiting: every commit sets its latch */
	FG_PACING_FED,				/* only folds of the workers before it */
	FG_PACING_UPPER				/* only wait_for_rollups and commands */
} FgPacing;

typedef struct FgWorkerState
{
	pid_t		pid;			/* 0 when no worker runs */
	Latch	   *latch;			/* worker's latch, NULL when none */
	uint64		passes_started;
	uint64		passes_done;
	uint64		passes_clean;	/* last pass in which no rollup failed */
	uint64		full_passes_upto;	/* passes up to this one defer nothing
									 * (wait_for_rollups waits for them) */
	int			split;			/* a later worker: the first stage of its
								 * current pass (0 before the first) */
	FgPacing	pacing;			/* in a paced wait: which commits wake it */
	int			clean_from;		/* the stages [clean_from, clean_to) were */
	int			clean_to;		/* in its last clean pass */
	pg_atomic_uint64 commits;	/* commits that wrote changelog rows for it */
	pg_atomic_uint64 fed;		/* of those, folds of the workers before it */
} FgWorkerState;

typedef struct FgDatabaseSlot
{
	Oid			dbid;
	bool		no_extension;	/* worker found no extension here */
	bool		rearm;			/* extension (re)created: look again */
	TimestampTz paused_until;	/* stepping aside for DROP DATABASE etc. */
	int			stages;			/* stages of the last pass (FgFoldAll) */
	FgWorkerState w[FG_NUM_ROLES];
} FgDatabaseSlot;


typedef struct FgShared
{
	LWLock	   *lock;
	Latch	   *launcher_latch;
	ConditionVariable pass_cv;
	FgRollupStatus status[FG_MAX_STATUS];
	FgDatabaseSlot dbs[FLEXIBLE_ARRAY_MEMBER];
} FgShared;

extern FgShared *FgSharedState;

extern void FgWorkerInit(void);
extern FgDatabaseSlot *FgDatabaseSlotFor(Oid dbid, bool create);
extern void FgWakeWorker(Oid dbid);
extern bool FgEnsureWorker(Oid dbid);
extern void FgEnsureWorkerAtCommit(void);
extern bool FgWorkerPaused(void);
extern FgRollupStatus *FgStatusFor(Oid dbid, int32 rollup_id, bool create);
extern bool FgRecordFold(int32 rollup_id, const FgFoldResult *res, bool hand_over,
						 bool rollup_changed);
extern void FgRecordError(int32 rollup_id, const char *msg, bool transient);
extern bool FgRollupBackingOff(int32 rollup_id);

PGDLLEXPORT void fluss_grid_launcher_main(Datum arg);
PGDLLEXPORT void fluss_grid_worker_main(Datum arg);
PGDLLEXPORT void fluss_grid_second_worker_main(Datum arg);
PGDLLEXPORT void fluss_grid_third_worker_main(Datum arg);

#endif							/* FLUSS_GRID_H */
