/*
 * line_session.c - the connection of an SMTP or POP3 session, whatever the
 * protocol says on it: callbacks of its bufferevent, bounded command lines,
 * deadlines and timeouts, holds, the refusal delay, the close after the last
 * reply, and the end every exit path takes (line_session.h).
 */
#include "session/line_session.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/ssl.h>
#include <string.h>
#include <unistd.h>

#include "metrics/metrics.h"
#include "net/tls_bev.h"
#include "util/log.h"

#define ERRORS_MAX 20    /* bad commands before we hang up (Postfix: 20) */
#define ERROR_PAUSE_MAX 3 /* seconds: the longest pause after a bad command */
#define LINGER_SECONDS 10 /* closing: how long a client gets to read its last reply */

static void on_event(struct bufferevent *bev, short what, void *arg);
static void on_timeout(struct line_session *ls, bool writing);
static void say(struct line_session *ls, const struct line_text *t);

static void
destroy_later(evutil_socket_t fd, short what, void *arg)
{
	line_session_destroy(arg);
}

/* free_soon - on the next loop turn: callers up the stack may still look at ls. */
static void
free_soon(struct line_session *ls)
{
	struct timeval zero = { 0, 0 };

	event_base_once(ls->base, -1, EV_TIMEOUT, destroy_later, ls, &zero);
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	struct line_session *ls = arg;

	ls->proto->process(ls->owner);
}

/* on_write - the client read its replies down to output_low: take input again. */
static void
on_write(struct bufferevent *bev, void *arg)
{
	struct line_session *ls = arg;

	ls->proto->process(ls->owner);
}

/*
 * attach - the callbacks and limits of ls->bev (new, or after STARTTLS). Reading
 * is timed by ls->dl, which bytes do not reset; the write timeout catches a client
 * that stops reading its replies.
 */
static void
attach(struct line_session *ls)
{
	const struct line_proto *p = ls->proto;
	struct timeval tv = { (time_t)(*ls->cfg)->command_timeout, 0 };

	bufferevent_setcb(ls->bev, on_read, p->output_high ? on_write : NULL, on_event, ls);
	bufferevent_set_timeouts(ls->bev, NULL, &tv);
	bufferevent_setwatermark(ls->bev, EV_READ, 0, p->input_high);
	bufferevent_setwatermark(ls->bev, EV_WRITE, p->output_low, 0);
	bufferevent_enable(ls->bev, EV_READ | EV_WRITE);
}

static void
on_deadline(void *arg)
{
	on_timeout(arg, false);
}

/* open_bev - the deadline, then the bufferevent on fd; -1 with fd closed. */
static int
open_bev(struct line_session *ls, int fd, bool implicit_tls, SSL_CTX *ctx)
{
	if (deadline_init(&ls->dl, ls->base, on_deadline, ls) < 0) {
		close(fd);
		return -1;
	}
	if (implicit_tls)
		ls->bev = tls_bev_accept(ls->base, fd, ctx);
	else
		ls->bev = bufferevent_socket_new(ls->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (ls->bev == NULL) {
		close(fd);
		return -1;
	}
	attach(ls);
	return 0;
}

void
line_session_start(struct line_session *ls, const struct line_proto *proto, void *owner,
    struct event_base *base, struct config *const *cfg, struct line_session **head,
    const struct role_client *c, const char *ip, bool implicit_tls, SSL_CTX *ctx,
    const char *state_name)
{
	ls->proto = proto;
	ls->owner = owner;
	ls->base = base;
	ls->cfg = cfg;
	ls->ip = ip;
	ls->state_name = state_name;
	ls->slot = c->slot;
	ls->head = head;
	ls->next = *head;
	if (ls->next)
		ls->next->prev = ls;
	*head = ls;
	ev_info("connect", KS("client", ip), KS("service", service_name(c->svc)),
	    KS("trusted", c->trusted ? "yes" : NULL));
	if (open_bev(ls, c->fd, implicit_tls, ctx) < 0) {
		ev_err("connect-failed", KS("client", ip), KS("error", "out of memory"));
		line_session_free(ls, "setup failed");
		return;
	}
	/* With implicit TLS the greeting waits in the buffer until the handshake is done. */
	if (proto->greet_later == NULL || !proto->greet_later(owner))
		say(ls, &proto->greeting);
	line_session_deadline(ls);
}

void
line_session_greet(struct line_session *ls)
{
	say(ls, &ls->proto->greeting);
}

void
line_session_enter(struct line_session *ls, const char *name)
{
	if (log_debug_enabled() && strcmp(name, ls->state_name) != 0)
		log_debug("session %s: %s -> %s", ls->ip, ls->state_name, name);
	ls->state_name = name;
}

int
line_session_upgrade(struct line_session *ls, SSL_CTX *ctx, const char *verb)
{
	size_t dropped;
	struct bufferevent *tls = tls_bev_upgrade(ls->base, ls->bev, ctx, &dropped);

	if (tls == NULL)
		return -1;
	if (dropped > 0)
		ev_info("pipelined-discarded", KS("client", ls->ip), KS("after", verb),
		    KN("size", dropped));
	ls->bev = tls;
	attach(ls);
	line_session_deadline(ls); /* the handshake's */
	return 0;
}

void
line_session_vreply(struct line_session *ls, const char *fmt, va_list ap)
{
	if (ls->bev == NULL)
		return;
	struct evbuffer *out = bufferevent_get_output(ls->bev);
	evbuffer_add_vprintf(out, fmt, ap);
	evbuffer_add(out, "\r\n", 2);
}

void
line_session_reply(struct line_session *ls, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	line_session_vreply(ls, fmt, ap);
	va_end(ap);
}

/* say - one of the protocol's fixed replies. */
static void
say(struct line_session *ls, const struct line_text *t)
{
	if (t->text[1] == NULL)
		line_session_reply(ls, "%s", t->text[0]);
	else
		line_session_reply(ls, "%s%s%s", t->text[0], (*ls->cfg)->hostname, t->text[1]);
}

/* nothing - what follows an error pause: only the reading of input again. */
static void
nothing(void *arg)
{
}

/*
 * count_error - one bad command more. Past soft_error_limit the next command is
 * read only after a pause that grows by a second with each error, up to
 * ERROR_PAUSE_MAX (Postfix's
 * smtpd_error_sleep_time between its soft and hard limits): a client that hammers
 * with garbage slows itself down; at ERRORS_MAX it is sent away.
 */
static void
count_error(struct line_session *ls)
{
	unsigned soft = (*ls->cfg)->soft_error_limit;

	if (++ls->errors >= ERRORS_MAX) {
		metrics_refused(MX_REFUSE_TOO_MANY_ERRORS);
		say(ls, &ls->proto->too_many_errors);
		line_session_close_after_flush(ls, "too many errors");
		return;
	}
	if (soft > 0 && ls->errors > soft && ls->delay == NULL) {
		unsigned pause = ls->errors - soft;
		line_session_delay(ls, pause < ERROR_PAUSE_MAX ? pause : ERROR_PAUSE_MAX, nothing, NULL);
	}
}

void
line_session_vrefuse(struct line_session *ls, const char *fmt, va_list ap)
{
	line_session_vreply(ls, fmt, ap);
	count_error(ls);
}

void
line_session_refuse(struct line_session *ls, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	line_session_vrefuse(ls, fmt, ap);
	va_end(ap);
}

enum line_read
line_session_read(struct line_session *ls, size_t max, char *line, size_t *len)
{
	struct evbuffer *in = bufferevent_get_input(ls->bev);
	size_t eol_len = 0;
	struct evbuffer_ptr eol = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_CRLF);

	if (eol.pos < 0) {
		size_t have = evbuffer_get_length(in);
		if (ls->skip_line || have > max) {
			evbuffer_drain(in, have);
			ls->skip_line = true;
		}
		return LINE_NONE;
	}
	size_t n = (size_t)eol.pos;
	ls->dl_restart = true;
	if (ls->skip_line || n + 2 > max) {
		evbuffer_drain(in, n + eol_len);
		ls->skip_line = false;
		say(ls, &ls->proto->line_too_long);
		count_error(ls);
		return LINE_TOO_LONG;
	}
	evbuffer_remove(in, line, n);
	evbuffer_drain(in, eol_len);
	*len = n;
	return LINE_OK;
}

/* output_full - more replies wait for the client than it may have unread. */
static bool
output_full(const struct line_session *ls)
{
	size_t high = ls->proto->output_high;

	return high > 0 && evbuffer_get_length(bufferevent_get_output(ls->bev)) >= high;
}

bool
line_session_may_read(const struct line_session *ls)
{
	return !ls->closing && !ls->flushing && !ls->waiting && !output_full(ls);
}

void
line_session_deadline(struct line_session *ls)
{
	enum deadline_kind want;
	uint64_t limit = (*ls->cfg)->command_timeout, rate = 0;

	/* While the server works or the client reads its replies, the client is not late
	 * with a command (a client that does not read meets the write timeout). */
	if (ls->closing || ls->flushing || ls->waiting)
		want = DEADLINE_NONE;
	else if (tls_bev_handshaking(ls->bev))
		want = DEADLINE_HANDSHAKE;
	else if (output_full(ls))
		want = DEADLINE_NONE;
	else
		want = ls->proto->deadline(ls->owner, &rate);
	if (want == ls->dl.kind && !ls->dl_restart)
		return;
	ls->dl_restart = false;
	if (want == DEADLINE_HANDSHAKE)
		limit = tls_bev_handshake_limit(limit);
	if (want == DEADLINE_NONE)
		deadline_stop(&ls->dl);
	else
		deadline_start(&ls->dl, want, limit, rate);
}

void
line_session_hold(struct line_session *ls)
{
	ls->busy++;
}

void
line_session_release(struct line_session *ls)
{
	if (--ls->busy == 0 && ls->closing)
		free_soon(ls);
}

static void
delay_over(evutil_socket_t fd, short what, void *arg)
{
	struct line_session *ls = arg;

	event_free(ls->delay);
	ls->delay = NULL;
	ls->waiting = false;
	ls->delay_fn(ls->delay_arg);
	line_session_release(ls);
	if (!ls->closing)
		ls->proto->process(ls->owner);
}

int
line_session_delay(struct line_session *ls, unsigned seconds, void (*fn)(void *arg), void *arg)
{
	struct timeval tv = { (time_t)seconds, 0 };

	ls->delay = evtimer_new(ls->base, delay_over, ls);
	if (ls->delay == NULL || evtimer_add(ls->delay, &tv) < 0) {
		if (ls->delay)
			event_free(ls->delay);
		ls->delay = NULL;
		return -1;
	}
	ls->delay_fn = fn;
	ls->delay_arg = arg;
	ls->waiting = true;
	line_session_hold(ls);
	return 0;
}

/* end_now - the end, on the loop turn after the last octets left. */
static void
end_now(evutil_socket_t fd, short what, void *arg)
{
	struct line_session *ls = arg;

	if (!ls->closing)
		line_session_free(ls, ls->close_reason);
	line_session_release(ls);
}

/*
 * under_drained - after STARTTLS the session's bufferevent is a TLS filter whose
 * output drains into the socket's bufferevent; the last reply is on the wire only
 * when that one is empty too. End on the next loop turn, not inside its callback.
 */
static void
under_drained(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct line_session *ls = arg;
	struct timeval zero = { 0, 0 };

	if (evbuffer_get_length(buf) > 0 || ls->drain_cb == NULL)
		return;
	evbuffer_remove_cb_entry(buf, ls->drain_cb);
	ls->drain_cb = NULL;
	line_session_hold(ls);
	if (event_base_once(ls->base, -1, EV_TIMEOUT, end_now, ls, &zero) < 0) {
		ls->busy--;
		line_session_free(ls, ls->close_reason);
	}
}

static void
on_drained(struct bufferevent *bev, void *arg)
{
	struct line_session *ls = arg;
	struct bufferevent *under = bufferevent_get_underlying(bev);
	SSL *ssl = bufferevent_openssl_get_ssl(bev);

	/* RFC 8446 6.1: close_notify before closing (once; after the last reply). */
	if (ssl != NULL && ls->drain_cb == NULL && !(SSL_get_shutdown(ssl) & SSL_SENT_SHUTDOWN) &&
	    SSL_is_init_finished(ssl))
		SSL_shutdown(ssl);
	if (under != NULL && ls->drain_cb == NULL &&
	    evbuffer_get_length(bufferevent_get_output(under)) > 0) {
		ls->drain_cb = evbuffer_add_cb(bufferevent_get_output(under), under_drained, ls);
		if (ls->drain_cb != NULL)
			return;
	}
	if (ls->drain_cb == NULL)
		line_session_free(ls, ls->close_reason);
}

static void
linger_over(evutil_socket_t fd, short what, void *arg)
{
	struct line_session *ls = arg;

	line_session_free(ls, ls->close_reason);
}

void
line_session_close_after_flush(struct line_session *ls, const char *reason)
{
	/* A client that does not read its last reply gets a few seconds (the write
	 * timeout), and as many for the socket under a TLS filter (linger). */
	struct timeval tv = { LINGER_SECONDS, 0 };

	if (ls->closing || ls->flushing)
		return;
	line_session_enter(ls, "closing");
	ls->flushing = true;
	ls->close_reason = reason;
	deadline_stop(&ls->dl);
	bufferevent_disable(ls->bev, EV_READ);
	bufferevent_set_timeouts(ls->bev, NULL, &tv);
	bufferevent_setcb(ls->bev, NULL, on_drained, on_event, ls);
	bufferevent_setwatermark(ls->bev, EV_WRITE, 0, 0);
	if ((ls->linger = evtimer_new(ls->base, linger_over, ls)) != NULL)
		evtimer_add(ls->linger, &tv);
	if (evbuffer_get_length(bufferevent_get_output(ls->bev)) == 0)
		on_drained(ls->bev, ls);
}

/* on_timeout - a deadline passed (writing false), or a client stopped reading its replies. */
static void
on_timeout(struct line_session *ls, bool writing)
{
	if (ls->closing)
		return;
	if (ls->flushing) {
		line_session_free(ls, ls->close_reason);
		return;
	}
	if (tls_bev_handshaking(ls->bev)) {
		/* No reply can reach a client that never finished the handshake, and
		 * a reply waiting for it would keep the connection open for ever. */
		ev_info("timeout", KS("client", ls->ip), KS("state", "tls-handshake"));
		line_session_free(ls, "timeout");
		return;
	}
	ev_info("timeout", KS("client", ls->ip), KS("state", ls->state_name));
	if (writing) {
		/* It stopped reading (in the middle of a reply, perhaps): nothing more to say. */
		line_session_free(ls, "timeout");
		return;
	}
	say(ls, &ls->proto->timeout);
	line_session_close_after_flush(ls, "timeout");
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	struct line_session *ls = arg;

	if (what & BEV_EVENT_TIMEOUT) {
		on_timeout(ls, what & BEV_EVENT_WRITING);
		return;
	}
	if (what & BEV_EVENT_CONNECTED) {
		tls_bev_log_established(ls->bev, ls->ip);
		line_session_deadline(ls); /* now the first command's */
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		const char *reason = (what & BEV_EVENT_EOF) ? "eof" : "error";
		if ((what & BEV_EVENT_ERROR) && tls_bev_handshaking(ls->bev))
			tls_bev_flush_alert(ls->bev);
		tls_bev_log_errors(ls->bev, ls->ip);
		line_session_free(ls, ls->flushing ? ls->close_reason : reason);
	}
}

void
line_session_free(struct line_session *ls, const char *reason)
{
	if (ls->closing)
		return;
	ls->closing = true;
	ls->proto->end(ls->owner, reason);
	ls->drain_cb = NULL; /* freed with the bufferevents */
	deadline_stop(&ls->dl);
	if (ls->bev) {
		bufferevent_free(ls->bev);
		ls->bev = NULL;
	}
	if (ls->linger) {
		event_free(ls->linger);
		ls->linger = NULL;
	}
	conn_slot_leave(&ls->slot);
	if (ls->delay) {
		/* The pending refusal will not be sent: drop the hold it had. */
		event_free(ls->delay);
		ls->delay = NULL;
		ls->busy--;
	}
	if (ls->busy == 0)
		free_soon(ls);
}

void
line_session_destroy(struct line_session *ls)
{
	if (ls->prev)
		ls->prev->next = ls->next;
	else if (ls->head)
		*ls->head = ls->next;
	if (ls->next)
		ls->next->prev = ls->prev;
	conn_slot_leave(&ls->slot);
	if (ls->bev)
		bufferevent_free(ls->bev);
	if (ls->delay)
		event_free(ls->delay);
	if (ls->linger)
		event_free(ls->linger);
	deadline_free(&ls->dl);
	ls->proto->destroy(ls->owner);
}
