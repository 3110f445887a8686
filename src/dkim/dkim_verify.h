/*
 * dkim_verify.h - verifying the DKIM signatures of a message (RFC 6376 6, RFC 8463,
 * RFC 8301) as it streams past: the header block first (each DKIM-Signature read
 * and its header hash input made then), the body in chunks (hashed once for each
 * c= and l= among the signatures), then the key lookups, all at once through struct
 * dns_ops, and one result per signature, in header order. Message text is as the
 * queue keeps it (LF line ends); it is canonicalized as the wire had it (CRLF).
 */
#ifndef MAILROOM_DKIM_VERIFY_H
#define MAILROOM_DKIM_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "deliver/dns_ops.h"

#define DKIM_VERIFY_MAX 10 /* signatures verified per message; the rest are ignored */

enum dkim_status {
	DKIM_PASS,
	DKIM_FAIL,      /* the signature does not verify, or may not be used: see why */
	DKIM_NEUTRAL,   /* it failed, but the key is in testing mode (t=y) */
	DKIM_POLICY,    /* it verifies, but l= leaves part of the body unsigned */
	DKIM_TEMPERROR, /* the key lookup failed for now */
	DKIM_PERMERROR, /* bad signature syntax, no key record, a bad key */
};

/* dkim_status_name - "pass", "fail", ... as Authentication-Results has them (RFC 8601). */
const char *dkim_status_name(enum dkim_status st);

/* One result; the strings live until dkim_verify_free. */
struct dkim_result {
	enum dkim_status status;
	const char *why;    /* "" for a pass */
	const char *d;      /* header.d ("" when the signature had none that could be read) */
	const char *s;      /* header.s */
	const char *a;      /* header.a */
	const char *i;      /* header.i ("@" and d= when the signature has no i=) */
	const char *b;      /* header.b: the first 8 characters of b= (RFC 6008) */
	bool testing;       /* the key has t=y */
	bool usable;        /* a pass: d= may serve DMARC alignment */
};

struct dkim_verify;

/*
 * dkim_verify_new - the verifier of the message whose header block is hdr[0..hdrlen)
 * (with or without the empty line after it; the caller bounds its size). hdr is not
 * kept. NULL: out of memory.
 */
struct dkim_verify *dkim_verify_new(const char *hdr, size_t hdrlen);

/* dkim_verify_count - the signatures that will have results (at most DKIM_VERIFY_MAX). */
size_t dkim_verify_count(const struct dkim_verify *v);
/* dkim_verify_ignored - the signatures beyond DKIM_VERIFY_MAX, not verified. */
size_t dkim_verify_ignored(const struct dkim_verify *v);

/* dkim_verify_set_time - the time x= is compared with (default: when made). */
void dkim_verify_set_time(struct dkim_verify *v, time_t now);

struct dkim_vkeycache;

/*
 * dkim_verify_set_keys - parsed public keys to take from and keep in (default NULL:
 * each key is read from its record for this message alone); keys must outlive v.
 */
void dkim_verify_set_keys(struct dkim_verify *v, struct dkim_vkeycache *keys);

struct dkim_vpool;
/*
 * dkim_verify_set_pool - check each signature with its key on one of pool's threads
 * (with the keys that thread keeps; set_keys is then for what pool cannot take).
 * done is then called from the loop later. pool must outlive v's finish.
 */
void dkim_verify_set_pool(struct dkim_verify *v, struct dkim_vpool *pool);

/* dkim_verify_body - the next part of the body (the text after the empty line). */
void dkim_verify_body(struct dkim_verify *v, const char *p, size_t n);

typedef void (*dkim_verify_fn)(void *arg, const struct dkim_result *res, size_t n);

/*
 * dkim_verify_finish - the body has ended: look the keys up through dns (which must
 * stay valid until done is called) and call done once with every result, perhaps
 * before this returns. done may free the verifier. Returns 0, or -1 (called twice:
 * done will not be called).
 */
int dkim_verify_finish(struct dkim_verify *v, const struct dns_ops *dns, dkim_verify_fn done,
    void *arg);

struct buf;
struct dkim_sig;
struct dkim_field;
struct dkim_fields;

/*
 * dkim_sig_header_data - what the signature sig (read from field f of fields) covers
 * (RFC 6376 6.1.3), appended to out: the h= fields in order, each the last instance
 * not yet taken, then f with b= emptied and no line end, all in the c= header form.
 * ARC's AMS is covered the same way. Returns 0 or -1 (out of memory).
 */
int dkim_sig_header_data(const struct dkim_sig *sig, const struct dkim_fields *fields,
    const struct dkim_field *f, struct buf *out);

/*
 * dkim_key_answer - sig checked with the key in the TXT records rr (the first that
 * reads as a key record decides) over data[0..len): DKIM_PASS, DKIM_FAIL,
 * DKIM_PERMERROR, or DKIM_TEMPERROR (out of memory), with the reason in why and
 * whether the key is in testing mode (t=y) in *testing. The parsed key is taken
 * from keys, or kept there (keys NULL: read for this check alone).
 */
enum dkim_status dkim_key_answer(const struct dkim_sig *sig, const struct dns_rdata *rr,
    struct dkim_vkeycache *keys, const void *data, size_t len, bool *testing, char *why,
    size_t whylen);

/* dkim_verify_free - cancels the lookups still under way (done is then not called). */
void dkim_verify_free(struct dkim_verify *v);

#endif
