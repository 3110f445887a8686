/*
 * dkim_canon.h - the "relaxed" canonicalizations of RFC 6376 3.4.2 and 3.4.4, shared
 * by the signer and (later) the verifier: a header field reduced to "name:value\r\n",
 * and the body hashed with SHA-256 as it streams past. Input is message text as the
 * queue keeps it (LF line ends); the canonical form has CRLF, as the wire does.
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

/* The relaxed body hash, fed in chunks. */
struct dkim_body {
	EVP_MD_CTX *md;
	uint64_t empty_lines; /* empty lines held back: they count only if text follows */
	bool in_line;         /* inside a line that has text */
	bool wsp;             /* spaces or tabs seen and not yet written */
	bool any;             /* some line had text: the body is not empty */
};

int dkim_body_init(struct dkim_body *b); /* 0, or -1 (out of memory) */
void dkim_body_update(struct dkim_body *b, const char *p, size_t n);
/* dkim_body_final - the base64 SHA-256 of the canonical body into out (>= 45 octets). */
int dkim_body_final(struct dkim_body *b, char *out, size_t outlen);
void dkim_body_free(struct dkim_body *b);

/* dkim_base64 - in[0..n) in base64 into out (NUL-terminated). Returns 0, or -1 (no room). */
int dkim_base64(const unsigned char *in, size_t n, char *out, size_t outlen);

#endif
