/*
 * dnsbl.c - the DNSBL/DNSWL queries of one client and their sum.
 */
#include "smtp/dnsbl.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RR_A 1

int
dnsbl_query_name(const char *ip, const char *zone, char *out, size_t outlen)
{
	unsigned char a[16];
	size_t n = 0;

	if (inet_pton(AF_INET, ip, a) == 1) {
		int w = snprintf(out, outlen, "%u.%u.%u.%u.%s", a[3], a[2], a[1], a[0], zone);
		return w > 0 && (size_t)w < outlen ? 0 : -1;
	}
	if (inet_pton(AF_INET6, ip, a) != 1)
		return -1;
	/* An IPv4-mapped client is asked as IPv4. */
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	if (memcmp(a, mapped, 12) == 0) {
		int w = snprintf(out, outlen, "%u.%u.%u.%u.%s", a[15], a[14], a[13], a[12], zone);
		return w > 0 && (size_t)w < outlen ? 0 : -1;
	}
	static const char hex[] = "0123456789abcdef";
	if (outlen < 64 + strlen(zone) + 1)
		return -1;
	for (int i = 15; i >= 0; i--) {
		out[n++] = hex[a[i] & 15];
		out[n++] = '.';
		out[n++] = hex[a[i] >> 4];
		out[n++] = '.';
	}
	memcpy(out + n, zone, strlen(zone) + 1);
	return 0;
}

int
dnsbl_answer(const uint8_t *rdata, size_t len)
{
	if (len != 4 || rdata[0] != 127)
		return -1;
	if (rdata[1] == 255 && rdata[2] == 255)
		return -1;
	return 1;
}

/* One zone's query; its address is the query's arg, so each can be cancelled. */
struct dnsbl_query {
	struct dnsbl_check *c;
	struct dnsbl_zone zone;
	bool pending;
};

struct dnsbl_check {
	struct dns_ops dns;
	struct dnsbl_query *q;
	size_t n, pending;
	bool starting;          /* answers inside dnsbl_check_start: report after it */
	bool done_called;
	struct dnsbl_result r;
	void (*done)(void *arg, const struct dnsbl_result *r);
	void *arg;
};

static void
add_name(char *list, size_t len, const char *name)
{
	size_t have = strlen(list);
	snprintf(list + have, len - have, "%s%s", have ? ", " : "", name);
}

static void
finish(struct dnsbl_check *c)
{
	if (c->done_called)
		return;
	c->done_called = true;
	c->done(c->arg, &c->r);
}

static void
on_answer(void *arg, enum dns_status st, const struct dns_rdata *rr, const char *why)
{
	struct dnsbl_query *q = arg;
	struct dnsbl_check *c = q->c;
	int listed = 0;

	q->pending = false;
	c->pending--;
	if (st == DNS_OK) {
		for (size_t i = 0; i < rr->n && listed == 0; i++)
			listed = dnsbl_answer(rr->v[i], (size_t)rr->len[i]);
		if (listed == 0)
			listed = -1;
	} else if (st == DNS_TEMPFAIL) {
		listed = -1;
	}
	if (listed == 1) {
		c->r.score += q->zone.weight;
		if (q->zone.weight > 0)
			add_name(c->r.listed, sizeof c->r.listed, q->zone.name);
	} else if (listed < 0) {
		add_name(c->r.failed, sizeof c->r.failed, q->zone.name);
	}
	if (c->pending == 0 && !c->starting)
		finish(c);
}

struct dnsbl_check *
dnsbl_check_start(const struct dns_ops *dns, const char *ip, const struct dnsbl_zone *zones,
    size_t n, void (*done)(void *arg, const struct dnsbl_result *r), void *arg)
{
	struct dnsbl_check *c = calloc(1, sizeof *c);
	char name[1100];

	if (c == NULL || (c->q = calloc(n ? n : 1, sizeof *c->q)) == NULL) {
		free(c);
		struct dnsbl_result none = { 0 };
		snprintf(none.failed, sizeof none.failed, "(out of memory)");
		done(arg, &none);
		return NULL;
	}
	c->dns = *dns;
	c->n = n;
	c->done = done;
	c->arg = arg;
	c->starting = true;
	for (size_t i = 0; i < n; i++) {
		struct dnsbl_query *q = &c->q[i];
		q->c = c;
		q->zone = zones[i];
		if (dnsbl_query_name(ip, zones[i].name, name, sizeof name) < 0)
			continue; /* not an address we can ask about (a unix socket, say) */
		q->pending = true;
		c->pending++;
		if (c->dns.rr(c->dns.ctx, name, RR_A, on_answer, q) < 0) {
			q->pending = false;
			c->pending--;
			add_name(c->r.failed, sizeof c->r.failed, zones[i].name);
		}
	}
	c->starting = false;
	if (c->pending == 0) {
		finish(c);
		dnsbl_check_free(c);
		return NULL;
	}
	return c;
}

void
dnsbl_check_expire(struct dnsbl_check *c)
{
	for (size_t i = 0; i < c->n; i++) {
		struct dnsbl_query *q = &c->q[i];
		if (!q->pending)
			continue;
		if (c->dns.cancel)
			c->dns.cancel(c->dns.ctx, q);
		q->pending = false;
		add_name(c->r.failed, sizeof c->r.failed, q->zone.name);
	}
	c->pending = 0;
	finish(c);
}

void
dnsbl_check_free(struct dnsbl_check *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->n; i++)
		if (c->q[i].pending && c->dns.cancel)
			c->dns.cancel(c->dns.ctx, &c->q[i]);
	free(c->q);
	free(c);
}
