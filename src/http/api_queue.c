/*
 * api_queue.c - /api/v1/queue for an admin (see api_queue.h): each request made
 * one call to queued (queue_ctl_call), whose status and JSON are the reply. httpd
 * reads no spool itself; queued checks every id again before it touches a path.
 */
#include "http/api_queue.h"

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <string.h>

#include "http/http_reply.h"
#include "http/httpd.h"
#include "queue/queue_ctl.h"
#include "queue/queue_ctl_proto.h"

#define ID_SEGMENT_MAX 64 /* longer than any queue id: refused before it is copied */

static void
reply_error(struct evhttp_request *req, int status, const char *msg)
{
	struct buf b = { 0 };

	qctl_error_json(&b, msg);
	http_reply_json(req, status, &b);
	buf_free(&b);
}

static void
not_allowed(struct evhttp_request *req, const char *allow)
{
	evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", allow);
	reply_error(req, HTTP_BADMETHOD, "method not allowed");
}

/* call - op (with arg) asked of queued; its answer is the reply. */
static void
call(struct httpd *srv, struct evhttp_request *req, const char *op, const char *arg)
{
	struct buf out = { 0 };
	int status = queue_ctl_call(srv->qctl_fd, op, arg, &out);

	http_reply_json(req, status, &out);
	buf_free(&out);
}

void
api_queue(struct httpd *srv, struct evhttp_request *req, const char *rest)
{
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	bool get = cmd == EVHTTP_REQ_GET || cmd == EVHTTP_REQ_HEAD;
	bool post = cmd == EVHTTP_REQ_POST;
	char id[ID_SEGMENT_MAX + 1];

	if (rest[0] == '\0' || strcmp(rest, "/") == 0) {
		if (get)
			call(srv, req, "list", NULL);
		else
			not_allowed(req, "GET, HEAD");
		return;
	}
	if (strcmp(rest, "/flush") == 0) {
		if (post)
			call(srv, req, "flush", NULL);
		else
			not_allowed(req, "POST");
		return;
	}
	if (rest[0] != '/') {
		reply_error(req, HTTP_NOTFOUND, "not found");
		return;
	}
	const char *seg = rest + 1, *slash = strchr(seg, '/');
	size_t n = slash != NULL ? (size_t)(slash - seg) : strlen(seg);
	if (n == 0 || n > ID_SEGMENT_MAX) {
		reply_error(req, n == 0 ? HTTP_NOTFOUND : HTTP_BADREQUEST,
		    n == 0 ? "not found" : "malformed queue id");
		return;
	}
	memcpy(id, seg, n);
	id[n] = '\0';
	if (slash == NULL) {
		if (get)
			call(srv, req, "show", id);
		else if (cmd == EVHTTP_REQ_DELETE)
			call(srv, req, "delete", id);
		else
			not_allowed(req, "GET, HEAD, DELETE");
		return;
	}
	const char *action = slash + 1;
	if (strcmp(action, "hold") != 0 && strcmp(action, "release") != 0) {
		reply_error(req, HTTP_NOTFOUND, "not found");
		return;
	}
	if (post)
		call(srv, req, action, id);
	else
		not_allowed(req, "POST");
}
