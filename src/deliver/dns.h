/*
 * dns.h - asynchronous MX and address lookups through libunbound, inside the
 * libevent loop (one fd). With `resolver` set, every name is asked of that server,
 * loopback and special-use names such as .test included. Made with a trust anchor
 * (dns_new_validating), answers are DNSSEC-validated: each says whether it was
 * secure, and a bogus one is a DNS_TEMPFAIL with the validator's reason.
 */
#ifndef MAILROOM_DNS_H
#define MAILROOM_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "deliver/dns_parse.h"

struct event_base;
struct dns;

enum dns_status {
	DNS_OK,       /* records found */
	DNS_NXDOMAIN, /* the name does not exist: a permanent failure */
	DNS_NODATA,   /* the name exists without records of the type */
	DNS_TEMPFAIL, /* SERVFAIL, timeout, no answer: try later */
};

struct addr_list {
	struct sockaddr_storage v[16];
	size_t n;
	bool secure; /* every answer used (records or none) was DNSSEC-validated */
	char canon[DNS_NAME_MAX]; /* the name a CNAME chain led to, without the final
				   * dot; "": the host's own name */
};

typedef void (*dns_mx_fn)(void *arg, enum dns_status st, struct mx_list *mx, const char *why);
typedef void (*dns_addr_fn)(void *arg, enum dns_status st, const struct addr_list *addrs,
    const char *why);

/* dns_new - resolver is NULL (the system's, from resolv.conf) or "ip", "ip:port", "[ip6]:port". */
struct dns *dns_new(struct event_base *base, const char *resolver, char *err, size_t errlen);
/*
 * dns_new_validating - dns_new whose answers are DNSSEC-validated against the DS or
 * DNSKEY records of the file trust_anchor (zone file syntax, e.g. dns-root-data's
 * root.key). The resolver asked must pass DNSSEC records on.
 */
struct dns *dns_new_validating(struct event_base *base, const char *resolver,
    const char *trust_anchor, char *err, size_t errlen);
/* dns_free - cancels every lookup still under way (their callbacks are not called). */
void dns_free(struct dns *d);

/* dns_mx - the MX records of domain, finished by mx_list_finish. Returns 0, or -1 (fn not called). */
int dns_mx(struct dns *d, const char *domain, dns_mx_fn fn, void *arg);

/* dns_addr - IPv4 and IPv6 addresses of host (A first, then AAAA), port 0. */
int dns_addr(struct dns *d, const char *host, dns_addr_fn fn, void *arg);

/* The records of one answer, as the wire has them (valid during the callback only). */
struct dns_rdata {
	const uint8_t *const *v; /* rdata of each record */
	const int *len;
	size_t n;
	int ttl;                 /* seconds it may be kept (a denial's too) */
	bool secure;             /* DNSSEC-validated (only with a validating resolver): the
				  * records, or for DNS_NODATA and DNS_NXDOMAIN their denial */
};

typedef void (*dns_rr_fn)(void *arg, enum dns_status st, const struct dns_rdata *rr,
    const char *why);

/*
 * dns_rr - the records of type rrtype (RFC 1035 numbers: 16 TXT, 12 PTR, ...) of
 * name, parsed by the caller (deliver/dns_parse.h). libunbound keeps answers for
 * their TTL, so asking again is cheap. Returns 0, or -1 (fn not called).
 */
int dns_rr(struct dns *d, const char *name, int rrtype, dns_rr_fn fn, void *arg);

/* dns_cancel_arg - cancel every lookup started with arg (its owner is going away). */
void dns_cancel_arg(struct dns *d, void *arg);

#endif
