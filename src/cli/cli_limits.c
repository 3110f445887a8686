/*
 * cli_limits.c - `mailroom user limit ADDRESS [--per-day N] [--per-hour N]`: a
 * user's own outbound limits (0: none; "default": the [limits] value again), or,
 * without options, the limits that apply and what is counted against them.
 */
#include "cli/cli.h"
#include "cli/cli_util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "accounts.h"

#define LIMIT_USAGE "user limit ADDRESS [--per-day N|default] [--per-hour N|default]"

/* parse_limit - a count, or "default"; false when it is neither. */
static bool
parse_limit(const char *s, int64_t *out)
{
	if (strcmp(s, "default") == 0) {
		*out = LIMIT_DEFAULT;
		return true;
	}
	char *end;
	errno = 0;
	if (s[0] < '0' || s[0] > '9')
		return false;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > 100000000)
		return false;
	*out = (int64_t)v;
	return true;
}

/* show_one - "per-day: 2 (own)" or "per-day: 1000 (default)"; 0 printed as none. */
static void
show_one(const char *name, int64_t own, unsigned dflt, uint64_t counted)
{
	uint64_t v = own >= 0 ? (uint64_t)own : dflt;
	if (v == 0)
		printf("%s: none (%s), counted %" PRIu64 "\n", name, own >= 0 ? "own" : "default",
		    counted);
	else
		printf("%s: %" PRIu64 " (%s), counted %" PRIu64 "\n", name, v,
		    own >= 0 ? "own" : "default", counted);
}

int
cli_user_limit(struct config *cfg, int argc, char **argv)
{
	const char *address = NULL;
	int64_t per_day = LIMIT_KEEP, per_hour = LIMIT_KEEP;
	char err[1024];

	for (int i = 0; i < argc; i++) {
		int64_t *dst = strcmp(argv[i], "--per-day") == 0 ? &per_day :
		    strcmp(argv[i], "--per-hour") == 0 ? &per_hour : NULL;
		if (dst != NULL) {
			if (++i == argc || *dst != LIMIT_KEEP)
				return cli_usage_error(LIMIT_USAGE);
			if (!parse_limit(argv[i], dst))
				return cli_fail("bad limit: '%s' (a count, 0 for none, or default)",
				    argv[i]);
		} else if (argv[i][0] == '-' || address != NULL) {
			return cli_usage_error(LIMIT_USAGE);
		} else {
			address = argv[i];
		}
	}
	if (address == NULL)
		return cli_usage_error(LIMIT_USAGE);
	struct accounts *a = cli_open_accounts(cfg);
	if (a == NULL)
		return 1;
	if ((per_day != LIMIT_KEEP || per_hour != LIMIT_KEEP) &&
	    accounts_user_limit_set(a, address, per_day, per_hour, err, sizeof err) < 0) {
		accounts_close(a);
		return cli_fail("%s", err);
	}
	struct user_limit_info info;
	int r = accounts_user_limit_get(a, address, time(NULL), &info, err, sizeof err);
	accounts_close(a);
	if (r < 0)
		return cli_fail("%s", err);
	printf("user: %s\n", info.address);
	show_one("per-day", info.per_day, cfg->sends_per_day, info.sent_day);
	show_one("per-hour", info.per_hour, cfg->sends_per_hour, info.sent_hour);
	show_one("first-time-recipients-per-day", LIMIT_DEFAULT,
	    cfg->first_time_recipients_per_day, info.first_time_day);
	return fflush(stdout) == 0 ? 0 : 1;
}
