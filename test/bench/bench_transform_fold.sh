#!/usr/bin/env bash
#
# test/bench/bench_transform_fold.sh - cost of one transform fold (the
# warehouse's ODS -> DWD statement), alone, per changelog row.
#
# Self-contained; run as root.  It creates a private cluster (as
# bench_warehouse.sh, with fluss_grid.enabled = off: no worker folds), the
# grid warehouse, a history of --history seconds of the 1400 stations at 1
# reading/s folded into DWD (a few percent quarantined: the readings'
# voltage is out of range for the low-voltage stations), then a batch as
# the figure-2 stream writes it (--statements INSERTs of 100 readings of
# random stations at clock_timestamp()), and times the transform's stored
# fold statement over that batch --reps times, each in a transaction that
# is rolled back (after a VACUUM of DWD and the quarantine, so no run sees
# another's dead index entries).  The statement runs as the worker runs
# it: jit off, work_mem 64MB, search_path pg_catalog.  Reports min and
# median ms and µs per changelog row.  Compare builds by running it with
# each build's PG_CONFIG.  Also reports the backend's CPU time per run
# (from /proc, 10 ms ticks), steadier than elapsed time on a shared
# machine.  (The worker's saved plan is made from the
# changelog's statistics of the moment; this one is planned with the
# batch in place.)
#
# Usage: test/bench/bench_transform_fold.sh [--port P] [--history S]
#            [--statements N] [--reps K] [--keep]
#
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PORT=55434
HISTORY=120
STATEMENTS=143
REPS=9
KEEP=false

die() {
	echo "bench_transform_fold: $*" >&2
	exit 2
}
. "$ROOT/test/bench/lib.sh"

bench_options "port history statements reps" "$@"
bench_positive PORT HISTORY STATEMENTS REPS
bench_pg_env
bench_workdir bench_transform_fold fg_tfbench

bench_initdb 512MB
cat >>"$PGD/postgresql.conf" <<EOF
fluss_grid.enabled = off
timezone = 'Asia/Shanghai'
EOF
as_pg "$BINDIR/pg_ctl" -D "$PGD" -l "$LOG" -w -t 60 start >/dev/null
log "PostgreSQL $(q postgres -c "SHOW server_version") on port $PORT; $BUILD_INFO"

q postgres -c "CREATE DATABASE fg"
q fg >/dev/null <<EOF
CREATE EXTENSION fluss_grid;
SELECT fluss_grid.create_grid_warehouse('grid');
INSERT INTO grid.ods_grid_realtime_raw (station_id, ts, load_mw, generation_mw, frequency_hz, voltage_kv, received_at)
SELECT s, t, 10, 0, 50, 220, t
  FROM generate_series(1, 1400) s,
       generate_series(now() - interval '1 hour', now() - interval '1 hour' + ($HISTORY - 1) * interval '1 second',
                       interval '1 second') t;
SELECT fluss_grid.fold_now();
VACUUM ANALYZE grid.dwd_grid_measurement, grid.dwd_grid_quarantine;
EOF
CHANGELOG=$(q fg -c "SELECT format('fluss_grid.%I', 'changelog_' || id) FROM fluss_grid.transform")
q fg -c "VACUUM $CHANGELOG"
q fg >/dev/null <<EOF
DO \$\$ BEGIN FOR i IN 1..$STATEMENTS LOOP
INSERT INTO grid.ods_grid_realtime_raw (station_id, ts, load_mw, generation_mw, frequency_hz, voltage_kv)
SELECT 1 + (random() * 1399)::int, clock_timestamp(), 10, 0, 50 + 0.1 * (random() - 0.5), 220
  FROM generate_series(1, 100);
END LOOP; END \$\$;
EOF
N=$(q fg -c "SELECT count(*) FROM $CHANGELOG WHERE NOT _fg_reset")
log "history: $(q fg -c "SELECT count(*) FROM grid.dwd_grid_measurement") DWD rows, $(q fg -c "SELECT count(*) FROM grid.dwd_grid_quarantine") quarantined; batch: $N changes"

FOLD=$WORK/fold.sql
# the backend's CPU time (user + system, clock ticks) from /proc
CPU="(SELECT split_part(s, ' ', 14)::bigint + split_part(s, ' ', 15)::bigint FROM pg_read_file('/proc/self/stat') s)"
TICK_MS=$((1000 / $(getconf CLK_TCK)))
q fg -c "SELECT replace(fold_sql, '@changelog@', '$CHANGELOG') FROM fluss_grid.transform" >"$FOLD"
{
	echo "SET jit = off; SET work_mem = '64MB'; SET search_path = pg_catalog, pg_temp;"
	for _ in $(seq "$REPS"); do
		echo "VACUUM grid.dwd_grid_measurement, grid.dwd_grid_quarantine;"
		echo "SELECT $CPU AS c0 \\gset"
		echo "BEGIN;"
		echo "\\timing on"
		cat "$FOLD"
		echo ";"
		echo "\\timing off"
		echo "ROLLBACK;"
		echo "SELECT 'CPU: ' || ($CPU - :c0) * $TICK_MS;"
	done
} >"$WORK/timing.sql"
chown postgres "$WORK/timing.sql"
as_pg "$BINDIR/psql" -X -q -At -h "$SOCK" -p "$PORT" -d fg -v ON_ERROR_STOP=1 -f "$WORK/timing.sql" >"$WORK/timing.out"
TIMES=$(awk '/^Time:/ {print $2}' "$WORK/timing.out")
CPUS=$(awk '/^CPU:/ {print $2}' "$WORK/timing.out")
MIN=$(echo "$TIMES" | sort -g | head -1)
MED=$(echo "$TIMES" | median)
CPU_MEAN=$(echo "$CPUS" | awk '{s += $1} END {printf "%.1f", s / NR}')
log "fold of $N changes, $REPS runs: elapsed min $(fmt "$MIN") ms, median $(fmt "$MED") ms" \
	"($(fmt "$(calc "$MIN * 1000 / $N")") / $(fmt "$(calc "$MED * 1000 / $N")") µs per change);" \
	"backend CPU mean $CPU_MEAN ms ($(fmt "$(calc "$CPU_MEAN * 1000 / $N")") µs per change)" \
	"(load average $(cut -d' ' -f1-3 /proc/loadavg))"
echo "elapsed ms: $(echo "$TIMES" | tr '\n' ' ')" >&2
echo "CPU ms:     $(echo "$CPUS" | tr '\n' ' ')" >&2
