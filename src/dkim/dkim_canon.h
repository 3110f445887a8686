/*
 * dkim_canon.h - the canonicalizations of RFC 6376 3.4, shared by the signer and the
 * verifier: a header field "simple" (as it was on the wire) or "relaxed" (reduced to
 * "name:value\r\n"), and the body hashed with SHA-256 as it streams past, either
 * way, up to an l= count. Input is message text as the queue keeps it (LF line
 * ends); the canonical form has CRLF, as the wire does. Also base64 both ways.
 */
#ifndef MAILROOM_DKIM_CANON_H
#define MAILROOM_DKIM_CANON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

typedef struct evp_md_ctx_st EVP_MD_CTX;

/*
 * dkim_canon_header - field[0..len) (one header field with its continuation lines,
 * LF or CRLF line ends, with or without the final line end) appended to out in the
 * relaxed form: lower-case name, ':', the value unfolded with every run of spaces
 * and tabs made one space and none at either end, then CRLF unless crlf is false.
 * Returns 0, or -1 (no colon, or out of memory).
 */
int dkim_canon_header(const char *field, size_t len, bool crlf, struct buf *out);

/*
 * dkim_canon_header_c - as dkim_canon_header when simple is false; when true, the
 * "simple" form (RFC 6376 3.4.1): the field unchanged but for its line ends, each
 * made CRLF; with crlf false the final line end is left off.
 */
int dkim_canon_header_c(const char *field, size_t len, bool simple, bool crlf,
    struct buf *out);

#define DKIM_BODY_ALL UINT64_MAX /* no l= */
#define DKIM_SHA256_LEN 32

/* The body hash, fed in chunks. */
struct dkim_body {
	EVP_MD_CTX *md;
	uint64_t limit;       /* canonical octets hashed at most (l=), or DKIM_BODY_ALL */
	uint64_t length;      /* canonical octets so far, hashed or beyond the limit */
	uint64_t empty_lines; /* empty lines held back: they count only if text follows */
	bool simple;          /* "simple" (3.4.3), else "relaxed" (3.4.4) */
	bool in_line;         /* inside a line that has text */
	bool wsp;             /* spaces or tabs seen and not yet written (relaxed) */
};

int dkim_body_init(struct dkim_body *b); /* relaxed, whole body: 0, or -1 (out of memory) */
/* dkim_body_init_c - simple or relaxed, hashing the first limit canonical octets. */
int dkim_body_init_c(struct dkim_body *b, bool simple, uint64_t limit);
void dkim_body_update(struct dkim_body *b, const char *p, size_t n);
/* dkim_body_final - the base64 SHA-256 of the canonical body into out (>= 45 octets). */
int dkim_body_final(struct dkim_body *b, char *out, size_t outlen);
/* dkim_body_digest - the same as DKIM_SHA256_LEN raw octets; b->length is then the total. */
int dkim_body_digest(struct dkim_body *b, unsigned char *out);
void dkim_body_free(struct dkim_body *b);

/* dkim_base64 - in[0..n) in base64 into out (NUL-terminated). Returns 0, or -1 (no room). */
int dkim_base64(const unsigned char *in, size_t n, char *out, size_t outlen);

/*
 * dkim_base64_decode - base64 text p[0..n), in which spaces, tabs and line ends
 * (folding) are skipped, into out. Returns the octets decoded, or -1 (not base64,
 * or more than outmax octets).
 */
long dkim_base64_decode(const char *p, size_t n, unsigned char *out, size_t outmax);

#endif
