/* dkim_vkey.c - a DKIM signature checked against its key (RFC 6376 6.1.2-3, RFC 8463 3, RFC 8301). */
#include "dkim/dkim_vkey.h"

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct dkim_pubkey {
	enum dkim_key_type type;
	EVP_PKEY *pkey;
	int bits;
	EVP_MD *sha256;    /* fetched once: named at each use, it is looked up each time */
	EVP_PKEY_CTX *rsa; /* RSA: set up for PKCS #1 v1.5 with SHA-256, for EVP_PKEY_verify
			    * again and again (EVP_PKEY_verify(3)); NULL: that set-up failed */
};

/* rsa_key - p= of a k=rsa record: a SubjectPublicKeyInfo, or (as some publish) a bare RSAPublicKey. */
static EVP_PKEY *
rsa_key(const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	EVP_PKEY *pkey;

	if (len > 65536)
		return NULL;
	pkey = d2i_PUBKEY(NULL, &p, (long)len);
	if (pkey != NULL && (p != der + len || !EVP_PKEY_is_a(pkey, "RSA"))) {
		EVP_PKEY_free(pkey);
		return NULL;
	}
	if (pkey == NULL) {
		p = der;
		pkey = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long)len);
		if (pkey != NULL && p != der + len) {
			EVP_PKEY_free(pkey);
			pkey = NULL;
		}
	}
	return pkey;
}

/* rsa_ctx - what EVP_DigestVerify with "SHA256" sets up each time, set up once. */
static EVP_PKEY_CTX *
rsa_ctx(EVP_PKEY *pkey, const EVP_MD *md)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);

	if (ctx != NULL && EVP_PKEY_verify_init(ctx) == 1 &&
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
	    EVP_PKEY_CTX_set_signature_md(ctx, md) == 1)
		return ctx;
	EVP_PKEY_CTX_free(ctx);
	return NULL;
}

struct dkim_pubkey *
dkim_pubkey_new(const struct dkim_keyrec *k)
{
	struct dkim_pubkey *pk = calloc(1, sizeof *pk);

	if (pk == NULL)
		return NULL;
	pk->type = k->type;
	if (k->type == DKIM_KEY_ED25519) {
		if (k->key_len == 32)
			pk->pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, k->key, 32);
	} else {
		pk->pkey = rsa_key(k->key, k->key_len);
	}
	if (pk->pkey == NULL) {
		free(pk);
		return NULL;
	}
	pk->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (k->type == DKIM_KEY_RSA) {
		pk->bits = EVP_PKEY_get_bits(pk->pkey);
		if (pk->bits >= DKIM_RSA_MIN_BITS)
			pk->rsa = rsa_ctx(pk->pkey, pk->sha256 != NULL ? pk->sha256 : EVP_sha256());
	}
	return pk;
}

void
dkim_pubkey_free(struct dkim_pubkey *pk)
{
	if (pk == NULL)
		return;
	EVP_PKEY_CTX_free(pk->rsa);
	EVP_MD_free(pk->sha256);
	EVP_PKEY_free(pk->pkey);
	free(pk);
}

/*
 * verify - 1 when sig is good over data: RSA PKCS #1 v1.5 with SHA-256 (the digest
 * made here, then checked as EVP_DigestVerify would), Ed25519 over SHA-256(data).
 */
static int
verify(struct dkim_pubkey *pk, const unsigned char *sig, size_t siglen, const void *data,
    size_t len)
{
	const EVP_MD *md = pk->sha256 != NULL ? pk->sha256 : EVP_sha256();
	unsigned char hash[32];
	unsigned int hlen = 0;
	int ok;

	if (EVP_Digest(data, len, hash, &hlen, md, NULL) != 1 || hlen != sizeof hash)
		return 0;
	if (pk->type == DKIM_KEY_RSA)
		return pk->rsa != NULL && EVP_PKEY_verify(pk->rsa, sig, siglen, hash, sizeof hash) == 1;
	/* Ed25519 in OpenSSL 3.0 has only the one-shot EVP_DigestVerify, once per context. */
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	ok = ctx != NULL &&
	    EVP_DigestVerifyInit_ex(ctx, NULL, NULL, NULL, NULL, pk->pkey, NULL) == 1 &&
	    EVP_DigestVerify(ctx, sig, siglen, hash, sizeof hash) == 1;
	EVP_MD_CTX_free(ctx);
	return ok;
}

enum dkim_status
dkim_vkey_usable(const struct dkim_sig *sig, const struct dkim_keyrec *k, const char **why)
{
	if (k->revoked) {
		*why = "key revoked";
		return DKIM_FAIL;
	}
	if ((sig->alg == DKIM_ED25519_SHA256) != (k->type == DKIM_KEY_ED25519)) {
		*why = "key type does not match a=";
		return DKIM_PERMERROR;
	}
	if (!k->sha256_ok) {
		*why = "hash not in the key's h=";
		return DKIM_FAIL;
	}
	if (k->strict) {
		const char *at = strrchr(sig->i, '@');
		if (at == NULL || strcasecmp(at + 1, sig->d) != 0) {
			*why = "i= is a subdomain of d= and the key has t=s";
			return DKIM_FAIL;
		}
	}
	*why = "";
	return DKIM_PASS;
}

enum dkim_status
dkim_vkey_verify(const struct dkim_sig *sig, struct dkim_pubkey *pk, const void *data,
    size_t len, const char **why)
{
	if (pk == NULL) {
		*why = "bad key";
		return DKIM_PERMERROR;
	}
	if (pk->type == DKIM_KEY_RSA && pk->bits < DKIM_RSA_MIN_BITS) {
		*why = "RSA key under 1024 bits";
		return DKIM_FAIL;
	}
	if (!verify(pk, sig->b, sig->b_len, data, len)) {
		*why = "signature invalid";
		return DKIM_FAIL;
	}
	*why = "";
	return DKIM_PASS;
}

enum dkim_status
dkim_vkey_check(const struct dkim_sig *sig, const struct dkim_keyrec *k, const void *data,
    size_t len, const char **why)
{
	enum dkim_status st = dkim_vkey_usable(sig, k, why);

	if (st != DKIM_PASS)
		return st;
	struct dkim_pubkey *pk = dkim_pubkey_new(k);
	st = dkim_vkey_verify(sig, pk, data, len, why);
	dkim_pubkey_free(pk);
	return st;
}
