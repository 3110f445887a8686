/*
 * smtp_client_cmd.c - the conversation's commands: EHLO (HELO fallback), STARTTLS
 * (opportunistic, or required: verified by CAs or by DANE), AUTH PLAIN at the
 * relayhost, MAIL, RCPT (PIPELINING when offered), DATA; and for each reply the
 * action deliver/client_reply.h gives, carried out.
 */
#include "deliver/smtp_client_int.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <string.h>

#include "deliver/dane_tls.h"
#include "net/tls.h"
#include "smtp/sasl.h"

/* check_message - whether this server can take this message at all. */
static bool
check_message(struct smtp_client *c)
{
	const struct envelope *env = c->p.env;
	char text[CLIENT_TEXT_MAX];

	if (c->caps.size > 0 && cl_wire_size(c) > c->caps.size) {
		snprintf(text, sizeof text,
		    "552 5.3.4 message size %llu exceeds the size limit %llu of %s",
		    (unsigned long long)cl_wire_size(c), (unsigned long long)c->caps.size, c->p.host);
		cl_fail_pending(c, 552, text);
		return false;
	}
	if (env->smtputf8 && !c->caps.smtputf8) {
		snprintf(text, sizeof text,
		    "553 5.6.7 the message needs SMTPUTF8, which %s does not support", c->p.host);
		cl_fail_pending(c, 553, text);
		return false;
	}
	if (env->body == BODY_8BITMIME && !c->caps.eightbitmime && c->state != STAGE_HELO) {
		snprintf(text, sizeof text,
		    "554 5.6.3 the message needs 8BITMIME, which %s does not support", c->p.host);
		cl_fail_pending(c, 554, text);
		return false;
	}
	return true;
}

static void
send_envelope(struct smtp_client *c)
{
	const struct envelope *env = c->p.env;
	bool esmtp = c->state != STAGE_HELO;
	char params[128] = "";

	if (esmtp) {
		size_t o = 0;
		if (c->caps.size > 0)
			o += (size_t)snprintf(params + o, sizeof params - o, " SIZE=%llu",
			    (unsigned long long)cl_wire_size(c));
		if (env->body == BODY_8BITMIME && c->caps.eightbitmime)
			o += (size_t)snprintf(params + o, sizeof params - o, " BODY=8BITMIME");
		if (env->smtputf8 && c->caps.smtputf8)
			snprintf(params + o, sizeof params - o, " SMTPUTF8");
	}
	c->pipelined = esmtp && c->caps.pipelining;
	c->state = STAGE_MAIL;
	cl_send_line(c, "MAIL FROM:<%s>%s", c->p.sender ? c->p.sender : env->sender, params);
	if (c->pipelined) {
		for (; c->rcpt_sent < c->p.nrcpts; c->rcpt_sent++)
			cl_send_line(c, "RCPT TO:<%s>", c->p.rcpts[c->rcpt_sent]);
		cl_send_line(c, "DATA");
	}
	cl_set_timeout(c, T_COMMAND);
}

void
cl_begin_transaction(struct smtp_client *c)
{
	if (!check_message(c)) {
		cl_quit(c);
		return;
	}
	send_envelope(c);
}

/* after_ehlo - the capabilities are known: TLS, then AUTH, then the transaction. */
static void
after_ehlo(struct smtp_client *c)
{
	if (!c->tls && c->caps.starttls && c->p.tls && !c->p.no_tls) {
		c->state = STAGE_STARTTLS;
		cl_send_line(c, "STARTTLS");
		cl_set_timeout(c, T_COMMAND);
		return;
	}
	if (!c->tls && cl_tls_required(c)) {
		cl_tls_required_fail(c, "4.7.4", "TLS is required%s, but %s does not offer STARTTLS",
		    c->p.dane ? " (DANE TLSA records)" : c->p.tls_required ? " (TLSA records)" : "",
		    c->peer);
		cl_quit(c);
		return;
	}
	if (c->p.auth_user != NULL) {
		char raw[3 * SASL_FIELD_MAX], b64[4 * SASL_FIELD_MAX + 8];
		if (!c->tls) {
			cl_fail_pending(c, 454, "454 4.7.0 the relayhost offers no TLS: refusing to send the password in clear");
			cl_quit(c);
			return;
		}
		int n = snprintf(raw, sizeof raw, "%c%s%c%s", 0, c->p.auth_user, 0, c->p.auth_pass);
		if (n < 0 || (size_t)n >= sizeof raw || base64_encode(raw, (size_t)n, b64, sizeof b64) < 0) {
			cl_fail_pending(c, 454, "454 4.7.0 relayhost credentials too long");
			cl_quit(c);
			return;
		}
		explicit_bzero(raw, sizeof raw);
		c->state = STAGE_AUTH;
		cl_send_line(c, "AUTH PLAIN %s", b64);
		explicit_bzero(b64, sizeof b64);
		cl_set_timeout(c, T_COMMAND);
		return;
	}
	cl_begin_transaction(c);
}

/* is_address - whether host is an IP address literal (no SNI for those, RFC 6066 3). */
static bool
is_address(const char *host)
{
	unsigned char bin[16];
	return inet_pton(AF_INET, host, bin) == 1 || inet_pton(AF_INET6, host, bin) == 1;
}

/* tls_setup_failed - TLS could not even start here: in clear again, unless it is required. */
static void
tls_setup_failed(struct smtp_client *c, SSL *ssl)
{
	SSL_free(ssl);
	if (!cl_tls_required(c)) {
		cl_try_next(c, CLIENT_TLS_FAILED, 0, "cannot start TLS with %s", c->peer);
		return;
	}
	cl_tls_required_fail(c, "4.7.5", "cannot start TLS with %s", c->peer);
	cl_finish(c);
}

static void
start_tls(struct smtp_client *c)
{
	char err[CLIENT_TEXT_MAX / 2];
	SSL *ssl = SSL_new(c->p.tls);
	if (ssl == NULL) {
		tls_setup_failed(c, NULL);
		return;
	}
	if (c->p.dane != NULL) {
		const char *names[2];
		size_t nn = 0;
		for (size_t i = 0; i < 2; i++)
			if (c->p.dane_names[i] != NULL)
				names[nn++] = c->p.dane_names[i];
		int n = dane_tls_setup(ssl, c->p.dane_base, names, nn, c->p.dane, err, sizeof err);
		if (n <= 0) {
			SSL_free(ssl);
			cl_tls_required_fail(c, "4.7.5", "%s", n < 0 ? err :
			    "none of the TLSA records can be used by OpenSSL");
			cl_finish(c);
			return;
		}
	} else if (c->p.verify_name != NULL) {
		if (tls_client_verify_name(ssl, c->p.verify_name) < 0) {
			SSL_free(ssl);
			cl_tls_required_fail(c, "4.7.5", "cannot check the certificate of %s for %s",
			    c->peer, c->p.verify_name);
			cl_finish(c);
			return;
		}
	} else if (c->p.check_name != NULL) {
		/* Checked and reported, never refused: the handshake goes on whatever it finds. */
		if (tls_client_verify_name(ssl, c->p.check_name) < 0) {
			tls_setup_failed(c, ssl);
			return;
		}
		SSL_set_verify(ssl, SSL_VERIFY_NONE, NULL);
	} else if (!is_address(c->p.host)) {
		SSL_set_tlsext_host_name(ssl, c->p.host);
	}
	/* Nothing the server sent before the handshake may count. */
	struct evbuffer *in = bufferevent_get_input(c->bev);
	evbuffer_drain(in, evbuffer_get_length(in));
	struct bufferevent *tls = bufferevent_openssl_filter_new(bufferevent_get_base(c->bev),
	    c->bev, ssl, BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
	if (tls == NULL) {
		tls_setup_failed(c, ssl);
		return;
	}
	c->bev = tls;
	c->state = STAGE_TLS;
	bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	cl_attach(c);
	cl_set_timeout(c, T_COMMAND);
}

/* on_rcpt_reply - the reply to RCPT number c->rcpt_replied: accepted, or its result. */
static void
on_rcpt_reply(struct smtp_client *c, bool accepted)
{
	size_t i = c->rcpt_replied++;
	c->res.rcpt_code[i] = c->reply.code;
	cl_server_text(c, c->res.rcpt_text[i], CLIENT_TEXT_MAX);
	if (accepted) {
		c->res.rcpt_code[i] = -1; /* the final reply decides */
		c->rcpt_ok++;
	}
	if (!c->pipelined && c->rcpt_sent < c->p.nrcpts) {
		cl_send_line(c, "RCPT TO:<%s>", c->p.rcpts[c->rcpt_sent++]);
		return;
	}
	if (c->rcpt_replied < c->p.nrcpts)
		return;
	c->state = STAGE_DATA;
	if (!c->pipelined) {
		if (c->rcpt_ok == 0) {
			/* The server holds a MAIL still: a next transaction begins with RSET. */
			cl_transaction_over(c, true);
			return;
		}
		cl_send_line(c, "DATA");
		cl_set_timeout(c, T_DATA_INIT);
	}
}

/*
 * answer_accepted - every recipient the server accepted gets code and text; the
 * transaction is over (cleanly only after the end of the text: a refused DATA may
 * leave it open at the server).
 */
static void
answer_accepted(struct smtp_client *c, int code, const char *text)
{
	for (size_t i = 0; i < c->p.nrcpts; i++) {
		if (c->res.rcpt_code[i] == -1) {
			c->res.rcpt_code[i] = code;
			snprintf(c->res.rcpt_text[i], CLIENT_TEXT_MAX, "%s", text);
		}
	}
	cl_transaction_over(c, c->state != STAGE_DOT);
}

/* proceed - the stage succeeded: the next step of the conversation. */
static void
proceed(struct smtp_client *c)
{
	switch (c->state) {
	case STAGE_GREETING:
		cl_send_ehlo(c);
		return;
	case STAGE_EHLO:
		ehlo_parse(&c->reply, &c->caps);
		after_ehlo(c);
		return;
	case STAGE_HELO:
		memset(&c->caps, 0, sizeof c->caps);
		if (cl_tls_required(c)) {
			cl_tls_required_fail(c, "4.7.4", "TLS is required, but %s does not speak ESMTP",
			    c->peer);
			cl_quit(c);
			return;
		}
		break;
	case STAGE_STARTTLS:
		start_tls(c);
		return;
	case STAGE_AUTH:
	case STAGE_RSET:
		break;
	case STAGE_MAIL:
		c->state = STAGE_RCPT;
		if (!c->pipelined)
			cl_send_line(c, "RCPT TO:<%s>", c->p.rcpts[c->rcpt_sent++]);
		return;
	default:
		return;
	}
	/* After HELO, AUTH, or RSET on a kept connection: the transaction. */
	cl_begin_transaction(c);
}

/* handle_reply - the action of the reply table (deliver/client_reply.h), carried out. */
void
cl_handle_reply(struct smtp_client *c)
{
	int code = c->reply.code;
	char text[CLIENT_TEXT_MAX], t2[CLIENT_TEXT_MAX];
	struct reply_ctx ctx = cl_reply_ctx(c);
	enum client_action act = client_reply_action(c->state, code, &ctx);

	switch (act) {
	case ACT_PROCEED:
		proceed(c);
		break;
	case ACT_TRY_NEXT:
		cl_server_text(c, text, sizeof text);
		cl_try_next(c, CLIENT_TRY_NEXT, code, "%s", text);
		break;
	case ACT_HELO:
		c->state = STAGE_HELO;
		cl_send_line(c, "HELO %s", c->p.helo);
		break;
	case ACT_CLEAR:
		/* Opportunistic: carry on in clear. */
		c->caps.starttls = false;
		after_ehlo(c);
		break;
	case ACT_TLS_REQUIRED:
		cl_server_text(c, text, sizeof text);
		cl_tls_required_fail(c, "4.7.4", "TLS is required, but STARTTLS failed: %s", text);
		cl_quit(c);
		break;
	case ACT_AUTH_FAILED:
		cl_server_text(c, text, sizeof text);
		snprintf(t2, sizeof t2, "454 4.7.0 authentication at the relayhost failed: %s", text);
		cl_fail_pending(c, 454, t2);
		cl_quit(c);
		break;
	case ACT_FAIL_ALL:
		cl_server_text(c, text, sizeof text);
		cl_fail_pending(c, code, text);
		/* Pipelined RCPT and DATA replies may follow: any reply now ends it. */
		cl_quit(c);
		break;
	case ACT_RCPT_ACCEPTED:
	case ACT_RCPT_REFUSED:
		on_rcpt_reply(c, act == ACT_RCPT_ACCEPTED);
		break;
	case ACT_SEND_TEXT:
		cl_start_body(c);
		break;
	case ACT_EMPTY_TEXT:
		/* DATA accepted without recipients (pipelined): end it empty. */
		evbuffer_add(bufferevent_get_output(c->bev), ".\r\n", 3);
		c->state = STAGE_DOT;
		break;
	case ACT_DATA_ODD:
		/* Not 354 and not a failure: the text never went; nothing was delivered. */
		cl_server_text(c, text, sizeof text);
		snprintf(t2, sizeof t2, "451 4.5.0 unexpected reply to DATA: %s", text);
		answer_accepted(c, 451, t2);
		break;
	case ACT_ANSWER_ACCEPTED:
		cl_server_text(c, text, sizeof text);
		answer_accepted(c, code, text);
		break;
	case ACT_CLOSE:
		cl_finish(c);
		break;
	case ACT_STALE:
		cl_server_text(c, text, sizeof text);
		c->res.stale = true;
		cl_try_next(c, CLIENT_TRY_NEXT, code, "kept connection to %s closed: %s", c->peer,
		    text);
		break;
	case ACT_TLS_RETRY:
	case ACT_DEFER_ALL:
	case ACT_IGNORE:
		break;
	}
}

