/*
 * rate_limit.h - events per client network a minute (connections, messages), as
 * Postfix's anvil counts them: a client network (net/conn_limit.h's key) may have
 * `limit` events in a minute that starts at its first one; more are refused until
 * the minute is over. Bounded: past RATE_KEYS_MAX networks the finished minutes go,
 * then all.
 */
#ifndef MAILROOM_RATE_LIMIT_H
#define MAILROOM_RATE_LIMIT_H

#include <stdbool.h>
#include <time.h>

#include "util/strmap.h"

#define RATE_WINDOW 60
#define RATE_KEYS_MAX 100000

struct rate_limit {
	struct strmap per_key; /* client network -> struct rate_entry */
};

/*
 * rate_limit_take - one event of key at now. Returns true when it is within limit
 * (counted), false when over it (not counted). limit 0: always true, nothing kept.
 */
bool rate_limit_take(struct rate_limit *r, const char *key, unsigned limit, time_t now);

void rate_limit_free(struct rate_limit *r);

#endif
