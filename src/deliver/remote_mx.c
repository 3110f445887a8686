/*
 * remote_mx.c - the MX records of a delivery's domain (RFC 5321 5.1: a null MX
 * bounces, no MX means the domain's own address), and for a message with several
 * domains, their lookups together first, so that domains served by the same hosts
 * (route.h mx_merge_keyed) and the same sender go in one delivery: one connection
 * per host and sender for the message.
 */
#include "deliver/remote_int.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
set_single_host(struct delivery *d, const char *host)
{
	free(d->mx.v);
	d->mx.v = calloc(1, sizeof *d->mx.v);
	if (d->mx.v == NULL)
		return -1;
	d->mx.n = 1;
	d->mx.secure = false; /* not from DNS: a literal or a relayhost (DANE never applies) */
	snprintf(d->mx.v[0].host, sizeof d->mx.v[0].host, "%s", host);
	d->mx_next = 0;
	return 0;
}

/*
 * take_mx - the outcome of d's MX lookup: its servers in d->mx and 0, or the
 * code of the result every recipient gets, with its text.
 */
static int
take_mx(struct delivery *d, enum dns_status st, struct mx_list *mx, const char *why,
    char *text, size_t textlen)
{
	switch (st) {
	case DNS_OK:
		if (mx->null_mx) {
			snprintf(text, textlen,
			    "556 5.1.10 %s does not accept mail (null MX, RFC 7505)", d->name);
			return 556;
		}
		free(d->mx.v);
		d->mx = *mx;
		mx->v = NULL; /* ours now */
		mx->n = 0;
		d->mx_next = 0;
		return 0;
	case DNS_NODATA:
		/* RFC 5321 5.1: no MX, so the domain itself is the mail server. */
		d->implicit_mx = true;
		if (set_single_host(d, d->name) < 0) {
			snprintf(text, textlen, "451 4.3.0 out of memory");
			return 451;
		}
		/* A validated denial of MX records makes the domain's own name secure (RFC 7672 2.2.1). */
		d->mx.secure = mx->secure;
		return 0;
	case DNS_NXDOMAIN:
		snprintf(text, textlen, "550 5.4.4 %s: %s", d->name, why);
		return 550;
	case DNS_TEMPFAIL:
		break;
	}
	snprintf(text, textlen, "451 4.4.3 %s: %s", d->name, why);
	return 451;
}

static void
on_mx(void *arg, enum dns_status st, struct mx_list *mx, const char *why)
{
	struct delivery *d = arg;
	char text[CLIENT_TEXT_MAX + 64];

	int code = take_mx(d, st, mx, why, text, sizeof text);
	if (code != 0) {
		finish(d, code, text);
		return;
	}
	next_host(d);
}

void
lookup_mx(struct delivery *d)
{
	if (dns_mx(d->r->dns, d->name, on_mx, d) < 0)
		finish(d, 451, "451 4.3.0 cannot start a DNS lookup");
}

void
mx_set_free(struct mx_set *s)
{
	free(s->v);
	free(s);
}

/* merge - d's recipients ride along in into; false (nothing moved) when out of memory. */
static bool
merge(struct delivery *into, struct delivery *d)
{
	size_t before = into->n;

	for (size_t k = 0; k < d->n; k++) {
		if (delivery_add_rcpt(into, d->idx[k]) < 0) {
			into->n = before;
			return false;
		}
	}
	return true;
}

/* set_done - every lookup of the set is in: merge domains with the same servers, queue them. */
static void
set_done(struct remote *r, struct mx_set *s)
{
	const struct mx_list **lists = calloc(s->n ? s->n : 1, sizeof *lists);
	const char **senders = calloc(s->n ? s->n : 1, sizeof *senders);
	size_t *into = calloc(s->n ? s->n : 1, sizeof *into);

	if (s->prev)
		s->prev->next = s->next;
	else
		r->sets = s->next;
	if (s->next)
		s->next->prev = s->prev;
	for (size_t i = 0; i < s->n; i++) {
		s->v[i]->set = NULL;
		if (lists)
			lists[i] = s->v[i]->pre_code == 0 ? &s->v[i]->mx : NULL;
		if (senders)
			senders[i] = s->v[i]->sender;
	}
	if (lists && into && senders)
		mx_merge_keyed(lists, senders, s->n, into);
	for (size_t i = 0; i < s->n; i++) {
		struct delivery *d = s->v[i];
		if (d->pre_code != 0) {
			finish(d, d->pre_code, d->pre_text ? d->pre_text : "451 4.3.0 lookup failed");
			continue;
		}
		if (lists && into && senders && into[i] != i && merge(s->v[into[i]], d)) {
			/* Its recipients ride along in the other delivery: one part fewer. */
			d->job->parts--;
			delivery_free(d);
			continue;
		}
		d->resolved = true;
		wait_push(r, d);
	}
	free(lists);
	free(senders);
	free(into);
	mx_set_free(s);
	kick(r);
}

static void
set_done_later(evutil_socket_t fd, short what, void *arg)
{
	struct mx_set *s = arg;
	set_done(s->r, s);
}

static void
on_set_mx(void *arg, enum dns_status st, struct mx_list *mx, const char *why)
{
	struct delivery *d = arg;
	struct mx_set *s = d->set;
	char text[CLIENT_TEXT_MAX + 64];

	d->pre_code = take_mx(d, st, mx, why, text, sizeof text);
	if (d->pre_code != 0)
		d->pre_text = strdup(text);
	if (--s->pending == 0)
		set_done(d->r, s);
}

size_t
resolve_together(struct remote *r, struct delivery **groups, size_t ngroups, bool *taken)
{
	struct mx_set *s = calloc(1, sizeof *s);
	size_t n = 0;

	if (s == NULL || (s->v = calloc(ngroups, sizeof *s->v)) == NULL) {
		free(s);
		return 0;
	}
	s->r = r;
	for (size_t g = 0; g < ngroups; g++) {
		struct delivery *d = groups[g];
		if (!route_mergeable(&d->route))
			continue;
		d->set = s;
		s->v[s->n++] = d;
		taken[g] = true;
		n++;
	}
	s->next = r->sets;
	if (s->next)
		s->next->prev = s;
	r->sets = s;
	s->pending = s->n;
	for (size_t i = 0; i < s->n; i++) {
		struct delivery *d = s->v[i];
		if (dns_mx(r->dns, d->name, on_set_mx, d) < 0) {
			d->pre_code = 451;
			d->pre_text = strdup("451 4.3.0 cannot start a DNS lookup");
			/* Counted as answered now; if none is left to answer, finish on the next turn. */
			if (--s->pending == 0) {
				struct timeval zero = { 0, 0 };
				event_base_once(r->env.base, -1, EV_TIMEOUT, set_done_later, s, &zero);
			}
		}
	}
	return n;
}
