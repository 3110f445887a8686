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
	struct conn_cache *cc;
	struct conn_idle *newer, *older;
	struct smtp_client *c;
	char key[];
};

static void
unlink_entry(struct conn_idle *e)
{
	struct conn_cache *cc = e->cc;

	if (e->newer)
		e->newer->older = e->older;
	else
		cc->newest = e->older;
	if (e->older)
		e->older->newer = e->newer;
	else
		cc->oldest = e->newer;
	cc->n--;
}

/* on_gone - the connection ended while kept (deliver/smtp_client.h). */
static void
on_gone(void *arg, struct smtp_client *c)
{
	struct conn_idle *e = arg;

	unlink_entry(e);
	free(e);
}

void
conn_cache_put(struct conn_cache *cc, const char *key, struct smtp_client *c)
{
	size_t len = strlen(key);
	struct conn_idle *e = malloc(sizeof *e + len + 1);

	if (e == NULL)
		return; /* not kept: the client says QUIT */
	if (cc->n >= CONN_IDLE_MAX)
		for (struct conn_idle *old = cc->oldest; old != NULL; old = old->newer)
			if (smtp_client_is_idle(old->c)) {
				smtp_client_release(old->c); /* on_gone after its QUIT */
				break;
			}
	e->cc = cc;
	e->c = c;
	memcpy(e->key, key, len + 1);
	e->newer = NULL;
	e->older = cc->newest;
	if (cc->newest)
		cc->newest->newer = e;
	else
		cc->oldest = e;
	cc->newest = e;
	cc->n++;
	cc->kept++;
	smtp_client_idle(c, CONN_IDLE_SECS, on_gone, e);
}

struct smtp_client *
conn_cache_take(struct conn_cache *cc, const char *key)
{
	for (struct conn_idle *e = cc->newest; e != NULL; e = e->older) {
		if (strcmp(e->key, key) != 0 || !smtp_client_is_idle(e->c))
			continue;
		struct smtp_client *c = e->c;
		unlink_entry(e);
		free(e);
		smtp_client_idle(c, 0, NULL, NULL);
		cc->reused++;
		return c;
	}
	return NULL;
}

void
conn_cache_free(struct conn_cache *cc)
{
	while (cc->newest != NULL) {
		struct conn_idle *e = cc->newest;
		unlink_entry(e);
		smtp_client_abort(e->c);
		free(e);
	}
}
