/*
 * dmarc_from.h - the Author Domain (RFC 9989 "Extract Author Domain") from a
 * message's RFC5322.From field (pure): exactly one From field, whose addresses
 * (mailbox-list or group, RFC 5322 3.4, with comments and the obsolete forms)
 * all have the one same domain; else the message is not DMARC-evaluable.
 */
#ifndef MAILROOM_DMARC_FROM_H
#define MAILROOM_DMARC_FROM_H

#include <stddef.h>

/*
 * dmarc_from_value - the domain of the addresses in a From field's value v[0..len)
 * (after the colon; continuation lines included), lower-cased, into domain
 * (at least 256 octets). Returns the number of addresses (>= 1), or -1 with a
 * reason in why: no address, addresses with different domains, an address
 * literal, a non-ASCII domain (not converted to an A-label here), malformed.
 */
int dmarc_from_value(const char *v, size_t len, char *domain, size_t domlen, char *why,
    size_t whylen);

/*
 * dmarc_from_header - the same from a header block hdr[0..len) (without the empty
 * line after it), which must have exactly one From field. Returns as above.
 */
int dmarc_from_header(const char *hdr, size_t len, char *domain, size_t domlen, char *why,
    size_t whylen);

#endif
