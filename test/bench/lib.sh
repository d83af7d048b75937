# test/bench/lib.sh - what the benchmark scripts share.  They define die
# (message, exit 2), then may source it at once for
#   bench_usage                 print the script's header comment (--help)
#   bench_options "NAME..." "$@"   parse the command line: --NAME VALUE sets
#                               the variable NAME in upper case (dashes as
#                               underscores), --keep sets KEEP=true, --help
#                               prints the usage, anything else dies
#   bench_positive VAR...       die unless each variable holds a number >= 1
#   bench_pg_env                as root only; C.UTF-8; PG_CONFIG (default:
#                               PostgreSQL 15's), BINDIR, PKGLIBDIR
# and, once options are parsed and PG_CONFIG, BINDIR, PKGLIBDIR, ROOT, PORT
# and KEEP are set, use:
#   bench_workdir NAME PREFIX   a work directory owned by postgres (WORK,
#                               PGD, SOCK, LOG), and the exit trap that
#                               stops the cluster and removes it (or, with
#                               --keep, says where they are); sets
#                               BUILD_INFO (commit and library checksum)
#   bench_initdb SHARED_BUFFERS initdb in PGD and the settings every
#                               benchmark cluster has (unix socket only,
#                               fluss_grid preloaded, max_wal_size 8GB);
#                               the caller appends its own
#   as_pg, q, pgb               run as postgres: any command, psql, pgbench
#   log, median, pctl, fmt, calc, verdict   reporting
# shellcheck shell=bash

bench_usage() { awk 'NR > 1 && !/^#/ {exit} NR > 1' "$0" | sed 's/^# \{0,1\}//'; }

bench_options() {
	local names=" $1 " opt var
	shift
	while [ $# -gt 0 ]; do
		case "$1" in
			--keep) KEEP=true ;;
			-h | --help)
				bench_usage
				exit 0
				;;
			--*)
				opt=${1#--}
				[[ "$names" == *" $opt "* ]] || die "unknown argument: $1 (try --help)"
				[ $# -ge 2 ] || die "$1 needs a value"
				var=${opt^^}
				printf -v "${var//-/_}" '%s' "$2"
				shift
				;;
			*) die "unknown argument: $1 (try --help)" ;;
		esac
		shift
	done
}

bench_positive() {
	local v
	for v in "$@"; do
		[[ "${!v}" =~ ^[0-9]+$ ]] && [ "${!v}" -ge 1 ] || die "--${v,,} needs a positive number"
	done
}

bench_pg_env() {
	[ "$(id -u)" -eq 0 ] || die "run as root (PostgreSQL runs as postgres through runuser)"
	export LANG=C.UTF-8
	unset LC_ALL
	PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
	[ -x "$PG_CONFIG" ] || die "pg_config not found at $PG_CONFIG"
	BINDIR=$("$PG_CONFIG" --bindir)
	PKGLIBDIR=$("$PG_CONFIG" --pkglibdir)
}

bench_workdir() {
	BENCH_NAME=$1
	BUILD_INFO="installed fluss_grid.so md5 $(md5sum <"$PKGLIBDIR/fluss_grid.so" | cut -c1-12)"
	if git -C "$ROOT" rev-parse --short HEAD >/dev/null 2>&1; then
		BUILD_INFO="tree at commit $(git -C "$ROOT" rev-parse --short HEAD)$(
			[ -z "$(git -C "$ROOT" status --porcelain -- src sql 2>/dev/null)" ] || echo " + uncommitted changes in src/ or sql/"), $BUILD_INFO"
	fi
	WORK=$(mktemp -d "/tmp/$2.XXXXXX")
	chown postgres: "$WORK"
	chmod 755 "$WORK"
	PGD=$WORK/pgdata
	SOCK=$WORK
	LOG=$WORK/postgres.log
	trap bench_cleanup EXIT
	trap 'exit 130' INT TERM
}

as_pg() { runuser -u postgres -- "$@"; }

bench_initdb() {
	log "initdb in $PGD"
	as_pg "$BINDIR/initdb" -D "$PGD" -E UTF8 --locale=C.UTF-8 -A trust -U postgres >/dev/null
	cat >>"$PGD/postgresql.conf" <<EOF
# $BENCH_NAME
port = $PORT
listen_addresses = ''
unix_socket_directories = '$SOCK'
shared_preload_libraries = 'fluss_grid'
shared_buffers = $1
max_wal_size = 8GB
log_min_messages = warning
EOF
}

bench_cleanup() {
	local rc=$?
	if [ -f "$PGD/postmaster.pid" ]; then
		if $KEEP; then
			echo "$BENCH_NAME: cluster left running: $BINDIR/pg_ctl -D $PGD (socket $SOCK, port $PORT)" >&2
		else
			as_pg "$BINDIR/pg_ctl" -D "$PGD" -m immediate -w stop >/dev/null 2>&1 || true
		fi
	fi
	if ! $KEEP; then
		rm -rf "$WORK"
	else
		echo "$BENCH_NAME: work directory kept: $WORK" >&2
	fi
	exit $rc
}

# q DB [psql args...]: psql as postgres, unaligned, tuples only, stop on error
q() {
	local db=$1
	shift
	as_pg "$BINDIR/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$SOCK" -p "$PORT" -d "$db" "$@"
}

# pgb DB [pgbench args...]
pgb() {
	local db=$1
	shift
	as_pg "$BINDIR/pgbench" -h "$SOCK" -p "$PORT" "$@" "$db"
}

log() { echo "== $*" >&2; }

# median of numbers on stdin
median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) {print "nan"; exit} if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
# percentile P (0-100) of numbers on stdin, nearest rank
pctl() { sort -g | awk -v p="$1" '{a[NR]=$1} END {if (NR==0) {print "nan"; exit} r=int((p*NR+99)/100); if (r<1) r=1; if (r>NR) r=NR; print a[r]}'; }
# fmt X [decimals]
fmt() { LC_NUMERIC=C printf "%.${2:-2}f" "$1"; }
calc() { awk "BEGIN {printf \"%.6f\", $*}"; }
# verdict AWK-CONDITION: "yes" or "**no**"
verdict() { awk "BEGIN {exit !($1)}" && echo "yes" || echo "**no**"; }
