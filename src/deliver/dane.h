/*
 * dane.h - DANE for SMTP (RFC 7672, RFC 7671) as pure functions: TLSA records
 * decoded and sorted into usable and unusable ones, and what the answers of the
 * DNSSEC-validated lookups (MX, address, TLSA) mean for one MX host: plain
 * opportunistic TLS, TLS required, TLS authenticated by its TLSA records, or a host
 * not to be used at all. The handshake itself is net/tls_dane.h's.
 */
#ifndef MAILROOM_DANE_H
#define MAILROOM_DANE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "deliver/dns.h"

#define RR_TLSA 52
#define DANE_TLSA_MAX 16 /* usable records kept per host; more are not looked at */

/* TLSA certificate usages (RFC 6698 2.1.1, names of RFC 7218). */
enum {
	TLSA_PKIX_TA = 0, TLSA_PKIX_EE = 1, TLSA_DANE_TA = 2, TLSA_DANE_EE = 3,
};

struct tlsa {
	uint8_t usage, selector, mtype;
	const uint8_t *data; /* the certificate association data (in a set: its own copy) */
	size_t len;
};

struct tlsa_set {
	struct tlsa v[DANE_TLSA_MAX];
	size_t n;        /* usable records in v */
	size_t unusable; /* records seen but not usable for SMTP */
};

/* What one MX host's lookups mean (RFC 7672 2.2). */
enum dane_policy {
	DANE_NONE,        /* DANE does not apply: opportunistic TLS as without it */
	DANE_ENCRYPT,     /* secure TLSA records, none usable: TLS required, not authenticated */
	DANE_VERIFY,      /* usable TLSA records: TLS required, the server must match one */
	DANE_UNREACHABLE, /* the TLSA lookup failed or was bogus: this host is not to be used */
};

/*
 * dane_tlsa_parse - one TLSA rdata (RFC 6698 2.1): usage, selector, matching type,
 * then at least one octet of data. out->data points into rdata. Returns 0 or -1.
 */
int dane_tlsa_parse(const uint8_t *rdata, size_t len, struct tlsa *out);

/*
 * dane_tlsa_usable - whether SMTP can use the record: DANE-TA(2) or DANE-EE(3)
 * (PKIX-TA and PKIX-EE are unusable for SMTP, RFC 7672 3.1.3), selector Cert(0) or
 * SPKI(1), matching type Full(0), SHA2-256(1) with 32 octets or SHA2-512(2) with 64.
 */
bool dane_tlsa_usable(const struct tlsa *t);

/*
 * dane_tlsa_select - the usable records among n rdata into set (copies; free with
 * dane_tlsa_free), counting malformed and unusable ones in set->unusable. Returns
 * 0, or -1 when out of memory (set is then empty).
 */
int dane_tlsa_select(const uint8_t *const *rdata, const int *len, size_t n,
    struct tlsa_set *set);

/* dane_tlsa_free - the copies of set, which is left empty. */
void dane_tlsa_free(struct tlsa_set *set);

/*
 * dane_host_applies - whether a TLSA lookup is made for an MX host (RFC 7672 2.2):
 * only when the MX answer (or, without MX, its denial) and the host's address
 * answers were all DNSSEC-secure.
 */
bool dane_host_applies(bool mx_secure, bool addrs_secure);

/*
 * dane_policy_of - the policy for a host whose TLSA lookup ended with st (secure:
 * validated) and, for DNS_OK, the selected set. A secure answer without usable
 * records still requires TLS (RFC 7672 2.2, 3.1); a failed or bogus lookup makes
 * the host unusable (RFC 7672 2.2.3); no records, or an insecure answer, is DANE_NONE.
 */
enum dane_policy dane_policy_of(enum dns_status st, bool secure, const struct tlsa_set *set);

/* dane_policy_name - "none", "encrypt", "verify", "unreachable", for the log. */
const char *dane_policy_name(enum dane_policy p);

#endif
