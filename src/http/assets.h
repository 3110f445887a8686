/*
 * assets.h - the style sheet and script of the web pages, compiled into the
 * binary from src/http/assets/ (scripts/embed.sh makes the table at build time).
 */
#ifndef MAILROOM_ASSETS_H
#define MAILROOM_ASSETS_H

#include <stddef.h>

struct http_asset {
	const char *path; /* "/static/style.css" */
	const char *type; /* its Content-Type */
	const char *data;
	size_t len;
};

/* Ended by an entry with path NULL. */
extern const struct http_asset http_assets[];

#endif
