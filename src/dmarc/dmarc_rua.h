/*
 * dmarc_rua.h - the report destinations of a DMARC record's rua tag (RFC 9989
 * 4.7: a comma-separated list of URIs; RFC 9990 3.x: an optional "!size" limit):
 * the mailto: ones, as addresses, in the order given (pure). Others are skipped.
 */
#ifndef MAILROOM_DMARC_RUA_H
#define MAILROOM_DMARC_RUA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DMARC_RUA_MAX 5 /* destinations used per record; the rest are ignored */

struct dmarc_rua_dest {
	char addr[320];    /* local@domain, percent-decoded */
	char domain[256];  /* the part after '@', lower case */
	uint64_t max_size; /* octets; 0: no limit */
};

/*
 * dmarc_rua_parse - the mailto: URIs of rua, at most max, duplicates dropped. A URI
 * whose address is not a plain local@domain (controls, spaces, quotes, angle
 * brackets, no '@') is skipped. Returns how many went into out.
 */
size_t dmarc_rua_parse(const char *rua, struct dmarc_rua_dest *out, size_t max);

/*
 * dmarc_rua_internal - whether a destination domain is within the organizational
 * domain org (equal to it or below it): then no external verification is needed.
 */
bool dmarc_rua_internal(const char *dest_domain, const char *org);

#endif
