/*
 * queue_ctl.c - one request to queued and its reply, blocking for at most
 * QCTL_TIMEOUT_MS (see queue_ctl.h). Each request has a number of its own, and only
 * a reply that carries it is taken: what is read before it (the late answer to an
 * earlier request, or to an httpd that has since restarted: the channel outlives
 * both) is dropped.
 */
#include "queue/queue_ctl.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>

#include "ipc/frame.h"
#include "queue/queue_ctl_proto.h"
#include "util/log.h"

#define STALE_MAX 1024 /* frames of earlier replies dropped before a request */

static uint64_t
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* next_req - a request number: from a random start, so a restarted httpd does not reuse its predecessor's. */
static uint64_t
next_req(void)
{
	static uint64_t next;

	if (next == 0 && getrandom(&next, sizeof next, GRND_NONBLOCK) != sizeof next)
		next = now_ms() << 16;
	if (++next == 0)
		next = 1;
	return next;
}

static int
error(struct buf *out, int status, const char *msg)
{
	if (qctl_error_json(out, msg) < 0)
		buf_reset(out);
	return status;
}

/* wait_for - poll fd for events until deadline; 1 ready, 0 timed out, -1 error. */
static int
wait_for(int fd, short events, uint64_t deadline)
{
	for (;;) {
		uint64_t now = now_ms();
		if (now >= deadline)
			return 0;
		struct pollfd p = { .fd = fd, .events = events };
		int r = poll(&p, 1, (int)(deadline - now));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			return 0;
		if (p.revents & (POLLERR | POLLNVAL))
			return -1;
		return 1; /* POLLHUP too: the read says what is left */
	}
}

/* drop_stale - the frames already waiting answer nothing we will ask. */
static void
drop_stale(int fd, struct frame *f)
{
	for (int i = 0; i < STALE_MAX; i++)
		if (recv(fd, f->buf, sizeof f->buf, MSG_DONTWAIT | MSG_TRUNC) <= 0)
			return;
}

/* exchange - send f (request req) and gather its reply into out. An HTTP status, or -1. */
static int
exchange(int fd, struct frame *f, uint64_t req, uint64_t deadline, struct buf *out)
{
	uint64_t part = 0;
	size_t len = f->len;

	for (;;) {
		ssize_t n = send(fd, f->buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n == (ssize_t)len)
			break;
		if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) ||
		    wait_for(fd, POLLOUT, deadline) <= 0)
			return -1;
	}
	for (;;) {
		struct qctl_part p;
		if (wait_for(fd, POLLIN, deadline) <= 0)
			return -1;
		ssize_t n = recv(fd, f->buf, sizeof f->buf, MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			continue;
		if (n <= 0)
			return -1; /* 0: the channel's end (the supervisor is gone) */
		if ((size_t)n > sizeof f->buf || qctl_reply_decode(f, f->buf, (size_t)n, &p) < 0) {
			ev_warn("control-malformed", KS("peer", "queued"));
			continue;
		}
		if (p.req != req) {
			free(p.text);
			continue; /* an earlier request's */
		}
		/* Parts come in order on the one socket; a gap means queued gave up on it. */
		bool bad = p.part != part++ || out->len + p.len > QCTL_REPLY_MAX ||
		    buf_append(out, p.text, p.len) < 0;
		free(p.text);
		if (bad)
			return -1;
		if (p.last)
			return p.status;
	}
}

int
queue_ctl_call(int fd, const char *op, const char *arg, struct buf *out)
{
	struct qctl_request r = { 0 };

	buf_reset(out);
	if ((r.op = qctl_op_type(op)) == 0)
		return error(out, 400, "unknown request");
	if (qctl_op_has_arg(r.op) != (arg != NULL))
		return error(out, 400, arg != NULL ? "no argument expected" : "argument missing");
	if (arg != NULL && snprintf(r.arg, sizeof r.arg, "%s", arg) >= (int)sizeof r.arg)
		return error(out, 400, r.op == QC_USAGE ? "malformed address" : "malformed queue id");
	if (qctl_request_check(&r) != 0)
		return error(out, 400, r.op == QC_USAGE ? "malformed address" : "malformed queue id");
	if (fd < 0)
		return error(out, 503, "queued is not reachable");
	struct frame *f = malloc(sizeof *f);
	if (f == NULL)
		return error(out, 503, "out of memory");
	r.req = next_req();
	r.deadline = now_ms() + QCTL_TIMEOUT_MS;
	drop_stale(fd, f);
	int status = qctl_request_encode(f, &r) < 0 ? -1 : exchange(fd, f, r.req, r.deadline, out);
	free(f);
	if (status < 0) {
		ev_warn("control-unanswered", KS("command", op));
		return error(out, 503, "queued did not answer");
	}
	return status;
}
