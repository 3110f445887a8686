/* units.h - sizes (K, M, G: powers of 1024) and durations (s, m, h, d); times shown in UTC. */
#ifndef MAILROOM_UNITS_H
#define MAILROOM_UNITS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* "25M" -> 26214400. A bare number is bytes. Returns 0, or -1 when malformed or overflowing. */
int parse_size(const char *s, uint64_t *out);

/* "30s", "5m", "4h", "5d" -> seconds. A bare number is seconds. Returns 0 or -1. */
int parse_duration(const char *s, uint64_t *out);

/* format_age - seconds as "45s", "12m", "3h05m", "2d04h" (below 0: "0s"). */
void format_age(char *out, size_t len, int64_t secs);

/* format_utc - t as "2026-12-02T04:15:00Z" (the number itself when it is no date). */
void format_utc(char *out, size_t len, time_t t);

#endif
