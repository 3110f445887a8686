/*
 * smtp_client.c - one outbound SMTP conversation over a bufferevent: the connection,
 * its timeouts (RFC 5321 4.5.3.2), reading replies line by line (each complete one
 * goes to smtp_client_cmd.c), lost connections by the table of client_reply.h, and
 * the one report at the end.
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

/*
 * client_finish - close, report once through done, and free c; inside on_read
 * (a reply handler ended the conversation) the free waits until on_read is done
 * looking at c.
 */
void
cl_finish(struct smtp_client *c)
{
	if (c->finished)
		return;
	c->finished = true;
	if (c->bev) {
		bufferevent_free(c->bev);
		c->bev = NULL;
	}
	outform_close(&c->text);
	c->text_open = false;
	c->done(c->arg, &c->res);
	if (c->reading == 0)
		client_free(c);
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
	struct reply_ctx ctx = { c->tls, cl_tls_required(c), c->rcpt_ok };
	enum client_action act = client_lost_action(c->state, &ctx);
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

void
smtp_client_abort(struct smtp_client *c)
{
	if (c->bev)
		bufferevent_free(c->bev);
	outform_close(&c->text);
	c->text_open = false;
	client_free(c);
}
