/*-------------------------------------------------------------------------
 *
 * gridsim.h
 *	  Shared declarations of fluss-gridsim, the telemetry simulator: the
 *	  pseudo-random generator, the grid model (stations, regions, faults)
 *	  and time helpers.  The model knows nothing of libpq or of the output
 *	  format; fluss-gridsim.c knows nothing of the physics.
 *
 *	  All times are int64 microseconds since 1970-01-01 00:00:00 UTC.
 *
 * IDENTIFICATION
 *	  src/gridsim/gridsim.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef GRIDSIM_H
#define GRIDSIM_H

#include <stdbool.h>
#include <stdint.h>

#define GS_USEC_PER_SEC	 INT64_C(1000000)
#define GS_USEC_PER_MIN	 (60 * GS_USEC_PER_SEC)
#define GS_USEC_PER_HOUR (3600 * GS_USEC_PER_SEC)
#define GS_USEC_PER_DAY	 (86400 * GS_USEC_PER_SEC)

/* Asia/Shanghai: UTC+8 all year (no daylight saving time since 1991) */
#define GS_LOCAL_OFFSET (8 * GS_USEC_PER_HOUR)

/* xoshiro256** state, seeded through splitmix64 */
typedef struct GsRng
{
	uint64_t s[4];
	bool have_spare; /* Box-Muller's second normal deviate */
	double spare;
} GsRng;

extern uint64_t GsSplitmix64(uint64_t *x);
extern void GsRngSeed(GsRng *rng, uint64_t seed);
extern uint64_t GsRngNext(GsRng *rng);
extern double GsRngUniform(GsRng *rng);
extern double GsRngNormal(GsRng *rng);
extern uint64_t GsRngBelow(GsRng *rng, uint64_t n);

typedef enum GsKind
{
	GS_THERMAL,
	GS_HYDRO,
	GS_WIND,
	GS_SOLAR,
	GS_NUCLEAR,
	GS_SUBSTATION
} GsKind;

typedef struct GsStation
{
	/* from grid.dim_station */
	int32_t id;
	int region; /* index into GsModel.regions */
	GsKind kind;
	double capacity_mw;
	double nominal_kv;
	double longitude; /* degrees east */

	/* fixed per station, drawn from (seed, station_id) */
	double load_share; /* substation: loading at the curve's peak */
	double v_bias;	   /* voltage set point, fraction of nominal */
	double wind_mean;  /* wind: mean wind speed, m/s */

	/* stochastic states: AR(1) processes, unit variance */
	double x_load;
	double x_volt;
	double x_wind_slow;
	double x_wind_gust;
	double x_cloud;
	double x_gen;

	/* faults */
	int64_t trip_until; /* out of service before this time */
	int64_t trip_full;	/* back to full availability at this time */
	int64_t sag_until;	/* voltage sag before this time */
	double sag_depth;	/* residual voltage during the sag, p.u. */

	/* the sample of the current step */
	double load_mw;
	double generation_mw;
	double frequency_hz;
	double voltage_kv;
} GsStation;

typedef struct GsRegion
{
	char *name;
	double latitude;	/* for the solar model (not in the contract) */
	double default_lon; /* when a station's longitude is NULL */
	double morning;		/* weights of the load curve's bumps */
	double afternoon;
	double evening;
	double shift_h; /* hours to shift the curve by */

	/* AGC and frequency state */
	double u;			 /* dispatch level of thermal+hydro, 0..1 */
	double import_mw;	 /* tie-line import (negative: export) */
	double df;			 /* frequency deviation without noise, Hz */
	double x_freq;		 /* frequency noise, unit variance */
	double x_weather;	 /* regional demand deviation */
	double x_wind;		 /* regional wind regime */
	double aux_dispatch; /* auxiliary load of thermal+hydro, MW */

	/* sums of the current step */
	double load_mw;
	double generation_mw;
	double base_mw; /* frequency stiffness base */
	double frequency_hz;

	int64_t sag_until; /* sympathetic sag of the whole region */
	double sag_depth;
} GsRegion;

typedef struct GsModel
{
	GsStation *stations;
	int nstations;
	GsRegion *regions;
	int nregions;
	GsRng rng; /* dynamics; consumed in station order */
	bool started;
	int64_t t; /* time of the current step */
} GsModel;

extern const char *GsKindName(GsKind kind);
extern bool GsKindFromName(const char *name, GsKind *kind);
extern bool GsKindGenerates(GsKind kind);

extern int GsModelRegion(GsModel *model, const char *name);
extern void GsModelInit(GsModel *model, uint64_t seed);
extern void GsModelStep(GsModel *model, int64_t t, int64_t dt);

extern double GsTrip(GsModel *model, int station, int64_t t, int64_t outage,
					 int64_t ramp);
extern double GsDip(GsModel *model, int region, double fraction);
extern double GsSag(GsModel *model, int station, int64_t t, int64_t duration,
					GsRng *rng);

/* time helpers (gs_time in model.c) */
extern int64_t GsDaysFromCivil(int64_t y, unsigned m, unsigned d);
extern void GsCivilFromDays(int64_t z, int64_t *y, unsigned *m, unsigned *d);
extern int GsFormatTimestamp(char *buf, int64_t t, int64_t offset);

#endif /* GRIDSIM_H */
