/*
 * httpd.h - the web role: what its listeners and request handlers share. One
 * evhttp per listener (https: TLS through evhttp_set_bevcb; http: redirects;
 * metrics: the counters as Prometheus text).
 */
#ifndef MAILROOM_HTTPD_H
#define MAILROOM_HTTPD_H

#include <stdbool.h>
#include <openssl/ssl.h>

#include "config.h"

struct evhttp;
struct evhttp_request;
struct evconnlistener;
struct event_base;
struct accounts;
struct httpd;
struct web_dns_pending;
struct http_acme;

struct http_listener {
	struct httpd *srv;
	enum service svc;          /* SVC_HTTPS, SVC_HTTP or SVC_METRICS */
	struct evhttp *http;
	struct evconnlistener *el; /* owned by http; NULL once stopping */
	unsigned active;           /* https: connections open (their SSL objects) */
	bool paused;               /* at max_connections: not accepting */
};

struct httpd {
	struct config *cfg;        /* replaced on reload */
	struct event_base *base;
	struct accounts *acct;     /* lookupd */
	int qctl_fd;               /* the queue control channel to queued (queue/queue_ctl.h), or -1 */
	SSL_CTX *tls_ctx;          /* replaced on reload; NULL without a certificate */
	struct http_acme *acme;    /* ACME challenge responses (http_acme.h), or NULL */
	int ssl_index;             /* SSL ex_data: the listener a TLS connection counts on */
	struct http_listener *listeners;
	size_t nlisteners;
	struct web_dns_pending *dns_checks; /* the admin pages' DNS checks under way */
};

/* http_serve_https - answer one request on the https listener. */
void http_serve_https(struct evhttp_request *req, void *arg);
/* http_serve_redirect - the http listener: 301 to the same path on https. */
void http_serve_redirect(struct evhttp_request *req, void *arg);
/* http_serve_metrics - the metrics listener: GET /metrics (http_metrics.c). */
void http_serve_metrics(struct evhttp_request *req, void *arg);

#endif
