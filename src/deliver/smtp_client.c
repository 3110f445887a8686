/*
 * smtp_client.c - the outbound SMTP conversation as a state machine over a
 * bufferevent: each reply moves it on; the message text is converted to the wire
 * form (CRLF, dot-stuffed) in chunks as the socket drains.
 */
#include "deliver/smtp_client.h"

#include <arpa/inet.h>
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
#include <unistd.h>

#include "deliver/client_reply.h"
#include "net/sockaddr.h"
#include "net/tls.h"
#include "smtp/sasl.h"
#include "smtp/smtp_reply.h"
#include "util/log.h"
#include "store/msg_reader.h"
#include "store/wire.h"

/* RFC 5321 4.5.3.2 timeouts, seconds. */
#define T_CONNECT 30
#define T_GREETING 300
#define T_COMMAND 300
#define T_DATA_INIT 120
#define T_DATA_BLOCK 180
#define T_DATA_END 600

#define REPLY_LINE_MAX 4096
#define BODY_CHUNK (64 * 1024)
#define OUT_HIGH (256 * 1024)

struct smtp_client {
	struct client_params p;
	char helo[256];        /* p.helo points here: a reload frees the config's copy */
	client_done_fn done;
	void *arg;
	struct bufferevent *bev;
	enum client_stage state;
	bool tls;
	bool finished;
	unsigned reading;      /* inside on_read: client_finish leaves the free to it */
	struct ehlo_caps caps;
	struct smtp_reply reply;
	char peer[SOCKADDR_TEXT_MAX + 300]; /* host[ip]:port for logs */
	size_t rcpt_sent;      /* RCPT commands sent (pipelining: all at once) */
	size_t rcpt_replied;   /* RCPT replies read */
	size_t rcpt_ok;        /* recipients the server accepted */
	bool pipelined;        /* MAIL, RCPTs and DATA went out together */
	struct msg_reader msg; /* the message text, while it is sent */
	struct wire_enc enc;
	uint64_t wire_size;    /* the size with CRLF line ends, once counted */
	struct client_result res;
};

static void client_finish(struct smtp_client *c);
static void smtp_client_attach(struct smtp_client *c);
static void send_line(struct smtp_client *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void try_next(struct smtp_client *c, enum client_outcome how, int code, const char *fmt,
    ...) __attribute__((format(printf, 4, 5)));

static void
set_timeout(struct smtp_client *c, int secs)
{
	struct timeval tv = { secs, 0 };
	bufferevent_set_timeouts(c->bev, &tv, &tv);
}

static void
send_line(struct smtp_client *c, const char *fmt, ...)
{
	va_list ap;
	struct evbuffer *out = bufferevent_get_output(c->bev);
	va_start(ap, fmt);
	evbuffer_add_vprintf(out, fmt, ap);
	va_end(ap);
	evbuffer_add(out, "\r\n", 2);
}

/* try_next - no transaction began here: the caller tries the next address. */
static void
try_next(struct smtp_client *c, enum client_outcome how, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	c->res.outcome = how;
	c->res.code = code;
	vsnprintf(c->res.text, sizeof c->res.text, fmt, ap);
	va_end(ap);
	client_finish(c);
}

/* fail_pending - every recipient without a result gets code and text. */
static void
fail_pending(struct smtp_client *c, int code, const char *text)
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
static void
server_text(struct smtp_client *c, char *out, size_t outlen)
{
	char line[CLIENT_TEXT_MAX];
	smtp_reply_oneline(&c->reply, line, sizeof line);
	snprintf(out, outlen, "%s (%s said)", line, c->p.host);
}

static void
quit(struct smtp_client *c)
{
	c->state = STAGE_QUIT;
	send_line(c, "QUIT");
	set_timeout(c, 10);
}

/*
 * tls_required_fail - TLS is required (verify_name) and cannot be had: every
 * recipient is deferred with a 4.7.x text, before anything else is sent.
 */
static void
tls_required_fail(struct smtp_client *c, const char *status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
tls_required_fail(struct smtp_client *c, const char *status, const char *fmt, ...)
{
	char why[CLIENT_TEXT_MAX / 2], text[CLIENT_TEXT_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	snprintf(text, sizeof text, "451 %s %s", status, why);
	fail_pending(c, 451, text);
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
static void
client_finish(struct smtp_client *c)
{
	if (c->finished)
		return;
	c->finished = true;
	if (c->bev) {
		bufferevent_free(c->bev);
		c->bev = NULL;
	}
	msg_close(&c->msg);
	c->done(c->arg, &c->res);
	if (c->reading == 0)
		client_free(c);
}

static void
send_ehlo(struct smtp_client *c)
{
	c->state = STAGE_EHLO;
	send_line(c, "EHLO %s", c->p.helo);
	set_timeout(c, T_COMMAND);
}

/*
 * wire_size - the message's size as sent, with CRLF line ends (what SIZE means,
 * RFC 1870): the stored size plus one octet per line. Counted once per conversation.
 */
static uint64_t
wire_size(struct smtp_client *c)
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

/* check_message - whether this server can take this message at all. */
static bool
check_message(struct smtp_client *c)
{
	const struct envelope *env = c->p.env;
	char text[CLIENT_TEXT_MAX];

	if (c->caps.size > 0 && wire_size(c) > c->caps.size) {
		snprintf(text, sizeof text,
		    "552 5.3.4 message size %llu exceeds the size limit %llu of %s",
		    (unsigned long long)wire_size(c), (unsigned long long)c->caps.size, c->p.host);
		fail_pending(c, 552, text);
		return false;
	}
	if (env->smtputf8 && !c->caps.smtputf8) {
		snprintf(text, sizeof text,
		    "553 5.6.7 the message needs SMTPUTF8, which %s does not support", c->p.host);
		fail_pending(c, 553, text);
		return false;
	}
	if (env->body == BODY_8BITMIME && !c->caps.eightbitmime && c->state != STAGE_HELO) {
		snprintf(text, sizeof text,
		    "554 5.6.3 the message needs 8BITMIME, which %s does not support", c->p.host);
		fail_pending(c, 554, text);
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
			    (unsigned long long)wire_size(c));
		if (env->body == BODY_8BITMIME && c->caps.eightbitmime)
			o += (size_t)snprintf(params + o, sizeof params - o, " BODY=8BITMIME");
		if (env->smtputf8 && c->caps.smtputf8)
			snprintf(params + o, sizeof params - o, " SMTPUTF8");
	}
	c->pipelined = esmtp && c->caps.pipelining;
	c->state = STAGE_MAIL;
	send_line(c, "MAIL FROM:<%s>%s", env->sender, params);
	if (c->pipelined) {
		for (; c->rcpt_sent < c->p.nrcpts; c->rcpt_sent++)
			send_line(c, "RCPT TO:<%s>", c->p.rcpts[c->rcpt_sent]);
		send_line(c, "DATA");
	}
	set_timeout(c, T_COMMAND);
}

/* after_ehlo - the capabilities are known: TLS, then AUTH, then the transaction. */
static void
after_ehlo(struct smtp_client *c)
{
	if (!c->tls && c->caps.starttls && c->p.tls && !c->p.no_tls) {
		c->state = STAGE_STARTTLS;
		send_line(c, "STARTTLS");
		set_timeout(c, T_COMMAND);
		return;
	}
	if (!c->tls && c->p.verify_name != NULL) {
		tls_required_fail(c, "4.7.4", "TLS is required, but %s does not offer STARTTLS",
		    c->peer);
		quit(c);
		return;
	}
	if (c->p.auth_user != NULL) {
		char raw[3 * SASL_FIELD_MAX], b64[4 * SASL_FIELD_MAX + 8];
		if (!c->tls) {
			fail_pending(c, 454, "454 4.7.0 the relayhost offers no TLS: refusing to send the password in clear");
			quit(c);
			return;
		}
		int n = snprintf(raw, sizeof raw, "%c%s%c%s", 0, c->p.auth_user, 0, c->p.auth_pass);
		if (n < 0 || (size_t)n >= sizeof raw || base64_encode(raw, (size_t)n, b64, sizeof b64) < 0) {
			fail_pending(c, 454, "454 4.7.0 relayhost credentials too long");
			quit(c);
			return;
		}
		explicit_bzero(raw, sizeof raw);
		c->state = STAGE_AUTH;
		send_line(c, "AUTH PLAIN %s", b64);
		explicit_bzero(b64, sizeof b64);
		set_timeout(c, T_COMMAND);
		return;
	}
	if (!check_message(c)) {
		quit(c);
		return;
	}
	send_envelope(c);
}

/* is_address - whether host is an IP address literal (no SNI for those, RFC 6066 3). */
static bool
is_address(const char *host)
{
	unsigned char bin[16];
	return inet_pton(AF_INET, host, bin) == 1 || inet_pton(AF_INET6, host, bin) == 1;
}

static void
start_tls(struct smtp_client *c)
{
	SSL *ssl = SSL_new(c->p.tls);
	if (ssl == NULL) {
		try_next(c, CLIENT_TLS_FAILED, 0, "cannot start TLS with %s", c->peer);
		return;
	}
	if (c->p.verify_name != NULL) {
		if (tls_client_verify_name(ssl, c->p.verify_name) < 0) {
			SSL_free(ssl);
			tls_required_fail(c, "4.7.5", "cannot check the certificate of %s for %s",
			    c->peer, c->p.verify_name);
			client_finish(c);
			return;
		}
	} else if (!is_address(c->p.host)) {
		SSL_set_tlsext_host_name(ssl, c->p.host);
	}
	/* Nothing the server sent before the handshake may count. */
	struct evbuffer *in = bufferevent_get_input(c->bev);
	evbuffer_drain(in, evbuffer_get_length(in));
	struct bufferevent *tls = bufferevent_openssl_filter_new(bufferevent_get_base(c->bev),
	    c->bev, ssl, BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
	if (tls == NULL) {
		SSL_free(ssl);
		try_next(c, CLIENT_TLS_FAILED, 0, "cannot start TLS with %s", c->peer);
		return;
	}
	c->bev = tls;
	c->state = STAGE_TLS;
	bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	smtp_client_attach(c);
	set_timeout(c, T_COMMAND);
}

/* body_failed - the text cannot be sent: every recipient is deferred. */
static void
body_failed(struct smtp_client *c, const char *what)
{
	char text[CLIENT_TEXT_MAX];

	snprintf(text, sizeof text, "451 4.3.0 cannot %s the queue file: %s", what, strerror(errno));
	fail_pending(c, 451, text);
	client_finish(c);
}

/* fill_body - the next chunks of the stored text, in the wire form, into the output. */
static void
fill_body(struct smtp_client *c)
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
		set_timeout(c, T_DATA_END);
	}
}

static void
on_write(struct bufferevent *bev, void *arg)
{
	struct smtp_client *c = arg;
	if (c->state == STAGE_BODY)
		fill_body(c);
}

static void
start_body(struct smtp_client *c)
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
	fill_body(c);
}

/* on_rcpt_reply - the reply to RCPT number c->rcpt_replied: accepted, or its result. */
static void
on_rcpt_reply(struct smtp_client *c, bool accepted)
{
	size_t i = c->rcpt_replied++;
	c->res.rcpt_code[i] = c->reply.code;
	server_text(c, c->res.rcpt_text[i], CLIENT_TEXT_MAX);
	if (accepted) {
		c->res.rcpt_code[i] = -1; /* the final reply decides */
		c->rcpt_ok++;
	}
	if (!c->pipelined && c->rcpt_sent < c->p.nrcpts) {
		send_line(c, "RCPT TO:<%s>", c->p.rcpts[c->rcpt_sent++]);
		return;
	}
	if (c->rcpt_replied < c->p.nrcpts)
		return;
	c->state = STAGE_DATA;
	if (!c->pipelined) {
		if (c->rcpt_ok == 0) {
			c->res.outcome = CLIENT_DONE;
			quit(c);
			return;
		}
		send_line(c, "DATA");
		set_timeout(c, T_DATA_INIT);
	}
}

/* answer_accepted - every recipient the server accepted gets code and text; then QUIT. */
static void
answer_accepted(struct smtp_client *c, int code, const char *text)
{
	for (size_t i = 0; i < c->p.nrcpts; i++) {
		if (c->res.rcpt_code[i] == -1) {
			c->res.rcpt_code[i] = code;
			snprintf(c->res.rcpt_text[i], CLIENT_TEXT_MAX, "%s", text);
		}
	}
	c->res.outcome = CLIENT_DONE;
	quit(c);
}

/* proceed - the stage succeeded: the next step of the conversation. */
static void
proceed(struct smtp_client *c)
{
	switch (c->state) {
	case STAGE_GREETING:
		send_ehlo(c);
		return;
	case STAGE_EHLO:
		ehlo_parse(&c->reply, &c->caps);
		after_ehlo(c);
		return;
	case STAGE_HELO:
		memset(&c->caps, 0, sizeof c->caps);
		if (c->p.verify_name != NULL) {
			tls_required_fail(c, "4.7.4", "TLS is required, but %s does not speak ESMTP",
			    c->peer);
			quit(c);
			return;
		}
		break;
	case STAGE_STARTTLS:
		start_tls(c);
		return;
	case STAGE_AUTH:
		break;
	case STAGE_MAIL:
		c->state = STAGE_RCPT;
		if (!c->pipelined)
			send_line(c, "RCPT TO:<%s>", c->p.rcpts[c->rcpt_sent++]);
		return;
	default:
		return;
	}
	/* After HELO, or AUTH: the transaction, if this server can take the message. */
	if (!check_message(c)) {
		quit(c);
		return;
	}
	send_envelope(c);
}

/* handle_reply - the action of the reply table (deliver/client_reply.h), carried out. */
static void
handle_reply(struct smtp_client *c)
{
	int code = c->reply.code;
	char text[CLIENT_TEXT_MAX], t2[CLIENT_TEXT_MAX];
	struct reply_ctx ctx = { c->tls, c->p.verify_name != NULL, c->rcpt_ok };
	enum client_action act = client_reply_action(c->state, code, &ctx);

	switch (act) {
	case ACT_PROCEED:
		proceed(c);
		break;
	case ACT_TRY_NEXT:
		server_text(c, text, sizeof text);
		try_next(c, CLIENT_TRY_NEXT, code, "%s", text);
		break;
	case ACT_HELO:
		c->state = STAGE_HELO;
		send_line(c, "HELO %s", c->p.helo);
		break;
	case ACT_CLEAR:
		/* Opportunistic: carry on in clear. */
		c->caps.starttls = false;
		after_ehlo(c);
		break;
	case ACT_TLS_REQUIRED:
		server_text(c, text, sizeof text);
		tls_required_fail(c, "4.7.4", "TLS is required, but STARTTLS failed: %s", text);
		quit(c);
		break;
	case ACT_AUTH_FAILED:
		server_text(c, text, sizeof text);
		snprintf(t2, sizeof t2, "454 4.7.0 authentication at the relayhost failed: %s", text);
		fail_pending(c, 454, t2);
		quit(c);
		break;
	case ACT_FAIL_ALL:
		server_text(c, text, sizeof text);
		fail_pending(c, code, text);
		/* Pipelined RCPT and DATA replies may follow: any reply now ends it. */
		quit(c);
		break;
	case ACT_RCPT_ACCEPTED:
	case ACT_RCPT_REFUSED:
		on_rcpt_reply(c, act == ACT_RCPT_ACCEPTED);
		break;
	case ACT_SEND_TEXT:
		start_body(c);
		break;
	case ACT_EMPTY_TEXT:
		/* DATA accepted without recipients (pipelined): end it empty. */
		evbuffer_add(bufferevent_get_output(c->bev), ".\r\n", 3);
		c->state = STAGE_DOT;
		break;
	case ACT_DATA_ODD:
		/* Not 354 and not a failure: the text never went; nothing was delivered. */
		server_text(c, text, sizeof text);
		snprintf(t2, sizeof t2, "451 4.5.0 unexpected reply to DATA: %s", text);
		answer_accepted(c, 451, t2);
		break;
	case ACT_ANSWER_ACCEPTED:
		server_text(c, text, sizeof text);
		answer_accepted(c, code, text);
		break;
	case ACT_CLOSE:
		client_finish(c);
		break;
	case ACT_TLS_RETRY:
	case ACT_DEFER_ALL:
	case ACT_IGNORE:
		break;
	}
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
				fail_pending(c, 0, "451 4.4.2 reply line too long");
				try_next(c, c->state <= STAGE_EHLO ? CLIENT_TRY_NEXT : CLIENT_DONE, 0,
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
				try_next(c, CLIENT_TRY_NEXT, 0, "malformed reply from %s", c->peer);
			} else {
				fail_pending(c, 0, "451 4.5.0 malformed SMTP reply");
				client_finish(c);
			}
			return;
		}
		if (r == 1) {
			handle_reply(c);
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
			set_timeout(c, T_GREETING);
		} else if (c->state == STAGE_TLS) {
			char desc[128];
			SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
			if (ssl)
				tls_describe(ssl, desc, sizeof desc);
			if (c->p.verify_name != NULL && (ssl == NULL ||
			    SSL_get_verify_result(ssl) != X509_V_OK ||
			    SSL_get0_peer_certificate(ssl) == NULL)) {
				/* Not reached with SSL_VERIFY_PEER; never send AUTH on a doubt. */
				tls_required_fail(c, "4.7.5", "the certificate of %s is not verified",
				    c->peer);
				client_finish(c);
				return;
			}
			log_info("%s: TLS with %s: %s%s%s", c->p.env->id, c->peer, ssl ? desc : "?",
			    c->p.verify_name ? ", certificate verified for " : "",
			    c->p.verify_name ? c->p.verify_name : "");
			c->tls = true;
			send_ehlo(c);
		}
		return;
	}
	const char *why = (what & BEV_EVENT_TIMEOUT) ? "timeout" :
	    (what & BEV_EVENT_EOF) ? "lost connection" : "connection error";
	if (c->state == STAGE_CONNECTING && (what & BEV_EVENT_ERROR))
		why = strerror(EVUTIL_SOCKET_ERROR() ? EVUTIL_SOCKET_ERROR() : ECONNREFUSED);
	struct reply_ctx ctx = { c->tls, c->p.verify_name != NULL, c->rcpt_ok };
	enum client_action act = client_lost_action(c->state, &ctx);
	if (act == ACT_TLS_RETRY || act == ACT_TLS_REQUIRED) {
		unsigned long e = bufferevent_get_openssl_error(bev);
		char ebuf[256] = "handshake failed";
		if (e)
			ERR_error_string_n(e, ebuf, sizeof ebuf);
		if (act == ACT_TLS_RETRY) {
			try_next(c, CLIENT_TLS_FAILED, 0, "TLS with %s failed: %s", c->peer, ebuf);
			return;
		}
		/* Required TLS: no second try in clear. Say why the check failed. */
		SSL *ssl = bufferevent_openssl_get_ssl(bev);
		long vr = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
		if (vr != X509_V_OK)
			snprintf(ebuf, sizeof ebuf, "certificate not verified for %s: %s",
			    c->p.verify_name, X509_verify_cert_error_string(vr));
		tls_required_fail(c, "4.7.5", "TLS with %s failed: %s", c->peer, ebuf);
		client_finish(c);
		return;
	}
	if (act == ACT_TRY_NEXT) {
		try_next(c, CLIENT_TRY_NEXT, 0, "%s with %s while in %s", why, c->peer,
		    client_stage_name(c->state));
		return;
	}
	if (act == ACT_DEFER_ALL) {
		snprintf(text, sizeof text, "451 4.4.2 %s with %s while sending %s", why, c->peer,
		    client_stage_name(c->state));
		fail_pending(c, 451, text);
	}
	client_finish(c);
}

static void
smtp_client_attach(struct smtp_client *c)
{
	bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

static void
finish_later(evutil_socket_t fd, short what, void *arg)
{
	client_finish(arg);
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
	c->msg.fd = -1;
	c->res.rcpt_code = calloc(p->nrcpts, sizeof *c->res.rcpt_code);
	c->res.rcpt_text = calloc(p->nrcpts, sizeof *c->res.rcpt_text);
	sockaddr_ip((const struct sockaddr *)&p->addr, ip, sizeof ip, &port);
	snprintf(c->peer, sizeof c->peer, "%s[%s]:%u", p->host, ip, port);
	smtp_reply_init(&c->reply);
	c->bev = bufferevent_socket_new(p->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (c->res.rcpt_code == NULL || c->res.rcpt_text == NULL || c->bev == NULL)
		goto fail;
	smtp_client_attach(c);
	set_timeout(c, T_CONNECT);
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
	msg_close(&c->msg);
	client_free(c);
}
