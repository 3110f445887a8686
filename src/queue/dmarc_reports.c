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

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "accounts.h"
#include "deliver/dns.h"
#include "dmarc/dmarc_aggregate.h"
#include "dmarc/dmarc_record.h"
#include "dmarc/dmarc_report_mail.h"
#include "dmarc/dmarc_rua.h"
#include "inbound/report_log.h"
#include "queue/queued.h"
#include "store/commit.h"
#include "store/spool_writer.h"
#include "util/fdio.h"
#include "util/log.h"

#define START_DELAY 30     /* seconds after start before the days left over are reported */
#define MIDNIGHT_DELAY 300 /* seconds after 00:00 UTC: the last lines of the day are in */
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
	struct event *timer;
	struct dns *dns;
	bool busy, again, again_today;

	/* The day being reported. */
	char work[4200];
	char day[16];
	time_t begin, end;
	struct dmarc_agg agg;
	struct dest *dests;
	size_t ndests;
	size_t checking;
	int *fds;
	char (*ids)[QUEUE_ID_LEN + 1];
	size_t nfds;
};

static void next_day(struct dmarc_reporter *r);

static void
arm(struct dmarc_reporter *r, time_t secs)
{
	struct timeval tv = { secs, 0 };
	evtimer_add(r->timer, &tv);
}

static void
arm_midnight(struct dmarc_reporter *r)
{
	time_t now = time(NULL);
	arm(r, 86400 - now % 86400 + MIDNIGHT_DELAY);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct dmarc_reporter *r = arg;
	dmarc_reporter_run(r, false);
	arm_midnight(r);
}

struct dmarc_reporter *
dmarc_reporter_new(struct queued *q)
{
	struct dmarc_reporter *r = calloc(1, sizeof *r);

	if (r == NULL || (r->timer = evtimer_new(q->base, on_timer, r)) == NULL) {
		free(r);
		ev_err("dmarc-reports-error", KS("error", "out of memory"));
		return NULL;
	}
	r->q = q;
	arm(r, START_DELAY);
	return r;
}

static void
day_clear(struct dmarc_reporter *r)
{
	dmarc_agg_free(&r->agg);
	free(r->dests);
	r->dests = NULL;
	r->ndests = r->checking = 0;
	for (size_t i = 0; i < r->nfds; i++)
		if (r->fds[i] >= 0)
			close(r->fds[i]);
	free(r->fds);
	free(r->ids);
	r->fds = NULL;
	r->ids = NULL;
	r->nfds = 0;
}

void
dmarc_reporter_free(struct dmarc_reporter *r)
{
	if (r == NULL)
		return;
	dns_free(r->dns); /* its callbacks are not called */
	day_clear(r);
	if (r->timer)
		event_free(r->timer);
	free(r);
}

static bool
is_day(const char *s, size_t n)
{
	if (n != 8)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* day_start - 00:00 UTC of "YYYYMMDD". */
static time_t
day_start(const char *day)
{
	struct tm tm = { 0 };
	tm.tm_year = (day[0] - '0') * 1000 + (day[1] - '0') * 100 + (day[2] - '0') * 10 +
	    (day[3] - '0') - 1900;
	tm.tm_mon = (day[4] - '0') * 10 + (day[5] - '0') - 1;
	tm.tm_mday = (day[6] - '0') * 10 + (day[7] - '0');
	return timegm(&tm);
}

/*
 * pick - the next file: a .work left by a crash first, else the earliest <day>.log
 * before today (today too with r->again_today). Fills r->day; returns 1 (.work),
 * 2 (.log), 0 (nothing to do).
 */
static int
pick(struct dmarc_reporter *r, const char *dir, bool today)
{
	char now_day[16], best[16] = "";
	int kind = 0;

	report_log_day(time(NULL), now_day);
	DIR *d = opendir(dir);
	if (d == NULL)
		return 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		const char *dot = strchr(e->d_name, '.');
		if (dot == NULL || !is_day(e->d_name, (size_t)(dot - e->d_name)))
			continue;
		int k = strcmp(dot, ".work") == 0 ? 1 : strcmp(dot, ".log") == 0 ? 2 : 0;
		if (k == 0 || (k == 2 && !today && strncmp(e->d_name, now_day, 8) >= 0))
			continue;
		if (kind == 0 || k < kind || (k == kind && strncmp(e->d_name, best, 8) < 0)) {
			memcpy(best, e->d_name, 8);
			best[8] = '\0';
			kind = k;
		}
	}
	closedir(d);
	if (kind != 0)
		snprintf(r->day, sizeof r->day, "%s", best);
	return kind;
}

/* day_done - on to the next day; after a failure, stop until the next run. */
static void
day_done(struct dmarc_reporter *r, bool ok)
{
	if (ok && unlink(r->work) < 0 && errno != ENOENT)
		ev_warn("dmarc-reports-error", KS("file", r->work), KS("error", strerror(errno)));
	day_clear(r);
	if (ok)
		next_day(r);
	else
		r->busy = false;
}

static void
on_committed(void *arg, int error)
{
	struct dmarc_reporter *r = arg;
	struct queued *q = r->q;

	if (error != 0) {
		ev_err("dmarc-reports-error", KS("day", r->day), KS("error", strerror(error)));
		for (size_t i = 0; i < r->nfds; i++)
			spool_remove(q->store.queue_dir, r->ids[i]);
		day_done(r, false);
		return;
	}
	for (size_t i = 0; i < r->nfds; i++) {
		struct qmsg *m = msg_add(q, r->ids[i], false);
		if (m)
			ready_push(q, m);
	}
	ev_info("dmarc-reports-done", KS("day", r->day), KN("messages", r->nfds));
	day_done(r, true);
}

/*
 * reporting_address - dmarc-noreply@ the hostname or its nearest parent that has
 * DKIM signing keys (a hosted domain): the reports must pass DMARC themselves
 * (RFC 9990 3.x), and the remote agent signs them as that domain.
 */
static void
reporting_address(struct dmarc_reporter *r, char *out, size_t len)
{
	const char *host = r->q->cfg->hostname;
	struct dkim_signer s[2];
	for (const char *d = host; d != NULL && strchr(d, '.') != NULL;) {
		if (accounts_dkim_signers(r->q->acct, d, time(NULL), s) > 0) {
			snprintf(out, len, "dmarc-noreply@%s", d);
			return;
		}
		d = strchr(d, '.');
		if (d != NULL)
			d++;
	}
	snprintf(out, len, "dmarc-noreply@%s", host);
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
	r->fds[r->nfds] = fd;
	memcpy(r->ids[r->nfds], env.id, QUEUE_ID_LEN + 1);
	r->nfds++;
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

	r->fds = calloc(r->ndests ? r->ndests : 1, sizeof *r->fds);
	r->ids = calloc(r->ndests ? r->ndests : 1, sizeof *r->ids);
	if (r->fds == NULL || r->ids == NULL) {
		ev_err("dmarc-reports-error", KS("day", r->day), KS("error", "out of memory"));
		day_done(r, false);
		return;
	}
	reporting_address(r, from, sizeof from);
	for (size_t i = 0; i < r->agg.n; i++) {
		const struct dmarc_agg_domain *d = r->agg.domains[i];
		struct buf xml = { 0 }, gz = { 0 };
		snprintf(uq, sizeof uq, "%lld%zu", (long long)now, i);
		snprintf(rid, sizeof rid, "%s.%s@%s", r->day, uq, host);
		struct dmarc_report_meta meta = { host, from, rid, r->begin, r->end };
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
				r->begin, r->end, now, gz.data, gz.len };
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
	if (r->nfds == 0) {
		day_done(r, true);
		return;
	}
	if (committer_submit(q->store.committer, r->fds, r->nfds, &q->store.msgdir_fd, 1,
	    on_committed, r) < 0)
		on_committed(r, ENOMEM);
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

static int
read_file(const char *path, struct buf *b)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || (uint64_t)st.st_size > 2 * REPORT_LOG_MAX ||
	    buf_reserve(b, (size_t)st.st_size + 1) < 0) {
		close(fd);
		return errno = EFBIG, -1;
	}
	ssize_t n = fd_pread_full(fd, b->data, (size_t)st.st_size, 0);
	close(fd);
	if (n < 0)
		return -1;
	b->len = (size_t)n;
	return 0;
}

static void
next_day(struct dmarc_reporter *r)
{
	struct queued *q = r->q;
	char dir[4200], log_path[4300];
	struct buf text = { 0 };

	snprintf(dir, sizeof dir, "%s/dmarc", q->store.queue_dir);
	int kind = pick(r, dir, r->again_today);
	if (kind == 0) {
		r->busy = false;
		if (r->again) {
			r->again = false;
			r->busy = true;
			next_day(r);
			return;
		}
		r->again_today = false;
		return;
	}
	r->busy = true;
	snprintf(r->work, sizeof r->work, "%s/%s.work", dir, r->day);
	if (kind == 2) {
		snprintf(log_path, sizeof log_path, "%s/%s.log", dir, r->day);
		if (rename(log_path, r->work) < 0) {
			ev_err("dmarc-reports-error", KS("file", log_path), KS("error", strerror(errno)));
			r->busy = false;
			return;
		}
	}
	r->begin = day_start(r->day);
	time_t now = time(NULL);
	r->end = r->begin + 86399 < now ? r->begin + 86399 : now;
	if (read_file(r->work, &text) < 0 || dmarc_agg_add_text(&r->agg, text.data ? text.data :
	    "", text.len) < 0) {
		ev_err("dmarc-reports-error", KS("file", r->work), KS("error", strerror(errno)));
		buf_free(&text);
		day_clear(r);
		r->busy = false;
		return;
	}
	buf_free(&text);
	if (r->agg.malformed > 0)
		ev_warn("dmarc-reports-malformed", KS("day", r->day), KN("lines", r->agg.malformed));
	verify_destinations(r);
}

void
dmarc_reporter_run(struct dmarc_reporter *r, bool today)
{
	if (r == NULL)
		return;
	if (!r->q->cfg->inbound_dmarc_reports) {
		ev_info("dmarc-reports-off");
		return;
	}
	if (r->busy) {
		r->again = true;
		r->again_today |= today;
		return;
	}
	r->again_today = today;
	next_day(r);
}
