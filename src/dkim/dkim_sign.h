/*
 * dkim_sign.h - the text of a signature header field (DKIM-Signature, RFC 6376 3.5;
 * ARC-Message-Signature and ARC-Seal, RFC 8617 4.1) and the octets its signature
 * covers. Pure: the private key is elsewhere (lookupd signs what this builds).
 * relaxed/relaxed; the fields signed are those mox and maddy sign, each instance
 * present, and From once more (oversigned) so that no From can be added later.
 */
#ifndef MAILROOM_DKIM_SIGN_H
#define MAILROOM_DKIM_SIGN_H

#include <stdbool.h>
#include <stddef.h>

#include "dkim/dkim_fields.h"
#include "util/buf.h"

/* The fields signed, in h= order. */
extern const char *const dkim_signed_fields[];

struct dkim_sign_req {
	const char *field_name; /* "DKIM-Signature" or "ARC-Message-Signature" */
	const char *first_tag;  /* "v=1" (DKIM) or "i=1" (ARC) */
	const char *alg;        /* "ed25519-sha256" or "rsa-sha256" */
	const char *domain;
	const char *selector;
	long long t;            /* signature time */
	long long x;            /* expiry, or 0: none */
	const char *bh;         /* the body hash, base64 */
};

/*
 * dkim_sign_build - the field up to and including "b=" (LF line ends, folded under
 * 78 columns) into field, and what its signature covers into data: the chosen fields
 * of hdr in the relaxed form, then the field itself without its line end. Each
 * name in h= takes the last instance not yet taken (RFC 6376 5.4.2). Returns 0, or
 * -1 (no From field: such a message is not signed; or out of memory).
 */
int dkim_sign_build(const struct dkim_fields *hdr, const struct dkim_sign_req *r,
    struct buf *field, struct buf *data);

/*
 * dkim_field_add_tag - "tag=value;" onto a field being built, after a space, or on a
 * new folded line when it would pass column 76 (*col tracks the column). value may
 * be folded anywhere when foldable (base64 values: b=, bh=, h= at its colons).
 */
int dkim_field_add_tag(struct buf *field, size_t *col, const char *tag, const char *value,
    int last);

/* dkim_sign_finish - the signature (base64) after "b=", folded, and the line end. */
int dkim_sign_finish(struct buf *field, const char *sig_b64);

/*
 * dkim_pick_fields - the canonical form of the fields named in the colon-separated
 * list h (each taking the last instance not yet taken) appended to data. Returns 0 or -1.
 */
int dkim_pick_fields(const struct dkim_fields *hdr, const char *h, struct buf *data);
/* dkim_pick_fields_c - the same in the simple form when simple is true (a verifier's c=). */
int dkim_pick_fields_c(const struct dkim_fields *hdr, const char *h, bool simple,
    struct buf *data);

#endif
