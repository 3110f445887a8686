/* cli_dns.h - what `mailroom dns records` and `mailroom dns check` share. */
#ifndef MAILROOM_CLI_DNS_H
#define MAILROOM_CLI_DNS_H

#include <stdbool.h>

#include "accounts.h"
#include "cli/dns_records.h"

struct ub_ctx;

/* The host's addresses the records were built from, and where they came from. */
struct dns_host {
	const char *hostname;
	struct strlist addrs;
	bool from_interfaces;
};

/*
 * cli_dns_check - look up each record of recs and print a line per record: ok,
 * missing, wrong (with what was found) or tempfail. Returns 0 when all are ok, else 1.
 */
int cli_dns_check(struct ub_ctx *ub, const char *domain, const struct dns_host *host,
    const struct dns_recs *recs);

#endif
