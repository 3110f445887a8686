/*
 * dmarc_reports.c - one day at a time: <day>.log is renamed <day>.work (smtpd's
 * next line starts a new file), read and aggregated; the external destinations are
 * verified (RFC 9990 4: TXT <policy domain>._report._dmarc.<destination host> with
 * v=DMARC1, asked through queued's resolver, side by side); then every report is
 * written into the queue, flushed in one group commit, handed to the scheduler,
 * and the .work file removed. A crash before that leaves the .work file, reported
 * again at the next start (a duplicate at worst, never a loss).
 */
#include "queue/dmarc_reports.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "accounts.h"
#include "deliver/dns.h"
#include "dmarc/dmarc_aggregate.h"
#include "dmarc/dmarc_record.h"
#include "dmarc/dmarc_report_mail.h"
#include "dmarc/dmarc_rua.h"
#include "queue/inject.h"
#include "queue/queued.h"
#include "queue/report_days.h"
#include "store/spool_writer.h"
#include "util/log.h"

#define REPORTS_MAX 4096   /* messages written per day (domains x destinations) */

enum dest_state { DEST_CHECKING, DEST_OK, DEST_REFUSED };

struct dest {
	struct dmarc_reporter *r;
	size_t domain;          /* index into agg.domains */
	struct dmarc_rua_dest d;
	enum dest_state state;
};

struct dmarc_reporter {
	struct queued *q;
	struct report_days days; /* the day being reported, and the timer */
	struct dns *dns;

	/* The day being reported. */
	struct dmarc_agg agg;
	struct dest *dests;
	size_t ndests;
	size_t checking;
};

static void day_lines(void *arg, const char *text, size_t len);

static bool
enabled(const struct config *cfg)
{
	return cfg->inbound_dmarc_reports;
}

struct dmarc_reporter *
dmarc_reporter_new(struct queued *q)
{
	static const struct report_kind kind = { "dmarc", EV_NAME("dmarc-reports-done"),
		EV_NAME("dmarc-reports-off"), EV_NAME("dmarc-reports-error"), enabled, day_lines };
	struct dmarc_reporter *r = calloc(1, sizeof *r);

	if (r == NULL || report_days_init(&r->days, q, &kind, r) < 0) {
		free(r);
		ev_err("dmarc-reports-error", KS("error", "out of memory"));
		return NULL;
	}
	r->q = q;
	return r;
}

static void
day_clear(struct dmarc_reporter *r)
{
	dmarc_agg_free(&r->agg);
	free(r->dests);
	r->dests = NULL;
	r->ndests = r->checking = 0;
}

void
dmarc_reporter_free(struct dmarc_reporter *r)
{
	if (r == NULL)
		return;
	dns_free(r->dns); /* its callbacks are not called */
	day_clear(r);
	report_days_fini(&r->days);
	free(r);
}

/* day_done - on to the next day; after a failure, stop until the next run. */
static void
day_done(struct dmarc_reporter *r, bool ok)
{
	day_clear(r);
	report_days_done(&r->days, ok);
}

static void
flushed(void *arg, bool ok)
{
	day_done(arg, ok);
}

/* queue_one - the message text to dest's address, as a new queued message. */
static int
queue_one(struct dmarc_reporter *r, const char *to, const struct buf *msg)
{
	struct queued *q = r->q;
	struct envelope env = { 0 };
	struct target_list targets = { 0 };
	struct spool_writer w;
	int rc = -1, fd = -1;

	switch (accounts_resolve(q->acct, to, &targets)) {
	case RESOLVE_OK:
		break;
	case RESOLVE_NOT_LOCAL:
		if ((targets.v = calloc(1, sizeof *targets.v)) == NULL)
			goto out;
		targets.n = targets.cap = 1;
		targets.v[0].kind = TARGET_REMOTE;
		snprintf(targets.v[0].addr, sizeof targets.v[0].addr, "%s", to);
		break;
	case RESOLVE_NO_SUCH_USER:
		ev_warn("dmarc-report-skipped", KA("to", to), KS("reason", "no such user"));
		rc = 0;
		goto out;
	case RESOLVE_TEMPFAIL:
		goto out;
	}
	spool_new_id(env.id);
	env.arrival = time(NULL);
	/* The null sender: a report that cannot be delivered is dropped, never bounced. */
	env.sender = strdup("");
	env.client = strdup("local");
	env.helo = strdup(q->cfg->hostname);
	env.body = BODY_7BIT;
	if (!env.sender || !env.client || !env.helo)
		goto out;
	for (size_t i = 0; i < targets.n; i++)
		if (envelope_add_rcpt(&env, targets.v[i].kind, targets.v[i].addr, to) < 0)
			goto out;
	if (spool_writer_open(&w, q->store.queue_dir, &env) < 0)
		goto out;
	if (spool_writer_write(&w, msg->data, msg->len) < 0) {
		spool_writer_abort(&w);
		goto out;
	}
	if (spool_writer_finish(&w, q->store.queue_dir, env.id, &fd) < 0)
		goto out;
	report_days_keep(&r->days, fd, env.id);
	ev_info("dmarc-report-queued", KS("qid", env.id), KA("to", to));
	rc = 0;
out:
	if (rc < 0)
		ev_err("dmarc-reports-error", KA("to", to), KS("error", strerror(errno)));
	target_list_free(&targets);
	envelope_free(&env);
	return rc;
}

/* write_reports - every domain's report to each destination that may have it. */
static void
write_reports(struct dmarc_reporter *r)
{
	struct queued *q = r->q;
	const char *host = q->cfg->hostname;
	char from[320], rid[400], uq[64];
	time_t now = time(NULL);

	if (report_days_reserve(&r->days, r->ndests) < 0) {
		ev_err("dmarc-reports-error", KS("day", r->days.day_name), KS("error", "out of memory"));
		day_done(r, false);
		return;
	}
	queue_report_sender(r->q, "dmarc-noreply", from, sizeof from);
	for (size_t i = 0; i < r->agg.n; i++) {
		const struct dmarc_agg_domain *d = r->agg.domains[i];
		struct buf xml = { 0 }, gz = { 0 };
		snprintf(uq, sizeof uq, "%lld%zu", (long long)now, i);
		snprintf(rid, sizeof rid, "%s.%s@%s", r->days.day_name, uq, host);
		struct dmarc_report_meta meta = { host, from, rid, r->days.begin, r->days.end };
		if (dmarc_agg_xml(d, &meta, &xml) < 0 || dmarc_gzip(xml.data, xml.len, &gz) < 0) {
			ev_err("dmarc-reports-error", KS("domain", d->last.policy_domain),
			    KS("error", "out of memory"));
			buf_free(&xml);
			buf_free(&gz);
			continue;
		}
		for (size_t k = 0; k < r->ndests; k++) {
			const struct dest *t = &r->dests[k];
			if (t->domain != i || t->state != DEST_OK)
				continue;
			struct buf msg = { 0 };
			struct dmarc_mail m = { host, from, t->d.addr, d->last.policy_domain, rid, uq,
				r->days.begin, r->days.end, now, gz.data, gz.len };
			if (dmarc_report_mail(&m, &msg) < 0) {
				ev_err("dmarc-reports-error", KS("domain", d->last.policy_domain),
				    KS("error", "out of memory"));
			} else if (t->d.max_size != 0 && msg.len > t->d.max_size) {
				ev_warn("dmarc-report-skipped", KS("domain", d->last.policy_domain),
				    KA("to", t->d.addr), KS("reason", "over its size limit"),
				    KN("size", msg.len), KN("limit", t->d.max_size));
			} else {
				queue_one(r, t->d.addr, &msg);
			}
			buf_free(&msg);
		}
		ev_info("dmarc-report", KS("report_id", rid), KS("domain", d->last.policy_domain),
		    KN("messages", d->messages), KN("rows", d->nrows));
		buf_free(&xml);
		buf_free(&gz);
	}
	report_days_flush(&r->days, flushed);
}

static void
checked(struct dmarc_reporter *r)
{
	if (--r->checking == 0)
		write_reports(r);
}

/* on_verify - the answer for one external destination. */
static void
on_verify(void *arg, enum dns_status st, const struct dns_rdata *rr, const char *why)
{
	struct dest *t = arg;
	struct dmarc_reporter *r = t->r;
	const struct dmarc_agg_domain *d = r->agg.domains[t->domain];
	char txt[2048];
	struct dmarc_record rec;
	bool found = false, moved = false;

	for (size_t i = 0; st == DNS_OK && i < rr->n && !found; i++) {
		if (dns_parse_txt(rr->v[i], (size_t)rr->len[i], txt, sizeof txt) < 0 ||
		    dmarc_record_parse(txt, strlen(txt), &rec) != 1)
			continue;
		found = true;
		/* The Report Consumer may name another address, on the same host only. */
		struct dmarc_rua_dest over[DMARC_RUA_MAX];
		size_t n = rec.rua[0] ? dmarc_rua_parse(rec.rua, over, DMARC_RUA_MAX) : 0;
		if (rec.rua[0] != '\0') {
			moved = true;
			for (size_t k = 0; k < n; k++) {
				if (strcasecmp(over[k].domain, t->d.domain) == 0) {
					t->d = over[k];
					moved = false;
					break;
				}
			}
		}
	}
	if (found && !moved) {
		t->state = DEST_OK;
	} else {
		t->state = DEST_REFUSED;
		ev_info("dmarc-report-skipped", KS("domain", d->last.policy_domain),
		    KA("to", t->d.addr), KS("reason", moved ?
		    "its _report._dmarc record names another host" : st == DNS_TEMPFAIL ?
		    "the external destination could not be verified now" :
		    "the external destination is not verified (no _report._dmarc record)"));
	}
	checked(r);
}

static void
verify_destinations(struct dmarc_reporter *r)
{
	size_t max = 0;
	for (size_t i = 0; i < r->agg.n; i++)
		max += DMARC_RUA_MAX;
	if (max > REPORTS_MAX)
		max = REPORTS_MAX;
	r->dests = calloc(max ? max : 1, sizeof *r->dests);
	if (r->dests == NULL) {
		day_done(r, false);
		return;
	}
	for (size_t i = 0; i < r->agg.n && r->ndests < max; i++) {
		const struct dmarc_obs *o = &r->agg.domains[i]->last;
		struct dmarc_rua_dest v[DMARC_RUA_MAX];
		size_t n = dmarc_rua_parse(o->rua, v, DMARC_RUA_MAX);
		const char *org = o->org_domain[0] ? o->org_domain : o->policy_domain;
		for (size_t k = 0; k < n && r->ndests < max; k++) {
			struct dest *t = &r->dests[r->ndests++];
			*t = (struct dest){ r, i, v[k],
				dmarc_rua_internal(v[k].domain, org) ? DEST_OK : DEST_CHECKING };
		}
	}
	/* One count held while the lookups start: an answer may come at once. */
	r->checking = 1;
	for (size_t k = 0; k < r->ndests; k++) {
		struct dest *t = &r->dests[k];
		char name[600];
		if (t->state != DEST_CHECKING)
			continue;
		const char *pd = r->agg.domains[t->domain]->last.policy_domain;
		int len = snprintf(name, sizeof name, "%s._report._dmarc.%s", pd, t->d.domain);
		if (len < 0 || len > 253) {
			t->state = DEST_REFUSED;
			ev_info("dmarc-report-skipped", KS("domain", pd), KA("to", t->d.addr),
			    KS("reason", "the verification name is too long"));
			continue;
		}
		if (r->dns == NULL) {
			char err[256];
			r->dns = dns_new(r->q->base, r->q->cfg->resolver, err, sizeof err);
			if (r->dns == NULL)
				ev_err("dmarc-reports-error", KS("what", "resolver"), KS("error", err));
		}
		r->checking++;
		if (r->dns == NULL || dns_rr(r->dns, name, 16, on_verify, t) < 0)
			on_verify(t, DNS_TEMPFAIL, NULL, "no resolver");
	}
	checked(r);
}

/* day_lines - the day's lines: aggregated, then the destinations verified. */
static void
day_lines(void *arg, const char *text, size_t len)
{
	struct dmarc_reporter *r = arg;

	if (dmarc_agg_add_text(&r->agg, text, len) < 0) {
		ev_err("dmarc-reports-error", KS("day", r->days.day_name), KS("error", "out of memory"));
		day_done(r, false);
		return;
	}
	if (r->agg.malformed > 0)
		ev_warn("dmarc-reports-malformed", KS("day", r->days.day_name),
		    KN("lines", r->agg.malformed));
	verify_destinations(r);
}

void
dmarc_reporter_run(struct dmarc_reporter *r, bool today)
{
	if (r != NULL)
		report_days_run(&r->days, today);
}
