/*
 * dkim_vpool.h - the public-key half of DKIM verification on threads: smtpd's
 * loop hashes the body and looks the key up, a thread checks the signature with
 * it (for RSA and Ed25519 most of a verification's CPU) and the verdict comes back
 * to the loop. Each thread keeps parsed keys of its own (dkim_vkeycache is one
 * thread's), so no lock is taken around a check.
 */
#ifndef MAILROOM_DKIM_VPOOL_H
#define MAILROOM_DKIM_VPOOL_H

#include <stdbool.h>
#include <stddef.h>

#include "deliver/dns.h"
#include "dkim/dkim_sig.h"
#include "dkim/dkim_verify.h"

struct event_base;
struct dkim_vpool;
struct dkim_vjob;

/* What dkim_key_answer said: on the loop, with the reason (valid during the call). */
typedef void (*dkim_vpool_fn)(void *arg, enum dkim_status st, bool testing, const char *why);

/* dkim_vpool_new - nthreads threads answering on base's loop. NULL: none could start. */
struct dkim_vpool *dkim_vpool_new(struct event_base *base, unsigned nthreads);

/*
 * dkim_vpool_check - dkim_key_answer(sig, rr, that thread's keys, data, len) on a
 * thread; everything is copied, so nothing passed need outlive the call. done runs
 * later on the loop, never inside. NULL: out of memory (check on the loop instead).
 */
struct dkim_vjob *dkim_vpool_check(struct dkim_vpool *p, const struct dkim_sig *sig,
    const struct dns_rdata *rr, const void *data, size_t len, dkim_vpool_fn done, void *arg);

/* dkim_vjob_cancel - done will not be called; the job is freed when its thread is done. */
void dkim_vjob_cancel(struct dkim_vjob *j);

/* dkim_vpool_free - the checks under way finish and their done run, then the threads stop. */
void dkim_vpool_free(struct dkim_vpool *p);

/* For the tests: the checks the threads have made. */
unsigned long dkim_vpool_checks(struct dkim_vpool *p);

#endif
