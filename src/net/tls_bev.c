/* tls_bev.c - server-side TLS bufferevents shared by the SMTP and POP3 sessions. */
#include "net/tls_bev.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <sys/socket.h>

#include "net/tls.h"
#include "util/log.h"

#define TLS_HANDSHAKE_TIMEOUT 30 /* seconds, or command_timeout if shorter */

struct bufferevent *
tls_bev_accept(struct event_base *base, int fd, SSL_CTX *ctx)
{
	SSL *ssl = ctx ? SSL_new(ctx) : NULL;
	if (ssl == NULL)
		return NULL;
	struct bufferevent *bev = bufferevent_openssl_socket_new(base, fd, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		SSL_free(ssl);
		return NULL;
	}
	/* A client that just closes the socket has ended the session: not an error. */
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

struct bufferevent *
tls_bev_upgrade(struct event_base *base, struct bufferevent *bev, SSL_CTX *ctx,
    size_t *dropped)
{
	SSL *ssl = ctx ? SSL_new(ctx) : NULL;
	if (ssl == NULL)
		return NULL;
	struct evbuffer *in = bufferevent_get_input(bev);
	*dropped = evbuffer_get_length(in);
	evbuffer_drain(in, *dropped);
	struct bufferevent *tls = bufferevent_openssl_filter_new(base, bev, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (tls == NULL) {
		SSL_free(ssl);
		return NULL;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(tls, 1);
	return tls;
}

uint64_t
tls_bev_handshake_limit(uint64_t command_timeout)
{
	return command_timeout < TLS_HANDSHAKE_TIMEOUT ? command_timeout : TLS_HANDSHAKE_TIMEOUT;
}

bool
tls_bev_handshaking(struct bufferevent *bev)
{
	SSL *ssl = bev ? bufferevent_openssl_get_ssl(bev) : NULL;

	return ssl != NULL && !SSL_is_init_finished(ssl);
}

void
tls_bev_log_established(struct bufferevent *bev, const char *ip)
{
	SSL *ssl = bufferevent_openssl_get_ssl(bev);

	if (ssl == NULL)
		return;
	ev_info("tls", KS("client", ip), KS("version", SSL_get_version(ssl)),
	    KS("cipher", SSL_get_cipher_name(ssl)));
}

void
tls_bev_flush_alert(struct bufferevent *bev)
{
	struct bufferevent *under = bev ? bufferevent_get_underlying(bev) : NULL;
	evutil_socket_t fd = under ? bufferevent_getfd(under) : -1;

	if (fd < 0)
		return;
	/* The buffer's start is the bufferevent's (frozen): copied out, not drained. An
	 * alert is a few octets into an idle socket: it fits, or the client is gone. */
	struct evbuffer *out = bufferevent_get_output(under);
	size_t n = evbuffer_get_length(out);
	if (n > 0 && n <= 1024) {
		unsigned char *p = evbuffer_pullup(out, (ssize_t)n);
		if (p != NULL)
			(void)send(fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	}
}

void
tls_bev_log_errors(struct bufferevent *bev, const char *ip)
{
	unsigned long e;
	char buf[256];

	while ((e = bufferevent_get_openssl_error(bev)) != 0) {
		ERR_error_string_n(e, buf, sizeof buf);
		ev_info("tls-error", KS("client", ip), KS("error", buf));
	}
}
