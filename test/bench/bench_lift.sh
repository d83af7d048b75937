#!/usr/bin/env bash
#
# test/bench/bench_lift.sh - the capture of an UPDATE of a rollup table
# into the next level's changelog: the C lift against the SQL lift
# (fluss_grid.capture_method = c / sql), and the same UPDATE of a plain
# table (no capture) for scale.
#
# This is the statement every fold of a minutely rollup runs when its
# groups already exist (the warehouse's dws_station_minutely under a
# stream): an UPDATE of one row per station, captured into the hourly
# rollup's changelog.  Self-contained; run as root.  It
#   * creates a private PostgreSQL 15 cluster (unix socket only,
#     shared_preload_libraries = 'fluss_grid', fluss_grid.enabled = off so
#     no worker folds while it measures) and removes it at exit;
#   * builds the warehouse's station-minute rollup (16 aggregates: counts,
#     averages, min/max, last) over a table of readings, and an hourly
#     rollup over it, and folds one second of readings of --groups stations;
#   * runs --runs times, alternating: BEGIN; UPDATE <minutely> SET
#     _fg_count = _fg_count + 1 (every group, so every old/new pair
#     differs); ROLLBACK, once with each capture method, taking the trigger
#     time from EXPLAIN ANALYZE; and the same UPDATE of a plain copy of the
#     minutely table;
#   * prints the medians and the ratio C / SQL.
#
# Usage: test/bench/bench_lift.sh [--groups N] [--runs K] [--port P] [--build] [--keep]
#   --groups N  rows of the minutely table updated (default 1400)
#   --runs K    measurements per method (default 7)
#   --port P    port of the private cluster (default 55436)
#   --build     build and install the extension first
#   --keep      keep the cluster and its directory
#
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
GROUPS_N=1400
RUNS=7
PORT=55436
BUILD=false
KEEP=false

die() {
	echo "bench_lift: $*" >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case "$1" in
		--groups) GROUPS_N=${2:-}; shift ;;
		--runs) RUNS=${2:-}; shift ;;
		--port) PORT=${2:-}; shift ;;
		--build) BUILD=true ;;
		--keep) KEEP=true ;;
		-h | --help)
			awk 'NR > 1 && !/^#/ {exit} NR > 1' "$0" | sed 's/^# \{0,1\}//'
			exit 0
			;;
		*) die "unknown argument: $1 (try --help)" ;;
	esac
	shift
done
[[ "$GROUPS_N" =~ ^[0-9]+$ ]] && [ "$GROUPS_N" -ge 7 ] || die "--groups needs a number >= 7"
[[ "$RUNS" =~ ^[0-9]+$ ]] && [ "$RUNS" -ge 1 ] || die "--runs needs a number >= 1"
[[ "$PORT" =~ ^[0-9]+$ ]] || die "--port needs a number"
[ "$(id -u)" -eq 0 ] || die "run as root (PostgreSQL runs as postgres through runuser)"

export LANG=C.UTF-8
unset LC_ALL PGHOST PGHOSTADDR PGPORT PGUSER PGDATABASE PGDATA PGSERVICE PGPASSWORD
export PGOPTIONS="-c client_min_messages=warning"

PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
BINDIR=$("$PG_CONFIG" --bindir)
PKGLIBDIR=$("$PG_CONFIG" --pkglibdir)
if $BUILD; then
	echo "== building and installing fluss_grid (flock /tmp/fluss_grid_install.lock)" >&2
	(cd "$ROOT" && make -s && flock /tmp/fluss_grid_install.lock make -s install) >&2
fi
[ -f "$PKGLIBDIR/fluss_grid.so" ] || die "fluss_grid is not installed: run with --build"

. "$ROOT/test/bench/lib.sh"
bench_workdir bench_lift fg_liftbench

as_pg "$BINDIR/initdb" -D "$PGD" -E UTF8 --locale=C.UTF-8 -A trust -U postgres >/dev/null
cat >>"$PGD/postgresql.conf" <<EOF
port = $PORT
listen_addresses = ''
unix_socket_directories = '$SOCK'
shared_preload_libraries = 'fluss_grid'
fluss_grid.enabled = off
shared_buffers = 256MB
autovacuum = off
EOF
as_pg "$BINDIR/pg_ctl" -D "$PGD" -l "$LOG" -w -t 60 start >/dev/null

log "rollups and $GROUPS_N groups"
q postgres >/dev/null <<EOF
CREATE EXTENSION fluss_grid;
CREATE TABLE readings (ts timestamptz NOT NULL, grid_region text NOT NULL, station_id int NOT NULL,
  station_kind text NOT NULL, load_mw float8 NOT NULL, generation_mw float8 NOT NULL,
  frequency_hz float8 NOT NULL, voltage_kv float8 NOT NULL, frequency_ok bool NOT NULL, voltage_ok bool NOT NULL);
SELECT fluss_grid.create_rollup(name => 'minutely', source => 'readings', time_column => 'ts',
  bucket => interval '1 minute', group_by => ARRAY['grid_region', 'station_id', 'station_kind'],
  aggregates => ARRAY['count(*) AS n_readings', 'avg(load_mw)', 'max(load_mw)', 'min(load_mw)',
                      'avg(generation_mw)', 'max(generation_mw)', 'avg(frequency_hz)', 'min(frequency_hz)',
                      'max(frequency_hz)', 'count(*) FILTER (WHERE frequency_ok) AS n_frequency_ok',
                      'avg(voltage_kv)', 'count(*) FILTER (WHERE voltage_ok) AS n_voltage_ok',
                      'last(load_mw)', 'last(generation_mw)', 'last(frequency_hz)', 'last(voltage_kv)'],
  time_zone => 'Asia/Shanghai');
SELECT fluss_grid.create_rollup(name => 'hourly', source => 'minutely', bucket => interval '1 hour',
  aggregates => ARRAY['n_readings', 'avg_load_mw', 'max_load_mw', 'min_load_mw', 'avg_generation_mw',
                      'max_generation_mw', 'avg_frequency_hz', 'min_frequency_hz', 'max_frequency_hz',
                      'n_frequency_ok', 'avg_voltage_kv', 'n_voltage_ok']);
SELECT setseed(0.42);
INSERT INTO readings
SELECT timestamptz '2026-11-26 10:00:00+08' + s * interval '1 second',
       (ARRAY['华北','华东','华中','东北','西北','西南','华南'])[st % 7 + 1], st, 'thermal',
       500 + random() * 100, 400 + random() * 100, 50 + (random() - 0.5) * 0.1, 220 + random(), true, true
  FROM generate_series(1, $GROUPS_N) st, generate_series(0, 1) s;
SELECT fluss_grid.fold_now();
CREATE TABLE minutely_plain AS SELECT * FROM minutely;
CREATE UNIQUE INDEX ON minutely_plain (bucket, grid_region, station_id, station_kind);
VACUUM ANALYZE;
EOF

# trigger time (ms) of one UPDATE with capture method $1
trigger_ms() {
	q postgres -c "SET fluss_grid.capture_method = '$1'" -c "BEGIN" \
		-c "EXPLAIN (ANALYZE, COSTS OFF, FORMAT JSON) UPDATE minutely SET _fg_count = _fg_count + 1" \
		-c "ROLLBACK" | grep -o '"Time": [0-9.]*' | head -1 | awk '{print $2}'
}
plain_ms() {
	q postgres -c "BEGIN" \
		-c "EXPLAIN (ANALYZE, COSTS OFF, FORMAT JSON) UPDATE minutely_plain SET _fg_count = _fg_count + 1" \
		-c "ROLLBACK" | grep -o '"Execution Time": [0-9.]*' | awk '{print $3}'
}
upd_ms() {
	q postgres -c "SET fluss_grid.capture_method = '$1'" -c "BEGIN" \
		-c "EXPLAIN (ANALYZE, COSTS OFF, FORMAT JSON) UPDATE minutely SET _fg_count = _fg_count + 1" \
		-c "ROLLBACK" | grep -o '"Execution Time": [0-9.]*' | awk '{print $3}'
}

log "$RUNS runs per method, alternating"
: >"$WORK/c" ; : >"$WORK/sql"; : >"$WORK/plain"; : >"$WORK/uc"; : >"$WORK/usql"
trigger_ms c >/dev/null; trigger_ms sql >/dev/null; plain_ms >/dev/null	# warm-up
for ((i = 1; i <= RUNS; i++)); do
	trigger_ms c >>"$WORK/c"
	trigger_ms sql >>"$WORK/sql"
	plain_ms >>"$WORK/plain"
	upd_ms c >>"$WORK/uc"
	upd_ms sql >>"$WORK/usql"
done
C=$(median <"$WORK/c"); S=$(median <"$WORK/sql"); P=$(median <"$WORK/plain")
UC=$(median <"$WORK/uc"); US=$(median <"$WORK/usql")
echo "bench_lift: $BUILD_INFO; $GROUPS_N groups, $RUNS runs, medians"
echo "| | C lift | SQL lift | ratio C/SQL |"
echo "|---|--:|--:|--:|"
echo "| capture trigger of the UPDATE | $(fmt "$C" 1) ms | $(fmt "$S" 1) ms | $(fmt "$(calc "$C / $S")")× |"
echo "| whole UPDATE (plain table without capture: $(fmt "$P" 1) ms) | $(fmt "$UC" 1) ms | $(fmt "$US" 1) ms | $(fmt "$(calc "$UC / $US")")× |"
echo "per run (ms): C $(tr '\n' ' ' <"$WORK/c")/ SQL $(tr '\n' ' ' <"$WORK/sql")/ plain UPDATE $(tr '\n' ' ' <"$WORK/plain")"
