/*
 * dane_tls.h - DANE authentication of an SMTP server through OpenSSL's SSL_dane_*
 * API (RFC 7671, RFC 7672 3): a client context that trusts no CA at all, so that
 * only the host's DANE-TA(2) and DANE-EE(3) records can authenticate the server.
 */
#ifndef MAILROOM_DANE_TLS_H
#define MAILROOM_DANE_TLS_H

#include <stddef.h>
#include <openssl/ssl.h>

#include "deliver/dane.h"

/*
 * dane_tls_ctx - a client context (TLS 1.2 at least) with DANE enabled, the peer
 * verified, an empty trust store, and no name checks after a DANE-EE(3) match
 * (RFC 7672 3.1.1: the key is what is authenticated). NULL with a reason in err.
 */
SSL_CTX *dane_tls_ctx(char *err, size_t errlen);

/*
 * dane_tls_setup - ssl (of dane_tls_ctx) authenticates the server by set: SNI and
 * the first reference identifier are base (the TLSA base domain, RFC 7672 3.2.2),
 * the others are names[0..nnames); a DANE-TA(2) chain must name one of them.
 * Returns the records OpenSSL took (0: none usable), or -1 with a reason in err.
 */
int dane_tls_setup(SSL *ssl, const char *base, const char *const *names, size_t nnames,
    const struct tlsa_set *set, char *err, size_t errlen);

/*
 * dane_tls_describe - the record that matched, after a verified handshake:
 * "DANE-EE(3) 1 1 at depth 0". Returns 0, or -1 when no TLSA record matched.
 */
int dane_tls_describe(SSL *ssl, char *out, size_t outlen);

#endif
