/* dkim_keycache.c - parsed private DKIM keys kept between signatures (dkim_keycache.h). */
#include "dkim/dkim_keycache.h"

#include <openssl/evp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/lru_slots.h"

#define DIGEST_LEN 32

struct dkim_keycache {
	struct lru_slots slots; /* SHA-256 of the algorithm and the PEM -> EVP_PKEY */
	unsigned long parses;
};

static void
free_pkey(void *pkey)
{
	EVP_PKEY_free(pkey);
}

struct dkim_keycache *
dkim_keycache_new(void)
{
	struct dkim_keycache *kc = calloc(1, sizeof *kc);

	if (kc != NULL && lru_slots_init(&kc->slots, DKIM_KEYCACHE_SIZE, free_pkey) < 0) {
		free(kc);
		return NULL;
	}
	return kc;
}

void
dkim_keycache_free(struct dkim_keycache *kc)
{
	if (kc == NULL)
		return;
	lru_slots_free(&kc->slots);
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

/*
 * key_for - pem's key from kc, or parsed and put in the least recently used slot.
 * The key is the digest, not the PEM: no copy of the private key besides OpenSSL's.
 */
static EVP_PKEY *
key_for(struct dkim_keycache *kc, const char *pem, enum dkim_alg alg)
{
	unsigned char d[DIGEST_LEN];
	struct lru_slot *victim;
	EVP_PKEY *pkey;

	if (!digest_of(pem, alg, d))
		return NULL;
	if ((pkey = lru_slots_find(&kc->slots, d, sizeof d, 0, &victim)) != NULL)
		return pkey;
	pkey = dkim_key_load(pem, alg);
	kc->parses++;
	if (pkey == NULL || lru_slots_fill(&kc->slots, victim, d, sizeof d, pkey, LRU_NEVER) < 0)
		return NULL; /* a bad key is not kept: it is logged where it is used */
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
	return lru_slots_count(&kc->slots);
}
