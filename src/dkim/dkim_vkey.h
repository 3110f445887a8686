/*
 * dkim_vkey.h - the last step of verifying one DKIM signature: whether its key
 * record lets it be used (revoked, key type, h=, t=s, RSA size) and whether the
 * signature over its header hash input holds, with OpenSSL 3's EVP.
 */
#ifndef MAILROOM_DKIM_VKEY_H
#define MAILROOM_DKIM_VKEY_H

#include <stddef.h>

#include "dkim/dkim_keyrec.h"
#include "dkim/dkim_sig.h"
#include "dkim/dkim_verify.h"

#define DKIM_RSA_MIN_BITS 1024 /* RFC 8301 3.2: smaller keys are not valid */

/*
 * dkim_vkey_check - DKIM_PASS, or DKIM_FAIL or DKIM_PERMERROR with the reason in
 * *why (a constant string). data[0..len) is what the signature covers.
 */
enum dkim_status dkim_vkey_check(const struct dkim_sig *sig, const struct dkim_keyrec *k,
    const void *data, size_t len, const char **why);

#endif
