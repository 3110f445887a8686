/*
 * smtp_client_body.c - the message text as it leaves (deliver/outform.h: long lines
 * folded or re-encoded, our prefix headers first), its size on the wire, and the
 * text streamed through the one wire encoder (store/wire.h) as the socket drains.
 */
#include "deliver/smtp_client_int.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdio.h>
#include <string.h>

#include "util/log.h"

/* open_text - the outform, opened (and scanned) once per conversation. 0 or -1 (errno). */
static int
open_text(struct smtp_client *c)
{
	if (c->text_open)
		return 0;
	if (outform_open(&c->text, c->p.queue_dir, c->p.env) < 0)
		return -1;
	c->text_open = true;
	if (c->p.prefix != NULL)
		outform_set_prefix(&c->text, c->p.prefix, c->p.prefix_len);
	return 0;
}

/*
 * wire_size - the message's size as sent, with CRLF line ends (what SIZE means,
 * RFC 1870). When it cannot be counted, the stored size (the server decides).
 */
uint64_t
cl_wire_size(struct smtp_client *c)
{
	uint64_t size;

	if (open_text(c) < 0 || outform_wire_size(&c->text, &size) < 0)
		return c->p.env->body_size;
	return size;
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

/* fill_body - the next chunks of the text, in the wire form, into the output. */
void
cl_fill_body(struct smtp_client *c)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	char in[BODY_CHUNK];
	struct evbuffer_iovec vec;

	while (evbuffer_get_length(out) < OUT_HIGH && !c->text_sent) {
		ssize_t n = outform_read(&c->text, in, sizeof in);
		if (n < 0) {
			body_failed(c, "read");
			return;
		}
		if (n == 0) {
			c->text_sent = true;
			break;
		}
		if (evbuffer_reserve_space(out, 2 * n, &vec, 1) < 1) {
			errno = ENOMEM;
			body_failed(c, "send");
			return;
		}
		vec.iov_len = wire_encode(&c->enc, in, (size_t)n, vec.iov_base);
		evbuffer_commit_space(out, &vec, 1);
	}
	if (c->text_sent && c->state == STAGE_BODY) {
		char end[8];
		evbuffer_add(out, end, wire_end(&c->enc, end));
		c->state = STAGE_DOT;
		cl_set_timeout(c, T_DATA_END);
	}
}

void
cl_start_body(struct smtp_client *c)
{
	if (open_text(c) < 0 || outform_rewind(&c->text) < 0) {
		body_failed(c, "open");
		return;
	}
	if (outform_changed(&c->text))
		ev_info("long-lines", KS("qid", c->p.env->id), KS("relay", c->peer),
		    KS("action", "folded or encoded"));
	c->text_sent = false;
	c->state = STAGE_BODY;
	wire_init(&c->enc, false);
	/* The server is silent while the text goes out: only writes are timed. */
	struct timeval tv = { T_DATA_BLOCK, 0 };
	bufferevent_set_timeouts(c->bev, NULL, &tv);
	bufferevent_setwatermark(c->bev, EV_WRITE, OUT_HIGH / 2, 0);
	cl_fill_body(c);
}
