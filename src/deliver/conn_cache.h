/*
 * conn_cache.h - SMTP connections kept idle after a transaction, for the next
 * delivery to the same server (as Postfix's connection cache): found by the key of
 * smtp_client_key, the newest first, each kept for a few seconds at most, and at
 * most a fixed number of them (the oldest goes). What ends on its own (the server
 * closes it, or the QUIT after its time is over) leaves the cache by itself.
 */
#ifndef MAILROOM_CONN_CACHE_H
#define MAILROOM_CONN_CACHE_H

#include <stddef.h>
#include <sys/queue.h>

struct smtp_client;

#define CONN_IDLE_SECS 2   /* Postfix's smtp_connection_cache_time_limit */
#define CONN_IDLE_MAX 256  /* connections kept at once: more destinations than concurrency */

struct conn_cache {
	TAILQ_HEAD(conn_idle_list, conn_idle) list; /* the newest first */
	size_t n;
};

/* conn_cache_init - an empty cache. */
void conn_cache_init(struct conn_cache *cc);

/* conn_cache_put - keep c (inside its done callback, its result reusable) under key. */
void conn_cache_put(struct conn_cache *cc, const char *key, struct smtp_client *c);

/* conn_cache_take - an idle connection kept under key, now the caller's; or NULL. */
struct smtp_client *conn_cache_take(struct conn_cache *cc, const char *key);

/* conn_cache_free - close every connection kept (idle or saying QUIT) at once: the shutdown. */
void conn_cache_free(struct conn_cache *cc);

#endif
