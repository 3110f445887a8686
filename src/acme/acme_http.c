/* acme_http.c - bounded HTTPS requests over evhttp for acmed (see acme_http.h). */
#include "acme/acme_http.h"

#include <ctype.h>
#include <sys/socket.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/tls.h"
#include "version.h"

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
	bool failed;
	enum evhttp_request_error error;
	struct acme_resp *r;
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
copy_header(struct evkeyvalq *hd, const char *name, char *out, size_t outlen)
{
	const char *v = evhttp_find_header(hd, name);

	out[0] = '\0';
	if (v != NULL && strlen(v) < outlen)
		memcpy(out, v, strlen(v) + 1);
}

static void
on_error(enum evhttp_request_error e, void *arg)
{
	struct pending *p = arg;

	p->failed = true;
	p->error = e;
}

static void
on_done(struct evhttp_request *req, void *arg)
{
	struct pending *p = arg;
	struct acme_resp *r = p->r;

	p->done = true;
	if (req == NULL || evhttp_request_get_response_code(req) == 0) {
		p->failed = true;
		return;
	}
	r->status = evhttp_request_get_response_code(req);
	struct evkeyvalq *hd = evhttp_request_get_input_headers(req);
	copy_header(hd, "Location", r->location, sizeof r->location);
	copy_header(hd, "Replay-Nonce", r->nonce, sizeof r->nonce);
	copy_header(hd, "Content-Type", r->content_type, sizeof r->content_type);
	r->content_type[strcspn(r->content_type, "; \t")] = '\0';
	for (char *c = r->content_type; *c != '\0'; c++)
		*c = (char)tolower((unsigned char)*c);
	const char *ra = evhttp_find_header(hd, "Retry-After");
	if (ra != NULL && ra[0] >= '0' && ra[0] <= '9') {
		long v = strtol(ra, NULL, 10);
		r->retry_after = v > 86400 ? 86400 : (unsigned)v;
	}
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	r->len = evbuffer_get_length(in);
	if ((r->body = malloc(r->len + 1)) == NULL) {
		p->failed = true;
		return;
	}
	evbuffer_remove(in, r->body, r->len);
	r->body[r->len] = '\0';
}

/* why_failed - the most telling reason a request got no answer. */
static void
why_failed(struct pending *p, SSL *ssl, struct bufferevent *bev, const char *host, int port,
    char *err, size_t errlen)
{
	long v = ssl != NULL ? SSL_get_verify_result(ssl) : X509_V_OK;
	unsigned long e = bev != NULL ? bufferevent_get_openssl_error(bev) : 0;
	char buf[256];

	if (v != X509_V_OK) {
		snprintf(err, errlen, "%s:%d: TLS: the server's certificate is not trusted: %s", host,
		    port, X509_verify_cert_error_string(v));
	} else if (e != 0) {
		ERR_error_string_n(e, buf, sizeof buf);
		snprintf(err, errlen, "%s:%d: TLS: %s", host, port, buf);
	} else if (!p->done) {
		snprintf(err, errlen, "%s:%d: no answer in %d s", host, port, TOTAL_TIMEOUT);
	} else {
		const char *what = !p->failed ? "no answer" :
		    p->error == EVREQ_HTTP_TIMEOUT ? "timed out" :
		    p->error == EVREQ_HTTP_DATA_TOO_LONG ? "answer too large" :
		    p->error == EVREQ_HTTP_INVALID_HEADER ? "malformed answer" :
		    "cannot connect, or the connection was closed";
		snprintf(err, errlen, "%s:%d: %s", host, port, what);
	}
}

/* no_connection - whether a failed request never reached the server (another address may). */
static bool
no_connection(const struct pending *p, SSL *ssl, struct bufferevent *bev)
{
	return p->done && p->failed && p->error != EVREQ_HTTP_TIMEOUT &&
	    p->error != EVREQ_HTTP_DATA_TOO_LONG && p->error != EVREQ_HTTP_INVALID_HEADER &&
	    (ssl == NULL || SSL_get_verify_result(ssl) == X509_V_OK) &&
	    (bev == NULL || bufferevent_get_openssl_error(bev) == 0);
}

/* request - one try over addresses of family; *retry when it did not connect. */
static int
request(struct acme_http *h, enum acme_method m, const char *url, const char *body,
    int family, struct acme_resp *r, bool *retry, char *err, size_t errlen)
{
	struct evhttp_uri *uri = evhttp_uri_parse(url);
	struct evhttp_connection *conn = NULL;
	struct bufferevent *bev = NULL;
	SSL *ssl = NULL;
	struct pending p = { .r = r };
	char host[256], hosthdr[300], target[ACME_URL_MAX + 1];
	int rc = -1;

	*retry = false;
	memset(r, 0, sizeof *r);
	const char *scheme = uri ? evhttp_uri_get_scheme(uri) : NULL;
	const char *h0 = uri ? evhttp_uri_get_host(uri) : NULL;
	if (scheme == NULL || strcmp(scheme, "https") != 0 || h0 == NULL || h0[0] == '\0' ||
	    strlen(h0) >= sizeof host) {
		snprintf(err, errlen, "not an https URL: %.200s", url);
		goto out;
	}
	/* An IPv6 literal comes bracketed; connect and match without the brackets. */
	size_t hl = strlen(h0);
	if (h0[0] == '[' && hl > 2 && h0[hl - 1] == ']')
		snprintf(host, sizeof host, "%.*s", (int)(hl - 2), h0 + 1);
	else
		snprintf(host, sizeof host, "%s", h0);
	int port = evhttp_uri_get_port(uri) > 0 ? evhttp_uri_get_port(uri) : 443;
	const char *path = evhttp_uri_get_path(uri), *query = evhttp_uri_get_query(uri);
	snprintf(target, sizeof target, "%s%s%s", path && path[0] ? path : "/", query ? "?" : "",
	    query ? query : "");
	if (port == 443)
		snprintf(hosthdr, sizeof hosthdr, "%s", h0);
	else
		snprintf(hosthdr, sizeof hosthdr, "%s:%d", h0, port);

	if ((ssl = SSL_new(h->ctx)) == NULL || tls_client_verify_name(ssl, host) < 0) {
		snprintf(err, errlen, "TLS: out of memory");
		SSL_free(ssl);
		ssl = NULL;
		goto out;
	}
	bev = bufferevent_openssl_socket_new(h->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (bev == NULL) {
		SSL_free(ssl);
		ssl = NULL;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	/* From here the connection owns bev, and bev the SSL. */
	if ((conn = evhttp_connection_base_bufferevent_new(h->base, h->dns, bev, host,
	    (unsigned short)port)) == NULL) {
		bufferevent_free(bev);
		bev = NULL;
		ssl = NULL;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	evhttp_connection_set_family(conn, family);
	evhttp_connection_set_timeout(conn, IDLE_TIMEOUT);
	evhttp_connection_set_max_headers_size(conn, MAX_HEADERS);
	evhttp_connection_set_max_body_size(conn, MAX_BODY);
	evhttp_connection_set_retries(conn, 0);
	struct evhttp_request *req = evhttp_request_new(on_done, &p);
	if (req == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	evhttp_request_set_error_cb(req, on_error);
	struct evkeyvalq *out_h = evhttp_request_get_output_headers(req);
	evhttp_add_header(out_h, "Host", hosthdr);
	evhttp_add_header(out_h, "User-Agent", "mailroom/" MAILROOM_VERSION);
	evhttp_add_header(out_h, "Accept", "application/json, application/pem-certificate-chain");
	evhttp_add_header(out_h, "Connection", "close");
	if (m == ACME_POST) {
		evhttp_add_header(out_h, "Content-Type", "application/jose+json");
		evbuffer_add(evhttp_request_get_output_buffer(req), body, strlen(body));
	}
	enum evhttp_cmd_type cmd = m == ACME_GET ? EVHTTP_REQ_GET : m == ACME_HEAD ?
	    EVHTTP_REQ_HEAD : EVHTTP_REQ_POST;
	if (evhttp_make_request(conn, req, cmd, target) < 0) {
		/* evhttp freed req */
		snprintf(err, errlen, "%s:%d: cannot send the request", host, port);
		goto out;
	}
	acme_http_wait(h, &p.done, TOTAL_TIMEOUT);
	if (!p.done) {
		evhttp_cancel_request(req);
		if (*h->stop)
			snprintf(err, errlen, "stopped");
		else
			why_failed(&p, ssl, bev, host, port, err, errlen);
		goto out;
	}
	if (p.failed) {
		why_failed(&p, ssl, bev, host, port, err, errlen);
		*retry = no_connection(&p, ssl, bev);
		goto out;
	}
	rc = 0;
out:
	if (rc < 0)
		acme_resp_free(r);
	if (conn != NULL)
		evhttp_connection_free(conn);
	if (uri != NULL)
		evhttp_uri_free(uri);
	return rc;
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
