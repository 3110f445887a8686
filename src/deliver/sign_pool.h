/*
 * sign_pool.h - queued's signing off its loop. A message's DKIM or ARC fields take
 * a read of the whole message (the body hash), header canonicalization and one
 * lookupd round trip per signature; on the loop that stalled every delivery for as
 * long. Here they run on a few threads, each with a lookupd connection of its own,
 * and the delivery that waits for them goes on when they are done.
 */
#ifndef MAILROOM_SIGN_POOL_H
#define MAILROOM_SIGN_POOL_H

#include "deliver/outbound_sign.h"

struct event_base;
struct sign_pool;

#define SIGN_THREADS 2

/* sign_pool_new - the pool for the lookupd of data_dir; threads start at the first job. */
struct sign_pool *sign_pool_new(struct event_base *base, const char *data_dir);
/* sign_pool_free - the jobs under way finish and their completions run first. */
void sign_pool_free(struct sign_pool *p);

/*
 * sign_pool_submit - outbound_sign(j) into prefix on a worker, then done(arg, rc) on
 * the loop with outbound_sign's result. j and what it points to, and prefix, stay
 * as they are until done has run. Returns 0, or -1 (nothing runs: sign on the loop).
 */
int sign_pool_submit(struct sign_pool *p, const struct sign_job *j, struct buf *prefix,
    void (*done)(void *arg, int rc), void *arg);

#endif
