/*
 * conn_cache.c - idle SMTP connections by key (deliver/conn_cache.h): a list from
 * the newest to the oldest, each connection in it until it is freed (one saying
 * QUIT is not taken again, but the shutdown must free it). It is short
 * (CONN_IDLE_MAX idle, and those saying QUIT for a moment), and each entry lives a
 * few seconds at most, so a walk of it costs less than the connection it saves.
 */
#include "deliver/conn_cache.h"

#include <stdlib.h>
#include <string.h>

#include "deliver/smtp_client.h"

struct conn_idle {
	TAILQ_ENTRY(conn_idle) link;
	struct conn_cache *cc;
	struct smtp_client *c;
	char key[];
};

static void
drop_entry(struct conn_idle *e)
{
	TAILQ_REMOVE(&e->cc->list, e, link);
	e->cc->n--;
	free(e);
}

/* on_gone - the connection ended while kept (deliver/smtp_client.h). */
static void
on_gone(void *arg, struct smtp_client *c)
{
	drop_entry(arg);
}

void
conn_cache_init(struct conn_cache *cc)
{
	TAILQ_INIT(&cc->list);
	cc->n = 0;
}

void
conn_cache_put(struct conn_cache *cc, const char *key, struct smtp_client *c)
{
	size_t len = strlen(key);
	struct conn_idle *e = malloc(sizeof *e + len + 1);

	if (e == NULL)
		return; /* not kept: the client says QUIT */
	if (cc->n >= CONN_IDLE_MAX) {
		struct conn_idle *old;
		TAILQ_FOREACH_REVERSE(old, &cc->list, conn_idle_list, link)
			if (smtp_client_is_idle(old->c)) {
				smtp_client_release(old->c); /* on_gone after its QUIT */
				break;
			}
	}
	e->cc = cc;
	e->c = c;
	memcpy(e->key, key, len + 1);
	TAILQ_INSERT_HEAD(&cc->list, e, link);
	cc->n++;
	smtp_client_idle(c, CONN_IDLE_SECS, on_gone, e);
}

struct smtp_client *
conn_cache_take(struct conn_cache *cc, const char *key)
{
	struct conn_idle *e;

	TAILQ_FOREACH(e, &cc->list, link)
		if (strcmp(e->key, key) == 0 && smtp_client_is_idle(e->c)) {
			struct smtp_client *c = e->c;
			drop_entry(e);
			smtp_client_idle(c, 0, NULL, NULL);
			return c;
		}
	return NULL;
}

void
conn_cache_free(struct conn_cache *cc)
{
	struct conn_idle *e;

	while ((e = TAILQ_FIRST(&cc->list)) != NULL) {
		smtp_client_abort(e->c);
		drop_entry(e);
	}
}
