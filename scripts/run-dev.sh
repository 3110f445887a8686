#!/bin/sh
# run-dev.sh - `make run`: a development instance under ./run on the 25xx ports,
# created on first use (domain example.test, user demo@example.test, web admin
# `admin` on https 2443), then served in the foreground until Ctrl-C.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
bin="$top/build/mailroom"
# MAILROOM_RUN_DIR: another place for the instance (the tests use one).
run=${MAILROOM_RUN_DIR:-$top/run}
conf="$run/mailroom.conf"

if [ ! -f "$conf" ]; then
	"$bin" init "$run" --domain example.test --hostname localhost >/dev/null
	data="$run/data"
	# Started as root, the server drops to the mailroom user, which must be able to
	# reach the data dir; a checkout under /root is not reachable, so use /var/lib.
	if [ "$(id -u)" -eq 0 ] && ! runuser -u mailroom -- test -x "$run/data" 2>/dev/null; then
		data="/var/lib/mailroom-dev/$(printf '%s' "$run" | md5sum | cut -c1-12)"
		mkdir -p "$data"
		cp -a "$run/data/." "$data/"
		rm -rf "$run/data"
		chown -R mailroom:mailroom "$data"
		sed -i "s|^data_dir = .*|data_dir = $data|" "$conf"
	fi
	sed -i \
	    -e 's|^smtp = .*|smtp = 127.0.0.1:2525|' \
	    -e 's|^submission = .*|submission = 127.0.0.1:2587|' \
	    -e 's|^submissions = .*|submissions = 127.0.0.1:2465|' \
	    -e 's|^pop3 = .*|pop3 = 127.0.0.1:2110|' \
	    -e 's|^pop3s = .*|pop3s = 127.0.0.1:2995|' \
	    -e 's|^metrics = .*|metrics = 127.0.0.1:2912|' \
	    "$conf"
	umask 077
	pw=$(head -c 12 /dev/urandom | base64 | tr -d '/+=')
	printf '%s\n' "$pw" > "$run/demo-password"
	printf '%s\n' "$pw" | "$bin" -c "$conf" user add demo@example.test
	"$bin" -c "$conf" config check >/dev/null
	echo "created the development instance in $run"
fi

# The web and its administrator; an instance made before them gets them too.
if [ ! -f "$run/admin-password" ]; then
	grep -q '^https = ' "$conf" || sed -i '/^pop3s = /a https = 127.0.0.1:2443' "$conf"
	umask 077
	apw=$(head -c 12 /dev/urandom | base64 | tr -d '/+=')
	printf '%s\n' "$apw" | "$bin" -c "$conf" admin add admin
	printf '%s\n' "$apw" > "$run/admin-password"
	"$bin" -c "$conf" config check >/dev/null
fi

pw=$(cat "$run/demo-password")
cat <<MSG
mailroom development instance ($conf)
  SMTP        127.0.0.1:2525   swaks --server 127.0.0.1:2525 --to demo@example.test
  submission  127.0.0.1:2587   swaks --server 127.0.0.1:2587 --tls --auth-user demo@example.test --auth-password $pw --to someone@example.test
  submissions 127.0.0.1:2465   (implicit TLS)
  POP3        127.0.0.1:2110   user demo@example.test, password in $run/demo-password
  POP3S       127.0.0.1:2995
  metrics     http://127.0.0.1:2912/metrics   (Prometheus text)
  mail for demo@example.test lands in the Maildir under data_dir/mail/example.test/demo/
  web admin   https://127.0.0.1:2443/admin/   user admin, password in $run/admin-password
  admin:      $bin -c $conf user list
Serving in the foreground; Ctrl-C stops.
MSG
exec "$bin" -c "$conf" serve
