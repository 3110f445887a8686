/*
 * acme_jws.h - the signed requests of ACME (RFC 8555 6.2): base64url (RFC 4648 5,
 * no padding), the account key as a JWK and its thumbprint (RFC 7638), flattened
 * JWS objects signed ES256 (RFC 7515, RFC 7518 3.4), key authorizations (8.1).
 * Pure functions over OpenSSL keys and jansson values: no I/O.
 */
#ifndef MAILROOM_ACME_JWS_H
#define MAILROOM_ACME_JWS_H

#include <stddef.h>
#include <jansson.h>
#include <openssl/evp.h>

/* A SHA-256 thumbprint in base64url: 43 characters. */
#define ACME_THUMB_LEN 43

/* b64url - n octets of in as base64url without padding (malloc'ed), or NULL. */
char *b64url(const void *in, size_t n);

/*
 * b64url_decode - the base64url text in (padding optional) into out; *n is the
 * length. Returns 0, or -1 when it is not base64url or does not fit outlen.
 */
int b64url_decode(const char *in, unsigned char *out, size_t outlen, size_t *n);

/* acme_jwk - the public half of an EC P-256 key as a JWK object {crv, kty, x, y}, or NULL. */
json_t *acme_jwk(EVP_PKEY *key);

/*
 * acme_jwk_thumbprint - RFC 7638: SHA-256 over the required members of jwk (EC:
 * crv, kty, x, y; RSA: e, kty, n) in lexical order, without white space, into
 * out (ACME_THUMB_LEN + 1 octets). Returns 0, or -1 for an incomplete JWK.
 */
int acme_jwk_thumbprint(const json_t *jwk, char *out);

/*
 * acme_jws - a flattened JWS of payload (a JSON text; "" for POST-as-GET) for url
 * with nonce, signed ES256 with key; the protected header names the account by
 * kid, or carries the JWK when kid is NULL (newAccount). The JSON text, malloc'ed,
 * or NULL.
 */
char *acme_jws(EVP_PKEY *key, const char *kid, const char *nonce, const char *url,
    const char *payload);

/* acme_key_authorization - "token.thumbprint" (malloc'ed), or NULL. */
char *acme_key_authorization(const char *token, const char *thumbprint);

#endif
