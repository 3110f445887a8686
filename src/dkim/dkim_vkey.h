/*
 * dkim_vkey.h - the last step of verifying one DKIM signature: whether its key
 * record lets it be used (revoked, key type, h=, t=s, RSA size) and whether the
 * signature over its header hash input holds, with OpenSSL 3's EVP. The key made
 * of the record's p= (struct dkim_pubkey) can be kept and used again
 * (dkim_vkeycache.h): reading an RSA key costs four times its verification.
 */
#ifndef MAILROOM_DKIM_VKEY_H
#define MAILROOM_DKIM_VKEY_H

#include <stddef.h>

#include "dkim/dkim_keyrec.h"
#include "dkim/dkim_sig.h"
#include "dkim/dkim_verify.h"

#define DKIM_RSA_MIN_BITS 1024 /* RFC 8301 3.2: smaller keys are not valid */

/*
 * A key record's public key made ready for checking signatures. It holds OpenSSL
 * state that each check uses (an RSA verification context): one thread at a time.
 */
struct dkim_pubkey;

/* dkim_pubkey_new - k's key (p=, as k= says). NULL: a bad key (or out of memory). */
struct dkim_pubkey *dkim_pubkey_new(const struct dkim_keyrec *k);
void dkim_pubkey_free(struct dkim_pubkey *pk);

/*
 * dkim_vkey_usable - DKIM_PASS when the record k lets sig be checked with its key,
 * else DKIM_FAIL or DKIM_PERMERROR with the reason in *why (a constant string).
 */
enum dkim_status dkim_vkey_usable(const struct dkim_sig *sig, const struct dkim_keyrec *k,
    const char **why);

/*
 * dkim_vkey_verify - sig checked with pk (from a usable record; NULL: the record's
 * key was bad, a permerror) over data[0..len): DKIM_PASS, or DKIM_FAIL or
 * DKIM_PERMERROR with the reason in *why.
 */
enum dkim_status dkim_vkey_verify(const struct dkim_sig *sig, struct dkim_pubkey *pk,
    const void *data, size_t len, const char **why);

/*
 * dkim_vkey_check - both, with a key made from k for this check alone: DKIM_PASS,
 * or DKIM_FAIL or DKIM_PERMERROR with the reason in *why. data[0..len) is what the
 * signature covers.
 */
enum dkim_status dkim_vkey_check(const struct dkim_sig *sig, const struct dkim_keyrec *k,
    const void *data, size_t len, const char **why);

#endif
