/*
 * dns_parse.h - DNS data as libunbound returns it (pure): names, MX, TXT, SRV,
 * PTR/CNAME and address records.
 */
#ifndef MAILROOM_DNS_PARSE_H
#define MAILROOM_DNS_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_NAME_MAX 256

struct mx {
	uint16_t pref;
	char host[DNS_NAME_MAX]; /* without the trailing dot; "" for the root (null MX) */
};

struct mx_list {
	struct mx *v;
	size_t n;
	bool null_mx; /* RFC 7505: the domain accepts no mail */
	bool secure;  /* the answer (or its denial) was DNSSEC-validated (deliver/dns.h) */
};

/*
 * dns_name_from_wire - an uncompressed domain name in wire format (length-prefixed
 * labels ending with the zero label) into dotted text, lower-cased, without the
 * final dot ("" for the root). Labels with '.' or octets outside 0x21-0x7e are
 * refused. Returns the octets used, or -1.
 */
long dns_name_from_wire(const uint8_t *p, size_t len, char *out, size_t outlen);

/* dns_parse_mx - one MX rdata: preference, then the exchange name. Returns 0 or -1. */
int dns_parse_mx(const uint8_t *rdata, size_t len, struct mx *out);

/*
 * mx_list_finish - order by preference, shuffling equal preferences with rnd
 * (a function returning random bits), and apply RFC 7505: when every exchange is
 * the root (normally the one record "0 ."), the domain has a null MX; a root
 * exchange among real ones is dropped.
 */
void mx_list_finish(struct mx_list *l, unsigned (*rnd)(void));

/*
 * dns_parse_txt - one TXT rdata: its character-strings joined, NUL-terminated, into
 * out. A NUL octet inside is refused (no record this program reads has one).
 * Returns the length of the text, or -1 (malformed, empty, or out too small).
 */
long dns_parse_txt(const uint8_t *rdata, size_t len, char *out, size_t outlen);

struct srv {
	uint16_t prio, weight, port;
	char target[DNS_NAME_MAX]; /* as dns_name_from_wire; "" for "." (RFC 2782: not offered) */
};

/* dns_parse_srv - one SRV rdata (RFC 2782). Returns 0 or -1. */
int dns_parse_srv(const uint8_t *rdata, size_t len, struct srv *out);

/* dns_parse_name_rdata - rdata that is one name and nothing else (PTR, CNAME). 0 or -1. */
int dns_parse_name_rdata(const uint8_t *rdata, size_t len, char *out, size_t outlen);

/*
 * dns_parse_addr - an A (4 octets, family AF_INET) or AAAA (16, AF_INET6) rdata
 * into numeric text (INET6_ADDRSTRLEN octets are enough). Returns 0 or -1.
 */
int dns_parse_addr(int family, const uint8_t *rdata, size_t len, char *out, size_t outlen);

#endif
