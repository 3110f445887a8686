/*
 * dns_cache.h - answers of a dns_ops kept for their TTL in front of it, for smtpd's
 * checks. Mail from one sender asks the same few names each time (its SPF, DKIM key
 * and DMARC records); libunbound keeps them too, but behind its thread: each answer
 * from its cache still costs two pipe writes and two wake-ups, more than the rest
 * of the lookup. A hit calls back before rr returns, which dns_ops allows.
 *
 * Kept: answers (DNS_OK) and the name or records not existing (DNS_NXDOMAIN,
 * DNS_NODATA), each for the TTL the resolver gave (what is left of it in
 * libunbound's cache; at most DNS_CACHE_TTL_MAX seconds; a TTL of 0 is not kept).
 * Never a failure. At most DNS_CACHE_MAX answers of at most DNS_CACHE_DATA_MAX
 * octets each; when full, the whole cache is dropped (answers are cheap to ask again).
 * Names are compared without regard to case. One thread (the loop's).
 */
#ifndef MAILROOM_DNS_CACHE_H
#define MAILROOM_DNS_CACHE_H

#include "deliver/dns_ops.h"

#define DNS_CACHE_MAX 4096
#define DNS_CACHE_DATA_MAX 4096
#define DNS_CACHE_TTL_MAX 3600

struct dns_cache;

/* dns_cache_new - a cache in front of inner (which must outlive it). NULL: out of memory. */
struct dns_cache *dns_cache_new(struct dns_ops inner);

/* dns_cache_free - the answers, and every lookup under way cancelled (no callback). */
void dns_cache_free(struct dns_cache *c);

/* dns_cache_ops - the cache as a dns_ops. */
struct dns_ops dns_cache_ops(struct dns_cache *c);

/* dns_cache_hits - how many lookups the cache answered itself (for tests, metrics). */
unsigned long dns_cache_hits(const struct dns_cache *c);

#endif
