/*
 * pages_admin.c - /admin/: domains and their DNS records, users, aliases and
 * the queue, for administrators (`mailroom admin add`). Every change is a form
 * POSTed with the session's CSRF token and carried out by lookupd (accounts)
 * or queued (the queue), which check the credential again; after it, a 303
 * back to the page with a fixed notice, or the page again with the error.
 */
#include <event2/http.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include "http/http_form.h"
#include "http/http_reply.h"
#include "http/web.h"
#include "http/web_dns_check.h"
#include "util/units.h"

static void
fmt_quota(char *out, size_t len, json_int_t q)
{
	if (q <= 0)
		snprintf(out, len, "unlimited");
	else
		html_size(out, len, (uint64_t)q);
}

static void
fmt_age(char *out, size_t len, json_int_t secs)
{
	if (secs < 60)
		snprintf(out, len, "%llds", (long long)secs);
	else if (secs < 3600)
		snprintf(out, len, "%lldm", (long long)secs / 60);
	else if (secs < 86400)
		snprintf(out, len, "%lldh %02lldm", (long long)secs / 3600, (long long)secs % 3600 / 60);
	else
		snprintf(out, len, "%lldd %02lldh", (long long)secs / 86400, (long long)secs % 86400 / 3600);
}

/* limit_text - a user's own limit as text, "" for the server's default (null). */
static void
limit_text(char *out, size_t len, json_t *v)
{
	if (json_is_integer(v))
		snprintf(out, len, "%lld", (long long)json_integer_value(v));
	else
		out[0] = '\0';
}

/* quota_arg - a form's quota ("100M", empty for none) as decimal bytes; false when malformed. */
static bool
quota_arg(const char *field, char *out, size_t len)
{
	uint64_t q = 0;
	if (field[0] != '\0' && parse_size(field, &q) < 0)
		return false;
	snprintf(out, len, "%" PRIu64, q);
	return true;
}

/* ---- overview ---- */

static void
count(char *out, size_t len, bool known, long long n)
{
	if (known)
		snprintf(out, len, "%lld", n);
	else
		snprintf(out, len, "?");
}

static void
overview(struct web_req *wr)
{
	json_t *d = NULL, *u = NULL, *q = NULL;
	int sd = web_call(wr, &d, "domain.list", NULL);
	int su = web_call(wr, &u, "user.list", NULL);
	int sq = web_queue(wr, &q, "list", NULL);
	struct buf b = { 0 };
	size_t held = 0, deferred = 0;
	json_t *m;
	size_t i;

	json_array_foreach(json_object_get(q, "messages"), i, m) {
		if (jbool(m, "held"))
			held++;
		json_t *r;
		size_t j;
		json_array_foreach(json_object_get(m, "recipients"), j, r) {
			if (strcmp(jstr(r, "status"), "deferred") == 0) {
				deferred++;
				break;
			}
		}
	}
	char n[3][32];
	count(n[0], sizeof n[0], sd == 200, (long long)json_array_size(json_object_get(d, "domains")));
	count(n[1], sizeof n[1], su == 200, (long long)json_array_size(json_object_get(u, "users")));
	count(n[2], sizeof n[2], sq == 200, (long long)jint(q, "total"));
	int rc = web_begin(wr, &b, HTML_ADMIN, "Overview", "/admin/", NULL);
	if (rc == 0)
		rc = html_fmt(&b, "<div class=\"cards\">"
		    "<a class=\"stat\" href=\"/admin/domains\"><span class=\"n\">%s</span><span class=\"l\">domains</span></a>"
		    "<a class=\"stat\" href=\"/admin/users\"><span class=\"n\">%s</span><span class=\"l\">users</span></a>"
		    "<a class=\"stat\" href=\"/admin/queue\"><span class=\"n\">%s</span><span class=\"l\">messages queued</span></a>"
		    "<a class=\"stat\" href=\"/admin/queue\"><span class=\"n\">%U</span><span class=\"l\">deferred, %U held</span></a>"
		    "</div>", n[0], n[1], n[2], (uint64_t)deferred, (uint64_t)held);
	if (rc == 0)
		rc = html_fmt(&b, "<div class=\"card\"><h2>Getting started</h2><ol>"
		    "<li>Add each domain you host under <a href=\"/admin/domains\">Domains</a>, and "
		    "publish the DNS records its page lists.</li>"
		    "<li>Add mailboxes under <a href=\"/admin/users\">Users</a>; their owners log in "
		    "at <a href=\"/account/\">/account/</a>.</li>"
		    "<li>Mail clients set themselves up from the address alone (autoconfig).</li>"
		    "</ol></div>");
	if (rc == 0)
		rc = html_end(&b);
	json_decref(d);
	json_decref(u);
	json_decref(q);
	web_send_page(wr, HTTP_OK, &b, rc);
}

/* ---- domains ---- */

static void
domains_page(struct web_req *wr, int code, const char *error, const char *typed)
{
	json_t *d = NULL, *v;
	int st = web_call(wr, &d, "domain.list", NULL);
	struct buf b = { 0 };
	size_t i;

	if (st != 200) {
		web_failed(wr, HTML_ADMIN, "Domains", "/admin/domains", st, d);
		json_decref(d);
		return;
	}
	int rc = web_begin(wr, &b, HTML_ADMIN, "Domains", "/admin/domains", error);
	if (rc == 0)
		rc = html_fmt(&b, "<div class=\"card\"><h2>Add a domain</h2>") ||
		    html_form_begin(&b, "domain-add", "/admin/domains", wr->who.csrf, NULL) ||
		    html_fmt(&b, "<div class=\"row\"><label>Domain<input type=\"text\" name=\"domain\" "
		    "value=\"%s\" placeholder=\"example.com\" required></label> "
		    "<button type=\"submit\">Add</button></div></form></div>", typed ? typed : "");
	if (rc == 0)
		rc = html_fmt(&b, "<div class=\"card table-wrap\"><table id=\"domains\"><thead><tr>"
		    "<th>Domain</th><th></th></tr></thead><tbody>");
	json_array_foreach(json_object_get(d, "domains"), i, v) {
		const char *name = json_string_value(v);
		if (rc != 0 || name == NULL)
			continue;
		rc = html_fmt(&b, "<tr data-domain=\"%s\"><td><a href=\"/admin/domains/%s\">%s</a></td>"
		    "<td class=\"actions\"><a href=\"/admin/domains/%s\">DNS records</a> ",
		    name, name, name, name) ||
		    html_form_begin(&b, "domain-delete", "/admin/domains/delete", wr->who.csrf,
		    "Delete this domain? Its users and aliases must be gone first.") ||
		    html_fmt(&b, "<input type=\"hidden\" name=\"domain\" value=\"%s\">"
		    "<button type=\"submit\" class=\"danger\">Delete</button></form></td></tr>", name);
	}
	if (rc == 0 && json_array_size(json_object_get(d, "domains")) == 0)
		rc = html_fmt(&b, "<tr><td colspan=\"2\" class=\"muted\">No domains yet.</td></tr>");
	if (rc == 0)
		rc = html_fmt(&b, "</tbody></table></div>");
	if (rc == 0)
		rc = html_end(&b);
	json_decref(d);
	web_send_page(wr, code, &b, rc);
}

/* check_card - a `dns check` result, a row a record (web_dns_check.c). */
static int
check_card(struct buf *b, json_t *c)
{
	json_t *v;
	size_t i;

	bool ok = json_is_true(json_object_get(c, "ok"));
	int rc = html_fmt(b, "<div class=\"card\" id=\"dns-check\"><h2>DNS check</h2><p>%s</p>"
	    "<div class=\"table-wrap\"><table><thead><tr><th>Result</th><th>Record</th><th>Name</th>"
	    "<th>Details</th></tr></thead><tbody>", ok ? "Every record is published as it should be." :
	    "Some records are missing or wrong; the details say what the resolver returned.");
	json_array_foreach(json_object_get(c, "results"), i, v) {
		const char *verdict = jstr(v, "verdict");
		const char *cls = strcmp(verdict, "ok") == 0 ? " ok" :
		    strcmp(verdict, "warning") == 0 || strcmp(verdict, "tempfail") == 0 ? " warn" : " bad";
		if (rc == 0)
			rc = html_fmt(b, "<tr data-verdict=\"%s\"><td><span class=\"badge%r\">%s</span></td>"
			    "<td>%s</td><td class=\"mono\">%s</td><td>%s</td></tr>", verdict, cls, verdict,
			    jstr(v, "purpose"), jstr(v, "name"), jstr(v, "detail"));
	}
	if (rc == 0)
		rc = html_fmt(b, "</tbody></table></div></div>");
	return rc;
}

/* domain_render - the domain page from lookupd's records r and keys k (kst its status), and a check. */
static void
domain_render(struct web_req *wr, const char *domain, json_t *r, json_t *k, int kst,
    json_t *check, int code, const char *error)
{
	struct buf b = { 0 };
	json_t *v;
	size_t i;
	char title[300];

	snprintf(title, sizeof title, "%s", domain);
	int rc = web_begin(wr, &b, HTML_ADMIN, title, "/admin/domains", error);
	if (rc == 0 && check != NULL)
		rc = check_card(&b, check);
	if (rc == 0)
		rc = html_fmt(&b, "<div class=\"card\"><h2>DNS records</h2><p class=\"muted\">Publish "
		    "these in the domain's zone, then <a id=\"dns-check-link\" href=\"/admin/domains/%s?check=1\">"
		    "check them</a> against what the resolver sees (<code>mailroom dns check %s</code> "
		    "does the same).</p><div class=\"table-wrap\"><table id=\"dns-records\">"
		    "<thead><tr><th>Name</th><th>Type</th><th>Value</th></tr></thead><tbody>", domain,
		    domain);
	json_array_foreach(json_object_get(r, "records"), i, v) {
		if (rc == 0)
			rc = html_fmt(&b, "<tr><td class=\"mono\">%s</td><td>%s</td><td class=\"mono\">%s</td></tr>",
			    jstr(v, "name"), jstr(v, "type"), jstr(v, "value"));
	}
	if (rc == 0)
		rc = html_fmt(&b, "</tbody></table></div></div>");
	if (rc == 0 && kst == 200) {
		rc = html_fmt(&b, "<div class=\"card\"><h2>DKIM keys</h2><div class=\"table-wrap\">"
		    "<table id=\"dkim-keys\"><thead><tr><th>Selector</th><th>Algorithm</th><th>State</th>"
		    "<th class=\"opt\">Created</th></tr></thead><tbody>");
		json_array_foreach(json_object_get(k, "keys"), i, v) {
			if (rc == 0)
				rc = html_fmt(&b, "<tr><td class=\"mono\">%s</td><td>%s</td><td><span class=\"badge%r\">%s</span></td>"
				    "<td class=\"opt\">%s</td></tr>", jstr(v, "selector"), jstr(v, "algorithm"),
				    strcmp(jstr(v, "state"), "signing") == 0 ? " ok" : "", jstr(v, "state"),
				    jstr(v, "created"));
		}
		if (rc == 0)
			rc = html_fmt(&b, "</tbody></table></div>");
		if (rc == 0) {
			char action[400];
			snprintf(action, sizeof action, "/admin/domains/%s/rotate", domain);
			rc = html_form_begin(&b, "dkim-rotate", action, wr->who.csrf,
			    "Make new DKIM keys for this domain?") ||
			    html_fmt(&b, "<p><button type=\"submit\" class=\"secondary\">Rotate keys</button> "
			    "<span class=\"muted\">New keys are published at once and sign after the "
			    "rotation delay.</span></p></form></div>");
		}
	}
	if (rc == 0)
		rc = html_end(&b);
	web_send_page(wr, code, &b, rc);
}

/* A domain page waiting for its DNS check: what it will be made of. */
struct domain_wait {
	struct web_req wr; /* a GET's: no form */
	json_t *r, *k;
	int kst;
	char domain[300];
};

static void
domain_checked(void *arg, json_t *check)
{
	struct domain_wait *w = arg;

	domain_render(&w->wr, w->domain, w->r, w->k, w->kst, check, HTTP_OK, NULL);
	json_decref(w->r);
	json_decref(w->k);
	web_req_free(&w->wr);
	free(w);
}

static void
domain_page(struct web_req *wr, const char *domain, int code, const char *error)
{
	json_t *r = NULL, *k = NULL;
	int st = web_call(wr, &r, "dns.records", domain, NULL);
	char check[8];

	if (st != 200) {
		web_failed(wr, HTML_ADMIN, domain, "/admin/domains", st, r);
		json_decref(r);
		return;
	}
	int kst = web_call(wr, &k, "dkim.list", domain, NULL);
	if (!wr->post && web_query(wr, "check", check, sizeof check)) {
		/* Answered when the check is done; the loop serves the others meanwhile. */
		struct domain_wait *w = calloc(1, sizeof *w);
		if (w != NULL) {
			w->wr = *wr;
			TAILQ_INIT(&w->wr.form);
			w->r = r;
			w->k = k;
			w->kst = kst;
			snprintf(w->domain, sizeof w->domain, "%s", domain);
			if (web_dns_check_start(wr->srv, jstr(r, "domain"), json_object_get(r, "records"),
			    domain_checked, w) == 0)
				return;
			free(w);
		}
		domain_render(wr, domain, r, k, kst, NULL, code, "The DNS check could not be started.");
	} else {
		domain_render(wr, domain, r, k, kst, NULL, code, error);
	}
	json_decref(r);
	json_decref(k);
}

static void
domains_post(struct web_req *wr, const char *action, const char *domain)
{
	json_t *a = NULL;
	int st;

	if (strcmp(action, "add") == 0) {
		const char *d = web_field(wr, "domain");
		st = web_call(wr, &a, "domain.add", d, NULL);
		if (st < 300)
			web_redirect_done(wr, "/admin/domains", "domain-added");
		else
			domains_page(wr, st, web_error_text(a, st), d);
	} else if (strcmp(action, "delete") == 0) {
		st = web_call(wr, &a, "domain.del", web_field(wr, "domain"), NULL);
		if (st < 300)
			web_redirect_done(wr, "/admin/domains", "domain-deleted");
		else
			domains_page(wr, st, web_error_text(a, st), NULL);
	} else {
		char back[400];
		st = web_call(wr, &a, "dkim.rotate", domain, NULL);
		snprintf(back, sizeof back, "/admin/domains/%s", domain);
		if (st < 300)
			web_redirect_done(wr, back, "rotated");
		else
			domain_page(wr, domain, st, web_error_text(a, st));
	}
	json_decref(a);
}

/* ---- users ---- */

static void
users_page(struct web_req *wr, int code, const char *error)
{
	json_t *u = NULL, *v;
	char domain[256] = "";
	bool filtered = web_query(wr, "domain", domain, sizeof domain) && domain[0] != '\0';
	int st = filtered ? web_call(wr, &u, "user.list", domain, NULL) :
	    web_call(wr, &u, "user.list", NULL);
	struct buf b = { 0 };
	size_t i;

	if (st != 200) {
		web_failed(wr, HTML_ADMIN, "Users", "/admin/users", st, u);
		json_decref(u);
		return;
	}
	int rc = web_begin(wr, &b, HTML_ADMIN, "Users", "/admin/users", error);
	if (rc == 0)
		rc = html_fmt(&b, "<div class=\"card\"><h2>Add a user</h2>") ||
		    html_form_begin(&b, "user-add", "/admin/users", wr->who.csrf, NULL) ||
		    html_fmt(&b, "<div class=\"row\">"
		    "<label>Address<input type=\"email\" name=\"address\" required placeholder=\"ann@example.com\" value=\"%s\"></label>"
		    "<label>Password<input type=\"password\" name=\"password\" required autocomplete=\"new-password\"></label>"
		    "<label>Quota<input type=\"text\" name=\"quota\" placeholder=\"unlimited, or 500M, 2G\" value=\"%s\"></label>"
		    "<button type=\"submit\">Add</button></div></form></div>",
		    wr->form_read ? web_field(wr, "address") : "", wr->form_read ? web_field(wr, "quota") : "");
	if (rc == 0)
		rc = html_fmt(&b, "<div class=\"card table-wrap\">%r<table id=\"users\"><thead><tr>"
		    "<th>Address</th><th>Quota</th><th>State</th></tr></thead><tbody>",
		    filtered ? "<p><a href=\"/admin/users\">All users</a></p>" : "");
	json_array_foreach(json_object_get(u, "users"), i, v) {
		char q[32];
		if (rc != 0)
			break;
		fmt_quota(q, sizeof q, jint(v, "quota"));
		rc = html_fmt(&b, "<tr data-address=\"%s\"><td><a href=\"/admin/users/%s\">%s</a></td>"
		    "<td>%s</td><td>%r</td></tr>", jstr(v, "address"), jstr(v, "address"),
		    jstr(v, "address"), q, jbool(v, "suspended") ?
		    "<span class=\"badge bad\">suspended</span>" : "<span class=\"badge ok\">active</span>");
	}
	if (rc == 0 && json_array_size(json_object_get(u, "users")) == 0)
		rc = html_fmt(&b, "<tr><td colspan=\"3\" class=\"muted\">No users yet.</td></tr>");
	if (rc == 0)
		rc = html_fmt(&b, "</tbody></table></div>");
	if (rc == 0)
		rc = html_end(&b);
	json_decref(u);
	web_send_page(wr, code, &b, rc);
}

static int
user_form(struct buf *b, struct web_req *wr, const char *addr, const char *id, const char *action,
    const char *confirm)
{
	char path[600];
	snprintf(path, sizeof path, "/admin/users/%s/%s", addr, action);
	return html_form_begin(b, id, path, wr->who.csrf, confirm);
}

static void
user_page(struct web_req *wr, const char *addr, int code, const char *error)
{
	json_t *u = NULL, *use = NULL, *v;
	int st = web_call(wr, &u, "user.show", addr, NULL);
	struct buf b = { 0 };
	char q[32], used[32];
	size_t i;

	if (st != 200) {
		web_failed(wr, HTML_ADMIN, addr, "/admin/users", st, u);
		json_decref(u);
		return;
	}
	int ust = web_queue(wr, &use, "usage", addr);
	fmt_quota(q, sizeof q, jint(u, "quota"));
	if (ust == 200)
		html_size(used, sizeof used, (uint64_t)jint(use, "bytes"));
	else
		snprintf(used, sizeof used, "unknown");
	json_t *lim = json_object_get(u, "limits");
	char per_day[32], per_hour[32], limits[96];
	limit_text(per_day, sizeof per_day, json_object_get(lim, "per_day"));
	limit_text(per_hour, sizeof per_hour, json_object_get(lim, "per_hour"));
	if (per_day[0] == '\0' && per_hour[0] == '\0')
		snprintf(limits, sizeof limits, "the server's defaults");
	else
		snprintf(limits, sizeof limits, "%s a day, %s an hour", per_day[0] ? per_day : "default",
		    per_hour[0] ? per_hour : "default");
	json_t *fwd = json_object_get(u, "forward");
	bool suspended = jbool(u, "suspended");
	int rc = web_begin(wr, &b, HTML_ADMIN, addr, "/admin/users", error);
	if (rc == 0)
		rc = html_fmt(&b, "<div class=\"card\"><dl class=\"facts\"><dt>State</dt><dd>%r</dd>"
		    "<dt>Quota</dt><dd>%s</dd><dt>In use</dt><dd id=\"usage\">%s</dd>"
		    "<dt>Sending limits</dt><dd>%s</dd>"
		    "<dt>Forwarding</dt><dd>%r</dd></dl></div>",
		    suspended ? "<span class=\"badge bad\">suspended</span>" : "<span class=\"badge ok\">active</span>",
		    q, used, limits,
		    json_is_object(fwd) ? "on" : "off");
	if (rc == 0)
		rc = html_fmt(&b, "<div class=\"card\"><h2>Password</h2>") ||
		    user_form(&b, wr, addr, "user-password", "password", NULL) ||
		    html_fmt(&b, "<div class=\"row\"><label>New password<input type=\"password\" name=\"password\" "
		    "required autocomplete=\"new-password\"></label><button type=\"submit\">Set</button></div></form></div>");
	if (rc == 0)
		rc = html_fmt(&b, "<div class=\"card\"><h2>Quota</h2>") ||
		    user_form(&b, wr, addr, "user-quota", "quota", NULL) ||
		    html_fmt(&b, "<div class=\"row\"><label>Quota<input type=\"text\" name=\"quota\" "
		    "placeholder=\"empty: unlimited\"></label><button type=\"submit\">Set</button></div></form></div>");
	if (rc == 0)
		rc = html_fmt(&b, "<div class=\"card\"><h2>Sending limits</h2>") ||
		    user_form(&b, wr, addr, "user-limits", "limits", NULL) ||
		    html_fmt(&b, "<div class=\"row\"><label>Messages a day<input type=\"text\" inputmode=\"numeric\" name=\"per_day\" value=\"%s\" placeholder=\"default\"></label>"
		    "<label>Messages an hour<input type=\"text\" inputmode=\"numeric\" name=\"per_hour\" value=\"%s\" placeholder=\"default\"></label>"
		    "<button type=\"submit\">Set</button></div><p class=\"muted\">0: no limit; empty: the server's default.</p></form></div>",
		    per_day, per_hour);
	if (rc == 0 && json_array_size(json_object_get(u, "app_passwords")) > 0) {
		rc = html_fmt(&b, "<div class=\"card\"><h2>App passwords</h2><ul>");
		json_array_foreach(json_object_get(u, "app_passwords"), i, v) {
			if (rc == 0)
				rc = html_fmt(&b, "<li>%s</li>", jstr(v, "name"));
		}
		if (rc == 0)
			rc = html_fmt(&b, "</ul></div>");
	}
	if (rc == 0)
		rc = html_fmt(&b, "<div class=\"card\"><h2>Access</h2><div class=\"row\">") ||
		    (suspended ? user_form(&b, wr, addr, "user-resume", "resume", NULL) ||
		    html_fmt(&b, "<button type=\"submit\" class=\"secondary\">Resume</button></form>") :
		    user_form(&b, wr, addr, "user-suspend", "suspend", "Suspend this user? Logins will be refused.") ||
		    html_fmt(&b, "<button type=\"submit\" class=\"secondary\">Suspend</button></form>")) ||
		    user_form(&b, wr, addr, "user-delete", "delete",
		    "Delete this user? Its mail is kept on disk but no longer delivered or readable.") ||
		    html_fmt(&b, "<button type=\"submit\" class=\"danger\">Delete user</button></form></div></div>");
	if (rc == 0)
		rc = html_end(&b);
	json_decref(u);
	json_decref(use);
	web_send_page(wr, code, &b, rc);
}

static void
users_post(struct web_req *wr, const char *addr, const char *action)
{
	json_t *a = NULL;
	char quota[32], back[600];
	int st;
	const char *done = NULL;

	if (addr == NULL) { /* add */
		if (!quota_arg(web_field(wr, "quota"), quota, sizeof quota)) {
			users_page(wr, HTTP_BADREQUEST, "The quota is not a size (like 500M or 2G).");
			return;
		}
		st = web_call(wr, &a, "user.add", web_field(wr, "address"),
		    http_form_get(&wr->form, "password") ? http_form_get(&wr->form, "password") : "",
		    quota, NULL);
		if (st < 300)
			web_redirect_done(wr, "/admin/users", "user-added");
		else
			users_page(wr, st, web_error_text(a, st));
		json_decref(a);
		return;
	}
	snprintf(back, sizeof back, "/admin/users/%s", addr);
	if (strcmp(action, "password") == 0) {
		const char *pw = http_form_get(&wr->form, "password");
		st = web_call(wr, &a, "user.passwd", addr, pw ? pw : "", NULL);
		done = "password";
	} else if (strcmp(action, "quota") == 0) {
		if (!quota_arg(web_field(wr, "quota"), quota, sizeof quota)) {
			user_page(wr, addr, HTTP_BADREQUEST, "The quota is not a size (like 500M or 2G).");
			return;
		}
		st = web_call(wr, &a, "user.quota", addr, quota, NULL);
		done = "quota";
	} else if (strcmp(action, "limits") == 0) {
		const char *d = web_field(wr, "per_day"), *h = web_field(wr, "per_hour");
		st = web_call(wr, &a, "user.limit", addr, d[0] ? d : "default", h[0] ? h : "default", NULL);
		done = "limits";
	} else if (strcmp(action, "suspend") == 0) {
		st = web_call(wr, &a, "user.suspend", addr, NULL);
		done = "suspended";
	} else if (strcmp(action, "resume") == 0) {
		st = web_call(wr, &a, "user.resume", addr, NULL);
		done = "resumed";
	} else if (strcmp(action, "delete") == 0) {
		st = web_call(wr, &a, "user.del", addr, NULL);
		if (st < 300) {
			web_redirect_done(wr, "/admin/users", "user-deleted");
			json_decref(a);
			return;
		}
	} else {
		http_reply_text(wr->req, true, HTTP_NOTFOUND);
		return;
	}
	if (st < 300)
		web_redirect_done(wr, back, done);
	else
		user_page(wr, addr, st, web_error_text(a, st));
	json_decref(a);
}

/* ---- aliases ---- */

static void
aliases_page(struct web_req *wr, int code, const char *error)
{
	json_t *l = NULL, *v, *t;
	int st = web_call(wr, &l, "alias.list", NULL);
	struct buf b = { 0 };
	size_t i, j;

	if (st != 200) {
		web_failed(wr, HTML_ADMIN, "Aliases", "/admin/aliases", st, l);
		json_decref(l);
		return;
	}
	int rc = web_begin(wr, &b, HTML_ADMIN, "Aliases", "/admin/aliases", error);
	if (rc == 0)
		rc = html_fmt(&b, "<div class=\"card\"><h2>Add an alias</h2>") ||
		    html_form_begin(&b, "alias-add", "/admin/aliases", wr->who.csrf, NULL) ||
		    html_fmt(&b, "<div class=\"row\"><label>Source<input type=\"text\" name=\"source\" "
		    "required placeholder=\"sales@example.com or @example.com\" value=\"%s\"></label>"
		    "<label>Targets<input type=\"text\" name=\"targets\" required "
		    "placeholder=\"ann@example.com, bob@elsewhere.net\" value=\"%s\"></label>"
		    "<button type=\"submit\">Add</button></div></form></div>",
		    wr->form_read ? web_field(wr, "source") : "", wr->form_read ? web_field(wr, "targets") : "");
	if (rc == 0)
		rc = html_fmt(&b, "<div class=\"card table-wrap\"><table id=\"aliases\"><thead><tr>"
		    "<th>Source</th><th>Targets</th><th></th></tr></thead><tbody>");
	json_array_foreach(json_object_get(l, "aliases"), i, v) {
		if (rc != 0)
			break;
		rc = html_fmt(&b, "<tr data-source=\"%s\"><td class=\"mono\">%s</td><td>", jstr(v, "source"),
		    jstr(v, "source"));
		json_array_foreach(json_object_get(v, "targets"), j, t) {
			if (rc == 0)
				rc = html_fmt(&b, "%r<span class=\"mono\">%s</span>", j > 0 ? ", " : "",
				    json_string_value(t));
		}
		if (rc == 0)
			rc = html_fmt(&b, "</td><td class=\"actions\">") ||
			    html_form_begin(&b, "alias-delete", "/admin/aliases/delete", wr->who.csrf,
			    "Delete this alias?") ||
			    html_fmt(&b, "<input type=\"hidden\" name=\"source\" value=\"%s\">"
			    "<button type=\"submit\" class=\"danger\">Delete</button></form></td></tr>",
			    jstr(v, "source"));
	}
	if (rc == 0 && json_array_size(json_object_get(l, "aliases")) == 0)
		rc = html_fmt(&b, "<tr><td colspan=\"3\" class=\"muted\">No aliases yet.</td></tr>");
	if (rc == 0)
		rc = html_fmt(&b, "</tbody></table></div>");
	if (rc == 0)
		rc = html_end(&b);
	json_decref(l);
	web_send_page(wr, code, &b, rc);
}

/* split_targets - "a@b, c@d e@f" into args (at most max), in place. */
static size_t
split_targets(char *s, const char **args, size_t max)
{
	size_t n = 0;
	for (char *tok = strtok(s, ", \t\r\n;"); tok != NULL && n < max; tok = strtok(NULL, ", \t\r\n;"))
		args[n++] = tok;
	return n;
}

static void
aliases_post(struct web_req *wr, const char *action)
{
	json_t *a = NULL;
	int st;

	if (strcmp(action, "add") == 0) {
		const char *args[12];
		char targets[4096];
		snprintf(targets, sizeof targets, "%s", web_field(wr, "targets"));
		args[0] = web_field(wr, "source");
		size_t n = split_targets(targets, args + 1, 11);
		if (n == 0) {
			aliases_page(wr, HTTP_BADREQUEST, "Give at least one target address.");
			return;
		}
		st = web_callv(wr, &a, "alias.add", args, n + 1);
		if (st < 300)
			web_redirect_done(wr, "/admin/aliases", "alias-added");
		else
			aliases_page(wr, st, web_error_text(a, st));
	} else {
		st = web_call(wr, &a, "alias.del", web_field(wr, "source"), NULL);
		if (st < 300)
			web_redirect_done(wr, "/admin/aliases", "alias-deleted");
		else
			aliases_page(wr, st, web_error_text(a, st));
	}
	json_decref(a);
}

/* ---- the queue ---- */

static int
rcpt_cells(struct buf *b, json_t *m)
{
	json_t *r;
	size_t j;
	int rc = 0;

	json_array_foreach(json_object_get(m, "recipients"), j, r) {
		const char *status = jstr(r, "status");
		const char *cls = strcmp(status, "deferred") == 0 ? " warn" :
		    strcmp(status, "bounced") == 0 ? " bad" : strcmp(status, "delivered") == 0 ? " ok" : "";
		if (rc == 0)
			rc = html_fmt(b, "<div><span class=\"mono\">%s</span> <span class=\"badge%r\">%s</span>%r%s%r</div>",
			    jstr(r, "address"), cls, status, jstr(r, "error")[0] ? "<div class=\"muted\">" : "",
			    jstr(r, "error"), jstr(r, "error")[0] ? "</div>" : "");
	}
	return rc;
}

static void
queue_page(struct web_req *wr, int code, const char *error)
{
	json_t *q = NULL, *m;
	int st = web_queue(wr, &q, "list", NULL);
	struct buf b = { 0 };
	size_t i;

	if (st != 200) {
		web_failed(wr, HTML_ADMIN, "Queue", "/admin/queue", st, q);
		json_decref(q);
		return;
	}
	int rc = web_begin(wr, &b, HTML_ADMIN, "Queue", "/admin/queue", error);
	if (rc == 0)
		rc = html_fmt(&b, "<div class=\"card\"><div class=\"row\"><p>%U messages in the queue.</p>",
		    (uint64_t)jint(q, "total")) ||
		    html_form_begin(&b, "queue-flush", "/admin/queue/flush", wr->who.csrf, NULL) ||
		    html_fmt(&b, "<button type=\"submit\" class=\"secondary\">Retry deferred now</button></form></div></div>");
	if (rc == 0)
		rc = html_fmt(&b, "<div class=\"card table-wrap\"><table id=\"queue\"><thead><tr><th>Message</th>"
		    "<th class=\"opt\">Age</th><th class=\"opt\">Size</th><th>From</th><th>Recipients</th></tr></thead><tbody>");
	json_array_foreach(json_object_get(q, "messages"), i, m) {
		char age[32], size[32];
		if (rc != 0)
			break;
		fmt_age(age, sizeof age, jint(m, "age"));
		html_size(size, sizeof size, (uint64_t)jint(m, "size"));
		rc = html_fmt(&b, "<tr data-id=\"%s\"><td><a class=\"mono\" href=\"/admin/queue/%s\">%s</a>%r</td>"
		    "<td class=\"opt\">%s</td><td class=\"opt\">%s</td><td class=\"mono\">%s</td><td>",
		    jstr(m, "id"), jstr(m, "id"), jstr(m, "id"),
		    jbool(m, "held") ? " <span class=\"badge warn\">held</span>" : "", age, size,
		    jstr(m, "from")[0] ? jstr(m, "from") : "<>");
		if (rc == 0)
			rc = rcpt_cells(&b, m) || html_fmt(&b, "</td></tr>");
	}
	if (rc == 0 && json_array_size(json_object_get(q, "messages")) == 0)
		rc = html_fmt(&b, "<tr><td colspan=\"5\" class=\"muted\">The queue is empty.</td></tr>");
	if (rc == 0)
		rc = html_fmt(&b, "</tbody></table></div>");
	if (rc == 0)
		rc = html_end(&b);
	json_decref(q);
	web_send_page(wr, code, &b, rc);
}

static void
message_page(struct web_req *wr, const char *id, int code, const char *error)
{
	json_t *m = NULL;
	int st = web_queue(wr, &m, "show", id);
	struct buf b = { 0 };
	char age[32], size[32], path[300];

	if (st != 200) {
		web_failed(wr, HTML_ADMIN, id, "/admin/queue", st, m);
		json_decref(m);
		return;
	}
	fmt_age(age, sizeof age, jint(m, "age"));
	html_size(size, sizeof size, (uint64_t)jint(m, "size"));
	bool held = jbool(m, "held");
	int rc = web_begin(wr, &b, HTML_ADMIN, id, "/admin/queue", error);
	if (rc == 0)
		rc = html_fmt(&b, "<div class=\"card\"><dl class=\"facts\"><dt>From</dt><dd class=\"mono\">%s</dd>"
		    "<dt>Age</dt><dd>%s</dd><dt>Size</dt><dd>%s</dd><dt>State</dt><dd>%r</dd>"
		    "<dt>Recipients</dt><dd>", jstr(m, "from")[0] ? jstr(m, "from") : "<>", age, size,
		    held ? "<span class=\"badge warn\">held</span>" : "queued") ||
		    rcpt_cells(&b, m) || html_fmt(&b, "</dd></dl><div class=\"row\">");
	snprintf(path, sizeof path, "/admin/queue/%s/%s", id, held ? "release" : "hold");
	if (rc == 0)
		rc = html_form_begin(&b, held ? "queue-release" : "queue-hold", path, wr->who.csrf, NULL) ||
		    html_fmt(&b, "<button type=\"submit\" class=\"secondary\">%s</button></form>",
		    held ? "Release" : "Hold");
	snprintf(path, sizeof path, "/admin/queue/%s/delete", id);
	if (rc == 0)
		rc = html_form_begin(&b, "queue-delete", path, wr->who.csrf,
		    "Delete this message? It will not be delivered and no bounce is sent.") ||
		    html_fmt(&b, "<button type=\"submit\" class=\"danger\">Delete</button></form></div></div>"
		    "<div class=\"card\"><h2>Header</h2><pre class=\"mono\">%s</pre></div>", jstr(m, "headers"));
	if (rc == 0)
		rc = html_end(&b);
	json_decref(m);
	web_send_page(wr, code, &b, rc);
}

static void
queue_post(struct web_req *wr, const char *id, const char *action)
{
	json_t *a = NULL;
	int st;

	if (id == NULL) {
		st = web_queue(wr, &a, "flush", NULL);
		if (st < 300)
			web_redirect_done(wr, "/admin/queue", "flushed");
		else
			queue_page(wr, st, web_error_text(a, st));
		json_decref(a);
		return;
	}
	const char *done = strcmp(action, "hold") == 0 ? "held" :
	    strcmp(action, "release") == 0 ? "released" : strcmp(action, "delete") == 0 ? "deleted" : NULL;
	if (done == NULL) {
		http_reply_text(wr->req, true, HTTP_NOTFOUND);
		return;
	}
	st = web_queue(wr, &a, action, id);
	if (st < 300 && strcmp(action, "delete") == 0) {
		web_redirect_done(wr, "/admin/queue", done);
	} else if (st < 300) {
		char back[300];
		snprintf(back, sizeof back, "/admin/queue/%s", id);
		web_redirect_done(wr, back, done);
	} else {
		message_page(wr, id, st, web_error_text(a, st));
	}
	json_decref(a);
}

/* ---- routing ---- */

/*
 * segment - the path's piece after prefix up to the next '/', into out; *rest
 * points after it ("" at the end). False when path does not start with prefix,
 * the piece is empty or too long.
 */
static bool
segment(const char *path, const char *prefix, char *out, size_t outlen, const char **rest)
{
	size_t pl = strlen(prefix);
	if (strncmp(path, prefix, pl) != 0)
		return false;
	const char *s = path + pl, *slash = strchr(s, '/');
	size_t n = slash != NULL ? (size_t)(slash - s) : strlen(s);
	if (n == 0 || n >= outlen)
		return false;
	memcpy(out, s, n);
	out[n] = '\0';
	*rest = slash != NULL ? slash + 1 : "";
	return true;
}

void
web_admin(struct web_req *wr)
{
	const char *p = wr->path, *rest;
	char name[ADDR_MAX + 1];

	web_session_load(wr);
	if (wr->who.kind != WEB_ADMIN) {
		if (wr->post)
			http_reply_text(wr->req, true, HTTP_FORBIDDEN);
		else
			http_redirect(wr->req, true, "/admin/login");
		return;
	}
	if (wr->post && !web_form_read(wr))
		return;
	if (strcmp(p, "/admin/") == 0 || strcmp(p, "/admin") == 0) {
		if (wr->post)
			http_reply_text(wr->req, true, HTTP_BADMETHOD);
		else
			overview(wr);
	} else if (strcmp(p, "/admin/domains") == 0) {
		if (wr->post)
			domains_post(wr, "add", NULL);
		else
			domains_page(wr, HTTP_OK, NULL, NULL);
	} else if (strcmp(p, "/admin/domains/delete") == 0 && wr->post) {
		domains_post(wr, "delete", NULL);
	} else if (segment(p, "/admin/domains/", name, sizeof name, &rest)) {
		if (!wr->post && rest[0] == '\0')
			domain_page(wr, name, HTTP_OK, NULL);
		else if (wr->post && strcmp(rest, "rotate") == 0)
			domains_post(wr, "rotate", name);
		else
			http_reply_text(wr->req, true, HTTP_NOTFOUND);
	} else if (strcmp(p, "/admin/users") == 0) {
		if (wr->post)
			users_post(wr, NULL, NULL);
		else
			users_page(wr, HTTP_OK, NULL);
	} else if (segment(p, "/admin/users/", name, sizeof name, &rest)) {
		if (!wr->post && rest[0] == '\0')
			user_page(wr, name, HTTP_OK, NULL);
		else if (wr->post && rest[0] != '\0')
			users_post(wr, name, rest);
		else
			http_reply_text(wr->req, true, HTTP_NOTFOUND);
	} else if (strcmp(p, "/admin/aliases") == 0) {
		if (wr->post)
			aliases_post(wr, "add");
		else
			aliases_page(wr, HTTP_OK, NULL);
	} else if (strcmp(p, "/admin/aliases/delete") == 0 && wr->post) {
		aliases_post(wr, "delete");
	} else if (strcmp(p, "/admin/queue") == 0 && !wr->post) {
		queue_page(wr, HTTP_OK, NULL);
	} else if (strcmp(p, "/admin/queue/flush") == 0 && wr->post) {
		queue_post(wr, NULL, NULL);
	} else if (segment(p, "/admin/queue/", name, sizeof name, &rest)) {
		if (!wr->post && rest[0] == '\0')
			message_page(wr, name, HTTP_OK, NULL);
		else if (wr->post && rest[0] != '\0')
			queue_post(wr, name, rest);
		else
			http_reply_text(wr->req, true, HTTP_NOTFOUND);
	} else {
		http_reply_text(wr->req, true, HTTP_NOTFOUND);
	}
}
