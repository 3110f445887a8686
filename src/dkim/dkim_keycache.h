/*
 * dkim_keycache.h - private DKIM keys kept parsed between signatures. Reading a
 * key from its PEM costs as much as an RSA signature and ten Ed25519 ones, and a
 * key used again keeps OpenSSL's blinding and Montgomery set-up. Entries are
 * found by the SHA-256 of the PEM text, so a rotated or replaced key is a miss
 * and needs no invalidation; the least recently used entry gives way. One cache
 * is for one thread at a time (lookupd gives each store worker its own).
 */
#ifndef MAILROOM_DKIM_KEYCACHE_H
#define MAILROOM_DKIM_KEYCACHE_H

#include <stddef.h>

#include "dkim/dkim_key.h"

#define DKIM_KEYCACHE_SIZE 256 /* two keys for each of 128 domains signing at once */

struct dkim_keycache;

struct dkim_keycache *dkim_keycache_new(void);
/* dkim_keycache_free - every key freed (OpenSSL clears their private parts). */
void dkim_keycache_free(struct dkim_keycache *kc);

/*
 * dkim_keycache_sign - dkim_key_sign, with pem's parsed key taken from kc or put in
 * it. kc NULL: dkim_key_sign itself. Returns 0, or -1 as dkim_key_sign.
 */
int dkim_keycache_sign(struct dkim_keycache *kc, const char *pem, enum dkim_alg alg,
    const void *data, size_t len, char *out_b64, size_t outlen);

/* For the tests: keys parsed from PEM since kc was made, and keys held now. */
unsigned long dkim_keycache_parses(const struct dkim_keycache *kc);
size_t dkim_keycache_count(const struct dkim_keycache *kc);

#endif
