/* dns_cache.c - a dns_ops that keeps the answers of another for their TTL (dns_cache.h). */
#include "deliver/dns_cache.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/strmap.h"

#define KEY_MAX (DNS_NAME_MAX + 16)

/* One kept answer, in one allocation: the lengths, the pointers, then the rdata. */
struct answer {
	time_t expires;
	enum dns_status st;
	bool secure;
	size_t n;
	char why[128];
	int *len;
	const uint8_t **v;
	unsigned char mem[];
};

/* A lookup passed on to the inner resolver; its answer is kept on the way back. */
struct pending {
	struct dns_cache *c;
	struct pending *prev, *next;
	dns_rr_fn fn;
	void *arg;
	char key[KEY_MAX];
};

struct dns_cache {
	struct dns_ops inner;
	struct strmap answers;
	struct pending *pending;
	unsigned long hits;
};

struct dns_cache *
dns_cache_new(struct dns_ops inner)
{
	struct dns_cache *c = calloc(1, sizeof *c);

	if (c != NULL)
		c->inner = inner;
	return c;
}

static void
free_answer(const char *key, void *value, void *arg)
{
	(void)key;
	(void)arg;
	free(value);
}

static void
drop_all(struct dns_cache *c)
{
	strmap_each(&c->answers, free_answer, NULL);
	strmap_free(&c->answers);
	memset(&c->answers, 0, sizeof c->answers);
}

static void
pending_unlink(struct pending *p)
{
	if (p->prev)
		p->prev->next = p->next;
	else
		p->c->pending = p->next;
	if (p->next)
		p->next->prev = p->prev;
}

void
dns_cache_free(struct dns_cache *c)
{
	if (c == NULL)
		return;
	while (c->pending != NULL) {
		struct pending *p = c->pending;
		c->inner.cancel(c->inner.ctx, p);
		pending_unlink(p);
		free(p);
	}
	drop_all(c);
	free(c);
}

unsigned long
dns_cache_hits(const struct dns_cache *c)
{
	return c->hits;
}

/* key_of - "TYPE name" with the name in lower case (and without a final dot). */
static bool
key_of(const char *name, int rrtype, char out[KEY_MAX])
{
	size_t len = strlen(name);
	int n;

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len >= DNS_NAME_MAX || (n = snprintf(out, KEY_MAX, "%d ", rrtype)) < 0)
		return false;
	for (size_t i = 0; i < len; i++)
		out[(size_t)n + i] = (char)tolower((unsigned char)name[i]);
	out[(size_t)n + len] = '\0';
	return true;
}

/* keep - a copy of the answer under key, unless it is not to be kept. */
static void
keep(struct dns_cache *c, const char *key, enum dns_status st, const struct dns_rdata *rr,
    const char *why)
{
	size_t data = 0;

	if (st == DNS_TEMPFAIL || rr == NULL || rr->ttl <= 0)
		return;
	for (size_t i = 0; i < rr->n; i++)
		data += (size_t)rr->len[i];
	if (data > DNS_CACHE_DATA_MAX)
		return;
	if (c->answers.n >= DNS_CACHE_MAX)
		drop_all(c);
	struct answer *a = malloc(sizeof *a + rr->n * (sizeof *a->len + sizeof *a->v) + data);
	if (a == NULL)
		return;
	int ttl = rr->ttl < DNS_CACHE_TTL_MAX ? rr->ttl : DNS_CACHE_TTL_MAX;
	a->expires = time(NULL) + ttl;
	a->st = st;
	a->secure = rr->secure;
	a->n = rr->n;
	snprintf(a->why, sizeof a->why, "%s", why != NULL ? why : "");
	a->v = (const uint8_t **)(void *)a->mem;
	a->len = (int *)(void *)(a->mem + rr->n * sizeof *a->v);
	unsigned char *p = a->mem + rr->n * (sizeof *a->v + sizeof *a->len);
	for (size_t i = 0; i < rr->n; i++) {
		memcpy(p, rr->v[i], (size_t)rr->len[i]);
		a->v[i] = p;
		a->len[i] = rr->len[i];
		p += rr->len[i];
	}
	free(strmap_del(&c->answers, key));
	if (strmap_put(&c->answers, key, a) < 0)
		free(a);
}

static void
on_inner(void *arg, enum dns_status st, const struct dns_rdata *rr, const char *why)
{
	struct pending *p = arg;
	dns_rr_fn fn = p->fn;
	void *fa = p->arg;

	pending_unlink(p);
	keep(p->c, p->key, st, rr, why);
	free(p);
	fn(fa, st, rr, why);
}

static int
cache_rr(void *ctx, const char *name, int rrtype, dns_rr_fn fn, void *arg)
{
	struct dns_cache *c = ctx;
	char key[KEY_MAX];

	if (!key_of(name, rrtype, key))
		return c->inner.rr(c->inner.ctx, name, rrtype, fn, arg);
	struct answer *a = strmap_get(&c->answers, key);
	time_t now = time(NULL);
	if (a != NULL && a->expires > now) {
		/* The pointers may not live past the callback: they are the cache's own. */
		struct dns_rdata rr = { a->v, a->len, a->n, (int)(a->expires - now), a->secure };
		c->hits++;
		fn(arg, a->st, &rr, a->why);
		return 0;
	}
	if (a != NULL)
		free(strmap_del(&c->answers, key));
	struct pending *p = calloc(1, sizeof *p);
	if (p == NULL)
		return -1;
	*p = (struct pending){ c, NULL, c->pending, fn, arg, "" };
	memcpy(p->key, key, sizeof p->key);
	if (p->next)
		p->next->prev = p;
	c->pending = p;
	/* After this call p may be gone already (an inner resolver that answers at once). */
	if (c->inner.rr(c->inner.ctx, name, rrtype, on_inner, p) < 0) {
		pending_unlink(p);
		free(p);
		return -1;
	}
	return 0;
}

static void
cache_cancel(void *ctx, void *arg)
{
	struct dns_cache *c = ctx;

	for (struct pending *p = c->pending, *next; p != NULL; p = next) {
		next = p->next;
		if (p->arg != arg)
			continue;
		c->inner.cancel(c->inner.ctx, p);
		pending_unlink(p);
		free(p);
	}
}

struct dns_ops
dns_cache_ops(struct dns_cache *c)
{
	return (struct dns_ops){ cache_rr, cache_cancel, c };
}
