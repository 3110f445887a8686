/*
 * tls_reports.c - one day at a time (queue/report_days.h: <day>.log renamed
 * <day>.work, the remote agent's next result starting a new file), added up; the
 * _smtp._tls records of the policy domains are asked through queued's resolver,
 * side by side; then every mailto: report is written into the queue and flushed in
 * one group commit, every https: report posted, and the .work file removed once the
 * mail is safe. A crash before that leaves the .work file, reported again at the
 * next start (a duplicate at worst, never a loss).
 */
#include "queue/tls_reports.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "deliver/dns.h"
#include "deliver/dns_parse.h"
#include "deliver/https_dns.h"
#include "deliver/tlsrpt.h"
#include "dmarc/dmarc_report_mail.h"
#include "net/tls.h"
#include "queue/inject.h"
#include "queue/queued.h"
#include "queue/report_days.h"
#include "store/spool.h"
#include "util/log.h"

#define DOMAINS_MAX 4096   /* policy domains reported per day */
#define RR_TXT 16

struct domain {
	struct tls_reporter *r;
	const char *name;       /* the aggregate's */
	char uri[TLSRPT_RUA_MAX][TLSRPT_URI_MAX];
	bool is_mail[TLSRPT_RUA_MAX];
	size_t nuri;
};

struct post {
	struct tls_reporter *r;
	struct https_dns *h;
	char domain[256];
	char url[TLSRPT_URI_MAX];
};

struct tls_reporter {
	struct queued *q;
	struct report_days days; /* the day being reported, and the timer */
	struct dns *dns;
	SSL_CTX *ctx;           /* for the https: destinations, made when first needed */

	/* The day being reported. */
	struct tlsrpt_agg agg;
	struct domain *doms;
	size_t ndoms;
	size_t checking;        /* TXT lookups under way, and one held while they start */
	struct post *posts;
	size_t nposts;
	size_t posting;         /* POSTs under way, and one held while the mail is flushed */
	bool mail_ok;
};

static void day_lines(void *arg, const char *text, size_t len);

static bool
enabled(const struct config *cfg)
{
	return cfg->tls_reports;
}

struct tls_reporter *
tls_reporter_new(struct queued *q)
{
	static const struct report_kind kind = { "tlsrpt", EV_NAME("tls-reports-done"),
		EV_NAME("tls-reports-off"), EV_NAME("tls-reports-error"), enabled, day_lines };
	struct tls_reporter *r = calloc(1, sizeof *r);

	if (r == NULL || report_days_init(&r->days, q, &kind, r) < 0) {
		free(r);
		ev_err("tls-reports-error", KS("error", "out of memory"));
		return NULL;
	}
	r->q = q;
	return r;
}

static void
day_clear(struct tls_reporter *r)
{
	for (size_t i = 0; i < r->nposts; i++)
		https_dns_cancel(r->posts[i].h);
	free(r->posts);
	r->posts = NULL;
	r->nposts = r->posting = 0;
	tlsrpt_agg_free(&r->agg);
	free(r->doms);
	r->doms = NULL;
	r->ndoms = r->checking = 0;
}

void
tls_reporter_free(struct tls_reporter *r)
{
	if (r == NULL)
		return;
	day_clear(r); /* before the resolver: the posts cancel their lookups there */
	dns_free(r->dns);
	SSL_CTX_free(r->ctx);
	report_days_fini(&r->days);
	free(r);
}

/* day_done - on to the next day; after a failure, stop until the next run. */
static void
day_done(struct tls_reporter *r, bool ok)
{
	day_clear(r);
	report_days_done(&r->days, ok);
}

/* posted - one POST (or the flush of the mail) is over; the last one ends the day. */
static void
posted(struct tls_reporter *r)
{
	if (--r->posting == 0)
		day_done(r, r->mail_ok);
}

static void
on_post(void *arg, struct https_result *res)
{
	struct post *p = arg;

	p->h = NULL;
	if (!res->answered)
		ev_warn("tls-report-skipped", KS("domain", p->domain), KS("url", p->url),
		    KS("reason", res->err));
	else if (res->status < 200 || res->status > 299)
		ev_warn("tls-report-skipped", KS("domain", p->domain), KS("url", p->url),
		    KS("reason", "not taken"), KN("status", res->status));
	else
		ev_info("tls-report-posted", KS("domain", p->domain), KS("url", p->url),
		    KN("status", res->status));
	posted(p->r);
}

static void
flushed(void *arg, bool ok)
{
	struct tls_reporter *r = arg;

	r->mail_ok = ok;
	posted(r);
}

/* queue_mail - the report's message to one mailto: address, into the queue. */
static void
queue_mail(struct tls_reporter *r, const char *to, const struct buf *msg)
{
	struct inject m = { "", to, BODY_7BIT, false, false, msg->data, msg->len };
	char id[QUEUE_ID_LEN + 1];
	int fd;

	/* The null sender: a report that cannot be delivered is dropped, never bounced. */
	spool_new_id(id);
	int rc = queue_inject(r->q, &m, id, &fd);
	if (rc < 0) {
		ev_err("tls-reports-error", KA("to", to), KS("error", strerror(errno)));
		return;
	}
	if (rc == 0) {
		ev_warn("tls-report-skipped", KA("to", to), KS("reason", "no such user"));
		return;
	}
	report_days_keep(&r->days, fd, id);
	ev_info("tls-report-queued", KS("qid", id), KA("to", to));
}

/* start_post - the report to one https: destination. */
static void
start_post(struct tls_reporter *r, const char *domain, const char *url, const struct buf *gz)
{
	char err[512];

	if (r->ctx == NULL &&
	    (r->ctx = tls_client_verify_ctx(r->q->cfg->tls_ca_file, err, sizeof err)) == NULL) {
		ev_err("tls-reports-error", KS("domain", domain), KS("url", url), KS("error", err));
		return;
	}
	struct post *p = &r->posts[r->nposts];
	*p = (struct post){ .r = r };
	snprintf(p->domain, sizeof p->domain, "%s", domain);
	snprintf(p->url, sizeof p->url, "%s", url);
	struct https_opts o = {
		.base = r->q->base,
		.ctx = r->ctx,
		.url = url,
		.method = HTTPS_POST,
		.content_type = "application/tlsrpt+gzip",
		.body = gz->data,
		.body_len = gz->len,
		.max_body = 64 * 1024,
		.idle_timeout = 30,
		.total_timeout = 90,
	};
	if ((p->h = https_dns_start(r->dns, &o, on_post, p, err, sizeof err)) == NULL) {
		ev_warn("tls-report-skipped", KS("domain", domain), KS("url", url), KS("reason", err));
		return;
	}
	r->nposts++;
	r->posting++;
}

/* send_reports - every domain's report to each of its destinations. */
static void
send_reports(struct tls_reporter *r)
{
	struct queued *q = r->q;
	const char *host = q->cfg->hostname;
	char from[320], rid[400], uq[64];
	time_t now = time(NULL);
	size_t ndest = 0;

	for (size_t i = 0; i < r->ndoms; i++)
		ndest += r->doms[i].nuri;
	r->posts = calloc(ndest ? ndest : 1, sizeof *r->posts);
	if (r->posts == NULL || report_days_reserve(&r->days, ndest) < 0) {
		ev_err("tls-reports-error", KS("day", r->days.day_name), KS("error", "out of memory"));
		day_done(r, false);
		return;
	}
	queue_report_sender(q, "tlsrpt-noreply", from, sizeof from);
	r->posting = 1; /* held until the mail is flushed */
	r->mail_ok = true;
	for (size_t i = 0; i < r->ndoms; i++) {
		const struct domain *d = &r->doms[i];
		struct buf json = { 0 }, gz = { 0 };
		if (d->nuri == 0)
			continue;
		snprintf(uq, sizeof uq, "%lld%zu", (long long)now, i);
		snprintf(rid, sizeof rid, "%s.%s@%s", r->days.day_name, uq, host);
		struct tlsrpt_meta meta = { host, from, rid, r->days.begin, r->days.end };
		if (tlsrpt_json(&r->agg, d->name, &meta, &json) < 0 ||
		    dmarc_gzip(json.data, json.len, &gz) < 0) {
			ev_err("tls-reports-error", KS("domain", d->name), KS("error", "out of memory"));
			buf_free(&json);
			buf_free(&gz);
			continue;
		}
		for (size_t k = 0; k < d->nuri; k++) {
			if (!d->is_mail[k]) {
				start_post(r, d->name, d->uri[k], &gz);
				continue;
			}
			struct buf msg = { 0 };
			struct tlsrpt_mail m = { host, from, d->uri[k], d->name, rid, uq, r->days.begin,
				r->days.end, now, gz.data, gz.len };
			if (tlsrpt_mail(&m, &msg) < 0)
				ev_err("tls-reports-error", KS("domain", d->name), KS("error", "out of memory"));
			else
				queue_mail(r, d->uri[k], &msg);
			buf_free(&msg);
		}
		ev_info("tls-report", KS("report_id", rid), KS("domain", d->name),
		    KN("destinations", d->nuri));
		buf_free(&json);
		buf_free(&gz);
	}
	report_days_flush(&r->days, flushed);
}

static void
checked(struct tls_reporter *r)
{
	if (--r->checking == 0)
		send_reports(r);
}

/* on_txt - the _smtp._tls record of one domain (RFC 8460 3): exactly one, with a rua. */
static void
on_txt(void *arg, enum dns_status st, const struct dns_rdata *rr, const char *why)
{
	struct domain *d = arg;
	char txt[2048];
	size_t found = 0;

	for (size_t i = 0; st == DNS_OK && i < rr->n; i++) {
		size_t n = 0;
		if (dns_parse_txt(rr->v[i], (size_t)rr->len[i], txt, sizeof txt) < 0)
			continue;
		int k = tlsrpt_record_parse(txt, strlen(txt), d->uri, d->is_mail, TLSRPT_RUA_MAX,
		    &n);
		if (k == 0)
			continue;
		found++;
		d->nuri = k > 0 ? n : 0;
	}
	if (found != 1) {
		d->nuri = 0;
		ev_info("tls-report-skipped", KS("domain", d->name), KS("reason", st == DNS_TEMPFAIL ?
		    "its _smtp._tls record cannot be looked up now" : found == 0 ?
		    "no _smtp._tls record" : "more than one _smtp._tls record"));
	} else if (d->nuri == 0) {
		ev_info("tls-report-skipped", KS("domain", d->name),
		    KS("reason", "its _smtp._tls record has no usable rua"));
	}
	checked(d->r);
}

static void
lookup_records(struct tls_reporter *r)
{
	size_t n = tlsrpt_agg_count(&r->agg);

	if (n > DOMAINS_MAX)
		n = DOMAINS_MAX;
	r->doms = calloc(n ? n : 1, sizeof *r->doms);
	if (r->doms == NULL) {
		day_done(r, false);
		return;
	}
	if (r->dns == NULL) {
		char err[256];
		if ((r->dns = dns_new(r->q->base, r->q->cfg->resolver, err, sizeof err)) == NULL)
			ev_err("tls-reports-error", KS("what", "resolver"), KS("error", err));
	}
	/* One count held while the lookups start: an answer may come at once. */
	r->checking = 1;
	for (size_t i = 0; i < n; i++) {
		struct domain *d = &r->doms[r->ndoms++];
		char name[300];
		d->r = r;
		d->name = tlsrpt_agg_domain(&r->agg, i);
		r->checking++;
		int len = snprintf(name, sizeof name, "_smtp._tls.%s", d->name);
		if (len < 0 || len > 253 || r->dns == NULL ||
		    dns_rr(r->dns, name, RR_TXT, on_txt, d) < 0)
			on_txt(d, DNS_TEMPFAIL, NULL, "no lookup");
	}
	checked(r);
}

/* day_lines - the day's results: added up, then the domains' records asked. */
static void
day_lines(void *arg, const char *text, size_t len)
{
	struct tls_reporter *r = arg;

	if (tlsrpt_agg_add_text(&r->agg, text, len) < 0) {
		ev_err("tls-reports-error", KS("day", r->days.day_name), KS("error", "out of memory"));
		day_done(r, false);
		return;
	}
	if (r->agg.malformed > 0)
		ev_warn("tls-reports-malformed", KS("day", r->days.day_name),
		    KN("lines", r->agg.malformed));
	lookup_records(r);
}

void
tls_reporter_run(struct tls_reporter *r, bool today)
{
	if (r != NULL)
		report_days_run(&r->days, today);
}
