/* dns_answers.c - libunbound's answers kept for their TTL (dns_answers.h). */
#include "deliver/dns_answers.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "deliver/dns_parse.h"
#include "util/strmap.h"

#define RCODE_NXDOMAIN 3
#define KEY_MAX (DNS_NAME_MAX + 16)

struct kept {
	time_t expires;
	struct ub_result *r;
};

struct dns_answers {
	struct strmap map;
};

struct dns_answers *
dns_answers_new(void)
{
	return calloc(1, sizeof(struct dns_answers));
}

static void
free_kept(const char *key, void *value, void *arg)
{
	struct kept *k = value;

	(void)key;
	(void)arg;
	ub_resolve_free(k->r);
	free(k);
}

static void
drop_all(struct dns_answers *a)
{
	strmap_each(&a->map, free_kept, NULL);
	strmap_free(&a->map);
	memset(&a->map, 0, sizeof a->map);
}

void
dns_answers_free(struct dns_answers *a)
{
	if (a == NULL)
		return;
	drop_all(a);
	free(a);
}

static bool
key_of(const char *name, int rrtype, char out[KEY_MAX])
{
	size_t len = name != NULL ? strlen(name) : 0;
	int n;

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (name == NULL || len >= DNS_NAME_MAX || (n = snprintf(out, KEY_MAX, "%d ", rrtype)) < 0)
		return false;
	for (size_t i = 0; i < len; i++)
		out[(size_t)n + i] = (char)tolower((unsigned char)name[i]);
	out[(size_t)n + len] = '\0';
	return true;
}

/* copy - r as ub_resolve_free can free it: every part its own allocation. */
static struct ub_result *
copy(const struct ub_result *r)
{
	struct ub_result *c = calloc(1, sizeof *c);
	size_t n = 0;

	if (c == NULL)
		return NULL;
	while (r->data != NULL && r->data[n] != NULL)
		n++;
	c->qtype = r->qtype;
	c->qclass = r->qclass;
	c->rcode = r->rcode;
	c->havedata = r->havedata;
	c->nxdomain = r->nxdomain;
	c->secure = r->secure;
	c->ttl = r->ttl;
	if ((c->qname = strdup(r->qname)) == NULL ||
	    (c->data = calloc(n + 1, sizeof *c->data)) == NULL ||
	    (c->len = calloc(n ? n : 1, sizeof *c->len)) == NULL)
		goto fail;
	/* ub_resolve_free frees canonname unless it is qname: the same sharing here. */
	if (r->canonname == r->qname)
		c->canonname = c->qname;
	else if (r->canonname != NULL && (c->canonname = strdup(r->canonname)) == NULL)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		if ((c->data[i] = malloc(r->len[i] > 0 ? (size_t)r->len[i] : 1)) == NULL)
			goto fail;
		memcpy(c->data[i], r->data[i], (size_t)r->len[i]);
		c->len[i] = r->len[i];
	}
	return c;
fail:
	ub_resolve_free(c);
	return NULL;
}

void
dns_answers_keep(struct dns_answers *a, const struct ub_result *r)
{
	char key[KEY_MAX];

	if (a == NULL || r == NULL || r->bogus || r->ttl <= 0 ||
	    (r->rcode != 0 && r->rcode != RCODE_NXDOMAIN) || !key_of(r->qname, r->qtype, key))
		return;
	if (a->map.n >= DNS_ANSWERS_MAX)
		drop_all(a);
	struct kept *k = malloc(sizeof *k);
	if (k == NULL || (k->r = copy(r)) == NULL) {
		free(k);
		return;
	}
	k->expires = time(NULL) + (r->ttl < DNS_ANSWERS_TTL_MAX ? r->ttl : DNS_ANSWERS_TTL_MAX);
	struct kept *old = strmap_del(&a->map, key);
	if (old != NULL)
		free_kept(key, old, NULL);
	if (strmap_put(&a->map, key, k) < 0)
		free_kept(key, k, NULL);
}

struct ub_result *
dns_answers_get(struct dns_answers *a, const char *name, int rrtype)
{
	char key[KEY_MAX];
	struct kept *k;
	time_t now = time(NULL);

	if (a == NULL || !key_of(name, rrtype, key) || (k = strmap_get(&a->map, key)) == NULL)
		return NULL;
	if (k->expires <= now) {
		free_kept(key, strmap_del(&a->map, key), NULL);
		return NULL;
	}
	struct ub_result *c = copy(k->r);
	if (c != NULL)
		c->ttl = (int)(k->expires - now);
	return c;
}
