#!/usr/bin/env bash
#
# scripts/demo.sh - fluss_grid's "main job": the grid dispatch warehouse
# live on a terminal big screen.
#
# Run as root from anywhere.  It
#   1. installs what is missing (scripts/deps.sh), builds and installs the
#      extension and the simulator fluss-gridsim (make, make install);
#   2. creates, or reuses, a private cluster in ./demo/pgdata owned by
#      postgres, with shared_preload_libraries = 'fluss_grid', listening on a
#      unix socket in ./demo/sock and on 127.0.0.1:54329 only;
#   3. creates database "grid", the extension and, if missing, the warehouse
#      (fluss_grid.create_grid_warehouse: schema grid, 1400 stations of the
#      seven regional grids; ODS -> DWD -> DWS -> ADS, docs/WAREHOUSE.md);
#   4. starts fluss-gridsim in the background in real time (every station
#      once a second, 0.2 % dirty rows, about 6 random faults an hour; its
#      output goes to ./demo/simulator.log);
#   5. redraws a screen every second from the ADS views: national overview,
#      regional load bars with the maintenance recommendation, pipeline
#      health (ingest rate, rows and lag per layer), quarantine reasons.
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
# The warehouse: database, extension, create_grid_warehouse (if missing)
# ---------------------------------------------------------------------------
if [ "$(psql_db postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'")" != 1 ]; then
	echo "demo: creating database $DB"
	as_pg "$BINDIR/createdb" -h "$SOCK" -p "$PORT" -E UTF8 "$DB"
fi
psql_grid -c "SET client_min_messages = warning" -c "CREATE EXTENSION IF NOT EXISTS fluss_grid"
if [ "$(psql_grid -tAc "SELECT to_regclass('grid.ods_grid_realtime_raw') IS NOT NULL")" != t ]; then
	echo "demo: creating the grid warehouse in schema grid (1400 stations)"
	psql_grid -c "SELECT fluss_grid.create_grid_warehouse(schema => 'grid')" >/dev/null
fi

# ---------------------------------------------------------------------------
# Simulator (background): fluss-gridsim in real time, every station once a
# second, a little dirty data and a few random faults an hour
# ---------------------------------------------------------------------------
SIM=$BINDIR/fluss-gridsim
[ -x "$SIM" ] || SIM=$ROOT/src/gridsim/fluss-gridsim
if [ ! -x "$SIM" ]; then
	echo "demo: fluss-gridsim not found (run without --no-build)" >&2
	exit 1
fi
SIM_PID=""

# stop_simulator: SIGINT the simulator (it finishes its batch and prints a
# summary) and wait for it.
stop_simulator() {
	if [ -n "$SIM_PID" ] && kill -0 "$SIM_PID" 2>/dev/null; then
		# the whole process group setsid made (runuser does not pass
		# SIGINT on to its child)
		kill -INT -- "-$SIM_PID" 2>/dev/null || kill -INT "$SIM_PID" 2>/dev/null || true
		wait "$SIM_PID" 2>/dev/null || true
	fi
	SIM_PID=""
}
trap stop_simulator EXIT

: >"$SIM_LOG"
chown postgres "$SIM_LOG"
# setsid: Ctrl-C in this terminal reaches the screen, which stops the
# simulator itself (so it always ends after a whole batch)
setsid runuser -u postgres -- "$SIM" --start now --dirty 0.002 --faults 6/h \
	--seed "$((RANDOM + 1))" "host=$SOCK port=$PORT dbname=$DB" >>"$SIM_LOG" 2>&1 &
SIM_PID=$!

# ---------------------------------------------------------------------------
# Screen (foreground): the ADS views, refreshed every second
# ---------------------------------------------------------------------------
SCREEN_SQL="
\\pset footer off
\\echo '── 全国总览 national overview (ads_grid_overview) ──'
SELECT round(national_load_mw) AS load_mw, round(national_generation_mw) AS generation_mw,
       round(frequency_hz::numeric, 3) AS frequency_hz,
       round(frequency_stability_pct, 2) AS frequency_ok_pct,
       round(voltage_stability_pct, 2) AS voltage_ok_pct,
       stations_reporting AS stations, to_char(minute, 'HH24:MI') AS minute
  FROM grid.ads_grid_overview;
\\echo
\\echo '── 区域负荷 regional load (ads_region_load, ads_dashboard_realtime) ──'
SELECT l.grid_region AS region,
       round(l.load_mw) AS load_mw,
       rpad(repeat('█', greatest(0, round(30 * l.load_mw / max(l.load_mw) OVER ())::int)), 30) AS load,
       round(l.load_pct_of_capacity::numeric, 1) AS \"% cap\",
       round(l.generation_mw) AS gen_mw,
       round(d.grid_frequency_hz::numeric, 3) AS hz,
       d.maintenance_recommendation AS recommendation
  FROM grid.ads_region_load l
  JOIN grid.ads_dashboard_realtime d USING (grid_region)
 ORDER BY l.load_mw DESC;
\\echo
\\echo '── 数据链路 pipeline health (ads_pipeline_health) ──'
SELECT round(ods_rows_per_second) AS ods_rows_per_s, ods_rows, dwd_rows, quarantined_rows,
       round(extract(epoch FROM dwd_lag) * 1000) AS dwd_lag_ms,
       round(extract(epoch FROM dws_minutely_lag) * 1000) AS dws_lag_ms,
       round(extract(epoch FROM dws_hourly_daily_lag) * 1000) AS dws_h_d_lag_ms
  FROM grid.ads_pipeline_health;
\\echo
\\echo '── 隔离区 quarantine, last 10 minutes ──'
SELECT reason, count(*) FROM grid.dwd_grid_quarantine
 WHERE received_at > now() - interval '10 minutes' GROUP BY reason ORDER BY 2 DESC;
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
	if [ -n "$SIM_PID" ] && ! kill -0 "$SIM_PID" 2>/dev/null; then
		echo "demo: the simulator stopped; last lines of $SIM_LOG:" >&2
		tail -n 5 "$SIM_LOG" >&2
		SIM_PID=""
		break
	fi
	# sleep in the background so that Ctrl-C ends the wait at once
	sleep 1 &
	wait $! 2>/dev/null || true
done

stop_simulator
echo
echo "demo: simulator stopped; its last lines ($SIM_LOG):"
grep -v 'progress' "$SIM_LOG" | tail -n 4 | sed 's/^/  /'
how_to_connect
