/*
 * dnsbl.h - DNS block and allow lists for the smtp listener: every configured
 * zone asked at once, when the client connects, whether it lists the client's
 * address (RFC 5782: an A record under the reversed address); the weights of the
 * zones that list it summed against dnsbl_threshold. Allow lists have negative
 * weights. libunbound keeps the answers for their TTL, so a client that comes back
 * costs no new query.
 */
#ifndef MAILROOM_DNSBL_H
#define MAILROOM_DNSBL_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "deliver/dns_ops.h"

/*
 * dnsbl_query_name - the name to ask of zone for ip (RFC 5782 2.1, 2.4): the
 * octets of an IPv4 address reversed, or the 32 nibbles of an IPv6 one. 0, or -1
 * (not an address, or too long).
 */
int dnsbl_query_name(const char *ip, const char *zone, char *out, size_t outlen);

/*
 * dnsbl_answer - what one A record of an answer says: 1 listed (127.0.0.0/8),
 * 0 not, -1 an error code of the list (127.255.255.0/24, as Spamhaus answers
 * queries it refuses), or something that is no list answer at all.
 */
int dnsbl_answer(const uint8_t *rdata, size_t len);

struct dnsbl_result {
	int score;             /* the sum of the weights of the zones that list the client */
	char listed[512];      /* those zones, ", "-separated */
	char failed[512];      /* zones that did not answer in time or answered an error code */
};

struct dnsbl_check;

/*
 * dnsbl_check_start - ask every zone about ip. done is called once (maybe before
 * this returns: then NULL comes back). zones is copied.
 */
struct dnsbl_check *dnsbl_check_start(const struct dns_ops *dns, const char *ip,
    const struct dnsbl_zone *zones, size_t n,
    void (*done)(void *arg, const struct dnsbl_result *r), void *arg);

/* dnsbl_check_expire - stop waiting: the zones not answered count 0; done is called. */
void dnsbl_check_expire(struct dnsbl_check *c);

/* dnsbl_check_free - cancel (done is not called). */
void dnsbl_check_free(struct dnsbl_check *c);

#endif
