/*
 * http_form.h - what a request brings, read strictly (pure): a form body
 * (application/x-www-form-urlencoded), a cookie by name, a bearer token, and
 * the constant-time comparison of secrets.
 */
#ifndef MAILROOM_HTTP_FORM_H
#define MAILROOM_HTTP_FORM_H

#include <event2/keyvalq_struct.h>
#include <stdbool.h>
#include <stddef.h>

/* A form larger than this is refused unread (evhttp bounds every body too). */
#define HTTP_FORM_MAX 65536

/*
 * http_form_parse - body[0..len) as name=value pairs into out (evhttp's list:
 * free it with evhttp_clear_headers). 0, or -1: too long, a NUL inside, or
 * malformed percent-encoding.
 */
int http_form_parse(const char *body, size_t len, struct evkeyvalq *out);

/* http_form_get - the value of the first field name, or NULL. */
const char *http_form_get(struct evkeyvalq *form, const char *name);

/*
 * http_cookie_get - the value of cookie name in a Cookie header value into out.
 * Values of [A-Za-z0-9_-] only (ours are). 1 found, 0 not (or not one of ours, or
 * too long for out).
 */
int http_cookie_get(const char *header, const char *name, char *out, size_t outlen);

/*
 * http_bearer_get - the token of an "Authorization: Bearer TOKEN" value into out
 * (RFC 6750 2.1 token68 characters). 1 found, 0 not.
 */
int http_bearer_get(const char *header, char *out, size_t outlen);

/* http_secret_equal - a and b are the same string, compared in constant time. */
bool http_secret_equal(const char *a, const char *b);

#endif
