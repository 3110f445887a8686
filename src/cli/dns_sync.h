/*
 * dns_sync.h - synchronous lookups for the command line (`mailroom dns`): one
 * question to the configured resolver, the answer as presentation text.
 */
#ifndef MAILROOM_DNS_SYNC_H
#define MAILROOM_DNS_SYNC_H

#include <stdbool.h>
#include <stdint.h>

#include "accounts.h" /* struct strlist */
#include "deliver/dns.h" /* enum dns_status */

struct ub_ctx;

struct dns_answer {
	enum dns_status st;
	/*
	 * DNS_OK: each record as text: TXT its strings joined; MX "10 host."; SRV
	 * "0 1 587 host."; PTR, CNAME "host."; A, AAAA the address. Names lower case.
	 */
	struct strlist v;
	char why[200]; /* DNS_TEMPFAIL: what went wrong */
};

/* dns_sync_query - ask for name/type (RR_TYPE_*); fills out (free with dns_answer_free). */
void dns_sync_query(struct ub_ctx *ub, const char *name, uint16_t type, struct dns_answer *out);
void dns_answer_free(struct dns_answer *a);

/*
 * dns_host_addresses - the A and AAAA records of host into out (numeric text);
 * when it has none, the machine's non-loopback interface addresses, and
 * *from_interfaces is set. Returns DNS_OK, or DNS_TEMPFAIL with why.
 */
enum dns_status dns_host_addresses(struct ub_ctx *ub, const char *host, struct strlist *out,
    bool *from_interfaces, char *why, size_t whylen);

/* dns_interface_addresses - the machine's addresses, loopback and link-local left out. */
void dns_interface_addresses(struct strlist *out);

#endif
