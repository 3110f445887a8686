/*
 * https_dns.c - the host's addresses from deliver/dns.h, then one request per
 * address (at most HTTPS_DNS_TRIES) until one reaches the server.
 */
#include "deliver/https_dns.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <event2/http.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deliver/dns.h"
#include "net/sockaddr.h"

#define HTTPS_DNS_TRIES 3

struct https_dns {
	struct dns *dns;
	struct https_opts o;
	char *url;
	char *accept;
	char *content_type;
	void *body;
	https_done_fn done;
	void *arg;
	struct https_req *req;
	struct addr_list addrs;
	size_t next;
	struct event *kick_ev;  /* an address literal: its request starts on the next turn */
	char err[512];
};

static void
hd_free(struct https_dns *h)
{
	if (h->kick_ev != NULL)
		event_free(h->kick_ev);
	free(h->url);
	free(h->accept);
	free(h->content_type);
	free(h->body);
	free(h);
}

void
https_dns_cancel(struct https_dns *h)
{
	if (h == NULL)
		return;
	dns_cancel_arg(h->dns, h);
	https_cancel(h->req);
	hd_free(h);
}

static void
report_failure(struct https_dns *h, const char *why)
{
	struct https_result res = { 0 };

	snprintf(res.err, sizeof res.err, "%s", why);
	h->done(h->arg, &res);
	hd_free(h);
}

static void try_next(struct https_dns *h);

static void
on_kick(evutil_socket_t fd, short what, void *arg)
{
	try_next(arg);
}

static void
on_answer(void *arg, struct https_result *res)
{
	struct https_dns *h = arg;

	h->req = NULL; /* gone after this callback */
	if (!res->answered && res->no_connection && h->next < h->addrs.n &&
	    h->next < HTTPS_DNS_TRIES) {
		snprintf(h->err, sizeof h->err, "%s", res->err);
		try_next(h);
		return;
	}
	h->done(h->arg, res);
	hd_free(h);
}

/* try_next - a request to the next address; a failure to start one ends h. */
static void
try_next(struct https_dns *h)
{
	char ip[SOCKADDR_TEXT_MAX], err[512];

	/* Bounded by the address list: each turn takes one address. */
	while (h->next < h->addrs.n && h->next < HTTPS_DNS_TRIES) {
		sockaddr_ip((const struct sockaddr *)&h->addrs.v[h->next++], ip, sizeof ip, NULL);
		h->o.connect_to = ip;
		h->req = https_request(&h->o, on_answer, h, err, sizeof err);
		if (h->req != NULL)
			return;
		snprintf(h->err, sizeof h->err, "%s", err);
	}
	report_failure(h, h->err[0] ? h->err : "no address to connect to");
}

static void
on_addrs(void *arg, enum dns_status st, const struct addr_list *addrs, const char *why)
{
	struct https_dns *h = arg;

	if (st != DNS_OK || addrs->n == 0) {
		char text[600];
		snprintf(text, sizeof text, "cannot find the address of the server of %s: %s",
		    h->url, why[0] ? why : "no A or AAAA record");
		report_failure(h, text);
		return;
	}
	h->addrs = *addrs;
	h->next = 0;
	try_next(h);
}

static char *
dup_or_null(const char *s, bool *oom)
{
	char *c = s != NULL ? strdup(s) : NULL;
	if (s != NULL && c == NULL)
		*oom = true;
	return c;
}

struct https_dns *
https_dns_start(struct dns *dns, const struct https_opts *o, https_done_fn done, void *arg,
    char *err, size_t errlen)
{
	struct https_dns *h = calloc(1, sizeof *h);
	bool oom = false;

	if (h == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	h->dns = dns;
	h->o = *o;
	h->o.dns = NULL;
	h->done = done;
	h->arg = arg;
	h->url = dup_or_null(o->url, &oom);
	h->accept = dup_or_null(o->accept, &oom);
	h->content_type = dup_or_null(o->content_type, &oom);
	if (o->body_len > 0 && (h->body = malloc(o->body_len)) == NULL)
		oom = true;
	h->kick_ev = evtimer_new(o->base, on_kick, h);
	if (oom || h->kick_ev == NULL) {
		snprintf(err, errlen, "out of memory");
		hd_free(h);
		return NULL;
	}
	if (o->body_len > 0)
		memcpy(h->body, o->body, o->body_len);
	h->o.url = h->url;
	h->o.accept = h->accept;
	h->o.content_type = h->content_type;
	h->o.body = h->body;
	struct evhttp_uri *uri = evhttp_uri_parse(o->url);
	const char *host = uri ? evhttp_uri_get_host(uri) : NULL;
	char name[DNS_NAME_MAX];
	if (host == NULL || host[0] == '\0' || strlen(host) >= sizeof name) {
		snprintf(err, errlen, "not an https URL: %.200s", o->url);
		if (uri != NULL)
			evhttp_uri_free(uri);
		hd_free(h);
		return NULL;
	}
	size_t hl = strlen(host);
	if (host[0] == '[' && hl > 2 && host[hl - 1] == ']')
		snprintf(name, sizeof name, "%.*s", (int)(hl - 2), host + 1);
	else
		snprintf(name, sizeof name, "%s", host);
	evhttp_uri_free(uri);
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, name, &s4->sin_addr) == 1)
		ss.ss_family = AF_INET;
	else if (inet_pton(AF_INET6, name, &s6->sin6_addr) == 1)
		ss.ss_family = AF_INET6;
	if (ss.ss_family != 0) {
		/* An address literal: no lookup; the request starts on the next turn. */
		h->addrs.v[0] = ss;
		h->addrs.n = 1;
		event_active(h->kick_ev, EV_TIMEOUT, 0);
		return h;
	}
	if (dns_addr(dns, name, on_addrs, h) < 0) {
		snprintf(err, errlen, "cannot start a DNS lookup");
		hd_free(h);
		return NULL;
	}
	return h;
}
