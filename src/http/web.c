/*
 * web.c - one request of the pages or the API: its path, who sent it (the
 * session cookie, checked by lookupd on every request), a form checked against
 * cross-site forgery, and the calls it makes to lookupd and queued.
 */
#include "http/web.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <strings.h>

#include "http/http_form.h"
#include "http/http_host.h"
#include "http/http_reply.h"
#include "queue/queue_ctl.h"
#include "util/log.h"

#define WEB_ARGS_MAX 16
#define COOKIE_NAME "__Host-mr_session"

/* bad_path - 400 for a path that cannot be read: JSON for the API, text for the rest. */
static bool
bad_path(struct evhttp_request *req, const char *raw)
{
	if (raw != NULL && strncmp(raw, "/api/", 5) == 0)
		http_reply_json_error(req, HTTP_BADREQUEST, "the path cannot be read");
	else
		http_reply_text(req, true, HTTP_BADREQUEST);
	return false;
}

bool
web_req_init(struct web_req *wr, struct httpd *srv, struct evhttp_request *req)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *raw = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	char *peer = NULL;
	ev_uint16_t port = 0;

	memset(wr, 0, sizeof *wr);
	wr->srv = srv;
	wr->req = req;
	wr->post = evhttp_request_get_command(req) == EVHTTP_REQ_POST;
	TAILQ_INIT(&wr->form);
	if (evcon != NULL)
		evhttp_connection_get_peer(evcon, &peer, &port);
	snprintf(wr->ip, sizeof wr->ip, "%s", peer != NULL ? peer : "");
	if (raw == NULL)
		return bad_path(req, raw);
	size_t n = 0;
	char *dec = evhttp_uridecode(raw, 0, &n);
	/* A NUL, a control or a dot segment in a decoded path is nothing we serve. */
	if (dec == NULL || n >= sizeof wr->path || strlen(dec) != n || strstr(dec, "/../") != NULL) {
		free(dec);
		return bad_path(req, raw);
	}
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)dec[i] < 0x20 || dec[i] == 0x7f) {
			free(dec);
			return bad_path(req, raw);
		}
	}
	memcpy(wr->path, dec, n + 1);
	free(dec);
	wr->query = evhttp_uri_get_query(uri);
	return true;
}

void
web_req_free(struct web_req *wr)
{
	evhttp_clear_headers(&wr->form);
	explicit_bzero(wr->cred, sizeof wr->cred);
}

void
web_session_load(struct web_req *wr)
{
	const char *cookie = evhttp_find_header(evhttp_request_get_input_headers(wr->req), "Cookie");
	char sid[WEB_SID_LEN + 8];

	wr->who.kind = WEB_NOBODY;
	if (http_cookie_get(cookie, COOKIE_NAME, sid, sizeof sid) != 1 || strlen(sid) != WEB_SID_LEN)
		return;
	snprintf(wr->cred, sizeof wr->cred, "s:%s", sid);
	if (web_whois(wr->srv->acct, wr->cred, &wr->who) != 1) {
		wr->who.kind = WEB_NOBODY;
		wr->cred[0] = '\0';
	}
}

/* same_origin - an Origin header, when there is one, names this https host. */
static bool
same_origin(struct web_req *wr)
{
	struct evkeyvalq *h = evhttp_request_get_input_headers(wr->req);
	const char *origin = evhttp_find_header(h, "Origin");
	const char *hosthdr = evhttp_find_header(h, "Host");
	char want[300];

	if (origin == NULL)
		return true; /* old browsers and plain clients; SameSite and the token still hold */
	if (hosthdr == NULL || strlen(hosthdr) > 255)
		return false;
	snprintf(want, sizeof want, "https://%s", hosthdr);
	return strcasecmp(origin, want) == 0;
}

bool
web_form_read(struct web_req *wr)
{
	struct evkeyvalq *h = evhttp_request_get_input_headers(wr->req);
	const char *type = evhttp_find_header(h, "Content-Type");
	struct evbuffer *in = evhttp_request_get_input_buffer(wr->req);
	size_t len = evbuffer_get_length(in);

	if (!same_origin(wr)) {
		http_reply_text(wr->req, true, HTTP_FORBIDDEN);
		return false;
	}
	if (type == NULL || strncasecmp(type, "application/x-www-form-urlencoded", 33) != 0) {
		http_reply_text(wr->req, true, HTTP_UNSUPPORTED_TYPE);
		return false;
	}
	const char *body = len > 0 ? (const char *)evbuffer_pullup(in, -1) : "";
	if (body == NULL || http_form_parse(body, len, &wr->form) < 0) {
		http_reply_text(wr->req, true, HTTP_BADREQUEST);
		return false;
	}
	wr->form_read = true;
	const char *csrf = http_form_get(&wr->form, "csrf");
	if (wr->who.kind == WEB_NOBODY || csrf == NULL || !http_secret_equal(csrf, wr->who.csrf)) {
		ev_info("csrf-refused", KS("client", wr->ip), KS("path", wr->path));
		http_reply_text(wr->req, true, HTTP_FORBIDDEN);
		return false;
	}
	return true;
}

const char *
web_field(struct web_req *wr, const char *name)
{
	char *v = (char *)http_form_get(&wr->form, name);
	if (v == NULL)
		return "";
	/* Trimmed in place: the list owns the value. */
	while (*v == ' ' || *v == '\t')
		v++;
	size_t n = strlen(v);
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\r' || v[n - 1] == '\n'))
		v[--n] = '\0';
	return v;
}

bool
web_query(struct web_req *wr, const char *name, char *out, size_t outlen)
{
	struct evkeyvalq q;
	bool found = false;

	if (wr->query == NULL || evhttp_parse_query_str(wr->query, &q) < 0)
		return false;
	const char *v = evhttp_find_header(&q, name);
	if (v != NULL && strlen(v) < outlen) {
		memcpy(out, v, strlen(v) + 1);
		found = true;
	}
	evhttp_clear_headers(&q);
	return found;
}

/* parse_answer - json into *out (an object), or an error object when it is not one. */
static int
parse_answer(int status, const struct buf *json, json_t **out)
{
	json_error_t e;
	json_t *o = json->len > 0 ? json_loadb(json->data, json->len, 0, &e) : NULL;

	if (o == NULL || !json_is_object(o)) {
		json_decref(o);
		o = json_pack("{s:s}", "error", "the answer could not be read");
		if (status < 400)
			status = HTTP_INTERNAL;
	}
	*out = o;
	return status;
}

int
web_callv(struct web_req *wr, json_t **out, const char *op, const char *const *args, size_t nargs)
{
	struct buf json = { 0 };
	int status = web_op(wr->srv->acct, wr->cred, op, args, nargs, &json);
	status = parse_answer(status, &json, out);
	buf_free(&json);
	return status;
}

int
web_call(struct web_req *wr, json_t **out, const char *op, ...)
{
	const char *args[WEB_ARGS_MAX];
	size_t n = 0;
	va_list ap;

	va_start(ap, op);
	for (const char *a; (a = va_arg(ap, const char *)) != NULL && n < WEB_ARGS_MAX;)
		args[n++] = a;
	va_end(ap);
	return web_callv(wr, out, op, args, n);
}

int
web_queue(struct web_req *wr, json_t **out, const char *op, const char *arg)
{
	struct buf json = { 0 };
	int status = queue_ctl_call(wr->srv->qctl_fd, op, arg, &json);
	status = parse_answer(status, &json, out);
	buf_free(&json);
	return status;
}

const char *
web_error_text(json_t *answer, int status)
{
	const char *e = json_string_value(json_object_get(answer, "error"));
	return e != NULL ? e : http_status_reason(status);
}

int
web_begin(struct web_req *wr, struct buf *b, enum html_section section, const char *title,
    const char *current, const char *error)
{
	bool in = wr->who.kind != WEB_NOBODY;
	struct html_page p = { .section = section, .title = title, .current = current,
		.who = in ? wr->who.name : NULL, .csrf = in ? wr->who.csrf : NULL,
		.error = error, .notice = error == NULL ? web_done_notice(wr) : NULL };
	return html_begin(b, &p);
}

void
web_failed(struct web_req *wr, enum html_section section, const char *title, const char *current,
    int status, json_t *answer)
{
	struct buf b = { 0 };
	int rc = web_begin(wr, &b, section, title, current, web_error_text(answer, status));
	if (rc == 0)
		rc = html_end(&b);
	web_send_page(wr, status >= 400 ? status : HTTP_INTERNAL, &b, rc);
}

void
web_send_page(struct web_req *wr, int code, struct buf *b, int rc)
{
	if (rc != 0)
		http_reply_text(wr->req, true, HTTP_INTERNAL);
	else
		http_reply_html(wr->req, code, b);
	buf_free(b);
}

/* The notices a redirect after a form may ask for: fixed words, never text from the URL. */
static const struct {
	const char *code, *text;
} notices[] = {
	{ "domain-added", "The domain was added." }, { "domain-deleted", "The domain was deleted." },
	{ "user-added", "The user was added." }, { "user-deleted", "The user was deleted." },
	{ "password", "The password was changed." }, { "quota", "The quota was changed." },
	{ "suspended", "The user is suspended: logins are refused, mail is still received." },
	{ "resumed", "The user can log in again." }, { "limits", "The sending limits were changed." },
	{ "alias-added", "The alias was added." }, { "alias-deleted", "The alias was deleted." },
	{ "held", "The message is held." }, { "released", "The message was released." },
	{ "deleted", "The message was deleted." }, { "flushed", "Every deferred message is being retried now." },
	{ "app-password-deleted", "The app password was deleted." },
	{ "forward", "Forwarding was saved." }, { "forward-off", "Forwarding is off." },
	{ "vacation", "The vacation reply is on." }, { "vacation-off", "The vacation reply is off." },
	{ "rotated", "New DKIM keys were made; publish them before they sign." },
	{ "logged-out", "You are logged out." },
	{ "password-relogin", "The password was changed. Log in with the new one." },
};

const char *
web_done_notice(struct web_req *wr)
{
	char code[32];

	if (!web_query(wr, "done", code, sizeof code))
		return NULL;
	for (size_t i = 0; i < sizeof notices / sizeof notices[0]; i++)
		if (strcmp(notices[i].code, code) == 0)
			return notices[i].text;
	return NULL;
}

void
web_redirect_done(struct web_req *wr, const char *path, const char *code)
{
	struct buf loc = { 0 };

	/* path is ours; an address in it has only characters a path may hold. */
	if (buf_printf(&loc, "%s", path) < 0 ||
	    (code != NULL && buf_printf(&loc, "?done=%s", code) < 0)) {
		buf_free(&loc);
		http_reply_text(wr->req, true, HTTP_INTERNAL);
		return;
	}
	http_redirect(wr->req, true, loc.data);
	buf_free(&loc);
}

const char *
jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s != NULL ? s : "";
}

json_int_t
jint(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

bool
jbool(json_t *o, const char *key)
{
	return json_is_true(json_object_get(o, key));
}
