/*
 * smtp_tls.c - the session's transport: plain or implicit TLS at connect, and
 * the STARTTLS upgrade (RFC 3207), which forgets everything said before it and
 * drops whatever the client pipelined behind the command (CVE-2011-0411).
 */
#include "smtp/smtp_session_int.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>

#include "net/tls.h"
#include "smtp/smtpd.h"
#include "util/log.h"

#define TLS_HANDSHAKE_TIMEOUT 30 /* seconds, or command_timeout if shorter */

static void
set_handshake_timeout(struct smtp_session *s)
{
	uint64_t secs = s->srv->cfg->command_timeout;
	if (secs > TLS_HANDSHAKE_TIMEOUT)
		secs = TLS_HANDSHAKE_TIMEOUT;
	struct timeval tv = { (time_t)secs, 0 };
	bufferevent_set_timeouts(s->bev, &tv, &tv);
}

int
session_start_io(struct smtp_session *s, int fd)
{
	struct event_base *base = s->srv->base;

	if (s->svc == SVC_SUBMISSIONS) {
		SSL *ssl = s->srv->tls_ctx ? SSL_new(s->srv->tls_ctx) : NULL;
		if (ssl == NULL)
			return -1;
		s->bev = bufferevent_openssl_socket_new(base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
		    BEV_OPT_CLOSE_ON_FREE);
		if (s->bev == NULL) {
			SSL_free(ssl);
			return -1;
		}
		s->tls = true;
		bufferevent_openssl_set_allow_dirty_shutdown(s->bev, 1);
		session_set_bev(s);
		set_handshake_timeout(s);
		/* The greeting waits in the buffer until the handshake is done. */
		session_greet(s);
		return 0;
	}
	s->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (s->bev == NULL)
		return -1;
	session_set_bev(s);
	session_greet(s);
	return 0;
}

bool
session_starttls_offered(const struct smtp_session *s)
{
	return !s->tls && s->srv->tls_ctx != NULL &&
	    (s->svc == SVC_SMTP || s->svc == SVC_SUBMISSION);
}

void
session_starttls(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	if (cmd->argslen > 0) {
		session_error(s, "501 5.5.4 Syntax: STARTTLS");
		return;
	}
	if (s->tls) {
		session_error(s, "554 5.5.1 Error: TLS already active");
		return;
	}
	if (!session_starttls_offered(s)) {
		session_error(s, "502 5.5.1 Error: STARTTLS is not available here");
		return;
	}
	SSL *ssl = SSL_new(s->srv->tls_ctx);
	if (ssl == NULL) {
		session_reply(s, "454 4.7.0 TLS not available due to temporary reason");
		return;
	}
	session_reply(s, "220 2.0.0 Ready to start TLS");
	/* Nothing the client sent before the handshake may count as said under TLS. */
	struct evbuffer *in = bufferevent_get_input(s->bev);
	size_t injected = evbuffer_get_length(in);
	if (injected > 0) {
		log_info("discarded %zu octets pipelined after STARTTLS from %s", injected, s->ip);
		evbuffer_drain(in, injected);
	}
	struct bufferevent *tls = bufferevent_openssl_filter_new(s->srv->base, s->bev, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (tls == NULL) {
		SSL_free(ssl);
		session_close_after_flush(s, "TLS setup failed");
		return;
	}
	s->bev = tls;
	s->tls = true;
	bufferevent_openssl_set_allow_dirty_shutdown(s->bev, 1);
	txn_free(s);
	free(s->helo);
	s->helo = NULL;
	s->esmtp = false;
	/* A login made in cleartext (trusted networks may) is knowledge from before, too. */
	free(s->auth_user);
	s->auth_user = NULL;
	s->auth_step = AUTH_NONE;
	session_enter(s, S_CONNECTED);
	session_set_bev(s);
	set_handshake_timeout(s);
}

void
session_tls_established(struct smtp_session *s)
{
	char desc[128];
	SSL *ssl = bufferevent_openssl_get_ssl(s->bev);

	if (ssl == NULL)
		return;
	tls_describe(ssl, desc, sizeof desc);
	log_info("TLS established with %s: %s", s->ip, desc);
	struct timeval tv = { (time_t)s->srv->cfg->command_timeout, 0 };
	bufferevent_set_timeouts(s->bev, &tv, &tv);
}

void
session_tls_log_error(struct smtp_session *s)
{
	unsigned long e;
	char buf[256];

	if (s->bev == NULL || !s->tls)
		return;
	while ((e = bufferevent_get_openssl_error(s->bev)) != 0) {
		ERR_error_string_n(e, buf, sizeof buf);
		log_info("TLS error with %s: %s", s->ip, buf);
	}
}
