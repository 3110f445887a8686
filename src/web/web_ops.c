/*
 * web_ops.c - the web operations (web_ops.h): a table of who may run what with
 * how many arguments, and one function per operation that calls the store and
 * builds its answer with jansson. Failures of the store are mapped to statuses
 * by their kind (accounts_last_error), never by their text.
 */
#include "web/web_ops.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "accounts_users.h"
#include "accounts_web.h"
#include "accounts_vacation.h"
#include "app_password.h"
#include "cli/dns_zone.h"
#include "dkim/dkim_key.h"
#include "password.h"
#include "util/units.h"

/* One operation under way. */
struct op_ctx {
	struct accounts *a;
	const struct config *cfg;
	const struct web_who *who;
	const char *const *args;
	size_t nargs;
	json_t *out;     /* the answer's object */
	char err[1024];  /* the error line, when the status is not 2xx */
	bool oom;        /* a JSON value could not be made */
	time_t now;
};

typedef int (*op_fn)(struct op_ctx *c);

/* ---- answers ---- */

/* put - out[key] = v (taken); a NULL v or a failure marks c->oom. */
static void
put(struct op_ctx *c, json_t *obj, const char *key, json_t *v)
{
	if (v == NULL || obj == NULL || json_object_set_new(obj, key, v) < 0)
		c->oom = true;
}

static void
push(struct op_ctx *c, json_t *arr, json_t *v)
{
	if (v == NULL || arr == NULL || json_array_append_new(arr, v) < 0)
		c->oom = true;
}

/* str - a JSON string of s; text from the store is UTF-8, anything else fails here. */
static json_t *
str(const char *s)
{
	return json_string(s);
}

static int
fail(struct op_ctx *c, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int
fail(struct op_ctx *c, int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof c->err, fmt, ap);
	va_end(ap);
	return status;
}

/* store_fail - the status of the store's failure just met, its line kept. */
static int
store_fail(struct op_ctx *c)
{
	switch (accounts_last_error()) {
	case ACCT_ERR_INVALID: return 400;
	case ACCT_ERR_NOT_FOUND: return 404;
	case ACCT_ERR_EXISTS:
	case ACCT_ERR_CONFLICT: return 409;
	case ACCT_ERR_NONE:
	case ACCT_ERR_STORE: break;
	}
	return 500;
}

/* call - the status of an accounts_* call's result r (0 or -1): ok_status, or its failure. */
static int
call(struct op_ctx *c, int r, int ok_status)
{
	return r < 0 ? store_fail(c) : ok_status;
}

/* canon - the canonical address of a into out, or 400. */
static int
canon(struct op_ctx *c, const char *a, char out[ADDR_MAX + 1])
{
	if (address_canonical(a, out, ADDR_MAX + 1, false) < 0)
		return fail(c, 400, "malformed address: %s", a);
	return 0;
}

/* canon_domain - d lower-cased into out, or 400. */
static int
canon_dom(struct op_ctx *c, const char *d, char out[ADDR_DOMAIN_MAX + 1])
{
	size_t n = strlen(d);

	if (n == 0 || n > ADDR_DOMAIN_MAX || !domain_valid(d))
		return fail(c, 400, "malformed domain: %s", d);
	for (size_t i = 0; i <= n; i++)
		out[i] = (char)(d[i] >= 'A' && d[i] <= 'Z' ? d[i] + 32 : d[i]);
	return 0;
}

/* strings - a JSON array of l's strings. */
static json_t *
strings(struct op_ctx *c, const struct strlist *l)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr != NULL && i < l->n; i++)
		push(c, arr, str(l->v[i]));
	if (arr == NULL)
		c->oom = true;
	return arr;
}

/* ---- users ---- */

/* need_user - 0 when address (canonical) is a user; else 404 or 500. */
static int
need_user(struct op_ctx *c, const char *address)
{
	uint64_t q;
	int r = accounts_user_quota(c->a, address, &q);

	if (r < 0)
		return fail(c, 500, "the account store failed");
	return r == 0 ? fail(c, 404, "no such user: %s", address) : 0;
}

/* forward_of - the forward of address: {"targets": [...], "keep": bool}, JSON null if none. */
static json_t *
forward_of(struct op_ctx *c, const char *address, int *status)
{
	struct strlist t = { 0 };
	int r = accounts_alias_targets(c->a, address, &t, c->err, sizeof c->err);

	*status = 0;
	if (r < 0) {
		*status = store_fail(c);
		return NULL;
	}
	if (r == 0)
		return json_null();
	json_t *fw = json_object(), *targets = json_array();
	bool keep = false;
	for (size_t i = 0; i < t.n; i++) {
		if (strcasecmp(t.v[i], address) == 0)
			keep = true;
		else
			push(c, targets, str(t.v[i]));
	}
	put(c, fw, "targets", targets);
	put(c, fw, "keep", json_boolean(keep));
	strlist_free(&t);
	return fw;
}

/*
 * vacation_of - the vacation of address: {"subject", "body", "until" ("YYYY-MM-DD"
 * or ""), "active"}, JSON null if none.
 */
static json_t *
vacation_of(struct op_ctx *c, const char *address, int *status)
{
	struct vacation_info *v = malloc(sizeof *v);

	*status = 0;
	if (v == NULL || accounts_vacation_get(c->a, address, v, c->err, sizeof c->err) < 0) {
		free(v);
		*status = fail(c, 500, "the account store failed");
		return NULL;
	}
	if (!v->found) {
		free(v);
		return json_null();
	}
	char until[16] = "";
	if (v->until != 0)
		vacation_day_format(v->until, until, sizeof until);
	json_t *o = json_object();
	put(c, o, "subject", str(v->subject));
	put(c, o, "body", str(v->body));
	put(c, o, "until", str(until));
	put(c, o, "active", json_boolean(vacation_active(v, c->now)));
	free(v);
	return o;
}

/* vacation_set - address's vacation: subject, body, and until "YYYY-MM-DD" or "". */
static int
vacation_set(struct op_ctx *c, const char *address, const char *subject, const char *body,
    const char *until_s)
{
	char addr[ADDR_MAX + 1];
	time_t until = 0;
	int st;

	if ((st = canon(c, address, addr)) != 0 || (st = need_user(c, addr)) != 0)
		return st;
	if (until_s[0] != '\0' && !vacation_day_parse(until_s, &until))
		return fail(c, 400, "bad date for until: '%.40s' (YYYY-MM-DD)", until_s);
	if (until != 0 && until <= c->now)
		return fail(c, 400, "until %s is in the past", until_s);
	if (vacation_text_check(subject, body, strlen(body), c->err, sizeof c->err) != 0)
		return 400;
	if (accounts_vacation_set(c->a, addr, subject, body, until, c->err, sizeof c->err) < 0)
		return 500;
	put(c, c->out, "address", str(addr));
	return 200;
}

static int
vacation_off(struct op_ctx *c, const char *address)
{
	char addr[ADDR_MAX + 1];
	int st;

	if ((st = canon(c, address, addr)) != 0 || (st = need_user(c, addr)) != 0)
		return st;
	return accounts_vacation_off(c->a, addr, c->err, sizeof c->err) < 0 ? 500 : 200;
}

/* limit_value - a user's own limit, or null for the default. */
static json_t *
limit_value(int64_t v)
{
	return v < 0 ? json_null() : json_integer(v);
}

/* app_passwords - [{"name","created","last_used"}] of address. */
static json_t *
app_passwords(struct op_ctx *c, const char *address, int *status)
{
	struct strlist l = { 0 };

	*status = 0;
	if (accounts_app_password_list(c->a, address, &l, c->err, sizeof c->err) < 0) {
		*status = store_fail(c);
		return NULL;
	}
	json_t *arr = json_array();
	for (size_t i = 0; i < l.n; i++) {
		/* "name created last_used": a name has no spaces (app_name_valid) */
		char name[APP_NAME_MAX + 1], created[32], used[32];
		if (sscanf(l.v[i], "%64s %31s %31s", name, created, used) != 3)
			continue;
		json_t *o = json_object();
		put(c, o, "name", str(name));
		put(c, o, "created", str(created));
		put(c, o, "last_used", strcmp(used, "never") == 0 ? json_null() : str(used));
		push(c, arr, o);
	}
	strlist_free(&l);
	return arr;
}

/* show - the whole of one user (user.show, self.show). */
static int
show(struct op_ctx *c, const char *address)
{
	char addr[ADDR_MAX + 1];
	struct login_record *rec = NULL;
	struct user_limit_info lim;
	uint64_t quota;
	int st;

	if ((st = canon(c, address, addr)) != 0 || (st = need_user(c, addr)) != 0)
		return st;
	if (accounts_user_quota(c->a, addr, &quota) < 0 || (rec = malloc(sizeof *rec)) == NULL ||
	    accounts_login_record(c->a, addr, rec) != 1) {
		free(rec);
		return fail(c, 500, "the account store failed");
	}
	bool suspended = rec->suspended;
	explicit_bzero(rec, sizeof *rec);
	free(rec);
	if (accounts_user_limit_get(c->a, addr, c->now, &lim, c->err, sizeof c->err) < 0)
		return store_fail(c);
	json_t *apps = app_passwords(c, addr, &st);
	if (st != 0)
		return st;
	json_t *fw = forward_of(c, addr, &st);
	if (st != 0) {
		json_decref(apps);
		return st;
	}
	json_t *vac = vacation_of(c, addr, &st);
	if (st != 0) {
		json_decref(apps);
		json_decref(fw);
		return st;
	}
	json_t *limits = json_object();
	put(c, limits, "per_day", limit_value(lim.per_day));
	put(c, limits, "per_hour", limit_value(lim.per_hour));
	put(c, limits, "sent_day", json_integer((json_int_t)lim.sent_day));
	put(c, limits, "sent_hour", json_integer((json_int_t)lim.sent_hour));
	put(c, c->out, "address", str(addr));
	put(c, c->out, "quota", json_integer((json_int_t)quota));
	put(c, c->out, "suspended", json_boolean(suspended));
	put(c, c->out, "limits", limits);
	put(c, c->out, "app_passwords", apps);
	put(c, c->out, "forward", fw);
	put(c, c->out, "vacation", vac);
	return 200;
}

static int
app_password_add(struct op_ctx *c, const char *address, const char *name)
{
	char addr[ADDR_MAX + 1], pw[APP_PASSWORD_SIZE];
	int st;

	if ((st = canon(c, address, addr)) != 0)
		return st;
	if (accounts_app_password_add(c->a, addr, name, pw, c->now, c->err, sizeof c->err) < 0)
		return store_fail(c);
	put(c, c->out, "name", str(name));
	put(c, c->out, "password", str(pw));
	explicit_bzero(pw, sizeof pw);
	return 201;
}

static int
app_password_list(struct op_ctx *c, const char *address)
{
	char addr[ADDR_MAX + 1];
	int st;

	if ((st = canon(c, address, addr)) != 0)
		return st;
	json_t *arr = app_passwords(c, addr, &st);
	if (st != 0)
		return st;
	put(c, c->out, "app_passwords", arr);
	return 200;
}

static int
app_password_del(struct op_ctx *c, const char *address, const char *name)
{
	char addr[ADDR_MAX + 1];
	int st;

	if ((st = canon(c, address, addr)) != 0)
		return st;
	return call(c, accounts_app_password_del(c->a, addr, name, c->err, sizeof c->err), 200);
}

/* forward_set - address's alias made targets (and address itself when keep is "1"). */
static int
forward_set(struct op_ctx *c, const char *address, const char *keep,
    const char *const *targets, size_t n)
{
	char addr[ADDR_MAX + 1];
	const char *v[WEB_FORWARD_MAX + 1];
	int st;

	if ((st = canon(c, address, addr)) != 0)
		return st;
	if (strcmp(keep, "0") != 0 && strcmp(keep, "1") != 0)
		return fail(c, 400, "keep is 0 or 1, not '%.40s'", keep);
	if (n == 0 || n > WEB_FORWARD_MAX)
		return fail(c, 400, "a forward has 1 to %d targets", WEB_FORWARD_MAX);
	for (size_t i = 0; i < n; i++) {
		struct mailbox mb;
		if (targets[i][0] == '@' ||
		    address_parse(targets[i], strlen(targets[i]), &mb, ADDR_UTF8) < 0)
			return fail(c, 400, "malformed address: %s", targets[i]);
		v[i] = targets[i];
	}
	if (keep[0] == '1')
		v[n++] = addr;
	if ((st = need_user(c, addr)) != 0)
		return st;
	if (accounts_alias_set(c->a, addr, v, n, c->err, sizeof c->err) < 0)
		return store_fail(c);
	json_t *fw = forward_of(c, addr, &st);
	if (st != 0)
		return st;
	put(c, c->out, "address", str(addr));
	put(c, c->out, "forward", fw);
	return 200;
}

static int
forward_off(struct op_ctx *c, const char *address)
{
	char addr[ADDR_MAX + 1];
	int st;

	if ((st = canon(c, address, addr)) != 0 || (st = need_user(c, addr)) != 0)
		return st;
	if (accounts_alias_del(c->a, addr, c->err, sizeof c->err) < 0)
		return store_fail(c);
	put(c, c->out, "address", str(addr));
	put(c, c->out, "forward", json_null());
	return 200;
}

/* ---- admin operations ---- */

static int
op_domain_list(struct op_ctx *c)
{
	struct strlist l = { 0 };

	if (accounts_domain_list(c->a, &l, c->err, sizeof c->err) < 0)
		return store_fail(c);
	put(c, c->out, "domains", strings(c, &l));
	strlist_free(&l);
	return 200;
}

static int
op_domain_add(struct op_ctx *c)
{
	char d[ADDR_DOMAIN_MAX + 1];
	int st;

	if ((st = canon_dom(c, c->args[0], d)) != 0)
		return st;
	if (accounts_domain_add(c->a, d, c->err, sizeof c->err) < 0)
		return store_fail(c);
	/* as `domain add`: its keys sign at once (serve makes missing ones at its start too) */
	bool keys = accounts_dkim_make(c->a, d, c->cfg->dkim_algs, c->now, c->err,
	    sizeof c->err) == 0;
	put(c, c->out, "domain", str(d));
	put(c, c->out, "dkim_keys", json_boolean(keys));
	return 201;
}

static int
op_domain_del(struct op_ctx *c)
{
	char d[ADDR_DOMAIN_MAX + 1];
	int st;

	if ((st = canon_dom(c, c->args[0], d)) != 0)
		return st;
	if (accounts_domain_del(c->a, d, c->err, sizeof c->err) < 0)
		return store_fail(c);
	put(c, c->out, "domain", str(d));
	return 200;
}

static int
op_user_list(struct op_ctx *c)
{
	struct strlist l = { 0 };
	char d[ADDR_DOMAIN_MAX + 1];
	int st;

	if (c->nargs == 1 && (st = canon_dom(c, c->args[0], d)) != 0)
		return st;
	if (accounts_user_list(c->a, c->nargs == 1 ? d : NULL, &l, c->err, sizeof c->err) < 0)
		return store_fail(c);
	json_t *arr = json_array();
	for (size_t i = 0; i < l.n; i++) {
		/* "address quota[ suspended]": a user's address has no spaces (canon_mailbox) */
		char addr[ADDR_MAX + 1], flag[16] = "";
		unsigned long long quota;
		if (sscanf(l.v[i], "%320s %llu %15s", addr, &quota, flag) < 2)
			continue;
		json_t *o = json_object();
		put(c, o, "address", str(addr));
		put(c, o, "quota", json_integer((json_int_t)quota));
		put(c, o, "suspended", json_boolean(strcmp(flag, "suspended") == 0));
		push(c, arr, o);
	}
	strlist_free(&l);
	put(c, c->out, "users", arr);
	return 200;
}

static int
op_user_show(struct op_ctx *c)
{
	return show(c, c->args[0]);
}

/* quota_arg - a size, or 400. */
static int
quota_arg(struct op_ctx *c, const char *s, uint64_t *q)
{
	if (parse_size(s, q) < 0 || *q > INT64_MAX)
		return fail(c, 400, "bad size: '%.40s' (bytes, or with K, M, G; 0 for none)", s);
	return 0;
}

static int
op_user_add(struct op_ctx *c)
{
	char addr[ADDR_MAX + 1];
	uint64_t quota;
	int st;

	if ((st = canon(c, c->args[0], addr)) != 0 || (st = quota_arg(c, c->args[2], &quota)) != 0)
		return st;
	if (accounts_user_add(c->a, addr, c->args[1], quota, c->err, sizeof c->err) < 0)
		return store_fail(c);
	put(c, c->out, "address", str(addr));
	put(c, c->out, "quota", json_integer((json_int_t)quota));
	return 201;
}

/*
 * op_user_del - the user goes; its Maildir stays where it is (lookupd cannot reach
 * the mailboxes): the answer says so, for the admin to move it (`user del` does).
 */
static int
op_user_del(struct op_ctx *c)
{
	char addr[ADDR_MAX + 1];
	int st;

	if ((st = canon(c, c->args[0], addr)) != 0)
		return st;
	if (accounts_user_del(c->a, addr, c->err, sizeof c->err) < 0)
		return store_fail(c);
	put(c, c->out, "address", str(addr));
	put(c, c->out, "mailbox_kept", json_true());
	return 200;
}

static int
op_user_passwd(struct op_ctx *c)
{
	char addr[ADDR_MAX + 1];
	int st;

	if ((st = canon(c, c->args[0], addr)) != 0)
		return st;
	if (accounts_user_passwd(c->a, addr, c->args[1], c->err, sizeof c->err) < 0)
		return store_fail(c);
	put(c, c->out, "address", str(addr));
	return 200;
}

static int
op_user_quota(struct op_ctx *c)
{
	char addr[ADDR_MAX + 1];
	uint64_t quota;
	int st;

	if ((st = canon(c, c->args[0], addr)) != 0 || (st = quota_arg(c, c->args[1], &quota)) != 0)
		return st;
	if (accounts_user_quota_set(c->a, addr, quota, c->err, sizeof c->err) < 0)
		return store_fail(c);
	put(c, c->out, "address", str(addr));
	put(c, c->out, "quota", json_integer((json_int_t)quota));
	return 200;
}

static int
suspend(struct op_ctx *c, bool on)
{
	char addr[ADDR_MAX + 1];
	int st;

	if ((st = canon(c, c->args[0], addr)) != 0)
		return st;
	if (accounts_user_suspend(c->a, addr, on, c->err, sizeof c->err) < 0)
		return store_fail(c);
	put(c, c->out, "address", str(addr));
	put(c, c->out, "suspended", json_boolean(on));
	return 200;
}

static int
op_user_suspend(struct op_ctx *c)
{
	return suspend(c, true);
}

static int
op_user_resume(struct op_ctx *c)
{
	return suspend(c, false);
}

/* limit_arg - "" kept, "default", or a count up to 100000000; else 400. */
static int
limit_arg(struct op_ctx *c, const char *s, int64_t *out)
{
	if (s[0] == '\0') {
		*out = LIMIT_KEEP;
		return 0;
	}
	if (strcmp(s, "default") == 0) {
		*out = LIMIT_DEFAULT;
		return 0;
	}
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || errno != 0 || *end != '\0' || v > 100000000)
		return fail(c, 400, "bad limit: '%.40s' (a count, 0 for none, or default)", s);
	*out = (int64_t)v;
	return 0;
}

static int
op_user_limit(struct op_ctx *c)
{
	char addr[ADDR_MAX + 1];
	int64_t day, hour;
	struct user_limit_info lim;
	int st;

	if ((st = canon(c, c->args[0], addr)) != 0 || (st = limit_arg(c, c->args[1], &day)) != 0 ||
	    (st = limit_arg(c, c->args[2], &hour)) != 0)
		return st;
	if ((day != LIMIT_KEEP || hour != LIMIT_KEEP) &&
	    accounts_user_limit_set(c->a, addr, day, hour, c->err, sizeof c->err) < 0)
		return store_fail(c);
	if (accounts_user_limit_get(c->a, addr, c->now, &lim, c->err, sizeof c->err) < 0)
		return store_fail(c);
	json_t *limits = json_object();
	put(c, limits, "per_day", limit_value(lim.per_day));
	put(c, limits, "per_hour", limit_value(lim.per_hour));
	put(c, c->out, "address", str(addr));
	put(c, c->out, "limits", limits);
	return 200;
}

static int
op_user_app_list(struct op_ctx *c)
{
	return app_password_list(c, c->args[0]);
}

static int
op_user_app_add(struct op_ctx *c)
{
	return app_password_add(c, c->args[0], c->args[1]);
}

static int
op_user_app_del(struct op_ctx *c)
{
	return app_password_del(c, c->args[0], c->args[1]);
}

static int
op_user_forward_set(struct op_ctx *c)
{
	return forward_set(c, c->args[0], c->args[1], c->args + 2, c->nargs - 2);
}

static int
op_user_forward_off(struct op_ctx *c)
{
	return forward_off(c, c->args[0]);
}

static int
op_alias_list(struct op_ctx *c)
{
	struct strlist src = { 0 };

	if (accounts_alias_sources(c->a, &src, c->err, sizeof c->err) < 0)
		return store_fail(c);
	json_t *arr = json_array();
	int st = 200;
	for (size_t i = 0; i < src.n && st == 200; i++) {
		struct strlist t = { 0 };
		if (accounts_alias_targets(c->a, src.v[i], &t, c->err, sizeof c->err) < 0) {
			st = store_fail(c);
			break;
		}
		json_t *o = json_object();
		put(c, o, "source", str(src.v[i]));
		put(c, o, "targets", strings(c, &t));
		push(c, arr, o);
		strlist_free(&t);
	}
	strlist_free(&src);
	if (st != 200) {
		json_decref(arr);
		return st;
	}
	put(c, c->out, "aliases", arr);
	return 200;
}

static int
op_alias_add(struct op_ctx *c)
{
	if (accounts_alias_add(c->a, c->args[0], c->args + 1, c->nargs - 1, c->err,
	    sizeof c->err) < 0)
		return store_fail(c);
	put(c, c->out, "source", str(c->args[0]));
	return 201;
}

static int
op_alias_del(struct op_ctx *c)
{
	return call(c, accounts_alias_del(c->a, c->args[0], c->err, sizeof c->err), 200);
}

/* iso - t as "2026-12-02T04:15:00Z". */
static json_t *
iso(time_t t)
{
	char s[32];
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(s, sizeof s, "%lld", (long long)t);
	return json_string(s);
}

static int
op_dkim_list(struct op_ctx *c)
{
	struct dkim_key_list l = { 0 };
	char d[ADDR_DOMAIN_MAX + 1];
	int st;

	if (c->nargs == 1 && (st = canon_dom(c, c->args[0], d)) != 0)
		return st;
	if (accounts_dkim_list(c->a, c->nargs == 1 ? d : NULL, c->now, &l, c->err,
	    sizeof c->err) < 0)
		return store_fail(c);
	json_t *arr = json_array();
	for (size_t i = 0; i < l.n; i++) {
		const struct dkim_key_info *k = &l.v[i];
		json_t *o = json_object();
		put(c, o, "domain", str(k->domain));
		put(c, o, "selector", str(k->selector));
		put(c, o, "algorithm", str(dkim_alg_name(k->alg)));
		put(c, o, "state", str(dkim_state_name(k->state)));
		put(c, o, "publish", json_boolean(k->publish));
		put(c, o, "created", iso(k->created));
		put(c, o, "sign_from", iso(k->sign_from));
		push(c, arr, o);
	}
	dkim_key_list_free(&l);
	put(c, c->out, "keys", arr);
	return 200;
}

static int
op_dkim_rotate(struct op_ctx *c)
{
	struct dkim_signer made[DKIM_ALG_COUNT];
	size_t n = 0;
	char d[ADDR_DOMAIN_MAX + 1];
	int st;

	if ((st = canon_dom(c, c->args[0], d)) != 0)
		return st;
	time_t from = c->now + (time_t)c->cfg->dkim_rotate_after;
	if (accounts_dkim_make_named(c->a, d, c->cfg->dkim_algs, from, made, &n, c->err,
	    sizeof c->err) < 0)
		return store_fail(c);
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++)
		push(c, arr, str(made[i].selector));
	put(c, c->out, "selectors", arr);
	put(c, c->out, "sign_from", iso(from));
	return 201;
}

static int
op_dns_records(struct op_ctx *c)
{
	char d[ADDR_DOMAIN_MAX + 1];
	struct dns_recs recs;
	int st;

	if ((st = canon_dom(c, c->args[0], d)) != 0)
		return st;
	if (!accounts_domain_is_local(c->a, d))
		return fail(c, 404, "no such domain: %s", d);
	/* lookupd resolves no names: the records that need the host's addresses use "a" */
	if (dns_zone_records(c->a, c->cfg, d, NULL, 0, false, c->now, &recs, c->err,
	    sizeof c->err) < 0)
		return store_fail(c);
	json_t *arr = json_array();
	for (size_t i = 0; i < recs.n; i++) {
		const struct dns_rec *r = &recs.v[i];
		if (r->kind == REC_COMMENT)
			continue;
		json_t *o = json_object();
		put(c, o, "name", str(r->name));
		put(c, o, "type", str(dns_type_name(r->type)));
		put(c, o, "value", str(r->value));
		put(c, o, "purpose", str(dns_rec_label(r->kind)));
		push(c, arr, o);
	}
	dns_recs_free(&recs);
	put(c, c->out, "domain", str(d));
	put(c, c->out, "records", arr);
	return 200;
}

static int
op_admin_list(struct op_ctx *c)
{
	struct strlist l = { 0 };

	if (accounts_admin_list(c->a, &l, c->err, sizeof c->err) < 0)
		return store_fail(c);
	json_t *arr = json_array();
	for (size_t i = 0; i < l.n; i++) {
		char name[WEB_NAME_MAX + 1];
		unsigned long long n;
		if (sscanf(l.v[i], "%64s %llu", name, &n) != 2)
			continue;
		json_t *o = json_object();
		put(c, o, "name", str(name));
		put(c, o, "tokens", json_integer((json_int_t)n));
		push(c, arr, o);
	}
	strlist_free(&l);
	put(c, c->out, "admins", arr);
	return 200;
}

/* ---- user operations: always the session's own address ---- */

static int
op_self_show(struct op_ctx *c)
{
	return show(c, c->who->name);
}

/* op_self_passwd - the old password first; the new one ends every session of the user. */
static int
op_self_passwd(struct op_ctx *c)
{
	char hash[PASSWORD_HASH_MAX];
	int r = accounts_password_hash(c->a, c->who->name, hash, sizeof hash);

	if (r < 0)
		return fail(c, 500, "the account store failed");
	if (r == 0)
		return fail(c, 404, "no such user: %s", c->who->name);
	bool right = password_verify(c->args[0], hash);
	explicit_bzero(hash, sizeof hash);
	if (!right)
		return fail(c, 403, "wrong password");
	if (accounts_user_passwd(c->a, c->who->name, c->args[1], c->err, sizeof c->err) < 0)
		return store_fail(c);
	put(c, c->out, "address", str(c->who->name));
	put(c, c->out, "sessions_ended", json_true());
	return 200;
}

static int
op_self_app_list(struct op_ctx *c)
{
	return app_password_list(c, c->who->name);
}

static int
op_self_app_add(struct op_ctx *c)
{
	return app_password_add(c, c->who->name, c->args[0]);
}

static int
op_self_app_del(struct op_ctx *c)
{
	return app_password_del(c, c->who->name, c->args[0]);
}

static int
op_self_forward_set(struct op_ctx *c)
{
	return forward_set(c, c->who->name, c->args[0], c->args + 1, c->nargs - 1);
}

static int
op_self_forward_off(struct op_ctx *c)
{
	return forward_off(c, c->who->name);
}

static int
op_user_vacation_set(struct op_ctx *c)
{
	return vacation_set(c, c->args[0], c->args[1], c->args[2], c->nargs > 3 ? c->args[3] : "");
}

static int
op_user_vacation_off(struct op_ctx *c)
{
	return vacation_off(c, c->args[0]);
}

static int
op_self_vacation_set(struct op_ctx *c)
{
	return vacation_set(c, c->who->name, c->args[0], c->args[1], c->nargs > 2 ? c->args[2] : "");
}

static int
op_self_vacation_off(struct op_ctx *c)
{
	return vacation_off(c, c->who->name);
}

/* ---- the table ---- */

struct op_def {
	const char *name;
	enum web_kind kind; /* who may run it */
	size_t min, max;    /* arguments */
	op_fn fn;
};

static const struct op_def ops[] = {
	{ "domain.list", WEB_ADMIN, 0, 0, op_domain_list },
	{ "domain.add", WEB_ADMIN, 1, 1, op_domain_add },
	{ "domain.del", WEB_ADMIN, 1, 1, op_domain_del },
	{ "user.list", WEB_ADMIN, 0, 1, op_user_list },
	{ "user.show", WEB_ADMIN, 1, 1, op_user_show },
	{ "user.add", WEB_ADMIN, 3, 3, op_user_add },
	{ "user.del", WEB_ADMIN, 1, 1, op_user_del },
	{ "user.passwd", WEB_ADMIN, 2, 2, op_user_passwd },
	{ "user.quota", WEB_ADMIN, 2, 2, op_user_quota },
	{ "user.suspend", WEB_ADMIN, 1, 1, op_user_suspend },
	{ "user.resume", WEB_ADMIN, 1, 1, op_user_resume },
	{ "user.limit", WEB_ADMIN, 3, 3, op_user_limit },
	{ "user.app_password.list", WEB_ADMIN, 1, 1, op_user_app_list },
	{ "user.app_password.add", WEB_ADMIN, 2, 2, op_user_app_add },
	{ "user.app_password.del", WEB_ADMIN, 2, 2, op_user_app_del },
	{ "user.forward.set", WEB_ADMIN, 3, 2 + WEB_FORWARD_MAX, op_user_forward_set },
	{ "user.forward.off", WEB_ADMIN, 1, 1, op_user_forward_off },
	{ "user.vacation.set", WEB_ADMIN, 3, 4, op_user_vacation_set },
	{ "user.vacation.off", WEB_ADMIN, 1, 1, op_user_vacation_off },
	{ "alias.list", WEB_ADMIN, 0, 0, op_alias_list },
	{ "alias.add", WEB_ADMIN, 2, WEB_ARGS_MAX, op_alias_add },
	{ "alias.del", WEB_ADMIN, 1, 1, op_alias_del },
	{ "dkim.list", WEB_ADMIN, 0, 1, op_dkim_list },
	{ "dkim.rotate", WEB_ADMIN, 1, 1, op_dkim_rotate },
	{ "dns.records", WEB_ADMIN, 1, 1, op_dns_records },
	{ "admin.list", WEB_ADMIN, 0, 0, op_admin_list },
	{ "self.show", WEB_USER, 0, 0, op_self_show },
	{ "self.passwd", WEB_USER, 2, 2, op_self_passwd },
	{ "self.app_password.list", WEB_USER, 0, 0, op_self_app_list },
	{ "self.app_password.add", WEB_USER, 1, 1, op_self_app_add },
	{ "self.app_password.del", WEB_USER, 1, 1, op_self_app_del },
	{ "self.forward.set", WEB_USER, 2, 1 + WEB_FORWARD_MAX, op_self_forward_set },
	{ "self.forward.off", WEB_USER, 0, 0, op_self_forward_off },
	{ "self.vacation.set", WEB_USER, 2, 3, op_self_vacation_set },
	{ "self.vacation.off", WEB_USER, 0, 0, op_self_vacation_off },
};

/* error_json - {"error": line}, the line made printable ASCII (it may quote input). */
static int
error_json(struct buf *json, const char *line)
{
	char clean[1024];
	size_t i;

	for (i = 0; line[i] != '\0' && i < sizeof clean - 1; i++)
		clean[i] = line[i] >= 0x20 && line[i] < 0x7f ? line[i] : '?';
	clean[i] = '\0';
	json_t *o = json_pack("{s:s}", "error", clean);
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	buf_reset(json);
	int rc = buf_printf(json, "%s", text ? text : "{\"error\":\"out of memory\"}");
	free(text);
	return rc;
}

int
web_ops_run(struct accounts *a, const struct config *cfg, const struct web_who *who,
    const char *op, const char *const *args, size_t nargs, struct buf *json)
{
	const struct op_def *def = NULL;
	struct op_ctx *c;

	buf_reset(json);
	if (who == NULL || (who->kind != WEB_ADMIN && who->kind != WEB_USER)) {
		error_json(json, "not logged in");
		return 401;
	}
	for (size_t i = 0; i < sizeof ops / sizeof ops[0] && def == NULL; i++)
		if (strcmp(ops[i].name, op) == 0)
			def = &ops[i];
	if (def == NULL) {
		error_json(json, "no such operation");
		return 404;
	}
	if (def->kind != who->kind) {
		error_json(json, def->kind == WEB_ADMIN ? "for administrators only" :
		    "for users only");
		return 403;
	}
	if (nargs < def->min || nargs > def->max) {
		char line[128];
		snprintf(line, sizeof line, "%s takes %zu to %zu arguments", def->name, def->min,
		    def->max);
		error_json(json, line);
		return 400;
	}
	if ((c = calloc(1, sizeof *c)) == NULL || (c->out = json_object()) == NULL) {
		free(c);
		error_json(json, "out of memory");
		return 500;
	}
	c->a = a;
	c->cfg = cfg;
	c->who = who;
	c->args = args;
	c->nargs = nargs;
	c->now = time(NULL);
	accounts_error_clear();
	int status = def->fn(c);
	char *text = NULL;
	if (status >= 200 && status < 300 && (c->oom ||
	    (text = json_dumps(c->out, JSON_COMPACT)) == NULL)) {
		status = 500;
		snprintf(c->err, sizeof c->err, "cannot make the answer");
	}
	if (status >= 200 && status < 300) {
		if (buf_printf(json, "%s", text) < 0) {
			status = 500;
			error_json(json, "out of memory");
		}
	} else {
		error_json(json, c->err[0] ? c->err : "failed");
	}
	free(text);
	json_decref(c->out);
	explicit_bzero(c, sizeof *c);
	free(c);
	return status;
}
