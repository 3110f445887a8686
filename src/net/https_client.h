/*
 * https_client.h - one HTTPS request on a libevent loop, with a callback: evhttp
 * over bufferevent_openssl, one connection per request, the server's certificate
 * checked by the caller's verifying context (net/tls.h tls_client_verify_ctx) and
 * the URL's host. Every request is bounded in header and body size and in time
 * (without progress, and in all). Redirects are never followed: a 3xx is an answer
 * like any other. acmed waits for it in a loop of its own (acme/acme_http.h);
 * queued goes on with its other work meanwhile.
 */
#ifndef MAILROOM_HTTPS_CLIENT_H
#define MAILROOM_HTTPS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct evdns_base;
struct evkeyvalq;
struct https_req;
typedef struct ssl_ctx_st SSL_CTX;

enum https_method { HTTPS_GET, HTTPS_HEAD, HTTPS_POST };

struct https_opts {
	struct event_base *base;
	struct evdns_base *dns;    /* resolves the URL's host; NULL: getaddrinfo (use connect_to) */
	SSL_CTX *ctx;              /* a verifying client context; the request holds a reference */
	const char *url;           /* https://host[:port]/path[?query] */
	enum https_method method;
	const char *accept;        /* Accept, or NULL */
	const char *content_type;  /* POST: the body's */
	const void *body;          /* POST: copied */
	size_t body_len;
	const char *connect_to;    /* an IP address to connect to instead of the host's; NULL: resolve */
	int family;                /* AF_UNSPEC, AF_INET or AF_INET6, for resolving */
	size_t max_headers;        /* 0: 16 KiB */
	size_t max_body;           /* a larger body fails the request; 0: 1 MiB */
	unsigned idle_timeout;     /* seconds without progress; 0: 30 */
	unsigned total_timeout;    /* seconds for the whole request; 0: 90 */
};

/* What a request ended with; valid during the callback only. */
struct https_result {
	bool answered;             /* a response came (any status); else err says why */
	bool no_connection;        /* it never reached the server: another address may do */
	bool cert_failed;          /* the server's certificate did not verify */
	int status;
	char content_type[128];    /* without parameters, lower case; "" */
	unsigned retry_after;      /* Retry-After in seconds (at most a day); 0: none */
	char *body;                /* NUL-terminated; the callback may take it (and set NULL) */
	size_t len;
	const struct evkeyvalq *headers; /* the response's, or NULL */
	char err[512];
};

typedef void (*https_done_fn)(void *arg, struct https_result *res);

/*
 * https_request - start one request; done is called once, never from inside this
 * call. After done the request is gone (its handle is not to be used). Returns the
 * handle, or NULL with a reason in err (done will not be called).
 */
struct https_req *https_request(const struct https_opts *o, https_done_fn done, void *arg,
    char *err, size_t errlen);

/* https_cancel - drop a request under way; done is not called. */
void https_cancel(struct https_req *r);

#endif
