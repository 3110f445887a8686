/*
 * pop3_tls.c - the session's transport: plain or implicit TLS (pop3s) at
 * connect, and the STLS upgrade (RFC 2595), which forgets the USER said before
 * it and drops whatever the client pipelined behind the command.
 */
#include "pop3/pop3_session_int.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "net/tls.h"
#include "pop3/pop3d.h"
#include "util/log.h"

#define TLS_HANDSHAKE_TIMEOUT 30 /* seconds, or command_timeout if shorter */

static void
set_handshake_timeout(struct pop3_session *s)
{
	uint64_t secs = s->srv->cfg->command_timeout;
	if (secs > TLS_HANDSHAKE_TIMEOUT)
		secs = TLS_HANDSHAKE_TIMEOUT;
	struct timeval tv = { (time_t)secs, 0 };
	bufferevent_set_timeouts(s->bev, &tv, &tv);
}

int
pop3_start_io(struct pop3_session *s, int fd)
{
	struct event_base *base = s->srv->base;

	if (s->svc == SVC_POP3S) {
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
		pop3_set_bev(s);
		set_handshake_timeout(s);
		/* The greeting waits in the buffer until the handshake is done. */
		pop3_greet(s);
		return 0;
	}
	s->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (s->bev == NULL)
		return -1;
	pop3_set_bev(s);
	pop3_greet(s);
	return 0;
}

bool
pop3_stls_offered(const struct pop3_session *s)
{
	return !s->tls && s->srv->tls_ctx != NULL && s->svc == SVC_POP3 &&
	    s->state == P_AUTHORIZATION;
}

void
pop3_stls(struct pop3_session *s)
{
	if (s->tls) {
		pop3_error(s, "-ERR TLS is already active");
		return;
	}
	if (!pop3_stls_offered(s)) {
		pop3_error(s, "-ERR STLS is not available");
		return;
	}
	SSL *ssl = SSL_new(s->srv->tls_ctx);
	if (ssl == NULL) {
		pop3_reply(s, "-ERR [SYS/TEMP] TLS is not available right now");
		return;
	}
	pop3_reply(s, "+OK Begin TLS negotiation");
	/* Nothing the client sent before the handshake may count as said under TLS. */
	struct evbuffer *in = bufferevent_get_input(s->bev);
	size_t injected = evbuffer_get_length(in);
	if (injected > 0) {
		log_info("discarded %zu octets pipelined after STLS from %s", injected, s->ip);
		evbuffer_drain(in, injected);
	}
	struct bufferevent *tls = bufferevent_openssl_filter_new(s->srv->base, s->bev, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (tls == NULL) {
		SSL_free(ssl);
		pop3_close_after_flush(s, "TLS setup failed");
		return;
	}
	s->bev = tls;
	s->tls = true;
	bufferevent_openssl_set_allow_dirty_shutdown(s->bev, 1);
	s->user[0] = '\0';
	s->sasl_wait = false;
	pop3_set_bev(s);
	set_handshake_timeout(s);
}

void
pop3_tls_established(struct pop3_session *s)
{
	char desc[128];
	SSL *ssl = bufferevent_openssl_get_ssl(s->bev);

	if (ssl == NULL)
		return;
	tls_describe(ssl, desc, sizeof desc);
	log_info("TLS established with %s: %s", s->ip, desc);
	pop3_timeouts(s);
}

void
pop3_tls_log_error(struct pop3_session *s)
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
