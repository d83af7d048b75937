#!/usr/bin/env bash
#
# test/bench/bench_columnar_vacuum.sh - what VACUUM gives back on a
# fluss_columnar table, against a heap table in the same run, printed as a
# markdown table.
#
# Self-contained; run as root.  It creates a private PostgreSQL 15 cluster
# in a temporary directory owned by postgres (unix socket only,
# shared_preload_libraries = 'fluss_grid', autovacuum off) and removes it at
# exit, then measures:
#   1. DELETE of half the rows (every other station) of N rows of synthetic
#      grid telemetry (ts, region, station_id, four float8 values; default
#      N = 1,000,000; smooth curves plus seeded noise, so that each float
#      costs 1-2 bytes compressed), columnar with default options and heap,
#      both with a
#      B-tree index on (station_id, ts); then VACUUM.  Heap needs one VACUUM;
#      a columnar VACUUM does one step (compaction, then index cleanup and
#      moves into the freed pages, then truncation), so it runs until the
#      file stops shrinking (at most 6).  Reported: table size
#      (pg_relation_size) and index size before the DELETE, after it and
#      after the VACUUMs, the VACUUM time (sum, wall clock around psql), and
#      the contents compared.
#   2. Then the same number of rows inserted again: size of each table
#      (heap reuses its free space; columnar its free extents).
#   3. S single-row INSERT transactions (default 2,000) into an empty
#      columnar table: row groups before and after one VACUUM, VACUUM time,
#      size before and after the VACUUMs.
#
# Usage: test/bench/bench_columnar_vacuum.sh [--rows N] [--singles S]
#            [--port P] [--keep]
#   PG_CONFIG selects the installation (default pg_config on PATH).

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ROWS=1000000
SINGLES=2000
PORT=5492
KEEP=false
while [ $# -gt 0 ]; do
	case $1 in
	--rows) ROWS=$2; shift 2 ;;
	--singles) SINGLES=$2; shift 2 ;;
	--port) PORT=$2; shift 2 ;;
	--keep) KEEP=true; shift ;;
	*) echo "unknown option $1" >&2; exit 2 ;;
	esac
done
PG_CONFIG=${PG_CONFIG:-pg_config}
BINDIR=$("$PG_CONFIG" --bindir)
PKGLIBDIR=$("$PG_CONFIG" --pkglibdir)
# shellcheck source=lib.sh
. "$ROOT/test/bench/lib.sh"

bench_workdir bench_columnar_vacuum fg_bench_vac
bench_initdb 512MB
cat >>"$PGD/postgresql.conf" <<EOF
autovacuum = off
EOF
as_pg "$BINDIR/pg_ctl" -D "$PGD" -l "$LOG" -w -t 60 start >/dev/null
q postgres -c "CREATE EXTENSION fluss_grid"

# ms of wall clock of one psql call
timed() {
	local t0 t1
	t0=$(date +%s%N)
	q postgres -c "$1" >/dev/null
	t1=$(date +%s%N)
	calc "($t1 - $t0) / 1000000"
}
size() { q postgres -c "SELECT pg_relation_size('$1')"; }
mb() { calc "$1 / 1048576"; }

log "loading $ROWS rows into heap and columnar"
for t in h c; do
	am=heap
	[ $t = c ] && am=fluss_columnar
	q postgres >/dev/null <<EOF
CREATE TABLE $t (ts timestamptz, region text, station_id int, load_mw float8,
                 generation_mw float8, frequency_hz float8, voltage_kv float8)
    USING $am;
SELECT setseed(0.42);
INSERT INTO $t
SELECT '2024-07-01 10:00+08'::timestamptz + (g / 1400) * interval '1 s',
       'R' || (g % 1400) / 200, g % 1400,
       round((100 + 50 * sin(g / 1400 / 600.0) + (g % 1400) / 10.0 + random())::numeric, 3),
       round((80 + 40 * cos(g / 1400 / 900.0) + (g % 1400) / 20.0 + random())::numeric, 3),
       round((50 + 0.05 * sin(g / 77.0) + random() / 100)::numeric, 3),
       round((220 + (g % 1400) % 5 + 0.5 * sin(g / 1400 / 60.0) + random() / 10)::numeric, 2)
  FROM generate_series(0, $ROWS - 1) g;
CREATE INDEX ${t}_key ON $t (station_id, ts);
EOF
done
q postgres -c "VACUUM ANALYZE h"
q postgres -c "ANALYZE c"
q postgres -c "CHECKPOINT"

declare -A S0 S1 S2 S3 I0 I2 VT NV
for t in h c; do
	S0[$t]=$(size $t)
	I0[$t]=$(size ${t}_key)
done
log "DELETE of half the rows"
for t in h c; do
	q postgres -c "DELETE FROM $t WHERE station_id % 2 = 0"
	S1[$t]=$(size $t)
done
log "VACUUM"
VT[h]=$(timed "VACUUM h")
NV[h]=1
VT[c]=0
NV[c]=0
prev=-1
for i in 1 2 3 4 5 6; do
	ms=$(timed "VACUUM c")
	VT[c]=$(calc "${VT[c]} + $ms")
	NV[c]=$i
	cur=$(size c)
	log "columnar VACUUM $i: $(fmt "$ms" 0) ms, $(fmt "$(mb "$cur")" 1) MB"
	# done when a VACUUM neither shrank the file nor had work left
	[ "$cur" = "$prev" ] && [ "$i" -ge 4 ] && break
	prev=$cur
done
for t in h c; do
	S2[$t]=$(size $t)
	I2[$t]=$(size ${t}_key)
done
same=$(q postgres -c "SELECT (SELECT count(*) FROM ((SELECT * FROM h EXCEPT ALL SELECT * FROM c) UNION ALL (SELECT * FROM c EXCEPT ALL SELECT * FROM h)) x) = 0")

log "the same number of rows again"
for t in h c; do
	q postgres -c "INSERT INTO $t SELECT ts + interval '1 day', region, station_id + 1, load_mw, generation_mw, frequency_hz, voltage_kv FROM $t"
	S3[$t]=$(size $t)
done

log "$SINGLES single-row INSERT transactions"
q postgres -c "CREATE TABLE s (id int, ts timestamptz, v float8) USING fluss_columnar"
for i in $(seq 1 "$SINGLES"); do
	echo "INSERT INTO s VALUES ($i, '2024-07-01'::timestamptz + $i * interval '1 s', $i / 8.0);"
done | q postgres >/dev/null
rgs="SELECT count(*) FROM fluss_grid.columnar_row_group WHERE storage_id = fluss_grid.columnar_storage_id('s')"
RG0=$(q postgres -c "$rgs")
SS0=$(size s)
SVT=$(timed "VACUUM s")
RG1=$(q postgres -c "$rgs")
for i in 1 2 3 4; do q postgres -c "VACUUM s"; done
SS1=$(size s)
ssame=$(q postgres -c "SELECT count(*) = $SINGLES AND sum(id) = $SINGLES::bigint * ($SINGLES + 1) / 2 FROM s")

echo
echo "## fluss_columnar VACUUM ($ROWS rows, $BUILD_INFO)"
echo
echo "| | heap | fluss_columnar | columnar / heap |"
echo "|---|---|---|---|"
for row in "table before DELETE:S0" "table after DELETE of half:S1" "table after VACUUM:S2" "table after re-inserting as many rows:S3"; do
	label=${row%%:*}
	var=${row##*:}
	declare -n arr=$var
	echo "| $label (MB) | $(fmt "$(mb "${arr[h]}")" 1) | $(fmt "$(mb "${arr[c]}")" 1) | $(fmt "$(calc "${arr[c]} / ${arr[h]}")" 3) |"
done
echo "| index before DELETE (MB) | $(fmt "$(mb "${I0[h]}")" 1) | $(fmt "$(mb "${I0[c]}")" 1) | $(fmt "$(calc "${I0[c]} / ${I0[h]}")" 2) |"
echo "| index after VACUUM (MB) | $(fmt "$(mb "${I2[h]}")" 1) | $(fmt "$(mb "${I2[c]}")" 1) | $(fmt "$(calc "${I2[c]} / ${I2[h]}")" 2) |"
echo "| VACUUM time (ms, sum of ${NV[c]} columnar VACUUMs) | $(fmt "${VT[h]}" 0) | $(fmt "${VT[c]}" 0) | $(fmt "$(calc "${VT[c]} / ${VT[h]}")" 2) |"
echo
echo "Columnar file after VACUUM: $(fmt "$(calc "100 * ${S2[c]} / ${S1[c]}")" 1) % of its size after the DELETE; contents equal to heap: $same."
echo
echo "$SINGLES single-row INSERTs: $RG0 row groups, $RG1 after one VACUUM ($(fmt "$SVT" 0) ms); file $(fmt "$(calc "$SS0 / 1024")" 0) kB, $(fmt "$(calc "$SS1 / 1024")" 0) kB after five VACUUMs; rows intact: $ssame."
