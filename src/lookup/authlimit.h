/*
 * authlimit.h - failed logins counted across connections and services (as
 * Postfix's anvil and Dovecot's auth penalty do): per client network (an IPv4
 * address, an IPv6 /64) and per account. After `limit` failures within `window`
 * seconds the key is blocked for `window` seconds from the last failure. Pure
 * bookkeeping: the caller passes the time, so tests need no clock.
 */
#ifndef MAILROOM_AUTHLIMIT_H
#define MAILROOM_AUTHLIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "util/strmap.h"

#define AUTHLIMIT_KEYS_MAX 100000 /* entries kept at most; past it, expired ones go first */

struct authlimit {
	struct strmap m; /* key -> struct authlimit_entry */
};

struct authlimit_entry {
	unsigned failures;    /* in the current window */
	time_t window_start;
	time_t blocked_until; /* 0: not blocked */
};

/* authlimit_client_key - "net:<ip>" for IPv4, "net:<first 64 bits>::/64" for IPv6. */
void authlimit_client_key(const char *ip, char *out, size_t outlen);

bool authlimit_blocked(const struct authlimit *a, const char *key, time_t now);
/* authlimit_failed - count a failure; true when key is (now) blocked. */
bool authlimit_failed(struct authlimit *a, const char *key, time_t now, unsigned limit,
    time_t window);
void authlimit_reset(struct authlimit *a, const char *key);
/* authlimit_expire - forget entries that neither block nor count any more. */
void authlimit_expire(struct authlimit *a, time_t now, time_t window);
size_t authlimit_size(const struct authlimit *a);
void authlimit_free(struct authlimit *a);

#endif
