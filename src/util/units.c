/* units.c - parse sizes and durations with unit suffixes, checking overflow; show ages and times. */
#include "util/units.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* parse_scaled - digits, then an optional suffix found in units[] with its factor. */
static int
parse_scaled(const char *s, const char *units, const uint64_t *factors, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;

	if (s == NULL || !isdigit((unsigned char)s[0]))
		return -1;
	for (; isdigit((unsigned char)s[i]); i++) {
		if (__builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, (uint64_t)(s[i] - '0'), &v))
			return -1;
	}
	if (s[i] != '\0') {
		const char *u = strchr(units, toupper((unsigned char)s[i]));
		if (u == NULL || s[i + 1] != '\0')
			return -1;
		if (__builtin_mul_overflow(v, factors[u - units], &v))
			return -1;
	}
	*out = v;
	return 0;
}

int
parse_size(const char *s, uint64_t *out)
{
	static const uint64_t f[] = { 1024, 1024 * 1024, 1024ull * 1024 * 1024 };
	return parse_scaled(s, "KMG", f, out);
}

int
parse_duration(const char *s, uint64_t *out)
{
	static const uint64_t f[] = { 1, 60, 3600, 86400 };
	return parse_scaled(s, "SMHD", f, out);
}

void
format_age(char *out, size_t len, int64_t secs)
{
	long long t = secs < 0 ? 0 : (long long)secs;

	if (t < 60)
		snprintf(out, len, "%llds", t);
	else if (t < 3600)
		snprintf(out, len, "%lldm", t / 60);
	else if (t < 86400)
		snprintf(out, len, "%lldh%02lldm", t / 3600, t % 3600 / 60);
	else
		snprintf(out, len, "%lldd%02lldh", t / 86400, t % 86400 / 3600);
}

void
format_utc(char *out, size_t len, time_t t)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, len, "%lld", (long long)t);
}
