/*
 * pages_login.c - logging in to the pages and out again. lookupd checks the
 * password (never an app password), counts failures with those of SMTP and
 * POP3, and makes the session; its id lives only in a __Host- cookie that is
 * Secure, HttpOnly and SameSite=Strict. The login form itself is protected
 * against forgery by a token in a cookie that the form repeats.
 */
#include <event2/buffer.h>
#include <event2/http.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "http/http_form.h"
#include "http/http_reply.h"
#include "http/web.h"
#include "util/log.h"

#define SESSION_COOKIE "__Host-mr_session"
#define LOGIN_COOKIE "__Host-mr_login"
#define LOGIN_TOKEN_LEN 32 /* hex digits */

static void
set_cookie(struct evhttp_request *req, const char *name, const char *value, bool clear)
{
	char v[256];
	snprintf(v, sizeof v, "%s=%s; Path=/; Secure; HttpOnly; SameSite=Strict%s", name, value,
	    clear ? "; Max-Age=0" : "");
	evhttp_add_header(evhttp_request_get_output_headers(req), "Set-Cookie", v);
}

static int
random_hex(char *out, size_t ndigits)
{
	unsigned char raw[64];
	if (ndigits / 2 > sizeof raw || RAND_bytes(raw, (int)(ndigits / 2)) != 1)
		return -1;
	for (size_t i = 0; i < ndigits / 2; i++)
		snprintf(out + 2 * i, 3, "%02x", raw[i]);
	return 0;
}

static void
login_form(struct web_req *wr, enum web_kind kind, int code, const char *error, const char *name)
{
	struct buf b = { 0 };
	char token[LOGIN_TOKEN_LEN + 1];
	bool admin = kind == WEB_ADMIN;
	const char *action = admin ? "/admin/login" : "/account/login";
	struct html_page p = { .section = HTML_PUBLIC,
		.title = admin ? "Administrator login" : "Log in to your mailbox",
		.error = error, .notice = web_done_notice(wr) };

	if (random_hex(token, LOGIN_TOKEN_LEN) < 0) {
		http_reply_text(wr->req, true, HTTP_INTERNAL);
		return;
	}
	set_cookie(wr->req, LOGIN_COOKIE, token, false);
	int rc = html_begin(&b, &p);
	if (rc == 0)
		rc = html_fmt(&b, "<div class=\"card login\"><form method=\"post\" action=\"%s\" "
		    "id=\"login\" class=\"stack\"><input type=\"hidden\" name=\"csrf\" value=\"%s\">"
		    "<label>%s<input type=\"%s\" name=\"name\" value=\"%s\" required "
		    "autocomplete=\"username\" autofocus></label>"
		    "<label>Password<input type=\"password\" name=\"password\" required "
		    "autocomplete=\"current-password\"></label>"
		    "<button type=\"submit\">Log in</button></form>%r</div>",
		    action, token, admin ? "Administrator" : "Mail address", admin ? "text" : "email",
		    name != NULL ? name : "",
		    admin ? "<p class=\"muted\">Mailbox users log in at <a href=\"/account/\">"
		    "/account/</a>.</p>" : "");
	if (rc == 0)
		rc = html_end(&b);
	web_send_page(wr, code, &b, rc);
}

/* login_token_ok - the form's token is the one in its cookie (double submit). */
static bool
login_token_ok(struct web_req *wr, const char *field)
{
	const char *cookie = evhttp_find_header(evhttp_request_get_input_headers(wr->req), "Cookie");
	char token[LOGIN_TOKEN_LEN + 8];

	return http_cookie_get(cookie, LOGIN_COOKIE, token, sizeof token) == 1 &&
	    strlen(token) == LOGIN_TOKEN_LEN && http_secret_equal(token, field);
}

enum lookup_verdict
web_session_start(struct web_req *wr, enum web_kind kind, const char *name, const char *password)
{
	char sid[WEB_SID_LEN + 1];
	struct web_who who;
	enum lookup_verdict v = web_login(wr->srv->acct, kind, name, password, wr->ip, sid, &who);

	if (v == VERDICT_OK) {
		set_cookie(wr->req, SESSION_COOKIE, sid, false);
		explicit_bzero(sid, sizeof sid);
	}
	return v;
}

void
web_login_page(struct web_req *wr, enum web_kind kind)
{
	const char *home = kind == WEB_ADMIN ? "/admin/" : "/account/";

	if (!wr->post) {
		web_session_load(wr);
		if (wr->who.kind == kind) {
			http_redirect(wr->req, true, home);
			return;
		}
		login_form(wr, kind, HTTP_OK, NULL, NULL);
		return;
	}
	struct evkeyvalq *h = evhttp_request_get_input_headers(wr->req);
	struct evbuffer *in = evhttp_request_get_input_buffer(wr->req);
	size_t len = evbuffer_get_length(in);
	const char *body = len > 0 ? (const char *)evbuffer_pullup(in, -1) : "";
	const char *type = evhttp_find_header(h, "Content-Type");
	if (type == NULL || strncasecmp(type, "application/x-www-form-urlencoded", 33) != 0 ||
	    body == NULL || http_form_parse(body, len, &wr->form) < 0) {
		http_reply_text(wr->req, true, HTTP_BADREQUEST);
		return;
	}
	wr->form_read = true;
	if (!login_token_ok(wr, web_field(wr, "csrf"))) {
		/* A stale form (its cookie expired) or a forged one: a fresh form, nothing tried. */
		login_form(wr, kind, HTTP_FORBIDDEN, "The form had expired. Please log in again.", NULL);
		return;
	}
	const char *name = web_field(wr, "name"), *password = http_form_get(&wr->form, "password");
	if (name[0] == '\0' || password == NULL || password[0] == '\0') {
		login_form(wr, kind, HTTP_BADREQUEST, "Enter your name and password.", name);
		return;
	}
	enum lookup_verdict v = web_session_start(wr, kind, name, password);
	switch (v) {
	case VERDICT_OK:
		set_cookie(wr->req, LOGIN_COOKIE, "", true);
		http_redirect(wr->req, true, home);
		return;
	case VERDICT_BLOCKED:
		login_form(wr, kind, HTTP_TOOMANY, "Too many failed logins. Try again later.", name);
		return;
	case VERDICT_BUSY:
	case VERDICT_TEMPFAIL:
		login_form(wr, kind, HTTP_SERVUNAVAIL, "Logins cannot be checked just now. "
		    "Try again in a minute.", name);
		return;
	default:
		login_form(wr, kind, HTTP_UNAUTHORIZED, "The name or the password is wrong.", name);
		return;
	}
}

void
web_logout_page(struct web_req *wr)
{
	if (!wr->post) {
		http_reply_text(wr->req, true, HTTP_BADMETHOD);
		return;
	}
	web_session_load(wr);
	enum web_kind kind = wr->who.kind;
	if (!web_form_read(wr))
		return;
	web_logout(wr->srv->acct, wr->cred + 2);
	set_cookie(wr->req, SESSION_COOKIE, "", true);
	web_redirect_done(wr, kind == WEB_ADMIN ? "/admin/login" : "/account/login", "logged-out");
}
