/*
 * dns_ops.h - the one way the inbound checks (SPF, DKIM, DMARC) ask DNS: a query
 * function and its context, so that in the servers it is deliver/dns.h's dns_rr in
 * the event loop, in the CLI a synchronous resolver, and in unit tests a table of
 * canned answers. The callback may come before rr returns (a synchronous resolver)
 * or later from the loop; callers must handle both.
 */
#ifndef MAILROOM_DNS_OPS_H
#define MAILROOM_DNS_OPS_H

#include "deliver/dns.h"

struct dns_ops {
	/* rr - as dns_rr: 0, or -1 (fn will not be called). */
	int (*rr)(void *ctx, const char *name, int rrtype, dns_rr_fn fn, void *arg);
	/* cancel - drop every query started with arg (NULL: nothing can be pending). */
	void (*cancel)(void *ctx, void *arg);
	void *ctx;
};

/* dns_ops_of - the ops of an event-loop resolver (dns_rr, dns_cancel_arg). */
struct dns_ops dns_ops_of(struct dns *d);

#endif
