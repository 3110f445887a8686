/*
 * inbound_check.c - SPF, DKIM and DMARC of one message, in that order of need:
 * SPF starts with the message (it needs only the client), DKIM hashes the body as
 * it passes and looks its keys up at the end, DMARC waits for both; then the
 * Authentication-Results field and the verdict of [inbound]'s policy. The ARC chain
 * is validated beside DKIM and reported (arc=); it does not change DMARC's verdict
 * (RFC 8617 7.2 leaves that to local policy, which mailroom does not have yet).
 */
#include "inbound/inbound_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "dkim/arc_verify.h"
#include "dkim/dkim_verify.h"
#include "dmarc/dmarc_check.h"
#include "dmarc/dmarc_report_line.h"
#include "dmarc/dmarc_rua.h"
#include "inbound/auth_results.h"
#include "spf/spf.h"
#include "util/log.h"

struct inbound_check {
	struct inbound_params p;
	char *ip, *helo, *mailfrom, *hostname, *id;
	struct dns_ops dns;

	struct spf_both *spf;
	bool spf_started, spf_done;
	struct spf_result spf_helo, spf_from;

	char *hdr;
	size_t hdrlen;
	struct dkim_verify *dv;
	bool dkim_done;
	struct dkim_result *dkim; /* copies of the results; strings owned by dv */
	size_t ndkim;

	struct arc_verify *av;
	bool arc_done;
	struct arc_result arc;
	char arc_why[160];

	struct dmarc_check *dmarc;
	bool dmarc_started;

	bool finishing;
	void (*done)(void *arg, const struct inbound_verdict *v);
	void *arg;
};

static char *
dup(const char *s)
{
	return strdup(s ? s : "");
}

static void maybe_dmarc(struct inbound_check *c);

static void
on_spf(void *arg, const struct spf_result *helo, const struct spf_result *mailfrom)
{
	struct inbound_check *c = arg;

	c->spf = NULL;
	c->spf_helo = *helo;
	c->spf_from = *mailfrom;
	c->spf_done = true;
	maybe_dmarc(c);
}

struct inbound_check *
inbound_check_new(const struct inbound_params *p)
{
	struct inbound_check *c = calloc(1, sizeof *c);

	if (c == NULL)
		return NULL;
	c->p = *p;
	c->dns = *p->dns;
	c->ip = p->ip ? strdup(p->ip) : NULL;
	c->helo = dup(p->helo);
	c->mailfrom = dup(p->mailfrom);
	c->hostname = dup(p->hostname);
	c->id = dup(p->id);
	if ((p->ip && c->ip == NULL) || !c->helo || !c->mailfrom || !c->hostname || !c->id) {
		inbound_check_free(c);
		return NULL;
	}
	c->p.ip = c->ip;
	c->p.helo = c->helo;
	c->p.mailfrom = c->mailfrom;
	c->p.hostname = c->hostname;
	c->p.id = c->id;
	c->p.dns = &c->dns;
	if (c->ip == NULL) {
		c->spf_done = true;
		return c;
	}
	struct spf_request r = { c->ip, c->helo, c->mailfrom, c->hostname };
	c->spf_started = true;
	/* A synchronous resolver answers inside: then on_spf has run and NULL comes back. */
	struct spf_both *b = spf_both_start(&c->dns, &r, on_spf, c);
	if (!c->spf_done)
		c->spf = b;
	return c;
}

int
inbound_check_headers(struct inbound_check *c, const char *hdr, size_t len)
{
	if (c->hdr != NULL)
		return 0;
	if ((c->hdr = malloc(len + 1)) == NULL)
		return -1;
	memcpy(c->hdr, hdr, len);
	c->hdr[len] = '\0';
	c->hdrlen = len;
	if ((c->dv = dkim_verify_new(hdr, len)) == NULL)
		return -1;
	dkim_verify_set_keys(c->dv, c->p.dkim_keys);
	dkim_verify_set_pool(c->dv, c->p.dkim_pool);
	if ((c->av = arc_verify_new(hdr, len)) == NULL)
		return -1;
	arc_verify_set_keys(c->av, c->p.dkim_keys);
	return 0;
}

void
inbound_check_body(struct inbound_check *c, const char *p, size_t n)
{
	if (c->dv != NULL)
		dkim_verify_body(c->dv, p, n);
	if (c->av != NULL)
		arc_verify_body(c->av, p, n);
}

static void
on_arc(void *arg, const struct arc_result *res)
{
	struct inbound_check *c = arg;

	c->arc = *res;
	snprintf(c->arc_why, sizeof c->arc_why, "%s", res->why);
	c->arc.why = c->arc_why;
	c->arc_done = true;
	maybe_dmarc(c);
}

static void
on_dkim(void *arg, const struct dkim_result *res, size_t n)
{
	struct inbound_check *c = arg;

	c->dkim = n ? calloc(n, sizeof *c->dkim) : NULL;
	if (c->dkim != NULL) {
		memcpy(c->dkim, res, n * sizeof *res);
		c->ndkim = n;
	}
	c->dkim_done = true;
	maybe_dmarc(c);
}

static enum dmarc_spf_result
spf_for_dmarc(enum spf_outcome o)
{
	switch (o) {
	case SPF_PASS: return DMARC_SPF_PASS;
	case SPF_FAIL: return DMARC_SPF_FAIL;
	case SPF_SOFTFAIL: return DMARC_SPF_SOFTFAIL;
	case SPF_NEUTRAL: return DMARC_SPF_NEUTRAL;
	case SPF_TEMPERROR: return DMARC_SPF_TEMPERROR;
	case SPF_PERMERROR: return DMARC_SPF_PERMERROR;
	default: return DMARC_SPF_NONE;
	}
}

static void
copy(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src ? src : "");
}

/*
 * report_line - what the aggregate reports need of this message, when its policy
 * record asks for reports by mail (rua with a mailto: URI).
 */
static void
report_line(const struct inbound_check *c, const struct dmarc_result *dm,
    const struct inbound_verdict *v, struct buf *out)
{
	struct dmarc_rua_dest dest[1];

	if (!c->p.dmarc_reports || dm == NULL || !dm->record_found || c->ip == NULL ||
	    dmarc_rua_parse(dm->record.rua, dest, 1) == 0)
		return;
	struct dmarc_obs *o = calloc(1, sizeof *o);
	if (o == NULL)
		return;
	const struct dmarc_record *r = &dm->record;
	o->when = time(NULL);
	copy(o->policy_domain, sizeof o->policy_domain, dm->policy_domain);
	copy(o->org_domain, sizeof o->org_domain, dm->org_domain);
	o->p = r->p;
	o->sp = r->sp;
	o->np = r->np;
	o->adkim_strict = r->adkim_strict;
	o->aspf_strict = r->aspf_strict;
	o->testing = r->testing;
	copy(o->ip, sizeof o->ip, c->ip);
	copy(o->header_from, sizeof o->header_from, dm->header_from);
	const char *at = strrchr(c->mailfrom, '@');
	copy(o->envelope_from, sizeof o->envelope_from, c->mailfrom[0] ? (at ? at + 1 : "") :
	    c->helo);
	copy(o->spf_result, sizeof o->spf_result, spf_outcome_name(c->spf_from.result));
	copy(o->spf_domain, sizeof o->spf_domain, c->spf_from.domain);
	copy(o->dmarc, sizeof o->dmarc, dmarc_outcome_name(dm->result));
	o->dkim_aligned = dm->dkim_aligned;
	o->spf_aligned = dm->spf_aligned;
	if (dm->result == DMARC_RESULT_FAIL)
		copy(o->requested, sizeof o->requested, dmarc_policy_name(dm->policy_published));
	copy(o->disposition, sizeof o->disposition, v->action == INBOUND_QUARANTINE ?
	    "quarantine" : v->action == INBOUND_REJECT && v->status != NULL &&
	    strcmp(v->status, "5.7.1") == 0 ? "reject" : "none");
	copy(o->rua, sizeof o->rua, r->rua);
	for (size_t i = 0; i < c->ndkim && o->ndkim < DMARC_OBS_DKIM_MAX; i++) {
		struct dmarc_obs_dkim *k = &o->dkim[o->ndkim++];
		copy(k->domain, sizeof k->domain, c->dkim[i].d);
		copy(k->selector, sizeof k->selector, c->dkim[i].s);
		copy(k->result, sizeof k->result, dkim_status_name(c->dkim[i].status));
	}
	if (dmarc_obs_format(o, out) < 0)
		buf_reset(out);
	free(o);
}

/* arc_note - the arc= result of the field: the chain's length for a pass, the reason for a fail. */
static void
arc_note(const struct inbound_check *c, struct ar_input *in, char *comment, size_t len)
{
	comment[0] = '\0';
	in->arc = arc_status_name(c->arc.status);
	in->arc_ip = c->ip;
	if (c->arc.status == ARC_PASS)
		snprintf(comment, len, "i=%u", c->arc.n);
	else if (c->arc.status == ARC_FAIL)
		snprintf(comment, len, "%s", c->arc.why);
	in->arc_reason = comment[0] ? comment : NULL;
}

/*
 * dkim_aligned_pass - a DKIM pass whose d= is the From domain or shares its
 * organizational domain (relaxed alignment): what lets greylisting trust a client.
 */
static bool
dkim_aligned_pass(const struct inbound_check *c, const struct dmarc_result *dm)
{
	const char *org = dm->org_domain;
	size_t ol = strlen(org);

	for (size_t i = 0; i < c->ndkim; i++) {
		const char *d = c->dkim[i].d;
		size_t dl = d ? strlen(d) : 0;
		if (c->dkim[i].status != DKIM_PASS || dl == 0)
			continue;
		if (strcasecmp(d, dm->header_from) == 0)
			return true;
		if (ol > 0 && (strcasecmp(d, org) == 0 ||
		    (dl > ol + 1 && d[dl - ol - 1] == '.' && strcasecmp(d + dl - ol, org) == 0)))
			return true;
	}
	return false;
}

/* verdict - the field, the policy's decision and the log line; then done (last). */
static void
verdict(struct inbound_check *c, const struct dmarc_result *dm)
{
	struct inbound_verdict v = { .action = INBOUND_ACCEPT };
	v.authenticated = c->ip != NULL && c->spf_from.result == SPF_PASS && dm != NULL &&
	    dm->result == DMARC_RESULT_PASS && dkim_aligned_pass(c, dm);
	struct ar_dkim *k = calloc(c->ndkim ? c->ndkim : 1, sizeof *k);
	const struct spf_result *spf = &c->spf_from;
	bool have_spf = c->ip != NULL;

	for (size_t i = 0; k != NULL && i < c->ndkim; i++)
		k[i] = (struct ar_dkim){ dkim_status_name(c->dkim[i].status), c->dkim[i].d,
			c->dkim[i].s, c->dkim[i].b, c->dkim[i].a,
			c->dkim[i].why && *c->dkim[i].why ? c->dkim[i].why : NULL };
	const char *policy = NULL;
	if (dm != NULL && dm->result == DMARC_RESULT_FAIL)
		policy = dm->policy_applied == DMARC_POLICY_REJECT ? "reject" :
		    dm->policy_applied == DMARC_POLICY_QUARANTINE ? "quarantine" : "none";
	struct ar_input in = {
		.authserv_id = c->hostname,
		.spf = have_spf ? spf_outcome_name(spf->result) : NULL,
		.spf_mailfrom = c->mailfrom[0] ? c->mailfrom : NULL,
		.spf_helo = c->helo,
		.spf_reason = have_spf && spf->problem[0] ? spf->problem : NULL,
		.dkim = k,
		.ndkim = k ? c->ndkim : 0,
		.dmarc = dm ? dmarc_outcome_name(dm->result) : NULL,
		.dmarc_from = dm && dm->header_from[0] ? dm->header_from : NULL,
		.dmarc_policy = policy,
		.dmarc_reason = dm && dm->why[0] ? dm->why : NULL,
	};
	char arc_comment[200];
	arc_note(c, &in, arc_comment, sizeof arc_comment);
	ar_build(&in, &v.ar);

	if (dm != NULL && dm->result == DMARC_RESULT_FAIL && c->p.dmarc_reject) {
		if (dm->policy_applied == DMARC_POLICY_REJECT) {
			v.action = INBOUND_REJECT;
			v.code = 550;
			v.status = "5.7.1";
			snprintf(v.text, sizeof v.text,
			    "Error: rejected by the DMARC policy of %s (From: %s, not authenticated)",
			    dm->policy_domain, dm->header_from);
		} else if (dm->policy_applied == DMARC_POLICY_QUARANTINE) {
			v.action = INBOUND_QUARANTINE;
		}
	} else if (have_spf && spf->result == SPF_FAIL && c->p.spf_reject &&
	    (dm == NULL || dm->result == DMARC_RESULT_NONE)) {
		v.action = INBOUND_REJECT;
		v.code = 550;
		v.status = "5.7.23";
		snprintf(v.text, sizeof v.text, "Error: SPF of %s does not allow %s%s%s", spf->domain,
		    c->ip, spf->explanation[0] ? ": " : "", spf->explanation);
	}
	/* One event: every result and what was done. */
	char dkims[400] = "none";
	int n = 0;
	for (size_t i = 0; i < c->ndkim && n >= 0 && (size_t)n < sizeof dkims; i++)
		n += snprintf(dkims + n, sizeof dkims - (size_t)n, "%s%s d=%s s=%s", i ? ", " : "",
		    dkim_status_name(c->dkim[i].status), c->dkim[i].d, c->dkim[i].s);
	ev_info("checks", KS("qid", c->p.id), KS("client", c->ip),
	    KS("spf", have_spf ? spf_outcome_name(spf->result) : "none"),
	    KS("spf_identity", have_spf ? spf->identity : NULL),
	    KS("spf_domain", have_spf ? spf->domain : NULL), KS("dkim", dkims),
	    KS("arc", arc_status_name(c->arc.status)),
	    KS("dmarc", dm ? dmarc_outcome_name(dm->result) : "none"),
	    KS("dmarc_from", dm && dm->header_from[0] ? dm->header_from : NULL),
	    KS("action", v.action == INBOUND_REJECT ? "reject" :
	    v.action == INBOUND_QUARANTINE ? "quarantine" : "accept"));
	free(k);
	report_line(c, dm, &v, &v.report);
	void (*done)(void *, const struct inbound_verdict *) = c->done;
	void *arg = c->arg;
	struct buf ar = v.ar, report = v.report;
	done(arg, &v); /* may free c */
	buf_free(&ar);
	buf_free(&report);
}

static void
on_dmarc(void *arg, const struct dmarc_result *r)
{
	struct inbound_check *c = arg;
	c->dmarc = NULL;
	verdict(c, r);
}

static void
maybe_dmarc(struct inbound_check *c)
{
	if (!c->finishing || !c->spf_done || !c->dkim_done || !c->arc_done || c->dmarc_started)
		return;
	c->dmarc_started = true;
	struct dmarc_dkim *dk = calloc(c->ndkim ? c->ndkim : 1, sizeof *dk);
	if (dk == NULL) {
		verdict(c, NULL);
		return;
	}
	for (size_t i = 0; i < c->ndkim; i++)
		dk[i] = (struct dmarc_dkim){ c->dkim[i].d, c->dkim[i].status == DKIM_PASS };
	/* SPF's domain for alignment: MAIL FROM's, or for <> the HELO name. */
	const char *spf_domain = c->spf_from.domain[0] ? c->spf_from.domain : c->helo;
	struct dmarc_input in = {
		.header = c->hdr ? c->hdr : "",
		.header_len = c->hdrlen,
		.spf_result = c->ip ? spf_for_dmarc(c->spf_from.result) : DMARC_SPF_NONE,
		.spf_domain = spf_domain,
		.dkim = dk,
		.ndkim = c->ndkim,
	};
	/* The inputs are copied by the check; answered at once, on_dmarc has run. */
	struct dmarc_check *m = dmarc_check_start(&c->dns, &in, on_dmarc, c);
	free(dk);
	if (m != NULL)
		c->dmarc = m;
}

int
inbound_check_finish(struct inbound_check *c,
    void (*done)(void *arg, const struct inbound_verdict *v), void *arg)
{
	if (c->finishing)
		return -1;
	c->finishing = true;
	c->done = done;
	c->arg = arg;
	/* ARC first: answered at once, it waits in arc_done for DKIM. */
	if (c->av == NULL || arc_verify_finish(c->av, &c->dns, on_arc, c) < 0)
		c->arc_done = true;
	if (c->dv == NULL) {
		c->dkim_done = true;
		maybe_dmarc(c);
		return 0;
	}
	if (dkim_verify_finish(c->dv, &c->dns, on_dkim, c) < 0) {
		c->dkim_done = true;
		maybe_dmarc(c);
	}
	return 0;
}

void
inbound_check_free(struct inbound_check *c)
{
	if (c == NULL)
		return;
	if (c->spf)
		spf_both_cancel(c->spf);
	if (c->dmarc)
		dmarc_check_cancel(c->dmarc);
	dkim_verify_free(c->dv);
	arc_verify_free(c->av);
	free(c->dkim);
	free(c->hdr);
	free(c->ip);
	free(c->helo);
	free(c->mailfrom);
	free(c->hostname);
	free(c->id);
	free(c);
}
