/*
 * dkim_key.h - DKIM keys (RFC 6376, RFC 8463) with OpenSSL 3's EVP: make one,
 * give its public half as the p= value of its DNS record, and sign the hash
 * input of a DKIM-Signature with its private half. Keys travel as PEM text
 * (PKCS #8); every buffer that held one is zeroed before it is given back.
 */
#ifndef MAILROOM_DKIM_KEY_H
#define MAILROOM_DKIM_KEY_H

#include <stdbool.h>
#include <stddef.h>

enum dkim_alg { DKIM_ED25519, DKIM_RSA };
#define DKIM_ALG_COUNT 2

#define DKIM_RSA_BITS 2048
#define DKIM_PEM_MAX 4096  /* a PKCS #8 PEM of an RSA 2048 key is about 1.7 KB */
#define DKIM_PUB_MAX 1024  /* base64 of an RSA 2048 SubjectPublicKeyInfo: 392 */
#define DKIM_SIG_MAX 1024  /* base64 of an RSA 2048 signature: 344 */

/* "ed25519" or "rsa": the name in the config, the store and `dkim list`. */
const char *dkim_alg_name(enum dkim_alg alg);
/* The a= value of a signature made with alg: "ed25519-sha256" or "rsa-sha256". */
const char *dkim_alg_sig_name(enum dkim_alg alg);
/* The k= value of a key record: "ed25519" or "rsa". */
const char *dkim_alg_key_type(enum dkim_alg alg);
/* dkim_alg_parse - "ed25519" or "rsa" into *alg; false for anything else. */
bool dkim_alg_parse(const char *name, enum dkim_alg *alg);

/*
 * dkim_key_make - a new key: Ed25519, or RSA of DKIM_RSA_BITS with e = 65537.
 * The private key as PEM into pem, the public key as its p= value into pub_b64.
 * Returns 0, or -1 (pem is zeroed).
 */
int dkim_key_make(enum dkim_alg alg, char *pem, size_t pemlen, char *pub_b64, size_t publen);

/*
 * dkim_key_public - the p= value of the private key pem: RSA, base64 of the DER
 * SubjectPublicKeyInfo; Ed25519, base64 of the 32 raw octets (RFC 8463 section 4).
 * Returns 0, or -1 (not a key of alg).
 */
int dkim_key_public(const char *pem, enum dkim_alg alg, char *pub_b64, size_t publen);

/*
 * dkim_key_sign - sign data (the canonicalized header fields, the DKIM-Signature
 * last with an empty b=) with the private key pem, and write the b= value (base64,
 * no line breaks) into out_b64. rsa-sha256: RSASSA-PKCS1-v1_5 with SHA-256 over
 * data; ed25519-sha256: PureEdDSA over the 32 octets of SHA-256(data) (RFC 8463
 * section 3). Returns 0, or -1 (bad key, wrong algorithm, out too small).
 */
int dkim_key_sign(const char *pem, enum dkim_alg alg, const void *data, size_t len,
    char *out_b64, size_t outlen);

/* OpenSSL's EVP_PKEY, for the callers that keep parsed keys (dkim_keycache.h). */
struct evp_pkey_st;

/* dkim_key_load - the private key of pem when it is one of alg; NULL otherwise. */
struct evp_pkey_st *dkim_key_load(const char *pem, enum dkim_alg alg);
/* dkim_key_sign_with - dkim_key_sign with a key already parsed (not freed here). */
int dkim_key_sign_with(struct evp_pkey_st *pkey, enum dkim_alg alg, const void *data,
    size_t len, char *out_b64, size_t outlen);

#endif
