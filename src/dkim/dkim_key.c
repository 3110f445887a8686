/* dkim_key.c - DKIM keys made, published and used with OpenSSL 3's EVP (see dkim_key.h). */
#include "dkim/dkim_key.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <string.h>

#define SHA256_LEN 32
#define ED25519_RAW_LEN 32

static const char *const alg_names[DKIM_ALG_COUNT] = {
	[DKIM_ED25519] = "ed25519",
	[DKIM_RSA] = "rsa",
};

static const char *const sig_names[DKIM_ALG_COUNT] = {
	[DKIM_ED25519] = "ed25519-sha256",
	[DKIM_RSA] = "rsa-sha256",
};

const char *
dkim_alg_name(enum dkim_alg alg)
{
	return (unsigned)alg < DKIM_ALG_COUNT ? alg_names[alg] : "?";
}

const char *
dkim_alg_sig_name(enum dkim_alg alg)
{
	return (unsigned)alg < DKIM_ALG_COUNT ? sig_names[alg] : "?";
}

const char *
dkim_alg_key_type(enum dkim_alg alg)
{
	return dkim_alg_name(alg);
}

bool
dkim_alg_parse(const char *name, enum dkim_alg *alg)
{
	for (unsigned i = 0; i < DKIM_ALG_COUNT; i++) {
		if (strcmp(name, alg_names[i]) == 0) {
			*alg = (enum dkim_alg)i;
			return true;
		}
	}
	return false;
}

/* b64 - base64 of n octets into out, without line breaks. 0, or -1 when it does not fit. */
static int
b64(const unsigned char *in, size_t n, char *out, size_t outlen)
{
	if (n > 3 * 65536 || outlen < 4 * ((n + 2) / 3) + 1)
		return -1;
	EVP_EncodeBlock((unsigned char *)out, in, (int)n);
	return 0;
}

/* key_is - whether pkey is a key of alg. */
static bool
key_is(const EVP_PKEY *pkey, enum dkim_alg alg)
{
	return EVP_PKEY_is_a(pkey, alg == DKIM_ED25519 ? "ED25519" : "RSA") &&
	    (alg != DKIM_RSA || EVP_PKEY_get_bits(pkey) >= 1024);
}

EVP_PKEY *
dkim_key_load(const char *pem, enum dkim_alg alg)
{
	BIO *bio = BIO_new_mem_buf(pem, -1); /* reads pem in place: no copy to zero */
	EVP_PKEY *pkey = NULL;

	if (bio == NULL)
		return NULL;
	pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (pkey != NULL && !key_is(pkey, alg)) {
		EVP_PKEY_free(pkey);
		pkey = NULL;
	}
	return pkey;
}

static int
public_of(EVP_PKEY *pkey, enum dkim_alg alg, char *pub_b64, size_t publen)
{
	if (alg == DKIM_ED25519) {
		unsigned char raw[ED25519_RAW_LEN];
		size_t n = sizeof raw;
		if (EVP_PKEY_get_raw_public_key(pkey, raw, &n) != 1 || n != sizeof raw)
			return -1;
		return b64(raw, n, pub_b64, publen);
	}
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(pkey, &der);
	if (n <= 0)
		return -1;
	int rc = b64(der, (size_t)n, pub_b64, publen);
	OPENSSL_free(der);
	return rc;
}

/* generate - a new key of alg, or NULL. */
static EVP_PKEY *
generate(enum dkim_alg alg)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL,
	    alg == DKIM_ED25519 ? "ED25519" : "RSA", NULL);
	EVP_PKEY *pkey = NULL;
	BIGNUM *e = NULL;

	if (ctx == NULL || EVP_PKEY_keygen_init(ctx) != 1)
		goto out;
	if (alg == DKIM_RSA) {
		if ((e = BN_new()) == NULL || BN_set_word(e, RSA_F4) != 1 ||
		    EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, DKIM_RSA_BITS) != 1 ||
		    EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx, e) != 1)
			goto out;
	}
	if (EVP_PKEY_generate(ctx, &pkey) != 1)
		pkey = NULL;
out:
	BN_free(e);
	EVP_PKEY_CTX_free(ctx);
	return pkey;
}

int
dkim_key_make(enum dkim_alg alg, char *pem, size_t pemlen, char *pub_b64, size_t publen)
{
	EVP_PKEY *pkey = NULL;
	BIO *bio = NULL;
	int rc = -1;

	if ((unsigned)alg >= DKIM_ALG_COUNT || pemlen == 0)
		return -1;
	pem[0] = '\0';
	if ((pkey = generate(alg)) == NULL)
		goto out;
	/* Secure memory: the BIO's buffer is cleared when it is freed. */
	if ((bio = BIO_new(BIO_s_secmem())) == NULL ||
	    PEM_write_bio_PKCS8PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL) != 1)
		goto out;
	char *p;
	long n = BIO_get_mem_data(bio, &p);
	if (n <= 0 || (size_t)n >= pemlen)
		goto out;
	memcpy(pem, p, (size_t)n);
	pem[n] = '\0';
	rc = public_of(pkey, alg, pub_b64, publen);
out:
	if (rc < 0)
		explicit_bzero(pem, pemlen);
	BIO_free(bio);
	EVP_PKEY_free(pkey);
	return rc;
}

int
dkim_key_public(const char *pem, enum dkim_alg alg, char *pub_b64, size_t publen)
{
	EVP_PKEY *pkey = dkim_key_load(pem, alg);
	if (pkey == NULL)
		return -1;
	int rc = public_of(pkey, alg, pub_b64, publen);
	EVP_PKEY_free(pkey);
	return rc;
}

int
dkim_key_sign_with(EVP_PKEY *pkey, enum dkim_alg alg, const void *data, size_t len,
    char *out_b64, size_t outlen)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char hash[SHA256_LEN], sig[512];
	size_t siglen = sizeof sig;
	int rc = -1;

	if (outlen > 0)
		out_b64[0] = '\0';
	if (pkey == NULL || md == NULL || !key_is(pkey, alg))
		goto out;
	if (alg == DKIM_RSA) {
		if ((size_t)EVP_PKEY_get_size(pkey) > sizeof sig ||
		    EVP_DigestSignInit_ex(md, NULL, "SHA256", NULL, NULL, pkey, NULL) != 1 ||
		    EVP_DigestSign(md, sig, &siglen, data, len) != 1)
			goto out;
	} else {
		/* RFC 8463: the signature is over the SHA-256 hash of the data, not the data. */
		unsigned int hlen = 0;
		if (EVP_Digest(data, len, hash, &hlen, EVP_sha256(), NULL) != 1 || hlen != sizeof hash ||
		    EVP_DigestSignInit_ex(md, NULL, NULL, NULL, NULL, pkey, NULL) != 1 ||
		    EVP_DigestSign(md, sig, &siglen, hash, sizeof hash) != 1)
			goto out;
	}
	rc = b64(sig, siglen, out_b64, outlen);
out:
	EVP_MD_CTX_free(md);
	return rc;
}

int
dkim_key_sign(const char *pem, enum dkim_alg alg, const void *data, size_t len,
    char *out_b64, size_t outlen)
{
	EVP_PKEY *pkey = dkim_key_load(pem, alg);
	int rc = dkim_key_sign_with(pkey, alg, data, len, out_b64, outlen);

	EVP_PKEY_free(pkey);
	return rc;
}
