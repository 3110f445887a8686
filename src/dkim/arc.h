/*
 * arc.h - sealing a forwarded message with an ARC set (RFC 8617 5.1): the
 * ARC-Authentication-Results that say what we found on arrival, an
 * ARC-Message-Signature over the message as we send it, and the ARC-Seal over the
 * set. Pure: the signature itself comes from a callback (lookupd holds the keys).
 * Only a first set (i=1, cv=none) is made: a message that arrives with a chain is
 * not sealed until mailroom validates chains.
 */
#ifndef MAILROOM_ARC_H
#define MAILROOM_ARC_H

#include <stdbool.h>

#include "dkim/dkim_fields.h"
#include "util/buf.h"

/* sign_fn - base64 signature of data[0..len) with the key of the request; 0 or -1. */
typedef int (*dkim_sign_fn)(void *arg, const void *data, size_t len, char *sig_b64,
    size_t siglen);

struct arc_req {
	const char *authserv_id; /* our hostname */
	const char *results;     /* the results of our Authentication-Results, or NULL: none */
	const char *alg;         /* "rsa-sha256" or "ed25519-sha256" */
	const char *domain;
	const char *selector;
	long long t;
	const char *bh;          /* body hash of the message as sent */
	unsigned instance;       /* i=: 1, or the chain's N + 1 (at most ARC_INSTANCE_MAX) */
	const char *cv;          /* "none" (i=1), "pass" or "fail" */
};

/* arc_has_chain - whether hdr holds ARC header fields already. */
bool arc_has_chain(const struct dkim_fields *hdr);

/*
 * arc_seal - the three fields of the set (ARC-Seal first) appended to out with LF
 * ends, to go on top of the message whose header block is hdr. For cv=pass, hdr
 * must hold the sets 1 to instance - 1 complete. Returns 0, or -1 (no From field,
 * no such chain, the signer failed, out of memory).
 */
int arc_seal(const struct dkim_fields *hdr, const struct arc_req *r, dkim_sign_fn sign,
    void *arg, struct buf *out);

#endif
