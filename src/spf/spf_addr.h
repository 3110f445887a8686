/*
 * spf_addr.h - the client address as SPF sees it (pure): an IPv4-mapped IPv6
 * address is IPv4 (RFC 7208 5), CIDR matching, and the forms the macros and the
 * ptr mechanism need (reverse name, dotted nibbles).
 */
#ifndef MAILROOM_SPF_ADDR_H
#define MAILROOM_SPF_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct spf_ip {
	int family;      /* AF_INET (first 4 octets of a) or AF_INET6 */
	uint8_t a[16];
};

/* spf_ip_parse - numeric text into ip, ::ffff:a.b.c.d made IPv4. 0 or -1. */
int spf_ip_parse(const char *text, struct spf_ip *ip);

/* spf_ip_in - whether ip lies in net/bits (net of the same family, 4 or 16 octets). */
bool spf_ip_in(const struct spf_ip *ip, int family, const uint8_t *net, unsigned bits);

/* spf_ip_text - the usual text form (RFC 5952 for IPv6): the c macro. */
void spf_ip_text(const struct spf_ip *ip, char *out, size_t outlen);

/* spf_ip_dotted - the i macro: dotted quad, or 32 nibbles joined by dots. */
void spf_ip_dotted(const struct spf_ip *ip, char *out, size_t outlen);

/* spf_ip_reverse_name - the in-addr.arpa / ip6.arpa name for a PTR query. */
void spf_ip_reverse_name(const struct spf_ip *ip, char *out, size_t outlen);

#endif
