/*
 * http_acme.h - httpd's part in ACME: the challenge responses acmed sends over
 * its channel (acme/acme_chan.h), answered while an order is under way. http-01:
 * GET /.well-known/acme-challenge/<token> on the http listener gives the key
 * authorization of a known token, 404 otherwise. tls-alpn-01 (RFC 8737): a
 * client on https that offers only the "acme-tls/1" protocol and names a host
 * acmed gave a challenge certificate for gets that certificate, and no HTTP.
 */
#ifndef MAILROOM_HTTP_ACME_H
#define MAILROOM_HTTP_ACME_H

#include <stdbool.h>
#include <openssl/ssl.h>

struct event_base;
struct evhttp_request;
struct http_acme;

/* http_acme_new - reading fd (acmed's channel; -1: no ACME, NULL returned). */
struct http_acme *http_acme_new(struct event_base *base, int fd);
void http_acme_free(struct http_acme *a);

/* http_acme_hook - offer acme-tls/1 on ctx (again for each new context; a may be NULL). */
void http_acme_hook(struct http_acme *a, SSL_CTX *ctx);

/*
 * http_acme_serve - when req's path is under /.well-known/acme-challenge/, answer
 * it (the key authorization, 404 or 405) and return true; false for other paths.
 */
bool http_acme_serve(struct http_acme *a, struct evhttp_request *req);

#endif
