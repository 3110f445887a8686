/*
 * dns_check.c - `mailroom dns check` and the admin page's check: each record
 * `dns records` prints, asked of the resolver and judged by what it is for
 * (RFC 7208 SPF evaluation of the host's addresses, one DMARC record, MX naming
 * the host, forward-confirmed reverse DNS), one line each to the caller's emit.
 */
#include "cli/cli_dns.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/dns_ops_sync.h"
#include "cli/dns_sync.h"
#include "spf/spf.h"
#include "spf/spf_record.h"
#include "util/buf.h"

enum verdict { V_OK, V_MISSING, V_WRONG, V_TEMPFAIL };

static const char *const verdict_word[] = { "ok", "missing", "wrong", "tempfail" };

struct check {
	struct ub_ctx *ub;
	const char *domain;
	const struct dns_host *host;
	dns_check_emit *emit;
	void *arg;
	bool failed;
};

/* bare - a name without its final dot, for the lines people read. */
static const char *
bare(const char *name, char *out, size_t outlen)
{
	size_t n = strlen(name);
	if (n > 1 && name[n - 1] == '.')
		n--;
	snprintf(out, outlen, "%.*s", (int)n, name);
	return out;
}

static void
report(struct check *c, enum verdict v, const struct dns_rec *r, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
report(struct check *c, enum verdict v, const struct dns_rec *r, const char *fmt, ...)
{
	char name[300], detail[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	c->emit(c->arg, verdict_word[v], dns_rec_label(r->kind), bare(r->name, name, sizeof name),
	    detail);
	if (v != V_OK)
		c->failed = true;
}

static void
warning(struct check *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
warning(struct check *c, const char *fmt, ...)
{
	char text[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	c->emit(c->arg, "warning", "", "", text);
}

/* found_text - up to three of the values found, quoted and escaped as in a zone file. */
static void
found_text(const struct strlist *v, struct buf *out)
{
	for (size_t i = 0; i < v->n && i < 3; i++) {
		if (i > 0)
			buf_printf(out, ", ");
		dns_txt_strings(v->v[i], out);
	}
	if (v->n > 3)
		buf_printf(out, " and %zu more", v->n - 3);
	if (out->len == 0)
		buf_printf(out, "%s", "");
}

/* ask - the answer for r's name and type; false after a tempfail or missing line. */
static bool
ask(struct check *c, const struct dns_rec *r, uint16_t type, struct dns_answer *a)
{
	dns_sync_query(c->ub, r->name, type, a);
	if (a->st == DNS_TEMPFAIL) {
		report(c, V_TEMPFAIL, r, ": %s", a->why);
		return false;
	}
	if (a->st != DNS_OK) {
		report(c, V_MISSING, r, "%s", "");
		return false;
	}
	return true;
}

static void
check_mx(struct check *c, const struct dns_rec *r)
{
	struct dns_answer a;
	char want[300];

	if (!ask(c, r, RR_TYPE_MX, &a))
		goto out;
	snprintf(want, sizeof want, "%s.", c->host->hostname);
	for (size_t i = 0; i < a.v.n; i++) {
		const char *target = strchr(a.v.v[i], ' ');
		if (target && strcasecmp(target + 1, want) == 0) {
			report(c, V_OK, r, " -> %s", c->host->hostname);
			goto out;
		}
	}
	struct buf f = { 0 };
	found_text(&a.v, &f);
	report(c, V_WRONG, r, ": found %s (does not name %s)", f.data, c->host->hostname);
	buf_free(&f);
out:
	dns_answer_free(&a);
}

/* spf_result_copy - the callback of a check run with synchronous DNS. */
static void
spf_result_copy(void *arg, const struct spf_result *r)
{
	*(struct spf_result *)arg = *r;
}

static void
check_spf(struct check *c, const struct dns_rec *r)
{
	struct dns_answer a;
	const char *found = NULL;
	size_t nspf = 0;
	char name[300], sender[320];

	if (!ask(c, r, RR_TYPE_TXT, &a))
		goto out;
	for (size_t i = 0; i < a.v.n; i++)
		if (spf_is_record(a.v.v[i], strlen(a.v.v[i]))) {
			found = a.v.v[i];
			nspf++;
		}
	if (nspf == 0) {
		report(c, V_MISSING, r, "%s", "");
		goto out;
	}
	struct buf f = { 0 };
	dns_txt_strings(found, &f);
	if (nspf > 1) {
		report(c, V_WRONG, r, ": %zu v=spf1 records (RFC 7208 allows one)", nspf);
		buf_free(&f);
		goto out;
	}
	/* The full evaluation (src/spf), as a receiver would make it of mail from us. */
	struct dns_ops ops = dns_ops_sync(c->ub);
	snprintf(sender, sizeof sender, "postmaster@%s", bare(r->name, name, sizeof name));
	struct spf_result res = { .result = SPF_PASS };
	const char *denied = NULL;
	for (size_t i = 0; i < c->host->addrs.n && res.result == SPF_PASS; i++) {
		struct spf_request req = { .ip = c->host->addrs.v[i], .helo = c->host->hostname,
			.mailfrom = sender, .receiver = NULL };
		res.result = SPF_TEMPERROR;
		(void)spf_check_start(&ops, &req, spf_result_copy, &res);
		denied = c->host->addrs.v[i];
	}
	if (res.result == SPF_TEMPERROR)
		report(c, V_TEMPFAIL, r, ": %s", res.problem[0] ? res.problem : "temperror");
	else if (res.result != SPF_PASS)
		report(c, V_WRONG, r, ": found %s (does not allow %s: %s%s%s)", f.data, denied,
		    spf_outcome_name(res.result), res.problem[0] ? ", " : "", res.problem);
	else
		report(c, V_OK, r, "%s", "");
	buf_free(&f);
out:
	dns_answer_free(&a);
}

static void
check_dmarc(struct check *c, const struct dns_rec *r)
{
	struct dns_answer a;
	const char *found = NULL;
	size_t n = 0;

	if (!ask(c, r, RR_TYPE_TXT, &a))
		goto out;
	for (size_t i = 0; i < a.v.n; i++) {
		const char *t = a.v.v[i];
		if (strncmp(t, "v=DMARC1", 8) == 0 && strchr("; \t", t[8]) != NULL) {
			found = t;
			n++;
		}
	}
	if (n == 0)
		report(c, V_MISSING, r, "%s", "");
	else if (n > 1)
		report(c, V_WRONG, r, ": %zu v=DMARC1 records (there must be one)", n);
	else if (strstr(found, "p=none") != NULL)
		report(c, V_OK, r, " (p=none: raise it to quarantine, then reject, once the "
		    "reports show only your own mail)");
	else
		report(c, V_OK, r, "%s", "");
out:
	dns_answer_free(&a);
}

/* check_value - TXT, SRV and CNAME records: one of those found is the one printed. */
static void
check_value(struct check *c, const struct dns_rec *r)
{
	struct dns_answer a;

	if (!ask(c, r, r->type, &a))
		goto out;
	for (size_t i = 0; i < a.v.n; i++) {
		bool same = r->type == RR_TYPE_TXT ? strcmp(a.v.v[i], r->value) == 0
		    : strcasecmp(a.v.v[i], r->value) == 0;
		if (same) {
			report(c, V_OK, r, "%s", "");
			goto out;
		}
	}
	struct buf f = { 0 }, w = { 0 };
	found_text(&a.v, &f);
	if (r->type == RR_TYPE_TXT)
		dns_txt_strings(r->value, &w);
	else
		buf_printf(&w, "\"%s\"", r->value);
	report(c, V_WRONG, r, ": found %s (wanted %s)", f.data, w.data);
	buf_free(&f);
	buf_free(&w);
out:
	dns_answer_free(&a);
}

static void
fcrdns_warning(struct check *c, const struct dns_rec *r, const char *hostname)
{
	warning(c, "%s has no forward-confirmed reverse DNS (a PTR naming %s, which "
	    "resolves back to it); Gmail and Yahoo refuse or junk mail from such hosts",
	    r->addr, hostname);
}

static void
check_ptr(struct check *c, const struct dns_rec *r)
{
	struct dns_answer a;

	dns_sync_query(c->ub, r->name, RR_TYPE_PTR, &a);
	if (a.st == DNS_TEMPFAIL) {
		report(c, V_TEMPFAIL, r, ": %s", a.why);
	} else if (a.st != DNS_OK) {
		report(c, V_MISSING, r, " (%s)", r->addr);
		fcrdns_warning(c, r, c->host->hostname);
	} else {
		bool names_host = false;
		for (size_t i = 0; i < a.v.n; i++)
			names_host |= strcasecmp(a.v.v[i], r->value) == 0;
		struct buf f = { 0 };
		found_text(&a.v, &f);
		if (!names_host)
			report(c, V_WRONG, r, " (%s): found %s (does not name %s)", r->addr, f.data,
			    c->host->hostname);
		else if (c->host->from_interfaces)
			report(c, V_WRONG, r, " (%s): %s has no address records", r->addr,
			    c->host->hostname);
		else
			report(c, V_OK, r, " (%s) -> %s", r->addr, c->host->hostname);
		if (!names_host || c->host->from_interfaces)
			fcrdns_warning(c, r, c->host->hostname);
		buf_free(&f);
	}
	dns_answer_free(&a);
}

bool
dns_check_run(struct ub_ctx *ub, const char *domain, const struct dns_host *host,
    const struct dns_recs *recs, dns_check_emit *emit, void *arg)
{
	struct check c = { .ub = ub, .domain = domain, .host = host, .emit = emit, .arg = arg };

	if (host->from_interfaces)
		warning(&c, "%s has no A or AAAA record; checked against this machine's "
		    "addresses", host->hostname);
	for (size_t i = 0; i < recs->n; i++) {
		const struct dns_rec *r = &recs->v[i];
		switch (r->kind) {
		case REC_COMMENT: break;
		case REC_MX: check_mx(&c, r); break;
		case REC_SPF: check_spf(&c, r); break;
		case REC_DMARC: check_dmarc(&c, r); break;
		case REC_DKIM:
		case REC_MTA_STS:
		case REC_MTA_STS_HOST:
		case REC_CLIENT_SETUP:
		case REC_TLSRPT:
		case REC_SRV: check_value(&c, r); break;
		case REC_PTR: check_ptr(&c, r); break;
		}
	}
	return !c.failed;
}
