#!/usr/bin/env bash
#
# test/bench/bench_rollup.sh - benchmark of the continuous rollup engine
# (issue 2, "Benchmark"): the six figures, each against plain PostgreSQL in
# the same run, printed as a markdown table.
#
# Self-contained; run as root.  It
#   * creates a private PostgreSQL 15 cluster in a temporary directory owned
#     by postgres (unix socket only, shared_preload_libraries = 'fluss_grid',
#     shared_buffers = 1GB, max_wal_size = 8GB, checkpoint_timeout = 30min,
#     fsync and synchronous_commit left on) and removes it at exit;
#   * generates the canonical grid data once into a CSV file: 7 regions x 200
#     stations x 1 sample/s, starting 2024-07-01 10:00 +08 (5,040,000 rows =
#     one hour by default), seeded, so every run sees the same bytes;
#   * database "plain" has no extension; database "fg" has fluss_grid with
#     grid_minutely (grid_raw by minute and region) and grid_hourly
#     (grid_minutely by hour);
#   * measures
#      1. COPY of the CSV into a fresh grid_raw with both rollups (and the
#         index create_rollup adds to the source) vs into a fresh plain
#         grid_raw; ratio = plain time / rollup time.  Also reported for
#         information: plain grid_raw carrying the same index; carrying it
#         and a statement trigger whose NEW TABLE nothing reads (the floor
#         of any statement-level capture with that index, as in
#         bench_floor.sh); and the CPU seconds of the COPY backend (from
#         /proc: steadier than wall time on a shared machine).
#     1p. (informative) the same COPY into a range-partitioned source.
#      2. time from that COPY's commit until wait_for_rollups() returns, as
#         a share of the COPY time.
#      3. freshness under streaming: pgbench, 4 clients, 100-row INSERTs at
#         a fixed rate (default 500 tx/s = 50,000 rows/s) while a probe
#         procedure commits a marker row with a region of its own and polls
#         grid_minutely every 1 ms until the marker's group appears;
#         commit-to-visible p50/p99 over ~200 probes.
#      4. single-row INSERT throughput, pgbench -c 8 -j 2, vs the plain table,
#         and the CPU of the whole cluster per INSERT (its fold included).
#      5. grid_minutely_realtime for the last 15 minutes of the data, all
#         regions, with folding switched off (fluss_grid.enabled = off) after
#         thousands of scattered late rows and updates: p50/p99 of 200 runs;
#         compared with the same aggregates by GROUP BY over grid_raw.
#      6. DELETE of the row holding a (minute, region) bucket's max load in
#         the full source: commit until grid_minutely shows the new max
#         (polled every 1 ms), and commit until wait_for_rollups() returns;
#         median over ~20 different buckets.
#   Medians over --runs for 1, 1p, 2 and 4; the machine may be noisy.
#   After figure 1 the rollups are checked against GROUP BY over grid_raw,
#   in figure 5 the realtime view, in figure 6 every new maximum.
#
# Usage: test/bench/bench_rollup.sh [--rows N] [--runs K] [--port P]
#            [--build] [--keep] [--out FILE] [--stream-rate R]
#            [--pg-conf LINE]... [--figures LIST]
#   --rows N    rows of canonical data (default 5040000); N < 1000000 also
#               shortens the streaming/pgbench phases (smoke mode:
#               --rows 50000 --runs 1 finishes in well under a minute)
#   --runs K    repetitions of figures 1, 2 and 4; medians (default 3)
#   --port P    port of the private cluster (unix socket only; default 55432)
#   --build     run make && make install first (default: only when the
#               extension is not installed)
#   --keep      leave the cluster and data directory behind (path printed)
#   --out FILE  also write the markdown report to FILE
#   --stream-rate R   target rows/s of figure 3 (default 50000)
#   --pg-conf LINE    extra postgresql.conf line, repeatable (e.g. "jit = off")
#   --figures LIST    which of figures p (partitioned COPY) and 3-6 to run,
#               e.g. 5,6 (default all; 1 and 2 always run: they load the data)
#
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CMDLINE="test/bench/bench_rollup.sh"
for a in "$@"; do
	if [[ "$a" =~ ^[A-Za-z0-9_./=,:-]+$ ]]; then CMDLINE+=" $a"; else CMDLINE+=" '${a//\'/\'\\\'\'}'"; fi
done

ROWS=5040000
RUNS=3
PORT=55432
BUILD=false
KEEP=false
OUT=
STREAM_RATE=50000
FIGURES=1,2,p,3,4,5,6
PGCONF=

die() {
	echo "bench_rollup: $*" >&2
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
[[ "$FIGURES" =~ ^[0-9p,]*$|^none$ ]] || die "--figures needs a list such as 3,5"
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

# Phase lengths: full size, or smoke mode for small --rows.
if [ "$ROWS" -ge 1000000 ]; then
	STREAM_SECS=30 WARM=2 PROBES=200 INS_SECS=15 RT_RUNS=200 LAT_BUDGET=60 LAT_MIN=10 DEL_N=20
	PENDING_TX=60
else
	STREAM_SECS=4 WARM=1 PROBES=40 INS_SECS=2 RT_RUNS=50 LAT_BUDGET=1 LAT_MIN=5 DEL_N=3
	PENDING_TX=20
fi
STREAM_TPS=$(((STREAM_RATE + 99) / 100))

if $BUILD || [ ! -f "$PKGLIBDIR/fluss_grid.so" ]; then
	echo "== building and installing fluss_grid" >&2
	(cd "$ROOT" && make -s && make -s install) >&2
fi

. "$ROOT/test/bench/lib.sh"
bench_workdir bench_rollup fg_bench
CSV=$WORK/grid.csv

# ---------------------------------------------------------------------------
# cluster
# ---------------------------------------------------------------------------
bench_initdb 1GB
cat >>"$PGD/postgresql.conf" <<EOF
checkpoint_timeout = 30min
max_connections = 50
max_worker_processes = 16
timezone = 'Asia/Shanghai'
log_checkpoints = off
$PGCONF
EOF
as_pg "$BINDIR/pg_ctl" -D "$PGD" -l "$LOG" -w -t 60 start >/dev/null
PGVERSION=$(q postgres -c "SHOW server_version")
log "PostgreSQL $PGVERSION on port $PORT"

q postgres -c "CREATE DATABASE plain" -c "CREATE DATABASE fg"
q fg -c "CREATE EXTENSION fluss_grid"
q plain -c "CREATE FUNCTION noop() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NULL; END'"

REGIONS_SQL=$BENCH_REGIONS_SQL
T_BASE="2024-07-01 10:00:00+08"
SECS=$(((ROWS + 1399) / 1400))
T_END=$(q postgres -c "SELECT timestamptz '$T_BASE' + interval '$SECS seconds'")
if [ "$SECS" -ge 900 ]; then
	T_WIN=$(q postgres -c "SELECT timestamptz '$T_END' - interval '15 minutes'")
else
	T_WIN=$T_BASE
fi

COLUMNS_DDL=$BENCH_GRID_RAW_COLUMNS
TABLE_DDL="CREATE TABLE grid_raw ($COLUMNS_DDL)"
# the partitioned variant: 15-minute range partitions over the data, and a
# default partition
PART_DDL="CREATE TABLE grid_praw ($COLUMNS_DDL) PARTITION BY RANGE (ts);
$(for i in $(seq 0 $(((SECS - 1) / 900))); do
	echo "CREATE TABLE grid_praw_$i PARTITION OF grid_praw FOR VALUES FROM ('$T_BASE'::timestamptz + interval '$((i * 15)) minutes') TO ('$T_BASE'::timestamptz + interval '$((i * 15 + 15)) minutes');"
done)
CREATE TABLE grid_praw_default PARTITION OF grid_praw DEFAULT;"

# ---------------------------------------------------------------------------
# canonical data, once
# ---------------------------------------------------------------------------
log "generating $ROWS rows into $CSV"
rollup_data_sql "$T_BASE" "$ROWS" "$CSV" | q postgres >/dev/null
CSV_MB=$(($(stat -c %s "$CSV") / 1048576))

# ---------------------------------------------------------------------------
# CPU accounting (the machine may be shared: CPU seconds are steadier than
# wall-clock seconds)
# ---------------------------------------------------------------------------
# cluster_cpu: CPU seconds used so far by the whole cluster: the postmaster,
# its live children (backends, workers) and its exited children
cluster_cpu() {
	local pm
	pm=$(head -n 1 "$PGD/postmaster.pid")
	# cat skips processes that exit meanwhile (and then fails, which under
	# pipefail and set -e ended the script); a stat line starts with the pid
	{ cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v pm="$pm" -v hz="$HZ" '
		{
			pid = $1; line = $0; sub(/^.*\) /, "", line); split(line, f, " ")
			if (pid == pm) t += f[12] + f[13] + f[14] + f[15]
			else if (f[2] == pm) t += f[12] + f[13]
		}
		END { printf "%.2f\n", t / hz }'
}

# ---------------------------------------------------------------------------
# 1 + 2: COPY
# ---------------------------------------------------------------------------
# timed_copy DB WAIT [TABLE]: COPY the CSV into TABLE (grid_raw); prints
# "copy_s wait_s ok cpu_s", cpu_s being the CPU time (user + system) the
# COPY took in its backend, read from /proc/self/stat: on a shared machine
# it is much steadier than the wall time
timed_copy() {
	local db=$1 wait=$2 table=${3:-grid_raw}
	q "$db" <<EOF
CHECKPOINT;
SELECT $BACKEND_CPU_SQL AS c0, extract(epoch FROM clock_timestamp()) AS t0 \gset
COPY $table FROM '$CSV' (FORMAT csv);
SELECT extract(epoch FROM clock_timestamp()) AS t1, $BACKEND_CPU_SQL AS c1 \gset
\if $wait
SELECT fluss_grid.wait_for_rollups(interval '30 minutes') AS ok \gset
\else
SELECT 'n/a' AS ok \gset
\endif
SELECT extract(epoch FROM clock_timestamp()) AS t2 \gset
SELECT round((:t1 - :t0)::numeric, 4), round((:t2 - :t1)::numeric, 4), :'ok', round(:c1 - :c0, 2);
EOF
}

# reset_plain [SQL]: a fresh grid_raw in database plain, then SQL
reset_plain() {
	q plain -c "DROP TABLE IF EXISTS grid_raw" -c "$TABLE_DDL" ${1:+-c "$1"}
}
# reset_fg: a fresh grid_raw with both rollups in database fg
reset_fg() {
	q fg >/dev/null <<EOF
SELECT fluss_grid.drop_rollup(rollup_rel, cascade => true)
  FROM fluss_grid.rollup WHERE parent_id IS NULL;
DROP TABLE IF EXISTS grid_raw;
$TABLE_DDL;
$(rollup_sql grid_raw grid)
SELECT fluss_grid.wait_for_rollups(interval '1 minute');
EOF
}

# the index (or indexes) create_rollup puts on the source, to give a plain
# table the same for the informative "plain + index" COPY
reset_fg
IDX_SQL=$(q fg -c "SELECT string_agg(indexdef, '; ') FROM pg_indexes
                    WHERE schemaname = 'public' AND tablename = 'grid_raw'")
IDX_DESC=$(q fg -c "SELECT coalesce(string_agg(regexp_replace(indexdef, '^.* USING ', ''), ', '), 'none')
                     FROM pg_indexes WHERE schemaname = 'public' AND tablename = 'grid_raw'")

FLOOR_SQL="CREATE TRIGGER floor AFTER INSERT ON grid_raw REFERENCING NEW TABLE AS n
           FOR EACH STATEMENT EXECUTE FUNCTION noop()"

declare -a C_PLAIN C_IDX C_FLOOR C_FG W_FG U_PLAIN U_IDX U_FLOOR U_FG
for run in $(seq 1 "$RUNS"); do
	log "figure 1/2: COPY run $run of $RUNS"
	# plain with the index (and trigger) first, so that plain grid_raw ends
	# without them
	reset_plain "$IDX_SQL; $FLOOR_SQL"
	read -r c _ _ u < <(timed_copy plain false | tr '|' ' ')
	C_FLOOR+=("$c")
	U_FLOOR+=("$u")
	reset_plain "$IDX_SQL"
	read -r c _ _ u < <(timed_copy plain false | tr '|' ' ')
	C_IDX+=("$c")
	U_IDX+=("$u")
	reset_plain
	read -r c _ _ u < <(timed_copy plain false | tr '|' ' ')
	C_PLAIN+=("$c")
	U_PLAIN+=("$u")
	reset_fg
	read -r c w ok u < <(timed_copy fg true | tr '|' ' ')
	[ "$ok" = t ] || die "wait_for_rollups() timed out after COPY"
	C_FG+=("$c")
	W_FG+=("$w")
	U_FG+=("$u")
	log "  plain ${C_PLAIN[-1]} s (cpu ${U_PLAIN[-1]}), plain+index ${C_IDX[-1]} s (cpu ${U_IDX[-1]}), plain+index+transition table ${C_FLOOR[-1]} s (cpu ${U_FLOOR[-1]}), rollups $c s (cpu $u), fold wait $w s"
done
COPY_PLAIN=$(printf '%s\n' "${C_PLAIN[@]}" | median)
COPY_IDX=$(printf '%s\n' "${C_IDX[@]}" | median)
COPY_FG=$(printf '%s\n' "${C_FG[@]}" | median)
WAIT_FG=$(printf '%s\n' "${W_FG[@]}" | median)
WAIT_PCT=$(for i in "${!C_FG[@]}"; do calc "100 * ${W_FG[$i]} / ${C_FG[$i]}"; echo; done | median)
COPY_RATIO=$(calc "$COPY_PLAIN / $COPY_FG")
COPY_IDX_RATIO=$(calc "$COPY_PLAIN / $COPY_IDX")
CPU_PLAIN=$(printf '%s\n' "${U_PLAIN[@]}" | median)
CPU_IDX=$(printf '%s\n' "${U_IDX[@]}" | median)
COPY_FLOOR=$(printf '%s\n' "${C_FLOOR[@]}" | median)
CPU_FLOOR=$(printf '%s\n' "${U_FLOOR[@]}" | median)
# medians of per-run differences: the host's speed drifts between runs
# more than the parts differ
med_diff() {
	local -n a=$1 b=$2
	for i in "${!a[@]}"; do
		calc "${a[$i]} - ${b[$i]}"
		echo
	done | median
}
PART_IDX=$(med_diff U_IDX U_PLAIN)
PART_TT=$(med_diff U_FLOOR U_IDX)
PART_CAP=$(med_diff U_FG U_FLOOR)
CPU_FG=$(printf '%s\n' "${U_FG[@]}" | median)
CPU_RATIO=$(calc "$CPU_PLAIN / $CPU_FG")
FOLDED_DELTAS=$(q fg -c "SELECT coalesce(sum(folded_changes), 0) FROM fluss_grid.rollup_status() s
                          JOIN fluss_grid.rollup r ON r.id = s.rollup_id AND r.parent_id IS NULL")

q plain -c "VACUUM ANALYZE grid_raw" >/dev/null
q fg -c "VACUUM ANALYZE grid_raw" -c "ANALYZE grid_minutely" -c "ANALYZE grid_hourly" >/dev/null
SIZES=$(q fg -c "SELECT pg_size_pretty(pg_table_size('grid_raw')) || ' heap, '
                  || pg_size_pretty(pg_indexes_size('grid_raw')) || ' index'")

# exactness: rollups vs GROUP BY over the source
log "checking rollups against GROUP BY"
check_exact() {
	q fg <<EOF
WITH t AS (
  SELECT date_trunc('$1', ts) AS bucket, region, count(*) AS n,
         avg(load_mw) AS avg_load_mw, min(load_mw) AS min_load_mw, max(load_mw) AS max_load_mw,
         sum(generation_mw) AS sum_generation_mw, avg(frequency_hz) AS avg_frequency_hz,
         min(frequency_hz) AS min_frequency_hz, max(frequency_hz) AS max_frequency_hz
    FROM grid_raw GROUP BY 1, 2)
SELECT count(*) FROM t FULL JOIN $2 m USING (bucket, region)
 WHERE m.n IS DISTINCT FROM t.n
    OR NOT abs(m.avg_load_mw - t.avg_load_mw) <= 1e-9 * 500
    OR m.min_load_mw IS DISTINCT FROM t.min_load_mw
    OR m.max_load_mw IS DISTINCT FROM t.max_load_mw
    OR NOT abs(m.sum_generation_mw - t.sum_generation_mw) <= 1e-9 * t.n * 500
    OR NOT abs(m.avg_frequency_hz - t.avg_frequency_hz) <= 1e-9 * 50
    OR m.min_frequency_hz IS DISTINCT FROM t.min_frequency_hz
    OR m.max_frequency_hz IS DISTINCT FROM t.max_frequency_hz;
EOF
}
BAD_MIN=$(check_exact minute grid_minutely)
BAD_HOUR=$(check_exact hour grid_hourly)
MIN_ROWS=$(q fg -c "SELECT count(*) FROM grid_minutely")
if [ "$BAD_MIN" = 0 ] && [ "$BAD_HOUR" = 0 ]; then EXACT="exact"; else EXACT="NOT EXACT: $BAD_MIN minutely / $BAD_HOUR hourly groups differ"; fi
log "  $EXACT"

# ---------------------------------------------------------------------------
# 1p: COPY into a partitioned source (informative; PostgreSQL 15 makes COPY
# into a partitioned table with transition-table triggers insert row by row)
# ---------------------------------------------------------------------------
ROWP="| 1p | (not run: --figures) | | | | | |"
DETP=""
if want p; then
declare -a P_PLAIN P_FG P_WAIT PU_PLAIN PU_FG
for run in $(seq 1 "$RUNS"); do
	log "figure 1p: COPY into a partitioned table, run $run of $RUNS"
	q plain -c "DROP TABLE IF EXISTS grid_praw" >/dev/null
	q plain >/dev/null <<<"$PART_DDL"
	read -r c _ _ u < <(timed_copy plain false grid_praw | tr '|' ' ')
	P_PLAIN+=("$c")
	PU_PLAIN+=("$u")
	q fg >/dev/null <<EOF
SELECT fluss_grid.drop_rollup(rollup_rel, cascade => true)
  FROM fluss_grid.rollup WHERE rollup_rel::text = 'grid_p_minutely';
DROP TABLE IF EXISTS grid_praw;
$PART_DDL
$(rollup_sql grid_praw grid_p)
SELECT fluss_grid.wait_for_rollups(interval '1 minute');
EOF
	read -r c w ok u < <(timed_copy fg true grid_praw | tr '|' ' ')
	PU_FG+=("$u")
	[ "$ok" = t ] || die "wait_for_rollups() timed out after COPY (partitioned)"
	P_FG+=("$c")
	P_WAIT+=("$w")
	log "  plain ${P_PLAIN[-1]} s, rollups $c s, fold wait $w s"
done
P_COUNT=$(q fg -c "SELECT coalesce(sum(n), 0) FROM grid_p_minutely")
q plain -c "DROP TABLE grid_praw"
q fg -c "SELECT fluss_grid.drop_rollup('grid_p_minutely', cascade => true)" \
	-c "DROP TABLE IF EXISTS grid_praw, grid_p_minutely, grid_p_hourly" >/dev/null
PCOPY_PLAIN=$(printf '%s\n' "${P_PLAIN[@]}" | median)
PCOPY_FG=$(printf '%s\n' "${P_FG[@]}" | median)
PCOPY_WAIT=$(printf '%s\n' "${P_WAIT[@]}" | median)
PCOPY_RATIO=$(calc "$PCOPY_PLAIN / $PCOPY_FG")
PCPU_PLAIN=$(printf '%s\n' "${PU_PLAIN[@]}" | median)
PCPU_FG=$(printf '%s\n' "${PU_FG[@]}" | median)
ROWP="| 1p | COPY into a partitioned grid_praw ($(((SECS - 1) / 900 + 1)) range partitions + default), 2 rollups (informative) | $(fmt "$PCOPY_FG") s, then $(fmt "$PCOPY_WAIT" 3) s to fold | $(fmt "$PCOPY_PLAIN") s | $(fmt "$PCOPY_RATIO")× (CPU $(fmt "$(calc "$PCPU_PLAIN / $PCPU_FG")")×) | (≥ 0.8× as 1) | $(verdict "$PCOPY_RATIO >= 0.8") |"
DETP="- 1p: per run plain $(printf '%s ' "${P_PLAIN[@]}")s (backend CPU $(printf '%s ' "${PU_PLAIN[@]}")s); rollups $(printf '%s ' "${P_FG[@]}")s (CPU $(printf '%s ' "${PU_FG[@]}")s); count in grid_p_minutely after the last run: $P_COUNT (expected $ROWS).
"
fi # figure 1p

ROW3="| 3 | (not run: --figures) | | | | | |"
DET3=""
ROW4="| 4 | (not run: --figures) | | | | | |"
DET4=""
ROW5="| 5 | (not run: --figures) | | | | | |"
DET5=""
ROW6="| 6 | (not run: --figures) | | | | | |"
DET6=""

# pgbench scripts of figures 3 and 4
cat >"$WORK/stream.sql" <<EOF
\set blk random(0, 13)
INSERT INTO grid_raw (ts, region, station_id, load_mw, generation_mw, frequency_hz, voltage_kv)
SELECT now(), ($REGIONS_SQL)[1 + (:blk * 100 + g) / 200], 1 + :blk * 100 + g,
       round((60 + 380 * random())::numeric, 3), round((60 + 380 * random())::numeric, 3),
       round((50 + 0.1 * (random() - 0.5))::numeric, 3), round((220 + 6 * (random() - 0.5))::numeric, 2)
  FROM generate_series(0, 99) AS g;
EOF
cat >"$WORK/insert1.sql" <<EOF
\set st random(1, 1400)
INSERT INTO grid_raw (ts, region, station_id, load_mw, generation_mw, frequency_hz, voltage_kv)
VALUES (now(), ($REGIONS_SQL)[1 + (:st - 1) / 200], :st,
        round((60 + 380 * random())::numeric, 3), round((60 + 380 * random())::numeric, 3),
        round((50 + 0.1 * (random() - 0.5))::numeric, 3), round((220 + 6 * (random() - 0.5))::numeric, 2));
EOF
chown postgres: "$WORK"/*.sql

# ---------------------------------------------------------------------------
# 3: freshness under streaming
# ---------------------------------------------------------------------------
if want 3; then
log "figure 3: streaming $STREAM_RATE rows/s for ${STREAM_SECS}s with up to $PROBES probes"

q fg >/dev/null <<'EOF'
CREATE TABLE bench_probe (k int, lat_ms float8);
-- commit a marker row whose region is new, then poll grid_minutely every
-- 1 ms (each statement its own snapshot) until the marker's group shows
CREATE PROCEDURE bench_probe(nprobes int, deadline timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz;
    b  timestamptz;
    reg text;
BEGIN
    FOR k IN 1 .. nprobes LOOP
        EXIT WHEN clock_timestamp() > deadline;
        reg := 'probe-' || k;
        INSERT INTO grid_raw VALUES (clock_timestamp(), reg, 0, 1, 1, 50, 220)
          RETURNING date_trunc('minute', ts) INTO b;
        COMMIT;
        t0 := clock_timestamp();
        LOOP
            PERFORM 1 FROM grid_minutely WHERE bucket = b AND region = reg;
            EXIT WHEN FOUND;
            IF clock_timestamp() - t0 > interval '60 seconds' THEN
                t0 := NULL;
                EXIT;
            END IF;
            PERFORM pg_sleep(0.001);
        END LOOP;
        INSERT INTO bench_probe VALUES (k, extract(epoch FROM clock_timestamp() - t0) * 1000);
        COMMIT;
        PERFORM pg_sleep(0.02 + 0.04 * random());
    END LOOP;
END $$;
EOF

pgb fg -n -c 4 -j 2 -T "$STREAM_SECS" -R "$STREAM_TPS" -f "$WORK/stream.sql" \
	>"$WORK/stream.out" 2>"$WORK/stream.err" &
PGB_PID=$!
sleep "$WARM"
q fg -c "CALL bench_probe($PROBES, clock_timestamp() + interval '$((STREAM_SECS - WARM - 1)) seconds')"
wait "$PGB_PID" || { cat "$WORK/stream.err" >&2; die "pgbench (streaming) failed"; }
STREAM_TPS_GOT=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$WORK/stream.out")
STREAM_ROWS_S=$(calc "$STREAM_TPS_GOT * 100")
STREAM_LAT=$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' "$WORK/stream.out")
STREAM_LAG=$(sed -n 's/^rate limit schedule lag: avg \([0-9.]*\).*/\1/p' "$WORK/stream.out")
NPROBES=$(q fg -c "SELECT count(*) FROM bench_probe")
NLOST=$(q fg -c "SELECT count(*) FROM bench_probe WHERE lat_ms IS NULL")
PROBE_P50=$(q fg -c "SELECT coalesce(lat_ms, 1e9) FROM bench_probe" | pctl 50)
PROBE_P99=$(q fg -c "SELECT coalesce(lat_ms, 1e9) FROM bench_probe" | pctl 99)
PROBE_MAX=$(q fg -c "SELECT coalesce(lat_ms, 1e9) FROM bench_probe" | pctl 100)
# catch-up after the load
CATCHUP3=$(q fg <<'EOF'
SELECT extract(epoch FROM clock_timestamp()) AS t0 \gset
SELECT fluss_grid.wait_for_rollups(interval '10 minutes') AS ok \gset
SELECT round((extract(epoch FROM clock_timestamp()) - :t0)::numeric, 3);
EOF
)
q fg -c "DELETE FROM grid_raw WHERE region LIKE 'probe-%'" \
	-c "SELECT fluss_grid.wait_for_rollups(interval '10 minutes')" >/dev/null
log "  ${STREAM_ROWS_S} rows/s, probes $NPROBES: p50 $PROBE_P50 ms, p99 $PROBE_P99 ms"

ROW3="| 3 | commit → visible in grid_minutely, streaming $(fmt "$STREAM_ROWS_S" 0) rows/s (4 clients × 100-row tx), $NPROBES probes | p50 $(fmt "$PROBE_P50" 1) ms, p99 $(fmt "$PROBE_P99" 1) ms | — | — | p50 ≤ 5 ms, p99 ≤ 50 ms | $(verdict "$PROBE_P50 <= 5 && $PROBE_P99 <= 50 && $STREAM_ROWS_S >= 0.95 * $STREAM_RATE") |"
DET3="- 3: pgbench -c 4 -j 2 -R $STREAM_TPS -T $STREAM_SECS, 100 rows per INSERT; achieved $(fmt "$STREAM_TPS_GOT" 0) tx/s = $(fmt "$STREAM_ROWS_S" 0) rows/s, tx latency avg ${STREAM_LAT:-?} ms, schedule lag avg ${STREAM_LAG:-?} ms. Probe max $(fmt "$PROBE_MAX" 1) ms, $NLOST probes not visible within 60 s. wait_for_rollups() after the load: ${CATCHUP3} s.
"
fi # figure 3

# ---------------------------------------------------------------------------
# 4: single-row INSERT throughput, 8 clients
# ---------------------------------------------------------------------------
if want 4; then
declare -a I_PLAIN I_FG I_CATCH J_PLAIN J_FG
for run in $(seq 1 "$RUNS"); do
	log "figure 4: single-row INSERT run $run of $RUNS (${INS_SECS}s each)"
	for db in plain fg; do
		q "$db" -c "CHECKPOINT"
		cpu0=$(cluster_cpu)
		pgb "$db" -n -c 8 -j 2 -T "$INS_SECS" -f "$WORK/insert1.sql" >"$WORK/ins.out" 2>"$WORK/ins.err" ||
			{ cat "$WORK/ins.err" >&2; die "pgbench (single-row INSERT) failed"; }
		tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$WORK/ins.out")
		ntx=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$WORK/ins.out")
		if [ "$db" = plain ]; then
			I_PLAIN+=("$tps")
			J_PLAIN+=("$(calc "($(cluster_cpu) - $cpu0) * 1e6 / $ntx")")
		else
			I_FG+=("$tps")
			I_CATCH+=("$(q fg <<'EOF'
SELECT extract(epoch FROM clock_timestamp()) AS t0 \gset
SELECT fluss_grid.wait_for_rollups(interval '10 minutes') AS ok \gset
SELECT round((extract(epoch FROM clock_timestamp()) - :t0)::numeric, 3);
EOF
)")
			# CPU of the whole cluster per INSERT, its fold included
			J_FG+=("$(calc "($(cluster_cpu) - $cpu0) * 1e6 / $ntx")")
		fi
	done
	log "  plain ${I_PLAIN[-1]} tps ($(fmt "${J_PLAIN[-1]}" 0) µs CPU/insert), rollups ${I_FG[-1]} tps ($(fmt "${J_FG[-1]}" 0) µs CPU/insert; then ${I_CATCH[-1]} s to fold)"
done
INS_PLAIN=$(printf '%s\n' "${I_PLAIN[@]}" | median)
INS_FG=$(printf '%s\n' "${I_FG[@]}" | median)
INS_RATIO=$(calc "$INS_FG / $INS_PLAIN")
INS_CPU_PLAIN=$(printf '%s\n' "${J_PLAIN[@]}" | median)
INS_CPU_FG=$(printf '%s\n' "${J_FG[@]}" | median)
INS_CPU_RATIO=$(calc "$INS_CPU_PLAIN / $INS_CPU_FG")

ROW4="| 4 | single-row INSERT, 8 clients | $(fmt "$INS_FG" 0) tps, $(fmt "$INS_CPU_FG" 0) µs CPU/insert | $(fmt "$INS_PLAIN" 0) tps, $(fmt "$INS_CPU_PLAIN" 0) µs CPU/insert | $(fmt "$INS_RATIO")× (CPU $(fmt "$INS_CPU_RATIO")×) | ≥ 0.7× | $(verdict "$INS_RATIO >= 0.7") |"
DET4="- 4: per run plain $(printf '%.0f ' "${I_PLAIN[@]}")tps; rollups $(printf '%.0f ' "${I_FG[@]}")tps; pgbench -c 8 -j 2 -T $INS_SECS; wait_for_rollups() afterwards: $(printf '%s ' "${I_CATCH[@]}")s. CPU of the whole cluster per INSERT (backends, worker, fold catch-up, WAL writer...): plain $(printf '%.0f ' "${J_PLAIN[@]}")µs, rollups $(printf '%.0f ' "${J_FG[@]}")µs.
"
fi # figure 4

# ---------------------------------------------------------------------------
# 5: _realtime view with changes pending
# ---------------------------------------------------------------------------
if want 5; then
log "figure 5: _realtime with changes pending"
q fg -c "ALTER SYSTEM SET fluss_grid.enabled = off" -c "SELECT pg_reload_conf()" >/dev/null
sleep 1.5
# late rows and meter corrections scattered over the window, all regions:
# PENDING_TX transactions of 100 inserted rows, PENDING_TX/2 of 100 updated
q fg >/dev/null <<EOF
SELECT setseed(0.5);
DO \$\$
DECLARE
    w0 timestamptz := timestamptz '$T_WIN';
    w  float8 := extract(epoch FROM timestamptz '$T_END' - timestamptz '$T_WIN');
    t  timestamptz;
BEGIN
    FOR k IN 1 .. $PENDING_TX LOOP
        INSERT INTO grid_raw (ts, region, station_id, load_mw, generation_mw, frequency_hz, voltage_kv)
        SELECT w0 + floor(random() * w) * interval '1 second',
               ($REGIONS_SQL)[1 + floor(random() * 7)::int], 2000 + g,
               round((60 + 380 * random())::numeric, 3), round((60 + 380 * random())::numeric, 3),
               round((50 + 0.1 * (random() - 0.5))::numeric, 3), 220
          FROM generate_series(1, 100) g;
        COMMIT;
    END LOOP;
    FOR k IN 1 .. $PENDING_TX / 2 LOOP
        t := w0 + floor(random() * w) * interval '1 second';
        UPDATE grid_raw SET load_mw = load_mw + 0.5, frequency_hz = frequency_hz + 0.001
         WHERE region = ($REGIONS_SQL)[1 + floor(random() * 7)::int] AND ts = t
           AND station_id % 2 = 0;
        COMMIT;
    END LOOP;
END \$\$;
EOF
PENDING=$(q fg -c "SELECT pending_changes FROM fluss_grid.rollups WHERE name = 'grid_minutely'::regclass")
cat >"$WORK/rt.sql" <<EOF
SELECT * FROM grid_minutely_realtime
 WHERE bucket >= '$T_WIN' AND bucket < '$T_END' ORDER BY bucket, region;
EOF
cat >"$WORK/rollup.sql" <<EOF
SELECT * FROM grid_minutely
 WHERE bucket >= '$T_WIN' AND bucket < '$T_END' ORDER BY bucket, region;
EOF
cat >"$WORK/groupby.sql" <<EOF
SELECT date_trunc('minute', ts) AS bucket, region, count(*) AS n,
       avg(load_mw), min(load_mw), max(load_mw), sum(generation_mw),
       avg(frequency_hz), min(frequency_hz), max(frequency_hz)
  FROM grid_raw WHERE ts >= '$T_WIN' AND ts < '$T_END'
 GROUP BY 1, 2 ORDER BY 1, 2;
EOF
chown postgres: "$WORK"/*.sql
# lat_run NAME FILE N BUDGET: pgbench, one client, per-statement log; N runs,
# fewer (but at least LAT_MIN) when N would take longer than BUDGET seconds;
# prints "p50 p99 max runs" in ms
lat_run() {
	local name=$1 file=$2 n=$3 budget=$4 opts=${5:-} avg lats
	# shellcheck disable=SC2086 # opts are words
	pgb fg -n -c 1 -t 2 $opts -f "$file" >"$WORK/lat_$name.warm" 2>&1 ||
		{ cat "$WORK/lat_$name.warm" >&2; die "pgbench ($name) failed"; }
	avg=$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' "$WORK/lat_$name.warm")
	n=$(awk -v n="$n" -v a="$avg" -v b="$budget" -v lo="$LAT_MIN" 'BEGIN {m = int(b * 1000 / (a + 0.001)); if (m < lo) m = lo; print (m < n ? m : n)}')
	rm -f "$WORK/lat_$name".[0-9]*
	# shellcheck disable=SC2086
	pgb fg -n -c 1 -t "$n" $opts -f "$file" -l --log-prefix="$WORK/lat_$name" >"$WORK/lat_$name.out" 2>&1 ||
		{ cat "$WORK/lat_$name.out" >&2; die "pgbench ($name) failed"; }
	lats=$(cat "$WORK/lat_$name".[0-9]* | awk '{print $3 / 1000}')
	echo "$(pctl 50 <<<"$lats") $(pctl 99 <<<"$lats") $(pctl 100 <<<"$lats") $n"
}
RT_ROWS=$(q fg -c "SELECT count(*) FROM grid_minutely_realtime WHERE bucket >= '$T_WIN' AND bucket < '$T_END'")
read -r RT_P50 RT_P99 RT_MAX RT_N < <(lat_run rt "$WORK/rt.sql" "$RT_RUNS" "$LAT_BUDGET")
read -r GB_P50 GB_P99 GB_MAX GB_N < <(lat_run gb "$WORK/groupby.sql" "$RT_RUNS" "$LAT_BUDGET")
# a dashboard polling the same query would prepare it once (plan reused)
read -r RTP_P50 RTP_P99 _ RTP_N < <(lat_run rtp "$WORK/rt.sql" "$RT_RUNS" "$LAT_BUDGET" "-M prepared")
q fg -c "EXPLAIN (ANALYZE, BUFFERS) $(cat "$WORK/rt.sql")" >"$WORK/rt.explain"
RT_EXPLAIN=$(awk '/Seq Scan on grid_raw/ {seq++}
	/Timing: Generation/ {jit=$0} /Execution Time/ {ex=$3} /Planning Time/ {pl=$3}
	END {printf "%d seq scan(s) of grid_raw, JIT %s, planning %s ms, execution %s ms", seq, (jit ? "on (" substr(jit, index(jit, "Total")) ")" : "off"), pl, ex}' "$WORK/rt.explain")
# same data in the realtime view and in GROUP BY?
RT_DIFF=$(q fg <<EOF
SELECT count(*) FROM (
  SELECT bucket, region, n, max_load_mw, min_frequency_hz FROM grid_minutely_realtime
   WHERE bucket >= '$T_WIN' AND bucket < '$T_END'
  EXCEPT ALL
  SELECT date_trunc('minute', ts), region, count(*), max(load_mw), min(frequency_hz)
    FROM grid_raw WHERE ts >= '$T_WIN' AND ts < '$T_END' GROUP BY 1, 2) x;
EOF
)
q fg -c "ALTER SYSTEM RESET fluss_grid.enabled" -c "SELECT pg_reload_conf()" >/dev/null
sleep 0.5
CATCHUP5=$(q fg <<'EOF'
SELECT extract(epoch FROM clock_timestamp()) AS t0 \gset
SELECT fluss_grid.wait_for_rollups(interval '10 minutes') AS ok \gset
SELECT round((extract(epoch FROM clock_timestamp()) - :t0)::numeric, 3);
EOF
)
read -r RT0_P50 RT0_P99 _ RT0_N < <(lat_run rt0 "$WORK/rt.sql" "$RT_RUNS" "$LAT_BUDGET")
read -r RU_P50 RU_P99 _ _ < <(lat_run ru "$WORK/rollup.sql" "$RT_RUNS" "$LAT_BUDGET")
log "  pending $PENDING: realtime p99 $RT_P99 ms, GROUP BY p99 $GB_P99 ms"

ROW5="| 5 | grid_minutely_realtime, last 15 min, all regions ($RT_ROWS rows), $PENDING changelog rows pending | p50 $(fmt "$RT_P50") ms, p99 $(fmt "$RT_P99") ms | GROUP BY over grid_raw: p50 $(fmt "$GB_P50" 1) ms, p99 $(fmt "$GB_P99" 1) ms | p99 speed-up vs GROUP BY $(fmt "$(calc "$GB_P99 / $RT_P99")" 2)× | p99 ≤ 10 ms | $(verdict "$RT_P99 <= 10") |"
DET5="- 5: fluss_grid.enabled = off; $PENDING_TX transactions of 100 late rows and $((PENDING_TX / 2)) UPDATEs of 100 rows scattered over [$T_WIN, $T_END). Realtime max $(fmt "$RT_MAX") ms over $RT_N runs; GROUP BY $GB_N runs, max $(fmt "$GB_MAX" 1) ms; groups differing between the realtime view and GROUP BY: $RT_DIFF. Prepared once (pgbench -M prepared, $RTP_N runs): p50 $(fmt "$RTP_P50") ms, p99 $(fmt "$RTP_P99") ms. Nothing pending (after ${CATCHUP5} s of catch-up): realtime p50 $(fmt "$RT0_P50") ms, p99 $(fmt "$RT0_P99") ms ($RT0_N runs); the rollup table itself p50 $(fmt "$RU_P50" 3) ms, p99 $(fmt "$RU_P99" 3) ms. EXPLAIN ANALYZE (pending): $RT_EXPLAIN
"
fi # figure 5

# ---------------------------------------------------------------------------
# 6: DELETE of a bucket's max
# ---------------------------------------------------------------------------
if want 6; then
log "figure 6: DELETE of the max of $DEL_N buckets, twice"
q fg >/dev/null <<'EOF'
CREATE TABLE bench_del (how text, k int, lat_ms float8, ok boolean);
-- delete the row holding the max load of n (minute, region) buckets, one
-- transaction each; measure commit -> grid_minutely shows the new max
-- (how = 'poll', every 1 ms) or commit -> wait_for_rollups() returns
-- (how = 'wait'); ok = the new max equals max() over the source
CREATE PROCEDURE bench_delmax(how text, nbuckets int, t_from timestamptz, t_to timestamptz, skip int)
LANGUAGE plpgsql AS $$
DECLARE
    g record;
    vic record;
    t0 timestamptz;
    m  float8;
    k  int := 0;
BEGIN
    FOR g IN SELECT bucket, region, max_load_mw FROM grid_minutely
              WHERE bucket >= t_from AND bucket < t_to
              ORDER BY md5(bucket::text || region) OFFSET skip LOOP
        EXIT WHEN k >= nbuckets;
        SELECT ts, station_id, count(*) OVER () AS c INTO vic FROM grid_raw
         WHERE region = g.region AND ts >= g.bucket AND ts < g.bucket + interval '1 minute'
           AND load_mw = g.max_load_mw;
        CONTINUE WHEN vic.c IS DISTINCT FROM 1;           -- tied maximum: deleting one changes nothing
        k := k + 1;
        DELETE FROM grid_raw WHERE region = g.region AND ts = vic.ts AND station_id = vic.station_id;
        COMMIT;
        t0 := clock_timestamp();
        IF how = 'wait' THEN
            PERFORM fluss_grid.wait_for_rollups(interval '60 seconds');
        ELSE
            LOOP
                SELECT max_load_mw INTO m FROM grid_minutely WHERE bucket = g.bucket AND region = g.region;
                EXIT WHEN m IS DISTINCT FROM g.max_load_mw OR clock_timestamp() - t0 > interval '60 seconds';
                PERFORM pg_sleep(0.001);
            END LOOP;
        END IF;
        INSERT INTO bench_del
        SELECT how, k, extract(epoch FROM clock_timestamp() - t0) * 1000,
               (SELECT max_load_mw FROM grid_minutely WHERE bucket = g.bucket AND region = g.region)
               IS NOT DISTINCT FROM
               (SELECT max(load_mw) FROM grid_raw WHERE region = g.region
                   AND ts >= g.bucket AND ts < g.bucket + interval '1 minute');
        COMMIT;
        PERFORM pg_sleep(0.05);
    END LOOP;
END $$;
EOF
q fg -c "CALL bench_delmax('poll', $DEL_N, '$T_BASE', '$T_END', 0)"
q fg -c "SELECT fluss_grid.wait_for_rollups(interval '1 minute')" >/dev/null
NGROUPS=$(q fg -c "SELECT count(*) FROM grid_minutely WHERE bucket >= '$T_BASE' AND bucket < '$T_END'")
# second pass on other buckets when there are enough, else the same buckets
# again (their maxima are new rows by now)
q fg -c "CALL bench_delmax('wait', $DEL_N, '$T_BASE', '$T_END', $((NGROUPS >= 2 * DEL_N ? DEL_N : 0)))"
DEL_POLL=$(q fg -c "SELECT lat_ms FROM bench_del WHERE how = 'poll'" | median)
DEL_POLL_MAX=$(q fg -c "SELECT lat_ms FROM bench_del WHERE how = 'poll'" | pctl 100)
DEL_WAIT=$(q fg -c "SELECT lat_ms FROM bench_del WHERE how = 'wait'" | median)
DEL_WAIT_MAX=$(q fg -c "SELECT lat_ms FROM bench_del WHERE how = 'wait'" | pctl 100)
DEL_N_DONE=$(q fg -c "SELECT count(*) FILTER (WHERE how = 'poll') || ' + ' || count(*) FILTER (WHERE how = 'wait') FROM bench_del")
DEL_BAD=$(q fg -c "SELECT count(*) FROM bench_del WHERE NOT ok")
log "  poll median $DEL_POLL ms, wait median $DEL_WAIT ms"

ROW6="| 6 | DELETE of a bucket's max row → folded (median of $DEL_N_DONE buckets) | $(fmt "$DEL_POLL" 1) ms (polling the rollup), $(fmt "$DEL_WAIT" 1) ms (wait_for_rollups) | — | — | ≤ 20 ms | $(verdict "$DEL_POLL <= 20") |"
DET6="- 6: polling max $(fmt "$DEL_POLL_MAX" 1) ms; wait_for_rollups() max $(fmt "$DEL_WAIT_MAX" 1) ms; new max wrong in $DEL_BAD cases.
"
fi # figure 6

# ---------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------
# the changelogs and rollups at the end: folded changes must leave no
# unbounded garbage behind (the worker's deletes must reach autovacuum)
TABLES_END=$(q fg -c "SELECT string_agg(format('%s %s (%s live, %s dead, %s autovacuums)', c.relname,
                              pg_size_pretty(pg_table_size(c.oid)), s.n_live_tup, s.n_dead_tup, s.autovacuum_count), '; ' ORDER BY c.relname)
                         FROM pg_class c JOIN pg_stat_user_tables s ON s.relid = c.oid
                        WHERE c.relname ~ '^(changelog_[0-9]+|grid_minutely|grid_hourly)$'")
NPROC=$(nproc)
CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
MEM=$(awk '/MemTotal/ {printf "%.0f GB", $2 / 1048576}' /proc/meminfo)
REPORT=$(
	cat <<EOF
### Results: $(date -u '+%Y-%m-%d %H:%M UTC'), $NPROC cores ($CPU), $MEM RAM, PostgreSQL $PGVERSION

fluss_grid: $BUILD_INFO.${PGCONF:+ Extra settings: $(echo "$PGCONF" | sed '/^$/d' | paste -sd ';' -).} $ROWS rows ($CSV_MB MB CSV, grid_raw $SIZES with rollups), $RUNS run(s), medians. Plain = same table in a database without the extension, same cluster, same run.

| # | Figure | fluss_grid | plain PostgreSQL | ratio / share | target | met |
|---|--------|-----------:|-----------------:|--------------:|--------|-----|
| 1 | COPY $ROWS rows, 2 rollups + source index | $(fmt "$COPY_FG") s ($(fmt "$(calc "$ROWS / $COPY_FG / 1000")" 0)k rows/s), CPU $(fmt "$CPU_FG") s | $(fmt "$COPY_PLAIN") s ($(fmt "$(calc "$ROWS / $COPY_PLAIN / 1000")" 0)k rows/s), CPU $(fmt "$CPU_PLAIN") s | $(fmt "$COPY_RATIO")× (CPU $(fmt "$CPU_RATIO")×) | ≥ 0.8× | $(verdict "$COPY_RATIO >= 0.8") |
| 2 | COPY commit → wait_for_rollups() returns | $(fmt "$WAIT_FG" 3) s | — | $(fmt "$WAIT_PCT" 1) % of COPY | ≤ 20 % | $(verdict "$WAIT_PCT <= 20") |
$ROWP
$ROW3
$ROW4
$ROW5
$ROW6

Details:
- 1: per run plain $(printf '%s ' "${C_PLAIN[@]}")s (backend CPU $(printf '%s ' "${U_PLAIN[@]}")s); rollups $(printf '%s ' "${C_FG[@]}")s (CPU $(printf '%s ' "${U_FG[@]}")s); floor CPU $(printf '%s ' "${U_FLOOR[@]}")s. Plain table with the index create_rollup adds ($IDX_DESC): $(fmt "$COPY_IDX") s, CPU $(fmt "$CPU_IDX") s (ratio $(fmt "$COPY_IDX_RATIO")×, CPU $(fmt "$(calc "$CPU_PLAIN / $CPU_IDX")")×); with that index and a statement trigger whose NEW TABLE nothing reads (the floor of a statement-level capture): $(fmt "$COPY_FLOOR") s, CPU $(fmt "$CPU_FLOOR") s (ratio $(fmt "$(calc "$COPY_PLAIN / $COPY_FLOOR")")×, CPU $(fmt "$(calc "$CPU_PLAIN / $CPU_FLOOR")")×; rollups / floor, CPU: $(fmt "$(calc "$CPU_FLOOR / $CPU_FG")")×). By CPU time (medians of the per-run differences) the index costs $(fmt "$PART_IDX") s, the transition table $(fmt "$PART_TT") s and the capture's own work $(fmt "$PART_CAP") s. Changelog rows written by the last COPY: $FOLDED_DELTAS.
- 2: per run $(printf '%s ' "${W_FG[@]}")s. After the last run grid_minutely ($MIN_ROWS rows) and grid_hourly vs GROUP BY over grid_raw: $EXACT.
$DETP$DET3$DET4$DET5$DET6- At the end: $TABLES_END.


Reproduce (as root, from the repository): \`$CMDLINE\`
EOF
)
echo
echo "$REPORT"
if [ -n "$OUT" ]; then
	echo "$REPORT" >"$OUT"
fi
