# test/bench/lib.sh - what the benchmark scripts share.  They define die
# (message, exit 2), then may source it at once for
#   bench_usage                 print the script's header comment (--help)
#   bench_options "NAME..." "$@"   parse the command line: --NAME VALUE sets
#                               the variable NAME in upper case (dashes as
#                               underscores), --keep sets KEEP=true, --help
#                               prints the usage, anything else dies
#   bench_positive VAR...       die unless each variable holds a number >= 1
#   bench_pg_env                as root only; C.UTF-8; PG_CONFIG (default:
#                               PostgreSQL 15's), BINDIR, PKGLIBDIR
# and, once options are parsed and PG_CONFIG, BINDIR, PKGLIBDIR, ROOT, PORT
# and KEEP are set, use:
#   bench_workdir NAME PREFIX   a work directory owned by postgres (WORK,
#                               PGD, SOCK, LOG), and the exit trap that
#                               stops the cluster and removes it (or, with
#                               --keep, says where they are); sets
#                               BUILD_INFO (commit and library checksum)
#   bench_initdb SHARED_BUFFERS initdb in PGD and the settings every
#                               benchmark cluster has (unix socket only,
#                               fluss_grid preloaded, max_wal_size 8GB);
#                               the caller appends its own
#   as_pg, q, pgb               run as postgres: any command, psql, pgbench
#   log, median, pctl, fmt, calc, verdict   reporting
#   BACKEND_CPU_SQL, HZ         a backend's CPU seconds (SQL), clock ticks
#   BENCH_GRID_RAW_COLUMNS, BENCH_ODS_DDL, BENCH_ODS_COPY_COLS,
#   BENCH_REGIONS_SQL           grid_raw's columns, the ODS layout and the
#                               columns a COPY of readings names, the
#                               seven regions as a SQL array
#   rollup_sql                  SQL creating issue 2's two rollups
#   rollup_data_sql, readings_sql   SQL writing the canonical data of the
#                               issue 2 and issue 4 benchmarks to a CSV
#                               file (pipe it into q)
# shellcheck shell=bash

bench_usage() { awk 'NR > 1 && !/^#/ {exit} NR > 1' "$0" | sed 's/^# \{0,1\}//'; }

bench_options() {
	local names=" $1 " opt var
	shift
	while [ $# -gt 0 ]; do
		case "$1" in
			--keep) KEEP=true ;;
			-h | --help)
				bench_usage
				exit 0
				;;
			--*)
				opt=${1#--}
				[[ "$names" == *" $opt "* ]] || die "unknown argument: $1 (try --help)"
				[ $# -ge 2 ] || die "$1 needs a value"
				var=${opt^^}
				printf -v "${var//-/_}" '%s' "$2"
				shift
				;;
			*) die "unknown argument: $1 (try --help)" ;;
		esac
		shift
	done
}

bench_positive() {
	local v
	for v in "$@"; do
		[[ "${!v}" =~ ^[0-9]+$ ]] && [ "${!v}" -ge 1 ] || die "--${v,,} needs a positive number"
	done
}

bench_pg_env() {
	[ "$(id -u)" -eq 0 ] || die "run as root (PostgreSQL runs as postgres through runuser)"
	export LANG=C.UTF-8
	unset LC_ALL
	PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
	[ -x "$PG_CONFIG" ] || die "pg_config not found at $PG_CONFIG"
	BINDIR=$("$PG_CONFIG" --bindir)
	PKGLIBDIR=$("$PG_CONFIG" --pkglibdir)
}

bench_workdir() {
	BENCH_NAME=$1
	BUILD_INFO="installed fluss_grid.so md5 $(md5sum <"$PKGLIBDIR/fluss_grid.so" | cut -c1-12)"
	if git -C "$ROOT" rev-parse --short HEAD >/dev/null 2>&1; then
		BUILD_INFO="tree at commit $(git -C "$ROOT" rev-parse --short HEAD)$(
			[ -z "$(git -C "$ROOT" status --porcelain -- src sql 2>/dev/null)" ] || echo " + uncommitted changes in src/ or sql/"), $BUILD_INFO"
	fi
	WORK=$(mktemp -d "/tmp/$2.XXXXXX")
	chown postgres: "$WORK"
	chmod 755 "$WORK"
	PGD=$WORK/pgdata
	SOCK=$WORK
	LOG=$WORK/postgres.log
	trap bench_cleanup EXIT
	trap 'exit 130' INT TERM
}

as_pg() { runuser -u postgres -- "$@"; }

bench_initdb() {
	log "initdb in $PGD"
	as_pg "$BINDIR/initdb" -D "$PGD" -E UTF8 --locale=C.UTF-8 -A trust -U postgres >/dev/null
	cat >>"$PGD/postgresql.conf" <<EOF
# $BENCH_NAME
port = $PORT
listen_addresses = ''
unix_socket_directories = '$SOCK'
shared_preload_libraries = 'fluss_grid'
shared_buffers = $1
max_wal_size = 8GB
log_min_messages = warning
EOF
}

bench_cleanup() {
	local rc=$?
	if [ -f "$PGD/postmaster.pid" ]; then
		if $KEEP; then
			echo "$BENCH_NAME: cluster left running: $BINDIR/pg_ctl -D $PGD (socket $SOCK, port $PORT)" >&2
		else
			as_pg "$BINDIR/pg_ctl" -D "$PGD" -m immediate -w stop >/dev/null 2>&1 || true
		fi
	fi
	if ! $KEEP; then
		rm -rf "$WORK"
	else
		echo "$BENCH_NAME: work directory kept: $WORK" >&2
	fi
	exit $rc
}

# q DB [psql args...]: psql as postgres, unaligned, tuples only, stop on error
q() {
	local db=$1
	shift
	as_pg "$BINDIR/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$SOCK" -p "$PORT" -d "$db" "$@"
}

# pgb DB [pgbench args...]
pgb() {
	local db=$1
	shift
	as_pg "$BINDIR/pgbench" -h "$SOCK" -p "$PORT" "$@" "$db"
}

log() { echo "== $*" >&2; }

# median of numbers on stdin
median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) {print "nan"; exit} if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
# percentile P (0-100) of numbers on stdin, nearest rank
pctl() { sort -g | awk -v p="$1" '{a[NR]=$1} END {if (NR==0) {print "nan"; exit} r=int((p*NR+99)/100); if (r<1) r=1; if (r>NR) r=NR; print a[r]}'; }
# fmt X [decimals]
fmt() { LC_NUMERIC=C printf "%.${2:-2}f" "$1"; }
calc() { awk "BEGIN {printf \"%.6f\", $*}"; }
# verdict AWK-CONDITION: "yes" or "**no**"
verdict() { awk "BEGIN {exit !($1)}" && echo "yes" || echo "**no**"; }

# a SQL expression: this backend's user + system CPU seconds so far (from
# /proc: on a shared machine steadier than wall-clock time)
HZ=$(getconf CLK_TCK)
BACKEND_CPU_SQL="(SELECT (s[12]::bigint + s[13]::bigint) / ${HZ}.0 FROM (SELECT string_to_array(split_part(pg_read_file('/proc/self/stat'), ') ', 2), ' ') AS s) x)"

# grid_raw's columns (issue 2), and the ODS layout (issue 4) with the
# columns a COPY of readings names.  The ODS layout repeats the table
# create_grid_warehouse makes (sql/fluss_grid--1.0.sql) for a database
# without the extension: change both together.
BENCH_GRID_RAW_COLUMNS="ts            timestamptz NOT NULL,
    region        text        NOT NULL,
    station_id    integer     NOT NULL,
    load_mw       double precision,
    generation_mw double precision,
    frequency_hz  double precision,
    voltage_kv    double precision"
BENCH_ODS_DDL="(ingest_seq    bigint GENERATED BY DEFAULT AS IDENTITY,
          received_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
          station_id    integer NOT NULL,
          ts            timestamptz NOT NULL,
          load_mw       double precision,
          generation_mw double precision,
          frequency_hz  double precision,
          voltage_kv    double precision)"
BENCH_ODS_COPY_COLS="(station_id, ts, load_mw, generation_mw, frequency_hz, voltage_kv)"

# rollup_sql SOURCE PREFIX: issue 2's two rollups: <PREFIX>_minutely on
# SOURCE (by minute and region), <PREFIX>_hourly on it
rollup_sql() {
	cat <<EOF
SELECT fluss_grid.create_rollup(
    name        => '$2_minutely',
    source      => '$1'::regclass,
    time_column => 'ts',
    bucket      => interval '1 minute',
    group_by    => ARRAY['region'],
    aggregates  => ARRAY['count(*) AS n', 'avg(load_mw)', 'min(load_mw)', 'max(load_mw)',
                         'sum(generation_mw)', 'avg(frequency_hz)', 'min(frequency_hz)',
                         'max(frequency_hz)'],
    time_zone   => 'Asia/Shanghai');
SELECT fluss_grid.create_rollup(name => '$2_hourly', source => '$2_minutely',
                                bucket => interval '1 hour');
EOF
}

# The seven regional grids, as a SQL array.
BENCH_REGIONS_SQL="ARRAY['华北','华东','华中','东北','西北','西南','华南']"

# rollup_data_sql T_BASE ROWS FILE: issue 2's canonical data from T_BASE on
# (7 regions x 200 stations x 1 sample/s, columns of grid_raw), seeded
rollup_data_sql() {
	cat <<EOF
SELECT setseed(0.2024);
COPY (
  SELECT ts, region, station_id,
         round(least(500, greatest(50, base * (1 + 0.15 * sin(2 * pi() * (sec / 3600.0 + phase)))
                                           + 4 * (random() - 0.5)))::numeric, 3)::float8 AS load_mw,
         round((base * (0.85 + 0.2 * random()))::numeric, 3)::float8 AS generation_mw,
         round((50 + 0.1 * (random() - 0.5))::numeric, 3)::float8 AS frequency_hz,
         round((220 + 6 * (random() - 0.5))::numeric, 2)::float8 AS voltage_kv
    FROM (SELECT timestamptz '$1' + (i / 1400) * interval '1 second' AS ts,
                 ($BENCH_REGIONS_SQL)[1 + (i % 1400) / 200] AS region,
                 1 + i % 1400 AS station_id,
                 i / 1400 AS sec,
                 -- per-station mean load 60..420 MW and phase, fixed (peaks stay < 500)
                 60 + 360 * (((i % 1400) * 7919) % 1400) / 1400.0 AS base,
                 ((i % 1400) * 104729 % 1000) / 1000.0 AS phase
            FROM generate_series(0, $2 - 1) AS i) s
) TO '$3' (FORMAT csv);
EOF
}

# readings_sql START STEP_SECONDS COUNT FILE: issue 4's readings of the 1400
# default stations (the ODS columns the server does not fill), valid under
# the warehouse's rules, seeded; needs the extension in the database
readings_sql() {
	cat <<EOF
SELECT setseed(0.2026);
COPY (
  SELECT s.station_id, timestamptz '$1' + (i / 1400) * interval '$2 seconds' AS ts,
         round(CASE WHEN s.kind = 'substation' THEN s.capacity_mw * (0.6 + 0.2 * sin(2 * pi() * ((i / 1400) * $2 / 86400.0 + s.station_id / 1400.0)))
                    ELSE s.capacity_mw * 0.02 END::numeric, 3)::float8,
         round(CASE WHEN s.kind = 'substation' THEN 0
                    ELSE s.capacity_mw * (0.3 + 0.6 * random()) END::numeric, 3)::float8,
         round((50 + 0.1 * (random() - 0.5))::numeric, 3)::float8,
         round((s.nominal_kv * (0.98 + 0.04 * random()))::numeric, 2)::float8
    FROM generate_series(0, $3 - 1) AS i
    JOIN fluss_grid.grid_default_stations(1400) s ON s.station_id = 1 + i % 1400
   ORDER BY i
) TO '$4' (FORMAT csv);
EOF
}
