/*
 * dns.c - libunbound in the event loop: MX lookups, and A plus AAAA lookups joined
 * into one answer. Lookups are tracked so the owner can cancel them. Answers are
 * kept for their TTL (dns_answers.h); a kept one is handed over on the loop's
 * next turn, as libunbound's would be, without a round trip through its thread.
 */
#include "deliver/dns.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <unbound.h>

#include "deliver/dns_answers.h"
#include "deliver/dns_ops.h"
#include "deliver/dns_ub.h"
#include "util/log.h"

#define RR_A 1
#define RR_MX 15
#define RR_AAAA 28
#define RCODE_NXDOMAIN 3

struct dns_query {
	struct dns_query *prev, *next;
	struct dns *d;
	void *arg;
	int ids[2];      /* ub async ids (MX: one; addresses: A and AAAA) */
	bool pending[2];
	/* kept answers to hand over (hit_ev): no ub id then */
	struct ub_result *hit[2];
	ub_callback_type hit_cb[2];
	bool from_kept[2]; /* the answer being handled is a kept one: not kept again */
	struct event *hit_ev;
	bool insecure;   /* addresses: an answer used was not DNSSEC-validated */
	dns_mx_fn mx_fn;
	dns_addr_fn addr_fn;
	dns_rr_fn rr_fn;
	/* address lookups: the joined answer */
	struct addr_list addrs;
	struct addr_list v6;
	enum dns_status st[2];
	char why[128];
};

struct dns {
	struct ub_ctx *ub;
	struct event *ev;
	struct event_base *base;
	struct dns_answers *kept; /* NULL: none kept (out of memory) */
	struct dns_query *queries;
};

static void
on_ub_fd(evutil_socket_t fd, short what, void *arg)
{
	struct dns *d = arg;
	ub_process(d->ub);
}

struct dns *
dns_new(struct event_base *base, const char *resolver, char *err, size_t errlen)
{
	return dns_new_validating(base, resolver, NULL, err, errlen);
}

struct dns *
dns_new_validating(struct event_base *base, const char *resolver, const char *trust_anchor,
    char *err, size_t errlen)
{
	struct dns *d = calloc(1, sizeof *d);

	if (d == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if ((d->ub = dns_ub_new_validating(resolver, true, trust_anchor, err, errlen)) == NULL) {
		free(d);
		return NULL;
	}
	d->base = base;
	d->kept = dns_answers_new();
	d->ev = event_new(base, ub_fd(d->ub), EV_READ | EV_PERSIST, on_ub_fd, d);
	if (d->ev == NULL || event_add(d->ev, NULL) < 0) {
		snprintf(err, errlen, "cannot watch the DNS resolver");
		goto fail_msg;
	}
	return d;
fail_msg:
	if (d->ev)
		event_free(d->ev);
	dns_answers_free(d->kept);
	ub_ctx_delete(d->ub);
	free(d);
	return NULL;
}

static void
query_unlink(struct dns_query *q)
{
	if (q->prev)
		q->prev->next = q->next;
	else
		q->d->queries = q->next;
	if (q->next)
		q->next->prev = q->prev;
}

static struct dns_query *
query_new(struct dns *d, void *arg)
{
	struct dns_query *q = calloc(1, sizeof *q);
	if (q == NULL)
		return NULL;
	q->d = d;
	q->arg = arg;
	q->next = d->queries;
	if (q->next)
		q->next->prev = q;
	d->queries = q;
	return q;
}

static void
query_free(struct dns_query *q)
{
	query_unlink(q);
	if (q->hit_ev != NULL)
		event_free(q->hit_ev);
	for (int i = 0; i < 2; i++)
		if (q->hit[i] != NULL)
			ub_resolve_free(q->hit[i]);
	free(q);
}

static void
query_cancel(struct dns_query *q)
{
	for (int i = 0; i < 2; i++)
		if (q->pending[i] && q->hit[i] == NULL)
			ub_cancel(q->d->ub, q->ids[i]);
	query_free(q);
}

/* on_hits - on the loop: one kept answer handed to its callback (which may free q). */
static void
on_hits(evutil_socket_t fd, short what, void *arg)
{
	struct dns_query *q = arg;
	int i = q->hit[0] != NULL ? 0 : 1;
	struct ub_result *r = q->hit[i];

	(void)fd;
	(void)what;
	if (r == NULL)
		return;
	q->hit[i] = NULL;
	q->from_kept[i] = true;
	if (q->hit[1 - i] != NULL)
		event_active(q->hit_ev, EV_TIMEOUT, 0); /* the other after this one */
	q->hit_cb[i](q, 0, r);
}

/*
 * resolve - ub_resolve_async for slot of q, or the answer kept for the same
 * question, handed over from the loop a moment later. 0, or libunbound's error.
 */
static int
resolve(struct dns_query *q, int slot, const char *name, int rrtype, ub_callback_type cb)
{
	struct ub_result *r = dns_answers_get(q->d->kept, name, rrtype);

	if (r != NULL && (q->hit_ev != NULL ||
	    (q->hit_ev = event_new(q->d->base, -1, 0, on_hits, q)) != NULL)) {
		q->hit[slot] = r;
		q->hit_cb[slot] = cb;
		event_active(q->hit_ev, EV_TIMEOUT, 0);
		return 0;
	}
	if (r != NULL)
		ub_resolve_free(r);
	return ub_resolve_async(q->d->ub, name, rrtype, 1, q, cb, &q->ids[slot]);
}

/* keep - r kept for the next lookup of its question, unless it came from there. */
static void
keep(struct dns_query *q, int slot, int err, const struct ub_result *r)
{
	if (err == 0 && !q->from_kept[slot])
		dns_answers_keep(q->d->kept, r);
}

void
dns_free(struct dns *d)
{
	if (d == NULL)
		return;
	while (d->queries)
		query_cancel(d->queries);
	event_free(d->ev);
	dns_answers_free(d->kept);
	ub_ctx_delete(d->ub);
	free(d);
}

void
dns_cancel_arg(struct dns *d, void *arg)
{
	struct dns_query *q = d->queries, *next;
	for (; q; q = next) {
		next = q->next;
		if (q->arg == arg)
			query_cancel(q);
	}
}

/* status_of - how a finished lookup went; why holds the reason for failures. */
static enum dns_status
status_of(int err, const struct ub_result *r, char *why, size_t whylen)
{
	if (err != 0) {
		snprintf(why, whylen, "DNS lookup failed: %s", ub_strerror(err));
		return DNS_TEMPFAIL;
	}
	if (r->bogus) {
		/* RFC 4035 5.5: a bogus answer is no answer, whatever it held. */
		snprintf(why, whylen, "DNSSEC validation failed for %s: %s", r->qname,
		    r->why_bogus ? r->why_bogus : "bogus answer");
		return DNS_TEMPFAIL;
	}
	if (r->nxdomain || r->rcode == RCODE_NXDOMAIN) {
		snprintf(why, whylen, "host or domain name not found (NXDOMAIN for %s)", r->qname);
		return DNS_NXDOMAIN;
	}
	if (r->rcode != 0) {
		snprintf(why, whylen, "DNS lookup of %s failed (rcode %d)", r->qname, r->rcode);
		return DNS_TEMPFAIL;
	}
	if (!r->havedata)
		return DNS_NODATA;
	return DNS_OK;
}

static unsigned
random_bits(void)
{
	unsigned v = 0;
	if (getrandom(&v, sizeof v, GRND_NONBLOCK) != sizeof v)
		v = (unsigned)rand();
	return v;
}

static void
on_mx(void *arg, int err, struct ub_result *r)
{
	struct dns_query *q = arg;
	struct mx_list l = { 0 };
	char why[128] = "";

	q->pending[0] = false;
	keep(q, 0, err, r);
	enum dns_status st = status_of(err, r, why, sizeof why);
	l.secure = st != DNS_TEMPFAIL && r->secure;
	if (st == DNS_OK) {
		size_t n = 0;
		while (r->data[n])
			n++;
		l.v = calloc(n ? n : 1, sizeof *l.v);
		for (size_t i = 0; l.v && i < n; i++)
			if (dns_parse_mx((const uint8_t *)r->data[i], (size_t)r->len[i], &l.v[l.n]) == 0)
				l.n++;
		if (l.v == NULL || l.n == 0) {
			st = DNS_TEMPFAIL;
			l.secure = false;
			snprintf(why, sizeof why, "malformed MX records for %s", r->qname);
		} else {
			mx_list_finish(&l, random_bits);
		}
	}
	if (r)
		ub_resolve_free(r);
	dns_mx_fn fn = q->mx_fn;
	void *fa = q->arg;
	query_free(q);
	fn(fa, st, &l, why);
	free(l.v);
}

int
dns_mx(struct dns *d, const char *domain, dns_mx_fn fn, void *arg)
{
	struct dns_query *q = query_new(d, arg);
	if (q == NULL)
		return -1;
	q->mx_fn = fn;
	q->pending[0] = true;
	if (resolve(q, 0, domain, RR_MX, on_mx) != 0) {
		query_free(q);
		return -1;
	}
	return 0;
}

/* addr_done - one of the two lookups ended; when both have, answer. */
static void
addr_done(struct dns_query *q)
{
	if (q->pending[0] || q->pending[1])
		return;
	for (size_t i = 0; i < q->v6.n && q->addrs.n < 16; i++)
		q->addrs.v[q->addrs.n++] = q->v6.v[i];
	enum dns_status st;
	q->addrs.secure = !q->insecure && (q->st[0] != DNS_TEMPFAIL || q->st[1] != DNS_TEMPFAIL);
	if (q->addrs.n > 0)
		st = DNS_OK;
	else if (q->st[0] == DNS_TEMPFAIL || q->st[1] == DNS_TEMPFAIL)
		st = DNS_TEMPFAIL;
	else if (q->st[0] == DNS_NXDOMAIN && q->st[1] == DNS_NXDOMAIN)
		st = DNS_NXDOMAIN;
	else
		st = DNS_NODATA;
	dns_addr_fn fn = q->addr_fn;
	void *fa = q->arg;
	struct addr_list addrs = q->addrs;
	char why[128];
	snprintf(why, sizeof why, "%s", q->why);
	query_free(q);
	fn(fa, st, &addrs, why);
}

/* canon_name - the end of the CNAME chain of r into out, or "" when there was none. */
static void
canon_name(const struct ub_result *r, char *out, size_t outlen)
{
	size_t n = strlen(r->canonname);

	if (n > 0 && r->canonname[n - 1] == '.')
		n--;
	if (n >= outlen || (strncasecmp(r->canonname, r->qname, n) == 0 &&
	    (r->qname[n] == '\0' || strcmp(r->qname + n, ".") == 0)))
		n = 0;
	memcpy(out, r->canonname, n);
	out[n] = '\0';
	for (size_t i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)out[i]);
}

static void
on_addr(void *arg, int err, struct ub_result *r, int which)
{
	struct dns_query *q = arg;
	char why[128] = "";

	q->pending[which] = false;
	keep(q, which, err, r);
	q->st[which] = status_of(err, r, why, sizeof why);
	if (why[0] && q->why[0] == '\0')
		snprintf(q->why, sizeof q->why, "%s", why);
	/* A failed lookup adds no address, so it cannot make the others less secure. */
	if (q->st[which] != DNS_TEMPFAIL && !r->secure)
		q->insecure = true;
	if (q->st[which] == DNS_OK && r->canonname != NULL && q->addrs.canon[0] == '\0')
		canon_name(r, q->addrs.canon, sizeof q->addrs.canon);
	if (q->st[which] == DNS_OK) {
		struct addr_list *l = which == 0 ? &q->addrs : &q->v6;
		for (size_t i = 0; r->data[i] && l->n < 8; i++) {
			struct sockaddr_storage *ss = &l->v[l->n];
			memset(ss, 0, sizeof *ss);
			if (which == 0 && r->len[i] == 4) {
				struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
				s4->sin_family = AF_INET;
				memcpy(&s4->sin_addr, r->data[i], 4);
				l->n++;
			} else if (which == 1 && r->len[i] == 16) {
				struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
				s6->sin6_family = AF_INET6;
				memcpy(&s6->sin6_addr, r->data[i], 16);
				l->n++;
			}
		}
	}
	if (r)
		ub_resolve_free(r);
	addr_done(q);
}

static void
on_a(void *arg, int err, struct ub_result *r)
{
	on_addr(arg, err, r, 0);
}

static void
on_aaaa(void *arg, int err, struct ub_result *r)
{
	on_addr(arg, err, r, 1);
}

int
dns_addr(struct dns *d, const char *host, dns_addr_fn fn, void *arg)
{
	struct dns_query *q = query_new(d, arg);
	if (q == NULL)
		return -1;
	q->addr_fn = fn;
	q->pending[0] = q->pending[1] = true;
	if (resolve(q, 0, host, RR_A, on_a) != 0) {
		query_free(q);
		return -1;
	}
	if (resolve(q, 1, host, RR_AAAA, on_aaaa) != 0) {
		q->pending[1] = false;
		q->st[1] = DNS_TEMPFAIL;
	}
	return 0;
}

/* rr_answer - r (or err) as dns_rr answers it, to fn; r is freed. */
static void
rr_answer(int err, struct ub_result *r, dns_rr_fn fn, void *arg)
{
	struct dns_rdata rr = { 0 };
	char why[128] = "";
	enum dns_status st = status_of(err, r, why, sizeof why);

	rr.secure = st != DNS_TEMPFAIL && r->secure;
	if (st != DNS_TEMPFAIL)
		rr.ttl = r->ttl; /* for a denial too */
	if (st == DNS_OK) {
		while (r->data[rr.n])
			rr.n++;
		rr.v = (const uint8_t *const *)r->data;
		rr.len = r->len;
	}
	fn(arg, st, &rr, why);
	if (r)
		ub_resolve_free(r);
}

static void
on_rr(void *arg, int err, struct ub_result *r)
{
	struct dns_query *q = arg;
	dns_rr_fn fn = q->rr_fn;
	void *fa = q->arg;

	q->pending[0] = false;
	keep(q, 0, err, r);
	query_free(q);
	rr_answer(err, r, fn, fa);
}

int
dns_rr(struct dns *d, const char *name, int rrtype, dns_rr_fn fn, void *arg)
{
	struct dns_query *q = query_new(d, arg);
	if (q == NULL)
		return -1;
	q->rr_fn = fn;
	q->pending[0] = true;
	if (resolve(q, 0, name, rrtype, on_rr) != 0) {
		query_free(q);
		return -1;
	}
	return 0;
}

static int
ops_rr(void *ctx, const char *name, int rrtype, dns_rr_fn fn, void *arg)
{
	struct dns *d = ctx;
	struct ub_result *r = dns_answers_get(d->kept, name, rrtype);

	/* dns_ops may answer before it returns: a kept answer at once, not a loop turn later. */
	if (r != NULL) {
		rr_answer(0, r, fn, arg);
		return 0;
	}
	return dns_rr(d, name, rrtype, fn, arg);
}

static void
ops_cancel(void *ctx, void *arg)
{
	dns_cancel_arg(ctx, arg);
}

struct dns_ops
dns_ops_of(struct dns *d)
{
	return (struct dns_ops){ ops_rr, ops_cancel, d };
}
