/*
 * sts_cache.c - one entry per domain: its cached policy (loaded from its file the
 * first time the domain comes up), and while a discovery runs, the deliveries
 * waiting for it. One discovery per domain at a time: the TXT lookup, then maybe
 * the fetch (deliver/https_dns.h); each waiter gets the outcome.
 */
#include "deliver/sts_cache.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "deliver/dns.h"
#include "deliver/dns_parse.h"
#include "deliver/https_dns.h"
#include "util/buf.h"
#include "util/fdio.h"
#include "util/log.h"
#include "util/mkdir_p.h"
#include "util/strmap.h"

#define RR_TXT 16
#define REFRESH 86400        /* seconds: a cached policy is fetched again after a day */
#define FETCH_IDLE 20        /* seconds without progress */
#define FETCH_TOTAL 60       /* seconds for the whole fetch */
#define HEADER_MAX 256       /* the cache file's header lines */

struct waiter {
	sts_fn fn;
	void *arg;
	struct waiter *next;
};

struct entry {
	struct sts_cache *c;
	char domain[STS_NAME_MAX];
	bool have;                /* a cached policy */
	char id[STS_ID_MAX + 1];
	struct sts_policy pol;
	char *text;
	time_t fetched, expires;
	bool busy;                /* a discovery under way */
	char new_id[STS_ID_MAX + 1];
	struct https_dns *fetch;
	struct waiter *waiters;
};

struct sts_cache {
	struct event_base *base;
	struct dns *dns;
	SSL_CTX *ctx;
	char dir[4200];
	struct strmap entries;   /* domain -> struct entry */
};

struct sts_cache *
sts_cache_new(struct event_base *base, struct dns *dns, SSL_CTX *ctx, const char *dir)
{
	struct sts_cache *c = calloc(1, sizeof *c);

	if (c == NULL)
		return NULL;
	c->base = base;
	c->dns = dns;
	c->ctx = ctx;
	snprintf(c->dir, sizeof c->dir, "%s", dir);
	if (mkdir_p(dir, 0750) < 0 && errno != EEXIST)
		ev_warn("mta-sts-cache-error", KS("file", dir), KS("error", strerror(errno)));
	return c;
}

static void
entry_free(const char *key, void *value, void *arg)
{
	struct entry *e = value;

	dns_cancel_arg(e->c->dns, e);
	https_dns_cancel(e->fetch);
	while (e->waiters) {
		struct waiter *w = e->waiters;
		e->waiters = w->next;
		free(w);
	}
	free(e->text);
	free(e);
}

void
sts_cache_free(struct sts_cache *c)
{
	if (c == NULL)
		return;
	strmap_each(&c->entries, entry_free, NULL);
	strmap_free(&c->entries);
	free(c);
}

static void
cancel_one(const char *key, void *value, void *arg)
{
	struct entry *e = value;
	struct waiter **pp = &e->waiters;

	while (*pp) {
		if ((*pp)->arg == arg) {
			struct waiter *w = *pp;
			*pp = w->next;
			free(w);
		} else {
			pp = &(*pp)->next;
		}
	}
}

void
sts_cancel_arg(struct sts_cache *c, void *arg)
{
	if (c != NULL)
		strmap_each(&c->entries, cancel_one, arg);
}

/* path_of - the cache file of e's domain. */
static void
path_of(const struct entry *e, char *out, size_t len)
{
	snprintf(out, len, "%s/%s", e->c->dir, e->domain);
}

/* set_policy - e's cached policy is text (taken), parsed as p, with id, fetched at when. */
static void
set_policy(struct entry *e, const struct sts_policy *p, char *text, const char *id,
    time_t when)
{
	free(e->text);
	e->text = text;
	e->pol = *p;
	snprintf(e->id, sizeof e->id, "%s", id);
	e->fetched = when;
	e->expires = when + (time_t)p->max_age;
	e->have = true;
}

static void
forget(struct entry *e)
{
	char path[4500];

	free(e->text);
	e->text = NULL;
	e->have = false;
	path_of(e, path, sizeof path);
	if (unlink(path) < 0 && errno != ENOENT)
		ev_warn("mta-sts-cache-error", KS("file", path), KS("error", strerror(errno)));
}

/*
 * load - e's file, if any: "id <id>", "fetched <time>", an empty line, the policy as
 * served. A file that does not parse is ignored (and the policy fetched again).
 */
static void
load(struct entry *e)
{
	char path[4500], id[STS_ID_MAX + 1], why[128];
	struct buf b = { 0 };
	long long when;

	path_of(e, path, sizeof path);
	if (fd_read_file(path, STS_POLICY_MAX + HEADER_MAX, &b) < 0) {
		if (errno != ENOENT)
			ev_warn("mta-sts-cache-error", KS("file", path), KS("error", strerror(errno)));
		buf_free(&b);
		return;
	}
	size_t n = b.len;
	const char *body = strstr(b.data, "\n\n");
	struct sts_policy p;
	char *text;
	if (body == NULL || sscanf(b.data, "id %32s\nfetched %lld\n", id, &when) != 2 ||
	    sts_policy_parse(body + 2, n - (size_t)(body + 2 - b.data), &p, why,
	    sizeof why) < 0 || (text = strdup(body + 2)) == NULL) {
		ev_warn("mta-sts-cache-error", KS("file", path), KS("error", "not a cached policy"));
		buf_free(&b);
		return;
	}
	set_policy(e, &p, text, id, (time_t)when);
	buf_free(&b);
}

/* save - e's policy into its file, whole or not at all (a new file renamed over). */
static void
save(struct entry *e)
{
	char path[4500], tmp[4600];
	struct buf b = { 0 };

	path_of(e, path, sizeof path);
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	if (buf_printf(&b, "id %s\nfetched %lld\n\n%s", e->id, (long long)e->fetched,
	    e->text) < 0) {
		buf_free(&b);
		return;
	}
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640);
	bool ok = fd >= 0 && fd_write_all(fd, b.data, b.len) == 0;
	if (fd >= 0 && close(fd) < 0)
		ok = false;
	if (!ok || rename(tmp, path) < 0) {
		ev_warn("mta-sts-cache-error", KS("file", path), KS("error", strerror(errno)));
		if (fd >= 0)
			unlink(tmp);
	}
	buf_free(&b);
}

/* answer - every waiter gets a (the cached policy when in force, unless given). */
static void
answer(struct entry *e, const char *failure, const char *why)
{
	struct waiter *w = e->waiters;
	bool in_force = e->have && time(NULL) < e->expires;
	struct sts_answer a = {
		in_force && e->pol.mode != STS_NONE ? &e->pol : NULL,
		in_force ? e->text : NULL, in_force ? e->id : NULL, failure, why,
	};

	e->waiters = NULL;
	e->busy = false;
	/* A callback may look the domain up again: the list is detached first. */
	while (w) {
		struct waiter *next = w->next;
		w->fn(w->arg, &a);
		free(w);
		w = next;
	}
	/* Only domains with a policy stay in memory; the others are asked afresh. */
	if (!e->have && !e->busy && e->waiters == NULL) {
		strmap_del(&e->c->entries, e->domain);
		entry_free(e->domain, e, NULL);
	}
}

static void
on_fetch(void *arg, struct https_result *res)
{
	struct entry *e = arg;
	char why[600];
	const char *failure = NULL;
	struct sts_policy p;

	e->fetch = NULL;
	if (!res->answered) {
		failure = res->cert_failed ? "sts-webpki-invalid" : "sts-policy-fetch-error";
		snprintf(why, sizeof why, "%s", res->err);
	} else if (res->status != 200) {
		/* RFC 8461 3.3: a redirect is not followed; only 200 is a policy. */
		failure = "sts-policy-fetch-error";
		snprintf(why, sizeof why, "HTTP status %d%s", res->status,
		    res->status >= 300 && res->status < 400 ? " (redirects are not followed)" : "");
	} else if (strcmp(res->content_type, "text/plain") != 0) {
		failure = "sts-policy-fetch-error";
		snprintf(why, sizeof why, "served as \"%.100s\", not text/plain", res->content_type);
	} else if (sts_policy_parse(res->body, res->len, &p, why, sizeof why) < 0 ||
	    memchr(res->body, '\0', res->len) != NULL) {
		failure = "sts-policy-invalid";
		if (memchr(res->body, '\0', res->len) != NULL)
			snprintf(why, sizeof why, "a NUL in the policy");
	}
	if (failure != NULL) {
		bool in_force = e->have && time(NULL) < e->expires;
		ev_warn("mta-sts-fetch-failed", KS("domain", e->domain), KS("id", e->new_id),
		    KS("result", failure), KS("reason", why), KS("cached", in_force ? "yes" : "no"));
		answer(e, failure, why);
		return;
	}
	ev_info("mta-sts-policy", KS("domain", e->domain), KS("id", e->new_id),
	    KS("mode", sts_mode_name(p.mode)), KN("max_age", p.max_age), KN("mx", p.nmx));
	set_policy(e, &p, res->body, e->new_id, time(NULL));
	res->body = NULL; /* ours now */
	save(e);
	answer(e, NULL, NULL);
}

static void
fetch(struct entry *e)
{
	char url[STS_NAME_MAX + 64], err[512];
	struct https_opts o = {
		.base = e->c->base,
		.ctx = e->c->ctx,
		.url = url,
		.method = HTTPS_GET,
		.accept = "text/plain",
		.max_body = STS_POLICY_MAX,
		.idle_timeout = FETCH_IDLE,
		.total_timeout = FETCH_TOTAL,
	};

	snprintf(url, sizeof url, "https://mta-sts.%s/.well-known/mta-sts.txt", e->domain);
	e->fetch = https_dns_start(e->c->dns, &o, on_fetch, e, err, sizeof err);
	if (e->fetch == NULL) {
		ev_warn("mta-sts-fetch-failed", KS("domain", e->domain), KS("id", e->new_id),
		    KS("result", "sts-policy-fetch-error"), KS("reason", err),
		    KS("cached", e->have && time(NULL) < e->expires ? "yes" : "no"));
		answer(e, "sts-policy-fetch-error", err);
	}
}

/*
 * on_txt - the _mta-sts record (RFC 8461 3.1): exactly one STSv1 record, or the
 * domain announces no policy (a cached one stays until it expires, 8.3).
 */
static void
on_txt(void *arg, enum dns_status st, const struct dns_rdata *rr, const char *why)
{
	struct entry *e = arg;
	char txt[1024], id[STS_ID_MAX + 1];
	size_t found = 0;
	bool bad = false;

	for (size_t i = 0; st == DNS_OK && i < rr->n; i++) {
		if (dns_parse_txt(rr->v[i], (size_t)rr->len[i], txt, sizeof txt) < 0)
			continue;
		int k = sts_txt_parse(txt, strlen(txt), id);
		if (k == 0)
			continue;
		found++;
		if (k < 0)
			bad = true;
		else
			snprintf(e->new_id, sizeof e->new_id, "%s", id);
	}
	time_t now = time(NULL);
	if (e->have && now >= e->expires)
		forget(e);
	if (found != 1 || bad) {
		/* No record to go by (or one a temporary failure hid): the cache as it is. */
		answer(e, NULL, NULL);
		return;
	}
	if (e->have && strcmp(e->new_id, e->id) == 0 && now - e->fetched < REFRESH) {
		answer(e, NULL, NULL);
		return;
	}
	fetch(e);
}

static void
lower_domain(char *out, size_t len, const char *in)
{
	size_t n = 0;
	for (; in[n] != '\0' && n + 1 < len; n++)
		out[n] = (char)tolower((unsigned char)in[n]);
	out[n] = '\0';
	if (n > 0 && out[n - 1] == '.')
		out[n - 1] = '\0';
}

int
sts_lookup(struct sts_cache *c, const char *domain, sts_fn fn, void *arg)
{
	char key[STS_NAME_MAX], name[STS_NAME_MAX + 16];

	lower_domain(key, sizeof key, domain);
	/* A name fit for a file name and a URL: LDH labels only, none of them empty. */
	bool fit = key[0] != '\0' && key[0] != '.' && strstr(key, "..") == NULL;
	for (const char *p = key; *p && fit; p++)
		fit = isalnum((unsigned char)*p) || *p == '-' || *p == '.' || *p == '_';
	if (!fit) {
		struct sts_answer none = { 0 };
		fn(arg, &none);
		return 0;
	}
	struct entry *e = strmap_get(&c->entries, key);
	if (e == NULL) {
		if ((e = calloc(1, sizeof *e)) == NULL)
			return -1;
		e->c = c;
		snprintf(e->domain, sizeof e->domain, "%s", key);
		if (strmap_put(&c->entries, key, e) < 0) {
			free(e);
			return -1;
		}
		load(e);
	}
	struct waiter *w = calloc(1, sizeof *w);
	if (w == NULL)
		return -1;
	w->fn = fn;
	w->arg = arg;
	w->next = e->waiters;
	e->waiters = w;
	if (e->busy)
		return 0;
	e->busy = true;
	snprintf(name, sizeof name, "_mta-sts.%s", key);
	if (dns_rr(c->dns, name, RR_TXT, on_txt, e) < 0)
		on_txt(e, DNS_TEMPFAIL, NULL, "cannot start a DNS lookup");
	return 0;
}
