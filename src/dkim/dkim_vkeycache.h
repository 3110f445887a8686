/*
 * dkim_vkeycache.h - public DKIM keys kept parsed between messages, for the
 * verifier (smtpd has one for its loop). Reading an RSA key from p= costs four
 * times checking a signature with it (OpenSSL 3's decoders). An entry is found by
 * d=, s= and the key record's whole text, so a record that changed in any way is
 * a miss, and the new key is used as soon as DNS gives the new record; an entry
 * lasts the record's TTL, at most DKIM_VKEYCACHE_MAX_AGE, and the least recently
 * used gives way. Bad keys are not kept. One thread at a time: the keys hold
 * OpenSSL contexts that each check uses.
 */
#ifndef MAILROOM_DKIM_VKEYCACHE_H
#define MAILROOM_DKIM_VKEYCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "dkim/dkim_keyrec.h"
#include "dkim/dkim_vkey.h"

#define DKIM_VKEYCACHE_SIZE 256     /* keys: two each for 128 signing domains */
#define DKIM_VKEYCACHE_MAX_AGE 3600 /* seconds an entry lasts at most */

struct dkim_vkeycache;

struct dkim_vkeycache *dkim_vkeycache_new(void);
void dkim_vkeycache_free(struct dkim_vkeycache *kc);

/*
 * dkim_vkeycache_get - the key of the record rec[0..len) (read into k) of
 * selector s of domain d, kept in kc or made and put in it for ttl seconds
 * (answered with it, in whole seconds of a clock that only goes forward: now).
 * NULL: a bad key (or out of memory). The key belongs to kc: it lasts until the
 * next call or dkim_vkeycache_free.
 */
struct dkim_pubkey *dkim_vkeycache_get(struct dkim_vkeycache *kc, const char *d,
    const char *s, const char *rec, size_t len, const struct dkim_keyrec *k, int ttl,
    int64_t now);

/* dkim_vkeycache_now - the clock of dkim_vkeycache_get: CLOCK_MONOTONIC seconds. */
int64_t dkim_vkeycache_now(void);

/* For the tests: keys made since kc was, and keys held now. */
unsigned long dkim_vkeycache_parses(const struct dkim_vkeycache *kc);
size_t dkim_vkeycache_count(const struct dkim_vkeycache *kc);

#endif
