/*
 * lookupd_login.c - logins checked by lookupd (lookupd_int.h), and the web's
 * requests. The password hash never leaves this process. A login goes in three
 * steps: its record read on a store worker, the password checked on a thread of
 * the password pool (bounded by login_queue), and the verdict made and recorded
 * on a store worker again. Failures are counted per client network and per
 * account across every connection and service (authlimit.h). A login may use
 * the main password or, for the mail services, an app password; a suspended user
 * is refused either way (accounts_users.h). The web's requests (logins that open
 * sessions, who a session is, the operations of web/web_ops.h) are answered only
 * to root and the httpd role.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "accounts.h"
#include "accounts_users.h"
#include "accounts_web.h"
#include "app_password.h"
#include "lookup/lookup_proto.h"
#include "lookup/lookupd_int.h"
#include "metrics/metrics.h"
#include "password.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/workpool.h"
#include "web/web_ops.h"

#define PASSWORD_MAX 512

/* ---- the mail services ---- */

struct verify_job {
	struct lk_req *r;
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

/* pending_take - one more login waiting, unless login_queue are (*waiting) or lookupd stops. */
static bool
pending_take(struct lookupd *d, unsigned *waiting)
{
	pthread_mutex_lock(&d->mu);
	bool ok = !d->stopping && d->pending < d->cfg->login_queue;
	*waiting = d->pending;
	if (ok)
		d->pending++;
	pthread_mutex_unlock(&d->mu);
	return ok;
}

static void
pending_give(struct lookupd *d)
{
	pthread_mutex_lock(&d->mu);
	d->pending--;
	pthread_mutex_unlock(&d->mu);
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

/* verify_finish - on a store worker: the verdict, counted, the app password's use noted. */
static void
verify_finish(struct lk_ctx *x, void *arg)
{
	struct verify_job *j = arg;
	struct lookupd *d = x->d;
	const struct config *cfg = d->cfg;
	char net[96], acct[ADDR_MAX + 8];
	time_t now = time(NULL), window = (time_t)cfg->login_block_time;
	enum lookup_verdict v;
	bool trusted_client = config_is_trusted_text(cfg, j->ip);

	pending_give(d);
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
		lim_reset(d, acct);
		if (!j->ok) {
			ev_info("app-password-used", KS("user", j->user), KS("app", j->rec.app_name[j->app]),
			    KS("client", j->ip), KS("service", j->service));
			if (accounts_app_password_used(x->acct, j->user, j->rec.app_name[j->app], now) < 0)
				ev_warn("app-password-error", KS("user", j->user),
				    KS("app", j->rec.app_name[j->app]));
		}
	} else {
		v = VERDICT_FAIL;
		bool by_net = !trusted_client &&
		    lim_failed(d, net, now, cfg->login_failures_per_client, window);
		bool by_acct = lim_failed(d, acct, now, cfg->login_failures_per_account, window);
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
	reply_u64(j->r, v);
}

static void
verify_free(struct verify_job *j)
{
	explicit_bzero(j, sizeof *j);
	free(j);
}

static void
verify_done(void *arg)
{
	struct verify_job *j = arg;

	req_finish(j->r);
	verify_free(j);
}

/* verify_hashed - on the loop, the password checked: the verdict on a store worker. */
static void
verify_hashed(void *arg)
{
	struct verify_job *j = arg;
	struct lookupd *d = j->r->d;

	if (store_submit(d, verify_finish, verify_done, j) == 0)
		return;
	pending_give(d);
	reply_u64(j->r, VERDICT_TEMPFAIL);
	verify_done(j);
}

void
do_verify(struct lk_ctx *x, struct lk_req *r)
{
	struct lookupd *d = x->d;
	struct verify_job *j = calloc(1, sizeof *j);
	char net[96], acct[ADDR_MAX + 8];
	time_t now = time(NULL);

	if (j == NULL) {
		reply_u64(r, VERDICT_TEMPFAIL);
		return;
	}
	if (!frame_get_str(&r->in, j->user, sizeof j->user) ||
	    !frame_get_str(&r->in, j->password, sizeof j->password) ||
	    !frame_get_str(&r->in, j->ip, sizeof j->ip) ||
	    !frame_get_str(&r->in, j->service, sizeof j->service) || !frame_end(&r->in)) {
		verify_free(j);
		r->act = ACT_CLOSE;
		return;
	}
	unsigned waiting;
	if (!pending_take(d, &waiting)) {
		ev_warn("login-queue-full", KS("user", j->user), KS("client", j->ip),
		    KS("service", j->service), KN("waiting", waiting));
		verify_free(j);
		reply_u64(r, VERDICT_BUSY);
		return;
	}
	authlimit_client_key(j->ip, net, sizeof net);
	verify_account_key(j->user, acct, sizeof acct);
	j->blocked = (!config_is_trusted_text(d->cfg, j->ip) && lim_blocked(d, net, now)) ||
	    lim_blocked(d, acct, now);
	int found = accounts_login_record(x->acct, j->user, &j->rec);
	if (found < 0) {
		/* The store is failing: a temporary refusal, as 454 / -ERR [SYS/TEMP] say it. */
		pending_give(d);
		verify_free(j);
		reply_u64(r, VERDICT_TEMPFAIL);
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
	j->r = r;
	if (workpool_submit(d->work, verify_work, verify_hashed, j) < 0) {
		pending_give(d);
		verify_free(j);
		reply_u64(r, VERDICT_TEMPFAIL);
		return;
	}
	r->act = ACT_LATER;
}

/* ---- the web (httpd) ---- */

struct web_login_job {
	struct lk_req *r;
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

/* web_allowed - the web's requests are httpd's alone (and root's): refused and logged. */
static bool
web_allowed(struct lk_ctx *x, struct lk_req *r, const char *what)
{
	if (r->uid == 0 || r->uid == x->d->httpd_uid)
		return true;
	ev_warn("lookup-refused", KS("request", what), KN("uid", r->uid),
	    KS("reason", "only the httpd role may ask"));
	refused(r);
	return false;
}

/* web_account_key - the failure counter of a web principal: users share theirs with mail. */
static void
web_account_key(enum web_kind kind, const char *name, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s:%s", kind == WEB_ADMIN ? "admin" : "user", name);
}

static void
web_login_reply(struct lk_req *r, enum lookup_verdict v, const char *sid, const char *name,
    const char *csrf)
{
	frame_init(&r->out, LK_REPLY);
	frame_put_u64(&r->out, v);
	frame_put_str(&r->out, sid);
	frame_put_str(&r->out, name);
	frame_put_str(&r->out, csrf);
	r->act = ACT_SEND;
}

/* web_login_record - the hash (and suspension) of the principal, canonical name in j. 1, 0, -1. */
static int
web_login_record(struct accounts *a, struct web_login_job *j, const char *name)
{
	if (j->kind == WEB_ADMIN) {
		size_t i;
		if (!web_name_valid(name))
			return 0;
		for (i = 0; name[i] != '\0'; i++)
			j->name[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32 : name[i]);
		j->name[i] = '\0';
		return accounts_admin_hash(a, j->name, j->hash, sizeof j->hash);
	}
	if (address_canonical(name, j->name, sizeof j->name, false) < 0)
		return 0;
	struct login_record *rec = malloc(sizeof *rec);
	if (rec == NULL)
		return -1;
	int found = accounts_login_record(a, j->name, rec);
	if (found == 1) {
		snprintf(j->hash, sizeof j->hash, "%s", rec->hash);
		j->suspended = rec->suspended;
	}
	explicit_bzero(rec, sizeof *rec);
	free(rec);
	return found;
}

/*
 * web_login_still - the principal is as it was when its password was checked: there,
 * the same hash, not suspended (a session must not outlive a change made meanwhile).
 */
static bool
web_login_still(struct accounts *a, const struct web_login_job *j)
{
	struct web_login_job *now = calloc(1, sizeof *now);
	bool same = false;

	if (now == NULL)
		return false;
	now->kind = j->kind;
	if (web_login_record(a, now, j->name) == 1)
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

/* web_login_finish - on a store worker: the verdict, and the session it opens. */
static void
web_login_finish(struct lk_ctx *x, void *arg)
{
	struct web_login_job *j = arg;
	struct lookupd *d = x->d;
	const struct config *cfg = d->cfg;
	char net[96], acct[ADDR_MAX + 8], err[256];
	char sid[WEB_SID_LEN + 1] = "", csrf[WEB_CSRF_LEN + 1] = "";
	time_t now = time(NULL), window = (time_t)cfg->login_block_time;
	enum lookup_verdict v;
	const char *kind = j->kind == WEB_ADMIN ? "admin" : "user", *why = "credentials";

	pending_give(d);
	authlimit_client_key(j->ip, net, sizeof net);
	web_account_key(j->kind, j->name, acct, sizeof acct);
	bool right = j->counts && j->ok;
	if (j->blocked) {
		v = VERDICT_BLOCKED;
	} else if (right && j->suspended) {
		v = VERDICT_SUSPENDED; /* not counted, as for mail (verify_finish) */
	} else if (right) {
		lim_reset(d, acct);
		if (!web_login_still(x->acct, j)) {
			/* changed while the password was checked: as if it had been first */
			why = "changed during the check";
			v = VERDICT_FAIL;
		} else if (accounts_session_new(x->acct, j->kind, j->name, now, sid, csrf, err,
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
		    lim_failed(d, net, now, cfg->login_failures_per_client, window);
		bool by_acct = lim_failed(d, acct, now, cfg->login_failures_per_account, window);
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
	web_login_reply(j->r, v, v == VERDICT_OK ? sid : "", v == VERDICT_OK ? j->name : "",
	    v == VERDICT_OK ? csrf : "");
	explicit_bzero(sid, sizeof sid);
}

static void
web_login_free(struct web_login_job *j)
{
	explicit_bzero(j, sizeof *j);
	free(j);
}

static void
web_login_done(void *arg)
{
	struct web_login_job *j = arg;

	req_finish(j->r);
	web_login_free(j);
}

static void
web_login_hashed(void *arg)
{
	struct web_login_job *j = arg;
	struct lookupd *d = j->r->d;

	if (store_submit(d, web_login_finish, web_login_done, j) == 0)
		return;
	pending_give(d);
	web_login_reply(j->r, VERDICT_TEMPFAIL, "", "", "");
	web_login_done(j);
}

void
do_web_login(struct lk_ctx *x, struct lk_req *r)
{
	struct lookupd *d = x->d;
	struct web_login_job *j = calloc(1, sizeof *j);
	char kind[8], name[ADDR_MAX + 1], net[96], acct[ADDR_MAX + 8];
	time_t now = time(NULL);

	if (j == NULL) {
		web_login_reply(r, VERDICT_TEMPFAIL, "", "", "");
		return;
	}
	if (!frame_get_str(&r->in, kind, sizeof kind) || !frame_get_str(&r->in, name, sizeof name) ||
	    !frame_get_str(&r->in, j->password, sizeof j->password) ||
	    !frame_get_str(&r->in, j->ip, sizeof j->ip) || !frame_end(&r->in) ||
	    (strcmp(kind, "admin") != 0 && strcmp(kind, "user") != 0)) {
		web_login_free(j);
		r->act = ACT_CLOSE;
		return;
	}
	if (!web_allowed(x, r, "LK_WEB_LOGIN")) {
		web_login_free(j);
		return;
	}
	j->kind = strcmp(kind, "admin") == 0 ? WEB_ADMIN : WEB_USER;
	unsigned waiting;
	if (!pending_take(d, &waiting)) {
		ev_warn("login-queue-full", KS("user", name), KS("client", j->ip), KS("service", "web"),
		    KN("waiting", waiting));
		web_login_free(j);
		web_login_reply(r, VERDICT_BUSY, "", "", "");
		return;
	}
	int found = web_login_record(x->acct, j, name);
	if (found < 0) {
		pending_give(d);
		web_login_free(j);
		web_login_reply(r, VERDICT_TEMPFAIL, "", "", "");
		return;
	}
	if (found == 0)
		snprintf(j->name, sizeof j->name, "%s", name); /* counted under what was typed */
	authlimit_client_key(j->ip, net, sizeof net);
	web_account_key(j->kind, j->name, acct, sizeof acct);
	j->blocked = (!config_is_trusted_text(d->cfg, j->ip) && lim_blocked(d, net, now)) ||
	    lim_blocked(d, acct, now);
	/* Unknown, blocked or passwordless: the same work as a real check (do_verify). */
	j->counts = found == 1 && j->password[0] != '\0';
	if (!j->counts || j->blocked)
		snprintf(j->hash, sizeof j->hash, "%s", d->dummy_hash);
	j->r = r;
	if (workpool_submit(d->work, web_login_work, web_login_hashed, j) < 0) {
		pending_give(d);
		web_login_free(j);
		web_login_reply(r, VERDICT_TEMPFAIL, "", "", "");
		return;
	}
	r->act = ACT_LATER;
}

void
do_web_who(struct lk_ctx *x, struct lk_req *r)
{
	char cred[128];
	struct web_who who;

	/* A longer credential than any we make is not one: unknown, not malformed. */
	if (!frame_get_str(&r->in, cred, sizeof cred) || !frame_end(&r->in))
		cred[0] = '\0';
	if (!web_allowed(x, r, "LK_WEB_WHO"))
		return;
	int n = accounts_web_who(x->acct, cred, time(NULL), &who);
	explicit_bzero(cred, sizeof cred);
	frame_init(&r->out, LK_REPLY);
	frame_put_u64(&r->out, n < 0 ? 2 : (uint64_t)n);
	frame_put_u64(&r->out, n == 1 ? who.kind : WEB_NOBODY);
	frame_put_str(&r->out, n == 1 ? who.name : "");
	frame_put_str(&r->out, n == 1 ? who.csrf : "");
	r->act = ACT_SEND;
	explicit_bzero(&who, sizeof who);
}

void
do_web_logout(struct lk_ctx *x, struct lk_req *r)
{
	char sid[128];

	if (!frame_get_str(&r->in, sid, sizeof sid) || !frame_end(&r->in))
		sid[0] = '\0';
	if (!web_allowed(x, r, "LK_WEB_LOGOUT"))
		return;
	if (accounts_session_end(x->acct, sid) < 0)
		ev_err("store-error", KS("what", "web-logout"));
	explicit_bzero(sid, sizeof sid);
	reply_u64(r, 0);
}

static void
web_op_reply(struct lk_req *r, uint64_t status, const char *json)
{
	struct frame *f = &r->out;
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
	r->act = ACT_SEND;
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
web_op_run(struct lk_ctx *x, const char *cred, const char *op, const char *const *args,
    size_t n, struct buf *json)
{
	struct lookupd *d = x->d;
	struct web_who who;
	char acct[ADDR_MAX + 8];
	time_t now = time(NULL), window = (time_t)d->cfg->login_block_time;
	int r = accounts_web_who(x->acct, cred, now, &who);

	if (r < 0) {
		buf_reset(json);
		buf_printf(json, "{\"error\":\"the account store failed\"}");
		return 500;
	}
	if (r == 0)
		memset(&who, 0, sizeof who); /* web_ops_run answers 401 */
	bool passwd = r == 1 && who.kind == WEB_USER && strcmp(op, "self.passwd") == 0;
	web_account_key(who.kind, who.name, acct, sizeof acct);
	if (passwd && lim_blocked(d, acct, now)) {
		buf_reset(json);
		buf_printf(json, "{\"error\":\"too many failed logins: try again later\"}");
		return 403;
	}
	int status = web_ops_run(x->acct, d->cfg, &who, op, args, n, json);
	if (passwd && status == 403 &&
	    lim_failed(d, acct, now, d->cfg->login_failures_per_account, window))
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

void
do_web_op(struct lk_ctx *x, struct lk_req *r)
{
	char cred[128], op[64];
	char *args[WEB_ARGS_MAX] = { 0 };
	char *arg = x->slot->web_arg;
	uint64_t n = 0;
	size_t got = 0;
	struct buf json = { 0 };
	bool ok = frame_get_str(&r->in, cred, sizeof cred) && frame_get_str(&r->in, op, sizeof op) &&
	    frame_get_u64(&r->in, &n) && n <= WEB_ARGS_MAX;

	for (; ok && got < n; got++)
		ok = frame_get_str(&r->in, arg, FRAME_MAX) && (args[got] = strdup(arg)) != NULL;
	explicit_bzero(arg, FRAME_MAX);
	if (!ok || !frame_end(&r->in)) {
		r->act = ACT_CLOSE;
		goto out;
	}
	if (!web_allowed(x, r, "LK_WEB_OP"))
		goto out;
	int status = web_op_run(x, cred, op, (const char *const *)args, (size_t)n, &json);
	web_op_reply(r, (uint64_t)status, json.data ? json.data : "{\"error\":\"failed\"}");
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
