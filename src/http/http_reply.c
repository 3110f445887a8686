/*
 * http_reply.c - the replies of the web role, with the headers every one of them
 * has, whatever made it: pages, the API, the client setup documents, refusals.
 */
#include "http/http_reply.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

#define HSTS_MAX_AGE 31536000 /* a year */

/*
 * The pages load their style sheet and script from us alone; nothing inline,
 * nothing framed, forms post only to us. The other documents need nothing.
 */
#define CSP_PAGE "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; " \
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
#define CSP_OTHER "default-src 'none'; frame-ancestors 'none'"

const char *
http_status_reason(int code)
{
	switch (code) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 301: return "Moved Permanently";
	case 303: return "See Other";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return code < 400 ? "OK" : code < 500 ? "Bad Request" : "Internal Server Error";
	}
}

static void
log_request(struct evhttp_request *req, int code)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	const char *uri = evhttp_request_get_uri(req);
	char *peer = NULL, path[201];
	ev_uint16_t port = 0;

	if (evcon != NULL)
		evhttp_connection_get_peer(evcon, &peer, &port);
	snprintf(path, sizeof path, "%s", uri ? uri : ""); /* the log's share of a long one */
	ev_info("http", KS("client", peer ? peer : "?"), KS("path", path), KN("status", code));
}

void
http_reply(struct evhttp_request *req, bool tls, int code, const char *type, const struct buf *body)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evbuffer *out = evbuffer_new();
	bool html = type != NULL && strncmp(type, "text/html", 9) == 0;

	evhttp_add_header(h, "Content-Security-Policy", html ? CSP_PAGE : CSP_OTHER);
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "X-Frame-Options", "DENY");
	/* same-origin, not no-referrer: with no-referrer a browser sends "Origin: null" on our own forms. */
	evhttp_add_header(h, "Referrer-Policy", "same-origin");
	if (tls) {
		char v[64];
		snprintf(v, sizeof v, "max-age=%u", HSTS_MAX_AGE);
		evhttp_add_header(h, "Strict-Transport-Security", v);
	}
	if (evhttp_find_header(h, "Cache-Control") == NULL)
		evhttp_add_header(h, "Cache-Control", "no-store");
	if (type != NULL)
		evhttp_add_header(h, "Content-Type", type);
	if (out == NULL || (body != NULL && body->len > 0 &&
	    evbuffer_add(out, body->data, body->len) < 0))
		code = HTTP_INTERNAL;
	log_request(req, code);
	evhttp_send_reply(req, code, http_status_reason(code), out);
	if (out != NULL)
		evbuffer_free(out);
}

void
http_reply_text(struct evhttp_request *req, bool tls, int code)
{
	struct buf b = { 0 };
	if (buf_printf(&b, "%s\n", http_status_reason(code)) < 0)
		buf_free(&b);
	http_reply(req, tls, code, "text/plain; charset=utf-8", &b);
	buf_free(&b);
}

void
http_reply_json_error(struct evhttp_request *req, int code, const char *message)
{
	json_t *o = json_pack("{s:s}", "error", message);
	char *s = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	struct buf b = { 0 };

	if (s == NULL || buf_printf(&b, "%s\n", s) < 0) {
		buf_free(&b);
		code = HTTP_INTERNAL;
	}
	free(s);
	json_decref(o);
	http_reply(req, true, code, "application/json", &b);
	buf_free(&b);
}

void
http_reply_json(struct evhttp_request *req, int code, const struct buf *json)
{
	if (json == NULL || json->len == 0) {
		http_reply_json_error(req, code, http_status_reason(code));
		return;
	}
	http_reply(req, true, code, "application/json", json);
}

void
http_reply_html(struct evhttp_request *req, int code, const struct buf *page)
{
	http_reply(req, true, code, "text/html; charset=utf-8", page);
}

void
http_redirect(struct evhttp_request *req, bool tls, const char *path)
{
	/* Only our own absolute paths: never a scheme or "//host" from anywhere. */
	if (path == NULL || path[0] != '/' || path[1] == '/' || path[1] == '\\' ||
	    strpbrk(path, "\r\n") != NULL)
		path = "/";
	evhttp_add_header(evhttp_request_get_output_headers(req), "Location", path);
	http_reply_text(req, tls, 303);
}
