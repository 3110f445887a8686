/*
 * smtp_session.c - one SMTP server connection: what SMTP makes of the shared
 * line session (session/line_session.h): its states, replies, command lines for
 * the table of smtp_commands.c, message text for smtp_txn.c, its deadlines and
 * timeouts, and the log line of its end.
 */
#include "smtp/smtp_session_int.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "smtp/smtpd.h"
#include "metrics/metrics.h"
#include "util/log.h"

#define INPUT_HIGH_WATER (256 * 1024)

static const char *const state_names[] = {
	[S_PREGREET] = "pregreet", [S_CONNECTED] = "connected", [S_READY] = "ready", [S_MAIL] = "mail",
	[S_RCPT] = "rcpt", [S_DATA] = "data", [S_BDAT] = "bdat",
	[S_COMMIT] = "commit",
};

void
session_enter(struct smtp_session *s, enum smtp_state st)
{
	line_session_enter(&s->ls, state_names[st]);
	s->state = st;
}

void
session_reply(struct smtp_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	line_session_vreply(&s->ls, fmt, ap);
	va_end(ap);
}

void
session_error(struct smtp_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	line_session_vrefuse(&s->ls, fmt, ap);
	va_end(ap);
}

struct policy_facts
session_facts(const struct smtp_session *s)
{
	return (struct policy_facts){ s->svc, s->tls, s->trusted, s->auth_user };
}

/* refusal_kind - the reason a policy refusal is counted under; -1: not one that is. */
static int
refusal_kind(enum policy_reason r)
{
	switch (r) {
	case POLICY_UNKNOWN_USER:
		return MX_REFUSE_UNKNOWN_USER;
	case POLICY_RELAY_DENIED:
		return MX_REFUSE_RELAY_DENIED;
	case POLICY_GREYLISTED:
		return MX_REFUSE_GREYLISTED;
	case POLICY_AUTH_REQUIRED:
		return MX_REFUSE_AUTH_REQUIRED;
	case POLICY_SENDER_NOT_OWNED:
		return MX_REFUSE_SENDER_NOT_OWNED;
	default:
		/* our own trouble (a store failure), or a client's misstep (AUTH on 25) */
		return -1;
	}
}

bool
session_allowed(struct smtp_session *s, const struct policy_decision *d)
{
	if (!policy_refused(d))
		return true;
	int kind = refusal_kind(d->reason);
	if (kind >= 0)
		metrics_refused((enum mx_refusal)kind);
	if (d->code >= 500)
		session_error(s, "%d %s %s", d->code, d->status, d->text);
	else
		session_reply(s, "%d %s %s", d->code, d->status, d->text);
	return false;
}

void
session_free(struct smtp_session *s, const char *reason)
{
	line_session_free(&s->ls, reason);
}

void
session_release(struct smtp_session *s)
{
	line_session_release(&s->ls);
}

void
session_close_after_flush(struct smtp_session *s, const char *reason)
{
	line_session_close_after_flush(&s->ls, reason);
}

/* read_command - one command line from the input; false when no whole line is there. */
static bool
read_command(struct smtp_session *s)
{
	char line[SMTP_LINE_MAX];
	size_t len;
	enum line_read r = line_session_read(&s->ls, SMTP_LINE_MAX, line, &len);

	if (r == LINE_OK)
		session_dispatch(s, line, len);
	return r != LINE_NONE;
}

void
session_process(struct smtp_session *s)
{
	if (s->state == S_PREGREET) {
		screen_input(s);
		return;
	}
	/* Bounded: a pipelining client's buffered input is finite (INPUT_HIGH_WATER). */
	while (line_session_may_read(&s->ls) && s->state != S_COMMIT) {
		struct evbuffer *in = bufferevent_get_input(s->ls.bev);
		if (s->state == S_DATA || s->state == S_BDAT) {
			if (!txn_read_data(s, in))
				break;
			continue;
		}
		if (evbuffer_get_length(in) == 0 || !read_command(s))
			break;
	}
	line_session_deadline(&s->ls);
}

/* ---- the hooks of the shared session ---- */

static void
process(void *owner)
{
	session_process(owner);
}

static enum deadline_kind
deadline(void *owner, uint64_t *rate)
{
	struct smtp_session *s = owner;

	if (s->state == S_COMMIT || s->state == S_PREGREET)
		return DEADLINE_NONE; /* the server is the one working, or waiting on purpose */
	if (s->state == S_DATA || s->state == S_BDAT) {
		*rate = s->srv->cfg->min_data_rate;
		return DEADLINE_DATA;
	}
	return DEADLINE_REQUEST;
}

static void
end(void *owner, const char *reason)
{
	struct smtp_session *s = owner;

	ev_info("disconnect", KS("client", s->ip), KS("reason", reason), KS("state", s->ls.state_name),
	    KN("messages", s->messages));
}

static void
destroy(void *owner)
{
	struct smtp_session *s = owner;

	txn_free(s);
	screen_end(s);
	free(s->helo);
	free(s->auth_user);
	free(s);
}

static bool
greet_later(void *owner)
{
	return screen_greet_later(owner);
}

static const struct line_proto smtp_proto = {
	.input_high = INPUT_HIGH_WATER,
	.greeting = { { "220 ", " ESMTP mailroom" } },
	.line_too_long = { { "500 5.5.2 Error: line too long", NULL } },
	.too_many_errors = { { "421 4.7.0 ", " Error: too many errors" } },
	.timeout = { { "421 4.4.2 ", " Error: timeout exceeded" } },
	.process = process,
	.deadline = deadline,
	.end = end,
	.destroy = destroy,
	.greet_later = greet_later,
};

int
smtp_session_new(struct smtpd *srv, const struct role_client *c)
{
	struct smtp_session *s = calloc(1, sizeof *s);

	if (s == NULL)
		return -1;
	s->srv = srv;
	s->svc = c->svc;
	s->trusted = c->trusted;
	s->tls = c->svc == SVC_SUBMISSIONS;
	snprintf(s->ip, sizeof s->ip, "%s", c->ip);
	snprintf(s->net, sizeof s->net, "%s", c->slot.key);
	session_auth_init(s);
	line_session_start(&s->ls, &smtp_proto, s, srv->base, &srv->cfg, &srv->sessions, c, s->ip,
	    s->tls, srv->tls_ctx, state_names[S_CONNECTED]);
	return 0;
}
