/*
 * http_reply.h - how the web role answers: every reply carries the same
 * security headers (a strict Content-Security-Policy, nosniff, no framing,
 * no caching, HSTS on TLS) and is logged in one line.
 */
#ifndef MAILROOM_HTTP_REPLY_H
#define MAILROOM_HTTP_REPLY_H

#include <stdbool.h>

#include "util/buf.h"

struct evhttp_request;

/* The statuses evhttp has no names for. */
#define HTTP_CREATED 201
#define HTTP_SEEOTHER 303
#define HTTP_UNAUTHORIZED 401
#define HTTP_FORBIDDEN 403
#define HTTP_CONFLICT 409
#define HTTP_TOOLARGE 413
#define HTTP_UNSUPPORTED_TYPE 415
#define HTTP_TOOMANY 429

/* http_reply - code with body (may be NULL) of content type (may be NULL). */
void http_reply(struct evhttp_request *req, bool tls, int code, const char *type,
    const struct buf *body);
/* http_reply_text - code with its reason phrase as a text/plain body. */
void http_reply_text(struct evhttp_request *req, bool tls, int code);
/* http_reply_json - code with the JSON document json (NULL: {"error": reason phrase}). */
void http_reply_json(struct evhttp_request *req, int code, const struct buf *json);
/* http_reply_json_error - code with {"error": message}. */
void http_reply_json_error(struct evhttp_request *req, int code, const char *message);
/* http_reply_html - code with an HTML page. */
void http_reply_html(struct evhttp_request *req, int code, const struct buf *page);
/* http_redirect - 303 See Other to path (our own, starting with '/'), after a form's POST. */
void http_redirect(struct evhttp_request *req, bool tls, const char *path);
/* http_status_reason - the reason phrase of an HTTP status code. */
const char *http_status_reason(int code);

#endif
