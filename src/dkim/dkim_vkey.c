/* dkim_vkey.c - a DKIM signature checked against its key (RFC 6376 6.1.2-3, RFC 8463 3, RFC 8301). */
#include "dkim/dkim_vkey.h"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <string.h>
#include <strings.h>

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

/* verify - 1 when sig is good over data (rsa: PKCS #1 v1.5 with SHA-256; Ed25519: over SHA-256(data)). */
static int
verify(EVP_PKEY *pkey, enum dkim_sig_alg alg, const unsigned char *sig, size_t siglen,
    const void *data, size_t len)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char hash[32];
	unsigned int hlen = 0;
	int ok = 0;

	if (md == NULL)
		return 0;
	if (alg == DKIM_RSA_SHA256) {
		ok = EVP_DigestVerifyInit_ex(md, NULL, "SHA256", NULL, NULL, pkey, NULL) == 1 &&
		    EVP_DigestVerify(md, sig, siglen, data, len) == 1;
	} else {
		ok = EVP_Digest(data, len, hash, &hlen, EVP_sha256(), NULL) == 1 &&
		    hlen == sizeof hash &&
		    EVP_DigestVerifyInit_ex(md, NULL, NULL, NULL, NULL, pkey, NULL) == 1 &&
		    EVP_DigestVerify(md, sig, siglen, hash, sizeof hash) == 1;
	}
	EVP_MD_CTX_free(md);
	return ok;
}

enum dkim_status
dkim_vkey_check(const struct dkim_sig *sig, const struct dkim_keyrec *k, const void *data,
    size_t len, const char **why)
{
	EVP_PKEY *pkey = NULL;
	enum dkim_status st;

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
	if (k->type == DKIM_KEY_ED25519) {
		if (k->key_len == 32)
			pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, k->key, 32);
	} else {
		pkey = rsa_key(k->key, k->key_len);
	}
	if (pkey == NULL) {
		*why = "bad key";
		return DKIM_PERMERROR;
	}
	if (k->type == DKIM_KEY_RSA && EVP_PKEY_get_bits(pkey) < DKIM_RSA_MIN_BITS) {
		*why = "RSA key under 1024 bits";
		st = DKIM_FAIL;
	} else if (verify(pkey, sig->alg, sig->b, sig->b_len, data, len)) {
		*why = "";
		st = DKIM_PASS;
	} else {
		*why = "signature invalid";
		st = DKIM_FAIL;
	}
	EVP_PKEY_free(pkey);
	return st;
}
