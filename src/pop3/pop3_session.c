/*
 * pop3_session.c - one POP3 server connection: reading command lines (bounded,
 * RFC 2449's 255 octets) for the table of pop3_commands.c, replies, timeouts, the
 * state changes, and the orderly end of a session.
 */
#include "pop3/pop3_session_int.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "net/tls_bev.h"
#include "pop3/pop3d.h"
#include "util/log.h"

#define ERRORS_MAX 20             /* bad commands before we hang up */
#define INPUT_HIGH_WATER (64 * 1024)
#define DRAIN_POLL_USEC 10000     /* closing after STLS: how often to look at the socket */
#define DRAIN_POLLS 1000          /* for at most 10 s */

static const char *const state_names[] = {
	[P_AUTHORIZATION] = "authorization",
	[P_TRANSACTION] = "transaction",
	[P_CLOSING] = "closing",
};

/* pop3_enter - every change of state goes through here (traced with MAILROOM_TRACE). */
void
pop3_enter(struct pop3_session *s, enum pop3_state st)
{
	if (st != s->state)
		log_debug("session %s: %s -> %s", s->ip, state_names[s->state], state_names[st]);
	s->state = st;
}

void
pop3_reply(struct pop3_session *s, const char *fmt, ...)
{
	va_list ap;
	struct evbuffer *out = bufferevent_get_output(s->bev);

	va_start(ap, fmt);
	evbuffer_add_vprintf(out, fmt, ap);
	va_end(ap);
	evbuffer_add(out, "\r\n", 2);
}

/* pop3_error - a refusal caused by the client; too many of them end the session. */
void
pop3_error(struct pop3_session *s, const char *fmt, ...)
{
	va_list ap;
	struct evbuffer *out = bufferevent_get_output(s->bev);

	va_start(ap, fmt);
	evbuffer_add_vprintf(out, fmt, ap);
	va_end(ap);
	evbuffer_add(out, "\r\n", 2);
	if (++s->errors >= ERRORS_MAX) {
		pop3_reply(s, "-ERR Too many errors, closing the connection");
		pop3_close_after_flush(s, "too many errors");
	}
}

void
pop3_session_destroy(struct pop3_session *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		s->srv->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	conn_slot_leave(&s->slot);
	if (s->bev)
		bufferevent_free(s->bev);
	if (s->auth_delay)
		event_free(s->auth_delay);
	if (s->drain_ev)
		event_free(s->drain_ev);
	deadline_free(&s->dl);
	pop3_trans_free(s);
	free(s->login);
	explicit_bzero(s, sizeof *s);
	free(s);
}

static void on_drain_timer(evutil_socket_t fd, short what, void *arg);
static void pop3_deadline(struct pop3_session *s);

static void
free_later(evutil_socket_t fd, short what, void *arg)
{
	pop3_session_destroy(arg);
}

/*
 * pop3_close - end the session now; a maildrop still open is released with
 * nothing deleted (RFC 1939: only QUIT enters UPDATE). Freeing waits for the next
 * loop turn (and for a login job under way), so callers up the stack may still
 * look at s->closing.
 */
void
pop3_free(struct pop3_session *s, const char *reason)
{
	if (s->closing)
		return;
	s->closing = true;
	/* The state the session ended in, not the flushing of its last reply. */
	enum pop3_state st = s->state == P_CLOSING ? s->closed_from : s->state;
	log_info("disconnect from %s reason=%s state=%s%s%s retrieved=%u deleted=%u", s->ip,
	    reason, state_names[st], s->login ? " user=" : "", s->login ? s->login : "",
	    s->retrieved, s->deleted);
	deadline_stop(&s->dl);
	if (s->bev) {
		bufferevent_free(s->bev);
		s->bev = NULL;
	}
	if (s->drain_ev) {
		event_free(s->drain_ev);
		s->drain_ev = NULL;
	}
	conn_slot_leave(&s->slot);
	pop3_trans_free(s);
	if (s->auth_delay) {
		/* The pending refusal will not be sent: drop the reference it held. */
		event_free(s->auth_delay);
		s->auth_delay = NULL;
		s->busy--;
	}
	if (s->busy > 0)
		return; /* pop3_release frees it */
	struct timeval zero = { 0, 0 };
	event_base_once(s->srv->base, -1, EV_TIMEOUT, free_later, s, &zero);
}

void
pop3_release(struct pop3_session *s)
{
	if (--s->busy == 0 && s->closing) {
		struct timeval zero = { 0, 0 };
		event_base_once(s->srv->base, -1, EV_TIMEOUT, free_later, s, &zero);
	}
}

/*
 * drained - the last reply has left s->bev. After STLS that is a filter whose
 * underlying socket bufferevent may still hold the encrypted octets: freeing now
 * would cut them off, so look again shortly (bounded by DRAIN_POLLS).
 */
static void
drained(struct pop3_session *s)
{
	struct bufferevent *u = bufferevent_get_underlying(s->bev);

	if (u != NULL && evbuffer_get_length(bufferevent_get_output(u)) > 0 &&
	    s->drain_polls++ < DRAIN_POLLS) {
		if (s->drain_ev == NULL)
			s->drain_ev = evtimer_new(s->srv->base, on_drain_timer, s);
		struct timeval tv = { 0, DRAIN_POLL_USEC };
		if (s->drain_ev != NULL && evtimer_add(s->drain_ev, &tv) == 0)
			return;
	}
	pop3_free(s, s->close_reason);
}

static void
on_drain_timer(evutil_socket_t fd, short what, void *arg)
{
	drained(arg);
}

static void
on_drained(struct bufferevent *bev, void *arg)
{
	drained(arg);
}

void
pop3_close_after_flush(struct pop3_session *s, const char *reason)
{
	if (s->closing || s->state == P_CLOSING)
		return;
	s->closed_from = s->state;
	pop3_enter(s, P_CLOSING);
	s->close_reason = reason;
	deadline_stop(&s->dl);
	bufferevent_disable(s->bev, EV_READ);
	/* A client that does not read its last reply: give it a few seconds. */
	struct timeval tv = { 10, 0 };
	bufferevent_set_timeouts(s->bev, NULL, &tv);
	bufferevent_setcb(s->bev, NULL, on_drained, pop3_on_event, s);
	bufferevent_setwatermark(s->bev, EV_WRITE, 0, 0);
	if (evbuffer_get_length(bufferevent_get_output(s->bev)) == 0)
		drained(s);
}

/* line_max - the longest line (with CRLF) accepted next: more for SASL. */
static size_t
line_max(struct pop3_session *s, struct evbuffer *in)
{
	char head[5];

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

/*
 * read_command - take one command line from the input. Returns false when no
 * complete line is there yet. A line over the limit is refused when its end
 * arrives, and skipped, without ever being held whole in memory.
 */
static bool
read_command(struct pop3_session *s, struct evbuffer *in)
{
	size_t eol_len = 0;
	struct evbuffer_ptr eol = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_CRLF);
	size_t max = line_max(s, in);

	if (eol.pos < 0) {
		size_t have = evbuffer_get_length(in);
		if (s->skip_line || have > max) {
			evbuffer_drain(in, have);
			s->skip_line = true;
		}
		return false;
	}
	size_t len = (size_t)eol.pos;
	if (s->skip_line || len + 2 > max) {
		evbuffer_drain(in, len + eol_len);
		s->skip_line = false;
		s->sasl_wait = false;
		s->dl_restart = true;
		pop3_error(s, "-ERR Line too long");
		return true;
	}
	char line[POP3_SASL_LINE_MAX];
	evbuffer_remove(in, line, len);
	evbuffer_drain(in, eol_len);
	s->dl_restart = true;
	pop3_dispatch(s, line, len);
	explicit_bzero(line, len); /* it may have held a password */
	return true;
}

/* pop3_process - handle everything that is buffered, as far as the state allows. */
void
pop3_process(struct pop3_session *s)
{
	/* Bounded: a pipelining client's buffered input is finite (INPUT_HIGH_WATER). */
	while (!s->closing && s->state != P_CLOSING && !s->waiting && s->out.kind == OUT_NONE) {
		struct evbuffer *in = bufferevent_get_input(s->bev);
		if (evbuffer_get_length(bufferevent_get_output(s->bev)) >= POP3_OUTPUT_HIGH)
			break; /* on_write goes on when the client has read some */
		if (evbuffer_get_length(in) == 0 || !read_command(s, in))
			break;
	}
	pop3_deadline(s);
}

/* pop3_deadline - the time limit for what s waits for now (restarted when that changed). */
static void
pop3_deadline(struct pop3_session *s)
{
	enum deadline_kind want;
	uint64_t limit = s->srv->cfg->command_timeout;

	/* A login being checked, or a reply the client is reading: no command is due. */
	if (s->closing || s->state == P_CLOSING || s->waiting || s->out.kind != OUT_NONE)
		want = DEADLINE_NONE;
	else if (s->tls && tls_bev_handshaking(s->bev))
		want = DEADLINE_HANDSHAKE;
	else
		want = DEADLINE_REQUEST;
	if (want == s->dl.kind && !s->dl_restart)
		return;
	s->dl_restart = false;
	if (want == DEADLINE_HANDSHAKE)
		limit = tls_bev_handshake_limit(limit);
	if (want == DEADLINE_NONE)
		deadline_stop(&s->dl);
	else
		deadline_start(&s->dl, want, limit, 0);
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	pop3_process(arg);
}

static void
on_write(struct bufferevent *bev, void *arg)
{
	struct pop3_session *s = arg;

	if (s->out.kind != OUT_NONE && !pop3_trans_pump(s))
		return;
	if (!s->closing)
		pop3_process(s);
}

/* pop3_timeout - a deadline passed, or a client stopped reading its replies. */
static void
pop3_timeout(struct pop3_session *s)
{
	if (s->closing)
		return;
	if (s->state == P_CLOSING) {
		pop3_free(s, s->close_reason);
		return;
	}
	if (s->tls && tls_bev_handshaking(s->bev)) {
		/* No reply can reach a client that never finished the handshake. */
		log_info("timeout from %s state=tls-handshake", s->ip);
		pop3_free(s, "timeout");
		return;
	}
	log_info("timeout from %s state=%s", s->ip, state_names[s->state]);
	if (s->out.kind != OUT_NONE) {
		/* The client stopped reading in the middle of a reply: nothing more to say. */
		pop3_free(s, "timeout");
		return;
	}
	pop3_reply(s, "-ERR Disconnected for inactivity");
	pop3_close_after_flush(s, "timeout");
}

static void
on_deadline(void *arg)
{
	pop3_timeout(arg);
}

void
pop3_on_event(struct bufferevent *bev, short what, void *arg)
{
	struct pop3_session *s = arg;

	if (what & BEV_EVENT_TIMEOUT) {
		pop3_timeout(s);
		return;
	}
	if (what & BEV_EVENT_CONNECTED) {
		pop3_tls_established(s);
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		const char *reason = (what & BEV_EVENT_EOF) ? "eof" : "error";
		pop3_tls_log_error(s);
		pop3_free(s, s->state == P_CLOSING ? s->close_reason : reason);
	}
}

void
pop3_timeouts(struct pop3_session *s)
{
	struct timeval tv = { (time_t)s->srv->cfg->command_timeout, 0 };

	/* Reading is timed by s->dl, which bytes do not reset (none while a reply
	 * streams: the client is reading then, and only the write timeout counts). */
	bufferevent_set_timeouts(s->bev, NULL, &tv);
	pop3_deadline(s);
}

/* pop3_set_bev - (re)attach the callbacks and limits to s->bev (new, or after STLS). */
void
pop3_set_bev(struct pop3_session *s)
{
	bufferevent_setcb(s->bev, on_read, on_write, pop3_on_event, s);
	pop3_timeouts(s);
	bufferevent_setwatermark(s->bev, EV_READ, 0, INPUT_HIGH_WATER);
	bufferevent_setwatermark(s->bev, EV_WRITE, POP3_OUTPUT_LOW, 0);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
}

void
pop3_greet(struct pop3_session *s)
{
	pop3_reply(s, "+OK %s POP3 mailroom ready", s->srv->cfg->hostname);
}

struct pop3_session *
pop3_session_new(struct pop3d *srv, int fd, const struct sockaddr *sa, enum service svc,
    const char *ip, struct conn_slot *slot)
{
	struct pop3_session *s = calloc(1, sizeof *s);
	if (s == NULL) {
		close(fd);
		conn_slot_leave(slot);
		return NULL;
	}
	s->srv = srv;
	s->next = srv->sessions;
	if (s->next)
		s->next->prev = s;
	srv->sessions = s;
	s->svc = svc;
	s->out.fd = -1;
	snprintf(s->ip, sizeof s->ip, "%s", ip);
	s->slot = *slot;
	s->trusted = config_is_trusted(srv->cfg, sa);
	log_info("connect from %s on %s%s", ip, service_name(svc), s->trusted ? " (trusted)" : "");
	if (deadline_init(&s->dl, srv->base, on_deadline, s) < 0 || pop3_start_io(s, fd) < 0) {
		log_err("cannot set up the connection from %s", ip);
		if (s->bev == NULL)
			close(fd);
		pop3_free(s, "setup failed");
		return NULL;
	}
	return s;
}
