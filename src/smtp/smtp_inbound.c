/*
 * smtp_inbound.c - SPF, DKIM and DMARC for mail from outside on the smtp listener
 * (never submission, trusted networks or logins): the header block is taken from
 * the text as it arrives, before anything is written, so that the
 * Authentication-Results field can go on top and forged ones can be removed;
 * the body is hashed as it passes; the verdict comes after the end of the text and
 * before the 250 (RFC 9989's reject is a 550 at the end of DATA).
 */
#include "smtp/smtp_session_int.h"

#include <event2/event.h>
#include <string.h>
#include <time.h>

#include "accounts.h"
#include "dkim/dkim_fields.h"
#include "inbound/auth_results.h"
#include "inbound/inbound_check.h"
#include "smtp/smtpd.h"
#include "store/wire.h"
#include "metrics/metrics.h"
#include "util/log.h"

#define HEADER_MAX (256 * 1024) /* a longer header block is not checked */
#define CHECK_TIMEOUT 20        /* seconds the checks may take after the text ended */

void
inbound_start(struct smtp_session *s)
{
	struct smtp_txn *t = s->txn;
	const struct config *cfg = s->srv->cfg;

	if (s->svc != SVC_SMTP || !cfg->inbound_verify || s->trusted || s->auth_user != NULL ||
	    s->srv->dns == NULL)
		return;
	struct inbound_params p = {
		.dns = &s->srv->dns_ops,
		.hostname = cfg->hostname,
		.ip = s->ip,
		.helo = s->helo ? s->helo : "",
		.mailfrom = t->env.sender ? t->env.sender : "",
		.dmarc_reject = cfg->inbound_dmarc_reject,
		.spf_reject = cfg->inbound_spf_reject,
		.id = t->env.id,
		.dmarc_reports = cfg->inbound_dmarc_reports,
		.dkim_keys = s->srv->dkim_keys,
		.dkim_pool = s->srv->dkim_pool,
	};
	if ((t->ic = inbound_check_new(&p)) == NULL)
		ev_warn("checks-skipped", KS("qid", t->env.id), KS("checks", "spf,dkim,dmarc"),
		    KS("reason", "out of memory"));
}

bool
inbound_holds_output(const struct smtp_session *s)
{
	const struct smtp_txn *t = s->txn;
	return t->ic != NULL && !t->header_seen && t->out.len < HEADER_MAX;
}

/*
 * take_header - once the header block is whole (or the text ended, or it grew past
 * HEADER_MAX): to the checks, then without forged Authentication-Results.
 */
static void
take_header(struct smtp_session *s, bool at_end)
{
	struct smtp_txn *t = s->txn;
	/* Lines already looked at are not scanned again: the text comes in small pieces. */
	size_t from = t->header_scanned, body_at;
	size_t end = from + dkim_header_end(t->out.data + from, t->out.len - from, &body_at);
	body_at += from;

	if (end == t->out.len && !at_end) {
		const char *lf = memrchr(t->out.data + from, '\n', t->out.len - from);
		if (lf != NULL)
			t->header_scanned = (size_t)(lf - t->out.data) + 1;
		if (t->out.len < HEADER_MAX)
			return;
		ev_warn("checks-skipped", KS("qid", t->env.id), KS("checks", "dkim,dmarc"),
		    KS("reason", "header block too long"), KN("limit", HEADER_MAX));
		end = body_at = 0;
	}
	t->header_seen = true;
	if (inbound_check_headers(t->ic, t->out.data, end) < 0)
		ev_warn("checks-skipped", KS("qid", t->env.id), KS("checks", "dkim"),
		    KS("reason", "out of memory"));
	unsigned removed = 0;
	uint64_t lines_before = count_lf(t->out.data, end);
	size_t kept = ar_strip(t->out.data, end, s->srv->cfg->hostname, &removed);
	if (removed > 0) {
		uint64_t lines_after = count_lf(t->out.data, kept);
		memmove(t->out.data + kept, t->out.data + end, t->out.len - end);
		t->out.len -= end - kept;
		body_at -= end - kept;
		/* The sizes of what is stored (W=, SIZE) follow what was taken out. */
		t->dr.out_octets -= end - kept;
		t->dr.out_lines -= lines_before - lines_after;
		ev_info("ar-removed", KS("qid", t->env.id), KN("count", removed),
		    KS("authserv", s->srv->cfg->hostname));
	}
	t->fed = body_at;
}

static void
feed(struct smtp_session *s, bool at_end)
{
	struct smtp_txn *t = s->txn;

	if (t == NULL || t->ic == NULL || t->too_big || t->failed)
		return;
	if (!t->header_seen) {
		take_header(s, at_end);
		if (!t->header_seen)
			return;
	}
	if (t->out.len > t->fed)
		inbound_check_body(t->ic, t->out.data + t->fed, t->out.len - t->fed);
	t->fed = t->out.len;
}

void
inbound_feed(struct smtp_session *s)
{
	feed(s, false);
}

static void
stop_timer(struct smtp_txn *t)
{
	if (t->ic_timer != NULL)
		event_free(t->ic_timer);
	t->ic_timer = NULL;
}

/*
 * on_timeout - DNS that does not answer must not hold the client past its own
 * timeout: the message goes on unchecked (no Authentication-Results), logged.
 */
static void
on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_session *s = arg;
	struct smtp_txn *t = s->txn;

	ev_warn("checks-skipped", KS("qid", t->env.id), KS("checks", "spf,dkim,dmarc"),
	    KS("reason", "timeout"), KN("limit", CHECK_TIMEOUT));
	stop_timer(t);
	inbound_check_free(t->ic);
	t->ic = NULL;
	bool closing = s->ls.closing;
	void (*cont)(struct smtp_session *) = t->ic_cont;
	session_release(s);
	if (!closing)
		cont(s);
}

static void
on_verdict(void *arg, const struct inbound_verdict *v)
{
	struct smtp_session *s = arg;
	struct smtp_txn *t = s->txn;
	void (*cont)(struct smtp_session *) = t->ic_cont;

	stop_timer(t);
	/* Refused or not, the message counts in the policy domain's report. */
	if (v->report.len > 0)
		report_log_append(&s->srv->dmarc_log, time(NULL), v->report.data, v->report.len);
	if (s->ls.closing) {
		session_release(s);
		return;
	}
	if (v->action == INBOUND_REJECT) {
		ev_info("reject", KS("qid", t->env.id), KS("client", s->ip), KS("stage", "data"),
		    KS("reason", v->status != NULL && strcmp(v->status, "5.7.23") == 0 ? "spf" : "dmarc"),
		    KS("detail", v->text));
		metrics_refused(v->status != NULL && strcmp(v->status, "5.7.23") == 0 ?
		    MX_REFUSE_SPF : MX_REFUSE_DMARC);
		session_error(s, "%d %s %s", v->code, v->status, v->text);
		txn_free(s);
		session_enter(s, S_READY);
		session_release(s);
		session_process(s);
		return;
	}
	t->env.junk = v->action == INBOUND_QUARANTINE;
	/* SPF and an aligned DKIM signature vouch for the client: greylisting lets it be. */
	if (v->authenticated && s->srv->cfg->greylist &&
	    accounts_greylist_trust(s->srv->acct, s->ip, time(NULL)) == 0)
		ev_info("greylist-trust", KS("qid", t->env.id), KS("client", s->ip));
	buf_reset(&t->ar);
	if (buf_append(&t->ar, v->ar.data, v->ar.len) < 0)
		t->failed = true;
	inbound_check_free(t->ic);
	t->ic = NULL;
	session_release(s);
	cont(s);
}

int
inbound_end(struct smtp_session *s, void (*cont)(struct smtp_session *s))
{
	struct smtp_txn *t = s->txn;

	if (t->ic == NULL)
		return 0;
	feed(s, true);
	t->ic_cont = cont;
	session_enter(s, S_COMMIT);
	line_session_hold(&s->ls);
	struct timeval tv = { CHECK_TIMEOUT, 0 };
	if ((t->ic_timer = evtimer_new(s->srv->base, on_timeout, s)) != NULL)
		evtimer_add(t->ic_timer, &tv);
	if (inbound_check_finish(t->ic, on_verdict, s) < 0) {
		ev_warn("checks-skipped", KS("qid", t->env.id), KS("checks", "spf,dkim,dmarc"),
		    KS("reason", "could not finish"));
		stop_timer(t);
		inbound_check_free(t->ic);
		t->ic = NULL;
		session_release(s);
		return 0;
	}
	return 1;
}
