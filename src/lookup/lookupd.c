/*
 * lookupd.c - the lookup role: the only process of `serve` that opens the
 * account store. It answers the other roles' queries (resolve a recipient, may
 * this user send as that address, quota, hosted domains, the SRS sender of
 * forwarded mail, greylisting of a RCPT) and checks logins:
 * the password hash never leaves this process, verifications wait in a bounded
 * queue for a few worker threads, and failures are counted per client network
 * and per account across every connection and service (authlimit.h).
 * A login may use the main password or, for the mail services, an app password;
 * a suspended user is refused either way (accounts_users.h).
 * Clients are accepted only from root, our own uid or the mail group (SO_PEERCRED).
 * DKIM keys are named and signatures made only for root and the mail user
 * (queued); private keys never leave this process. Vacations are read, and their
 * replies decided and recorded, for the same two alone. The web's requests (logins
 * that open sessions, who a session is, the admin and user operations of
 * web/web_ops.h) are answered only to root and the httpd role.
 */
#include <errno.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "accounts.h"
#include "accounts_users.h"
#include "accounts_vacation.h"
#include "accounts_web.h"
#include "app_password.h"
#include "ipc/frame.h"
#include "lookup/authlimit.h"
#include "lookup/lookup_proto.h"
#include "metrics/metrics.h"
#include "password.h"
#include "role.h"
#include "util/log.h"
#include "util/workpool.h"
#include "web/web_ops.h"

#define VERIFY_THREADS 2
#define PASSWORD_MAX 512
#define SWEEP_INTERVAL 60
#define GREY_EXPIRE_SWEEPS 60  /* greylisting's old rows go once an hour */
#define CONNS_MAX 512          /* a role holds one, plus one per login being checked */

struct lk_conn;

struct lookupd {
	struct event_base *base;
	struct config *cfg;
	struct accounts *acct;
	struct workpool *work;
	unsigned pending;        /* verifications submitted and not done */
	struct authlimit limits;
	char dummy_hash[PASSWORD_HASH_MAX];
	struct evconnlistener *listener;
	struct lk_conn *conns;
	unsigned nconns;
	struct frame in, out;    /* the loop handles one request at a time */
	struct event *sweep;
	unsigned sweeps;         /* since greylisting's rows were last expired */
	gid_t mail_gid;
	uid_t mail_uid;
	uid_t httpd_uid;
	char *dkim_data;         /* LK_DKIM_SIGN's data, LK_DKIM_DATA_MAX + 1 */
	char *web_arg;           /* one argument of LK_WEB_OP as read, FRAME_MAX */
};

struct lk_conn {
	struct lookupd *d;
	int fd;
	struct event *ev;
	unsigned refs;           /* the connection, and each verification under way */
	uid_t uid;               /* of the peer */
	bool dead;
	struct lk_conn *prev, *next;
};

struct verify_job {
	struct lk_conn *c;
	char user[ADDR_MAX + 1];
	char password[PASSWORD_MAX];
	char ip[64];
	char service[16];
	struct login_record rec;  /* its app passwords: none when they may not be used here */
	bool counts;             /* a real check: a failure is counted */
	bool blocked;            /* blocked before the check: the answer is "blocked" whatever it finds */
	bool ok;                 /* the main password matched */
	int app;                 /* the index of the app password that matched, or -1 */
};

static void
conn_unref(struct lk_conn *c)
{
	if (--c->refs > 0)
		return;
	struct lookupd *d = c->d;
	if (c->prev)
		c->prev->next = c->next;
	else
		d->conns = c->next;
	d->nconns--;
	if (c->next)
		c->next->prev = c->prev;
	free(c);
}

static void
conn_close(struct lk_conn *c)
{
	if (c->dead)
		return;
	c->dead = true;
	event_free(c->ev);
	close(c->fd);
	conn_unref(c);
}

static void
send_frame(struct lk_conn *c, const struct frame *f)
{
	if (c->dead)
		return;
	if (f->bad || send(c->fd, f->buf, f->len, MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t)f->len)
		conn_close(c); /* a client that cannot take its answer starts afresh */
}

static void
reply_u64(struct lk_conn *c, uint64_t v)
{
	struct frame *f = &c->d->out;
	frame_init(f, LK_REPLY);
	frame_put_u64(f, v);
	send_frame(c, f);
}

static void
do_resolve(struct lookupd *d, struct lk_conn *c, struct frame *in)
{
	char addr[ADDR_MAX + 1];
	struct target_list tl = { 0 };
	struct frame *f = &d->out;

	if (!frame_get_str(in, addr, sizeof addr) || !frame_end(in)) {
		conn_close(c);
		return;
	}
	enum resolve_status st;
	if (!accounts_srs_resolve(d->acct, addr, &tl, &st))
		st = accounts_resolve(d->acct, addr, &tl);
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
	send_frame(c, f);
}

static void
do_owns(struct lookupd *d, struct lk_conn *c, struct frame *in)
{
	char user[ADDR_MAX + 1], addr[ADDR_MAX + 1];

	if (!frame_get_str(in, user, sizeof user) || !frame_get_str(in, addr, sizeof addr) ||
	    !frame_end(in)) {
		conn_close(c);
		return;
	}
	int r = accounts_owns_address(d->acct, user, addr);
	reply_u64(c, r < 0 ? 2 : (uint64_t)r);
}

static void
do_quota(struct lookupd *d, struct lk_conn *c, struct frame *in)
{
	char addr[ADDR_MAX + 1];

	if (!frame_get_str(in, addr, sizeof addr) || !frame_end(in)) {
		conn_close(c);
		return;
	}
	uint64_t quota = 0;
	int r = accounts_user_quota(d->acct, addr, &quota);
	struct frame *f = &d->out;
	frame_init(f, LK_REPLY);
	frame_put_u64(f, r < 0 ? 2 : (uint64_t)r);
	frame_put_u64(f, quota);
	send_frame(c, f);
}

/* do_greylist - one RCPT's greylisting; a store that fails answers 2 (the mail passes). */
static void
do_greylist(struct lookupd *d, struct lk_conn *c, struct frame *in)
{
	char ip[64], sender[ADDR_MAX + 1], rcpt[ADDR_MAX + 1];
	uint64_t delay;

	if (!frame_get_str(in, ip, sizeof ip) || !frame_get_str(in, sender, sizeof sender) ||
	    !frame_get_str(in, rcpt, sizeof rcpt) || !frame_get_u64(in, &delay) ||
	    !frame_end(in)) {
		conn_close(c);
		return;
	}
	reply_u64(c, accounts_greylist(d->acct, ip, sender, rcpt, delay, time(NULL)));
}

static void
do_greylist_trust(struct lookupd *d, struct lk_conn *c, struct frame *in)
{
	char ip[64];

	if (!frame_get_str(in, ip, sizeof ip) || !frame_end(in)) {
		conn_close(c);
		return;
	}
	reply_u64(c, accounts_greylist_trust(d->acct, ip, time(NULL)) == 0 ? 0 : 1);
}

static bool dkim_allowed(struct lookupd *d, struct lk_conn *c, const char *what);

/* do_srs_forward - for the mail user alone, as DKIM: SRS addresses are ours to make. */
static void
do_srs_forward(struct lookupd *d, struct lk_conn *c, struct frame *in)
{
	char sender[ADDR_MAX + 1], domain[ADDR_DOMAIN_MAX + 1], out[ADDR_MAX + 1];
	struct frame *f = &d->out;

	if (!frame_get_str(in, sender, sizeof sender) ||
	    !frame_get_str(in, domain, sizeof domain) || !frame_end(in)) {
		conn_close(c);
		return;
	}
	if (!dkim_allowed(d, c, "LK_SRS_FORWARD"))
		return;
	int r = accounts_srs_forward(d->acct, sender, domain, out, sizeof out);
	frame_init(f, LK_REPLY);
	frame_put_u64(f, r < 0 ? 2 : (uint64_t)r);
	frame_put_str(f, out);
	send_frame(c, f);
}

static void
do_domains(struct lookupd *d, struct lk_conn *c, struct frame *in)
{
	struct strlist l = { 0 };
	char err[256];
	struct frame *f = &d->out;

	if (!frame_end(in)) {
		conn_close(c);
		return;
	}
	if (accounts_domain_list(d->acct, &l, err, sizeof err) < 0)
		ev_err("store-error", KS("what", "domain-list"), KS("error", err));
	size_t n = 0, room = FRAME_MAX - 32;
	while (n < l.n && strlen(l.v[n]) + 5 <= room)
		room -= strlen(l.v[n++]) + 5;
	frame_init(f, LK_REPLY);
	frame_put_u64(f, n);
	for (size_t i = 0; i < n; i++)
		frame_put_str(f, l.v[i]);
	strlist_free(&l);
	send_frame(c, f);
}

/* dkim_allowed - DKIM is for root and the mail user (queued) alone: refused, logged, closed. */
static bool
dkim_allowed(struct lookupd *d, struct lk_conn *c, const char *what)
{
	if (c->uid == 0 || c->uid == d->mail_uid)
		return true;
	ev_warn("lookup-refused", KS("request", what), KN("uid", c->uid),
	    KS("reason", "only the mail user may ask"));
	struct frame *f = &d->out;
	frame_init(f, LK_ERROR);
	send_frame(c, f);
	return false;
}

static void
do_dkim_keys(struct lookupd *d, struct lk_conn *c, struct frame *in)
{
	char domain[256];
	uint64_t now;
	struct dkim_signer signers[DKIM_ALG_COUNT];
	struct frame *f = &d->out;

	if (!frame_get_str(in, domain, sizeof domain) || !frame_get_u64(in, &now) ||
	    !frame_end(in) || now > INT64_MAX) {
		conn_close(c);
		return;
	}
	if (!dkim_allowed(d, c, "LK_DKIM_KEYS"))
		return;
	int n = accounts_dkim_signers(d->acct, domain, (time_t)now, signers);
	frame_init(f, LK_REPLY);
	frame_put_u64(f, n < 0 ? 2 : 0);
	frame_put_u64(f, n < 0 ? 0 : (uint64_t)n);
	for (int i = 0; i < n; i++) {
		frame_put_u64(f, signers[i].alg);
		frame_put_str(f, signers[i].selector);
	}
	send_frame(c, f);
}

static void
do_dkim_sign(struct lookupd *d, struct lk_conn *c, struct frame *in)
{
	char domain[256], selector[64], sig[DKIM_SIG_MAX];
	struct frame *f = &d->out;

	/* Longer data than LK_DKIM_DATA_MAX does not fit d->dkim_data: a malformed request. */
	if (!frame_get_str(in, domain, sizeof domain) ||
	    !frame_get_str(in, selector, sizeof selector) ||
	    !frame_get_str(in, d->dkim_data, LK_DKIM_DATA_MAX + 1) || !frame_end(in)) {
		ev_warn("lookup-malformed", KS("request", "LK_DKIM_SIGN"), KN("uid", c->uid));
		conn_close(c);
		return;
	}
	if (!dkim_allowed(d, c, "LK_DKIM_SIGN"))
		return;
	enum dkim_sign_status st = accounts_dkim_sign_status(d->acct, domain, selector,
	    d->dkim_data, strlen(d->dkim_data), sig, sizeof sig);
	if (st == DKIM_SIGN_NO_KEY)
		ev_warn("dkim-no-key", KS("d", domain), KS("s", selector));
	else if (st == DKIM_SIGN_FAILED)
		ev_err("dkim-key-error", KS("d", domain), KS("s", selector));
	frame_init(f, LK_REPLY);
	frame_put_u64(f, st);
	frame_put_str(f, st == DKIM_SIGN_OK ? sig : "");
	send_frame(c, f);
}

/*
 * do_sends_count - one message of a user counted against its outbound limits; for
 * the mail user (queued) alone, as DKIM: another role could spend a user's limit.
 */
static void
do_sends_count(struct lookupd *d, struct lk_conn *c, struct frame *in)
{
	char user[ADDR_MAX + 1];
	uint64_t now, total, n;
	char **v = NULL;
	size_t got = 0;
	bool ok = frame_get_str(in, user, sizeof user) && frame_get_u64(in, &now) &&
	    frame_get_u64(in, &total) && frame_get_u64(in, &n) && now <= INT64_MAX &&
	    n <= total && n <= FRAME_MAX / 2;

	if (ok && n > 0 && (v = calloc((size_t)n, sizeof *v)) == NULL) {
		reply_u64(c, SEND_TEMPFAIL);
		return;
	}
	for (; ok && got < n; got++) {
		char addr[ADDR_MAX + 1];
		ok = frame_get_str(in, addr, sizeof addr) && (v[got] = strdup(addr)) != NULL;
	}
	if (!ok || !frame_end(in)) {
		for (size_t i = 0; i < got; i++)
			free(v[i]);
		free(v);
		conn_close(c);
		return;
	}
	if (dkim_allowed(d, c, "LK_SENDS_COUNT")) {
		struct send_limits l = { d->cfg->sends_per_day, d->cfg->sends_per_hour,
			d->cfg->first_time_recipients_per_day };
		uint64_t limit;
		enum send_verdict sv = accounts_sends_count(d->acct, user, (const char *const *)v,
		    (size_t)n, (size_t)(total - n), (time_t)now, &l, &limit);
		struct frame *f = &d->out;
		frame_init(f, LK_REPLY);
		frame_put_u64(f, sv);
		frame_put_u64(f, limit);
		send_frame(c, f);
	}
	for (size_t i = 0; i < got; i++)
		free(v[i]);
	free(v);
}

/* do_vacation_get - a user's vacation, for the mail user (queued) alone. */
static void
do_vacation_get(struct lookupd *d, struct lk_conn *c, struct frame *in)
{
	char user[ADDR_MAX + 1], err[512];
	struct vacation_info *v;
	struct frame *f = &d->out;

	if (!frame_get_str(in, user, sizeof user) || !frame_end(in)) {
		conn_close(c);
		return;
	}
	if (!dkim_allowed(d, c, "LK_VACATION_GET"))
		return;
	if ((v = malloc(sizeof *v)) == NULL) {
		frame_init(f, LK_REPLY);
		frame_put_u64(f, 3);
		frame_put_str(f, "");
		frame_put_str(f, "");
		frame_put_u64(f, 0);
		frame_put_u64(f, 0);
		send_frame(c, f);
		return;
	}
	uint64_t status = 0;
	if (accounts_vacation_get(d->acct, user, v, err, sizeof err) < 0) {
		/* The one refusal that is no failure: the user is gone. */
		status = strncmp(err, "no such user", 12) == 0 ? 2 : 3;
		if (status == 3)
			ev_err("vacation-error", KS("user", user), KS("error", err));
	} else if (v->found) {
		status = 1;
	}
	frame_init(f, LK_REPLY);
	frame_put_u64(f, status);
	frame_put_str(f, status == 1 ? v->subject : "");
	frame_put_str(f, status == 1 ? v->body : "");
	frame_put_u64(f, status == 1 ? (uint64_t)v->until : 0);
	frame_put_u64(f, status == 1 ? (uint64_t)v->set_at : 0);
	free(v);
	send_frame(c, f);
}

/* do_vacation_reply - whether a user answers a sender now, recorded; the mail user alone. */
static void
do_vacation_reply(struct lookupd *d, struct lk_conn *c, struct frame *in)
{
	char user[ADDR_MAX + 1], sender[ADDR_MAX + 1];

	if (!frame_get_str(in, user, sizeof user) || !frame_get_str(in, sender, sizeof sender) ||
	    !frame_end(in)) {
		conn_close(c);
		return;
	}
	if (!dkim_allowed(d, c, "LK_VACATION_REPLY"))
		return;
	reply_u64(c, accounts_vacation_reply(d->acct, user, sender, d->cfg->vacation_interval,
	    time(NULL)));
}

/*
 * verify_account_key - the failure counter of a login name: by its canonical form,
 * so that "Joe@A.test" and "joe@a.test" (and the web's logins) count together.
 */
static void
verify_account_key(const char *user, char *out, size_t outlen)
{
	char canon[ADDR_MAX + 1];

	if (address_canonical(user, canon, sizeof canon, false) == 0)
		snprintf(out, outlen, "user:%s", canon);
	else
		snprintf(out, outlen, "user:%s", user);
}

static void
verify_work(void *arg)
{
	struct verify_job *j = arg;
	/*
	 * Both checks, whatever the first says: one yescrypt hash and one SHA-256 for
	 * every login, so the time tells neither which password matched nor how many
	 * app passwords there are (app_password.c).
	 */
	j->ok = password_verify(j->password, j->rec.hash);
	j->app = app_password_match(j->password, (const char (*)[APP_DIGEST_SIZE])j->rec.app_digest,
	    j->rec.napps);
	explicit_bzero(j->password, sizeof j->password);
}

static void
verify_done(void *arg)
{
	struct verify_job *j = arg;
	struct lookupd *d = j->c->d;
	const struct config *cfg = d->cfg;
	char net[96], acct[ADDR_MAX + 8];
	time_t now = time(NULL), window = (time_t)cfg->login_block_time;
	enum lookup_verdict v;
	bool trusted_client = config_is_trusted_text(cfg, j->ip);

	d->pending--;
	authlimit_client_key(j->ip, net, sizeof net);
	verify_account_key(j->user, acct, sizeof acct);
	bool right = j->counts && (j->ok || j->app >= 0);
	if (j->blocked) {
		v = VERDICT_BLOCKED;
	} else if (right && j->rec.suspended) {
		/* Not counted: the right password is no guess, and a suspended user's mail
		 * client that keeps trying must not get its whole network blocked. */
		v = VERDICT_SUSPENDED;
	} else if (right) {
		v = VERDICT_OK;
		authlimit_reset(&d->limits, acct);
		if (!j->ok) {
			ev_info("app-password-used", KS("user", j->user), KS("app", j->rec.app_name[j->app]),
			    KS("client", j->ip), KS("service", j->service));
			if (accounts_app_password_used(d->acct, j->user, j->rec.app_name[j->app], now) < 0)
				ev_warn("app-password-error", KS("user", j->user),
				    KS("app", j->rec.app_name[j->app]));
		}
	} else {
		v = VERDICT_FAIL;
		bool by_net = !trusted_client &&
		    authlimit_failed(&d->limits, net, now, cfg->login_failures_per_client, window);
		bool by_acct = authlimit_failed(&d->limits, acct, now,
		    cfg->login_failures_per_account, window);
		if (by_net || by_acct) {
			ev_warn("login-blocked", KS("user", j->user), KS("client", j->ip),
			    KS("service", j->service), KS("scope", by_net && by_acct ? "client,account" :
			    by_net ? "client" : "account"), KN("duration", window));
			v = VERDICT_BLOCKED;
		}
	}
	/* The mail roles count their refusals (session/login.c); the web role's are counted here. */
	if (v != VERDICT_OK && !app_password_service_ok(j->service))
		metrics_auth_failed(j->service);
	reply_u64(j->c, v);
	conn_unref(j->c);
	explicit_bzero(j, sizeof *j);
	free(j);
}

static void
do_verify(struct lookupd *d, struct lk_conn *c, struct frame *in)
{
	struct verify_job *j = calloc(1, sizeof *j);
	char net[96], acct[ADDR_MAX + 8];
	time_t now = time(NULL);

	if (j == NULL) {
		reply_u64(c, VERDICT_TEMPFAIL);
		return;
	}
	if (!frame_get_str(in, j->user, sizeof j->user) ||
	    !frame_get_str(in, j->password, sizeof j->password) ||
	    !frame_get_str(in, j->ip, sizeof j->ip) ||
	    !frame_get_str(in, j->service, sizeof j->service) || !frame_end(in)) {
		explicit_bzero(j, sizeof *j);
		free(j);
		conn_close(c);
		return;
	}
	if (d->pending >= d->cfg->login_queue) {
		ev_warn("login-queue-full", KS("user", j->user), KS("client", j->ip),
		    KS("service", j->service), KN("waiting", d->pending));
		explicit_bzero(j, sizeof *j);
		free(j);
		reply_u64(c, VERDICT_BUSY);
		return;
	}
	authlimit_client_key(j->ip, net, sizeof net);
	verify_account_key(j->user, acct, sizeof acct);
	j->blocked = (!config_is_trusted_text(d->cfg, j->ip) && authlimit_blocked(&d->limits, net, now)) ||
	    authlimit_blocked(&d->limits, acct, now);
	int found = accounts_login_record(d->acct, j->user, &j->rec);
	if (found < 0) {
		explicit_bzero(j, sizeof *j);
		free(j);
		reply_u64(c, VERDICT_TEMPFAIL);
		return;
	}
	/* Unknown, blocked or passwordless: the same work as a real check, so timing tells nothing. */
	j->counts = found == 1 && j->password[0] != '\0';
	if (!j->counts || j->blocked) {
		snprintf(j->rec.hash, sizeof j->rec.hash, "%s", d->dummy_hash);
		j->rec.napps = 0;
	}
	/* App passwords are for mail clients: a web login (or any other) takes the main one only. */
	if (!app_password_service_ok(j->service))
		j->rec.napps = 0;
	j->c = c;
	c->refs++;
	d->pending++;
	if (workpool_submit(d->work, verify_work, verify_done, j) < 0) {
		d->pending--;
		c->refs--;
		explicit_bzero(j, sizeof *j);
		free(j);
		reply_u64(c, VERDICT_TEMPFAIL);
	}
}

/* ---- the web (httpd) ---- */

struct web_login_job {
	struct lk_conn *c;
	enum web_kind kind;
	char name[ADDR_MAX + 1];  /* canonical */
	char password[PASSWORD_MAX];
	char ip[64];
	char hash[PASSWORD_HASH_MAX];
	bool counts;             /* a real check: a failure is counted */
	bool blocked;
	bool suspended;
	bool ok;
};

/* web_allowed - the web's requests are httpd's alone (and root's): refused, logged, closed. */
static bool
web_allowed(struct lookupd *d, struct lk_conn *c, const char *what)
{
	if (c->uid == 0 || c->uid == d->httpd_uid)
		return true;
	ev_warn("lookup-refused", KS("request", what), KN("uid", c->uid),
	    KS("reason", "only the httpd role may ask"));
	struct frame *f = &d->out;
	frame_init(f, LK_ERROR);
	send_frame(c, f);
	return false;
}

/* web_account_key - the failure counter of a web principal: users share theirs with mail. */
static void
web_account_key(enum web_kind kind, const char *name, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s:%s", kind == WEB_ADMIN ? "admin" : "user", name);
}

static void
web_login_reply(struct lk_conn *c, enum lookup_verdict v, const char *sid, const char *name,
    const char *csrf)
{
	struct frame *f = &c->d->out;
	frame_init(f, LK_REPLY);
	frame_put_u64(f, v);
	frame_put_str(f, sid);
	frame_put_str(f, name);
	frame_put_str(f, csrf);
	send_frame(c, f);
	explicit_bzero(f->buf, f->len);
}

static int web_login_record(struct lookupd *d, struct web_login_job *j, const char *name);

/*
 * web_login_still - the principal is as it was when its password was checked: there,
 * the same hash, not suspended (a session must not outlive a change made meanwhile).
 */
static bool
web_login_still(struct lookupd *d, const struct web_login_job *j)
{
	struct web_login_job *now = calloc(1, sizeof *now);
	bool same = false;

	if (now == NULL)
		return false;
	now->kind = j->kind;
	if (web_login_record(d, now, j->name) == 1)
		same = !now->suspended && strcmp(now->hash, j->hash) == 0;
	explicit_bzero(now, sizeof *now);
	free(now);
	return same;
}

static void
web_login_work(void *arg)
{
	struct web_login_job *j = arg;
	j->ok = password_verify(j->password, j->hash);
	explicit_bzero(j->password, sizeof j->password);
}

static void
web_login_done(void *arg)
{
	struct web_login_job *j = arg;
	struct lookupd *d = j->c->d;
	const struct config *cfg = d->cfg;
	char net[96], acct[ADDR_MAX + 8], err[256];
	char sid[WEB_SID_LEN + 1] = "", csrf[WEB_CSRF_LEN + 1] = "";
	time_t now = time(NULL), window = (time_t)cfg->login_block_time;
	enum lookup_verdict v;
	const char *kind = j->kind == WEB_ADMIN ? "admin" : "user", *why = "credentials";

	d->pending--;
	authlimit_client_key(j->ip, net, sizeof net);
	web_account_key(j->kind, j->name, acct, sizeof acct);
	bool right = j->counts && j->ok;
	if (j->blocked) {
		v = VERDICT_BLOCKED;
	} else if (right && j->suspended) {
		v = VERDICT_SUSPENDED; /* not counted, as for mail (verify_done) */
	} else if (right) {
		authlimit_reset(&d->limits, acct);
		if (!web_login_still(d, j)) {
			/* changed while the password was checked: as if it had been first */
			why = "changed during the check";
			v = VERDICT_FAIL;
		} else if (accounts_session_new(d->acct, j->kind, j->name, now, sid, csrf, err,
		    sizeof err) < 0) {
			ev_err("web-login-error", KS("user", j->name), KS("client", j->ip), KS("kind", kind),
			    KS("error", err));
			v = VERDICT_TEMPFAIL;
		} else {
			ev_info("login", KS("user", j->name), KS("client", j->ip), KS("service", "web"),
			    KS("kind", kind));
			v = VERDICT_OK;
		}
	} else {
		v = VERDICT_FAIL;
		bool by_net = !config_is_trusted_text(cfg, j->ip) &&
		    authlimit_failed(&d->limits, net, now, cfg->login_failures_per_client, window);
		bool by_acct = authlimit_failed(&d->limits, acct, now,
		    cfg->login_failures_per_account, window);
		if (by_net || by_acct) {
			ev_warn("login-blocked", KS("user", j->name), KS("client", j->ip),
			    KS("service", "web"), KS("scope", by_net && by_acct ? "client,account" :
			    by_net ? "client" : "account"), KN("duration", window));
			v = VERDICT_BLOCKED;
		}
	}
	/* The mail roles log their own refusals (session/login.c); httpd's are logged here. */
	if (v == VERDICT_FAIL || v == VERDICT_BLOCKED || v == VERDICT_SUSPENDED)
		ev_info("login-failed", KS("user", j->name), KS("client", j->ip), KS("service", "web"),
		    KS("kind", kind), KS("reason", v == VERDICT_BLOCKED ? "blocked" :
		    v == VERDICT_SUSPENDED ? "suspended" : why));
	web_login_reply(j->c, v, v == VERDICT_OK ? sid : "", v == VERDICT_OK ? j->name : "",
	    v == VERDICT_OK ? csrf : "");
	explicit_bzero(sid, sizeof sid);
	conn_unref(j->c);
	explicit_bzero(j, sizeof *j);
	free(j);
}

/* web_login_record - the hash (and suspension) of the principal, canonical name in j. 1, 0, -1. */
static int
web_login_record(struct lookupd *d, struct web_login_job *j, const char *name)
{
	if (j->kind == WEB_ADMIN) {
		size_t i;
		if (!web_name_valid(name))
			return 0;
		for (i = 0; name[i] != '\0'; i++)
			j->name[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32 : name[i]);
		j->name[i] = '\0';
		return accounts_admin_hash(d->acct, j->name, j->hash, sizeof j->hash);
	}
	if (address_canonical(name, j->name, sizeof j->name, false) < 0)
		return 0;
	struct login_record *rec = malloc(sizeof *rec);
	if (rec == NULL)
		return -1;
	int found = accounts_login_record(d->acct, j->name, rec);
	if (found == 1) {
		snprintf(j->hash, sizeof j->hash, "%s", rec->hash);
		j->suspended = rec->suspended;
	}
	explicit_bzero(rec, sizeof *rec);
	free(rec);
	return found;
}

static void
do_web_login(struct lookupd *d, struct lk_conn *c, struct frame *in)
{
	struct web_login_job *j = calloc(1, sizeof *j);
	char kind[8], name[ADDR_MAX + 1], net[96], acct[ADDR_MAX + 8];
	time_t now = time(NULL);

	if (j == NULL) {
		web_login_reply(c, VERDICT_TEMPFAIL, "", "", "");
		return;
	}
	if (!frame_get_str(in, kind, sizeof kind) || !frame_get_str(in, name, sizeof name) ||
	    !frame_get_str(in, j->password, sizeof j->password) ||
	    !frame_get_str(in, j->ip, sizeof j->ip) || !frame_end(in) ||
	    (strcmp(kind, "admin") != 0 && strcmp(kind, "user") != 0)) {
		explicit_bzero(j, sizeof *j);
		free(j);
		conn_close(c);
		return;
	}
	if (!web_allowed(d, c, "LK_WEB_LOGIN")) {
		explicit_bzero(j, sizeof *j);
		free(j);
		return;
	}
	j->kind = strcmp(kind, "admin") == 0 ? WEB_ADMIN : WEB_USER;
	if (d->pending >= d->cfg->login_queue) {
		ev_warn("login-queue-full", KS("user", name), KS("client", j->ip), KS("service", "web"),
		    KN("waiting", d->pending));
		explicit_bzero(j, sizeof *j);
		free(j);
		web_login_reply(c, VERDICT_BUSY, "", "", "");
		return;
	}
	int found = web_login_record(d, j, name);
	if (found < 0) {
		explicit_bzero(j, sizeof *j);
		free(j);
		web_login_reply(c, VERDICT_TEMPFAIL, "", "", "");
		return;
	}
	if (found == 0)
		snprintf(j->name, sizeof j->name, "%s", name); /* counted under what was typed */
	authlimit_client_key(j->ip, net, sizeof net);
	web_account_key(j->kind, j->name, acct, sizeof acct);
	j->blocked = (!config_is_trusted_text(d->cfg, j->ip) &&
	    authlimit_blocked(&d->limits, net, now)) || authlimit_blocked(&d->limits, acct, now);
	/* Unknown, blocked or passwordless: the same work as a real check (do_verify). */
	j->counts = found == 1 && j->password[0] != '\0';
	if (!j->counts || j->blocked)
		snprintf(j->hash, sizeof j->hash, "%s", d->dummy_hash);
	j->c = c;
	c->refs++;
	d->pending++;
	if (workpool_submit(d->work, web_login_work, web_login_done, j) < 0) {
		d->pending--;
		c->refs--;
		explicit_bzero(j, sizeof *j);
		free(j);
		web_login_reply(c, VERDICT_TEMPFAIL, "", "", "");
	}
}

static void
do_web_who(struct lookupd *d, struct lk_conn *c, struct frame *in)
{
	char cred[128];
	struct web_who who;
	struct frame *f = &d->out;

	/* A longer credential than any we make is not one: unknown, not malformed. */
	if (!frame_get_str(in, cred, sizeof cred) || !frame_end(in))
		cred[0] = '\0';
	if (!web_allowed(d, c, "LK_WEB_WHO"))
		return;
	int r = accounts_web_who(d->acct, cred, time(NULL), &who);
	explicit_bzero(cred, sizeof cred);
	frame_init(f, LK_REPLY);
	frame_put_u64(f, r < 0 ? 2 : (uint64_t)r);
	frame_put_u64(f, r == 1 ? who.kind : WEB_NOBODY);
	frame_put_str(f, r == 1 ? who.name : "");
	frame_put_str(f, r == 1 ? who.csrf : "");
	send_frame(c, f);
	explicit_bzero(&who, sizeof who);
}

static void
do_web_logout(struct lookupd *d, struct lk_conn *c, struct frame *in)
{
	char sid[128];

	if (!frame_get_str(in, sid, sizeof sid) || !frame_end(in))
		sid[0] = '\0';
	if (!web_allowed(d, c, "LK_WEB_LOGOUT"))
		return;
	if (accounts_session_end(d->acct, sid) < 0)
		ev_err("store-error", KS("what", "web-logout"));
	explicit_bzero(sid, sizeof sid);
	reply_u64(c, 0);
}

static void
web_op_reply(struct lk_conn *c, uint64_t status, const char *json)
{
	struct frame *f = &c->d->out;
	frame_init(f, LK_REPLY);
	frame_put_u64(f, status);
	frame_put_str(f, json);
	if (f->bad) {
		ev_err("web-op-error", KS("error", "the answer does not fit a frame"),
		    KN("size", strlen(json)));
		frame_init(f, LK_REPLY);
		frame_put_u64(f, 500);
		frame_put_str(f, "{\"error\":\"the answer is too large\"}");
	}
	send_frame(c, f);
	explicit_bzero(f->buf, f->len);
}

/* op_changes - whether op changes something (logged when done), by its last word. */
static bool
op_changes(const char *op)
{
	const char *last = strrchr(op, '.');
	return last != NULL && strcmp(last, ".list") != 0 && strcmp(last, ".show") != 0 &&
	    strcmp(last, ".records") != 0;
}

/*
 * web_op_run - the operation for the principal of cred. A wrong old password of
 * self.passwd counts as a failed login of the user (a stolen session must not
 * make a password guesser); while the account is blocked, it is not checked.
 */
static int
web_op_run(struct lookupd *d, const char *cred, const char *op, const char *const *args,
    size_t n, struct buf *json)
{
	struct web_who who;
	char acct[ADDR_MAX + 8];
	time_t now = time(NULL), window = (time_t)d->cfg->login_block_time;
	int r = accounts_web_who(d->acct, cred, now, &who);

	if (r < 0) {
		buf_reset(json);
		buf_printf(json, "{\"error\":\"the account store failed\"}");
		return 500;
	}
	if (r == 0)
		memset(&who, 0, sizeof who); /* web_ops_run answers 401 */
	bool passwd = r == 1 && who.kind == WEB_USER && strcmp(op, "self.passwd") == 0;
	web_account_key(who.kind, who.name, acct, sizeof acct);
	if (passwd && authlimit_blocked(&d->limits, acct, now)) {
		buf_reset(json);
		buf_printf(json, "{\"error\":\"too many failed logins: try again later\"}");
		return 403;
	}
	int status = web_ops_run(d->acct, d->cfg, &who, op, args, n, json);
	if (passwd && status == 403 &&
	    authlimit_failed(&d->limits, acct, now, d->cfg->login_failures_per_account, window))
		ev_warn("login-blocked", KS("user", who.name), KS("service", "web"),
		    KS("scope", "account"), KN("duration", window));
	if (status >= 500)
		ev_err("web-op-error", KS("op", op), KS("user", who.name), KN("status", status));
	else if (status < 300 && op_changes(op))
		ev_info("web-op", KS("op", op), KS("user", who.name),
		    KS("kind", who.kind == WEB_ADMIN ? "admin" : "user"), KN("status", status));
	explicit_bzero(&who, sizeof who);
	return status;
}

static void
do_web_op(struct lookupd *d, struct lk_conn *c, struct frame *in)
{
	char cred[128], op[64];
	char *args[WEB_ARGS_MAX] = { 0 };
	uint64_t n = 0;
	size_t got = 0;
	struct buf json = { 0 };
	bool ok = frame_get_str(in, cred, sizeof cred) && frame_get_str(in, op, sizeof op) &&
	    frame_get_u64(in, &n) && n <= WEB_ARGS_MAX;

	for (; ok && got < n; got++)
		ok = frame_get_str(in, d->web_arg, FRAME_MAX) &&
		    (args[got] = strdup(d->web_arg)) != NULL;
	explicit_bzero(d->web_arg, FRAME_MAX);
	if (!ok || !frame_end(in)) {
		conn_close(c);
		goto out;
	}
	if (!web_allowed(d, c, "LK_WEB_OP"))
		goto out;
	int status = web_op_run(d, cred, op, (const char *const *)args, (size_t)n, &json);
	web_op_reply(c, (uint64_t)status, json.data ? json.data : "{\"error\":\"failed\"}");
out:
	explicit_bzero(cred, sizeof cred);
	for (size_t i = 0; i < got; i++) {
		if (args[i] != NULL) {
			explicit_bzero(args[i], strlen(args[i]));
			free(args[i]);
		}
	}
	if (json.data != NULL)
		explicit_bzero(json.data, json.cap);
	buf_free(&json);
}

static void
on_request(evutil_socket_t fd, short what, void *arg)
{
	struct lk_conn *c = arg;
	struct lookupd *d = c->d;
	uint16_t type;

	/* Straight into the frame; MSG_TRUNC tells a longer one, which no request is. */
	ssize_t n = recv(fd, d->in.buf, sizeof d->in.buf, MSG_DONTWAIT | MSG_TRUNC);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0 || (size_t)n > sizeof d->in.buf ||
	    frame_parse(&d->in, d->in.buf, (size_t)n, &type) < 0) {
		conn_close(c);
		return;
	}
	switch (type) {
	case LK_RESOLVE:
		do_resolve(d, c, &d->in);
		break;
	case LK_OWNS:
		do_owns(d, c, &d->in);
		break;
	case LK_QUOTA:
		do_quota(d, c, &d->in);
		break;
	case LK_DOMAINS:
		do_domains(d, c, &d->in);
		break;
	case LK_VERIFY:
		do_verify(d, c, &d->in);
		break;
	case LK_DKIM_KEYS:
		do_dkim_keys(d, c, &d->in);
		break;
	case LK_DKIM_SIGN:
		do_dkim_sign(d, c, &d->in);
		break;
	case LK_SRS_FORWARD:
		do_srs_forward(d, c, &d->in);
		break;
	case LK_GREYLIST:
		do_greylist(d, c, &d->in);
		break;
	case LK_GREYLIST_TRUST:
		do_greylist_trust(d, c, &d->in);
		break;
	case LK_SENDS_COUNT:
		do_sends_count(d, c, &d->in);
		break;
	case LK_VACATION_GET:
		do_vacation_get(d, c, &d->in);
		break;
	case LK_VACATION_REPLY:
		do_vacation_reply(d, c, &d->in);
		break;
	case LK_WEB_LOGIN:
		do_web_login(d, c, &d->in);
		break;
	case LK_WEB_WHO:
		do_web_who(d, c, &d->in);
		break;
	case LK_WEB_LOGOUT:
		do_web_logout(d, c, &d->in);
		break;
	case LK_WEB_OP:
		do_web_op(d, c, &d->in);
		break;
	default:
		ev_warn("lookup-malformed", KN("type", type));
		conn_close(c);
	}
	explicit_bzero(d->in.buf, d->in.len);
}

/* peer_allowed - root, our own uid, or a role in the mail group. */
static bool
peer_allowed(int fd, gid_t mail_gid, uid_t *uid)
{
	struct ucred cr;
	socklen_t len = sizeof cr;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return false;
	*uid = cr.uid;
	return cr.uid == 0 || cr.uid == geteuid() || cr.gid == mail_gid;
}

static void
on_accept(struct evconnlistener *el, evutil_socket_t fd, struct sockaddr *sa, int salen,
    void *arg)
{
	struct lookupd *d = arg;
	uid_t uid = (uid_t)-1;

	if (!peer_allowed(fd, d->mail_gid, &uid)) {
		ev_warn("lookup-refused", KN("uid", uid == (uid_t)-1 ? -1L : (long)uid),
		    KS("reason", "not a mail role"));
		close(fd);
		return;
	}
	if (d->nconns >= CONNS_MAX) {
		ev_warn("lookup-refused", KN("uid", uid), KS("reason", "too many connections"),
		    KN("open", d->nconns));
		close(fd);
		return;
	}
	struct lk_conn *c = calloc(1, sizeof *c);
	if (c == NULL) {
		close(fd);
		return;
	}
	c->d = d;
	c->fd = fd;
	c->uid = uid;
	c->refs = 1;
	c->ev = event_new(d->base, fd, EV_READ | EV_PERSIST, on_request, c);
	if (c->ev == NULL || event_add(c->ev, NULL) < 0) {
		if (c->ev)
			event_free(c->ev);
		close(fd);
		free(c);
		return;
	}
	c->next = d->conns;
	if (d->conns)
		d->conns->prev = c;
	d->conns = c;
	d->nconns++;
}

/*
 * grey_expire - forget greylisting rows past their time, and the senders that
 * vacations answered longer than vacation_interval ago (at start, then hourly).
 */
static void
grey_expire(struct lookupd *d)
{
	int n = accounts_greylist_expire(d->acct, d->cfg->greylist_delay, time(NULL));
	if (n > 0)
		ev_info("greylist-expired", KN("removed", n));
	n = accounts_vacation_expire(d->acct, d->cfg->vacation_interval, time(NULL));
	if (n > 0)
		ev_info("vacation-expired", KN("removed", n));
}

static void
on_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct lookupd *d = arg;
	time_t now = time(NULL);
	authlimit_expire(&d->limits, now, (time_t)d->cfg->login_block_time);
	if (accounts_sessions_expire(d->acct, now) < 0)
		ev_err("store-error", KS("what", "web-sessions-expiry"));
	if (++d->sweeps >= GREY_EXPIRE_SWEEPS) {
		d->sweeps = 0;
		grey_expire(d);
	}
}

int
lookupd_main(const struct role_env *env)
{
	struct lookupd *d = calloc(1, sizeof *d);
	struct role_control control = { 0 };
	char err[512];
	int rc = 1;

	if (d == NULL)
		return 1;
	d->cfg = env->cfg;
	d->mail_gid = env->mail_gid;
	d->mail_uid = env->mail_uid;
	d->httpd_uid = env->httpd_uid;
	if ((d->dkim_data = malloc(LK_DKIM_DATA_MAX + 1)) == NULL ||
	    (d->web_arg = malloc(FRAME_MAX)) == NULL)
		goto out;
	if (role_begin("lookupd", env, &d->base, NULL) < 0)
		goto out;
	if ((d->acct = accounts_open(d->cfg->data_dir, true, err, sizeof err)) == NULL) {
		ev_err("start-failed", KS("error", err));
		goto out;
	}
	role_dummy_hash(d->dummy_hash, sizeof d->dummy_hash);
	grey_expire(d);
	if ((d->work = workpool_new(d->base, VERIFY_THREADS)) == NULL)
		goto out;
	if (role_control_start(&control, d->base, env->ctl_fd, &d->cfg, NULL) < 0)
		goto out;
	evutil_make_socket_nonblocking(env->lookup_fd);
	/* Backlog 0: already listening. Listening again would make lookupd, not root,
	 * the credentials that clients check. */
	d->listener = evconnlistener_new(d->base, on_accept, d, LEV_OPT_CLOSE_ON_FREE, 0,
	    env->lookup_fd);
	if (d->listener == NULL)
		goto out;
	struct timeval tv = { SWEEP_INTERVAL, 0 };
	if ((d->sweep = event_new(d->base, -1, EV_PERSIST, on_sweep, d)) == NULL ||
	    event_add(d->sweep, &tv) < 0)
		goto out;
	role_run(d->base, SANDBOX_LOOKUPD, "lookupd", d->cfg);
	rc = 0;
out:
	if (d->listener)
		evconnlistener_free(d->listener);
	workpool_free(d->work); /* runs the last completions, which still use connections */
	while (d->conns) {
		struct lk_conn *c = d->conns;
		c->refs = 1;
		if (c->dead) {
			conn_unref(c);
		} else {
			conn_close(c);
		}
	}
	if (d->sweep)
		event_free(d->sweep);
	role_control_free(&control);
	authlimit_free(&d->limits);
	role_end(d->base, d->acct, d->cfg);
	free(d->dkim_data);
	free(d->web_arg);
	free(d);
	return rc;
}
