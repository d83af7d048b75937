#!/usr/bin/env bash
#
# test/bench/bench_fold_wal.sh - what each reading costs the whole grid
# warehouse (ODS -> DWD -> every DWS level), in WAL bytes and CPU, folded
# in fixed batches, against plain PostgreSQL storing the same readings.
#
# The readings and the batches are the same in every run, so the WAL
# figures are deterministic (two builds can be compared byte for byte) and
# the CPU figures only vary with the machine.  Self-contained; run as
# root.  It
#   * creates a private PostgreSQL 15 cluster (unix socket only, fluss_grid
#     preloaded, fluss_grid.enabled = off: no worker runs, every fold runs
#     in the measuring session, so its CPU is counted there) and removes it
#     at exit;
#   * creates the grid warehouse in database fg (schema grid) and lets the
#     simulator (src/gridsim, replay mode, seed 42) write --duration seconds
#     of its 1400 stations at 1 reading/s to a file, cut into batches of
#     --batch readings (a batch is what a worker's pass folds under a
#     stream: 500 readings = 25 ms at 20,000 readings/s);
#   * per run, alternating: database plain, a fresh table in the ODS layout
#     (no index, no trigger): COPY each batch; database fg, a fresh
#     warehouse: COPY each batch into ODS, then fluss_grid.fold_now() (the
#     transform and every rollup, as the three workers would);
#   * measures the WAL written (pg_current_wal_lsn) and the backend's CPU
#     time (/proc/self/stat) over all batches, checks that every reading
#     reached DWD or the quarantine and every DWD reading the daily
#     rollup, and prints the medians per reading and the ratios.
#
# Usage: test/bench/bench_fold_wal.sh [--duration S] [--batch N] [--runs K]
#            [--port P] [--keep]
#   --duration S  simulated seconds of the 1400 stations (default 120)
#   --batch N    readings per batch (default 500)
#   --runs K     runs of each side, medians (default 3)
#   --port P     port of the private cluster (default 55437)
#   --keep       keep the cluster and its directory
#
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DURATION=120
BATCH=500
RUNS=3
PORT=55437
KEEP=false

die() {
	echo "bench_fold_wal: $*" >&2
	exit 2
}
. "$ROOT/test/bench/lib.sh"
bench_options "duration batch runs port" "$@"
bench_positive DURATION BATCH RUNS PORT
bench_pg_env
export PGOPTIONS="-c client_min_messages=warning"
[ -f "$PKGLIBDIR/fluss_grid.so" ] || die "fluss_grid is not installed for $PG_CONFIG (make install)"
GRIDSIM=$ROOT/src/gridsim/fluss-gridsim
[ -x "$GRIDSIM" ] || die "$GRIDSIM is not built (make)"

bench_workdir bench_fold_wal fg_foldwal
bench_initdb 512MB
cat >>"$PGD/postgresql.conf" <<EOF
checkpoint_timeout = 30min
fluss_grid.enabled = off
EOF
as_pg "$BINDIR/pg_ctl" -D "$PGD" -l "$LOG" -w -t 60 start >/dev/null
log "PostgreSQL $(q postgres -c "SHOW server_version") on port $PORT; $BUILD_INFO"
q postgres -c "CREATE DATABASE plain" -c "CREATE DATABASE fg" >/dev/null
q fg -c "CREATE EXTENSION fluss_grid" -c "SELECT fluss_grid.create_grid_warehouse('grid')" >/dev/null

COLS=$BENCH_ODS_COPY_COLS
log "simulating ${DURATION}s of 1400 stations"
as_pg "$GRIDSIM" "host=$SOCK port=$PORT dbname=fg" --quiet --start '2026-11-27 10:00' \
	--duration "${DURATION}s" --seed 42 --output "$WORK/feed.copy" >/dev/null
READINGS=$(wc -l <"$WORK/feed.copy")
(cd "$WORK" && split -a 5 -d -l "$BATCH" feed.copy batch. && chown postgres: batch.*)
NBATCH=$(ls "$WORK"/batch.* | wc -l)
log "$READINGS readings in $NBATCH batches of up to $BATCH"

CPU_SQL=$BACKEND_CPU_SQL
# script SIDE: the measuring session's statements for one run
script() {
	echo "SELECT pg_current_wal_lsn() AS l0, $CPU_SQL AS c0 \\gset"
	for f in "$WORK"/batch.*; do
		if [ "$1" = plain ]; then
			echo "COPY plain_raw $COLS FROM '$f';"
		else
			echo "COPY grid.ods_grid_realtime_raw $COLS FROM '$f';"
			echo "SELECT fluss_grid.fold_now() \\g /dev/null"
		fi
	done
	echo "SELECT $CPU_SQL AS c1 \\gset"
	echo "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), :'l0'), round(:c1 - :c0, 2);"
}
script plain >"$WORK/plain.sql"
script fg >"$WORK/fg.sql"
chown postgres: "$WORK"/*.sql

declare -a W_PLAIN C_PLAIN W_FG C_FG
for run in $(seq 1 "$RUNS"); do
	q plain -c "DROP TABLE IF EXISTS plain_raw" -c "CREATE TABLE plain_raw $BENCH_ODS_DDL" -c CHECKPOINT >/dev/null
	read -r w c < <(q plain -f "$WORK/plain.sql" | tail -1 | tr '|' ' ')
	W_PLAIN+=("$w") C_PLAIN+=("$c")
	q fg -c "DROP SCHEMA grid CASCADE" -c "SELECT fluss_grid.create_grid_warehouse('grid')" -c CHECKPOINT >/dev/null
	read -r w c < <(q fg -f "$WORK/fg.sql" | tail -1 | tr '|' ' ')
	W_FG+=("$w") C_FG+=("$c")
	CHECK=$(q fg -c "SELECT CASE WHEN (SELECT count(*) FROM grid.dwd_grid_measurement)
	                                 + (SELECT count(*) FROM grid.dwd_grid_quarantine) = $READINGS
	                            AND (SELECT sum(n_readings) FROM grid.dws_station_daily)
	                                 = (SELECT count(*) FROM grid.dwd_grid_measurement)
	                            AND (SELECT count(*) FROM fluss_grid.rollups WHERE pending_changes > 0) = 0
	                       THEN 'ok' ELSE 'MISMATCH' END")
	log "  run $run: plain ${W_PLAIN[-1]} B, ${C_PLAIN[-1]} s CPU; warehouse ${W_FG[-1]} B, ${C_FG[-1]} s CPU; check $CHECK"
	[ "$CHECK" = ok ] || die "the warehouse does not account for every reading"
done

WP=$(printf '%s\n' "${W_PLAIN[@]}" | median)
WF=$(printf '%s\n' "${W_FG[@]}" | median)
CP=$(printf '%s\n' "${C_PLAIN[@]}" | median)
CF=$(printf '%s\n' "${C_FG[@]}" | median)
cat <<EOF

## bench_fold_wal ($(date -u '+%Y-%m-%d %H:%M UTC'))

$BUILD_INFO. $READINGS simulated readings (seed 42, 1400 stations, ${DURATION} s), batches of $BATCH, $RUNS run(s) per side, medians.

| per reading | plain PostgreSQL (COPY into one heap table) | warehouse (COPY into ODS, fold_now() per batch) | ratio |
|---|---|---|---|
| WAL | $(fmt "$(calc "$WP / $READINGS")" 0) B | $(fmt "$(calc "$WF / $READINGS")" 0) B | $(fmt "$(calc "$WF / $WP")" 1)× |
| CPU of the session | $(fmt "$(calc "$CP * 1000000 / $READINGS")" 1) µs | $(fmt "$(calc "$CF * 1000000 / $READINGS")" 1) µs | plain / warehouse = $(fmt "$(calc "$CP / $CF")" 3)× |
EOF
