#!/usr/bin/env bash
#
# test/bench/bench_warehouse.sh - benchmark of the grid dispatch warehouse
# (issue 4, "Benchmark"): three figures, against plain PostgreSQL in the
# same run, printed as a markdown table.
#
# Self-contained; run as root.  It
#   * creates a private PostgreSQL 15 cluster in a temporary directory owned
#     by postgres (unix socket only, shared_preload_libraries = 'fluss_grid',
#     shared_buffers = 1GB, max_wal_size = 8GB, checkpoint_timeout = 30min,
#     fsync and synchronous_commit on) and removes it at exit;
#   * generates the canonical hour once into a CSV file in the ODS layout:
#     the 1400 default stations (fluss_grid.grid_default_stations) x 1
#     reading/s from 2024-07-01 10:00 +08 (5,040,000 rows by default), values
#     that pass validation (substations carry 40-80 % of their rated load,
#     plants generate 30-90 % of capacity, 50 +- 0.05 Hz, nominal voltage
#     +- 2 %), seeded;
#   * measures
#      1. the canonical hour through the whole warehouse: COPY into
#         grid.ods_grid_realtime_raw of a fresh warehouse, then
#         wait_for_rollups() (ODS -> DWD -> DWS all folded), vs COPY into
#         one plain heap table of the same columns in database "plain";
#         ratio = plain time / warehouse time (target >= 0.6).  Also the
#         COPY alone, and the fold after it.  Median over --runs.
#      2. freshness under streaming: pgbench inserts 100-reading statements
#         at --stream-rate readings/s (default 20,000) into ODS while a
#         probe commits a reading of a probe station with a unique load
#         and polls grid.ads_station_current (the per-station view that
#         ads_region_load sums) every 1 ms until that load shows;
#         commit -> visible p50 / p99 (target p99 <= 100 ms).  Plain
#         PostgreSQL has no layers to wait for: reported without ratio.
#      3. ADS view latency with one simulated day loaded: a day of the 1400
#         stations at one reading per station per minute (2,016,000 rows:
#         the DWS tables the ADS views read get exactly the rows a 1 Hz day
#         gives them, one per station-minute) through the warehouse; then
#         each ADS view run --ads-runs times (server-side time, plpgsql
#         loop): p50 / p99 (target p99 <= 10 ms).  Plain PostgreSQL: the
#         region-load panel computed straight from a raw table of the same
#         day (btree on ts): the latest reading per station in the last two
#         minutes, summed per region.
#   After figure 1 the warehouse is checked: DWD rows = ODS rows, the
#   minutely rollup's readings = DWD rows.
#
# Usage: test/bench/bench_warehouse.sh [--rows N] [--runs K] [--port P]
#            [--build] [--keep] [--out FILE] [--stream-rate R] [--stream-secs S]
#            [--figures LIST]
#   --rows N         rows of the canonical hour (default 5040000); below
#                    1,000,000 the other phases shrink too (smoke mode)
#   --runs K         repetitions of figure 1 (default 3); medians
#   --port P         port of the private cluster (default 55433)
#   --build          make && make install first
#   --keep           leave the cluster and work directory behind
#   --out FILE       also write the markdown report to FILE
#   --stream-rate R  readings/s of figure 2 (default 20000)
#   --stream-secs S  seconds of figure 2's stream (default 30; 5 in smoke
#                    mode); probes go on until its last second
#   --figures LIST   which of 1, 2, 3 to run (default 1,2,3)
#   --pg-conf LINE   extra postgresql.conf line, repeatable
#                    (e.g. "fluss_grid.worker_share = 100")
#
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CMDLINE="test/bench/bench_warehouse.sh"
for a in "$@"; do
	if [[ "$a" =~ ^[A-Za-z0-9_./=,:-]+$ ]]; then CMDLINE+=" $a"; else CMDLINE+=" '${a//\'/\'\\\'\'}'"; fi
done

ROWS=5040000
RUNS=3
PORT=55433
BUILD=false
KEEP=false
OUT=
STREAM_RATE=20000
FIGURES=1,2,3
PGCONF=
STREAM_SECS_OPT=

die() {
	echo "bench_warehouse: $*" >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case "$1" in
		--rows) ROWS=${2:-}; shift ;;
		--rows=*) ROWS=${1#--rows=} ;;
		--runs) RUNS=${2:-}; shift ;;
		--runs=*) RUNS=${1#--runs=} ;;
		--port) PORT=${2:-}; shift ;;
		--port=*) PORT=${1#--port=} ;;
		--out) OUT=${2:-}; shift ;;
		--out=*) OUT=${1#--out=} ;;
		--stream-rate) STREAM_RATE=${2:-}; shift ;;
		--stream-rate=*) STREAM_RATE=${1#--stream-rate=} ;;
		--stream-secs) STREAM_SECS_OPT=${2:-}; shift ;;
		--stream-secs=*) STREAM_SECS_OPT=${1#--stream-secs=} ;;
		--pg-conf) PGCONF+="${2:-}"$'\n'; shift ;;
		--pg-conf=*) PGCONF+="${1#--pg-conf=}"$'\n' ;;
		--figures) FIGURES=${2:-}; shift ;;
		--figures=*) FIGURES=${1#--figures=} ;;
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
[[ "$ROWS" =~ ^[0-9]+$ ]] && [ "$ROWS" -ge 1400 ] || die "--rows needs a number >= 1400"
[[ "$RUNS" =~ ^[0-9]+$ ]] && [ "$RUNS" -ge 1 ] || die "--runs needs a number >= 1"
[[ "$PORT" =~ ^[0-9]+$ ]] || die "--port needs a number"
[[ "$STREAM_RATE" =~ ^[0-9]+$ ]] && [ "$STREAM_RATE" -ge 100 ] || die "--stream-rate needs a number >= 100"
[ -z "$STREAM_SECS_OPT" ] || { [[ "$STREAM_SECS_OPT" =~ ^[0-9]+$ ]] && [ "$STREAM_SECS_OPT" -ge 10 ]; } ||
	die "--stream-secs needs a number >= 10"
[[ "$FIGURES" =~ ^[1-3,]+$ ]] || die "--figures needs a list such as 1,3"
want() { [[ ",$FIGURES," == *",$1,"* ]]; }
[ "$(id -u)" -eq 0 ] || die "run as root (PostgreSQL runs as postgres through runuser)"
id postgres >/dev/null 2>&1 || die "no postgres user: install postgresql-15"

export LANG=C.UTF-8
unset LC_ALL
export PGCLIENTENCODING=UTF8
export PGTZ=Asia/Shanghai
unset PGHOST PGHOSTADDR PGPORT PGUSER PGDATABASE PGDATA PGSERVICE PGPASSWORD
export PGOPTIONS="-c client_min_messages=warning"

PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
[ -x "$PG_CONFIG" ] || PG_CONFIG=$(command -v pg_config || true)
[ -n "$PG_CONFIG" ] || die "pg_config not found (postgresql-server-dev-15)"
BINDIR=$("$PG_CONFIG" --bindir)
PKGLIBDIR=$("$PG_CONFIG" --pkglibdir)

if [ "$ROWS" -ge 1000000 ]; then
	STREAM_SECS=30 WARM=3 PROBES=200 DAY_STEP=60 ADS_RUNS=200
else
	STREAM_SECS=5 WARM=1 PROBES=30 DAY_STEP=1200 ADS_RUNS=20
fi
if [ -n "$STREAM_SECS_OPT" ]; then
	# a probe takes at least 50 ms (its pause) plus its latency
	STREAM_SECS=$STREAM_SECS_OPT PROBES=$((STREAM_SECS_OPT * 20))
fi
STREAM_TPS=$(((STREAM_RATE + 99) / 100))

if $BUILD || [ ! -f "$PKGLIBDIR/fluss_grid.so" ]; then
	echo "== building and installing fluss_grid" >&2
	(cd "$ROOT" && make -s && make -s install) >&2
fi
. "$ROOT/test/bench/lib.sh"
bench_workdir bench_warehouse fg_whbench
CSV=$WORK/hour.csv
DAYCSV=$WORK/day.csv
now() { date +%s.%N; }

# ---------------------------------------------------------------------------
# cluster
# ---------------------------------------------------------------------------
bench_initdb 1GB
cat >>"$PGD/postgresql.conf" <<EOF
checkpoint_timeout = 30min
max_connections = 50
max_worker_processes = 16
timezone = 'Asia/Shanghai'
$PGCONF
EOF
as_pg "$BINDIR/pg_ctl" -D "$PGD" -l "$LOG" -w -t 60 start >/dev/null
PGVERSION=$(q postgres -c "SHOW server_version")
log "PostgreSQL $PGVERSION on port $PORT"
q postgres -c "CREATE DATABASE plain" -c "CREATE DATABASE fg"
q fg -c "CREATE EXTENSION fluss_grid"

ODS_DDL=$BENCH_ODS_DDL
COPY_COLS=$BENCH_ODS_COPY_COLS

# only figure 1 reads it (a minute of CPU at the full size)
CSV_NOTE=""
if want 1; then
	log "generating $ROWS readings into $CSV"
	readings_sql "2024-07-01 10:00:00+08" 1 "$ROWS" "$CSV" | q fg >/dev/null
	CSV_NOTE="; canonical hour $ROWS readings ($(($(stat -c %s "$CSV") / 1048576)) MB CSV)"
fi

# ---------------------------------------------------------------------------
# 1: the canonical hour through the warehouse vs plain COPY
# ---------------------------------------------------------------------------
declare -a T_PLAIN T_COPY T_FOLD T_ALL
CHECK1="n/a"
if want 1; then
	for run in $(seq 1 "$RUNS"); do
		log "figure 1, run $run/$RUNS: plain COPY"
		q plain -c "DROP TABLE IF EXISTS ods" -c "CREATE TABLE ods $ODS_DDL" -c "CHECKPOINT"
		t0=$(now)
		q plain -c "COPY ods $COPY_COLS FROM '$CSV' (FORMAT csv)"
		t1=$(now)
		T_PLAIN+=("$(calc "$t1 - $t0")")

		log "figure 1, run $run/$RUNS: warehouse"
		q fg -c "DROP SCHEMA IF EXISTS grid CASCADE" >/dev/null
		q fg -c "SELECT fluss_grid.create_grid_warehouse('grid')" -c "CHECKPOINT" >/dev/null
		t0=$(now)
		q fg -c "COPY grid.ods_grid_realtime_raw $COPY_COLS FROM '$CSV' (FORMAT csv)"
		t1=$(now)
		ok=$(q fg -c "SELECT fluss_grid.wait_for_rollups(interval '30 minutes')")
		t2=$(now)
		[ "$ok" = t ] || die "wait_for_rollups timed out in figure 1"
		T_COPY+=("$(calc "$t1 - $t0")")
		T_FOLD+=("$(calc "$t2 - $t1")")
		T_ALL+=("$(calc "$t2 - $t0")")
		log "  plain $(fmt "${T_PLAIN[-1]}") s; warehouse COPY $(fmt "${T_COPY[-1]}") s + fold $(fmt "${T_FOLD[-1]}") s"
	done
	CHECK1=$(q fg -c "SELECT CASE WHEN (SELECT count(*) FROM grid.ods_grid_realtime_raw) = $ROWS
	                              AND (SELECT count(*) FROM grid.dwd_grid_measurement) = $ROWS
	                              AND (SELECT sum(n_readings) FROM grid.dws_station_minutely) = $ROWS
	                              AND (SELECT sum(n_readings) FROM grid.dws_station_daily) = $ROWS
	                              AND (SELECT count(*) FROM grid.dwd_grid_quarantine) = 0
	                         THEN 'ok' ELSE 'MISMATCH' END")
	log "  check: $CHECK1"
fi

# ---------------------------------------------------------------------------
# 2: freshness while streaming
# ---------------------------------------------------------------------------
P50=nan P99=nan NPROBE=0 ACHIEVED=nan
if want 2; then
	log "figure 2: streaming $STREAM_RATE readings/s for ${STREAM_SECS}s"
	q fg -c "DROP SCHEMA IF EXISTS grid CASCADE" >/dev/null
	q fg >/dev/null <<'EOF'
SELECT fluss_grid.create_grid_warehouse('grid');
-- a probe station of its own, so that its latest reading is the marker
INSERT INTO grid.dim_station VALUES (1000001, 'probe', '华北', 'substation', 1000, 220);
CREATE TABLE bench_probe (k int, lat_ms float8);
CREATE PROCEDURE bench_probe(nprobes int, deadline timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz;
    seen boolean;
BEGIN
    FOR k IN 1 .. nprobes LOOP
        EXIT WHEN clock_timestamp() > deadline;
        INSERT INTO grid.ods_grid_realtime_raw (station_id, ts, load_mw, generation_mw, frequency_hz, voltage_kv)
        VALUES (1000001, clock_timestamp(), k + 0.5, 0, 50, 220);
        COMMIT;
        t0 := clock_timestamp();
        LOOP
            SELECT true INTO seen FROM grid.ads_station_current
             WHERE station_id = 1000001 AND last_load_mw = k + 0.5;
            EXIT WHEN seen OR clock_timestamp() > t0 + interval '5 seconds';
            COMMIT;   -- a new snapshot for the next poll
            PERFORM pg_sleep(0.001);
        END LOOP;
        INSERT INTO bench_probe VALUES (k, CASE WHEN seen THEN extract(epoch FROM clock_timestamp() - t0) * 1000 END);
        COMMIT;
        PERFORM pg_sleep(0.05);
    END LOOP;
END;
$$;
EOF
	cat >"$WORK/stream.sql" <<'EOF'
INSERT INTO grid.ods_grid_realtime_raw (station_id, ts, load_mw, generation_mw, frequency_hz, voltage_kv)
SELECT 1 + (random() * 1399)::int, clock_timestamp(), 10, 0, 50 + 0.1 * (random() - 0.5), 220
  FROM generate_series(1, 100);
EOF
	chown postgres "$WORK/stream.sql"
	rows0=$(q fg -c "SELECT count(*) FROM grid.ods_grid_realtime_raw")
	pgb fg -n -c 4 -j 2 -R "$STREAM_TPS" -T "$STREAM_SECS" -f "$WORK/stream.sql" >"$WORK/stream.log" 2>&1 &
	PGB=$!
	sleep "$WARM"
	q fg -c "CALL bench_probe($PROBES, clock_timestamp() + interval '$((STREAM_SECS - WARM - 1)) seconds')"
	wait "$PGB" || die "pgbench failed: $(tail -3 "$WORK/stream.log")"
	rows1=$(q fg -c "SELECT count(*) FROM grid.ods_grid_realtime_raw")
	ACHIEVED=$(calc "($rows1 - $rows0) / $STREAM_SECS")
	NPROBE=$(q fg -c "SELECT count(*) FROM bench_probe WHERE lat_ms IS NOT NULL")
	P50=$(q fg -c "SELECT lat_ms FROM bench_probe WHERE lat_ms IS NOT NULL" | pctl 50)
	P99=$(q fg -c "SELECT lat_ms FROM bench_probe WHERE lat_ms IS NOT NULL" | pctl 99)
	MISSED=$(q fg -c "SELECT count(*) FROM bench_probe WHERE lat_ms IS NULL")
	log "  $NPROBE probes: p50 $(fmt "$P50") ms, p99 $(fmt "$P99") ms; $MISSED not seen within 5 s; achieved $(fmt "$ACHIEVED" 0) readings/s"
fi

# ---------------------------------------------------------------------------
# 3: ADS latency with a day loaded
# ---------------------------------------------------------------------------
declare -A ADS_P50 ADS_P99
PLAIN3_P50=nan PLAIN3_P99=nan DAY_ROWS=0
ADS_VIEWS=(ads_grid_overview ads_region_load ads_dashboard_realtime ads_pipeline_health)
if want 3; then
	DAY_ROWS=$((1400 * 86400 / DAY_STEP))
	log "figure 3: one day, $DAY_ROWS readings (one per station every ${DAY_STEP}s)"
	readings_sql "2024-07-01 00:00:00+08" "$DAY_STEP" "$DAY_ROWS" "$DAYCSV" | q fg >/dev/null
	q fg -c "DROP SCHEMA IF EXISTS grid CASCADE" >/dev/null
	q fg -c "SELECT fluss_grid.create_grid_warehouse('grid')" >/dev/null
	q fg -c "COPY grid.ods_grid_realtime_raw $COPY_COLS FROM '$DAYCSV' (FORMAT csv)"
	[ "$(q fg -c "SELECT fluss_grid.wait_for_rollups(interval '30 minutes')")" = t ] || die "wait_for_rollups timed out in figure 3"
	q fg -c "VACUUM ANALYZE"
	q fg -c "COPY (SELECT station_id, region, kind, capacity_mw FROM grid.dim_station) TO '$WORK/dim.csv' (FORMAT csv)"
	q plain -c "DROP TABLE IF EXISTS day, dim" -c "CREATE TABLE day $ODS_DDL" \
		-c "COPY day $COPY_COLS FROM '$DAYCSV' (FORMAT csv)" \
		-c "CREATE INDEX ON day (ts)" \
		-c "CREATE TABLE dim (station_id int PRIMARY KEY, region text, kind text, capacity_mw float8)" \
		-c "COPY dim FROM '$WORK/dim.csv' (FORMAT csv)" -c "VACUUM ANALYZE day" -c "VACUUM ANALYZE dim"
	# lat_sql DB QUERY: server-side milliseconds of ADS_RUNS executions
	lat_sql() {
		q "$1" <<EOF
DO \$\$
DECLARE t0 timestamptz; r record;
BEGIN
    CREATE TEMP TABLE IF NOT EXISTS lat (ms float8);
    TRUNCATE lat;
    FOR i IN 1 .. $ADS_RUNS LOOP
        t0 := clock_timestamp();
        FOR r IN EXECUTE \$q\$$2\$q\$ LOOP END LOOP;
        INSERT INTO lat VALUES (extract(epoch FROM clock_timestamp() - t0) * 1000);
    END LOOP;
END;
\$\$;
SELECT ms FROM lat;
EOF
	}
	for v in "${ADS_VIEWS[@]}"; do
		lat_sql fg "SELECT * FROM grid.$v" >"$WORK/lat_$v"
		ADS_P50[$v]=$(pctl 50 <"$WORK/lat_$v")
		ADS_P99[$v]=$(pctl 99 <"$WORK/lat_$v")
		log "  $v: p50 $(fmt "${ADS_P50[$v]}") ms, p99 $(fmt "${ADS_P99[$v]}") ms"
	done
	lat_sql plain "SELECT d.region, sum(x.load_mw) AS load_mw, sum(x.generation_mw) AS generation_mw
	                 FROM (SELECT DISTINCT ON (station_id) station_id, load_mw, generation_mw FROM day
	                        WHERE ts >= (SELECT max(ts) FROM day) - interval '2 minutes'
	                        ORDER BY station_id, ts DESC) x
	                 JOIN dim d USING (station_id) GROUP BY d.region" >"$WORK/lat_plain"
	PLAIN3_P50=$(pctl 50 <"$WORK/lat_plain")
	PLAIN3_P99=$(pctl 99 <"$WORK/lat_plain")
	log "  plain region load from the raw day: p50 $(fmt "$PLAIN3_P50") ms, p99 $(fmt "$PLAIN3_P99") ms"
fi

# ---------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------
{
	echo "Run on $(date -u '+%Y-%m-%d %H:%M UTC'), PostgreSQL $PGVERSION, $(nproc) cores; $BUILD_INFO."
	echo "Command: \`$CMDLINE\`$CSV_NOTE."
	echo
	echo "| # | figure | plain PostgreSQL | fluss_grid warehouse | ratio | target | met |"
	echo "|---|---|---|---|---|---|---|"
	if want 1; then
		P=$(printf '%s\n' "${T_PLAIN[@]}" | median)
		A=$(printf '%s\n' "${T_ALL[@]}" | median)
		C=$(printf '%s\n' "${T_COPY[@]}" | median)
		F=$(printf '%s\n' "${T_FOLD[@]}" | median)
		R=$(printf '%s\n' "${!T_ALL[@]}" | while read -r i; do calc "${T_PLAIN[$i]} / ${T_ALL[$i]}"; echo; done | median)
		echo "| 1 | canonical hour: COPY, then ODS→DWD→DWS folded (median of $RUNS) | $(fmt "$P") s | $(fmt "$A") s (COPY $(fmt "$C") s + fold $(fmt "$F") s) | $(fmt "$R")× | ≥ 0.6× | $(verdict "$R >= 0.6") |"
	fi
	if want 2; then
		echo "| 2 | ODS commit → visible in ads_station_current at $(fmt "$ACHIEVED" 0) readings/s ($NPROBE probes) | visible at commit | p50 $(fmt "$P50") ms / p99 $(fmt "$P99") ms | — | p99 ≤ 100 ms | $(verdict "$P99 <= 100") |"
	fi
	if want 3; then
		for v in "${ADS_VIEWS[@]}"; do
			echo "| 3 | \`$v\`, one day loaded ($DAY_ROWS readings), $ADS_RUNS runs | | p50 $(fmt "${ADS_P50[$v]}") ms / p99 $(fmt "${ADS_P99[$v]}") ms | | p99 ≤ 10 ms | $(verdict "${ADS_P99[$v]} <= 10") |"
		done
		echo "| 3p | region load from the raw day table (btree on ts), plain SQL | p50 $(fmt "$PLAIN3_P50") ms / p99 $(fmt "$PLAIN3_P99") ms | \`ads_region_load\` p99 $(fmt "${ADS_P99[ads_region_load]}") ms | $(fmt "$(calc "$PLAIN3_P99 / ${ADS_P99[ads_region_load]}")")× | — | — |"
	fi
	echo
	echo "Figure 1 check after the last run: $CHECK1 (ODS = DWD = Σ readings of the minutely and daily rollups, nothing quarantined)."
	if want 1; then
		echo "Per run (plain / warehouse COPY / fold, s): $(for i in "${!T_ALL[@]}"; do printf '%s/%s/%s ' "$(fmt "${T_PLAIN[$i]}")" "$(fmt "${T_COPY[$i]}")" "$(fmt "${T_FOLD[$i]}")"; done)"
	fi
} | tee "$WORK/report.md"
[ -z "$OUT" ] || cp "$WORK/report.md" "$OUT"
