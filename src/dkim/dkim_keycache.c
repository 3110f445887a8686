/* dkim_keycache.c - parsed private DKIM keys kept between signatures (dkim_keycache.h). */
#include "dkim/dkim_keycache.h"

#include <openssl/evp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define DIGEST_LEN 32

struct kc_entry {
	unsigned char digest[DIGEST_LEN]; /* SHA-256 of the PEM and the algorithm */
	EVP_PKEY *pkey;                   /* NULL: the slot is free */
	uint64_t used;                    /* the cache's clock at the last use */
};

struct dkim_keycache {
	struct kc_entry v[DKIM_KEYCACHE_SIZE];
	uint64_t clock;
	unsigned long parses;
};

struct dkim_keycache *
dkim_keycache_new(void)
{
	return calloc(1, sizeof(struct dkim_keycache));
}

void
dkim_keycache_free(struct dkim_keycache *kc)
{
	if (kc == NULL)
		return;
	for (size_t i = 0; i < DKIM_KEYCACHE_SIZE; i++)
		EVP_PKEY_free(kc->v[i].pkey);
	free(kc);
}

/* digest_of - the SHA-256 of alg's name and pem: what an entry is found by. */
static bool
digest_of(const char *pem, enum dkim_alg alg, unsigned char out[DIGEST_LEN])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	const char *name = dkim_alg_name(alg);
	unsigned int n = 0;
	bool ok = md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(md, name, strlen(name) + 1) == 1 &&
	    EVP_DigestUpdate(md, pem, strlen(pem)) == 1 &&
	    EVP_DigestFinal_ex(md, out, &n) == 1 && n == DIGEST_LEN;

	EVP_MD_CTX_free(md);
	return ok;
}

/* key_for - pem's key from kc, or parsed and put in the least recently used slot. */
static EVP_PKEY *
key_for(struct dkim_keycache *kc, const char *pem, enum dkim_alg alg)
{
	unsigned char d[DIGEST_LEN];
	struct kc_entry *victim = &kc->v[0];

	if (!digest_of(pem, alg, d))
		return NULL;
	kc->clock++;
	for (size_t i = 0; i < DKIM_KEYCACHE_SIZE; i++) {
		struct kc_entry *e = &kc->v[i];
		if (e->pkey != NULL && memcmp(e->digest, d, DIGEST_LEN) == 0) {
			e->used = kc->clock;
			return e->pkey;
		}
		if (victim->pkey != NULL && (e->pkey == NULL || e->used < victim->used))
			victim = e;
	}
	EVP_PKEY *pkey = dkim_key_load(pem, alg);
	kc->parses++;
	if (pkey == NULL)
		return NULL; /* a bad key is not kept: it is logged where it is used */
	EVP_PKEY_free(victim->pkey);
	memcpy(victim->digest, d, DIGEST_LEN);
	victim->pkey = pkey;
	victim->used = kc->clock;
	return pkey;
}

int
dkim_keycache_sign(struct dkim_keycache *kc, const char *pem, enum dkim_alg alg,
    const void *data, size_t len, char *out_b64, size_t outlen)
{
	if (kc == NULL)
		return dkim_key_sign(pem, alg, data, len, out_b64, outlen);
	EVP_PKEY *pkey = key_for(kc, pem, alg);
	if (pkey == NULL) {
		if (outlen > 0)
			out_b64[0] = '\0';
		return -1;
	}
	return dkim_key_sign_with(pkey, alg, data, len, out_b64, outlen);
}

unsigned long
dkim_keycache_parses(const struct dkim_keycache *kc)
{
	return kc->parses;
}

size_t
dkim_keycache_count(const struct dkim_keycache *kc)
{
	size_t n = 0;

	for (size_t i = 0; i < DKIM_KEYCACHE_SIZE; i++)
		n += kc->v[i].pkey != NULL;
	return n;
}
