/* units.h - sizes (K, M, G: powers of 1024) and durations (s, m, h, d). */
#ifndef MAILROOM_UNITS_H
#define MAILROOM_UNITS_H

#include <stdint.h>

/* "25M" -> 26214400. A bare number is bytes. Returns 0, or -1 when malformed or overflowing. */
int parse_size(const char *s, uint64_t *out);

/* "30s", "5m", "4h", "5d" -> seconds. A bare number is seconds. Returns 0 or -1. */
int parse_duration(const char *s, uint64_t *out);

#endif
