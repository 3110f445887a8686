/*
 * spf_record.h - SPF records (RFC 7208 4.5, 4.6, 5, 6, 12), pure: recognising one
 * among a name's TXT records and parsing it into its terms. Any syntax error makes
 * the whole record a permerror (4.6). Domain-specs stay unexpanded: the
 * evaluator expands them (spf_macro.h) when it reaches them.
 */
#ifndef MAILROOM_SPF_RECORD_H
#define MAILROOM_SPF_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum spf_mech {
	SPF_MECH_ALL,
	SPF_MECH_INCLUDE,
	SPF_MECH_A,
	SPF_MECH_MX,
	SPF_MECH_PTR,
	SPF_MECH_IP4,
	SPF_MECH_IP6,
	SPF_MECH_EXISTS,
};

struct spf_term {
	enum spf_mech mech;
	char qual;        /* '+', '-', '~' or '?' */
	const char *spec; /* include, a, mx, ptr, exists: the domain-spec; NULL: none given */
	uint8_t net[16];  /* ip4 (first 4 octets), ip6 */
	unsigned cidr4, cidr6; /* ip4, a, mx: IPv4 prefix bits; ip6, a, mx: IPv6 */
};

struct spf_record {
	char *text;            /* the record, cut into NUL-terminated pieces the terms use */
	struct spf_term *v;    /* the mechanisms, in order */
	size_t n;
	const char *redirect;  /* redirect= domain-spec, or NULL */
	const char *exp;       /* exp= domain-spec, or NULL */
};

/* spf_is_record - txt (len octets) starts with "v=spf1", alone or before a space (4.5). */
bool spf_is_record(const char *txt, size_t len);

/*
 * spf_record_parse - the terms of one SPF record. Returns 0, or -1 (permerror)
 * with the reason in why. Free out with spf_record_free either way.
 */
int spf_record_parse(const char *txt, struct spf_record *out, char *why, size_t whylen);
void spf_record_free(struct spf_record *r);

/* spf_mech_name - "all", "include", ... */
const char *spf_mech_name(enum spf_mech m);

#endif
