/*-------------------------------------------------------------------------
 *
 * options.c
 *	  fluss-gridsim's command line: the --help text, argument checks (a bad
 *	  argument prints a message and a hint and exits with status 2) and
 *	  the parsing of durations, timestamps and --faults specifications.
 *
 * IDENTIFICATION
 *	  src/gridsim/options.c
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

const char *const dirty_names[DIRTY_NKINDS] = {
	"nan",			"duplicate",	 "correction",
	"out_of_order", "late",			 "unknown_station",
	"future_ts",	"bad_frequency", "negative_load"
};

const char *const fault_names[FAULT_NKINDS] = { "trip", "dip", "sag" };

/* usage: the --help text */
void
usage(FILE *f)
{
	fprintf(
		f,
		"%s streams simulated power-grid telemetry into a fluss_grid warehouse.\n"
		"\n"
		"Usage:\n"
		"  %s [OPTION]... [CONNINFO]\n"
		"\n"
		"CONNINFO is a libpq connection string or URI; without it the PGHOST,\n"
		"PGPORT, PGDATABASE, PGUSER... environment variables apply.\n"
		"\n"
		"Options:\n"
		"      --schema=NAME        schema of dim_station and ods_grid_realtime_raw\n"
		"                           (default grid)\n"
		"      --stations=N         simulate the first N stations by station_id\n"
		"                           (default all)\n"
		"      --start=now|TIME     now: real-time mode, timestamps follow the wall\n"
		"                           clock (default); TIME (e.g. 2026-03-10 08:00,\n"
		"                           Asia/Shanghai unless a zone such as Z or +00 is\n"
		"                           given): replay mode from that time\n"
		"      --duration=D         simulated time to cover, e.g. 90s, 10m, 2h, 1d\n"
		"                           (default: unlimited in real time, 1h in replay)\n"
		"      --interval=D         sample period of each station (replay default 1s;\n"
		"                           real time: stations / rate)\n"
		"      --rate=R             rows per second, wall clock (real-time default:\n"
		"                           one sample per station per second; replay\n"
		"                           default 0 = unlimited)\n"
		"      --seed=S             seed of the random numbers (default 1)\n"
		"      --batch-ms=MS        commit period in milliseconds (default 250)\n"
		"      --dirty=FRACTION     share of rows made dirty, 0..1 (default 0)\n"
		"      --faults=SPEC        faults: KIND@OFFSET[:TARGET],... with KIND trip,\n"
		"                           dip or sag, e.g. trip@5m,dip@8m:华东,sag@9m:17;\n"
		"                           or a random rate, e.g. 2/h or 10/d\n"
		"  -o, --output=FILE        write the COPY data to FILE (- for stdout)\n"
		"                           instead of sending it\n"
		"      --retry-timeout=D    give up reconnecting after D (default 5m)\n"
		"  -q, --quiet              no progress lines\n"
		"  -V, --version            print the version and exit\n"
		"  -h, --help               print this help and exit\n"
		"\n"
		"See docs/SIMULATOR.md of fluss_grid for the model and the data.\n",
		PROGNAME, PROGNAME);
}

/* usage_error: a bad argument: the message, a hint, exit 2 */
void
usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", PROGNAME);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry \"%s --help\" for more information.\n", PROGNAME);
	exit(2);
}

/* ------------------------------------------------------------------------
 * Option parsing
 * ------------------------------------------------------------------------
 */

/*
 * parse_duration: "<number>[ms|s|m|min|h|d]" (seconds without a unit) to
 * microseconds; false when malformed, not positive or too large.
 */
static bool
parse_duration(const char *s, int64_t *usec)
{
	char *end;
	double v, unit;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno != 0 || !isfinite(v) || v <= 0)
		return false;
	if (*end == '\0' || strcmp(end, "s") == 0)
		unit = 1e6;
	else if (strcmp(end, "ms") == 0)
		unit = 1e3;
	else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
		unit = 60e6;
	else if (strcmp(end, "h") == 0)
		unit = 3600e6;
	else if (strcmp(end, "d") == 0)
		unit = 86400e6;
	else
		return false;
	if (v * unit > 1e17 || v * unit < 1)
		return false;
	*usec = (int64_t) llround(v * unit);
	return true;
}

/* parse exactly n digits at *p into *v */
static bool
digits(const char **p, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++)
	{
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return false;
		*v = *v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	return true;
}

/*
 * parse_timestamp: "YYYY-MM-DD[( |T)HH:MM[:SS[.frac]]][Z|UTC|(+|-)HH[[:]MM]]";
 * without a zone the time is Asia/Shanghai (UTC+8).
 */
static bool
parse_timestamp(const char *s, int64_t *t)
{
	const char *p = s;
	int y, mo, d, h = 0, mi = 0, sec = 0;
	int64_t usec = 0, offset = GS_LOCAL_OFFSET;

	if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) ||
		*p++ != '-' || !digits(&p, 2, &d))
		return false;
	if (mo < 1 || mo > 12 || d < 1 || d > 31)
		return false;
	{
		/* a real date: 2026-02-30 does not survive the round trip */
		int64_t ry;
		unsigned rm, rd;

		GsCivilFromDays(GsDaysFromCivil(y, (unsigned) mo, (unsigned) d), &ry,
						&rm, &rd);
		if (ry != y || (int) rm != mo || (int) rd != d)
			return false;
	}
	if (*p == ' ' || *p == 'T')
	{
		p++;
		if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi))
			return false;
		if (*p == ':')
		{
			p++;
			if (!digits(&p, 2, &sec))
				return false;
			if (*p == '.')
			{
				int64_t scale = 100000;

				p++;
				if (*p < '0' || *p > '9')
					return false;
				while (*p >= '0' && *p <= '9')
				{
					usec += (*p - '0') * scale;
					scale /= 10;
					p++;
				}
			}
		}
		if (h > 23 || mi > 59 || sec > 59)
			return false;
	}
	while (*p == ' ')
		p++;
	if (strcmp(p, "Z") == 0 || strcmp(p, "UTC") == 0)
		offset = 0;
	else if (*p == '+' || *p == '-')
	{
		int sign = *p == '-' ? -1 : 1;
		int oh, om = 0;

		p++;
		if (!digits(&p, 2, &oh))
			return false;
		if (*p == ':')
			p++;
		if (*p != '\0' && !digits(&p, 2, &om))
			return false;
		if (*p != '\0' || oh > 15 || om > 59)
			return false;
		offset = sign * (oh * GS_USEC_PER_HOUR + om * GS_USEC_PER_MIN);
	}
	else if (*p != '\0')
		return false;
	*t = GsDaysFromCivil(y, mo, d) * GS_USEC_PER_DAY +
		 (int64_t) (h * 3600 + mi * 60 + sec) * GS_USEC_PER_SEC + usec -
		 offset;
	return true;
}

/*
 * parse_faults: comma-separated KIND@OFFSET[:TARGET] or RATE/h, RATE/d.
 */
static bool
parse_faults(const char *spec, Options *opt)
{
	char *copy = strdup(spec);
	char *save = NULL;

	for (char *item = strtok_r(copy, ",", &save); item != NULL;
		 item = strtok_r(NULL, ",", &save))
	{
		char *at = strchr(item, '@');
		char *slash = strchr(item, '/');

		if (at == NULL && slash != NULL)
		{
			char *end;
			double n = strtod(item, &end);

			if (end != slash || !isfinite(n) || n <= 0)
				return false;
			if (strcmp(slash, "/h") == 0)
				opt->fault_rate_per_hour += n;
			else if (strcmp(slash, "/d") == 0)
				opt->fault_rate_per_hour += n / 24.0;
			else
				return false;
		}
		else if (at != NULL)
		{
			Fault f = { 0 };
			char *colon;
			bool found = false;

			*at = '\0';
			for (int k = 0; k < FAULT_NKINDS; k++)
			{
				if (strcmp(item, fault_names[k]) == 0)
				{
					f.kind = (FaultKind) k;
					found = true;
				}
			}
			if (!found)
				return false;
			colon = strchr(at + 1, ':');
			if (colon != NULL)
			{
				*colon = '\0';
				if (colon[1] == '\0')
					return false;
				f.target = strdup(colon + 1);
			}
			if (!parse_duration(at + 1, &f.offset))
			{
				/* offset 0 is allowed here */
				if (strcmp(at + 1, "0") != 0 && strcmp(at + 1, "0s") != 0)
					return false;
				f.offset = 0;
			}
			opt->faults =
				realloc(opt->faults, (opt->nfaults + 1) * sizeof(Fault));
			if (opt->faults == NULL)
				return false;
			opt->faults[opt->nfaults++] = f;
		}
		else
			return false;
	}
	free(copy);
	return true;
}

/* parse_options: the command line into opt; usage errors exit 2 */
void
parse_options(int argc, char **argv, Options *opt)
{
	static const struct option longopts[] = {
		{ "schema", required_argument, NULL, 1 },
		{ "stations", required_argument, NULL, 2 },
		{ "rate", required_argument, NULL, 3 },
		{ "seed", required_argument, NULL, 4 },
		{ "duration", required_argument, NULL, 5 },
		{ "start", required_argument, NULL, 6 },
		{ "interval", required_argument, NULL, 7 },
		{ "batch-ms", required_argument, NULL, 8 },
		{ "dirty", required_argument, NULL, 9 },
		{ "faults", required_argument, NULL, 10 },
		{ "retry-timeout", required_argument, NULL, 11 },
		{ "output", required_argument, NULL, 'o' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int c;
	char *end;
	bool duration_given = false;

	memset(opt, 0, sizeof(*opt));
	opt->schema = "grid";
	opt->seed = 1;
	opt->realtime = true;
	opt->interval = GS_USEC_PER_SEC;
	opt->batch_ms = 250;
	opt->retry_timeout = 5 * GS_USEC_PER_MIN;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:qVh", longopts, NULL)) != -1)
	{
		switch (c)
		{
			case 1:
				if (optarg[0] == '\0')
					usage_error("--schema must not be empty");
				opt->schema = optarg;
				break;
			case 2:
			{
				long n;

				errno = 0;
				n = strtol(optarg, &end, 10);
				if (*end != '\0' || end == optarg || errno != 0 || n < 1 ||
					n > INT_MAX)
					usage_error("invalid value for --stations: \"%s\"",
								optarg);
				opt->stations = (int) n;
			}
			break;
			case 3:
				errno = 0;
				opt->rate = strtod(optarg, &end);
				if (*end != '\0' || end == optarg || errno != 0 ||
					!isfinite(opt->rate) || opt->rate < 0)
					usage_error("invalid value for --rate: \"%s\"", optarg);
				opt->rate_given = true;
				break;
			case 4:
				errno = 0;
				opt->seed = strtoull(optarg, &end, 10);
				if (*end != '\0' || end == optarg || errno != 0 ||
					optarg[0] == '-')
					usage_error("invalid value for --seed: \"%s\"", optarg);
				break;
			case 5:
				if (!parse_duration(optarg, &opt->duration))
					usage_error("invalid value for --duration: \"%s\"",
								optarg);
				duration_given = true;
				break;
			case 6:
				if (strcmp(optarg, "now") == 0)
					opt->realtime = true;
				else if (parse_timestamp(optarg, &opt->start))
					opt->realtime = false;
				else
					usage_error(
						"invalid value for --start: \"%s\" (now or a time such as \"2026-03-10 08:00:00+08\")",
						optarg);
				break;
			case 7:
				if (!parse_duration(optarg, &opt->interval))
					usage_error("invalid value for --interval: \"%s\"",
								optarg);
				opt->interval_given = true;
				break;
			case 8:
			{
				long n;

				errno = 0;
				n = strtol(optarg, &end, 10);
				if (*end != '\0' || end == optarg || errno != 0 || n < 1 ||
					n > 3600000)
					usage_error("invalid value for --batch-ms: \"%s\"",
								optarg);
				opt->batch_ms = (int) n;
			}
			break;
			case 9:
				errno = 0;
				opt->dirty = strtod(optarg, &end);
				if (*end != '\0' || end == optarg || errno != 0 ||
					!(opt->dirty >= 0 && opt->dirty <= 1))
					usage_error(
						"invalid value for --dirty: \"%s\" (a fraction from 0 to 1)",
						optarg);
				break;
			case 10:
				if (!parse_faults(optarg, opt))
					usage_error("invalid value for --faults: \"%s\"", optarg);
				break;
			case 11:
				if (!parse_duration(optarg, &opt->retry_timeout))
					usage_error("invalid value for --retry-timeout: \"%s\"",
								optarg);
				break;
			case 'o':
				opt->output = optarg;
				break;
			case 'q':
				opt->quiet = true;
				break;
			case 'V':
				printf("%s (fluss_grid) %s\n", PROGNAME, GRIDSIM_VERSION);
				exit(0);
			case 'h':
				usage(stdout);
				exit(0);
			case ':':
				usage_error("option \"%s\" needs a value", argv[optind - 1]);
				break;
			default:
				usage_error("unknown option \"%s\"", argv[optind - 1]);
		}
	}
	if (optind < argc)
		opt->conninfo = argv[optind++];
	if (optind < argc)
		usage_error("too many arguments (first extra one: \"%s\")",
					argv[optind]);
	if (opt->realtime && opt->rate_given && opt->interval_given)
		usage_error(
			"--rate and --interval conflict in real-time mode (the interval is stations / rate)");
	if (opt->realtime && opt->rate_given && opt->rate == 0)
		usage_error("--rate must be above 0 in real-time mode");
	if (!opt->realtime && !duration_given)
		opt->duration = GS_USEC_PER_HOUR;
}
