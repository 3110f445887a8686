/*
 * dns_zone.h - the records of one hosted domain from the store and the config:
 * its DKIM keys that should be in DNS now, the ports of the listeners, and the
 * host addresses the caller found (`mailroom dns records` resolves the hostname;
 * the web, in lookupd, passes none). One builder for both (dns_records.h).
 */
#ifndef MAILROOM_DNS_ZONE_H
#define MAILROOM_DNS_ZONE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "accounts.h"
#include "cli/dns_records.h"
#include "config.h"

/*
 * dns_zone_records - the records of domain (canonical, hosted) at now into out.
 * With no addresses, SPF names the hosts by "mx" and "a" and no PTR is listed.
 * 0, or -1 with one line in err (accounts_last_error tells the kind).
 */
int dns_zone_records(struct accounts *a, const struct config *cfg, const char *domain,
    const char *const *addrs, size_t naddrs, bool addrs_from_interfaces, time_t now,
    struct dns_recs *out, char *err, size_t errlen);

/* dns_type_name - "MX", "TXT", "CNAME", "SRV", "PTR", "A", "AAAA", or "". */
const char *dns_type_name(uint16_t type);
/* dns_type_parse - the RR_TYPE_* dns_type_name names; 0 for any other text. */
uint16_t dns_type_parse(const char *name);

#endif
