/*
 * tls_server.h - the server side of TLS: the certificates the supervisor reads
 * as root ([tls] cert and key, and one pair per [tls] sni name), and the context
 * the roles build from those bytes, with [tls] min_protocol and ciphers, that
 * picks the certificate by the name a client asks for (SNI).
 */
#ifndef MAILROOM_TLS_SERVER_H
#define MAILROOM_TLS_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <openssl/ssl.h>

#include "config.h"
#include "net/tls.h"

/* The certificate and key of one [tls] sni name. */
struct tls_sni_pem {
	char name[256]; /* lower case; "*.example.com" for one label under example.com */
	struct tls_pem pem;
};

/* Everything a TLS role needs to serve: main.cert NULL when TLS is off. */
struct tls_certs {
	struct tls_pem main;
	struct tls_sni_pem *sni;
	size_t nsni;
};

/*
 * tls_certs_load - read every file cfg's [tls] names (none when cert is unset),
 * and check that cfg's policy and these files make a context (tls_server_ctx).
 * Returns 0, or -1 with a reason in err.
 */
int tls_certs_load(struct tls_certs *c, const struct config *cfg, char *err, size_t errlen);

/* tls_certs_add_sni - append name with pem (which c takes over, emptied). Returns 0 or -1. */
int tls_certs_add_sni(struct tls_certs *c, const char *name, struct tls_pem *pem);

void tls_certs_free(struct tls_certs *c); /* wipes the keys */

/*
 * tls_server_ctx - a server context for c: cfg's min_protocol and ciphers, the
 * server's cipher order, each key checked against its certificate, and each SNI
 * certificate checked to name its hostname. A client's SNI selects a name's
 * certificate (exact names first, then *. names), anything else gets the main one.
 * Returns NULL with a reason in err.
 */
SSL_CTX *tls_server_ctx(const struct tls_certs *c, const struct config *cfg, char *err,
    size_t errlen);

/* tls_server_check_policy - whether cfg's min_protocol and ciphers make a usable context (err says why not). */
int tls_server_check_policy(const struct config *cfg, char *err, size_t errlen);

/* tls_sni_match - whether the SNI name matches pattern (a name, or "*.domain": one label more). */
bool tls_sni_match(const char *pattern, const char *name);

/*
 * tls_cert_names - whether the PEM certificate cert (the leaf first) is for name:
 * a DNS name of its subjectAltName (or its CN when it has none), wildcards as
 * browsers take them; a "*.domain" name needs that very wildcard in the certificate.
 * Returns 1, 0, or -1 when cert does not parse.
 */
int tls_cert_names(const char *cert, size_t certlen, const char *name);

/*
 * tls_server_each_ctx - fn on ctx and on each SNI context it switches to: a
 * handshake that picks an SNI context goes on with that context's callbacks (its
 * ALPN choice among them), so a hook must be on all of them.
 */
void tls_server_each_ctx(SSL_CTX *ctx, void (*fn)(SSL_CTX *, void *), void *arg);

#endif
