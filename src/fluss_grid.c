/*-------------------------------------------------------------------------
 *
 * fluss_grid.c
 *	  Module entry point: GUCs, worker registration, the columnar table
 *	  access method's hooks.
 *
 * IDENTIFICATION
 *	  src/fluss_grid.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"

#include "fluss_grid.h"
#include "tam/columnar.h"

PG_MODULE_MAGIC;

bool		fluss_grid_enabled = true;
int			fluss_grid_naptime = 1000;
int			fluss_grid_fold_interval = 2;
int			fluss_grid_log_level = DEBUG1;
int			fluss_grid_max_databases = 32;
int			fluss_grid_capture_method = FG_CAPTURE_METHOD_C;
int			fluss_grid_batch_size = 0;
int			fluss_grid_worker_share = 10;
int			fluss_grid_upper_fold_interval = 1000;
int			fluss_grid_workers_per_database = 3;
int			fluss_grid_max_batch_wait = 25;
int			fluss_grid_fold_method = FG_FOLD_METHOD_C;

static const struct config_enum_entry capture_method_options[] = {
	{"c", FG_CAPTURE_METHOD_C, false},
	{"sql", FG_CAPTURE_METHOD_SQL, false},
	{NULL, 0, false}
};

static const struct config_enum_entry fold_method_options[] = {
	{"c", FG_FOLD_METHOD_C, false},
	{"sql", FG_FOLD_METHOD_SQL, false},
	{NULL, 0, false}
};

static const struct config_enum_entry log_level_options[] = {
	{"debug2", DEBUG2, false},
	{"debug1", DEBUG1, false},
	{"log", LOG, false},
	{"info", INFO, false},
	{"notice", NOTICE, false},
	{"warning", WARNING, false},
	{NULL, 0, false}
};

void		_PG_init(void);
static void GucInit(void);

/*
 * _PG_init
 *		Define GUCs; when preloaded, register the launcher and its shared
 *		memory.  Loaded later (CREATE EXTENSION without preloading), the
 *		extension works without workers: folds run on request.
 */
void
_PG_init(void)
{
	GucInit();
	if (process_shared_preload_libraries_in_progress)
		FgWorkerInit();
	TamInit();
}

static void
GucInit(void)
{
	DefineCustomBoolVariable("fluss_grid.enabled",
							 "Whether background workers fold changelogs into rollups.",
							 "When off, changes are still captured and wait in the changelog.",
							 &fluss_grid_enabled,
							 true,
							 PGC_SIGHUP, 0,
							 NULL, NULL, NULL);
	DefineCustomIntVariable("fluss_grid.naptime",
							"Longest time a worker sleeps when no commit wakes it.",
							"Commits wake the worker at once; this bounds retries after errors.",
							&fluss_grid_naptime,
							1000, 10, 3600 * 1000,
							PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);
	DefineCustomIntVariable("fluss_grid.fold_interval",
							"Shortest time between two fold passes of a worker.",
							"Under a stream of small commits, waiting this long lets one pass fold many of them instead of one pass per commit.",
							&fluss_grid_fold_interval,
							2, 0, 1000,
							PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);
	DefineCustomIntVariable("fluss_grid.worker_share",
							"Share of one CPU, in percent, that a worker may take while commits arrive densely.",
							"After a pass, a worker waits until the pass's time is this share of the time since it began: 10 leaves nine tenths of a core to the writers; 100 folds again at once, for the freshest rollups under a heavy stream.",
							&fluss_grid_worker_share,
							10, 1, 100,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("fluss_grid.max_batch_wait",
							"Under a dense stream of commits, longest time from the start of a worker's pass to the start of its next.",
							"Bounds the wait that worker_share asks for, so that no commit waits longer than this (or one pass, if passes take longer) before a pass that folds it begins: the first level's freshness is this plus a pass.",
							&fluss_grid_max_batch_wait,
							25, 0, 1000,
							PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);
	DefineCustomIntVariable("fluss_grid.upper_fold_interval",
							"Under a dense stream of commits, the shortest time between two folds of a rollup of a rollup.",
							"The transforms and the rollups of tables are folded in every pass; the upper levels (rollups of rollups) at most this often, one per pass, so that passes stay short. 0 folds every level in every pass.",
							&fluss_grid_upper_fold_interval,
							1000, 0, 3600 * 1000,
							PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);
	DefineCustomIntVariable("fluss_grid.workers_per_database",
							"Split a database's folds between up to this many workers.",
							"A database's folds come in stages (transforms, rollups of tables, rollups of rollups); with more than one stage, each further worker takes the later ones: with all three and 3, one worker per stage. Each worker beyond the first needs one more of max_worker_processes; without a free one the workers that run fold its stages.",
							&fluss_grid_workers_per_database,
							3, 1, FG_NUM_ROLES,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);
	DefineCustomEnumVariable("fluss_grid.log_level",
							 "Message level of the workers' reports of each fold.",
							 NULL,
							 &fluss_grid_log_level,
							 DEBUG1, log_level_options,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);
	DefineCustomIntVariable("fluss_grid.max_databases",
							"Largest number of databases with a fluss_grid worker.",
							NULL,
							&fluss_grid_max_databases,
							32, 1, 1024,
							PGC_POSTMASTER, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("fluss_grid.batch_size",
							"Most changelog rows one fold consumes (0: all).",
							"A larger backlog is folded over several transactions, "
							"whole groups at a time.",
							&fluss_grid_batch_size,
							0, 0, INT_MAX,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);
	DefineCustomEnumVariable("fluss_grid.capture_method",
							 "How the changelog trigger pre-aggregates a statement's rows.",
							 "\"c\" folds inserts and deletes in C, \"sql\" always uses "
							 "the SQL aggregate; both write the same changelog rows.",
							 &fluss_grid_capture_method,
							 FG_CAPTURE_METHOD_C, capture_method_options,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);
	DefineCustomEnumVariable("fluss_grid.fold_method",
							 "How a fold combines changelog rows with the rollup rows.",
							 "\"c\" computes the new rows in C where every aggregate allows "
							 "it and no group needs a recompute, \"sql\" always uses the SQL "
							 "fold; both write the same rollup rows.",
							 &fluss_grid_fold_method,
							 FG_FOLD_METHOD_C, fold_method_options,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);
	DefineCustomBoolVariable("fluss_grid.columnar_customscan",
							 "Whether scans of fluss_columnar tables may use the columnar custom scan.",
							 "The custom scan decodes only the columns a query uses and skips "
							 "row groups whose least and greatest values rule out its quals.",
							 &fluss_grid_columnar_customscan,
							 true,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);
	MarkGUCPrefixReserved("fluss_grid");
}
