#!/bin/sh
# embed.sh - the web pages' static files as C data, so the binary needs no files
# installed beside it: scripts/embed.sh OUT.c FILE... (each served at /static/NAME).
set -eu
out=$1
shift
tmp=$out.tmp
{
	echo "/* Made by scripts/embed.sh from src/http/assets: do not edit. */"
	echo '#include "http/assets.h"'
	echo
	i=0
	for f in "$@"; do
		echo "static const char asset$i[] ="
		od -An -v -tx1 "$f" | sed -e 's/ *$//' -e '/^$/d' -e 's/ /\\x/g' -e 's/^/    "/' -e 's/$/"/'
		echo '    ;'
		i=$((i + 1))
	done
	echo
	echo "const struct http_asset http_assets[] = {"
	i=0
	for f in "$@"; do
		name=$(basename "$f")
		case "$name" in
		*.css) type="text/css; charset=utf-8" ;;
		*.js) type="text/javascript; charset=utf-8" ;;
		*.svg) type="image/svg+xml" ;;
		*) type="application/octet-stream" ;;
		esac
		echo "	{ \"/static/$name\", \"$type\", asset$i, sizeof asset$i - 1 },"
		i=$((i + 1))
	done
	echo "	{ 0 },"
	echo "};"
} >"$tmp"
mv "$tmp" "$out"
