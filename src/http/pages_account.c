/*
 * pages_account.c - /account/: what a mailbox's owner does without a shell:
 * see the quota use, change the password, make and delete app passwords (for
 * phones and mail clients: SMTP and POP3 only, never these pages), forward
 * mail, and set a vacation reply. lookupd runs every operation on the
 * session's own address: no field here names the user.
 */
#include <event2/http.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "http/http_form.h"
#include "http/http_reply.h"
#include "http/web.h"

/* show - the account (self.show), or NULL when the page was answered with the failure. */
static json_t *
show(struct web_req *wr, const char *title, const char *current)
{
	json_t *u = NULL;
	int st = web_call(wr, &u, "self.show", NULL);
	if (st != 200) {
		web_failed(wr, HTML_ACCOUNT, title, current, st, u);
		json_decref(u);
		return NULL;
	}
	return u;
}

static void
overview(struct web_req *wr)
{
	json_t *u = show(wr, "My account", "/account/"), *use = NULL;
	struct buf b = { 0 };
	char used[32], quota[32];

	if (u == NULL)
		return;
	int ust = web_queue(wr, &use, "usage", wr->who.name);
	uint64_t q = (uint64_t)jint(u, "quota"), n = (uint64_t)jint(use, "bytes");
	html_size(used, sizeof used, n);
	if (q > 0)
		html_size(quota, sizeof quota, q);
	unsigned pct = q > 0 ? (unsigned)(n >= q ? 100 : n * 100 / q) : 0;
	json_t *fwd = json_object_get(u, "forward"), *vac = json_object_get(u, "vacation");
	int rc = web_begin(wr, &b, HTML_ACCOUNT, "My account", "/account/", NULL);
	if (rc == 0)
		rc = html_fmt(&b, "<div class=\"card\"><h2>%s</h2><div id=\"quota\">", wr->who.name);
	if (rc == 0 && ust != 200)
		rc = html_fmt(&b, "<p class=\"muted\">The mailbox's use cannot be read just now.</p>");
	else if (rc == 0 && q > 0)
		rc = html_fmt(&b, "<p>%s of %s used (%u%%)</p><div class=\"meter\" role=\"meter\" "
		    "aria-valuemin=\"0\" aria-valuemax=\"100\" aria-valuenow=\"%u\"><span class=\"w%u\"></span></div>",
		    used, quota, pct, pct, pct / 5 * 5);
	else if (rc == 0)
		rc = html_fmt(&b, "<p>%s used (no quota)</p>", used);
	if (rc == 0)
		rc = html_fmt(&b, "</div></div><div class=\"cards\">"
		    "<a class=\"stat\" href=\"/account/forward\"><span class=\"l\">Forwarding</span><span class=\"n\">%s</span></a>"
		    "<a class=\"stat\" href=\"/account/vacation\"><span class=\"l\">Vacation reply</span><span class=\"n\">%s</span></a>"
		    "<a class=\"stat\" href=\"/account/app-passwords\"><span class=\"l\">App passwords</span><span class=\"n\">%U</span></a>"
		    "<a class=\"stat\" href=\"/account/password\"><span class=\"l\">Password</span><span class=\"n\">Change</span></a>"
		    "</div>", json_is_object(fwd) ? "On" : "Off", json_is_object(vac) ? "On" : "Off",
		    (uint64_t)json_array_size(json_object_get(u, "app_passwords")));
	if (rc == 0)
		rc = html_end(&b);
	json_decref(u);
	json_decref(use);
	web_send_page(wr, HTTP_OK, &b, rc);
}

/* ---- password ---- */

static void
password_page(struct web_req *wr, int code, const char *error)
{
	struct buf b = { 0 };
	int rc = web_begin(wr, &b, HTML_ACCOUNT, "Password", "/account/password", error);
	if (rc == 0)
		rc = html_fmt(&b, "<div class=\"card\">") ||
		    html_form_begin(&b, "password", "/account/password", wr->who.csrf, NULL) ||
		    html_fmt(&b, "<div class=\"stack\"><input type=\"hidden\" name=\"username\" "
		    "autocomplete=\"username\" value=\"%s\">"
		    "<label>Current password<input type=\"password\" name=\"current\" required autocomplete=\"current-password\"></label>"
		    "<label>New password<input type=\"password\" name=\"password\" required minlength=\"8\" autocomplete=\"new-password\"></label>"
		    "<label>New password again<input type=\"password\" name=\"confirm\" required minlength=\"8\" autocomplete=\"new-password\"></label>"
		    "<button type=\"submit\">Change password</button></div></form>"
		    "<p class=\"muted\">Your mail programs need the new password too, unless they use an "
		    "<a href=\"/account/app-passwords\">app password</a>.</p></div>", wr->who.name);
	if (rc == 0)
		rc = html_end(&b);
	web_send_page(wr, code, &b, rc);
}

static void
password_post(struct web_req *wr)
{
	const char *cur = http_form_get(&wr->form, "current"), *pw = http_form_get(&wr->form, "password"),
	    *again = http_form_get(&wr->form, "confirm");
	json_t *a = NULL;

	if (cur == NULL || pw == NULL || again == NULL || strcmp(pw, again) != 0) {
		password_page(wr, HTTP_BADREQUEST, "The two new passwords differ.");
		return;
	}
	if (strlen(pw) < 8) {
		password_page(wr, HTTP_BADREQUEST, "The new password needs at least 8 characters.");
		return;
	}
	int st = web_call(wr, &a, "self.passwd", cur, pw, NULL);
	if (st < 300) {
		/* lookupd ended every session of the user, this one too: a new one, with the new password. */
		char name[ADDR_MAX + 1];
		snprintf(name, sizeof name, "%s", wr->who.name);
		if (web_session_start(wr, WEB_USER, name, pw) == VERDICT_OK)
			web_redirect_done(wr, "/account/", "password");
		else
			web_redirect_done(wr, "/account/login", "password-relogin");
	} else
		password_page(wr, st, st == HTTP_FORBIDDEN || st == HTTP_UNAUTHORIZED ?
		    "The current password is wrong." : web_error_text(a, st));
	json_decref(a);
}

/* ---- app passwords ---- */

static void
app_passwords_page(struct web_req *wr, int code, const char *error, const char *made_name,
    const char *made)
{
	json_t *u = show(wr, "App passwords", "/account/app-passwords"), *v;
	struct buf b = { 0 };
	size_t i;

	if (u == NULL)
		return;
	int rc = web_begin(wr, &b, HTML_ACCOUNT, "App passwords", "/account/app-passwords", error);
	if (rc == 0 && made != NULL)
		rc = html_fmt(&b, "<div class=\"card\"><h2>New app password “%s”</h2><p>Enter it in the "
		    "mail program instead of your password. It is shown only now.</p><p><code class=\"secret\" "
		    "id=\"new-app-password\">%s</code> <button type=\"button\" class=\"secondary\" "
		    "data-copy=\"new-app-password\">Copy</button></p></div>", made_name, made);
	if (rc == 0)
		rc = html_fmt(&b, "<div class=\"card\"><h2>Make an app password</h2><p class=\"muted\">"
		    "For phones and mail programs: it works for sending (SMTP) and fetching (POP3), "
		    "not for these pages.</p>") ||
		    html_form_begin(&b, "app-password-add", "/account/app-passwords", wr->who.csrf, NULL) ||
		    html_fmt(&b, "<div class=\"row\"><label>Name<input type=\"text\" name=\"name\" required "
		    "maxlength=\"64\" placeholder=\"phone\"></label><button type=\"submit\">Make</button></div></form></div>");
	if (rc == 0)
		rc = html_fmt(&b, "<div class=\"card table-wrap\"><table id=\"app-passwords\"><thead><tr>"
		    "<th>Name</th><th class=\"opt\">Made</th><th></th></tr></thead><tbody>");
	json_array_foreach(json_object_get(u, "app_passwords"), i, v) {
		if (rc == 0)
			rc = html_fmt(&b, "<tr data-name=\"%s\"><td>%s</td><td class=\"opt\">%s</td><td class=\"actions\">",
			    jstr(v, "name"), jstr(v, "name"), jstr(v, "created")) ||
			    html_form_begin(&b, "app-password-delete", "/account/app-passwords/delete",
			    wr->who.csrf, "Delete this app password? Programs using it stop working.") ||
			    html_fmt(&b, "<input type=\"hidden\" name=\"name\" value=\"%s\"><button type=\"submit\" "
			    "class=\"danger\">Delete</button></form></td></tr>", jstr(v, "name"));
	}
	if (rc == 0 && json_array_size(json_object_get(u, "app_passwords")) == 0)
		rc = html_fmt(&b, "<tr><td colspan=\"3\" class=\"muted\">None yet.</td></tr>");
	if (rc == 0)
		rc = html_fmt(&b, "</tbody></table></div>");
	if (rc == 0)
		rc = html_end(&b);
	json_decref(u);
	web_send_page(wr, code, &b, rc);
}

static void
app_passwords_post(struct web_req *wr, bool del)
{
	json_t *a = NULL;
	const char *name = web_field(wr, "name");

	if (del) {
		int st = web_call(wr, &a, "self.app_password.del", name, NULL);
		if (st < 300)
			web_redirect_done(wr, "/account/app-passwords", "app-password-deleted");
		else
			app_passwords_page(wr, st, web_error_text(a, st), NULL, NULL);
		json_decref(a);
		return;
	}
	int st = web_call(wr, &a, "self.app_password.add", name, NULL);
	if (st < 300)
		/* Shown once, in the answer to the POST itself: never in a URL or a redirect. */
		app_passwords_page(wr, HTTP_OK, NULL, jstr(a, "name"), jstr(a, "password"));
	else
		app_passwords_page(wr, st, web_error_text(a, st), NULL, NULL);
	json_decref(a);
}

/* ---- forwarding ---- */

static void
forward_page(struct web_req *wr, int code, const char *error)
{
	json_t *u = show(wr, "Forwarding", "/account/forward"), *t;
	struct buf b = { 0 }, targets = { 0 };
	size_t i;

	if (u == NULL)
		return;
	json_t *fwd = json_object_get(u, "forward");
	bool on = json_is_object(fwd), keep = on ? jbool(fwd, "keep") : true;
	json_array_foreach(json_object_get(fwd, "targets"), i, t) {
		if (buf_printf(&targets, "%s%s", targets.len ? ", " : "", json_string_value(t)) < 0)
			break;
	}
	int rc = web_begin(wr, &b, HTML_ACCOUNT, "Forwarding", "/account/forward", error);
	if (rc == 0)
		rc = html_fmt(&b, "<div class=\"card\"><p>%r</p>", on ?
		    "Mail to you is forwarded." : "Forwarding is off: mail stays in this mailbox.") ||
		    html_form_begin(&b, "forward", "/account/forward", wr->who.csrf, NULL) ||
		    html_fmt(&b, "<div class=\"stack\"><label>Forward to<input type=\"text\" name=\"targets\" "
		    "required value=\"%s\" placeholder=\"me@elsewhere.net\"></label>"
		    "<label class=\"check\"><input type=\"checkbox\" name=\"keep\" value=\"1\"%r> Keep a copy here</label>"
		    "<button type=\"submit\">Save</button></div></form>",
		    targets.len ? targets.data : "", keep ? " checked" : "");
	if (rc == 0 && on)
		rc = html_form_begin(&b, "forward-off", "/account/forward/off", wr->who.csrf, NULL) ||
		    html_fmt(&b, "<p><button type=\"submit\" class=\"secondary\">Stop forwarding</button></p></form>");
	if (rc == 0)
		rc = html_fmt(&b, "</div>");
	if (rc == 0)
		rc = html_end(&b);
	buf_free(&targets);
	json_decref(u);
	web_send_page(wr, code, &b, rc);
}

static void
forward_post(struct web_req *wr, bool off)
{
	json_t *a = NULL;
	int st;

	if (off) {
		st = web_call(wr, &a, "self.forward.off", NULL);
		if (st < 300)
			web_redirect_done(wr, "/account/forward", "forward-off");
		else
			forward_page(wr, st, web_error_text(a, st));
		json_decref(a);
		return;
	}
	const char *args[11];
	char targets[4096];
	size_t n = 1;
	args[0] = web_field(wr, "keep")[0] == '1' ? "1" : "0";
	snprintf(targets, sizeof targets, "%s", web_field(wr, "targets"));
	for (char *tok = strtok(targets, ", \t\r\n;"); tok != NULL && n < 11; tok = strtok(NULL, ", \t\r\n;"))
		args[n++] = tok;
	if (n == 1) {
		forward_page(wr, HTTP_BADREQUEST, "Give the address to forward to.");
		return;
	}
	st = web_callv(wr, &a, "self.forward.set", args, n);
	if (st < 300)
		web_redirect_done(wr, "/account/forward", "forward");
	else
		forward_page(wr, st, web_error_text(a, st));
	json_decref(a);
}

/* ---- vacation ---- */

static void
vacation_page(struct web_req *wr, int code, const char *error)
{
	json_t *u = show(wr, "Vacation reply", "/account/vacation");
	struct buf b = { 0 };

	if (u == NULL)
		return;
	json_t *vac = json_object_get(u, "vacation");
	bool on = json_is_object(vac);
	int rc = web_begin(wr, &b, HTML_ACCOUNT, "Vacation reply", "/account/vacation", error);
	if (rc == 0)
		rc = html_fmt(&b, "<div class=\"card\"><p>%r</p>", on ?
		    "The vacation reply is on." : "The vacation reply is off.") ||
		    html_form_begin(&b, "vacation", "/account/vacation", wr->who.csrf, NULL) ||
		    html_fmt(&b, "<div class=\"stack\"><label>Subject<input type=\"text\" name=\"subject\" "
		    "required maxlength=\"200\" value=\"%s\" placeholder=\"Out of office\"></label>"
		    "<label>Message<textarea name=\"body\" required>%s</textarea></label>"
		    "<label>Until (optional)<input type=\"date\" name=\"until\" value=\"%s\"></label>"
		    "<button type=\"submit\">Turn on</button></div></form>"
		    "<p class=\"muted\">Each sender gets at most one reply a week; lists, bulk mail and "
		    "automatic messages get none.</p>", on ? jstr(vac, "subject") : "",
		    on ? jstr(vac, "body") : "", on ? jstr(vac, "until") : "");
	if (rc == 0 && on)
		rc = html_form_begin(&b, "vacation-off", "/account/vacation/off", wr->who.csrf, NULL) ||
		    html_fmt(&b, "<p><button type=\"submit\" class=\"secondary\">Turn off</button></p></form>");
	if (rc == 0)
		rc = html_fmt(&b, "</div>");
	if (rc == 0)
		rc = html_end(&b);
	json_decref(u);
	web_send_page(wr, code, &b, rc);
}

static void
vacation_post(struct web_req *wr, bool off)
{
	json_t *a = NULL;
	int st = off ? web_call(wr, &a, "self.vacation.off", NULL) :
	    web_call(wr, &a, "self.vacation.set", web_field(wr, "subject"),
	    http_form_get(&wr->form, "body") ? http_form_get(&wr->form, "body") : "",
	    web_field(wr, "until"), NULL);
	if (st < 300)
		web_redirect_done(wr, "/account/vacation", off ? "vacation-off" : "vacation");
	else
		vacation_page(wr, st, web_error_text(a, st));
	json_decref(a);
}

void
web_account(struct web_req *wr)
{
	const char *p = wr->path;

	web_session_load(wr);
	if (wr->who.kind != WEB_USER) {
		if (wr->post)
			http_reply_text(wr->req, true, HTTP_FORBIDDEN);
		else
			http_redirect(wr->req, true, "/account/login");
		return;
	}
	if (wr->post && !web_form_read(wr))
		return;
	if ((strcmp(p, "/account/") == 0 || strcmp(p, "/account") == 0) && !wr->post)
		overview(wr);
	else if (strcmp(p, "/account/password") == 0)
		wr->post ? password_post(wr) : password_page(wr, HTTP_OK, NULL);
	else if (strcmp(p, "/account/app-passwords") == 0)
		wr->post ? app_passwords_post(wr, false) : app_passwords_page(wr, HTTP_OK, NULL, NULL, NULL);
	else if (strcmp(p, "/account/app-passwords/delete") == 0 && wr->post)
		app_passwords_post(wr, true);
	else if (strcmp(p, "/account/forward") == 0)
		wr->post ? forward_post(wr, false) : forward_page(wr, HTTP_OK, NULL);
	else if (strcmp(p, "/account/forward/off") == 0 && wr->post)
		forward_post(wr, true);
	else if (strcmp(p, "/account/vacation") == 0)
		wr->post ? vacation_post(wr, false) : vacation_page(wr, HTTP_OK, NULL);
	else if (strcmp(p, "/account/vacation/off") == 0 && wr->post)
		vacation_post(wr, true);
	else
		http_reply_text(wr->req, true, HTTP_NOTFOUND);
}
