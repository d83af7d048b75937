#!/usr/bin/env bash
#
# scripts/deps.sh - install the Debian packages fluss_grid needs to build,
# test and demo.
#
# Idempotent: asks dpkg what is already installed and only runs
# `apt-get update` + `apt-get install` when something is missing, so a
# second run is silent and takes well under a second.  Must run as root when
# anything is missing (CI and the developer machines run as root).
#
# Usage: scripts/deps.sh [--check]
#   --check   only report what is missing; exit 1 if anything is
#
set -euo pipefail

# Packages every build/test needs.
#   build-essential            gcc, make
#   postgresql-15              server binaries (initdb, pg_ctl, postgres)
#   postgresql-server-dev-15   pg_config, PGXS, pg_regress, pg_isolation_regress,
#                              PostgreSQL::Test::* TAP modules
#   postgresql-15-pgtap        the pgTAP extension (CREATE EXTENSION pgtap)
#   libtap-parser-sourcehandler-pgtap-perl   pg_prove
#   libipc-run-perl            IPC::Run, needed by PostgreSQL::Test::Utils
#   libzstd-dev                zstd for the columnar access method
#   clang-format               .clang-format check of changed C files
#   git                        scripts/test.sh lists the work tree with git
PACKAGES=(
	build-essential
	postgresql-15
	postgresql-server-dev-15
	postgresql-15-pgtap
	libtap-parser-sourcehandler-pgtap-perl
	libipc-run-perl
	libzstd-dev
	clang-format
	git
)

check_only=false
case "${1:-}" in
	--check) check_only=true ;;
	"") ;;
	-h | --help)
		awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
		exit 0
		;;
	*)
		echo "deps: unknown argument: $1 (try --help)" >&2
		exit 2
		;;
esac

# is_installed PKG: true when dpkg has PKG fully installed.
is_installed() {
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]
}

missing=()
for pkg in "${PACKAGES[@]}"; do
	is_installed "$pkg" || missing+=("$pkg")
done

# PostgreSQL's TAP framework wants Test::More >= 0.98.  Perl's core copy is
# new enough on Debian 12; pull in the CPAN-tracking package only if not.
if ! perl -e 'use Test::More 0.98; 1' >/dev/null 2>&1 &&
	! is_installed libtest-simple-perl; then
	missing+=(libtest-simple-perl)
fi

if [ "${#missing[@]}" -eq 0 ]; then
	echo "deps: all ${#PACKAGES[@]} required packages are installed"
	exit 0
fi

if $check_only; then
	echo "deps: missing: ${missing[*]}" >&2
	exit 1
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages: ${missing[*]}" >&2
	echo "deps: run this script as root to install them" >&2
	exit 1
fi

echo "deps: installing: ${missing[*]}"
log=$(mktemp /tmp/fluss_grid_deps.XXXXXX.log)
export DEBIAN_FRONTEND=noninteractive
if ! apt-get update -qq >"$log" 2>&1 ||
	! apt-get install -y -qq --no-install-recommends "${missing[@]}" \
		>>"$log" 2>&1; then
	echo "deps: apt-get failed; last lines of $log:" >&2
	tail -n 30 "$log" >&2
	exit 1
fi
rm -f "$log"

# Verify, so a package that apt reported but did not configure is caught here
# rather than as a confusing build failure later.
still=()
for pkg in "${missing[@]}"; do
	is_installed "$pkg" || still+=("$pkg")
done
if [ "${#still[@]}" -ne 0 ]; then
	echo "deps: still missing after install: ${still[*]}" >&2
	exit 1
fi
echo "deps: installed ${#missing[@]} package(s)"
