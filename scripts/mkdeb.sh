#!/bin/sh
# mkdeb.sh - the Debian binary package from a built mailroom, laid out by hand and
# packed with dpkg-deb (no debhelper): make deb runs it.
#   scripts/mkdeb.sh BINARY VERSION OUT.deb
# VERSION is the package version (upstream from src/version.h, a Debian revision);
# pkg/deb/changelog must start with an entry for it.
set -eu

bin=$1
version=$2
out=$3
top=$(cd "$(dirname "$0")/.." && pwd)
pkg=$top/pkg/deb
work=$(cd "$(dirname "$out")" && pwd)/deb-work
root=$work/root
maintainer=${DEB_MAINTAINER:-mailroom maintainers <maintainers@mailroom.invalid>}

fail() { echo "mkdeb: $*" >&2; exit 1; }

top_version=$(sed -n '1s/^mailroom (\([^)]*\)).*/\1/p' "$pkg/changelog")
[ "$top_version" = "$version" ] ||
	fail "pkg/deb/changelog starts with $top_version, not $version: add an entry for it"
# The files' times and the archive's: the date of that changelog entry.
when=$(sed -n '0,/^ -- /s/^ -- .*>  //p' "$pkg/changelog")
SOURCE_DATE_EPOCH=$(date -d "$when" +%s)
export SOURCE_DATE_EPOCH

umask 022
rm -rf "$work"
mkdir -p "$root/DEBIAN"
doc=$root/usr/share/doc/mailroom
install -d "$root/usr/sbin" "$root/usr/share/man/man8" "$root/usr/share/man/man5" \
	"$doc/examples" "$root/lib/systemd/system"

install -m 755 "$bin" "$root/usr/sbin/mailroom"
# As dh_strip does for a program: no debug symbols, comments or notes.
strip --remove-section=.comment --remove-section=.note "$root/usr/sbin/mailroom"

gzip -9n < "$top/docs/mailroom.8" > "$root/usr/share/man/man8/mailroom.8.gz"
gzip -9n < "$top/docs/mailroom.conf.5" > "$root/usr/share/man/man5/mailroom.conf.5.gz"
install -m 644 "$top/docs/mailroom.conf.example" "$doc/examples/mailroom.conf.example"
gzip -9n < "$top/README.md" > "$doc/README.md.gz"
gzip -9n < "$top/docs/security.md" > "$doc/security.md.gz"
gzip -9n < "$pkg/changelog" > "$doc/changelog.Debian.gz"
install -m 644 "$pkg/copyright" "$doc/copyright"
install -m 644 "$pkg/mailroom.service" "$root/lib/systemd/system/mailroom.service"
for s in postinst prerm postrm; do
	install -m 755 "$pkg/$s" "$root/DEBIAN/$s"
done

# The libraries the program links, as dpkg-shlibdeps names their packages (it wants
# a debian/control to read, even an empty one).
mkdir -p "$work/src/debian"
printf 'Source: mailroom\n\nPackage: mailroom\nArchitecture: any\n' > "$work/src/debian/control"
shlibs=$(cd "$work/src" && dpkg-shlibdeps -O "$root/usr/sbin/mailroom" | sed -n 's/^shlibs:Depends=//p')
[ -n "$shlibs" ] || fail "dpkg-shlibdeps found no libraries"
# adduser: postinst makes the users with it.
depends="adduser, $shlibs"

size=$(du -s -k --exclude=DEBIAN "$root" | cut -f1)
sed -e "s|@VERSION@|$version|" -e "s|@ARCH@|$(dpkg --print-architecture)|" \
	-e "s|@MAINTAINER@|$maintainer|" -e "s|@SIZE@|$size|" -e "s|@DEPENDS@|$depends|" \
	"$pkg/control.in" > "$root/DEBIAN/control"
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z |
	xargs -0 md5sum) > "$root/DEBIAN/md5sums"
chmod 644 "$root/DEBIAN/control" "$root/DEBIAN/md5sums"
find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

dpkg-deb --root-owner-group -Zxz --build "$root" "$out" >/dev/null
echo "built $out"
