/*
 * acme_http.h - the HTTPS requests acmed makes to the CA: net/https_client.h's
 * (evhttp over bufferevent_openssl, one connection per request), the server's
 * certificate checked against [acme] ca_file (or the system's CAs) and the URL's host.
 * Each request is bounded: 30 s without progress, 90 s in all, 16 KiB of
 * headers, 1 MiB of body. acmed runs its loop only through acme_http_wait, so
 * the ACME exchange reads as a plain sequence of requests.
 */
#ifndef MAILROOM_ACME_HTTP_H
#define MAILROOM_ACME_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "acme/acme_msg.h"

#define ACME_NONCE_MAX 256

struct event_base;
struct acme_http;

/* What a request got back. */
struct acme_resp {
	int status;                     /* HTTP status */
	char location[ACME_URL_MAX];    /* Location, or "" */
	char nonce[ACME_NONCE_MAX];     /* Replay-Nonce, or "" */
	char content_type[128];         /* without parameters, lower case */
	unsigned retry_after;           /* Retry-After in seconds; 0: none */
	char *body;                     /* NUL-terminated (malloc'ed) */
	size_t len;
};

/*
 * acme_http_new - a client on base, trusting the CAs in ca_file (NULL: the
 * system's); it stops waiting as soon as *stop turns true. NULL with err.
 */
struct acme_http *acme_http_new(struct event_base *base, const char *ca_file, const bool *stop,
    char *err, size_t errlen);
void acme_http_free(struct acme_http *h);

/*
 * acme_http_request - one request: GET, HEAD, or POST with body as
 * application/jose+json. Returns 0 with r filled (any status), or -1 with a
 * reason in err (no connection, TLS, timeout, too large, stopped).
 */
enum acme_method { ACME_GET, ACME_HEAD, ACME_POST };
int acme_http_request(struct acme_http *h, enum acme_method m, const char *url,
    const char *body, struct acme_resp *r, char *err, size_t errlen);
void acme_resp_free(struct acme_resp *r);

/* acme_http_wait - run the loop until *flag (may be NULL), *stop, or secs pass. */
void acme_http_wait(struct acme_http *h, const bool *flag, unsigned secs);
/* acme_wait - the same on base, for a stop flag of the caller's. */
void acme_wait(struct event_base *base, const bool *stop, const bool *flag, unsigned secs);

#endif
