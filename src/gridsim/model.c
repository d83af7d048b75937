/*-------------------------------------------------------------------------
 *
 * model.c
 *	  The grid model of fluss-gridsim: per-region daily load curves in
 *	  Asia/Shanghai local time, generation by station kind, AGC dispatch,
 *	  regional frequency from the generation-load balance, bus voltages,
 *	  and the faults that disturb them.  docs/SIMULATOR.md gives every
 *	  formula with its units and the GRID.md fact it follows.
 *
 *	  Determinism: every random number comes from xoshiro256** generators
 *	  seeded from --seed; a station's fixed parameters come from a generator
 *	  seeded from (seed, station_id), so they do not depend on which other
 *	  stations are simulated.  The dynamics consume one generator in station
 *	  order, the same for the same stations, seed and time grid.  Stochastic
 *	  states are AR(1) processes discretized exactly (a = exp(-dt/tau)), and
 *	  every relaxation uses 1 - exp(-dt/tau), so the model is stable and
 *	  consistent for any sample interval.
 *
 * IDENTIFICATION
 *	  src/gridsim/model.c
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gridsim.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#define NOMINAL_HZ 50.0

/* frequency response: load damping D plus governors' droop 1/R (R = 5%) */
#define STIFFNESS	   (1.5 + 1.0 / 0.05) /* p.u. power per p.u. frequency */
#define TAU_FREQ	   4.0				  /* s, inertia: the swing settles */
#define TAU_AGC		   30.0				  /* s, AGC restores the balance */
#define FREQ_NOISE_HZ  0.006			  /* regional frequency noise, Hz */
#define TAU_FREQ_NOISE 20.0
#define FREQ_MIN_HZ	   49.0 /* under-frequency load shedding floor */
#define FREQ_MAX_HZ	   51.0

#define TAU_LOAD		120.0 /* s, station load noise */
#define LOAD_NOISE		0.02
#define TAU_WEATHER		(3 * 3600.0) /* s, regional demand deviation */
#define WEATHER_NOISE	0.03
#define TAU_VOLT		30.0
#define TAU_WIND_REGION (2 * 3600.0)
#define TAU_WIND_SLOW	(1800.0)
#define TAU_WIND_GUST	15.0
#define TAU_CLOUD		600.0
#define TAU_GEN			60.0

/* the seven regional grids (GRID.md, Organisation) */
static const struct
{
	const char *name;
	double latitude;
	double longitude;
	double morning;
	double afternoon;
	double evening;
	double shift_h;
} region_defs[] = {
	{ "华北", 39.9, 116.4, 0.28, 0.12, 0.36, 0.0 },
	{ "华东", 31.2, 121.5, 0.30, 0.16, 0.32, 0.0 },
	{ "华中", 30.6, 114.3, 0.27, 0.12, 0.37, 0.2 },
	{ "东北", 45.8, 126.6, 0.25, 0.08, 0.40, -0.5 },
	{ "西北", 36.1, 103.8, 0.26, 0.10, 0.35, 1.0 },
	{ "西南", 30.7, 104.1, 0.27, 0.12, 0.36, 0.8 },
	{ "华南", 23.1, 113.3, 0.28, 0.22, 0.30, 0.3 },
};

static const char *const kind_names[] = { "thermal", "hydro",	"wind",
										  "solar",	 "nuclear", "substation" };

static double clamp(double x, double lo, double hi);
static double bump(double h, double centre, double width);
static double ar1(GsRng *rng, double x, double a);
static double trip_availability(const GsStation *s, int64_t t);
static double load_curve(const GsRegion *r, int64_t t);
static double solar_elevation_sin(double latitude, double longitude,
								  int64_t t);
static double wind_power(double v);
static double aux_load(const GsStation *s, double gen);

/* ------------------------------------------------------------------------
 * Pseudo-random numbers: splitmix64 to seed, xoshiro256** to draw
 * (Blackman and Vigna, https://prng.di.unimi.it/)
 * ------------------------------------------------------------------------
 */

/*
 * GsSplitmix64: next value of the splitmix64 sequence with state *x.
 */
uint64_t
GsSplitmix64(uint64_t *x)
{
	uint64_t z = (*x += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

/*
 * GsRngSeed: seed a xoshiro256** generator from one 64-bit value.
 */
void
GsRngSeed(GsRng *rng, uint64_t seed)
{
	uint64_t x = seed;

	for (int i = 0; i < 4; i++)
		rng->s[i] = GsSplitmix64(&x);
	rng->have_spare = false;
	rng->spare = 0.0;
}

/* rotl: rotate x left by k bits */
static inline uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/*
 * GsRngNext: next 64 random bits (xoshiro256**).
 */
uint64_t
GsRngNext(GsRng *rng)
{
	uint64_t *s = rng->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

/*
 * GsRngUniform: uniform double in [0, 1) from the top 53 bits.
 */
double
GsRngUniform(GsRng *rng)
{
	return (GsRngNext(rng) >> 11) * 0x1.0p-53;
}

/*
 * GsRngBelow: uniform integer in [0, n), n > 0 (Lemire's method without
 * the rejection step; the bias is below 2^-32 for the small n used here).
 */
uint64_t
GsRngBelow(GsRng *rng, uint64_t n)
{
	return (uint64_t) (((unsigned __int128) GsRngNext(rng) * n) >> 64);
}

/*
 * GsRngNormal: standard normal deviate (Box-Muller, both values used).
 */
double
GsRngNormal(GsRng *rng)
{
	double u1, u2, r;

	if (rng->have_spare)
	{
		rng->have_spare = false;
		return rng->spare;
	}
	do
		u1 = GsRngUniform(rng);
	while (u1 <= 0.0);
	u2 = GsRngUniform(rng);
	r = sqrt(-2.0 * log(u1));
	rng->spare = r * sin(2.0 * M_PI * u2);
	rng->have_spare = true;
	return r * cos(2.0 * M_PI * u2);
}

/* ------------------------------------------------------------------------
 * Time helpers (proleptic Gregorian calendar, H. Hinnant's algorithms)
 * ------------------------------------------------------------------------
 */

/*
 * GsDaysFromCivil: days since 1970-01-01 of the date y-m-d.
 */
int64_t
GsDaysFromCivil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned) (y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t) doe - 719468;
}

/*
 * GsCivilFromDays: the date of day z since 1970-01-01.
 */
void
GsCivilFromDays(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned) (z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t) yoe + era * 400 + (*m <= 2);
}

/*
 * GsFormatTimestamp: write t as "YYYY-MM-DD HH:MM:SS[.ffffff]+HH" in the
 * zone UTC+offset (whole hours) into buf (at least 40 bytes); returns the
 * length.  The fraction is printed only when not zero.
 */
int
GsFormatTimestamp(char *buf, int64_t t, int64_t offset)
{
	int64_t local = t + offset;
	int64_t days = local / GS_USEC_PER_DAY;
	int64_t rem = local % GS_USEC_PER_DAY;
	int64_t y;
	unsigned m, d;
	int len;
	int sec, usec;
	int off_h = (int) (offset / GS_USEC_PER_HOUR);

	if (rem < 0)
	{
		rem += GS_USEC_PER_DAY;
		days--;
	}
	GsCivilFromDays(days, &y, &m, &d);
	sec = (int) (rem / GS_USEC_PER_SEC);
	usec = (int) (rem % GS_USEC_PER_SEC);
	len = sprintf(buf, "%04lld-%02u-%02u %02d:%02d:%02d", (long long) y, m, d,
				  sec / 3600, sec / 60 % 60, sec % 60);
	if (usec != 0)
		len += sprintf(buf + len, ".%06d", usec);
	len += sprintf(buf + len, "%c%02d", off_h < 0 ? '-' : '+', abs(off_h));
	return len;
}

/* ------------------------------------------------------------------------
 * Stations and regions
 * ------------------------------------------------------------------------
 */

/*
 * GsKindName: the dim_station.kind text of a kind.
 */
const char *
GsKindName(GsKind kind)
{
	return kind_names[kind];
}

/*
 * GsKindFromName: parse a dim_station.kind; false when unknown.
 */
bool
GsKindFromName(const char *name, GsKind *kind)
{
	for (int i = 0; i < (int) (sizeof(kind_names) / sizeof(kind_names[0]));
		 i++)
	{
		if (strcmp(name, kind_names[i]) == 0)
		{
			*kind = (GsKind) i;
			return true;
		}
	}
	return false;
}

/*
 * GsKindGenerates: true for the power plant kinds.
 */
bool
GsKindGenerates(GsKind kind)
{
	return kind != GS_SUBSTATION;
}

/*
 * GsModelRegion: index of the region called name, added if new (with the
 * built-in parameters of the seven regional grids, or neutral ones).
 */
int
GsModelRegion(GsModel *model, const char *name)
{
	GsRegion *r;

	for (int i = 0; i < model->nregions; i++)
		if (strcmp(model->regions[i].name, name) == 0)
			return i;

	model->regions =
		realloc(model->regions, (model->nregions + 1) * sizeof(GsRegion));
	if (model->regions == NULL)
	{
		fprintf(stderr, "fluss-gridsim: out of memory\n");
		exit(1);
	}
	r = &model->regions[model->nregions];
	memset(r, 0, sizeof(*r));
	r->name = strdup(name);
	r->latitude = 32.0;
	r->default_lon = 112.0;
	r->morning = 0.28;
	r->afternoon = 0.12;
	r->evening = 0.35;
	r->shift_h = 0.0;
	for (int i = 0; i < (int) (sizeof(region_defs) / sizeof(region_defs[0]));
		 i++)
	{
		if (strcmp(region_defs[i].name, name) == 0)
		{
			r->latitude = region_defs[i].latitude;
			r->default_lon = region_defs[i].longitude;
			r->morning = region_defs[i].morning;
			r->afternoon = region_defs[i].afternoon;
			r->evening = region_defs[i].evening;
			r->shift_h = region_defs[i].shift_h;
		}
	}
	return model->nregions++;
}

/*
 * GsModelInit: draw the stations' fixed parameters and the initial
 * stochastic states; the first GsModelStep starts in balance.
 */
void
GsModelInit(GsModel *model, uint64_t seed)
{
	uint64_t x = seed;

	GsRngSeed(&model->rng, GsSplitmix64(&x));
	for (int i = 0; i < model->nstations; i++)
	{
		GsStation *s = &model->stations[i];
		GsRng own;

		GsRngSeed(&own, seed ^ ((uint64_t) (uint32_t) s->id *
								UINT64_C(0xD1B54A32D192ED03)));
		s->load_share = 0.60 + 0.25 * GsRngUniform(&own);
		s->v_bias = -0.005 + 0.03 * GsRngUniform(&own);
		s->wind_mean = 6.0 + 2.5 * GsRngUniform(&own);
		s->x_load = GsRngNormal(&own);
		s->x_volt = GsRngNormal(&own);
		s->x_wind_slow = GsRngNormal(&own);
		s->x_wind_gust = GsRngNormal(&own);
		s->x_cloud = GsRngNormal(&own);
		s->x_gen = GsRngNormal(&own);
		if (isnan(s->longitude))
			s->longitude = model->regions[s->region].default_lon;
	}
	for (int i = 0; i < model->nregions; i++)
	{
		GsRegion *r = &model->regions[i];

		r->x_freq = GsRngNormal(&model->rng);
		r->x_weather = GsRngNormal(&model->rng);
		r->x_wind = GsRngNormal(&model->rng);
	}
	model->started = false;
}

/* ------------------------------------------------------------------------
 * The model's pieces
 * ------------------------------------------------------------------------
 */

static double
clamp(double x, double lo, double hi)
{
	return x < lo ? lo : (x > hi ? hi : x);
}

/* Gaussian bump of the hour of day h, circular over 24 h */
static double
bump(double h, double centre, double width)
{
	double d = fabs(h - centre);

	if (d > 12.0)
		d = 24.0 - d;
	return exp(-0.5 * d * d / (width * width));
}

/* one exact step of a unit-variance AR(1) process with a = exp(-dt/tau) */
static double
ar1(GsRng *rng, double x, double a)
{
	return a * x + sqrt(1.0 - a * a) * GsRngNormal(rng);
}

/*
 * trip_availability: 1 in service, 0 while tripped, ramping linearly back
 * to 1 between trip_until and trip_full (resynchronization).
 */
static double
trip_availability(const GsStation *s, int64_t t)
{
	if (t < s->trip_until)
		return 0.0;
	if (t < s->trip_full)
		return (double) (t - s->trip_until) /
			   (double) (s->trip_full - s->trip_until);
	return 1.0;
}

/*
 * load_curve: a region's demand at time t relative to its daily peak: the
 * night valley around 04:00, the morning peak around 10:30 and the evening
 * peak around 20:00 local time, a weekend dip and summer/winter peaks.
 */
static double
load_curve(const GsRegion *r, int64_t t)
{
	int64_t local = t + GS_LOCAL_OFFSET;
	int64_t days = local / GS_USEC_PER_DAY - (local % GS_USEC_PER_DAY < 0);
	double h = (double) (local - days * GS_USEC_PER_DAY) / GS_USEC_PER_HOUR -
			   r->shift_h;
	int weekday = (int) (((days % 7) + 7 + 3) % 7); /* 0 = Monday */
	int64_t y;
	unsigned m, d;
	double doy, shape;

	GsCivilFromDays(days, &y, &m, &d);
	doy = (double) (days - GsDaysFromCivil(y, 1, 1));
	shape = 0.60 + r->morning * bump(h, 10.5, 2.2) +
			r->afternoon * bump(h, 15.0, 2.5) +
			r->evening * bump(h, 20.0, 1.8) - 0.05 * bump(h, 4.0, 2.0);
	if (weekday >= 5)
		shape *= 0.93;
	/* peaks in late July (cooling) and late January (heating) */
	shape *= 1.0 + 0.05 * cos(2.0 * M_PI * (doy - 205.0) / 182.5);
	return shape;
}

/*
 * solar_elevation_sin: sine of the sun's elevation at (latitude,
 * longitude) at time t: declination from the day of the year, hour angle
 * from local mean solar time (UTC + longitude / 15 h).
 */
static double
solar_elevation_sin(double latitude, double longitude, int64_t t)
{
	int64_t days = t / GS_USEC_PER_DAY - (t % GS_USEC_PER_DAY < 0);
	double utc_h = (double) (t - days * GS_USEC_PER_DAY) / GS_USEC_PER_HOUR;
	int64_t y;
	unsigned m, d;
	double doy, decl, hour_angle, lat = latitude * M_PI / 180.0;

	GsCivilFromDays(days, &y, &m, &d);
	doy = (double) (days - GsDaysFromCivil(y, 1, 1)) + 1.0;
	decl = 23.44 * M_PI / 180.0 * sin(2.0 * M_PI * (284.0 + doy) / 365.0);
	hour_angle = (utc_h + longitude / 15.0 - 12.0) * 15.0 * M_PI / 180.0;
	return sin(lat) * sin(decl) + cos(lat) * cos(decl) * cos(hour_angle);
}

/*
 * wind_power: a wind farm's power curve, fraction of rated output at wind
 * speed v m/s: cut-in 3, rated 12, and above 25 m/s a linear decline to 0
 * at 35 m/s (the farm's turbines cut out one by one, storm control), not
 * the single turbine's cliff at 25 m/s.
 */
static double
wind_power(double v)
{
	if (v < 3.0 || v >= 35.0)
		return 0.0;
	if (v >= 25.0)
		return (35.0 - v) / 10.0;
	if (v >= 12.0)
		return 1.0;
	return (v * v * v - 27.0) / (1728.0 - 27.0);
}

/*
 * aux_load: a plant's own consumption (厂用电) in MW at output gen: a fixed
 * part of its capacity plus a part of its output.
 */
static double
aux_load(const GsStation *s, double gen)
{
	switch (s->kind)
	{
		case GS_THERMAL:
			return 0.010 * s->capacity_mw + 0.050 * gen;
		case GS_NUCLEAR:
			return 0.010 * s->capacity_mw + 0.040 * gen;
		case GS_HYDRO:
			return 0.002 * s->capacity_mw + 0.005 * gen;
		case GS_WIND:
			return 0.003 * s->capacity_mw;
		case GS_SOLAR:
			return 0.001 * s->capacity_mw;
		case GS_SUBSTATION:
			break;
	}
	return 0.0;
}

/* pmin_fraction: minimum stable output of a dispatchable unit (fraction
 * of capacity) */
static double
pmin_fraction(GsKind kind)
{
	return kind == GS_THERMAL ? 0.40 : 0.0;
}

/* ------------------------------------------------------------------------
 * One step
 * ------------------------------------------------------------------------
 */

/*
 * GsModelStep: advance the model to time t, dt after the previous step
 * (ignored for the first step, which starts in balance), and leave each
 * station's sample in its load_mw, generation_mw, frequency_hz and
 * voltage_kv.
 */
void
GsModelStep(GsModel *model, int64_t t, int64_t dt)
{
	double dts = model->started ? (double) dt / GS_USEC_PER_SEC : 0.0;
	double a_load = exp(-dts / TAU_LOAD);
	double a_volt = exp(-dts / TAU_VOLT);
	double a_weather = exp(-dts / TAU_WEATHER);
	double a_wind_r = exp(-dts / TAU_WIND_REGION);
	double a_wind_s = exp(-dts / TAU_WIND_SLOW);
	double a_gust = exp(-dts / TAU_WIND_GUST);
	double a_cloud = exp(-dts / TAU_CLOUD);
	double a_gen = exp(-dts / TAU_GEN);
	double a_fnoise = exp(-dts / TAU_FREQ_NOISE);
	double relax_agc = 1.0 - exp(-dts / TAU_AGC);
	double relax_freq = 1.0 - exp(-dts / TAU_FREQ);
	int64_t local = t + GS_LOCAL_OFFSET;
	int64_t days = local / GS_USEC_PER_DAY - (local % GS_USEC_PER_DAY < 0);
	int64_t y;
	unsigned m, d;
	double doy, hydro_avail;
	GsRng *rng = &model->rng;

	/* hydro: wet season (June to September) full, dry season 55% */
	GsCivilFromDays(days, &y, &m, &d);
	doy = (double) (days - GsDaysFromCivil(y, 1, 1));
	hydro_avail = 0.55 + 0.45 * bump(doy / 365.0 * 24.0, 200.0 / 365.0 * 24.0,
									 55.0 / 365.0 * 24.0);

	/* regional states and sums */
	for (int i = 0; i < model->nregions; i++)
	{
		GsRegion *r = &model->regions[i];

		r->x_weather = ar1(rng, r->x_weather, a_weather);
		r->x_wind = ar1(rng, r->x_wind, a_wind_r);
		r->x_freq = ar1(rng, r->x_freq, a_fnoise);
		r->load_mw = r->aux_dispatch; /* until this step's dispatch */
		r->generation_mw = 0.0;
		r->base_mw = 0.0;
	}

	/*
	 * Pass 1: demand of substations and output of the non-dispatchable
	 * plants (nuclear, wind, solar).
	 */
	for (int i = 0; i < model->nstations; i++)
	{
		GsStation *s = &model->stations[i];
		GsRegion *r = &model->regions[s->region];
		double avail = trip_availability(s, t);
		double gen = 0.0;

		s->x_load = ar1(rng, s->x_load, a_load);
		s->x_volt = ar1(rng, s->x_volt, a_volt);
		s->x_gen = ar1(rng, s->x_gen, a_gen);
		if (s->kind != GS_SUBSTATION)
			r->base_mw += s->capacity_mw;

		switch (s->kind)
		{
			case GS_SUBSTATION:
				s->load_mw =
					clamp(s->capacity_mw * s->load_share * load_curve(r, t) *
							  (1.0 + WEATHER_NOISE * r->x_weather) *
							  (1.0 + LOAD_NOISE * s->x_load),
						  0.0, s->capacity_mw);
				s->generation_mw = 0.0;
				r->load_mw += s->load_mw;
				continue;
			case GS_NUCLEAR:
				gen = s->capacity_mw * (0.975 + 0.004 * s->x_gen);
				break;
			case GS_WIND:
			{
				double v;

				s->x_wind_slow = ar1(rng, s->x_wind_slow, a_wind_s);
				s->x_wind_gust = ar1(rng, s->x_wind_gust, a_gust);
				v = s->wind_mean *
					exp(0.30 * r->x_wind + 0.20 * s->x_wind_slow +
						0.06 * s->x_wind_gust);
				gen = 0.97 * s->capacity_mw * wind_power(v);
			}
			break;
			case GS_SOLAR:
			{
				double el = solar_elevation_sin(r->latitude, s->longitude, t);
				double cloud;

				s->x_cloud = ar1(rng, s->x_cloud, a_cloud);
				cloud = clamp(0.80 + 0.20 * s->x_cloud, 0.25, 1.0);
				gen = el > 0.0 ?
						  0.88 * s->capacity_mw * pow(el, 1.15) * cloud :
						  0.0;
			}
			break;
			case GS_THERMAL:
			case GS_HYDRO:
				continue; /* dispatched in pass 2 */
		}
		gen = clamp(gen * avail, 0.0, s->capacity_mw);
		s->generation_mw = gen;
		s->load_mw = aux_load(s, gen) * (1.0 + 0.02 * s->x_load);
		r->load_mw += s->load_mw;
		r->generation_mw += gen;
	}

	/*
	 * AGC: the thermal and hydro fleet of each region is dispatched to
	 * cover demand minus the other plants' output between its minimum and
	 * maximum; the tie lines take the rest.  Both move towards that target
	 * with time constant TAU_AGC (the first step starts on target).
	 */
	for (int i = 0; i < model->nregions; i++)
	{
		GsRegion *r = &model->regions[i];
		double pmin = 0.0, pmax = 0.0, need, u_target, import_target;

		for (int j = 0; j < model->nstations; j++)
		{
			GsStation *s = &model->stations[j];
			double avail, hi;

			if (s->region != i ||
				(s->kind != GS_THERMAL && s->kind != GS_HYDRO))
				continue;
			avail = trip_availability(s, t);
			hi = s->capacity_mw * avail *
				 (s->kind == GS_HYDRO ? hydro_avail : 1.0);
			pmax += hi;
			pmin += fmin(hi, s->capacity_mw * pmin_fraction(s->kind));
		}
		need = r->load_mw - r->generation_mw;
		u_target =
			pmax > pmin ? clamp((need - pmin) / (pmax - pmin), 0, 1) : 0;
		import_target = need - (pmin + u_target * (pmax - pmin));
		if (!model->started)
		{
			r->u = u_target;
			r->import_mw = import_target;
		}
		else
		{
			r->u += (u_target - r->u) * relax_agc;
			r->import_mw += (import_target - r->import_mw) * relax_agc;
		}
		r->load_mw -= r->aux_dispatch;
		r->aux_dispatch = 0.0;
	}

	/* Pass 2: thermal and hydro output at the dispatch level */
	for (int i = 0; i < model->nstations; i++)
	{
		GsStation *s = &model->stations[i];
		GsRegion *r = &model->regions[s->region];
		double avail, hi, lo, gen;

		if (s->kind != GS_THERMAL && s->kind != GS_HYDRO)
			continue;
		avail = trip_availability(s, t);
		hi =
			s->capacity_mw * avail * (s->kind == GS_HYDRO ? hydro_avail : 1.0);
		lo = fmin(hi, s->capacity_mw * pmin_fraction(s->kind));
		gen = (lo + r->u * (hi - lo)) * (1.0 + 0.002 * s->x_gen);
		gen = clamp(gen, 0.0, hi);
		s->generation_mw = gen;
		s->load_mw = aux_load(s, gen) * (1.0 + 0.02 * s->x_load);
		r->aux_dispatch += s->load_mw;
		r->load_mw += s->load_mw;
		r->generation_mw += gen;
	}

	/*
	 * Frequency: the imbalance (generation + import - load) over the
	 * region's base, divided by the stiffness (primary regulation and load
	 * damping), is where the frequency settles; inertia makes it get there
	 * with time constant TAU_FREQ.
	 */
	for (int i = 0; i < model->nregions; i++)
	{
		GsRegion *r = &model->regions[i];
		double imbalance = r->generation_mw + r->import_mw - r->load_mw;
		double df_target;

		r->base_mw = fmax(fmax(r->base_mw, r->load_mw), 1.0);
		df_target = NOMINAL_HZ * imbalance / (STIFFNESS * r->base_mw);
		if (!model->started)
			r->df = df_target;
		else
			r->df += (df_target - r->df) * relax_freq;
		r->frequency_hz = clamp(NOMINAL_HZ + r->df + FREQ_NOISE_HZ * r->x_freq,
								FREQ_MIN_HZ, FREQ_MAX_HZ);
	}

	/* each station measures its region's frequency and its bus voltage */
	for (int i = 0; i < model->nstations; i++)
	{
		GsStation *s = &model->stations[i];
		GsRegion *r = &model->regions[s->region];
		double loading =
			(s->kind == GS_SUBSTATION ? s->load_mw : s->generation_mw) /
			s->capacity_mw;
		double pu =
			1.0 + s->v_bias + 0.006 * s->x_volt - 0.02 * (loading - 0.6);

		/* GB/T 12325: 35 kV and above within 10% in all, else +-7% */
		if (s->nominal_kv >= 35.0)
			pu = clamp(pu, 0.975, 1.065);
		else
			pu = clamp(pu, 0.96, 1.05);
		if (t < s->sag_until)
			pu *= s->sag_depth;
		else if (t < r->sag_until)
			pu *= r->sag_depth;
		s->voltage_kv = s->nominal_kv * pu;
		s->frequency_hz = r->frequency_hz + 0.0005 * GsRngNormal(rng);
	}
	model->started = true;
	model->t = t;
}

/* ------------------------------------------------------------------------
 * Faults
 * ------------------------------------------------------------------------
 */

/*
 * GsTrip: station trips at t: no output for outage, then back to full
 * availability over ramp.  Returns the output lost (MW, of the last step).
 */
double
GsTrip(GsModel *model, int station, int64_t t, int64_t outage, int64_t ramp)
{
	GsStation *s = &model->stations[station];

	s->trip_until = t + outage;
	s->trip_full = t + outage + ramp;
	return s->generation_mw;
}

/*
 * GsDip: the region suddenly loses fraction of its base as import (an
 * HVDC block): a generation deficit the frequency falls with until AGC
 * restores the balance.  Returns the MW lost.
 */
double
GsDip(GsModel *model, int region, double fraction)
{
	GsRegion *r = &model->regions[region];
	double lost = fraction * fmax(r->base_mw, 1.0);

	r->import_mw -= lost;
	return lost;
}

/*
 * GsSag: a fault near station at t: its bus voltage falls to 70-90% of
 * its value for duration, the rest of its region sags a third as deep.
 * Returns the residual voltage (p.u.).
 */
double
GsSag(GsModel *model, int station, int64_t t, int64_t duration, GsRng *rng)
{
	GsStation *s = &model->stations[station];
	GsRegion *r = &model->regions[s->region];
	double depth = 0.70 + 0.20 * GsRngUniform(rng);

	s->sag_until = t + duration;
	s->sag_depth = depth;
	r->sag_until = t + duration;
	r->sag_depth = 1.0 - (1.0 - depth) / 3.0;
	return depth;
}
