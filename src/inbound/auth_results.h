/*
 * auth_results.h - the Authentication-Results header field (RFC 8601) that the smtp
 * listener puts on top of each message, built from the results of the checks; and
 * the removal of such fields naming our host that arrive from outside (RFC 8601
 * 5: a forged one would be believed by whatever reads the mailbox). Pure.
 */
#ifndef MAILROOM_AUTH_RESULTS_H
#define MAILROOM_AUTH_RESULTS_H

#include <stddef.h>

#include "util/buf.h"

struct ar_dkim {
	const char *result; /* pass, fail, neutral, policy, temperror, permerror */
	const char *d;      /* header.d */
	const char *s;      /* header.s */
	const char *b;      /* the signature's b= (its first 8 characters go in header.b) */
	const char *a;      /* header.a */
	const char *reason; /* a comment, or NULL */
};

struct ar_input {
	const char *authserv_id; /* our hostname */
	const char *spf;         /* result, or NULL: not checked */
	const char *spf_mailfrom; /* smtp.mailfrom (the address), or NULL for <> */
	const char *spf_helo;     /* smtp.helo */
	const char *spf_reason;
	const struct ar_dkim *dkim; /* every signature; none: dkim=none */
	size_t ndkim;
	const char *dmarc;       /* result, or NULL: not checked */
	const char *dmarc_from;  /* header.from (the From domain) */
	const char *dmarc_policy; /* policy.dmarc (the policy that applied), or NULL */
	const char *dmarc_reason;
	const char *arc;         /* RFC 8617 7.1: none, pass, fail; or NULL: not checked */
	const char *arc_reason;  /* a comment (the chain's length, or why it failed) */
	const char *arc_ip;      /* smtp.remote-ip, or NULL */
};

/* ar_build - "Authentication-Results: ...\n" (folded, LF ends) appended to out. 0 or -1. */
int ar_build(const struct ar_input *in, struct buf *out);

/* ar_payload - the same without the field name, on one line: what ARC's AAR carries. */
int ar_payload(const struct ar_input *in, struct buf *out);

/*
 * ar_strip - hdr[0..len) (a header block, LF or CRLF ends) without the
 * Authentication-Results fields whose authserv-id is host (any case), in place.
 * Returns the new length; *removed counts what went.
 */
size_t ar_strip(char *hdr, size_t len, const char *host, unsigned *removed);

#endif
