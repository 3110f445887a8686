/*
 * smtp_client_body.c - the message text: its size on the wire, counted once, and the
 * text itself read from the queue file and streamed through the one wire encoder
 * (store/wire.h) as the socket drains.
 */
#include "deliver/smtp_client_int.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdio.h>
#include <string.h>

/*
 * wire_size - the message's size as sent, with CRLF line ends (what SIZE means,
 * RFC 1870): the stored size plus one octet per line. Counted once per conversation.
 */
uint64_t
cl_wire_size(struct smtp_client *c)
{
	struct msg_reader r;
	uint64_t lines = 0;

	if (c->wire_size != 0)
		return c->wire_size;
	c->wire_size = c->p.env->body_size;
	if (msg_open(&r, c->p.queue_dir, c->p.env) == 0 && msg_count_lf(&r, &lines) == 0)
		c->wire_size += lines;
	msg_close(&r);
	return c->wire_size;
}

/* body_failed - the text cannot be sent: every recipient is deferred. */
static void
body_failed(struct smtp_client *c, const char *what)
{
	char text[CLIENT_TEXT_MAX];

	snprintf(text, sizeof text, "451 4.3.0 cannot %s the queue file: %s", what, strerror(errno));
	cl_fail_pending(c, 451, text);
	cl_finish(c);
}

/* fill_body - the next chunks of the stored text, in the wire form, into the output. */
void
cl_fill_body(struct smtp_client *c)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	char in[BODY_CHUNK];
	struct evbuffer_iovec vec;

	while (evbuffer_get_length(out) < OUT_HIGH && c->msg.pos < c->msg.size) {
		ssize_t n = msg_read(&c->msg, in, sizeof in);
		if (n <= 0) {
			body_failed(c, "read");
			return;
		}
		if (evbuffer_reserve_space(out, 2 * n, &vec, 1) < 1) {
			errno = ENOMEM;
			body_failed(c, "send");
			return;
		}
		vec.iov_len = wire_encode(&c->enc, in, (size_t)n, vec.iov_base);
		evbuffer_commit_space(out, &vec, 1);
	}
	if (c->msg.pos == c->msg.size && c->state == STAGE_BODY) {
		char end[8];
		evbuffer_add(out, end, wire_end(&c->enc, end));
		c->state = STAGE_DOT;
		cl_set_timeout(c, T_DATA_END);
	}
}

void
cl_start_body(struct smtp_client *c)
{
	if (msg_open(&c->msg, c->p.queue_dir, c->p.env) < 0) {
		body_failed(c, "open");
		return;
	}
	c->state = STAGE_BODY;
	wire_init(&c->enc, false);
	/* The server is silent while the text goes out: only writes are timed. */
	struct timeval tv = { T_DATA_BLOCK, 0 };
	bufferevent_set_timeouts(c->bev, NULL, &tv);
	bufferevent_setwatermark(c->bev, EV_WRITE, OUT_HIGH / 2, 0);
	cl_fill_body(c);
}

