#!/usr/bin/env bash
#
# test/bench/bench_columnar.sh - benchmark of the fluss_columnar table access
# method (issue 3, "Benchmark"): the five figures, each against a heap table
# in the same run, printed as a markdown table.
#
# Self-contained; run as root.  It
#   * creates a private PostgreSQL 15 cluster in a temporary directory owned
#     by postgres (unix socket only, shared_preload_libraries = 'fluss_grid',
#     shared_buffers = 1GB, max_wal_size = 8GB, checkpoint_timeout = 30min,
#     autovacuum off: VACUUM ANALYZE and CHECKPOINT are run explicitly between
#     phases; fsync and synchronous_commit left on) and removes it at exit;
#   * generates the canonical grid data once into a CSV file, exactly as
#     bench_rollup.sh does: 7 regions x 200 stations x 1 sample/s, starting
#     2024-07-01 10:00 +08 (5,040,000 rows = one hour by default), seeded;
#   * loads it into grid_heap (heap) and grid_col (fluss_columnar, default
#     options: zstd level 3, 150,000-row row groups), same columns as
#     bench_rollup.sh's grid_raw, no indexes, in one database;
#   * measures
#      1. pg_total_relation_size of each table right after COPY; saved =
#         1 - columnar / heap (target >= 90 %).  Below the table: the
#         per-column breakdown of fluss_grid.columnar_stats, with the heap's
#         sum(pg_column_size()) of the column for comparison.
#      2. COPY of the CSV into a fresh table, columnar vs heap (ratio = heap
#         time / columnar time, target >= 1.0; the CPU seconds of the COPY
#         backend are reported too: steadier on a shared machine), and the
#         WAL each COPY wrote (pg_current_wal_lsn() before and after, commit
#         included; target: columnar WAL <= 1.2 x the columnar size).
#         CHECKPOINT before each COPY; heap and columnar alternate first.
#      3. SELECT region, date_trunc('minute', ts), count(*), avg(load_mw),
#         min(frequency_hz), max(frequency_hz) ... GROUP BY 1, 2 over all the
#         data, with max_parallel_workers_per_gather = 0 and at the default
#         (both may get a parallel plan: heap a Parallel Seq Scan, columnar
#         a Parallel Custom Scan); target columnar <= heap in both.  Results
#         compared, serial and at the default.
#      4. a one-minute range (count(*), avg(load_mw) WHERE ts >= X AND ts <
#         X + 1 minute, X = the middle of the data), parallel workers off:
#         columnar vs heap sequential scan (target <= 0.2x), then vs heap with
#         a BRIN index on ts (target <= 1.0x).  Below one hour of data the
#         window shrinks to 1/60 of the data (smoke mode: a second).  Both
#         at the default parallel setting are reported too.
#     4i. with --index: the same range through a B-tree index on ts of each
#         table (enable_seqscan off, parallel workers off; plans shown),
#         columnar vs heap (report only), and the CREATE INDEX times (wall
#         clock around psql) and index sizes.  The indexes are dropped
#         before figure 5.
#      5. DELETE of 1,000 scattered rows, then UPDATE of 1,000 other
#         scattered rows (load_mw + 1), each picked by (station_id, ts) from
#         a key table (hash semi join), columnar vs heap, CHECKPOINT before
#         each, committed; report only.  Each run takes new rows.  Afterwards
#         the two tables are compared (counts and exact sums).
#   Queries (3, 4) run after one warm-up, heap and columnar interleaved in
#   one session, --query-runs times each; times are taken around the
#   statement in the session (clock_timestamp), medians everywhere.
#
# Usage: test/bench/bench_columnar.sh [--rows N] [--runs K] [--port P]
#            [--build] [--keep] [--out FILE] [--query-runs Q]
#            [--pg-conf LINE]... [--index]
#   --rows N    rows of canonical data (default 5040000); N < 1000000 is
#               smoke mode: --rows 50000 --runs 1 finishes in well under a
#               minute
#   --runs K    repetitions of figures 2 and 5 (COPY; DELETE/UPDATE);
#               medians (default 3)
#   --query-runs Q   timed repetitions of each query of figures 3 and 4
#               (default 5; 3 in smoke mode)
#   --port P    port of the private cluster (unix socket only; default 55434)
#   --build     make && make install first (under flock
#               /tmp/fluss_grid_install.lock); without it the installed
#               extension is used as is
#   --keep      leave the cluster and data directory behind (path printed)
#   --out FILE  also write the markdown report to FILE
#   --pg-conf LINE    extra postgresql.conf line, repeatable (e.g. "jit = off")
#   --index     also measure figure 4i (a B-tree index on ts, both tables)
#
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CMDLINE="test/bench/bench_columnar.sh"
for a in "$@"; do
	if [[ "$a" =~ ^[A-Za-z0-9_./=,:-]+$ ]]; then CMDLINE+=" $a"; else CMDLINE+=" '${a//\'/\'\\\'\'}'"; fi
done

ROWS=5040000
RUNS=3
QRUNS=
PORT=55434
BUILD=false
KEEP=false
INDEX=false
OUT=
PGCONF=

die() {
	echo "bench_columnar: $*" >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case "$1" in
		--rows) ROWS=${2:-}; shift ;;
		--rows=*) ROWS=${1#--rows=} ;;
		--runs) RUNS=${2:-}; shift ;;
		--runs=*) RUNS=${1#--runs=} ;;
		--query-runs) QRUNS=${2:-}; shift ;;
		--query-runs=*) QRUNS=${1#--query-runs=} ;;
		--port) PORT=${2:-}; shift ;;
		--port=*) PORT=${1#--port=} ;;
		--out) OUT=${2:-}; shift ;;
		--out=*) OUT=${1#--out=} ;;
		--pg-conf) PGCONF+="${2:-}"$'\n'; shift ;;
		--pg-conf=*) PGCONF+="${1#--pg-conf=}"$'\n' ;;
		--build) BUILD=true ;;
		--keep) KEEP=true ;;
		--index) INDEX=true ;;
		-h | --help)
			awk 'NR > 1 && !/^#/ {exit} NR > 1' "$0" | sed 's/^# \{0,1\}//'
			exit 0
			;;
		*) die "unknown argument: $1 (try --help)" ;;
	esac
	shift
done
[[ "$ROWS" =~ ^[0-9]+$ ]] && [ "$ROWS" -ge 2800 ] || die "--rows needs a number >= 2800"
[[ "$RUNS" =~ ^[0-9]+$ ]] && [ "$RUNS" -ge 1 ] || die "--runs needs a number >= 1"
[[ "$PORT" =~ ^[0-9]+$ ]] || die "--port needs a number"
if [ -z "$QRUNS" ]; then
	if [ "$ROWS" -ge 1000000 ]; then QRUNS=5; else QRUNS=3; fi
fi
[[ "$QRUNS" =~ ^[0-9]+$ ]] && [ "$QRUNS" -ge 1 ] || die "--query-runs needs a number >= 1"
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

if $BUILD; then
	echo "== building and installing fluss_grid (flock /tmp/fluss_grid_install.lock)" >&2
	(cd "$ROOT" && make -s && flock /tmp/fluss_grid_install.lock make -s install) >&2
fi
[ -f "$PKGLIBDIR/fluss_grid.so" ] || die "fluss_grid is not installed: run with --build"

. "$ROOT/test/bench/lib.sh"
bench_workdir bench_columnar fg_colbench
CSV=$WORK/grid.csv
# mb BYTES: megabytes, one decimal (two below 10 MB)
mb() { awk -v b="$1" 'BEGIN {m = b / 1048576; printf (m < 10 ? "%.2f MB" : "%.1f MB"), m}'; }

# ---------------------------------------------------------------------------
# cluster
# ---------------------------------------------------------------------------
bench_initdb 1GB
cat >>"$PGD/postgresql.conf" <<EOF
checkpoint_timeout = 30min
max_connections = 50
max_worker_processes = 16
autovacuum = off
timezone = 'Asia/Shanghai'
log_checkpoints = off
$PGCONF
EOF
as_pg "$BINDIR/pg_ctl" -D "$PGD" -l "$LOG" -w -t 60 start >/dev/null
PGVERSION=$(q postgres -c "SHOW server_version")
log "PostgreSQL $PGVERSION on port $PORT"

q postgres -c "CREATE DATABASE fg"
q fg -c "CREATE EXTENSION fluss_grid"
[ "$(q fg -c "SELECT count(*) FROM pg_am WHERE amname = 'fluss_columnar'")" = 1 ] ||
	die "the installed fluss_grid has no fluss_columnar access method (run with --build)"
PAR_DEFAULT=$(q fg -c "SHOW max_parallel_workers_per_gather")

T_BASE="2024-07-01 10:00:00+08"
SECS=$(((ROWS + 1399) / 1400))
# seconds in which all 1400 stations have a row (figure 5 picks from those)
FULL_SECS=$((ROWS / 1400))
T_END=$(q postgres -c "SELECT timestamptz '$T_BASE' + interval '$SECS seconds'")
# figure 4's window: a minute, or 1/60 of shorter data
if [ "$SECS" -ge 3600 ]; then WIN_SECS=60; else WIN_SECS=$((SECS / 60 > 0 ? SECS / 60 : 1)); fi
WIN_OFF=$((SECS / 2 / WIN_SECS * WIN_SECS))
T_WIN=$(q postgres -c "SELECT timestamptz '$T_BASE' + interval '$WIN_OFF seconds'")
T_WIN_END=$(q postgres -c "SELECT timestamptz '$T_WIN' + interval '$WIN_SECS seconds'")
[ $((2000 * RUNS)) -le $((FULL_SECS * 1400)) ] || die "--runs $RUNS needs more --rows (figure 5 takes 2,000 new rows a run)"

COLUMNS_DDL=$BENCH_GRID_RAW_COLUMNS
# table_ddl NAME: CREATE TABLE for grid_heap (heap) or grid_col (columnar)
table_ddl() {
	if [ "$1" = grid_col ]; then
		echo "CREATE TABLE grid_col ($COLUMNS_DDL) USING fluss_columnar"
	else
		echo "CREATE TABLE $1 ($COLUMNS_DDL) USING heap"
	fi
}

# ---------------------------------------------------------------------------
# canonical data, once (the generator of bench_rollup.sh, unchanged)
# ---------------------------------------------------------------------------
log "generating $ROWS rows into $CSV"
rollup_data_sql "$T_BASE" "$ROWS" "$CSV" | q postgres >/dev/null
CSV_MB=$(($(stat -c %s "$CSV") / 1048576))


# ---------------------------------------------------------------------------
# 1 + 2: COPY, size, WAL
# ---------------------------------------------------------------------------
# timed_copy TABLE: a fresh TABLE, CHECKPOINT, COPY the CSV into it; prints
# "copy_s cpu_s wal_bytes total_size_bytes"
timed_copy() {
	q fg >/dev/null -c "DROP TABLE IF EXISTS $1" -c "$(table_ddl "$1")" -c "$META_VACUUM" -c "CHECKPOINT"
	q fg <<EOF | tr '|' ' '
SELECT pg_current_wal_lsn() AS l0, $BACKEND_CPU_SQL AS c0, extract(epoch FROM clock_timestamp()) AS t0 \gset
COPY $1 FROM '$CSV' (FORMAT csv);
SELECT extract(epoch FROM clock_timestamp()) AS t1, $BACKEND_CPU_SQL AS c1, pg_current_wal_lsn() AS l1 \gset
SELECT round((:t1 - :t0)::numeric, 4), round(:c1 - :c0, 2), pg_wal_lsn_diff(:'l1', :'l0')::bigint,
       pg_total_relation_size('$1');
EOF
}

# the metadata rows of a dropped columnar table are dead tuples: vacuumed
# before each COPY (autovacuum is off)
META_VACUUM="VACUUM fluss_grid.columnar_row_group, fluss_grid.columnar_chunk, fluss_grid.columnar_deleted"
declare -a C_HEAP C_COL U_HEAP U_COL W_HEAP W_COL S_HEAP S_COL
for run in $(seq 1 "$RUNS"); do
	log "figures 1/2: COPY run $run of $RUNS"
	if [ $((run % 2)) -eq 1 ]; then order="grid_heap grid_col"; else order="grid_col grid_heap"; fi
	for t in $order; do
		read -r c u w s < <(timed_copy "$t")
		[ -n "${s:-}" ] || die "COPY into $t failed"
		if [ "$t" = grid_heap ]; then
			C_HEAP+=("$c") U_HEAP+=("$u") W_HEAP+=("$w") S_HEAP+=("$s")
		else
			C_COL+=("$c") U_COL+=("$u") W_COL+=("$w") S_COL+=("$s")
		fi
	done
	log "  heap ${C_HEAP[-1]} s (cpu ${U_HEAP[-1]}, WAL $(mb "${W_HEAP[-1]}"), $(mb "${S_HEAP[-1]}")); columnar ${C_COL[-1]} s (cpu ${U_COL[-1]}, WAL $(mb "${W_COL[-1]}"), $(mb "${S_COL[-1]}"))"
done
COPY_HEAP=$(printf '%s\n' "${C_HEAP[@]}" | median)
COPY_COL=$(printf '%s\n' "${C_COL[@]}" | median)
CPU_HEAP=$(printf '%s\n' "${U_HEAP[@]}" | median)
CPU_COL=$(printf '%s\n' "${U_COL[@]}" | median)
WAL_HEAP=$(printf '%s\n' "${W_HEAP[@]}" | median)
WAL_COL=$(printf '%s\n' "${W_COL[@]}" | median)
# sizes right after the last COPY (the same every run: deterministic data)
SIZE_HEAP=${S_HEAP[-1]}
SIZE_COL=${S_COL[-1]}
COPY_RATIO=$(calc "$COPY_HEAP / $COPY_COL")
CPU_RATIO=$(calc "$CPU_HEAP / $CPU_COL")
SAVED=$(calc "100 * (1 - $SIZE_COL / $SIZE_HEAP)")
WAL_PER_SIZE=$(calc "$WAL_COL / $SIZE_COL")
N_HEAP=$(q fg -c "SELECT count(*) FROM grid_heap")
N_COL=$(q fg -c "SELECT count(*) FROM grid_col")
[ "$N_HEAP" = "$ROWS" ] && [ "$N_COL" = "$ROWS" ] || die "row counts after COPY: heap $N_HEAP, columnar $N_COL, expected $ROWS"

q fg -c "VACUUM ANALYZE" -c "CHECKPOINT" >/dev/null
SIZE_HEAP_VAC=$(q fg -c "SELECT pg_total_relation_size('grid_heap')")
SIZE_COL_VAC=$(q fg -c "SELECT pg_total_relation_size('grid_col')")
META_SIZE=$(q fg -c "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                      WHERE n.nspname = 'fluss_grid' AND c.relkind = 'r' AND c.relname LIKE 'columnar\_%'")
ROW_GROUPS=$(q fg -c "SELECT max(row_groups) FROM fluss_grid.columnar_stats('grid_col')")

log "per-column breakdown"
# heap: the bytes each column's values take in the tuples
HEAP_COLS=$(q fg -c "SELECT sum(pg_column_size(ts)), sum(pg_column_size(region)), sum(pg_column_size(station_id)),
                            sum(pg_column_size(load_mw)), sum(pg_column_size(generation_mw)),
                            sum(pg_column_size(frequency_hz)), sum(pg_column_size(voltage_kv))
                       FROM grid_heap" | tr '|' ' ')
read -r -a HEAP_COL_ARR <<<"$HEAP_COLS"
BREAKDOWN="| column | encodings | row groups | NULLs | raw bytes | compressed | ratio | bytes/row | share of file | heap Σ pg_column_size |
|---|---|--:|--:|--:|--:|--:|--:|--:|--:|"
i=0
while IFS='|' read -r att rg nulls raw comp enc; do
	BREAKDOWN+=$'\n'"| $att | $enc | $rg | $nulls | $raw | $comp | $(fmt "$(calc "$raw / ($comp > 0 ? $comp : 1)")" 1)× | $(fmt "$(calc "$comp / $ROWS")" 3) | $(fmt "$(calc "100 * $comp / $SIZE_COL")" 1) % | $(mb "${HEAP_COL_ARR[$i]}") |"
	i=$((i + 1))
done < <(q fg -c "SELECT attname, row_groups, null_values, raw_bytes, compressed_bytes, encodings
                    FROM fluss_grid.columnar_stats('grid_col')")
SUM_COMP=$(q fg -c "SELECT sum(compressed_bytes) FROM fluss_grid.columnar_stats('grid_col')")
SUM_RAW=$(q fg -c "SELECT sum(raw_bytes) FROM fluss_grid.columnar_stats('grid_col')")
BREAKDOWN+=$'\n'"| all | | | | $SUM_RAW | $SUM_COMP | $(fmt "$(calc "$SUM_RAW / $SUM_COMP")" 1)× | $(fmt "$(calc "$SUM_COMP / $ROWS")" 3) | $(fmt "$(calc "100 * $SUM_COMP / $SIZE_COL")" 1) % | $(mb "$(calc "$(printf '%s+' "${HEAP_COL_ARR[@]}")0")") |"

# ---------------------------------------------------------------------------
# query timing
# ---------------------------------------------------------------------------
# time_pair N SETUP SQL_HEAP SQL_COL: in one session, SETUP, one warm-up of
# each, then N timed runs of each, interleaved; prints "h MS" / "c MS" lines
time_pair() {
	local n=$1 setup=$2 sh=$3 sc=$4
	{
		echo "$setup;"
		echo '\o /dev/null'
		echo "$sh;"
		echo "$sc;"
		echo '\o'
		for _ in $(seq 1 "$n"); do
			for k in h c; do
				echo "SELECT extract(epoch FROM clock_timestamp()) AS t0 \gset"
				echo '\o /dev/null'
				if [ $k = h ]; then echo "$sh;"; else echo "$sc;"; fi
				echo '\o'
				echo "SELECT '$k', round(((extract(epoch FROM clock_timestamp()) - :t0) * 1000)::numeric, 3);"
			done
		done
	} | q fg -F ' '
}
# pick h|c: the median of one side of time_pair's output on stdin
pick() { awk -v k="$1" '$1 == k {print $2}' | median; }
# plan_of SETUP SQL: the plan's node names, compact
plan_of() {
	q fg -c "$1" -c "EXPLAIN (COSTS OFF) $2" | grep -v ':' |
		sed 's/^[[:space:]]*\(->[[:space:]]*\)\{0,1\}//; s/[[:space:]]*$//' | paste -sd '>' - | sed 's/>/ → /g'
}

# ---------------------------------------------------------------------------
# 3: GROUP BY region, minute
# ---------------------------------------------------------------------------
gb_sql() {
	echo "SELECT region, date_trunc('minute', ts), count(*), avg(load_mw), min(frequency_hz), max(frequency_hz) FROM $1 GROUP BY 1, 2"
}
log "figure 3: GROUP BY region, minute; $QRUNS runs each"
SET0="SET max_parallel_workers_per_gather = 0"
SETD="RESET max_parallel_workers_per_gather"
time_pair "$QRUNS" "$SET0" "$(gb_sql grid_heap)" "$(gb_sql grid_col)" >"$WORK/gb0"
time_pair "$QRUNS" "$SETD" "$(gb_sql grid_heap)" "$(gb_sql grid_col)" >"$WORK/gbd"
GB0_HEAP=$(pick h <"$WORK/gb0")
GB0_COL=$(pick c <"$WORK/gb0")
GBD_HEAP=$(pick h <"$WORK/gbd")
GBD_COL=$(pick c <"$WORK/gbd")
GB0_RATIO=$(calc "$GB0_COL / $GB0_HEAP")
GBD_RATIO=$(calc "$GBD_COL / $GBD_HEAP")
PLAN_GB0_HEAP=$(plan_of "$SET0" "$(gb_sql grid_heap)")
PLAN_GB0_COL=$(plan_of "$SET0" "$(gb_sql grid_col)")
PLAN_GBD_HEAP=$(plan_of "$SETD" "$(gb_sql grid_heap)")
PLAN_GBD_COL=$(plan_of "$SETD" "$(gb_sql grid_col)")
GB_GROUPS=$(q fg -c "SELECT count(*) FROM ($(gb_sql grid_col)) x")
GB_DIFF=$(q fg -c "$SET0" -c "SELECT count(*) FROM (
    (SELECT region, date_trunc, count, round(avg::numeric, 6), min, max FROM ($(gb_sql grid_heap)) h
     EXCEPT ALL
     SELECT region, date_trunc, count, round(avg::numeric, 6), min, max FROM ($(gb_sql grid_col)) c)
    UNION ALL
    (SELECT region, date_trunc, count, round(avg::numeric, 6), min, max FROM ($(gb_sql grid_col)) c
     EXCEPT ALL
     SELECT region, date_trunc, count, round(avg::numeric, 6), min, max FROM ($(gb_sql grid_heap)) h)) x")
# the same at the default parallel setting (each side planned as in 3p);
# the workers sum load_mw in another order than a serial scan, and heap and
# columnar share rows among them differently, so the averages are compared
# to a relative 1e-12 (rounding both to 6 decimals would differ whenever the
# two land on either side of a rounding boundary)
GBD_DIFF=$(q fg -c "$SETD" -c "WITH h AS MATERIALIZED ($(gb_sql grid_heap)), c AS MATERIALIZED ($(gb_sql grid_col))
    SELECT count(*) FROM h FULL JOIN c USING (region, date_trunc)
     WHERE h.count IS DISTINCT FROM c.count OR h.min IS DISTINCT FROM c.min
        OR h.max IS DISTINCT FROM c.max
        OR NOT (abs(h.avg - c.avg) <= 1e-12 * greatest(abs(h.avg), abs(c.avg)))")
log "  workers 0: heap $GB0_HEAP ms, columnar $GB0_COL ms; default: heap $GBD_HEAP ms, columnar $GBD_COL ms; groups differing: $GB_DIFF (default: $GBD_DIFF)"

# ---------------------------------------------------------------------------
# 4: one-minute range
# ---------------------------------------------------------------------------
rq_sql() {
	echo "SELECT count(*), avg(load_mw) FROM $1 WHERE ts >= '$T_WIN' AND ts < '$T_WIN_END'"
}
log "figure 4: range [$T_WIN, $T_WIN_END); $QRUNS runs each"
q fg -c "CHECKPOINT" >/dev/null
time_pair "$QRUNS" "$SET0" "$(rq_sql grid_heap)" "$(rq_sql grid_col)" >"$WORK/rq_seq"
RQ_HEAP_SEQ=$(pick h <"$WORK/rq_seq")
RQ_COL=$(pick c <"$WORK/rq_seq")
PLAN_RQ_HEAP_SEQ=$(plan_of "$SET0" "$(rq_sql grid_heap)")
PLAN_RQ_COL=$(plan_of "$SET0" "$(rq_sql grid_col)")
# both at the default (parallel when the planner wants it)
time_pair "$QRUNS" "$SETD" "$(rq_sql grid_heap)" "$(rq_sql grid_col)" >"$WORK/rq_par"
RQ_HEAP_PAR=$(pick h <"$WORK/rq_par")
RQ_COL_PAR=$(pick c <"$WORK/rq_par")
PLAN_RQ_HEAP_PAR=$(plan_of "$SETD" "$(rq_sql grid_heap)")
PLAN_RQ_COL_PAR=$(plan_of "$SETD" "$(rq_sql grid_col)")
log "  BRIN index on grid_heap (ts)"
q fg -c "CREATE INDEX grid_heap_ts_brin ON grid_heap USING brin (ts)" -c "VACUUM ANALYZE grid_heap" -c "CHECKPOINT" >/dev/null
BRIN_SIZE=$(q fg -c "SELECT pg_relation_size('grid_heap_ts_brin')")
time_pair "$QRUNS" "$SET0" "$(rq_sql grid_heap)" "$(rq_sql grid_col)" >"$WORK/rq_brin"
RQ_HEAP_BRIN=$(pick h <"$WORK/rq_brin")
RQ_COL2=$(pick c <"$WORK/rq_brin")
PLAN_RQ_HEAP_BRIN=$(plan_of "$SET0" "$(rq_sql grid_heap)")
RQ_ROWS=$(q fg -c "SELECT count(*) FROM grid_col WHERE ts >= '$T_WIN' AND ts < '$T_WIN_END'")
RQ_SAME=$(q fg -c "$SET0" -c "SELECT CASE WHEN (SELECT (count(*), round(avg(load_mw)::numeric, 6)) FROM grid_heap WHERE ts >= '$T_WIN' AND ts < '$T_WIN_END')
                                      = (SELECT (count(*), round(avg(load_mw)::numeric, 6)) FROM grid_col WHERE ts >= '$T_WIN' AND ts < '$T_WIN_END')
                                 THEN 'same' ELSE 'DIFFERENT' END")
RQ_SEQ_RATIO=$(calc "$RQ_COL / $RQ_HEAP_SEQ")
RQ_BRIN_RATIO=$(calc "$RQ_COL2 / $RQ_HEAP_BRIN")
log "  heap seq $RQ_HEAP_SEQ ms, heap BRIN $RQ_HEAP_BRIN ms, columnar $RQ_COL / $RQ_COL2 ms; results $RQ_SAME"
# figure 5 compares the bare tables
q fg -c "DROP INDEX grid_heap_ts_brin" >/dev/null
ROW_4I=
DETAIL_4I=
if $INDEX; then
	log "figure 4i: the range through a B-tree index on ts"
	SETI="SET max_parallel_workers_per_gather = 0; SET enable_seqscan = off"
	q fg -c "CHECKPOINT" >/dev/null
	T0=$(date +%s.%N)
	q fg -c "CREATE INDEX grid_heap_ts ON grid_heap (ts)" >/dev/null
	T1=$(date +%s.%N)
	q fg -c "CREATE INDEX grid_col_ts ON grid_col (ts)" >/dev/null
	T2=$(date +%s.%N)
	IDX_BUILD_HEAP=$(calc "$T1 - $T0")
	IDX_BUILD_COL=$(calc "$T2 - $T1")
	q fg -c "VACUUM ANALYZE grid_heap" -c "ANALYZE grid_col" -c "CHECKPOINT" >/dev/null
	IDX_SIZE_HEAP=$(q fg -c "SELECT pg_relation_size('grid_heap_ts')")
	IDX_SIZE_COL=$(q fg -c "SELECT pg_relation_size('grid_col_ts')")
	time_pair "$QRUNS" "$SETI" "$(rq_sql grid_heap)" "$(rq_sql grid_col)" >"$WORK/rq_idx"
	RQ_HEAP_IDX=$(pick h <"$WORK/rq_idx")
	RQ_COL_IDX=$(pick c <"$WORK/rq_idx")
	PLAN_RQ_HEAP_IDX=$(plan_of "$SETI" "$(rq_sql grid_heap)")
	PLAN_RQ_COL_IDX=$(plan_of "$SETI" "$(rq_sql grid_col)")
	RQ_IDX_SAME=$(q fg -c "$SETI" -c "SELECT CASE WHEN (SELECT (count(*), round(avg(load_mw)::numeric, 6)) FROM grid_heap WHERE ts >= '$T_WIN' AND ts < '$T_WIN_END')
                                      = (SELECT (count(*), round(avg(load_mw)::numeric, 6)) FROM grid_col WHERE ts >= '$T_WIN' AND ts < '$T_WIN_END')
                                 THEN 'same' ELSE 'DIFFERENT' END")
	q fg -c "DROP INDEX grid_heap_ts" -c "DROP INDEX grid_col_ts" >/dev/null
	log "  heap $RQ_HEAP_IDX ms, columnar $RQ_COL_IDX ms; results $RQ_IDX_SAME"
	ROW_4I=$'\n'"| 4i | the same through a B-tree index on ts (each table) | $(fmt "$RQ_COL_IDX" 1) ms | $(fmt "$RQ_HEAP_IDX" 1) ms | $(fmt "$(calc "$RQ_COL_IDX / $RQ_HEAP_IDX")")× | report | — |"
	DETAIL_4I=$'\n'"- 4i: enable_seqscan off, parallel workers off; plans: heap \`$PLAN_RQ_HEAP_IDX\`, columnar \`$PLAN_RQ_COL_IDX\`. CREATE INDEX heap $(fmt "$IDX_BUILD_HEAP") s ($(mb "$IDX_SIZE_HEAP")), columnar $(fmt "$IDX_BUILD_COL") s ($(mb "$IDX_SIZE_COL")). Results heap vs columnar: $RQ_IDX_SAME."
fi

# ---------------------------------------------------------------------------
# 5: DELETE and UPDATE of 1,000 scattered rows
# ---------------------------------------------------------------------------
log "figure 5: DELETE and UPDATE of 1,000 rows, $RUNS run(s)"
# victim k (0, 1, ...) is row (k * P) mod M of the rows with all 1400
# stations (P prime, not dividing M: distinct rows, scattered over the data)
M=$((FULL_SECS * 1400))
P=2654435761
[ $((M % P)) -ne 0 ] || die "unlucky --rows (multiple of $P)"
q fg >/dev/null <<EOF
CREATE TABLE victims (k int PRIMARY KEY, station_id int NOT NULL, ts timestamptz NOT NULL);
INSERT INTO victims
SELECT k, 1 + j % 1400, timestamptz '$T_BASE' + (j / 1400) * interval '1 second'
  FROM (SELECT k, (k::bigint * $P) % $M AS j FROM generate_series(0, 2000 * $RUNS - 1) k) s;
ANALYZE victims;
VACUUM ANALYZE grid_heap;
VACUUM ANALYZE grid_col;
EOF
# timed_dml TABLE SQL: CHECKPOINT, SQL (committed); prints "ms wal_bytes"
timed_dml() {
	q fg -c "CHECKPOINT" >/dev/null
	q fg <<EOF | tr '|' ' '
SELECT pg_current_wal_lsn() AS l0, extract(epoch FROM clock_timestamp()) AS t0 \gset
$2;
SELECT extract(epoch FROM clock_timestamp()) AS t1, pg_current_wal_lsn() AS l1 \gset
SELECT round(((:t1 - :t0) * 1000)::numeric, 3), pg_wal_lsn_diff(:'l1', :'l0')::bigint;
EOF
}
del_sql() { echo "DELETE FROM $1 WHERE (station_id, ts) IN (SELECT station_id, ts FROM victims WHERE k >= $2 AND k < $2 + 1000)"; }
upd_sql() { echo "UPDATE $1 SET load_mw = load_mw + 1 WHERE (station_id, ts) IN (SELECT station_id, ts FROM victims WHERE k >= $2 AND k < $2 + 1000)"; }
declare -a D_HEAP D_COL DW_HEAP DW_COL X_HEAP X_COL XW_HEAP XW_COL
for run in $(seq 1 "$RUNS"); do
	k0=$(((run - 1) * 2000))
	if [ $((run % 2)) -eq 1 ]; then order="grid_heap grid_col"; else order="grid_col grid_heap"; fi
	for t in $order; do
		read -r d dw < <(timed_dml "$t" "$(del_sql "$t" "$k0")")
		read -r x xw < <(timed_dml "$t" "$(upd_sql "$t" $((k0 + 1000)))")
		[ -n "${d:-}" ] && [ -n "${x:-}" ] || die "DELETE or UPDATE on $t failed"
		if [ "$t" = grid_heap ]; then
			D_HEAP+=("$d") DW_HEAP+=("$dw") X_HEAP+=("$x") XW_HEAP+=("$xw")
		else
			D_COL+=("$d") DW_COL+=("$dw") X_COL+=("$x") XW_COL+=("$xw")
		fi
	done
	log "  run $run: DELETE heap ${D_HEAP[-1]} ms, columnar ${D_COL[-1]} ms; UPDATE heap ${X_HEAP[-1]} ms, columnar ${X_COL[-1]} ms"
done
DEL_HEAP=$(printf '%s\n' "${D_HEAP[@]}" | median)
DEL_COL=$(printf '%s\n' "${D_COL[@]}" | median)
UPD_HEAP=$(printf '%s\n' "${X_HEAP[@]}" | median)
UPD_COL=$(printf '%s\n' "${X_COL[@]}" | median)
DELW_HEAP=$(printf '%s\n' "${DW_HEAP[@]}" | median)
DELW_COL=$(printf '%s\n' "${DW_COL[@]}" | median)
UPDW_HEAP=$(printf '%s\n' "${XW_HEAP[@]}" | median)
UPDW_COL=$(printf '%s\n' "${XW_COL[@]}" | median)
PLAN_DEL_COL=$(plan_of "$SETD" "$(del_sql grid_col 0)")
PLAN_UPD_COL=$(plan_of "$SETD" "$(upd_sql grid_col 0)")
CHECK5=$(q fg <<EOF
SELECT CASE WHEN h = c AND h.n = $ROWS - 1000 * $RUNS AND h.u = 1000 * $RUNS THEN 'same (' || h.n || ' rows, ' || h.u || ' updated)'
            ELSE 'DIFFERENT: heap ' || h::text || ', columnar ' || c::text END
  FROM (SELECT count(*) AS n, sum(load_mw::numeric) AS s, sum(frequency_hz::numeric) AS f, sum(station_id) AS st,
               (SELECT count(*) FROM grid_heap g JOIN victims v USING (station_id, ts)
                 WHERE v.k % 2000 >= 1000) AS u
          FROM grid_heap) h,
       (SELECT count(*) AS n, sum(load_mw::numeric) AS s, sum(frequency_hz::numeric) AS f, sum(station_id) AS st,
               (SELECT count(*) FROM grid_col g JOIN victims v USING (station_id, ts)
                 WHERE v.k % 2000 >= 1000) AS u
          FROM grid_col) c;
EOF
)
DELETED_ROWS=$(q fg -c "SELECT max(deleted_rows) FROM fluss_grid.columnar_stats('grid_col')")
SIZE_COL_END=$(q fg -c "SELECT pg_total_relation_size('grid_col')")
log "  tables after figure 5: $CHECK5"

# ---------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------
NPROC=$(nproc)
CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
MEM=$(awk '/MemTotal/ {printf "%.0f GB", $2 / 1048576}' /proc/meminfo)
per_run() { printf '%s ' "$@" | sed 's/ $//'; }
per_run_mb() { for x in "$@"; do mb "$x"; echo; done | paste -sd ',' - | sed 's/,/, /g'; }
REPORT=$(
	cat <<EOF
### Results: $(date -u '+%Y-%m-%d %H:%M UTC'), $NPROC cores ($CPU), $MEM RAM, PostgreSQL $PGVERSION

fluss_grid: $BUILD_INFO.${PGCONF:+ Extra settings: $(echo "$PGCONF" | sed '/^$/d' | paste -sd ';' -).} $ROWS rows ($CSV_MB MB CSV), [$T_BASE, $T_END), $RUNS run(s) of COPY and DELETE/UPDATE, $QRUNS timed run(s) of each query, medians. Heap = the same columns in a heap table, same database, same run; fluss_columnar with its defaults ($ROW_GROUPS row group(s) after COPY).

| # | Figure | fluss_columnar | heap | ratio | target | met |
|---|--------|---------------:|-----:|------:|--------|-----|
| 1 | size after COPY (pg_total_relation_size) | $(mb "$SIZE_COL") | $(mb "$SIZE_HEAP") | $(fmt "$SAVED" 1) % saved | ≥ 90 % saved | $(verdict "$SAVED >= 90") |
| 2 | COPY $ROWS rows | $(fmt "$COPY_COL") s ($(fmt "$(calc "$ROWS / $COPY_COL / 1000")" 0)k rows/s), CPU $(fmt "$CPU_COL") s | $(fmt "$COPY_HEAP") s ($(fmt "$(calc "$ROWS / $COPY_HEAP / 1000")" 0)k rows/s), CPU $(fmt "$CPU_HEAP") s | heap/columnar $(fmt "$COPY_RATIO")× (CPU $(fmt "$CPU_RATIO")×) | ≥ 1.0× | $(verdict "$COPY_RATIO >= 1.0") |
| 2w | WAL written by the COPY | $(mb "$WAL_COL") | $(mb "$WAL_HEAP") | columnar WAL / columnar size $(fmt "$WAL_PER_SIZE")× | ≤ 1.2× | $(verdict "$WAL_PER_SIZE <= 1.2") |
| 3 | GROUP BY region, minute ($GB_GROUPS groups), parallel workers off | $(fmt "$GB0_COL" 1) ms | $(fmt "$GB0_HEAP" 1) ms | $(fmt "$GB0_RATIO")× | ≤ 1.0× | $(verdict "$GB0_RATIO <= 1.0") |
| 3p | the same at the default (max_parallel_workers_per_gather = $PAR_DEFAULT; both may go parallel) | $(fmt "$GBD_COL" 1) ms | $(fmt "$GBD_HEAP" 1) ms | $(fmt "$GBD_RATIO")× | ≤ 1.0× | $(verdict "$GBD_RATIO <= 1.0") |
| 4 | ${WIN_SECS}-second range ($RQ_ROWS rows), count + avg, vs heap sequential scan | $(fmt "$RQ_COL" 1) ms | $(fmt "$RQ_HEAP_SEQ" 1) ms | $(fmt "$RQ_SEQ_RATIO")× | ≤ 0.2× | $(verdict "$RQ_SEQ_RATIO <= 0.2") |
| 4b | the same vs heap with a BRIN index on ts | $(fmt "$RQ_COL2" 1) ms | $(fmt "$RQ_HEAP_BRIN" 1) ms | $(fmt "$RQ_BRIN_RATIO")× | ≤ 1.0× | $(verdict "$RQ_BRIN_RATIO <= 1.0") |$ROW_4I
| 5 | DELETE of 1,000 scattered rows | $(fmt "$DEL_COL" 1) ms, WAL $(mb "$DELW_COL") | $(fmt "$DEL_HEAP" 1) ms, WAL $(mb "$DELW_HEAP") | $(fmt "$(calc "$DEL_COL / $DEL_HEAP")")× | report | — |
| 5u | UPDATE of 1,000 scattered rows | $(fmt "$UPD_COL" 1) ms, WAL $(mb "$UPDW_COL") | $(fmt "$UPD_HEAP" 1) ms, WAL $(mb "$UPDW_HEAP") | $(fmt "$(calc "$UPD_COL / $UPD_HEAP")")× | report | — |

Ratios of figures 3-5: columnar time / heap time (lower is better for columnar).

Per-column breakdown of grid_col (fluss_grid.columnar_stats; "share of file" of the $(mb "$SIZE_COL") total, the rest being the metapage and page tails; last column: the same column's values in the heap tuples, without tuple headers and page overhead):

$BREAKDOWN

Details:
- 1: after VACUUM ANALYZE heap $(mb "$SIZE_HEAP_VAC") (visibility map and free space map), columnar $(mb "$SIZE_COL_VAC"). Metadata tables (fluss_grid.columnar_*, not counted by pg_total_relation_size): $(mb "$META_SIZE").
- 2: per run heap $(per_run "${C_HEAP[@]}") s (backend CPU $(per_run "${U_HEAP[@]}") s), columnar $(per_run "${C_COL[@]}") s (CPU $(per_run "${U_COL[@]}") s); WAL heap $(per_run_mb "${W_HEAP[@]}"), columnar $(per_run_mb "${W_COL[@]}"); heap WAL / heap size $(fmt "$(calc "$WAL_HEAP / $SIZE_HEAP")")×. CHECKPOINT before each COPY, heap first in odd runs.
- 3: plans, workers off: heap \`$PLAN_GB0_HEAP\`, columnar \`$PLAN_GB0_COL\`; default: heap \`$PLAN_GBD_HEAP\`, columnar \`$PLAN_GBD_COL\`. Groups differing between heap and columnar: $GB_DIFF workers off (avg rounded to 6 decimals), $GBD_DIFF at the default (avg to a relative 1e-12).
- 4: window [$T_WIN, $T_WIN_END); plans: heap \`$PLAN_RQ_HEAP_SEQ\`, with BRIN ($(mb "$BRIN_SIZE")) \`$PLAN_RQ_HEAP_BRIN\`, columnar \`$PLAN_RQ_COL\`. At the default parallel setting, no index: heap $(fmt "$RQ_HEAP_PAR" 1) ms (\`$PLAN_RQ_HEAP_PAR\`), columnar $(fmt "$RQ_COL_PAR" 1) ms (\`$PLAN_RQ_COL_PAR\`), ratio $(fmt "$(calc "$RQ_COL_PAR / $RQ_HEAP_PAR")")×. Results heap vs columnar: $RQ_SAME.$DETAIL_4I
- 5: rows picked by (station_id, ts) from a key table, each run new ones; per run DELETE heap $(per_run "${D_HEAP[@]}") ms, columnar $(per_run "${D_COL[@]}") ms; UPDATE heap $(per_run "${X_HEAP[@]}") ms, columnar $(per_run "${X_COL[@]}") ms (commit included). Columnar plans: \`$PLAN_DEL_COL\`; \`$PLAN_UPD_COL\`. Afterwards heap vs columnar (count, exact sums): $CHECK5; columnar_stats deleted_rows $DELETED_ROWS, columnar size $(mb "$SIZE_COL_END").

Reproduce (as root, from the repository): \`$CMDLINE\`
EOF
)
echo
echo "$REPORT"
if [ -n "$OUT" ]; then
	echo "$REPORT" >"$OUT"
fi
