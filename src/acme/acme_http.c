/*
 * acme_http.c - acmed's HTTPS requests (see acme_http.h): each one a request of
 * net/https_client.h, waited for in acmed's own loop.
 */
#include "acme/acme_http.h"

#include <sys/socket.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/http.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/https_client.h"
#include "net/tls.h"

#define IDLE_TIMEOUT 30          /* seconds without progress */
#define TOTAL_TIMEOUT 90         /* seconds for the whole request */
#define MAX_HEADERS (16 * 1024)
#define MAX_BODY (1024 * 1024)

struct acme_http {
	struct event_base *base;
	struct evdns_base *dns;
	SSL_CTX *ctx;
	const bool *stop;
};

/* One request under way. */
struct pending {
	bool done;
	bool answered;
	bool no_connection;
	struct acme_resp *r;
	char err[512];
};

struct acme_http *
acme_http_new(struct event_base *base, const char *ca_file, const bool *stop, char *err,
    size_t errlen)
{
	struct acme_http *h = calloc(1, sizeof *h);

	if (h == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	h->base = base;
	h->stop = stop;
	if ((h->ctx = tls_client_verify_ctx(ca_file, err, errlen)) == NULL) {
		free(h);
		return NULL;
	}
	/* Without a resolv.conf, evhttp resolves with getaddrinfo instead. */
	h->dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
	    EVDNS_BASE_DISABLE_WHEN_INACTIVE);
	return h;
}

void
acme_http_free(struct acme_http *h)
{
	if (h == NULL)
		return;
	if (h->dns != NULL)
		evdns_base_free(h->dns, 0);
	SSL_CTX_free(h->ctx);
	free(h);
}

void
acme_resp_free(struct acme_resp *r)
{
	free(r->body);
	memset(r, 0, sizeof *r);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	*(bool *)arg = true;
}

void
acme_wait(struct event_base *base, const bool *stop, const bool *flag, unsigned secs)
{
	bool expired = false;
	struct event *t = evtimer_new(base, on_timer, &expired);
	struct timeval tv = { secs, 0 };

	if (t == NULL || evtimer_add(t, &tv) < 0) {
		if (t != NULL)
			event_free(t);
		return;
	}
	while (!expired && !*stop && (flag == NULL || !*flag))
		if (event_base_loop(base, EVLOOP_ONCE) < 0)
			break;
	event_free(t);
}

void
acme_http_wait(struct acme_http *h, const bool *flag, unsigned secs)
{
	acme_wait(h->base, h->stop, flag, secs);
}

static void
copy_header(const struct evkeyvalq *hd, const char *name, char *out, size_t outlen)
{
	const char *v = hd != NULL ? evhttp_find_header(hd, name) : NULL;

	out[0] = '\0';
	if (v != NULL && strlen(v) < outlen)
		memcpy(out, v, strlen(v) + 1);
}

static void
on_done(void *arg, struct https_result *res)
{
	struct pending *p = arg;
	struct acme_resp *r = p->r;

	p->done = true;
	if (!res->answered) {
		p->no_connection = res->no_connection;
		snprintf(p->err, sizeof p->err, "%s", res->err);
		return;
	}
	p->answered = true;
	r->status = res->status;
	copy_header(res->headers, "Location", r->location, sizeof r->location);
	copy_header(res->headers, "Replay-Nonce", r->nonce, sizeof r->nonce);
	snprintf(r->content_type, sizeof r->content_type, "%s", res->content_type);
	r->retry_after = res->retry_after;
	r->body = res->body; /* ours now */
	r->len = res->len;
	res->body = NULL;
}

/* request - one try over addresses of family; *retry when it did not connect. */
static int
request(struct acme_http *h, enum acme_method m, const char *url, const char *body,
    int family, struct acme_resp *r, bool *retry, char *err, size_t errlen)
{
	struct pending p = { .r = r };
	struct https_opts o = {
		.base = h->base,
		.dns = h->dns,
		.ctx = h->ctx,
		.url = url,
		.method = m == ACME_GET ? HTTPS_GET : m == ACME_HEAD ? HTTPS_HEAD : HTTPS_POST,
		.accept = "application/json, application/pem-certificate-chain",
		.content_type = "application/jose+json",
		.body = body,
		.body_len = body != NULL ? strlen(body) : 0,
		.family = family,
		.max_headers = MAX_HEADERS,
		.max_body = MAX_BODY,
		.idle_timeout = IDLE_TIMEOUT,
		.total_timeout = TOTAL_TIMEOUT,
	};

	*retry = false;
	memset(r, 0, sizeof *r);
	struct https_req *req = https_request(&o, on_done, &p, err, errlen);
	if (req == NULL)
		return -1;
	/* The request's own timer ends it by TOTAL_TIMEOUT: this wait is a backstop. */
	acme_http_wait(h, &p.done, TOTAL_TIMEOUT + 5);
	if (!p.done) {
		https_cancel(req);
		snprintf(err, errlen, "%s", *h->stop ? "stopped" : "no answer");
		acme_resp_free(r);
		return -1;
	}
	if (!p.answered) {
		snprintf(err, errlen, "%s", p.err);
		*retry = p.no_connection;
		acme_resp_free(r);
		return -1;
	}
	return 0;
}

int
acme_http_request(struct acme_http *h, enum acme_method m, const char *url,
    const char *body, struct acme_resp *r, char *err, size_t errlen)
{
	/* libevent connects to the first address only: when that fails, each family in turn. */
	static const int families[] = { AF_UNSPEC, AF_INET, AF_INET6 };
	bool retry = false;
	int rc = -1;

	for (size_t i = 0; i < sizeof families / sizeof families[0]; i++) {
		char why[512];
		rc = request(h, m, url, body, families[i], r, &retry, i == 0 ? err : why,
		    i == 0 ? errlen : sizeof why);
		if (rc == 0 || !retry || *h->stop)
			break;
	}
	return rc;
}
