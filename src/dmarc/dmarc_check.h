/*
 * dmarc_check.h - one message's DMARC check (RFC 9989), asynchronous over struct
 * dns_ops: the Author Domain from the From field, the policy discovery walk, the
 * walks for the Organizational Domains of the SPF and DKIM domains when relaxed
 * alignment needs them (answers shared between the walks), the existence of the
 * Author Domain when np= could apply, then dmarc_eval's decision.
 */
#ifndef MAILROOM_DMARC_CHECK_H
#define MAILROOM_DMARC_CHECK_H

#include "deliver/dns_ops.h"
#include "dmarc/dmarc_eval.h"

#define DMARC_DKIM_MAX 8 /* passing DKIM domains considered for alignment */

struct dmarc_check;

/* The result is valid during the call only. */
typedef void (*dmarc_done_fn)(void *arg, const struct dmarc_result *r);

/*
 * dmarc_check_start - start the check of in (copied: the caller's buffers may go
 * once this returns). done(arg, result) is called exactly once, possibly before
 * this returns; the check frees itself after calling it. Returns the check while
 * it runs, or NULL when done has already been called.
 */
struct dmarc_check *dmarc_check_start(const struct dns_ops *ops, const struct dmarc_input *in,
    dmarc_done_fn done, void *arg);

/* dmarc_check_cancel - stop a running check; done is not called. */
void dmarc_check_cancel(struct dmarc_check *c);

#endif
