/*
 * tls_bev.h - server-side TLS on libevent bufferevents, as the SMTP and POP3
 * sessions both use it: implicit TLS at accept, the STARTTLS/STLS upgrade of a
 * live connection, the handshake's time limit, and logging.
 */
#ifndef MAILROOM_TLS_BEV_H
#define MAILROOM_TLS_BEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <openssl/ssl.h>

struct bufferevent;
struct event_base;

/* tls_bev_accept - a TLS bufferevent for the accepted socket fd. NULL on failure (fd left open). */
struct bufferevent *tls_bev_accept(struct event_base *base, int fd, SSL_CTX *ctx);

/*
 * tls_bev_upgrade - start a server handshake over the plain bufferevent bev (which
 * the new one owns from now on). Whatever the client sent before the handshake is
 * dropped first: it must not count as said under TLS (CVE-2011-0411); *dropped
 * says how much. NULL on failure, bev untouched.
 */
struct bufferevent *tls_bev_upgrade(struct event_base *base, struct bufferevent *bev,
    SSL_CTX *ctx, size_t *dropped);

/*
 * tls_bev_handshake_limit - the seconds a whole handshake may take: command_timeout,
 * at most 30 (counted from its start, not reset by each record: net/deadline.h).
 */
uint64_t tls_bev_handshake_limit(uint64_t command_timeout);

/* tls_bev_handshaking - whether bev is a TLS bufferevent whose handshake is not done. */
bool tls_bev_handshaking(struct bufferevent *bev);

/* tls_bev_log_established - "TLS established with IP: version cipher". */
void tls_bev_log_established(struct bufferevent *bev, const char *ip);

/*
 * tls_bev_flush_alert - after a handshake over a STARTTLS filter failed, what
 * OpenSSL queued below it (the alert that tells the client why) written to the
 * socket now, as far as it goes without waiting: the session is freed next.
 */
void tls_bev_flush_alert(struct bufferevent *bev);

/* tls_bev_log_errors - each OpenSSL error of bev, one line each. */
void tls_bev_log_errors(struct bufferevent *bev, const char *ip);

#endif
