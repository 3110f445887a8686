/* dns_ops_sync.c - dns_ops whose rr asks ub_resolve and calls back at once. */
#include "cli/dns_ops_sync.h"

#include <stdio.h>
#include <unbound.h>

#define RCODE_NXDOMAIN 3

static int
sync_rr(void *ctx, const char *name, int rrtype, dns_rr_fn fn, void *arg)
{
	struct ub_result *r = NULL;
	struct dns_rdata rr = { 0 };
	enum dns_status st = DNS_OK;
	char why[300] = "";

	int err = ub_resolve(ctx, name, rrtype, 1, &r);
	if (err != 0) {
		snprintf(why, sizeof why, "%s", ub_strerror(err));
		st = DNS_TEMPFAIL;
	} else if (r->nxdomain || r->rcode == RCODE_NXDOMAIN) {
		st = DNS_NXDOMAIN;
	} else if (r->rcode != 0) {
		snprintf(why, sizeof why, "rcode %d", r->rcode);
		st = DNS_TEMPFAIL;
	} else if (!r->havedata) {
		st = DNS_NODATA;
	} else {
		while (r->data[rr.n])
			rr.n++;
		rr.v = (const uint8_t *const *)r->data;
		rr.len = r->len;
		rr.ttl = r->ttl;
		rr.secure = r->secure != 0;
	}
	fn(arg, st, &rr, why);
	if (r != NULL)
		ub_resolve_free(r);
	return 0;
}

static void
sync_cancel(void *ctx, void *arg)
{
	/* Nothing is ever pending: every answer came before rr returned. */
}

struct dns_ops
dns_ops_sync(struct ub_ctx *ub)
{
	return (struct dns_ops){ sync_rr, sync_cancel, ub };
}
