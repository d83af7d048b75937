#!/usr/bin/env bash
#
# test/bench/bench_floor.sh - the least the two "figure 1" loads can cost
# in the shape their issues ask for, measured on plain PostgreSQL alone,
# next to plain COPY and to fluss_grid in the same run.  A floor below a
# figure's target means no capture or fold, however cheap, reaches it.
#
# Self-contained; run as root.  It creates a private PostgreSQL 15 cluster
# (the settings of bench_rollup.sh and bench_warehouse.sh: unix socket,
# fluss_grid preloaded, shared_buffers 1GB, max_wal_size 8GB,
# checkpoint_timeout 30min) and removes it at exit, and measures, --runs
# times interleaved, after a CHECKPOINT each:
#
#   issue 2, figure 1 (target >= 0.8x): COPY of bench_rollup.sh's canonical
#   hour (5,040,000 rows of grid_raw), CPU seconds of the COPY's backend
#   and wall time, into a fresh grid_raw
#     plain            without index or trigger
#     + index          with the BRIN index create_rollup adds to a source
#     + index + transition table
#                      and an AFTER INSERT ... FOR EACH STATEMENT trigger
#                      with REFERENCING NEW TABLE whose function does
#                      nothing (PL/pgSQL RETURN NULL): the rows are written
#                      to the transition table and never read, the least a
#                      statement-level capture costs
#     rollups          with bench_rollup.sh's minutely and hourly rollups
#
#   issue 4, figure 1 (target >= 0.6x): bench_warehouse.sh's canonical hour
#   (5,040,000 readings), wall time
#     plain            COPY into one heap table in the ODS layout
#     floor            COPY into a table in the ODS layout with ODS's two
#                      BRIN indexes; then one INSERT ... SELECT of every
#                      reading, joined to dim_station and dim_region as the
#                      DWD transform joins them, into a table in the DWD
#                      layout with DWD's key and BRIN index; then one
#                      GROUP BY per station and minute (count, avg, min,
#                      max, FILTER): what any design that keeps DWD as a
#                      table writes, without changelogs, deduplication,
#                      validation or incremental state
#     floor, DWD by COPY   the same with DWD's rows loaded by COPY from a
#                      file written beforehand (multi-row inserts: the
#                      least writing DWD can cost)
#     warehouse        COPY into the ODS of a fresh grid warehouse, then
#                      wait_for_rollups() (ODS -> DWD -> DWS), as figure 1
#                      of bench_warehouse.sh
#
# Usage: test/bench/bench_floor.sh [--rows N] [--runs K] [--port P]
#            [--issues LIST] [--keep] [--out FILE]
#   --rows N      rows of each canonical hour (default 5040000; 50000 is a
#                 smoke run of under a minute)
#   --runs K      repetitions, interleaved; medians (default 3)
#   --port P      port of the private cluster (default 55436)
#   --issues LIST 2, 4 or 2,4 (default)
#   --keep        leave the cluster and work directory behind
#   --out FILE    also write the markdown report to FILE
#
set -euo pipefail

die() {
	echo "bench_floor: $*" >&2
	exit 2
}

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/test/bench/lib.sh"
ROWS=5040000 RUNS=3 PORT=55436 ISSUES=2,4 OUT="" KEEP=false
bench_options "rows runs port issues out" "$@"
bench_positive ROWS RUNS PORT
bench_pg_env
want() { [[ ",$ISSUES," == *",$1,"* ]]; }
[ -f "$PKGLIBDIR/fluss_grid.so" ] || die "fluss_grid is not installed (make install)"

bench_workdir bench_floor fg_floor
bench_initdb 1GB
cat >>"$PGD/postgresql.conf" <<EOF
checkpoint_timeout = 30min
timezone = 'Asia/Shanghai'
EOF
as_pg "$BINDIR/pg_ctl" -D "$PGD" -l "$LOG" -w -t 60 start >/dev/null
log "PostgreSQL $(q postgres -c "SHOW server_version") on port $PORT; $BUILD_INFO"
q postgres -c "CREATE DATABASE plain" -c "CREATE DATABASE fg" >/dev/null
q fg -c "CREATE EXTENSION fluss_grid" >/dev/null
q plain -c "CREATE FUNCTION noop() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NULL; END'" >/dev/null

# timed DB TABLE CSV: COPY CSV into TABLE after a CHECKPOINT; prints
# "wall_s cpu_s"
timed() {
	q "$1" <<EOF | tail -n 1 | tr '|' ' '
CHECKPOINT;
SELECT $BACKEND_CPU_SQL AS c0, extract(epoch FROM clock_timestamp()) AS t0 \gset
COPY $2 FROM '$3' (FORMAT csv);
SELECT extract(epoch FROM clock_timestamp()) AS t1, $BACKEND_CPU_SQL AS c1 \gset
SELECT round((:t1 - :t0)::numeric, 3), round(:c1 - :c0, 2);
EOF
}
# secs DB SQL...: wall seconds of the statements (one session)
secs() {
	local db=$1 t0
	shift
	t0=$(date +%s.%N)
	q "$db" "$@" >/dev/null
	calc "$(date +%s.%N) - $t0"
}
med() { printf '%s\n' "$@" | median; }
BRIN_SQL="CREATE INDEX ON grid_raw USING brin (ts) WITH (pages_per_range = 32)"

REPORT=$WORK/report.md
{
	echo "Run on $(date -u '+%Y-%m-%d %H:%M UTC'), PostgreSQL $(q postgres -c "SHOW server_version"), $(nproc) cores; $BUILD_INFO."
	echo "Command: \`test/bench/bench_floor.sh$(printf ' %q' "$@")\`; $RUNS run(s) of each, interleaved, medians."
} >"$REPORT"

# ---------------------------------------------------------------------------
# issue 2, figure 1
# ---------------------------------------------------------------------------
if want 2; then
	log "generating $ROWS rows of grid_raw"
	rollup_data_sql "2024-07-01 10:00:00+08" "$ROWS" "$WORK/raw.csv" | q postgres >/dev/null
	declare -a W1 C1 W2 C2 W3 C3 W4 C4
	for run in $(seq 1 "$RUNS"); do
		q plain -c "DROP TABLE IF EXISTS grid_raw" -c "CREATE TABLE grid_raw ($BENCH_GRID_RAW_COLUMNS)"
		read -r w c < <(timed plain grid_raw "$WORK/raw.csv")
		W1+=("$w") C1+=("$c")
		q plain -c "DROP TABLE grid_raw" -c "CREATE TABLE grid_raw ($BENCH_GRID_RAW_COLUMNS)" -c "$BRIN_SQL"
		read -r w c < <(timed plain grid_raw "$WORK/raw.csv")
		W2+=("$w") C2+=("$c")
		q plain -c "DROP TABLE grid_raw" -c "CREATE TABLE grid_raw ($BENCH_GRID_RAW_COLUMNS)" -c "$BRIN_SQL" \
			-c "CREATE TRIGGER capture AFTER INSERT ON grid_raw REFERENCING NEW TABLE AS n
			    FOR EACH STATEMENT EXECUTE FUNCTION noop()"
		read -r w c < <(timed plain grid_raw "$WORK/raw.csv")
		W3+=("$w") C3+=("$c")
		q fg >/dev/null <<EOF
SET client_min_messages = warning;
SELECT fluss_grid.drop_rollup(rollup_rel, cascade => true) FROM fluss_grid.rollup WHERE parent_id IS NULL;
DROP TABLE IF EXISTS grid_raw;
CREATE TABLE grid_raw ($BENCH_GRID_RAW_COLUMNS);
$(rollup_sql grid_raw grid)
EOF
		read -r w c < <(timed fg grid_raw "$WORK/raw.csv")
		W4+=("$w") C4+=("$c")
		log "issue 2 run $run (wall s / cpu s): plain ${W1[-1]}/${C1[-1]}, + index ${W2[-1]}/${C2[-1]}, + transition table ${W3[-1]}/${C3[-1]}, rollups ${W4[-1]}/${C4[-1]}"
	done
	ok=$(q fg -c "SELECT fluss_grid.wait_for_rollups(interval '10 minutes')")
	[ "$ok" = t ] || die "wait_for_rollups() timed out"
	P=$(med "${C1[@]}") PW=$(med "${W1[@]}")
	row() { echo "| $1 | $(fmt "$(med "${!2}")") s | $(fmt "$(calc "$P / $(med "${!2}")")" 3)× | $(fmt "$(med "${!3}")") s | $(fmt "$(calc "$PW / $(med "${!3}")")" 3)× |"; }
	{
		echo
		echo "### Issue 2, figure 1: COPY of $ROWS rows into grid_raw (target ≥ 0.8×)"
		echo
		echo "| COPY into grid_raw | CPU of the COPY | plain / this (CPU) | wall | plain / this (wall) |"
		echo "|---|---|---|---|---|"
		row "plain" "C1[@]" "W1[@]"
		row "+ the BRIN index create_rollup adds" "C2[@]" "W2[@]"
		row "+ that index + a statement trigger with a transition table that does nothing" "C3[@]" "W3[@]"
		row "fluss_grid: minutely and hourly rollups (index and capture)" "C4[@]" "W4[@]"
		echo
		echo "Per run, CPU s (plain / + index / + transition table / rollups): $(for i in "${!C1[@]}"; do printf '%s/%s/%s/%s ' "${C1[$i]}" "${C2[$i]}" "${C3[$i]}" "${C4[$i]}"; done)"
	} >>"$REPORT"
fi

# ---------------------------------------------------------------------------
# issue 4, figure 1
# ---------------------------------------------------------------------------
if want 4; then
	log "generating $ROWS readings"
	readings_sql "2024-07-01 10:00:00+08" 1 "$ROWS" "$WORK/hour.csv" | q fg >/dev/null
	COLS=$BENCH_ODS_COPY_COLS
	declare -a TP TA TB TC TD TW
	for run in $(seq 1 "$RUNS"); do
		q plain -c "DROP TABLE IF EXISTS ods" -c "CREATE TABLE ods $BENCH_ODS_DDL"
		read -r w _ < <(timed plain "ods $COLS" "$WORK/hour.csv")
		TP+=("$w")

		q fg >/dev/null <<EOF
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS grid CASCADE;
SELECT fluss_grid.create_grid_warehouse('grid');
DROP SCHEMA IF EXISTS floor CASCADE;
CREATE SCHEMA floor;
CREATE TABLE floor.ods $BENCH_ODS_DDL;
CREATE INDEX ON floor.ods USING brin (received_at);
CREATE INDEX ON floor.ods USING brin (ts) WITH (pages_per_range = 32);
CREATE TABLE floor.dwd (LIKE grid.dwd_grid_measurement INCLUDING DEFAULTS);
ALTER TABLE floor.dwd ADD PRIMARY KEY (station_id, ts);
CREATE INDEX ON floor.dwd USING brin (ts) WITH (pages_per_range = 32);
EOF
		read -r w _ < <(timed fg "floor.ods $COLS" "$WORK/hour.csv")
		TA+=("$w")
		TB+=("$(secs fg -c "INSERT INTO floor.dwd (station_id, ts, ingest_seq, grid_region, station_kind,
		        capacity_mw, nominal_kv, load_mw, generation_mw, frequency_hz, voltage_kv, frequency_ok,
		        voltage_ok, received_at)
		    SELECT r.station_id, r.ts, r.ingest_seq, st.region, st.kind, st.capacity_mw, st.nominal_kv,
		           r.load_mw, r.generation_mw, r.frequency_hz, r.voltage_kv,
		           abs(r.frequency_hz - rg.nominal_frequency_hz) <= rg.frequency_limit_hz,
		           abs(r.voltage_kv / st.nominal_kv - 1) * 100 <= rg.voltage_limit_pct, r.received_at
		      FROM floor.ods r
		      JOIN grid.dim_station st ON st.station_id = r.station_id
		      JOIN grid.dim_region rg ON rg.region = st.region")")
		TC+=("$(secs fg -c "CREATE TABLE floor.minutely AS
		    SELECT date_trunc('minute', ts) AS bucket, grid_region, station_id, station_kind,
		           count(*) AS n_readings, avg(load_mw) AS avg_load_mw, max(load_mw) AS max_load_mw,
		           min(load_mw) AS min_load_mw, avg(generation_mw) AS avg_generation_mw,
		           max(generation_mw) AS max_generation_mw, avg(frequency_hz) AS avg_frequency_hz,
		           min(frequency_hz) AS min_frequency_hz, max(frequency_hz) AS max_frequency_hz,
		           count(*) FILTER (WHERE frequency_ok) AS n_frequency_ok, avg(voltage_kv) AS avg_voltage_kv,
		           count(*) FILTER (WHERE voltage_ok) AS n_voltage_ok
		      FROM floor.dwd GROUP BY 1, 2, 3, 4")")
		# the same DWD rows loaded by COPY (multi-row inserts) instead
		q fg -c "COPY floor.dwd TO '$WORK/dwd.csv' (FORMAT csv)" \
			-c "CREATE TABLE floor.dwd2 (LIKE floor.dwd INCLUDING DEFAULTS)" \
			-c "ALTER TABLE floor.dwd2 ADD PRIMARY KEY (station_id, ts)" \
			-c "CREATE INDEX ON floor.dwd2 USING brin (ts) WITH (pages_per_range = 32)" >/dev/null
		read -r w _ < <(timed fg floor.dwd2 "$WORK/dwd.csv")
		TD+=("$w")
		rm -f "$WORK/dwd.csv"
		q fg -c "SET client_min_messages = warning" -c "DROP SCHEMA floor CASCADE" -c CHECKPOINT >/dev/null

		t0=$(date +%s.%N)
		q fg -c "COPY grid.ods_grid_realtime_raw $COLS FROM '$WORK/hour.csv' (FORMAT csv)"
		ok=$(q fg -c "SELECT fluss_grid.wait_for_rollups(interval '30 minutes')")
		[ "$ok" = t ] || die "wait_for_rollups() timed out"
		TW+=("$(calc "$(date +%s.%N) - $t0")")
		n=$(q fg -c "SELECT (SELECT count(*) FROM grid.dwd_grid_measurement) = $ROWS
		                AND (SELECT sum(n_readings) FROM grid.dws_station_minutely) = $ROWS")
		[ "$n" = t ] || die "the warehouse does not hold every reading"
		log "issue 4 run $run (s): plain ${TP[-1]}, floor ${TA[-1]} + ${TB[-1]} + ${TC[-1]} (DWD by COPY ${TD[-1]}), warehouse ${TW[-1]}"
	done
	declare -a TF TG
	for i in "${!TA[@]}"; do
		TF+=("$(calc "${TA[$i]} + ${TB[$i]} + ${TC[$i]}")")
		TG+=("$(calc "${TA[$i]} + ${TD[$i]} + ${TC[$i]}")")
	done
	P=$(med "${TP[@]}")
	{
		echo
		echo "### Issue 4, figure 1: $ROWS readings through ODS, DWD and a per-station minutely table (target ≥ 0.6×)"
		echo
		echo "| load | wall | plain / this |"
		echo "|---|---|---|"
		echo "| plain: COPY into one heap table in the ODS layout | $(fmt "$P") s | 1× |"
		echo "| floor: COPY into ODS (its BRIN indexes) $(fmt "$(med "${TA[@]}")") s + one INSERT … SELECT into DWD (its key and BRIN index) $(fmt "$(med "${TB[@]}")") s + one GROUP BY per station and minute $(fmt "$(med "${TC[@]}")") s | $(fmt "$(med "${TF[@]}")") s | $(fmt "$(calc "$P / $(med "${TF[@]}")")" 3)× |"
		echo "| the same with DWD's rows loaded by COPY instead (its key and BRIN index) $(fmt "$(med "${TD[@]}")") s, from a file written beforehand | $(fmt "$(med "${TG[@]}")") s | $(fmt "$(calc "$P / $(med "${TG[@]}")")" 3)× |"
		echo "| fluss_grid warehouse: COPY into ODS, then wait_for_rollups() | $(fmt "$(med "${TW[@]}")") s | $(fmt "$(calc "$P / $(med "${TW[@]}")")" 3)× |"
		echo
		echo "Per run, s (plain / floor / floor with DWD by COPY / warehouse): $(for i in "${!TP[@]}"; do printf '%s/%s/%s/%s ' "$(fmt "${TP[$i]}")" "$(fmt "${TF[$i]}")" "$(fmt "${TG[$i]}")" "$(fmt "${TW[$i]}")"; done)"
	} >>"$REPORT"
fi

echo
cat "$REPORT"
[ -z "$OUT" ] || cp "$REPORT" "$OUT"
