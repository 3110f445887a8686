/*
 * https_client.c - bounded HTTPS requests over evhttp with a callback (see
 * https_client.h). The connection is freed on the next loop turn after the answer:
 * evhttp is still inside its own callbacks when the answer comes.
 */
#include "net/https_client.h"

#include <ctype.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "net/tls.h"
#include "version.h"

struct https_req {
	struct event_base *base;
	struct evhttp_connection *conn;
	struct evhttp_request *req;   /* until it is answered or cancelled */
	struct bufferevent *bev;      /* the connection's */
	SSL *ssl;                     /* bev's */
	struct event *timer;          /* the whole request's time */
	struct event *free_ev;        /* the free after the answer */
	https_done_fn done;
	void *arg;
	bool finished;
	bool starting;                /* inside https_request: a failure is its return */
	bool failed;
	enum evhttp_request_error error;
	char host[256];
	int port;
	unsigned total;
};

static void
req_free(struct https_req *r)
{
	if (r->req != NULL)
		evhttp_cancel_request(r->req);
	if (r->conn != NULL)
		evhttp_connection_free(r->conn);
	if (r->timer != NULL)
		event_free(r->timer);
	if (r->free_ev != NULL)
		event_free(r->free_ev);
	free(r);
}

void
https_cancel(struct https_req *r)
{
	if (r != NULL)
		req_free(r);
}

/* why_failed - the most telling reason the request got no answer. */
static void
why_failed(struct https_req *r, bool timed_out, char *err, size_t errlen)
{
	long v = r->ssl != NULL ? SSL_get_verify_result(r->ssl) : X509_V_OK;
	unsigned long e = r->bev != NULL ? bufferevent_get_openssl_error(r->bev) : 0;
	char buf[256];

	if (v != X509_V_OK) {
		snprintf(err, errlen, "%s:%d: TLS: the server's certificate is not trusted: %s",
		    r->host, r->port, X509_verify_cert_error_string(v));
	} else if (e != 0) {
		ERR_error_string_n(e, buf, sizeof buf);
		snprintf(err, errlen, "%s:%d: TLS: %s", r->host, r->port, buf);
	} else if (timed_out) {
		snprintf(err, errlen, "%s:%d: no answer in %u s", r->host, r->port, r->total);
	} else {
		const char *what = !r->failed ? "no answer" :
		    r->error == EVREQ_HTTP_TIMEOUT ? "timed out" :
		    r->error == EVREQ_HTTP_DATA_TOO_LONG ? "answer too large" :
		    r->error == EVREQ_HTTP_INVALID_HEADER ? "malformed answer" :
		    "cannot connect, or the connection was closed";
		snprintf(err, errlen, "%s:%d: %s", r->host, r->port, what);
	}
}

/* no_connection - whether a failure never reached the server (another address may). */
static bool
no_connection(const struct https_req *r)
{
	return r->failed && r->error != EVREQ_HTTP_TIMEOUT &&
	    r->error != EVREQ_HTTP_DATA_TOO_LONG && r->error != EVREQ_HTTP_INVALID_HEADER &&
	    (r->ssl == NULL || SSL_get_verify_result(r->ssl) == X509_V_OK) &&
	    (r->bev == NULL || bufferevent_get_openssl_error(r->bev) == 0);
}

static void
on_free(evutil_socket_t fd, short what, void *arg)
{
	req_free(arg);
}

static void
on_error(enum evhttp_request_error e, void *arg)
{
	struct https_req *r = arg;

	r->failed = true;
	r->error = e;
}

static void
fill_answer(struct evhttp_request *req, struct https_result *res)
{
	struct evkeyvalq *hd = evhttp_request_get_input_headers(req);
	const char *ct = evhttp_find_header(hd, "Content-Type");
	const char *ra = evhttp_find_header(hd, "Retry-After");

	res->headers = hd;
	res->status = evhttp_request_get_response_code(req);
	if (ct != NULL && strlen(ct) < sizeof res->content_type)
		memcpy(res->content_type, ct, strlen(ct) + 1);
	res->content_type[strcspn(res->content_type, "; \t")] = '\0';
	for (char *c = res->content_type; *c != '\0'; c++)
		*c = (char)tolower((unsigned char)*c);
	if (ra != NULL && ra[0] >= '0' && ra[0] <= '9') {
		long v = strtol(ra, NULL, 10);
		res->retry_after = v > 86400 ? 86400 : (unsigned)v;
	}
}

static void
on_done(struct evhttp_request *req, void *arg)
{
	struct https_req *r = arg;
	struct https_result res = { 0 };

	r->req = NULL; /* evhttp frees it when this returns */
	if (r->finished)
		return;
	if (r->starting) {
		/* A connection that failed at once: https_request says so itself. */
		r->failed = true;
		return;
	}
	r->finished = true;
	event_del(r->timer);
	if (req == NULL || evhttp_request_get_response_code(req) == 0) {
		r->failed = true;
		why_failed(r, false, res.err, sizeof res.err);
		res.no_connection = no_connection(r);
		res.cert_failed = r->ssl != NULL && SSL_get_verify_result(r->ssl) != X509_V_OK;
	} else {
		struct evbuffer *in = evhttp_request_get_input_buffer(req);
		res.len = evbuffer_get_length(in);
		if ((res.body = malloc(res.len + 1)) == NULL) {
			snprintf(res.err, sizeof res.err, "%s:%d: out of memory", r->host, r->port);
		} else {
			evbuffer_remove(in, res.body, res.len);
			res.body[res.len] = '\0';
			fill_answer(req, &res);
			res.answered = true;
		}
	}
	r->done(r->arg, &res);
	free(res.body);
	event_active(r->free_ev, EV_TIMEOUT, 0);
}

static void
on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct https_req *r = arg;
	struct https_result res = { 0 };

	if (r->finished)
		return;
	r->finished = true;
	why_failed(r, true, res.err, sizeof res.err);
	if (r->req != NULL) {
		evhttp_cancel_request(r->req);
		r->req = NULL;
	}
	r->done(r->arg, &res);
	req_free(r);
}

/* parse_url - host (without IPv6 brackets), port, the Host field and the request target. */
static int
parse_url(struct https_req *r, const char *url, char *hosthdr, size_t hostlen, char *target,
    size_t targetlen, char *err, size_t errlen)
{
	struct evhttp_uri *uri = evhttp_uri_parse(url);
	const char *scheme = uri ? evhttp_uri_get_scheme(uri) : NULL;
	const char *h0 = uri ? evhttp_uri_get_host(uri) : NULL;

	if (scheme == NULL || strcasecmp(scheme, "https") != 0 || h0 == NULL || h0[0] == '\0' ||
	    strlen(h0) >= sizeof r->host) {
		snprintf(err, errlen, "not an https URL: %.200s", url);
		if (uri != NULL)
			evhttp_uri_free(uri);
		return -1;
	}
	size_t hl = strlen(h0);
	if (h0[0] == '[' && hl > 2 && h0[hl - 1] == ']')
		snprintf(r->host, sizeof r->host, "%.*s", (int)(hl - 2), h0 + 1);
	else
		snprintf(r->host, sizeof r->host, "%s", h0);
	r->port = evhttp_uri_get_port(uri) > 0 ? evhttp_uri_get_port(uri) : 443;
	const char *path = evhttp_uri_get_path(uri), *query = evhttp_uri_get_query(uri);
	int n = snprintf(target, targetlen, "%s%s%s", path && path[0] ? path : "/",
	    query ? "?" : "", query ? query : "");
	if (r->port == 443)
		snprintf(hosthdr, hostlen, "%s", h0);
	else
		snprintf(hosthdr, hostlen, "%s:%d", h0, r->port);
	evhttp_uri_free(uri);
	if (n < 0 || (size_t)n >= targetlen) {
		snprintf(err, errlen, "URL too long: %.200s", url);
		return -1;
	}
	return 0;
}

struct https_req *
https_request(const struct https_opts *o, https_done_fn done, void *arg, char *err,
    size_t errlen)
{
	struct https_req *r = calloc(1, sizeof *r);
	char hosthdr[300], target[4096];

	if (r == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->base = o->base;
	r->done = done;
	r->arg = arg;
	r->total = o->total_timeout ? o->total_timeout : 90;
	if (parse_url(r, o->url, hosthdr, sizeof hosthdr, target, sizeof target, err, errlen) < 0)
		goto fail;
	r->timer = evtimer_new(o->base, on_timeout, r);
	r->free_ev = evtimer_new(o->base, on_free, r);
	SSL *ssl = SSL_new(o->ctx);
	if (r->timer == NULL || r->free_ev == NULL || ssl == NULL ||
	    tls_client_verify_name(ssl, r->host) < 0) {
		SSL_free(ssl);
		snprintf(err, errlen, "TLS: out of memory");
		goto fail;
	}
	struct bufferevent *bev = bufferevent_openssl_socket_new(o->base, -1, ssl,
	    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (bev == NULL) {
		SSL_free(ssl);
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	/* From here the connection owns bev, and bev the SSL. */
	r->conn = evhttp_connection_base_bufferevent_new(o->base, o->dns, bev,
	    o->connect_to ? o->connect_to : r->host, (unsigned short)r->port);
	if (r->conn == NULL) {
		bufferevent_free(bev);
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	r->bev = bev;
	r->ssl = ssl;
	evhttp_connection_set_family(r->conn, o->family);
	evhttp_connection_set_timeout(r->conn, o->idle_timeout ? (int)o->idle_timeout : 30);
	evhttp_connection_set_max_headers_size(r->conn, o->max_headers ? o->max_headers :
	    16 * 1024);
	evhttp_connection_set_max_body_size(r->conn, o->max_body ? o->max_body : 1024 * 1024);
	evhttp_connection_set_retries(r->conn, 0);
	struct evhttp_request *req = evhttp_request_new(on_done, r);
	if (req == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	evhttp_request_set_error_cb(req, on_error);
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	evhttp_add_header(out, "Host", hosthdr);
	evhttp_add_header(out, "User-Agent", "mailroom/" MAILROOM_VERSION);
	if (o->accept != NULL)
		evhttp_add_header(out, "Accept", o->accept);
	evhttp_add_header(out, "Connection", "close");
	if (o->method == HTTPS_POST) {
		evhttp_add_header(out, "Content-Type", o->content_type ? o->content_type :
		    "application/octet-stream");
		if (evbuffer_add(evhttp_request_get_output_buffer(req), o->body, o->body_len) < 0) {
			evhttp_request_free(req);
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
	}
	enum evhttp_cmd_type cmd = o->method == HTTPS_GET ? EVHTTP_REQ_GET :
	    o->method == HTTPS_HEAD ? EVHTTP_REQ_HEAD : EVHTTP_REQ_POST;
	r->req = req;
	r->starting = true;
	int rc = evhttp_make_request(r->conn, req, cmd, target);
	r->starting = false;
	if (rc < 0 || r->failed) {
		/* evhttp freed req */
		r->req = NULL;
		snprintf(err, errlen, "%s:%d: cannot connect or send the request", r->host, r->port);
		goto fail;
	}
	struct timeval tv = { r->total, 0 };
	evtimer_add(r->timer, &tv);
	return r;
fail:
	req_free(r);
	return NULL;
}
