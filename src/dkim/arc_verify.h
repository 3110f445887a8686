/*
 * arc_verify.h - validating the ARC chain of a message (RFC 8617 5.2) as it streams
 * past: the header block first (the sets found and their form checked, the seals'
 * cv= read, what each signature covers made), the body in chunks (hashed for the
 * newest ARC-Message-Signature), then the key lookups, all at once through struct
 * dns_ops. The result is none (no ARC fields), pass, or fail with the reason.
 * Message text is as the queue keeps it (LF line ends).
 */
#ifndef MAILROOM_ARC_VERIFY_H
#define MAILROOM_ARC_VERIFY_H

#include <stddef.h>
#include <time.h>

#include "deliver/dns_ops.h"

enum arc_status { ARC_NONE, ARC_PASS, ARC_FAIL };

/* arc_status_name - "none", "pass", "fail" as Authentication-Results has them. */
const char *arc_status_name(enum arc_status st);

struct arc_result {
	enum arc_status status;
	unsigned n;          /* the sets in the chain (0 for none; for a fail, the highest i= seen) */
	const char *why;     /* "" for pass and none; lives until arc_verify_free */
};

struct arc_verify;

/* arc_verify_new - the validator of the message whose header block is hdr[0..hdrlen) (not kept). NULL: out of memory. */
struct arc_verify *arc_verify_new(const char *hdr, size_t hdrlen);

/* arc_verify_set_time - the time the AMS's x= is compared with (default: when made). */
void arc_verify_set_time(struct arc_verify *v, time_t now);

struct dkim_vkeycache;

/* arc_verify_set_keys - parsed public keys to share with DKIM (dkim_verify_set_keys). */
void arc_verify_set_keys(struct arc_verify *v, struct dkim_vkeycache *keys);

/* arc_verify_body - the next part of the body. */
void arc_verify_body(struct arc_verify *v, const char *p, size_t n);

typedef void (*arc_verify_fn)(void *arg, const struct arc_result *res);

/*
 * arc_verify_finish - the body has ended: look the keys up through dns (valid until
 * done) and call done once, perhaps before this returns; done may free v. Returns
 * 0, or -1 (called twice: done will not be called).
 */
int arc_verify_finish(struct arc_verify *v, const struct dns_ops *dns, arc_verify_fn done,
    void *arg);

/* arc_verify_free - cancels the lookups under way (done is then not called). */
void arc_verify_free(struct arc_verify *v);

#endif
