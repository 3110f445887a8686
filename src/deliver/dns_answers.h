/*
 * dns_answers.h - libunbound's answers kept for their TTL on the loop's side of its
 * thread (deliver/dns.c). libunbound keeps answers too, but each one from its
 * cache costs two pipe writes, two reads, four fcntl calls and two wake-ups; queued
 * asks the same few names for every message to a domain (its MX, their addresses,
 * its MTA-STS and TLSA records). Kept: answers and denials (NXDOMAIN, no records)
 * with a TTL above 0, for that TTL (at most DNS_ANSWERS_TTL_MAX seconds); never a
 * failure or a bogus answer. At most DNS_ANSWERS_MAX, the whole set dropped when
 * full. Names compare without regard to case or a final dot. One thread.
 */
#ifndef MAILROOM_DNS_ANSWERS_H
#define MAILROOM_DNS_ANSWERS_H

#include <unbound.h>

#define DNS_ANSWERS_MAX 4096
#define DNS_ANSWERS_TTL_MAX 3600

struct dns_answers;

struct dns_answers *dns_answers_new(void);
void dns_answers_free(struct dns_answers *a);

/* dns_answers_keep - a copy of r, the answer to its qname and qtype, if it is to be kept. */
void dns_answers_keep(struct dns_answers *a, const struct ub_result *r);

/*
 * dns_answers_get - a copy of the answer kept for name and rrtype (its ttl what is
 * left of it), for the caller to free with ub_resolve_free; NULL: none, or it is
 * stale, or out of memory.
 */
struct ub_result *dns_answers_get(struct dns_answers *a, const char *name, int rrtype);

#endif
