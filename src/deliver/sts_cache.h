/*
 * sts_cache.h - MTA-STS policy discovery for the remote agent (RFC 8461 3, 5): the
 * TXT record at _mta-sts.<domain> asked on each delivery (libunbound keeps it for
 * its TTL), the policy fetched from https://mta-sts.<domain>/.well-known/mta-sts.txt
 * when the record's id is new or the cached policy is a day old, and kept until its
 * max_age passes: in memory, and as a file queue/mta-sts/<domain> so that it
 * survives a restart (RFC 8461 5.1). The fetch has a certificate verified for
 * mta-sts.<domain>, follows no redirect, takes at most 64 KiB, and is bounded in
 * time. A failed fetch keeps a cached policy in force; without one, the domain
 * has none (RFC 8461 5.1, 8.2).
 */
#ifndef MAILROOM_STS_CACHE_H
#define MAILROOM_STS_CACHE_H

#include <stdbool.h>

#include "deliver/mta_sts.h"

struct event_base;
struct dns;
struct sts_cache;
typedef struct ssl_ctx_st SSL_CTX;

/* What a lookup found; valid during the callback only. */
struct sts_answer {
	const struct sts_policy *policy; /* NULL: none (no record, or no policy to be had) */
	const char *text;                /* the policy as served, for TLS-RPT */
	const char *id;                  /* its id */
	/* A record was found but its policy could not be had: the RFC 8460 result type
	 * (sts-policy-fetch-error, sts-policy-invalid, sts-webpki-invalid), else NULL. */
	const char *failure;
	const char *why;                 /* the failure's reason, for the log */
};

typedef void (*sts_fn)(void *arg, const struct sts_answer *a);

/*
 * sts_cache_new - dir is where the policies are kept (made when missing); ctx the
 * verifying context of the fetches. NULL when out of memory.
 */
struct sts_cache *sts_cache_new(struct event_base *base, struct dns *dns, SSL_CTX *ctx,
    const char *dir);
/* sts_cache_free - lookups under way end without their callbacks. */
void sts_cache_free(struct sts_cache *c);

/*
 * sts_lookup - the policy of domain for fn(arg), once; fn may be called before this
 * returns. Returns 0, or -1 (out of memory; fn not called).
 */
int sts_lookup(struct sts_cache *c, const char *domain, sts_fn fn, void *arg);

/* sts_cancel_arg - the callbacks for arg are not called (its owner is going away). */
void sts_cancel_arg(struct sts_cache *c, void *arg);

#endif
