/* selfsigned.h - self-signed certificates: for a fresh instance (`mailroom init`), serve's stand-in, tls-alpn-01. */
#ifndef MAILROOM_SELFSIGNED_H
#define MAILROOM_SELFSIGNED_H

#include <stdbool.h>
#include <stddef.h>

#include "net/tls.h"

/*
 * selfsigned_create - an EC P-256 key (key_path, mode 0600) and a certificate for
 * hostname (cert_path): CN and subjectAltName DNS:hostname, IP:127.0.0.1 and
 * IP:::1, valid for 10 years. Neither file may exist. Returns 0, or -1 with a
 * reason in err.
 */
int selfsigned_create(const char *cert_path, const char *key_path, const char *hostname,
    char *err, size_t errlen);

/*
 * selfsigned_pem - a new EC P-256 key and a self-signed certificate in memory
 * (out, freed with tls_pem_free): CN names[0], subjectAltName DNS for each of the
 * n names (and IP:127.0.0.1, IP:::1 when loopback), valid for days; with acme_id
 * (32 octets, SHA-256 of a key authorization) also the critical acmeIdentifier
 * extension of tls-alpn-01 (RFC 8737 3). Returns 0, or -1 with a reason in err.
 */
int selfsigned_pem(const char *const *names, size_t n, bool loopback, long days,
    const unsigned char *acme_id, struct tls_pem *out, char *err, size_t errlen);

#endif
