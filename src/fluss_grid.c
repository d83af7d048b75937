/*-------------------------------------------------------------------------
 *
 * fluss_grid.c
 *	  Module entry point: GUCs, worker registration, and the small C
 *	  helpers of the partial-state arithmetic that SQL cannot express.
 *
 * IDENTIFICATION
 *	  src/fluss_grid.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/guc.h"

#include "fluss_grid.h"

PG_MODULE_MAGIC;

PG_FUNCTION_INFO_V1(fluss_grid_yc_retract);

bool		fluss_grid_enabled = true;
int			fluss_grid_naptime = 1000;
int			fluss_grid_log_level = DEBUG1;
int			fluss_grid_max_databases = 32;

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
	MarkGUCPrefixReserved("fluss_grid");
}

/*
 * fluss_grid_yc_retract
 *		Remove the Youngs-Cramer state b from a, the inverse of PostgreSQL's
 *		float8_combine: if a = combine(x, b) then retract(a, b) = x.
 *		Round-off can leave a slightly negative Sxx, clamped to zero.
 */
Datum
fluss_grid_yc_retract(PG_FUNCTION_ARGS)
{
	ArrayType  *a = PG_GETARG_ARRAYTYPE_P(0);
	ArrayType  *b = PG_GETARG_ARRAYTYPE_P(1);
	float8	   *av,
			   *bv;
	float8		N,
				Sx,
				Sxx,
				N2,
				Sx2,
				Sxx2,
				N1,
				Sx1,
				Sxx1;
	Datum		out[3];

	if (ARR_NDIM(a) != 1 || ARR_DIMS(a)[0] != 3 || ARR_HASNULL(a) ||
		ARR_ELEMTYPE(a) != FLOAT8OID ||
		ARR_NDIM(b) != 1 || ARR_DIMS(b)[0] != 3 || ARR_HASNULL(b) ||
		ARR_ELEMTYPE(b) != FLOAT8OID)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("yc_retract expects two 3-element float8 arrays")));
	av = (float8 *) ARR_DATA_PTR(a);
	bv = (float8 *) ARR_DATA_PTR(b);
	N = av[0];
	Sx = av[1];
	Sxx = av[2];
	N2 = bv[0];
	Sx2 = bv[1];
	Sxx2 = bv[2];

	if (N2 == 0)
		PG_RETURN_ARRAYTYPE_P(a);

	N1 = N - N2;
	if (N1 <= 0)
	{
		N1 = 0;
		Sx1 = 0;
		Sxx1 = 0;
	}
	else
	{
		float8		tmp;

		Sx1 = Sx - Sx2;
		/* combine: Sxx = Sxx1 + Sxx2 + N1*N2*(Sx1/N1 - Sx2/N2)^2 / N */
		tmp = Sx1 / N1 - Sx2 / N2;
		Sxx1 = Sxx - Sxx2 - N1 * N2 * tmp * tmp / N;
		if (Sxx1 < 0 || N1 == 1)
			Sxx1 = (N1 == 1) ? 0 : Max(Sxx1, 0);
	}
	out[0] = Float8GetDatumFast(N1);
	out[1] = Float8GetDatumFast(Sx1);
	out[2] = Float8GetDatumFast(Sxx1);
	PG_RETURN_ARRAYTYPE_P(construct_array(out, 3, FLOAT8OID, sizeof(float8),
										  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}
