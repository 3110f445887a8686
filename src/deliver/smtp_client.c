/*
 * smtp_client.c - one outbound SMTP conversation over a bufferevent: the connection,
 * its timeouts (RFC 5321 4.5.3.2), reading replies line by line (each complete one
 * goes to smtp_client_cmd.c), lost connections by the table of client_reply.h, the
 * one report at the end of each transaction, and a connection kept idle between them.
 */
#include "deliver/smtp_client_int.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "deliver/dane_tls.h"
#include "net/tls.h"
#include "util/log.h"

void
cl_set_timeout(struct smtp_client *c, int secs)
{
	struct timeval tv = { secs, 0 };
	bufferevent_set_timeouts(c->bev, &tv, &tv);
}

void
cl_send_line(struct smtp_client *c, const char *fmt, ...)
{
	va_list ap;
	struct evbuffer *out = bufferevent_get_output(c->bev);
	va_start(ap, fmt);
	evbuffer_add_vprintf(out, fmt, ap);
	va_end(ap);
	evbuffer_add(out, "\r\n", 2);
}

/* cl_try_next - no transaction began here: the caller tries the next address. */
void
cl_try_next(struct smtp_client *c, enum client_outcome how, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	c->res.outcome = how;
	c->res.code = code;
	vsnprintf(c->res.text, sizeof c->res.text, fmt, ap);
	va_end(ap);
	cl_finish(c);
}

/* fail_pending - every recipient without a result gets code and text. */
void
cl_fail_pending(struct smtp_client *c, int code, const char *text)
{
	for (size_t i = 0; i < c->p.nrcpts; i++) {
		if (c->res.rcpt_code[i] == 0 || c->res.rcpt_code[i] == -1) {
			c->res.rcpt_code[i] = code;
			snprintf(c->res.rcpt_text[i], CLIENT_TEXT_MAX, "%s", text);
		}
	}
	c->res.outcome = CLIENT_DONE;
}

/* server_text - "host[ip] said: 550 5.1.1 ..." for results. */
void
cl_server_text(struct smtp_client *c, char *out, size_t outlen)
{
	char line[CLIENT_TEXT_MAX];
	smtp_reply_oneline(&c->reply, line, sizeof line);
	snprintf(out, outlen, "%s (%s said)", line, c->p.host);
}

void
cl_quit(struct smtp_client *c)
{
	c->state = STAGE_QUIT;
	cl_send_line(c, "QUIT");
	cl_set_timeout(c, 10);
}

void
cl_tls_required_fail(struct smtp_client *c, const char *status, const char *fmt, ...)
{
	char why[CLIENT_TEXT_MAX / 2], text[CLIENT_TEXT_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	if (c->p.verify_name == NULL || c->p.verify_next) {
		/* DANE or MTA-STS: this server will not do; the caller may try another. */
		c->res.outcome = CLIENT_TRY_NEXT;
		c->res.code = 451;
		c->res.tls_status = status;
		snprintf(c->res.text, sizeof c->res.text, "%s", why);
		return;
	}
	snprintf(text, sizeof text, "451 %s %s", status, why);
	cl_fail_pending(c, 451, text);
}

static void
client_free(struct smtp_client *c)
{
	free(c->res.rcpt_code);
	free(c->res.rcpt_text);
	free(c);
}

/* text_close - the message text is not read from any more (its transaction is over). */
static void
text_close(struct smtp_client *c)
{
	outform_close(&c->text);
	c->text_open = false;
}

/* idle_leave - an idle c ends on its own: its keeper lets go of it first. */
static void
idle_leave(struct smtp_client *c)
{
	void (*gone)(void *, struct smtp_client *) = c->idle_gone;

	c->idle_gone = NULL;
	if (gone != NULL)
		gone(c->idle_arg, c);
}

/*
 * client_finish - close, report once through done (unless this transaction was
 * reported already: a kept connection's end), and free c; inside on_read (a reply
 * handler ended the conversation) the free waits until on_read is done with c.
 */
void
cl_finish(struct smtp_client *c)
{
	if (c->finished)
		return;
	c->finished = true;
	idle_leave(c);
	if (c->bev) {
		bufferevent_free(c->bev);
		c->bev = NULL;
	}
	text_close(c);
	if (!c->reported) {
		c->reported = true;
		c->done(c->arg, &c->res);
	}
	if (c->reading == 0)
		client_free(c);
}

void
cl_transaction_over(struct smtp_client *c, bool need_rset)
{
	c->res.outcome = CLIENT_DONE;
	/* 421 anywhere: the server is closing the connection. */
	if (!c->p.reuse || c->reply.code == 421 || time(NULL) - c->born >= REUSE_SECS) {
		cl_quit(c);
		return;
	}
	text_close(c);
	c->need_rset = need_rset;
	c->state = STAGE_IDLE;
	c->res.reusable = true;
	c->reported = true;
	c->done(c->arg, &c->res);
	if (c->idle_gone == NULL && c->state == STAGE_IDLE)
		cl_quit(c); /* not kept */
}

void
cl_send_ehlo(struct smtp_client *c)
{
	c->state = STAGE_EHLO;
	cl_send_line(c, "EHLO %s", c->p.helo);
	cl_set_timeout(c, T_COMMAND);
}

static void
on_write(struct bufferevent *bev, void *arg)
{
	struct smtp_client *c = arg;
	if (c->state == STAGE_BODY)
		cl_fill_body(c);
}

/* read_replies - handle every complete reply line buffered on bev. */
static void
read_replies(struct smtp_client *c, struct bufferevent *bev)
{
	struct evbuffer *in = bufferevent_get_input(bev);
	char line[REPLY_LINE_MAX];

	/* Bounded by what is buffered; each line either completes a reply or not. */
	while (!c->finished && c->bev == bev) {
		size_t eol_len;
		struct evbuffer_ptr p = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_CRLF);
		if (p.pos < 0) {
			if (evbuffer_get_length(in) > REPLY_LINE_MAX) {
				cl_fail_pending(c, 0, "451 4.4.2 reply line too long");
				cl_try_next(c, c->state <= STAGE_EHLO ? CLIENT_TRY_NEXT : CLIENT_DONE, 0,
				    "reply line too long from %s", c->peer);
			}
			return;
		}
		size_t n = (size_t)p.pos < sizeof line ? (size_t)p.pos : sizeof line - 1;
		evbuffer_remove(in, line, n);
		evbuffer_drain(in, (size_t)p.pos - n + eol_len);
		if (c->state == STAGE_IDLE) {
			/* Unasked for (a 421 on the server's own timeout): the connection is over. */
			cl_finish(c);
			return;
		}
		int r = smtp_reply_feed(&c->reply, line, n);
		if (r < 0) {
			if (c->state <= STAGE_TLS) {
				cl_try_next(c, CLIENT_TRY_NEXT, 0, "malformed reply from %s", c->peer);
			} else {
				cl_fail_pending(c, 0, "451 4.5.0 malformed SMTP reply");
				cl_finish(c);
			}
			return;
		}
		if (r == 1) {
			cl_handle_reply(c);
			/* Also when STARTTLS moved on to a new bev: the next reply starts afresh. */
			smtp_reply_init(&c->reply);
			if (c->finished || c->bev != bev)
				return;
		}
	}
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	struct smtp_client *c = arg;

	/* A reply may end the conversation (client_finish): c stays until we are done. */
	c->reading++;
	read_replies(c, bev);
	c->reading--;
	if (c->finished && c->reading == 0)
		client_free(c);
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	struct smtp_client *c = arg;
	char text[CLIENT_TEXT_MAX];

	if (what & BEV_EVENT_CONNECTED) {
		if (c->state == STAGE_CONNECTING) {
			c->state = STAGE_GREETING;
			cl_set_timeout(c, T_GREETING);
		} else if (c->state == STAGE_TLS) {
			char match[64] = "";
			SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
			if ((c->p.verify_name != NULL || c->p.dane != NULL) && (ssl == NULL ||
			    SSL_get_verify_result(ssl) != X509_V_OK ||
			    SSL_get0_peer_certificate(ssl) == NULL ||
			    (c->p.dane != NULL && dane_tls_describe(ssl, match, sizeof match) < 0))) {
				/* Not reached with SSL_VERIFY_PEER; never send AUTH or mail on a doubt. */
				cl_tls_required_fail(c, "4.7.5", "the certificate of %s is not verified",
				    c->peer);
				cl_finish(c);
				return;
			}
			c->res.tls_used = true;
			if (ssl != NULL && (c->p.verify_name != NULL || c->p.check_name != NULL))
				c->res.verify_result = SSL_get_verify_result(ssl);
			if (c->p.dane != NULL)
				c->res.dane_verified = true;
			bool checked_ok = c->res.verify_result == X509_V_OK;
			ev_info("delivery-tls", KS("qid", c->p.env->id), KS("relay", c->peer),
			    KS("version", ssl ? SSL_get_version(ssl) : "?"),
			    KS("cipher", ssl ? SSL_get_cipher_name(ssl) : "?"),
			    KS("verified", c->p.dane != NULL ? NULL : c->p.verify_name),
			    KS("dane_tlsa", c->p.dane != NULL ? match : NULL),
			    KS("checked", c->p.check_name),
			    KS("check_error", c->p.check_name == NULL || checked_ok ? NULL :
			    X509_verify_cert_error_string(c->res.verify_result)));
			c->tls = true;
			cl_send_ehlo(c);
		}
		return;
	}
	const char *why = (what & BEV_EVENT_TIMEOUT) ? "timeout" :
	    (what & BEV_EVENT_EOF) ? "lost connection" : "connection error";
	if (c->state == STAGE_CONNECTING && (what & BEV_EVENT_ERROR))
		why = strerror(EVUTIL_SOCKET_ERROR() ? EVUTIL_SOCKET_ERROR() : ECONNREFUSED);
	if (c->state == STAGE_IDLE && (what & BEV_EVENT_TIMEOUT)) {
		/* Kept long enough with no use for it: said goodbye to (its keeper hears at the end). */
		cl_quit(c);
		return;
	}
	struct reply_ctx ctx = cl_reply_ctx(c);
	enum client_action act = client_lost_action(c->state, &ctx);
	if (act == ACT_STALE) {
		c->res.stale = true;
		cl_try_next(c, CLIENT_TRY_NEXT, 0, "kept connection to %s: %s while in %s", c->peer,
		    why, client_stage_name(c->state));
		return;
	}
	if (act == ACT_TLS_RETRY || act == ACT_TLS_REQUIRED) {
		unsigned long e = bufferevent_get_openssl_error(bev);
		char ebuf[256] = "handshake failed";
		if (e)
			ERR_error_string_n(e, ebuf, sizeof ebuf);
		if (act == ACT_TLS_RETRY) {
			cl_try_next(c, CLIENT_TLS_FAILED, 0, "TLS with %s failed: %s", c->peer, ebuf);
			return;
		}
		/* Required TLS: no second try in clear. Say why the check failed. */
		SSL *ssl = bufferevent_openssl_get_ssl(bev);
		long vr = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
		c->res.verify_result = vr;
		if (vr != X509_V_OK && c->p.dane != NULL)
			snprintf(ebuf, sizeof ebuf, "DANE authentication failed (%u TLSA record%s): %s",
			    (unsigned)c->p.dane->n, c->p.dane->n == 1 ? "" : "s",
			    X509_verify_cert_error_string(vr));
		else if (vr != X509_V_OK && c->p.verify_name != NULL)
			snprintf(ebuf, sizeof ebuf, "certificate not verified for %s: %s",
			    c->p.verify_name, X509_verify_cert_error_string(vr));
		cl_tls_required_fail(c, "4.7.5", "TLS with %s failed: %s", c->peer, ebuf);
		cl_finish(c);
		return;
	}
	if (act == ACT_TRY_NEXT) {
		cl_try_next(c, CLIENT_TRY_NEXT, 0, "%s with %s while in %s", why, c->peer,
		    client_stage_name(c->state));
		return;
	}
	if (act == ACT_DEFER_ALL) {
		snprintf(text, sizeof text, "451 4.4.2 %s with %s while sending %s", why, c->peer,
		    client_stage_name(c->state));
		cl_fail_pending(c, 451, text);
	}
	cl_finish(c);
}

void
cl_attach(struct smtp_client *c)
{
	bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

static void
finish_later(evutil_socket_t fd, short what, void *arg)
{
	cl_finish(arg);
}

struct smtp_client *
smtp_client_start(const struct client_params *p, client_done_fn done, void *arg)
{
	struct smtp_client *c = calloc(1, sizeof *c);
	char ip[SOCKADDR_TEXT_MAX];
	unsigned port;

	if (c == NULL)
		return NULL;
	c->p = *p;
	snprintf(c->helo, sizeof c->helo, "%s", p->helo);
	c->p.helo = c->helo;
	c->done = done;
	c->arg = arg;
	c->uses = 1;
	c->res.conn_use = 1;
	c->born = time(NULL);
	c->res.rcpt_code = calloc(p->nrcpts, sizeof *c->res.rcpt_code);
	c->res.rcpt_text = calloc(p->nrcpts, sizeof *c->res.rcpt_text);
	sockaddr_ip((const struct sockaddr *)&p->addr, ip, sizeof ip, &port);
	snprintf(c->peer, sizeof c->peer, "%s[%s]:%u", p->host, ip, port);
	smtp_reply_init(&c->reply);
	c->bev = bufferevent_socket_new(p->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (c->res.rcpt_code == NULL || c->res.rcpt_text == NULL || c->bev == NULL)
		goto fail;
	cl_attach(c);
	cl_set_timeout(c, T_CONNECT);
	c->state = STAGE_CONNECTING;
	socklen_t len = p->addr.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
	    sizeof(struct sockaddr_in);
	if (bufferevent_socket_connect(c->bev, (const struct sockaddr *)&p->addr, (int)len) < 0) {
		/* Refused at once: report it on the next loop turn, as for any failure. */
		c->res.outcome = CLIENT_TRY_NEXT;
		snprintf(c->res.text, sizeof c->res.text, "cannot connect to %s: %s", c->peer,
		    strerror(errno));
		struct timeval zero = { 0, 0 };
		bufferevent_disable(c->bev, EV_READ | EV_WRITE);
		if (event_base_once(p->base, -1, EV_TIMEOUT, finish_later, c, &zero) < 0)
			goto fail;
	}
	return c;
fail:
	if (c->bev)
		bufferevent_free(c->bev);
	free(c->res.rcpt_code);
	free(c->res.rcpt_text);
	free(c);
	return NULL;
}

int
smtp_client_key(const struct client_params *p, char *out, size_t outlen)
{
	char ip[SOCKADDR_TEXT_MAX];
	unsigned port;
	uint32_t tlsa = 2166136261u; /* FNV-1a over the TLSA records it was authenticated by */

	if (p->dane != NULL)
		for (size_t i = 0; i < p->dane->n; i++) {
			const struct tlsa *t = &p->dane->v[i];
			uint8_t head[3] = { t->usage, t->selector, t->mtype };
			for (size_t k = 0; k < sizeof head + t->len; k++)
				tlsa = (tlsa ^ (k < sizeof head ? head[k] : t->data[k - sizeof head])) *
				    16777619u;
		}
	sockaddr_ip((const struct sockaddr *)&p->addr, ip, sizeof ip, &port);
	/* The TLS context too: a reload of tls_ca_file makes a new one. */
	int n = snprintf(out, outlen, "%s|%u|%s|%s|%d%d%d%d|%p|%s|%s|%s|%s|%s|%s|%zu:%08x", ip, port,
	    p->host, p->helo, p->no_tls, p->tls_required, p->verify_next, p->dane != NULL,
	    (void *)p->tls, p->verify_name ? p->verify_name : "", p->check_name ? p->check_name : "",
	    p->dane_base ? p->dane_base : "", p->dane_names[0] ? p->dane_names[0] : "",
	    p->dane_names[1] ? p->dane_names[1] : "", p->auth_user ? p->auth_user : "",
	    p->dane ? p->dane->n : 0, tlsa);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

void
smtp_client_idle(struct smtp_client *c, int idle_secs,
    void (*gone)(void *arg, struct smtp_client *c), void *arg)
{
	c->idle_gone = gone;
	c->idle_arg = arg;
	/* Nothing of the last transaction is looked at again: its delivery is going. */
	c->p.env = NULL;
	c->p.rcpts = NULL;
	c->p.nrcpts = 0;
	c->p.prefix = NULL;
	c->p.sender = NULL;
	c->p.host = NULL;
	c->p.verify_name = c->p.check_name = c->p.dane_base = NULL;
	c->p.dane_names[0] = c->p.dane_names[1] = NULL;
	c->p.dane = NULL;
	c->p.auth_user = c->p.auth_pass = NULL;
	if (gone != NULL)
		cl_set_timeout(c, idle_secs);
}

int
smtp_client_reuse(struct smtp_client *c, const struct client_params *p, client_done_fn done,
    void *arg)
{
	int *codes = calloc(p->nrcpts ? p->nrcpts : 1, sizeof *codes);
	char (*texts)[CLIENT_TEXT_MAX] = calloc(p->nrcpts ? p->nrcpts : 1, sizeof *texts);

	if (codes == NULL || texts == NULL) {
		free(codes);
		free(texts);
		return -1;
	}
	free(c->res.rcpt_code);
	free(c->res.rcpt_text);
	/* What the connection's TLS was stays true of every transaction on it. */
	c->res = (struct client_result){ .tls_used = c->res.tls_used,
		.dane_verified = c->res.dane_verified, .verify_result = c->res.verify_result,
		.rcpt_code = codes, .rcpt_text = texts, .conn_use = ++c->uses };
	c->p = *p;
	c->p.helo = c->helo; /* the same name: it is in the key */
	c->done = done;
	c->arg = arg;
	c->reported = false;
	c->idle_gone = NULL;
	c->rcpt_sent = c->rcpt_replied = c->rcpt_ok = 0;
	c->pipelined = false;
	c->text_sent = false;
	smtp_reply_init(&c->reply);
	cl_set_timeout(c, T_COMMAND);
	if (c->need_rset) {
		c->state = STAGE_RSET;
		cl_send_line(c, "RSET");
		return 0;
	}
	cl_begin_transaction(c);
	return 0;
}

bool
smtp_client_is_idle(const struct smtp_client *c)
{
	return c->state == STAGE_IDLE && !c->finished;
}

void
smtp_client_release(struct smtp_client *c)
{
	if (smtp_client_is_idle(c))
		cl_quit(c);
}

void
smtp_client_abort(struct smtp_client *c)
{
	if (c->bev)
		bufferevent_free(c->bev);
	text_close(c);
	client_free(c);
}
