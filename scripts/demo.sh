#!/usr/bin/env bash
#
# scripts/demo.sh - fluss_grid's "main job" on one screen: a simulated grid
# streams readings into a plain table while fluss_grid keeps exact minutely
# and hourly rollups of it up to date.
#
# Run as root from anywhere.  It
#   1. installs what is missing (scripts/deps.sh), builds and installs the
#      extension (make, make install);
#   2. creates, or reuses, a private cluster in ./demo/pgdata owned by
#      postgres, with shared_preload_libraries = 'fluss_grid', listening on a
#      unix socket in ./demo/sock and on 127.0.0.1:54329 only;
#   3. creates database "grid", the extension, table grid_raw and the
#      rollups grid_minutely (grid_raw by minute and region) and
#      grid_hourly (grid_minutely by hour), each only if missing;
#   4. starts a simulator in the background: every ~200 ms one psql call
#      inserts a second's readings of 20 stations in each of 7 regions, with
#      now and then an UPDATE (meter correction) and a DELETE (bad reading);
#   5. redraws a screen every second with fluss_grid.rollups, the last 5
#      minutes of grid_minutely and the latest rows of grid_hourly.
# Ctrl-C stops the simulator and the screen and leaves the cluster running.
#
# Usage: scripts/demo.sh [--seconds N] [--no-build]
#        scripts/demo.sh --stop
#   --seconds N   stop by itself after N seconds (smoke test)
#   --no-build    skip deps.sh, make and make install
#   --stop        stop the demo cluster and exit
# Start again from scratch: scripts/demo.sh --stop && rm -rf demo
#
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

DEMO=$ROOT/demo
PGDATA_DIR=$DEMO/pgdata
SOCK=$DEMO/sock
PORT=54329
DB=grid
LOG=$DEMO/postgres.log
SIM_LOG=$DEMO/simulator.log
TZ_LOCAL=Asia/Shanghai
REGIONS=(华北 华东 华中 东北 西北 西南 华南)

seconds=0
do_build=true
do_stop=false
while [ $# -gt 0 ]; do
	case "$1" in
		--seconds)
			[[ "${2:-}" =~ ^[0-9]+$ ]] || {
				echo "demo: --seconds needs a number" >&2
				exit 2
			}
			seconds=$2
			shift
			;;
		--seconds=*)
			seconds=${1#--seconds=}
			[[ "$seconds" =~ ^[0-9]+$ ]] || {
				echo "demo: --seconds needs a number" >&2
				exit 2
			}
			;;
		--no-build) do_build=false ;;
		--stop) do_stop=true ;;
		-h | --help)
			awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
			exit 0
			;;
		*)
			echo "demo: unknown argument: $1 (try --help)" >&2
			exit 2
			;;
	esac
	shift
done

if [ "$(id -u)" -ne 0 ]; then
	echo "demo: run as root (it installs the extension and runs PostgreSQL" \
		"as the postgres user through runuser)" >&2
	exit 2
fi

# UTF-8 everywhere: region names are Chinese.
export LANG=C.UTF-8
unset LC_ALL
export PGCLIENTENCODING=UTF8
# Show timestamps in the grid's local time.
export PGTZ=$TZ_LOCAL
# The caller's libpq settings must not redirect the demo's connections.
unset PGHOST PGHOSTADDR PGPORT PGUSER PGDATABASE PGDATA PGSERVICE PGOPTIONS

PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
[ -x "$PG_CONFIG" ] || PG_CONFIG=$(command -v pg_config || true)
if [ -n "$PG_CONFIG" ] && [ -x "$PG_CONFIG" ]; then
	BINDIR=$("$PG_CONFIG" --bindir)
else
	BINDIR=/usr/lib/postgresql/15/bin
fi

# as_pg CMD...: run CMD as postgres (PostgreSQL refuses to run as root).
as_pg() {
	runuser -u postgres -- "$@"
}

# pg_ctl_demo ARGS...: pg_ctl on the demo cluster.
pg_ctl_demo() {
	as_pg "$BINDIR/pg_ctl" -D "$PGDATA_DIR" "$@"
}

# is_running: true when the demo cluster's postmaster is up.
is_running() {
	[ -f "$PGDATA_DIR/PG_VERSION" ] && pg_ctl_demo status >/dev/null 2>&1
}

# psql_db DB ARGS...: psql as postgres over the demo's unix socket.
psql_db() {
	local db=$1
	shift
	as_pg "$BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$SOCK" -p "$PORT" \
		-d "$db" "$@"
}

# psql_grid ARGS...: psql on database grid.
psql_grid() {
	psql_db "$DB" "$@"
}

# how_to_connect: the commands to use the cluster after the demo.
how_to_connect() {
	cat <<EOF
demo: the cluster is still running ($PGDATA_DIR, log $LOG)
  connect:  runuser -u postgres -- $BINDIR/psql -h $SOCK -p $PORT -d $DB
            (over TCP, 127.0.0.1:$PORT, after setting a password with
             ALTER ROLE postgres PASSWORD '...')
  stop:     runuser -u postgres -- $BINDIR/pg_ctl -D $PGDATA_DIR -m fast stop
            or: $ROOT/scripts/demo.sh --stop
EOF
}

# ---------------------------------------------------------------------------
# --stop
# ---------------------------------------------------------------------------
if $do_stop; then
	if is_running; then
		pg_ctl_demo -m fast -w stop >/dev/null
		echo "demo: cluster in $PGDATA_DIR stopped"
	else
		echo "demo: cluster in $PGDATA_DIR is not running"
	fi
	exit 0
fi

# ---------------------------------------------------------------------------
# Build and install
# ---------------------------------------------------------------------------
if $do_build; then
	bash "$ROOT/scripts/deps.sh"
	echo "demo: building and installing fluss_grid"
	make -s -j"$(nproc)" PG_CONFIG="$PG_CONFIG"
	make -s PG_CONFIG="$PG_CONFIG" install
fi

# ---------------------------------------------------------------------------
# Private cluster
# ---------------------------------------------------------------------------
mkdir -p "$DEMO"
chown postgres:postgres "$DEMO"
chmod 0750 "$DEMO"
if ! as_pg test -w "$DEMO"; then
	echo "demo: user postgres cannot reach $DEMO; every directory above it" \
		"must be searchable by postgres (chmod o+x), or move the work tree" >&2
	exit 1
fi
# A unix socket path is limited to 107 bytes.
if [ $((${#SOCK} + 15)) -gt 107 ]; then
	echo "demo: socket path $SOCK/.s.PGSQL.$PORT is too long for a unix" \
		"socket; use a work tree with a shorter path" >&2
	exit 1
fi

if [ ! -f "$PGDATA_DIR/PG_VERSION" ]; then
	echo "demo: creating cluster in $PGDATA_DIR"
	# peer for the socket (root runs psql as postgres), password over TCP.
	if ! as_pg "$BINDIR/initdb" -D "$PGDATA_DIR" -U postgres \
		--encoding=UTF8 --locale=C.UTF-8 \
		--auth-local=peer --auth-host=scram-sha-256 \
		>"$DEMO/initdb.log" 2>&1; then
		echo "demo: initdb failed:" >&2
		tail -n 20 "$DEMO/initdb.log" >&2
		exit 1
	fi
	cat >>"$PGDATA_DIR/postgresql.conf" <<EOF

# ---- added by scripts/demo.sh ----
shared_preload_libraries = 'fluss_grid'
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$SOCK'
unix_socket_permissions = 0700
timezone = '$TZ_LOCAL'
log_timezone = '$TZ_LOCAL'
EOF
fi
as_pg mkdir -p "$SOCK"

if is_running; then
	echo "demo: reusing the running cluster in $PGDATA_DIR"
	echo "demo: (a rebuilt fluss_grid library loads only after a restart:" \
		"scripts/demo.sh --stop, then run the demo again)"
else
	echo "demo: starting the cluster (socket $SOCK, 127.0.0.1:$PORT)"
	if ! pg_ctl_demo -l "$LOG" -w -t 60 start >/dev/null; then
		echo "demo: the server did not start; last lines of $LOG:" >&2
		tail -n 20 "$LOG" >&2
		exit 1
	fi
fi

# ---------------------------------------------------------------------------
# Schema: database, extension, source table, rollups (each only if missing)
# ---------------------------------------------------------------------------
if [ "$(psql_db postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'")" != 1 ]; then
	echo "demo: creating database $DB"
	as_pg "$BINDIR/createdb" -h "$SOCK" -p "$PORT" -E UTF8 "$DB"
fi

psql_grid <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS fluss_grid;

CREATE TABLE IF NOT EXISTS grid_raw (
    ts            timestamptz NOT NULL,
    region        text        NOT NULL,
    station_id    int         NOT NULL,
    load_mw       float8,
    generation_mw float8,
    frequency_hz  float8,
    voltage_kv    float8
);
-- the simulator's corrections and deletions look at the last seconds only
CREATE INDEX IF NOT EXISTS grid_raw_ts_idx ON grid_raw (ts);
SQL

if [ "$(psql_grid -tAc "SELECT to_regclass('grid_minutely') IS NOT NULL")" != t ]; then
	echo "demo: creating rollup grid_minutely"
	psql_grid >/dev/null <<'SQL'
SELECT fluss_grid.create_rollup(
    name        => 'grid_minutely',
    source      => 'grid_raw',
    time_column => 'ts',
    bucket      => interval '1 minute',
    group_by    => ARRAY['region'],
    aggregates  => ARRAY[
        'count(*) AS n',
        'avg(load_mw) AS avg_load_mw',
        'max(load_mw) AS max_load_mw',
        'sum(generation_mw / 3600) AS gen_mwh',
        'min(frequency_hz) AS min_f',
        'max(frequency_hz) AS max_f',
        'count(*) FILTER (WHERE abs(frequency_hz - 50) <= 0.2) AS n_f_ok'],
    time_zone   => 'Asia/Shanghai');
SQL
fi

if [ "$(psql_grid -tAc "SELECT to_regclass('grid_hourly') IS NOT NULL")" != t ]; then
	echo "demo: creating rollup grid_hourly"
	psql_grid >/dev/null <<'SQL'
SELECT fluss_grid.create_rollup(
    name   => 'grid_hourly',
    source => 'grid_minutely',
    bucket => interval '1 hour');
SQL
fi

# user_columns REL: REL's columns for display, without the engine's own
# _fg_ columns; prints "COLUMNS|TIME_COLUMN" (the first timestamptz column).
user_columns() {
	psql_grid -tA -F '|' -v rel="$1" <<'SQL'
SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum),
       (array_agg(quote_ident(attname) ORDER BY attnum)
            FILTER (WHERE atttypid = 'timestamptz'::regtype))[1]
FROM pg_attribute
WHERE attrelid = :'rel'::regclass AND attnum > 0 AND NOT attisdropped
  AND attname NOT LIKE '\_fg\_%';
SQL
}
MIN_COLS="" MIN_TS="" HOUR_COLS="" HOUR_TS=""
IFS='|' read -r MIN_COLS MIN_TS < <(user_columns grid_minutely) || true
IFS='|' read -r HOUR_COLS HOUR_TS < <(user_columns grid_hourly) || true
MIN_COLS=${MIN_COLS:-*}
MIN_TS=${MIN_TS:-ts}
HOUR_COLS=${HOUR_COLS:-*}
HOUR_TS=${HOUR_TS:-ts}

# ---------------------------------------------------------------------------
# Simulator (background)
# ---------------------------------------------------------------------------

# One second of readings: 7 regions x 20 stations.  Load follows a daily
# curve in local time (morning and evening peaks); the frequency is shared
# by a region, 50 Hz +- 0.05, with a rare disturbance of up to +- 0.3 Hz so
# that n_f_ok is not always n; voltage about 220 kV.
INSERT_SQL=$(
	cat <<'SQL'
INSERT INTO grid_raw
    (ts, region, station_id, load_mw, generation_mw, frequency_hz, voltage_kv)
SELECT now(), r.region, s.id,
       round(l.load::numeric, 2)::float8,
       round((l.load * (0.97 + 0.06 * random()))::numeric, 2)::float8,
       round((f.hz + CASE WHEN random() < 0.003
                          THEN (random() - 0.5) * 0.6 ELSE 0 END)::numeric,
             3)::float8,
       round((220 + (random() - 0.5) * 6)::numeric, 2)::float8
FROM (VALUES ('华北', 1.30), ('华东', 1.45), ('华中', 1.05), ('东北', 0.70),
             ('西北', 0.75), ('西南', 0.90), ('华南', 1.20)) AS r(region, scale)
CROSS JOIN LATERAL (SELECT 50 + (random() - 0.5) * 0.1 AS hz) AS f
CROSS JOIN generate_series(1, 20) AS s(id)
CROSS JOIN LATERAL (
    SELECT extract(epoch FROM (now() AT TIME ZONE 'Asia/Shanghai')::time)
           / 3600 AS h) AS t
CROSS JOIN LATERAL (
    SELECT r.scale * (150 + (s.id * 37) % 300)
           * (0.72 + 0.16 * sin(2 * pi() * (t.h - 8) / 24)
                   + 0.08 * sin(4 * pi() * (t.h - 5) / 24))
           * (0.97 + 0.06 * random()) AS load) AS l;
SQL
)

# A meter correction: one station's last 10 seconds of load were 2% high.
UPDATE_SQL="UPDATE grid_raw
    SET load_mw = round((load_mw / 1.02)::numeric, 2)::float8
    WHERE ts > now() - interval '10 seconds'
      AND region = :'region' AND station_id = :station;"

# A bad reading is withdrawn.
DELETE_SQL="DELETE FROM grid_raw WHERE ctid IN (
    SELECT ctid FROM grid_raw
    WHERE ts > now() - interval '10 seconds'
      AND region = :'region' AND station_id = :station
    LIMIT 1);"

# simulate: the background loop.  It feeds one long-lived psql session, so
# the ~200 ms cadence is not eaten by connection start-up; psql errors go to
# the log and do not stop it.  It ends when $RUN_FLAG disappears (the
# foreground's stop_simulator) or when this script is gone.
simulate() {
	trap '' INT            # Ctrl-C is the foreground's business
	local i=0 region station
	while [ -e "$RUN_FLAG" ] && kill -0 "$DEMO_PID" 2>/dev/null; do
		i=$((i + 1))
		region=${REGIONS[RANDOM % ${#REGIONS[@]}]}
		station=$((RANDOM % 20 + 1))
		printf '\\set region %s\n\\set station %s\n%s\n' \
			"$region" "$station" "$INSERT_SQL"
		if [ $((i % 25)) -eq 0 ]; then     # about every 5 seconds
			printf '%s\n' "$UPDATE_SQL"
		fi
		if [ $((i % 50)) -eq 0 ]; then     # about every 10 seconds
			printf '%s\n' "$DELETE_SQL"
		fi
		sleep 0.2
	done | psql_grid -v ON_ERROR_STOP=0 >>"$SIM_LOG" 2>&1
}

DEMO_PID=$$
RUN_FLAG=$DEMO/.simulator.run
SIM_PID=""

# stop_simulator: end the background loop and wait for it.
stop_simulator() {
	rm -f "$RUN_FLAG"
	if [ -n "$SIM_PID" ]; then
		wait "$SIM_PID" 2>/dev/null || true
		SIM_PID=""
	fi
}
trap stop_simulator EXIT

: >"$SIM_LOG"
touch "$RUN_FLAG"
simulate &
SIM_PID=$!

# ---------------------------------------------------------------------------
# Screen (foreground)
# ---------------------------------------------------------------------------
SCREEN_SQL="
\\pset footer off
\\echo '── fluss_grid.rollups ──'
SELECT * FROM fluss_grid.rollups;
\\echo
\\echo '── raw readings ──'
SELECT count(*) FILTER (WHERE ts > now() - interval '10 seconds') / 10
           AS rows_per_s,
       count(*) AS rows_last_5_min,
       max(ts) AS latest
FROM grid_raw WHERE ts > now() - interval '5 minutes';
\\echo
\\echo '── grid_minutely: last 5 minutes (Asia/Shanghai) ──'
SELECT $MIN_COLS FROM grid_minutely
WHERE $MIN_TS > now() - interval '5 minutes'
ORDER BY region, $MIN_TS DESC;
\\echo
\\echo '── grid_hourly: latest ──'
SELECT $HOUR_COLS FROM grid_hourly
ORDER BY $HOUR_TS DESC, region
LIMIT 14;
"

# draw: one frame; a failing query is shown, not fatal.
draw() {
	local frame
	frame=$(printf '%s\n' "$SCREEN_SQL" | psql_grid 2>&1) || true
	if [ -t 1 ]; then
		printf '\033[H\033[2J'          # clear the terminal
	else
		echo "======================================================"
	fi
	printf 'fluss_grid demo  %s  elapsed %ss  (Ctrl-C to stop; cluster keeps running)\n\n' \
		"$(TZ=$TZ_LOCAL date '+%F %T %Z')" "$SECONDS"
	printf '%s\n' "$frame"
}

stop_requested=false
trap 'stop_requested=true' INT TERM
SECONDS=0
while ! $stop_requested; do
	draw
	if [ "$seconds" -gt 0 ] && [ "$SECONDS" -ge "$seconds" ]; then
		break
	fi
	# sleep in the background so that Ctrl-C ends the wait at once
	sleep 1 &
	wait $! 2>/dev/null || true
done

stop_simulator
echo
errors=$(grep -c 'ERROR' "$SIM_LOG" || true)
echo "demo: simulator stopped ($errors error(s) in $SIM_LOG)"
how_to_connect
