/*
 * smtp_session.c - one SMTP server connection: reading command lines (bounded)
 * for the table of smtp_commands.c, replies, timeouts, the state changes, and the
 * orderly end of a session. The mail transaction itself (MAIL, RCPT, DATA, BDAT)
 * is in smtp_txn.c.
 */
#include "smtp/smtp_session_int.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/ssl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/tls_bev.h"
#include "smtp/smtpd.h"
#include "util/log.h"

#define ERRORS_MAX 20             /* bad commands before we hang up (Postfix: 20) */
#define INPUT_HIGH_WATER (256 * 1024)

static const char *const state_names[] = {
	[S_CONNECTED] = "connected", [S_READY] = "ready", [S_MAIL] = "mail",
	[S_RCPT] = "rcpt", [S_DATA] = "data", [S_BDAT] = "bdat",
	[S_COMMIT] = "commit", [S_CLOSING] = "closing",
};

/* session_enter - every change of state goes through here (traced with MAILROOM_TRACE). */
void
session_enter(struct smtp_session *s, enum smtp_state st)
{
	if (st != s->state)
		log_debug("session %s: %s -> %s", s->ip, state_names[s->state], state_names[st]);
	s->state = st;
}

void
session_reply(struct smtp_session *s, const char *fmt, ...)
{
	va_list ap;
	struct evbuffer *out = bufferevent_get_output(s->bev);

	va_start(ap, fmt);
	evbuffer_add_vprintf(out, fmt, ap);
	va_end(ap);
	evbuffer_add(out, "\r\n", 2);
}

/* session_error - a refusal caused by the client; too many of them end the session. */
void
session_error(struct smtp_session *s, const char *fmt, ...)
{
	va_list ap;
	struct evbuffer *out = bufferevent_get_output(s->bev);

	va_start(ap, fmt);
	evbuffer_add_vprintf(out, fmt, ap);
	va_end(ap);
	evbuffer_add(out, "\r\n", 2);
	if (++s->errors >= ERRORS_MAX) {
		session_reply(s, "421 4.7.0 %s Error: too many errors", s->srv->cfg->hostname);
		session_close_after_flush(s, "too many errors");
	}
}

void
smtp_session_destroy(struct smtp_session *s)
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
	deadline_free(&s->dl);
	txn_free(s);
	free(s->helo);
	free(s->auth_user);
	free(s);
}

static void
free_later(evutil_socket_t fd, short what, void *arg)
{
	smtp_session_destroy(arg);
}

/*
 * session_close - end the session now. Freeing waits for the next loop turn (and
 * for a commit under way), so callers up the stack may still look at s->closing.
 */
void
session_free(struct smtp_session *s, const char *reason)
{
	if (s->closing)
		return;
	s->closing = true;
	log_info("disconnect from %s reason=%s state=%s messages=%u", s->ip, reason,
	    state_names[s->state], s->messages);
	s->drain_cb = NULL; /* freed with the bufferevents */
	deadline_stop(&s->dl);
	if (s->bev) {
		bufferevent_free(s->bev);
		s->bev = NULL;
	}
	conn_slot_leave(&s->slot);
	if (s->auth_delay) {
		/* The pending 535 will not be sent: drop the reference it held. */
		event_free(s->auth_delay);
		s->auth_delay = NULL;
		s->busy--;
	}
	if (s->busy > 0)
		return; /* session_release frees it */
	struct timeval zero = { 0, 0 };
	event_base_once(s->srv->base, -1, EV_TIMEOUT, free_later, s, &zero);
}

void
session_release(struct smtp_session *s)
{
	if (--s->busy == 0 && s->closing) {
		struct timeval zero = { 0, 0 };
		event_base_once(s->srv->base, -1, EV_TIMEOUT, free_later, s, &zero);
	}
}

static void
close_now(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_session *s = arg;

	if (!s->closing)
		session_free(s, s->close_reason);
	session_release(s);
}

/*
 * under_drained - after STARTTLS the session's bufferevent is a TLS filter whose
 * output drains into the socket's bufferevent; the last reply is on the wire only
 * when that one is empty too. Close on the next loop turn, not inside its callback.
 */
static void
under_drained(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct smtp_session *s = arg;
	struct timeval zero = { 0, 0 };

	if (evbuffer_get_length(buf) > 0 || s->drain_cb == NULL)
		return;
	evbuffer_remove_cb_entry(buf, s->drain_cb);
	s->drain_cb = NULL;
	s->busy++;
	if (event_base_once(s->srv->base, -1, EV_TIMEOUT, close_now, s, &zero) < 0) {
		s->busy--;
		session_free(s, s->close_reason);
	}
}

static void
on_drained(struct bufferevent *bev, void *arg)
{
	struct smtp_session *s = arg;
	struct bufferevent *under = bufferevent_get_underlying(bev);
	SSL *ssl = s->tls ? bufferevent_openssl_get_ssl(bev) : NULL;

	/* RFC 8446 6.1: close_notify before closing (once; after the last reply). */
	if (ssl != NULL && s->drain_cb == NULL && !(SSL_get_shutdown(ssl) & SSL_SENT_SHUTDOWN) &&
	    SSL_is_init_finished(ssl))
		SSL_shutdown(ssl);
	if (under != NULL && s->drain_cb == NULL &&
	    evbuffer_get_length(bufferevent_get_output(under)) > 0) {
		s->drain_cb = evbuffer_add_cb(bufferevent_get_output(under), under_drained, s);
		if (s->drain_cb != NULL)
			return;
	}
	if (s->drain_cb == NULL)
		session_free(s, s->close_reason);
}

void
session_close_after_flush(struct smtp_session *s, const char *reason)
{
	if (s->closing || s->state == S_CLOSING)
		return;
	session_enter(s, S_CLOSING);
	s->close_reason = reason;
	deadline_stop(&s->dl);
	bufferevent_disable(s->bev, EV_READ);
	/* A client that does not read its last reply: give it a few seconds. */
	struct timeval tv = { 10, 0 };
	bufferevent_set_timeouts(s->bev, NULL, &tv);
	bufferevent_setcb(s->bev, NULL, on_drained, session_on_event, s);
	bufferevent_setwatermark(s->bev, EV_WRITE, 0, 0);
	if (evbuffer_get_length(bufferevent_get_output(s->bev)) == 0)
		on_drained(s->bev, s);
}

/*
 * read_command - take one command line from the input. Returns false when no
 * complete line is there yet. A line over SMTP_LINE_MAX is refused when its end
 * arrives, and skipped, without ever being held whole in memory.
 */
static bool
read_command(struct smtp_session *s, struct evbuffer *in)
{
	size_t eol_len = 0;
	struct evbuffer_ptr eol = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_CRLF);

	if (eol.pos < 0) {
		size_t have = evbuffer_get_length(in);
		if (s->skip_line || have > SMTP_LINE_MAX) {
			evbuffer_drain(in, have);
			s->skip_line = true;
		}
		return false;
	}
	size_t len = (size_t)eol.pos;
	if (s->skip_line || len + 2 > SMTP_LINE_MAX) {
		evbuffer_drain(in, len + eol_len);
		s->skip_line = false;
		s->dl_restart = true;
		session_error(s, "500 5.5.2 Error: line too long");
		return true;
	}
	char line[SMTP_LINE_MAX];
	evbuffer_remove(in, line, len);
	evbuffer_drain(in, eol_len);
	s->dl_restart = true;
	session_dispatch(s, line, len);
	return true;
}

/* session_process - handle everything that is buffered, as far as the state allows. */
void
session_process(struct smtp_session *s)
{
	/* Bounded: a pipelining client's buffered input is finite (INPUT_HIGH_WATER). */
	while (!s->closing && s->state != S_CLOSING && s->state != S_COMMIT && !s->auth_waiting) {
		struct evbuffer *in = bufferevent_get_input(s->bev);
		if (s->state == S_DATA || s->state == S_BDAT) {
			if (!txn_read_data(s, in))
				break;
			continue;
		}
		if (evbuffer_get_length(in) == 0 || !read_command(s, in))
			break;
	}
	session_deadline(s);
}

void
session_deadline(struct smtp_session *s)
{
	const struct config *cfg = s->srv->cfg;
	enum deadline_kind want;
	uint64_t limit = cfg->command_timeout;

	/* While the server works (a commit, a password check) the client is not late. */
	if (s->closing || s->state == S_CLOSING || s->state == S_COMMIT || s->auth_waiting)
		want = DEADLINE_NONE;
	else if (s->tls && tls_bev_handshaking(s->bev))
		want = DEADLINE_HANDSHAKE;
	else if (s->state == S_DATA || s->state == S_BDAT)
		want = DEADLINE_DATA;
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
		deadline_start(&s->dl, want, limit, cfg->min_data_rate);
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	session_process(arg);
}

/* session_timeout - a deadline passed, or a client stopped reading its replies. */
static void
session_timeout(struct smtp_session *s)
{
	if (s->closing)
		return;
	if (s->state == S_CLOSING) {
		session_free(s, s->close_reason);
		return;
	}
	if (s->tls && tls_bev_handshaking(s->bev)) {
		/* No reply can reach a client that never finished the handshake, and
		 * a reply waiting for it would keep the connection open for ever. */
		log_info("timeout from %s state=tls-handshake", s->ip);
		session_free(s, "timeout");
		return;
	}
	log_info("timeout from %s state=%s", s->ip, state_names[s->state]);
	session_reply(s, "421 4.4.2 %s Error: timeout exceeded", s->srv->cfg->hostname);
	session_close_after_flush(s, "timeout");
}

static void
on_deadline(void *arg)
{
	session_timeout(arg);
}

void
session_on_event(struct bufferevent *bev, short what, void *arg)
{
	struct smtp_session *s = arg;

	if (what & BEV_EVENT_TIMEOUT) {
		session_timeout(s);
		return;
	}
	if (what & BEV_EVENT_CONNECTED) {
		session_tls_established(s);
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		const char *reason = (what & BEV_EVENT_EOF) ? "eof" : "error";
		session_tls_log_error(s);
		session_free(s, s->state == S_CLOSING ? s->close_reason : reason);
	}
}

/*
 * session_set_bev - (re)attach the callbacks and limits to s->bev (new, or after
 * STARTTLS). Reading is timed by s->dl, which bytes do not reset; the write
 * timeout catches a client that stops reading its replies.
 */
void
session_set_bev(struct smtp_session *s)
{
	struct timeval tv = { (time_t)s->srv->cfg->command_timeout, 0 };

	bufferevent_setcb(s->bev, on_read, NULL, session_on_event, s);
	bufferevent_set_timeouts(s->bev, NULL, &tv);
	bufferevent_setwatermark(s->bev, EV_READ, 0, INPUT_HIGH_WATER);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
}

void
session_greet(struct smtp_session *s)
{
	session_reply(s, "220 %s ESMTP mailroom", s->srv->cfg->hostname);
}

struct smtp_session *
smtp_session_new(struct smtpd *srv, int fd, const struct sockaddr *sa, enum service svc,
    const char *ip, struct conn_slot *slot)
{
	struct smtp_session *s = calloc(1, sizeof *s);
	if (s == NULL) {
		close(fd);
		conn_slot_leave(slot);
		return NULL;
	}
	(void)sa;
	s->srv = srv;
	s->next = srv->sessions;
	if (s->next)
		s->next->prev = s;
	srv->sessions = s;
	s->svc = svc;
	snprintf(s->ip, sizeof s->ip, "%s", ip);
	s->slot = *slot;
	s->trusted = config_is_trusted(srv->cfg, sa);
	log_info("connect from %s on %s%s", ip, service_name(svc), s->trusted ? " (trusted)" : "");
	if (deadline_init(&s->dl, srv->base, on_deadline, s) < 0 || session_start_io(s, fd) < 0) {
		log_err("cannot set up the connection from %s", ip);
		if (s->bev == NULL)
			close(fd);
		session_free(s, "setup failed");
		return NULL;
	}
	session_deadline(s);
	return s;
}
