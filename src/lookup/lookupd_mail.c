/*
 * lookupd_mail.c - lookupd's answers to the mail roles (lookupd_int.h): resolve
 * a recipient, may this user send as that address, quota, hosted domains,
 * greylisting of a RCPT, the SRS sender of forwarded mail, DKIM signers and
 * signatures, outbound limits and vacations. DKIM, SRS, limits and vacations
 * are for root and the mail user (queued) alone; private keys never leave
 * lookupd. A store that fails answers as such (tempfail), never "no such user".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "accounts.h"
#include "accounts_vacation.h"
#include "lookup/lookup_proto.h"
#include "lookup/lookupd_int.h"
#include "util/log.h"

/* mail_only - for root and the mail user alone: refused, logged, and false otherwise. */
static bool
mail_only(struct lk_ctx *x, struct lk_req *r, const char *what)
{
	if (r->uid == 0 || r->uid == x->d->mail_uid)
		return true;
	ev_warn("lookup-refused", KS("request", what), KN("uid", r->uid),
	    KS("reason", "only the mail user may ask"));
	refused(r);
	return false;
}

void
do_resolve(struct lk_ctx *x, struct lk_req *r)
{
	char addr[ADDR_MAX + 1];
	struct target_list tl = { 0 };
	struct frame *f = &r->out;

	if (!frame_get_str(&r->in, addr, sizeof addr) || !frame_end(&r->in)) {
		r->act = ACT_CLOSE;
		return;
	}
	enum resolve_status st;
	if (!accounts_srs_resolve(x->acct, addr, &tl, &st))
		st = accounts_resolve(x->acct, addr, &tl);
	frame_init(f, LK_REPLY);
	frame_put_u64(f, st);
	frame_put_u64(f, st == RESOLVE_OK ? tl.n : 0);
	for (size_t i = 0; st == RESOLVE_OK && i < tl.n; i++) {
		frame_put_u64(f, tl.v[i].kind);
		frame_put_str(f, tl.v[i].addr);
		frame_put_u64(f, tl.v[i].unlimited);
		frame_put_u64(f, tl.v[i].vacation);
	}
	if (f->bad) { /* more targets than a frame holds: say so rather than cut the list */
		ev_err("lookup-error", KS("address", addr), KS("error", "too many targets for one answer"));
		frame_init(f, LK_REPLY);
		frame_put_u64(f, RESOLVE_TEMPFAIL);
		frame_put_u64(f, 0);
	}
	target_list_free(&tl);
	r->act = ACT_SEND;
}

void
do_owns(struct lk_ctx *x, struct lk_req *r)
{
	char user[ADDR_MAX + 1], addr[ADDR_MAX + 1];

	if (!frame_get_str(&r->in, user, sizeof user) || !frame_get_str(&r->in, addr, sizeof addr) ||
	    !frame_end(&r->in)) {
		r->act = ACT_CLOSE;
		return;
	}
	int n = accounts_owns_address(x->acct, user, addr);
	reply_u64(r, n < 0 ? 2 : (uint64_t)n);
}

void
do_quota(struct lk_ctx *x, struct lk_req *r)
{
	char addr[ADDR_MAX + 1];

	if (!frame_get_str(&r->in, addr, sizeof addr) || !frame_end(&r->in)) {
		r->act = ACT_CLOSE;
		return;
	}
	uint64_t quota = 0;
	int n = accounts_user_quota(x->acct, addr, &quota);
	frame_init(&r->out, LK_REPLY);
	frame_put_u64(&r->out, n < 0 ? 2 : (uint64_t)n);
	frame_put_u64(&r->out, quota);
	r->act = ACT_SEND;
}

/* do_greylist - one RCPT's greylisting; a store that fails answers 2 (the mail passes). */
void
do_greylist(struct lk_ctx *x, struct lk_req *r)
{
	char ip[64], sender[ADDR_MAX + 1], rcpt[ADDR_MAX + 1];
	uint64_t delay;

	if (!frame_get_str(&r->in, ip, sizeof ip) || !frame_get_str(&r->in, sender, sizeof sender) ||
	    !frame_get_str(&r->in, rcpt, sizeof rcpt) || !frame_get_u64(&r->in, &delay) ||
	    !frame_end(&r->in)) {
		r->act = ACT_CLOSE;
		return;
	}
	reply_u64(r, accounts_greylist(x->acct, ip, sender, rcpt, delay, time(NULL)));
}

void
do_greylist_trust(struct lk_ctx *x, struct lk_req *r)
{
	char ip[64];

	if (!frame_get_str(&r->in, ip, sizeof ip) || !frame_end(&r->in)) {
		r->act = ACT_CLOSE;
		return;
	}
	reply_u64(r, accounts_greylist_trust(x->acct, ip, time(NULL)) == 0 ? 0 : 1);
}

/* do_srs_forward - for the mail user alone, as DKIM: SRS addresses are ours to make. */
void
do_srs_forward(struct lk_ctx *x, struct lk_req *r)
{
	char sender[ADDR_MAX + 1], domain[ADDR_DOMAIN_MAX + 1], out[ADDR_MAX + 1];

	if (!frame_get_str(&r->in, sender, sizeof sender) ||
	    !frame_get_str(&r->in, domain, sizeof domain) || !frame_end(&r->in)) {
		r->act = ACT_CLOSE;
		return;
	}
	if (!mail_only(x, r, "LK_SRS_FORWARD"))
		return;
	int n = accounts_srs_forward(x->acct, sender, domain, out, sizeof out);
	frame_init(&r->out, LK_REPLY);
	frame_put_u64(&r->out, n < 0 ? 2 : (uint64_t)n);
	frame_put_str(&r->out, out);
	r->act = ACT_SEND;
}

void
do_domains(struct lk_ctx *x, struct lk_req *r)
{
	struct strlist l = { 0 };
	char err[256];

	if (!frame_end(&r->in)) {
		r->act = ACT_CLOSE;
		return;
	}
	if (accounts_domain_list(x->acct, &l, err, sizeof err) < 0)
		ev_err("store-error", KS("what", "domain-list"), KS("error", err));
	size_t n = 0, room = FRAME_MAX - 32;
	while (n < l.n && strlen(l.v[n]) + 5 <= room)
		room -= strlen(l.v[n++]) + 5;
	frame_init(&r->out, LK_REPLY);
	frame_put_u64(&r->out, n);
	for (size_t i = 0; i < n; i++)
		frame_put_str(&r->out, l.v[i]);
	strlist_free(&l);
	r->act = ACT_SEND;
}

void
do_dkim_keys(struct lk_ctx *x, struct lk_req *r)
{
	char domain[256];
	uint64_t now;
	struct dkim_signer signers[DKIM_ALG_COUNT];

	if (!frame_get_str(&r->in, domain, sizeof domain) || !frame_get_u64(&r->in, &now) ||
	    !frame_end(&r->in) || now > INT64_MAX) {
		r->act = ACT_CLOSE;
		return;
	}
	if (!mail_only(x, r, "LK_DKIM_KEYS"))
		return;
	int n = accounts_dkim_signers(x->acct, domain, (time_t)now, signers);
	frame_init(&r->out, LK_REPLY);
	frame_put_u64(&r->out, n < 0 ? 2 : 0);
	frame_put_u64(&r->out, n < 0 ? 0 : (uint64_t)n);
	for (int i = 0; i < n; i++) {
		frame_put_u64(&r->out, signers[i].alg);
		frame_put_str(&r->out, signers[i].selector);
	}
	r->act = ACT_SEND;
}

/* sign_into - data signed by domain's key selector, logged if it was not, and its
 * status and signature ("" unless signed) put on r's reply. */
static void
sign_into(struct lk_ctx *x, struct lk_req *r, const char *domain, const char *selector,
    const char *data)
{
	char sig[DKIM_SIG_MAX];
	enum dkim_sign_status st = accounts_dkim_sign_status(x->acct, domain, selector, data,
	    strlen(data), sig, sizeof sig);

	if (st == DKIM_SIGN_NO_KEY)
		ev_warn("dkim-no-key", KS("d", domain), KS("s", selector));
	else if (st == DKIM_SIGN_FAILED)
		ev_err("dkim-key-error", KS("d", domain), KS("s", selector));
	frame_put_u64(&r->out, st);
	frame_put_str(&r->out, st == DKIM_SIGN_OK ? sig : "");
}

void
do_dkim_sign(struct lk_ctx *x, struct lk_req *r)
{
	char domain[256], selector[64];
	char *data = x->slot->dkim_data;

	/* Longer data than LK_DKIM_DATA_MAX does not fit the slot's buffer: a malformed request. */
	if (!frame_get_str(&r->in, domain, sizeof domain) ||
	    !frame_get_str(&r->in, selector, sizeof selector) ||
	    !frame_get_str(&r->in, data, LK_DKIM_DATA_MAX + 1) || !frame_end(&r->in)) {
		ev_warn("lookup-malformed", KS("request", "LK_DKIM_SIGN"), KN("uid", r->uid));
		r->act = ACT_CLOSE;
		return;
	}
	if (!mail_only(x, r, "LK_DKIM_SIGN"))
		return;
	frame_init(&r->out, LK_REPLY);
	sign_into(x, r, domain, selector, data);
	r->act = ACT_SEND;
}

/*
 * do_dkim_sign_many - LK_DKIM_SIGN for each of up to DKIM_ALG_COUNT data in one
 * request: each is read into the slot's buffer and signed before the next.
 */
void
do_dkim_sign_many(struct lk_ctx *x, struct lk_req *r)
{
	char domain[256], selector[64];
	char *data = x->slot->dkim_data;
	uint64_t n;

	if (!frame_get_str(&r->in, domain, sizeof domain) || !frame_get_u64(&r->in, &n) ||
	    n == 0 || n > DKIM_ALG_COUNT)
		goto malformed;
	if (!mail_only(x, r, "LK_DKIM_SIGN_MANY"))
		return;
	frame_init(&r->out, LK_REPLY);
	frame_put_u64(&r->out, n);
	for (uint64_t i = 0; i < n; i++) {
		if (!frame_get_str(&r->in, selector, sizeof selector) ||
		    !frame_get_str(&r->in, data, LK_DKIM_DATA_MAX + 1))
			goto malformed;
		sign_into(x, r, domain, selector, data);
	}
	if (!frame_end(&r->in))
		goto malformed;
	r->act = ACT_SEND;
	return;
malformed:
	ev_warn("lookup-malformed", KS("request", "LK_DKIM_SIGN_MANY"), KN("uid", r->uid));
	r->act = ACT_CLOSE;
}

/*
 * do_sends_count - one message of a user counted against its outbound limits; for
 * the mail user (queued) alone, as DKIM: another role could spend a user's limit.
 */
void
do_sends_count(struct lk_ctx *x, struct lk_req *r)
{
	const struct config *cfg = x->d->cfg;
	char user[ADDR_MAX + 1];
	uint64_t now, total, n;
	char **v = NULL;
	size_t got = 0;
	bool ok = frame_get_str(&r->in, user, sizeof user) && frame_get_u64(&r->in, &now) &&
	    frame_get_u64(&r->in, &total) && frame_get_u64(&r->in, &n) && now <= INT64_MAX &&
	    n <= total && n <= FRAME_MAX / 2;

	if (ok && n > 0 && (v = calloc((size_t)n, sizeof *v)) == NULL) {
		reply_u64(r, SEND_TEMPFAIL);
		return;
	}
	for (; ok && got < n; got++) {
		char addr[ADDR_MAX + 1];
		ok = frame_get_str(&r->in, addr, sizeof addr) && (v[got] = strdup(addr)) != NULL;
	}
	if (!ok || !frame_end(&r->in)) {
		r->act = ACT_CLOSE;
	} else if (mail_only(x, r, "LK_SENDS_COUNT")) {
		struct send_limits l = { cfg->sends_per_day, cfg->sends_per_hour,
			cfg->first_time_recipients_per_day };
		uint64_t limit;
		enum send_verdict sv = accounts_sends_count(x->acct, user, (const char *const *)v,
		    (size_t)n, (size_t)(total - n), (time_t)now, &l, &limit);
		frame_init(&r->out, LK_REPLY);
		frame_put_u64(&r->out, sv);
		frame_put_u64(&r->out, limit);
		r->act = ACT_SEND;
	}
	for (size_t i = 0; i < got; i++)
		free(v[i]);
	free(v);
}

/* vacation_answer - LK_VACATION_GET's answer: status 0 none, 1 v, 2 no such user, 3 failed. */
static void
vacation_answer(struct lk_req *r, uint64_t status, const struct vacation_info *v)
{
	bool found = status == 1 && v != NULL;

	frame_init(&r->out, LK_REPLY);
	frame_put_u64(&r->out, status);
	frame_put_str(&r->out, found ? v->subject : "");
	frame_put_str(&r->out, found ? v->body : "");
	frame_put_u64(&r->out, found ? (uint64_t)v->until : 0);
	frame_put_u64(&r->out, found ? (uint64_t)v->set_at : 0);
	r->act = ACT_SEND;
}

/* do_vacation_get - a user's vacation, for the mail user (queued) alone. */
void
do_vacation_get(struct lk_ctx *x, struct lk_req *r)
{
	char user[ADDR_MAX + 1], err[512];
	struct vacation_info *v;

	if (!frame_get_str(&r->in, user, sizeof user) || !frame_end(&r->in)) {
		r->act = ACT_CLOSE;
		return;
	}
	if (!mail_only(x, r, "LK_VACATION_GET"))
		return;
	if ((v = malloc(sizeof *v)) == NULL) {
		vacation_answer(r, 3, NULL);
		return;
	}
	uint64_t status = 0;
	if (accounts_vacation_get(x->acct, user, v, err, sizeof err) < 0) {
		/* The one refusal that is no failure: the user is gone. */
		status = strncmp(err, "no such user", 12) == 0 ? 2 : 3;
		if (status == 3)
			ev_err("vacation-error", KS("user", user), KS("error", err));
	} else if (v->found) {
		status = 1;
	}
	vacation_answer(r, status, v);
	free(v);
}

/* do_vacation_reply - whether a user answers a sender now, recorded; the mail user alone. */
void
do_vacation_reply(struct lk_ctx *x, struct lk_req *r)
{
	char user[ADDR_MAX + 1], sender[ADDR_MAX + 1];

	if (!frame_get_str(&r->in, user, sizeof user) ||
	    !frame_get_str(&r->in, sender, sizeof sender) || !frame_end(&r->in)) {
		r->act = ACT_CLOSE;
		return;
	}
	if (!mail_only(x, r, "LK_VACATION_REPLY"))
		return;
	reply_u64(r, accounts_vacation_reply(x->acct, user, sender, x->d->cfg->vacation_interval,
	    time(NULL)));
}
