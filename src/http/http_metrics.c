/*
 * http_metrics.c - the metrics listener: GET (or HEAD) /metrics answers the
 * counters as Prometheus text (metrics/metrics_text.h); any other path is 404,
 * any other method 405. Plain HTTP, for a scraper on a trusted network: it shows
 * counts, never an address, a user or a message.
 */
#include "http/httpd.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <string.h>
#include <time.h>

#include "metrics/metrics_text.h"
#include "util/buf.h"
#include "util/log.h"

static void
reply(struct evhttp_request *req, int code, const char *reason, const char *type,
    const char *body, size_t len)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evbuffer *out = evbuffer_new();

	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "Content-Type", type);
	if (code == HTTP_BADMETHOD)
		evhttp_add_header(h, "Allow", "GET, HEAD");
	if (out == NULL || evbuffer_add(out, body, len) < 0) {
		code = HTTP_INTERNAL;
		reason = "Internal Server Error";
	}
	/* A refusal is logged (someone knocks where no scraper should); a scrape is not. */
	if (code != HTTP_OK) {
		struct evhttp_connection *evcon = evhttp_request_get_connection(req);
		const char *uri = evhttp_request_get_uri(req);
		char *peer = NULL, path[201];
		ev_uint16_t port = 0;
		if (evcon != NULL)
			evhttp_connection_get_peer(evcon, &peer, &port);
		snprintf(path, sizeof path, "%s", uri ? uri : "");
		ev_info("metrics-refused", KS("client", peer ? peer : "?"), KS("path", path),
		    KN("status", code));
	}
	evhttp_send_reply(req, code, reason, out);
	if (out != NULL)
		evbuffer_free(out);
}

static void
reply_text(struct evhttp_request *req, int code, const char *reason)
{
	char line[64];

	snprintf(line, sizeof line, "%s\n", reason);
	reply(req, code, reason, "text/plain; charset=utf-8", line, strlen(line));
}

void
http_serve_metrics(struct evhttp_request *req, void *arg)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	struct metrics_snap snap;
	struct buf text = { 0 };

	if (path == NULL) {
		reply_text(req, HTTP_BADREQUEST, "Bad Request");
		return;
	}
	if (strcmp(path, "/metrics") != 0) {
		reply_text(req, HTTP_NOTFOUND, "Not Found");
		return;
	}
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		reply_text(req, HTTP_BADMETHOD, "Method Not Allowed");
		return;
	}
	metrics_snapshot(&snap);
	if (metrics_text(&text, &snap, time(NULL)) < 0) {
		buf_free(&text);
		reply_text(req, HTTP_INTERNAL, "Internal Server Error");
		return;
	}
	reply(req, HTTP_OK, "OK", METRICS_CONTENT_TYPE, text.data, text.len);
	buf_free(&text);
}
