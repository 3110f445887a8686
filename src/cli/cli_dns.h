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
 * One line of a check: verdict "ok", "missing", "wrong", "tempfail" with the
 * record's label ("MX", "SPF", ...), its name without the final dot and the detail
 * (text that follows the name: "", " -> host", ": found ..."); or verdict
 * "warning" with label and name "" and the warning's text in detail.
 */
typedef void dns_check_emit(void *arg, const char *verdict, const char *label,
    const char *name, const char *detail);

/*
 * dns_check_run - look up each record of recs and emit a line per record (and the
 * warnings). Returns true when every record is ok.
 */
bool dns_check_run(struct ub_ctx *ub, const char *domain, const struct dns_host *host,
    const struct dns_recs *recs, dns_check_emit *emit, void *arg);

#endif
