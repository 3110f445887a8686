/*
 * metrics_text.h - a snapshot of the counters as Prometheus text (exposition
 * format 0.0.4): HELP and TYPE lines, then one sample a line; names mailroom_*,
 * counters ending in _total. Pure: the snapshot and the time in, the text out.
 */
#ifndef MAILROOM_METRICS_TEXT_H
#define MAILROOM_METRICS_TEXT_H

#include <time.h>

#include "metrics/metrics.h"
#include "util/buf.h"

/* The Content-Type of the text. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* The label values, by index (pure tables). */
const char *metrics_refusal_name(enum mx_refusal r);
const char *metrics_auth_name(enum mx_auth a);
const char *metrics_role_name(enum mx_role r);

/*
 * metrics_text - s as of now appended to out: listeners and roles only as s's
 * masks name them. Returns 0, or -1 when out of memory (out then holds part).
 */
int metrics_text(struct buf *out, const struct metrics_snap *s, time_t now);

#endif
