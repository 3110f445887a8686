#!/bin/sh
# deps.sh - install the Debian packages mailroom needs to build (and to test, and
# to benchmark: make bench also runs OpenDKIM beside Postfix).
#   scripts/deps.sh build|all|bench [--check]
# With --check it only reports (exit 1) when something is missing.
set -eu
build_pkgs="build-essential pkg-config libevent-dev libssl-dev libunbound-dev
 libsqlite3-dev libpq-dev libcrypt-dev libinih-dev libseccomp-dev zlib1g-dev libjansson-dev libsystemd-dev"
test_pkgs="libcmocka-dev clang libclang-rt-14-dev python3 python3-pytest
 python3-aiosmtpd swaks libnet-ssleay-perl msmtp s-nail fetchmail getmail6
 dnsmasq-base openssl sqlite3 postfix dovecot-pop3d valgrind procps
 python3-dkim python3-spf python3-dnslib python3-nacl python3-yaml
 python3-prometheus-client chromium fonts-dejavu-core lintian systemd
 rspamd python3-milter
 dns-root-data ldnsutils nsd python3-cryptography pebble
 postgresql-15"
bench_pkgs="opendkim"

case "${1:-all}" in
build) pkgs=$build_pkgs ;;
all) pkgs="$build_pkgs $test_pkgs" ;;
bench) pkgs="$build_pkgs $test_pkgs $bench_pkgs" ;;
*) echo "usage: deps.sh build|all|bench [--check]" >&2; exit 2 ;;
esac

missing=""
for p in $pkgs; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	*" installed") ;;
	*) missing="$missing $p" ;;
	esac
done
# Node.js runs the browser tests (tests/browser). Debian's nodejs and npm only where
# there is no npm at all: a node installed some other way brings its own npm, and
# apt-get would replace that node with Debian's.
if [ "${1:-all}" != build ] && ! command -v npm >/dev/null 2>&1; then
	missing="$missing nodejs npm"
fi
[ -z "$missing" ] && exit 0
if [ "${2:-}" = "--check" ]; then
	echo "missing:$missing"
	exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "mailroom: packages missing:$missing (run 'make deps' as root)" >&2
	exit 1
fi
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# postfix and dovecot are only test peers: keep the packages from starting system daemons.
apt-get install -y -q --no-install-recommends $missing
