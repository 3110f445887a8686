/*
 * pop3_session.c - one POP3 server connection: what POP3 makes of the shared line
 * session (session/line_session.h): its states, replies, command lines (RFC
 * 2449's 255 octets, more for a SASL response) for the table of pop3_commands.c,
 * its deadlines and timeouts, and the log line of its end.
 */
#include "pop3/pop3_session_int.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pop3/pop3d.h"
#include "util/log.h"

#define INPUT_HIGH_WATER (64 * 1024)

static const char *const state_names[] = {
	[P_AUTHORIZATION] = "authorization",
	[P_TRANSACTION] = "transaction",
};

void
pop3_enter(struct pop3_session *s, enum pop3_state st)
{
	line_session_enter(&s->ls, state_names[st]);
	s->state = st;
}

/* line_max - the longest line (with CRLF) accepted next: more for SASL. */
static size_t
line_max(struct pop3_session *s)
{
	char head[5];
	struct evbuffer *in = bufferevent_get_input(s->ls.bev);

	if (s->sasl_wait)
		return POP3_SASL_LINE_MAX;
	/*
	 * RFC 5034 asks clients to keep AUTH with its initial response within 255
	 * octets, but a long password makes some send more: take it as a response.
	 */
	if (evbuffer_copyout(in, head, sizeof head) == (ev_ssize_t)sizeof head &&
	    strncasecmp(head, "AUTH ", 5) == 0)
		return POP3_SASL_LINE_MAX;
	return POP3_LINE_MAX;
}

/* read_command - one command line from the input; false when no whole line is there. */
static bool
read_command(struct pop3_session *s)
{
	char line[POP3_SASL_LINE_MAX];
	size_t len;
	enum line_read r = line_session_read(&s->ls, line_max(s), line, &len);

	if (r == LINE_TOO_LONG)
		s->sasl_wait = false;
	if (r != LINE_OK)
		return r == LINE_TOO_LONG;
	pop3_dispatch(s, line, len);
	explicit_bzero(line, len); /* it may have held a password */
	return true;
}

void
pop3_process(struct pop3_session *s)
{
	/* A multi-line reply goes on as the client reads it (the write low-water mark). */
	if (s->out.kind != OUT_NONE && !pop3_trans_pump(s))
		return;
	/* Bounded: a pipelining client's buffered input is finite (INPUT_HIGH_WATER),
	 * and no command is taken while POP3_OUTPUT_HIGH octets wait to be read. */
	while (line_session_may_read(&s->ls) && s->out.kind == OUT_NONE) {
		struct evbuffer *in = bufferevent_get_input(s->ls.bev);
		if (evbuffer_get_length(in) == 0 || !read_command(s))
			break;
	}
	line_session_deadline(&s->ls);
}

/* ---- the hooks of the shared session ---- */

static void
process(void *owner)
{
	pop3_process(owner);
}

static enum deadline_kind
deadline(void *owner, uint64_t *rate)
{
	struct pop3_session *s = owner;

	/* A reply the client is reading: no command is due (the write timeout counts). */
	return s->out.kind != OUT_NONE ? DEADLINE_NONE : DEADLINE_REQUEST;
}

static void
end(void *owner, const char *reason)
{
	struct pop3_session *s = owner;

	/* The state the session ended in, not the flushing of its last reply. */
	ev_info("disconnect", KS("client", s->ip), KS("reason", reason),
	    KS("state", state_names[s->state]), KS("user", s->login), KN("retrieved", s->retrieved),
	    KN("deleted", s->deleted));
	/* A maildrop still open is released with nothing deleted (RFC 1939: only QUIT
	 * enters UPDATE). */
	pop3_trans_free(s);
}

static void
destroy(void *owner)
{
	struct pop3_session *s = owner;

	pop3_trans_free(s);
	free(s->login);
	explicit_bzero(s, sizeof *s);
	free(s);
}

static const struct line_proto pop3_proto = {
	.input_high = INPUT_HIGH_WATER,
	.output_high = POP3_OUTPUT_HIGH,
	.output_low = POP3_OUTPUT_LOW,
	.greeting = { { "+OK ", " POP3 mailroom ready" } },
	.line_too_long = { { "-ERR Line too long", NULL } },
	.too_many_errors = { { "-ERR Too many errors, closing the connection", NULL } },
	.timeout = { { "-ERR Disconnected for inactivity", NULL } },
	.process = process,
	.deadline = deadline,
	.end = end,
	.destroy = destroy,
};

int
pop3_session_new(struct pop3d *srv, const struct role_client *c)
{
	struct pop3_session *s = calloc(1, sizeof *s);

	if (s == NULL)
		return -1;
	s->srv = srv;
	s->out.fd = -1;
	s->svc = c->svc;
	s->trusted = c->trusted;
	s->tls = c->svc == SVC_POP3S;
	snprintf(s->ip, sizeof s->ip, "%s", c->ip);
	pop3_auth_init(s);
	line_session_start(&s->ls, &pop3_proto, s, srv->base, &srv->cfg, &srv->sessions, c, s->ip,
	    s->tls, srv->tls_ctx, state_names[P_AUTHORIZATION]);
	return 0;
}
