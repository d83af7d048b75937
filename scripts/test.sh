#!/usr/bin/env bash
#
# scripts/test.sh - THE test command for fluss_grid (CI runs it via .ci/run).
#
# Runs as root, from any directory:
#   1. scripts/deps.sh                       (installs missing packages)
#   2. make                                  (-Werror when CI=true or WERROR=1)
#   3. make install                          (into the system PostgreSQL 15)
#   4. clang-format check of changed C files (advisory; FORMAT_STRICT=1 fails)
#   5. copy the work tree (tracked + untracked, minus .gitignore'd build
#      outputs) to a fresh postgres-owned directory /tmp/fluss_grid_test.*
#      and there, as postgres, run each suite separately so that one failing
#      suite does not hide the others:
#        regress    make installcheck ISOLATION= TAP_TESTS=   (pg_regress,
#                   --temp-instance=./tmp_check starts its own server)
#        isolation  make installcheck REGRESS= TAP_TESTS=     (./tmp_iso)
#        tap        make installcheck REGRESS= ISOLATION=     (prove test/t)
#        pgtap      pg_prove test/pgtap/*.sql against a private cluster
#                   started here (shared_preload_libraries = the extension)
#        demo       scripts/demo.sh --no-build --seconds 8 (the README's
#                   main job, briefly), then --stop and rm -rf demo
#        bench      test/bench/bench_rollup.sh --rows 50000
#                   (only with --with-bench-smoke, and only if it exists)
#
# Counting: each pg_regress / isolation test file, each TAP script and each
# pgTAP file counts as one test; the bench smoke counts as one.  A suite that
# fails before any test ran (initdb, server start, make error) counts as one
# failed test.  The last line is always
#     test: N passed, M failed
# and the exit status is non-zero when M > 0.
#
# Options:
#   --with-bench-smoke   also run the benchmark smoke test
#   --keep               keep the staging directory even when all passed
#                        (it is always kept when something failed)
#   -h, --help           show this help
#
# Environment:
#   CI=true / WERROR=1   build with COPT=-Werror
#   FORMAT_STRICT=1      make the clang-format check fail the run
#   PG_CONFIG            pg_config to use (default: PostgreSQL 15's)
#
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

with_bench=false
keep_stage=false
for arg in "$@"; do
	case "$arg" in
		--with-bench-smoke) with_bench=true ;;
		--keep) keep_stage=true ;;
		-h | --help)
			awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
			exit 0
			;;
		*)
			echo "test: unknown argument: $arg (try --help)" >&2
			exit 2
			;;
	esac
done

if [ "$(id -u)" -ne 0 ]; then
	echo "test: run as root (it installs packages and the extension, and" \
		"runs PostgreSQL as the postgres user through runuser)" >&2
	exit 2
fi

# --------------------------------------------------------------------------
# Results bookkeeping
# --------------------------------------------------------------------------
SUITES=()        # suite names, in run order
declare -A S_PASS S_FAIL S_NOTE
TOTAL_PASS=0
TOTAL_FAIL=0
STAGE=""
SUMMARY_DONE=false
PGTAP_DATA=""    # set while the private pgTAP cluster may be running

# record SUITE PASSED FAILED NOTE: remember one suite's outcome.
record() {
	SUITES+=("$1")
	S_PASS[$1]=$2
	S_FAIL[$1]=$3
	S_NOTE[$1]=$4
	TOTAL_PASS=$((TOTAL_PASS + $2))
	TOTAL_FAIL=$((TOTAL_FAIL + $3))
}

# skip SUITE WHY: a suite with nothing to run.
skip() {
	echo "test: skipping $1: $2"
	record "$1" 0 0 "skipped ($2)"
}

# summary: per-suite table, then the one closing line CI reads.
summary() {
	echo
	echo "================ fluss_grid test summary ================"
	local s
	for s in "${SUITES[@]}"; do
		printf '  %-10s %4s passed %4s failed   %s\n' \
			"$s" "${S_PASS[$s]}" "${S_FAIL[$s]}" "${S_NOTE[$s]}"
	done
	if [ -n "$STAGE" ] && [ -d "$STAGE" ] &&
		{ $keep_stage || [ "$TOTAL_FAIL" -gt 0 ]; }; then
		echo "  logs and outputs kept in $STAGE"
	fi
	echo "========================================================="
	echo "test: $TOTAL_PASS passed, $TOTAL_FAIL failed"
	SUMMARY_DONE=true
}

# banner TEXT: section header, easy to find in a long CI log.
banner() {
	echo
	echo "==> $*"
}

# show_file FILE [LINES] [head|tail]: print (part of) a log file if present.
show_file() {
	local file=$1 lines=${2:-60} how=${3:-tail}
	[ -s "$file" ] || return 0
	echo "----- ${file#"$STAGE"/} ($how $lines lines) -----"
	"$how" -n "$lines" "$file"
	echo "----- end of ${file##*/} -----"
}

# --------------------------------------------------------------------------
# Environment: PostgreSQL 15 tools, a fixed locale, no stray libpq settings
# --------------------------------------------------------------------------

# Run as postgres (PostgreSQL refuses to run as root).  runuser keeps the
# environment and the current directory; callers cd into $STAGE first.
as_pg() {
	runuser -u postgres -- "$@"
}

# Same UTF-8 locale everywhere, so initdb (run by pg_regress and below)
# makes UTF8 databases on developer machines and in CI alike.
export LANG=C.UTF-8
unset LC_ALL LC_CTYPE LC_COLLATE LC_MESSAGES LANGUAGE
# libpq variables from the caller's shell must not redirect the tests.
unset PGHOST PGHOSTADDR PGPORT PGUSER PGDATABASE PGDATA PGSERVICE \
	PGOPTIONS PGPASSWORD PGSSLMODE

# on_exit: if the script stops early (an unexpected error under set -e, or
# an interrupt), still end with the closing line, counting one failure.
# Called with the script's exit status; does not change it.
on_exit() {
	local rc=$1
	if ! $SUMMARY_DONE; then
		[ "$rc" -ne 0 ] || rc=1
		record aborted 0 1 "test.sh stopped early (exit $rc)"
		summary
	fi
}
trap 'on_exit $?' EXIT

banner "dependencies"
if ! bash "$ROOT/scripts/deps.sh"; then
	record deps 0 1 "scripts/deps.sh failed"
	summary
	exit 1
fi

PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
[ -x "$PG_CONFIG" ] || PG_CONFIG=$(command -v pg_config)
PG_BINDIR=$("$PG_CONFIG" --bindir)
export PG_CONFIG

# make_var NAME: value of a variable as the Makefile (with PGXS) sets it.
# shellcheck disable=SC2016  # $(VAR) is make syntax, not shell
make_var() {
	make --no-print-directory -s PG_CONFIG="$PG_CONFIG" -f Makefile \
		-f <(printf 'fg-print-%%:\n\t@echo $(%s)\n' "$1") "fg-print-$1" \
		2>/dev/null || true
}
EXTENSION=$(make_var EXTENSION)
EXTENSION=${EXTENSION:-fluss_grid}

# --------------------------------------------------------------------------
# Build and install (as root, in the work tree)
# --------------------------------------------------------------------------
make_flags=(PG_CONFIG="$PG_CONFIG")
if [ "${CI:-}" = true ] || [ "${WERROR:-0}" = 1 ]; then
	# COPT is appended to CFLAGS by PGXS without replacing the Makefile's
	# PG_CFLAGS (a command-line PG_CFLAGS+= would override them).
	make_flags+=(COPT=-Werror)
	banner "build (warnings are errors)"
else
	banner "build"
fi
if ! make -s -j"$(nproc)" "${make_flags[@]}"; then
	echo "test: build failed" >&2
	record build 0 1 "make failed"
	summary
	exit 1
fi

banner "install"
if ! make -s "${make_flags[@]}" install; then
	echo "test: make install failed" >&2
	record install 0 1 "make install failed"
	summary
	exit 1
fi

# --------------------------------------------------------------------------
# Formatting of changed C files (advisory unless FORMAT_STRICT=1)
# --------------------------------------------------------------------------

# changed_c_files: C files changed in the work tree against HEAD, or, in a
# clean checkout such as CI's, those changed by the last commit; every C
# file when there is no history to compare with.
changed_c_files() {
	git rev-parse --is-inside-work-tree >/dev/null 2>&1 || return 0
	local files
	if ! git rev-parse -q --verify HEAD >/dev/null; then
		files=$(git ls-files --cached --others --exclude-standard \
			-- '*.c' '*.h')
	else
		files=$(
			git diff --name-only HEAD -- '*.c' '*.h'
			git ls-files --others --exclude-standard -- '*.c' '*.h'
		)
		if [ -z "$files" ] && git rev-parse -q --verify HEAD~1 >/dev/null; then
			files=$(git diff --name-only HEAD~1 HEAD -- '*.c' '*.h')
		fi
	fi
	local f
	for f in $files; do
		[ -f "$f" ] && echo "$f"
	done | sort -u
}

banner "format (clang-format, .clang-format approximates pgindent)"
format_bad=0
if ! command -v clang-format >/dev/null || [ ! -f .clang-format ]; then
	echo "format: clang-format or .clang-format missing; not checked"
else
	mapfile -t cfiles < <(changed_c_files)
	if [ "${#cfiles[@]}" -eq 0 ]; then
		echo "format: no changed C files"
	fi
	for f in "${cfiles[@]}"; do
		n=$(clang-format --style=file --dry-run "$f" 2>&1 |
			grep -c 'clang-format-violations' || true)
		if [ "$n" -gt 0 ]; then
			echo "format: $f: $n place(s) differ (clang-format -i $f)"
			format_bad=$((format_bad + 1))
		fi
	done
	[ "${#cfiles[@]}" -eq 0 ] || [ "$format_bad" -gt 0 ] ||
		echo "format: ${#cfiles[@]} changed C file(s) OK"
fi
if [ "${FORMAT_STRICT:-0}" = 1 ]; then
	if [ "$format_bad" -gt 0 ]; then
		record format 0 1 "$format_bad file(s) not clang-formatted"
	else
		record format 1 0 "ok"
	fi
fi

# --------------------------------------------------------------------------
# Stage a copy of the work tree owned by postgres
# --------------------------------------------------------------------------

# list_tree: NUL-separated files to copy: tracked and untracked files that
# .gitignore does not exclude (so no *.o/*.so, tmp_check, demo, ...).
list_tree() {
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		git ls-files -z --cached --others --exclude-standard |
			while IFS= read -r -d '' f; do
				# tracked but deleted in the work tree: nothing to copy
				[ -e "$f" ] || [ -L "$f" ] && printf '%s\0' "$f"
			done
	else
		find . -path ./.git -prune -o -path ./demo -prune \
			-o -path ./tmp_check -prune -o -path ./tmp_iso -prune \
			-o -path ./output_iso -prune -o -path ./results -prune \
			-o -path ./log -prune \
			-o -type f ! -name '*.o' ! -name '*.so' ! -name '*.bc' \
			! -name 'regression.*' -printf '%P\0'
	fi
}

STAGE=$(mktemp -d "/tmp/fluss_grid_test.$$.XXXXXX")

# cleanup: stop the pgTAP cluster if it is still up; drop the staging
# directory when everything passed (kept for inspection otherwise); make
# sure the closing line is printed.
cleanup() {
	local rc=$1
	if [ -n "$PGTAP_DATA" ] && [ -f "$PGTAP_DATA/postmaster.pid" ]; then
		as_pg "$PG_BINDIR/pg_ctl" -D "$PGTAP_DATA" -m immediate -w stop \
			>/dev/null 2>&1 || true
	fi
	if [ "$rc" -eq 0 ] && [ "$TOTAL_FAIL" -eq 0 ] && ! $keep_stage &&
		[ -n "$STAGE" ] && [ -d "$STAGE" ]; then
		rm -rf "$STAGE"
	fi
	on_exit "$rc"
}
trap 'cleanup $?' EXIT
trap 'echo "test: interrupted" >&2; exit 130' INT TERM

list_tree | tar --null -T - -cf - | tar -C "$STAGE" -xf -
chown -R postgres:postgres "$STAGE"
chmod 0755 "$STAGE"
cd "$STAGE"
echo "test: staged $(find . -type f | wc -l) files in $STAGE"

# count_pg_regress LOG: "PASSED FAILED" from pg_regress's per-test lines
# ("test foo ... ok", "     foo ... FAILED", "... failed (ignored)").
count_pg_regress() {
	local ok bad
	ok=$(grep -cE '\.\.\. (ok|failed \(ignored\))' "$1" || true)
	bad=$(grep -cE '\.\.\. FAILED' "$1" || true)
	echo "$ok $bad"
}

# count_prove LOG: "PASSED FAILED" test scripts from a TAP::Harness summary
# (prove and pg_prove).  The total is "Files=N"; a script failed when the
# "Test Summary Report" lists it with a non-zero wait status, failed tests
# or parse errors (a bad plan); scripts listed only for "TODO passed" did not.
count_prove() {
	local files bad
	files=$(grep -oE '^Files=[0-9]+' "$1" | tail -n 1 | cut -d= -f2 || true)
	bad=$(awk '
		/^Test Summary Report/ { report = 1; next }
		!report { next }
		/\(Wstat: / {
			if (cur != "" && failed) n++
			cur = $1; failed = 0
			if ($0 !~ /\(Wstat: 0 / || $0 !~ / Failed: 0\)/) failed = 1
			next
		}
		/^ +Parse errors:/ { failed = 1 }
		/^Files=/ { if (cur != "" && failed) n++; cur = ""; failed = 0 }
		END { if (cur != "" && failed) n++; print n + 0 }
	' "$1")
	files=${files:-0}
	echo "$((files - bad)) $bad"
}

# finish_suite NAME RC PASSED FAILED: record a suite from its exit status
# and parsed counts; a failed suite with no failed test counted (it broke
# before or around its tests) is one failure.
finish_suite() {
	local name=$1 rc=$2 ok=$3 bad=$4
	if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
		bad=1
	fi
	if [ "$rc" -eq 0 ] && [ "$bad" -gt 0 ]; then
		rc=1
	fi
	record "$name" "$ok" "$bad" "$([ "$rc" -eq 0 ] && echo ok || echo FAILED)"
	return "$rc"
}

# run_logged LOG CMD...: run CMD as postgres in $STAGE, output to the
# console and to LOG; prints nothing else, returns CMD's status.
run_logged() {
	local log=$1
	shift
	set +e
	as_pg "$@" 2>&1 | tee "$log"
	local rc=${PIPESTATUS[0]}
	set -e
	chown postgres:postgres "$log"
	return "$rc"
}

install_make=(make --no-print-directory PG_CONFIG="$PG_CONFIG" installcheck)

# --------------------------------------------------------------------------
# Suite 1: pg_regress (sql/, expected/)
# --------------------------------------------------------------------------
banner "regress (pg_regress, temporary instance ./tmp_check)"
if [ -z "$(make_var REGRESS)" ]; then
	skip regress "REGRESS is empty in the Makefile"
else
	rc=0
	run_logged "$STAGE/regress.log" "${install_make[@]}" \
		ISOLATION= TAP_TESTS= || rc=$?
	read -r ok bad < <(count_pg_regress "$STAGE/regress.log")
	if ! finish_suite regress "$rc" "$ok" "$bad"; then
		show_file "$STAGE/regression.diffs" 300 head
		# pg_regress keeps the temporary instance's logs in <outputdir>/log
		show_file "$STAGE/log/initdb.log" 30
		show_file "$STAGE/log/postmaster.log" 80
	fi
fi

# --------------------------------------------------------------------------
# Suite 2: isolation (test/isolation/specs, test/isolation/expected)
# --------------------------------------------------------------------------
banner "isolation (pg_isolation_regress, temporary instance ./tmp_iso)"
if [ -z "$(make_var ISOLATION)" ]; then
	skip isolation "ISOLATION is empty in the Makefile"
else
	rc=0
	run_logged "$STAGE/isolation.log" "${install_make[@]}" \
		REGRESS= TAP_TESTS= || rc=$?
	read -r ok bad < <(count_pg_regress "$STAGE/isolation.log")
	if ! finish_suite isolation "$rc" "$ok" "$bad"; then
		show_file "$STAGE/output_iso/regression.diffs" 300 head
		show_file "$STAGE/output_iso/log/initdb.log" 30
		show_file "$STAGE/output_iso/log/postmaster.log" 80
	fi
fi

# --------------------------------------------------------------------------
# Suite 3: TAP (test/t/*.pl with PostgreSQL::Test::Cluster)
# --------------------------------------------------------------------------
banner "tap (prove test/t/*.pl)"
if [ -z "$(make_var TAP_TESTS)" ]; then
	skip tap "TAP_TESTS is not set in the Makefile"
elif ! compgen -G "test/t/*.pl" >/dev/null; then
	skip tap "no test/t/*.pl files"
else
	rc=0
	run_logged "$STAGE/tap.log" "${install_make[@]}" \
		REGRESS= ISOLATION= || rc=$?
	read -r ok bad < <(count_prove "$STAGE/tap.log")
	if ! finish_suite tap "$rc" "$ok" "$bad"; then
		for f in "$STAGE"/tmp_check/log/regress_log_*; do
			show_file "$f" 60
		done
		for f in "$STAGE"/tmp_check/log/*.log; do
			show_file "$f" 40
		done
	fi
fi

# --------------------------------------------------------------------------
# Suite 4: pgTAP (test/pgtap/*.sql) against a private cluster
# --------------------------------------------------------------------------

# pgtap_suite: initdb, start with the extension preloaded, create a database
# with pgTAP, run pg_prove, stop.  Returns non-zero on any failure.
pgtap_suite() {
	local base=$STAGE/pgtap_cluster
	local sock=$base/sock port=54399 db=fluss_grid_pgtap
	PGTAP_DATA=$base/data
	as_pg mkdir -p "$sock"
	if ! as_pg "$PG_BINDIR/initdb" -D "$PGTAP_DATA" -U postgres -A trust \
		--encoding=UTF8 --locale=C.UTF-8 --no-sync \
		>"$base/initdb.log" 2>&1; then
		echo "pgtap: initdb failed"
		show_file "$base/initdb.log" 30
		return 1
	fi
	{
		echo "# added by scripts/test.sh"
		echo "listen_addresses = ''"
		echo "unix_socket_directories = '$sock'"
		echo "port = $port"
		echo "fsync = off"
		echo "shared_preload_libraries = '$EXTENSION'"
		if [ -f "test/$EXTENSION.conf" ]; then
			echo "# from test/$EXTENSION.conf"
			cat "test/$EXTENSION.conf"
		fi
	} >>"$PGTAP_DATA/postgresql.conf"
	if ! as_pg "$PG_BINDIR/pg_ctl" -D "$PGTAP_DATA" -l "$base/server.log" \
		-w -t 60 start >/dev/null; then
		echo "pgtap: server did not start"
		show_file "$base/server.log" 60
		return 1
	fi
	local conn=(-h "$sock" -p "$port")
	if ! as_pg "$PG_BINDIR/createdb" "${conn[@]}" "$db" ||
		! as_pg "$PG_BINDIR/psql" -X -q "${conn[@]}" -d "$db" \
			-v ON_ERROR_STOP=1 -c 'CREATE EXTENSION pgtap'; then
		echo "pgtap: could not prepare database $db"
		return 1
	fi
	local rc=0
	run_logged "$STAGE/pgtap.log" pg_prove --psql-bin "$PG_BINDIR/psql" \
		"${conn[@]}" -d "$db" -U postgres "${pgtap_files[@]}" || rc=$?
	as_pg "$PG_BINDIR/pg_ctl" -D "$PGTAP_DATA" -m fast -w stop >/dev/null ||
		rc=1
	if [ "$rc" -ne 0 ]; then
		show_file "$base/server.log" 80
	fi
	return "$rc"
}

banner "pgtap (pg_prove test/pgtap/*.sql, private cluster)"
mapfile -t pgtap_files < <(compgen -G "test/pgtap/*.sql" | sort)
if [ "${#pgtap_files[@]}" -eq 0 ]; then
	skip pgtap "no test/pgtap/*.sql files"
else
	rc=0
	pgtap_suite || rc=$?
	ok=0 bad=0
	if [ -f "$STAGE/pgtap.log" ]; then
		read -r ok bad < <(count_prove "$STAGE/pgtap.log")
	fi
	finish_suite pgtap "$rc" "$ok" "$bad" || true
fi

# --------------------------------------------------------------------------
# Suite 5: the main job (scripts/demo.sh) for a few seconds, as the README
# runs it: its own cluster under ./demo, the warehouse, fluss-gridsim, the
# big screen from the ADS views; then stopped and removed again
# --------------------------------------------------------------------------
banner "demo (scripts/demo.sh --no-build --seconds 8)"
rc=0
demo_dir=$ROOT/demo
if [ -e "$demo_dir" ]; then
	skip demo "$demo_dir exists (a demo of yours: left alone)"
else
	(cd "$ROOT" && timeout 300 bash scripts/demo.sh --no-build --seconds 8) \
		>"$STAGE/demo.log" 2>&1 || rc=$?
	if [ "$rc" -eq 0 ] && ! { grep -q 'ads_grid_overview' "$STAGE/demo.log" &&
		grep -q '华东' "$STAGE/demo.log" &&
		grep -q 'summary: rows=' "$STAGE/demo.log" &&
		grep -q 'cluster is still running' "$STAGE/demo.log"; }; then
		echo "demo: the screen, the simulator summary or the closing lines are missing"
		rc=1
	fi
	[ "$rc" -eq 0 ] || show_file "$STAGE/demo.log" 60
	(cd "$ROOT" && bash scripts/demo.sh --stop) >/dev/null 2>&1 || true
	rm -rf "$demo_dir"
	finish_suite demo "$rc" "$([ "$rc" -eq 0 ] && echo 1 || echo 0)" 0 || true
fi

# --------------------------------------------------------------------------
# Optional: benchmark smoke test
# --------------------------------------------------------------------------
if $with_bench; then
	banner "bench smoke (test/bench/bench_rollup.sh --rows 50000)"
	if [ ! -f "$ROOT/test/bench/bench_rollup.sh" ]; then
		skip bench "test/bench/bench_rollup.sh does not exist"
	else
		# Run from the real work tree as root, like scripts/demo.sh: the
		# bench script manages its own cluster (through runuser).
		rc=0
		(cd "$ROOT" && bash test/bench/bench_rollup.sh --rows 50000) || rc=$?
		finish_suite bench "$rc" "$([ "$rc" -eq 0 ] && echo 1 || echo 0)" 0 ||
			true
	fi
fi

summary
[ "$TOTAL_FAIL" -eq 0 ]
