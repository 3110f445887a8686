/*
 * dns_spf.h - enough of SPF (RFC 7208) for `mailroom dns check` to say whether a
 * published record lets the host's addresses send (pure). The ip4, ip6, a, mx
 * and all mechanisms are evaluated, a and mx through a lookup function; include,
 * exists, ptr and the redirect modifier are not followed (such a record passes
 * only when the mechanisms evaluated already allow the address).
 */
#ifndef MAILROOM_DNS_SPF_H
#define MAILROOM_DNS_SPF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SPF_TERMS_MAX 40
#define SPF_ADDRS_MAX 32

enum spf_mech { SPF_ALL, SPF_IP4, SPF_IP6, SPF_A, SPF_MX, SPF_UNFOLLOWED };

struct spf_term {
	char qual; /* '+', '-', '~' or '?' */
	enum spf_mech mech;
	char domain[256]; /* a, mx: the target; "" for the record's own domain */
	uint8_t addr[16];  /* ip4 (first 4 octets), ip6 */
	unsigned prefix4, prefix6; /* ip4/a/mx: bits of IPv4; ip6/a/mx: of IPv6 */
};

struct spf_record {
	struct spf_term v[SPF_TERMS_MAX];
	size_t n;
	bool unfollowed; /* include, exists, ptr or redirect= present */
};

/* An address: family AF_INET (first 4 octets of addr) or AF_INET6. */
struct spf_addr {
	int family;
	uint8_t addr[16];
};

struct spf_addrs {
	struct spf_addr v[SPF_ADDRS_MAX];
	size_t n;
};

/* spf_is_record - txt is an SPF record: "v=spf1" alone or before a space (RFC 7208 4.5). */
bool spf_is_record(const char *txt);

/* spf_parse - the terms of an SPF record. Returns 0, or -1 with the reason in why. */
int spf_parse(const char *txt, struct spf_record *out, char *why, size_t whylen);

/*
 * spf_lookup_fn - the addresses of name (mx: of each of its MX hosts) into out.
 * Returns 0 (out may stay empty: no such records), or -1 on a temporary failure.
 */
typedef int (*spf_lookup_fn)(void *arg, bool mx, const char *name, struct spf_addrs *out);

enum spf_verdict { SPF_PASS, SPF_NOT_PASS, SPF_TEMPFAIL };

/* spf_allows - whether r, published at domain, gives addr the result pass. */
enum spf_verdict spf_allows(const struct spf_record *r, const char *domain,
    const struct spf_addr *addr, spf_lookup_fn lookup, void *arg);

/* spf_addr_parse - numeric text into a. 0 or -1. */
int spf_addr_parse(const char *text, struct spf_addr *a);

#endif
