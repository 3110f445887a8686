/*
 * api.c - the JSON API under /api/v1/, for control panels and scripts: the
 * operations of the CLI, with a bearer token of `mailroom admin token add`.
 * Bodies are JSON objects; answers are JSON, errors {"error": "..."} with the
 * HTTP status that says what went wrong. lookupd checks the token for every
 * account operation; queue operations ask it who the token is first.
 * docs/api.md lists the routes.
 */
#include <event2/buffer.h>
#include <event2/http.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "http/http_form.h"
#include "http/http_reply.h"
#include "http/web_dns_check.h"
#include "http/web.h"
#include "util/units.h"

#define API_BODY_MAX 65536
#define API_TARGETS_MAX 10

enum method { M_GET, M_POST, M_PUT, M_DELETE, M_OTHER };

struct api {
	struct web_req *wr;
	enum method m;
	json_t *body;      /* the request's object, or an empty one */
};

static void
answer(struct api *a, int status, json_t *o)
{
	char *s = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	struct buf b = { 0 };

	if (s == NULL || buf_printf(&b, "%s\n", s) < 0)
		http_reply_json_error(a->wr->req, HTTP_INTERNAL, "out of memory");
	else
		http_reply_json(a->wr->req, status, &b);
	free(s);
	buf_free(&b);
}

static void
refuse(struct api *a, int status, const char *msg)
{
	http_reply_json_error(a->wr->req, status, msg);
}

/* op - an account operation of lookupd, answered as it comes. */
static void
opv(struct api *a, const char *op, const char *const *args, size_t n)
{
	json_t *o = NULL;
	int st = web_callv(a->wr, &o, op, args, n);
	answer(a, st, o);
	json_decref(o);
}

static void
op0(struct api *a, const char *op)
{
	opv(a, op, NULL, 0);
}

static void
op1(struct api *a, const char *op, const char *x)
{
	opv(a, op, &x, 1);
}

/* str - a string member of the body, or NULL (answered 400) when absent or not a string. */
static const char *
str(struct api *a, const char *key, bool required)
{
	json_t *v = json_object_get(a->body, key);
	if (v == NULL && !required)
		return "";
	if (!json_is_string(v)) {
		char msg[128];
		snprintf(msg, sizeof msg, "the body needs \"%s\" as a string", key);
		refuse(a, HTTP_BADREQUEST, msg);
		return NULL;
	}
	return json_string_value(v);
}

/* size_member - a size member (a number of bytes, or a string like "2G") as decimal text. */
static bool
size_member(struct api *a, const char *key, char *out, size_t len)
{
	json_t *v = json_object_get(a->body, key);
	uint64_t n = 0;

	if (v == NULL || json_is_null(v)) {
		snprintf(out, len, "0");
		return true;
	}
	if (json_is_integer(v) && json_integer_value(v) >= 0)
		n = (uint64_t)json_integer_value(v);
	else if (!json_is_string(v) || parse_size(json_string_value(v), &n) < 0) {
		char msg[128];
		snprintf(msg, sizeof msg, "\"%s\" must be a number of bytes or a size like \"2G\"", key);
		refuse(a, HTTP_BADREQUEST, msg);
		return false;
	}
	snprintf(out, len, "%" PRIu64, n);
	return true;
}

/* count_member - a non-negative count member as decimal text; "" when absent (kept). */
static bool
count_member(struct api *a, const char *key, char *out, size_t len)
{
	json_t *v = json_object_get(a->body, key);
	out[0] = '\0';
	if (v == NULL)
		return true;
	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		char msg[128];
		snprintf(msg, sizeof msg, "\"%s\" must be a count (0 or more)", key);
		refuse(a, HTTP_BADREQUEST, msg);
		return false;
	}
	snprintf(out, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	return true;
}

/* targets - the body's "targets" array of strings into args[first...]; their count, or 0 (answered). */
static size_t
targets(struct api *a, const char **args, size_t first)
{
	json_t *t = json_object_get(a->body, "targets"), *v;
	size_t i, n = first;

	if (!json_is_array(t) || json_array_size(t) == 0 || json_array_size(t) > API_TARGETS_MAX) {
		refuse(a, HTTP_BADREQUEST, "the body needs \"targets\": an array of 1 to 10 addresses");
		return 0;
	}
	json_array_foreach(t, i, v) {
		if (!json_is_string(v)) {
			refuse(a, HTTP_BADREQUEST, "each target must be a string");
			return 0;
		}
		args[n++] = json_string_value(v);
	}
	return n;
}

static void
not_allowed(struct api *a)
{
	refuse(a, HTTP_BADMETHOD, "this method is not allowed here");
}

/* split - "/users/a@b/quota" after prefix "/users/" into "a@b" and "quota". */
static bool
split(const char *path, const char *prefix, char *first, size_t len, const char **rest)
{
	size_t pl = strlen(prefix);
	if (strncmp(path, prefix, pl) != 0)
		return false;
	const char *s = path + pl, *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	if (n == 0 || n >= len)
		return false;
	memcpy(first, s, n);
	first[n] = '\0';
	*rest = slash ? slash : "";
	return true;
}

/* dns_done - the check's answer to the request that asked for it (evhttp keeps it till then). */
static void
dns_done(void *arg, json_t *result)
{
	struct evhttp_request *req = arg;
	char *s = result != NULL ? json_dumps(result, JSON_COMPACT) : NULL;
	struct buf b = { 0 };

	if (s == NULL || buf_printf(&b, "%s\n", s) < 0)
		http_reply_json_error(req, HTTP_INTERNAL, "out of memory");
	else
		http_reply_json(req, 200, &b);
	free(s);
	buf_free(&b);
}

/* dns_check - lookupd's records (it also says whether the caller may see them), then the check. */
static void
dns_check(struct api *a, const char *domain)
{
	json_t *r = NULL;
	int st = web_call(a->wr, &r, "dns.records", domain, NULL);

	if (st != 200)
		answer(a, st, r);
	else if (web_dns_check_start(a->wr->srv, jstr(r, "domain"), json_object_get(r, "records"),
	    dns_done, a->wr->req) < 0)
		refuse(a, HTTP_SERVUNAVAIL, "cannot start the check");
	json_decref(r);
}

static void
domains(struct api *a, const char *p)
{
	char d[256];
	const char *rest;

	if (strcmp(p, "/domains") == 0) {
		if (a->m == M_GET)
			op0(a, "domain.list");
		else if (a->m == M_POST) {
			const char *name = str(a, "domain", true);
			if (name != NULL)
				op1(a, "domain.add", name);
		} else
			not_allowed(a);
	} else if (split(p, "/domains/", d, sizeof d, &rest)) {
		if (rest[0] == '\0')
			a->m == M_DELETE ? op1(a, "domain.del", d) : not_allowed(a);
		else if (strcmp(rest, "/dns") == 0)
			a->m == M_GET ? op1(a, "dns.records", d) : not_allowed(a);
		else if (strcmp(rest, "/dns/check") == 0)
			a->m == M_GET ? dns_check(a, d) : not_allowed(a);
		else if (strcmp(rest, "/dkim") == 0)
			a->m == M_GET ? op1(a, "dkim.list", d) : not_allowed(a);
		else if (strcmp(rest, "/dkim/rotate") == 0)
			a->m == M_POST ? op1(a, "dkim.rotate", d) : not_allowed(a);
		else
			refuse(a, HTTP_NOTFOUND, "no such route");
	} else {
		refuse(a, HTTP_NOTFOUND, "no such route");
	}
}

static void
user_sub(struct api *a, const char *addr, const char *rest)
{
	const char *args[2 + API_TARGETS_MAX];
	char n1[32], n2[32];
	char name[128];
	const char *more;

	args[0] = addr;
	if (strcmp(rest, "/password") == 0 && (a->m == M_PUT || a->m == M_POST)) {
		if ((args[1] = str(a, "password", true)) != NULL)
			opv(a, "user.passwd", args, 2);
	} else if (strcmp(rest, "/quota") == 0 && (a->m == M_PUT || a->m == M_POST)) {
		if (size_member(a, "quota", n1, sizeof n1)) {
			args[1] = n1;
			opv(a, "user.quota", args, 2);
		}
	} else if (strcmp(rest, "/suspend") == 0 && a->m == M_POST) {
		op1(a, "user.suspend", addr);
	} else if (strcmp(rest, "/resume") == 0 && a->m == M_POST) {
		op1(a, "user.resume", addr);
	} else if (strcmp(rest, "/limits") == 0 && (a->m == M_PUT || a->m == M_POST)) {
		if (count_member(a, "per_day", n1, sizeof n1) && count_member(a, "per_hour", n2, sizeof n2)) {
			const char *l[3] = { addr, n1, n2 };
			opv(a, "user.limit", l, 3);
		}
	} else if (strcmp(rest, "/app-passwords") == 0) {
		if (a->m == M_GET)
			op1(a, "user.app_password.list", addr);
		else if (a->m == M_POST && (args[1] = str(a, "name", true)) != NULL)
			opv(a, "user.app_password.add", args, 2);
		else if (a->m != M_POST)
			not_allowed(a);
	} else if (split(rest, "/app-passwords/", name, sizeof name, &more) && more[0] == '\0') {
		args[1] = name;
		a->m == M_DELETE ? opv(a, "user.app_password.del", args, 2) : not_allowed(a);
	} else if (strcmp(rest, "/forward") == 0) {
		if (a->m == M_DELETE) {
			op1(a, "user.forward.off", addr);
		} else if (a->m == M_PUT || a->m == M_POST) {
			args[1] = json_is_true(json_object_get(a->body, "keep")) ? "1" : "0";
			size_t n = targets(a, args, 2);
			if (n > 0)
				opv(a, "user.forward.set", args, n);
		} else {
			not_allowed(a);
		}
	} else if (strcmp(rest, "/vacation") == 0) {
		if (a->m == M_DELETE) {
			op1(a, "user.vacation.off", addr);
		} else if (a->m == M_PUT || a->m == M_POST) {
			const char *subject = str(a, "subject", true), *body = subject ? str(a, "body", true) : NULL,
			    *until = body ? str(a, "until", false) : NULL;
			if (until != NULL) {
				const char *v[4] = { addr, subject, body, until };
				opv(a, "user.vacation.set", v, 4);
			}
		} else {
			not_allowed(a);
		}
	} else {
		refuse(a, HTTP_NOTFOUND, "no such route");
	}
}

static void
users(struct api *a, const char *p)
{
	char addr[ADDR_MAX + 1], d[256], quota[32];
	const char *rest;

	if (strcmp(p, "/users") == 0) {
		if (a->m == M_GET) {
			if (web_query(a->wr, "domain", d, sizeof d))
				op1(a, "user.list", d);
			else
				op0(a, "user.list");
		} else if (a->m == M_POST) {
			const char *addr_s = str(a, "address", true);
			const char *pw = addr_s ? str(a, "password", true) : NULL;
			if (pw != NULL && size_member(a, "quota", quota, sizeof quota)) {
				const char *args[3] = { addr_s, pw, quota };
				opv(a, "user.add", args, 3);
			}
		} else {
			not_allowed(a);
		}
	} else if (split(p, "/users/", addr, sizeof addr, &rest)) {
		if (rest[0] == '\0') {
			if (a->m == M_GET)
				op1(a, "user.show", addr);
			else if (a->m == M_DELETE)
				op1(a, "user.del", addr);
			else
				not_allowed(a);
		} else {
			user_sub(a, addr, rest);
		}
	} else {
		refuse(a, HTTP_NOTFOUND, "no such route");
	}
}

static void
aliases(struct api *a, const char *p)
{
	char src[ADDR_MAX + 1];
	const char *rest;

	if (strcmp(p, "/aliases") == 0) {
		if (a->m == M_GET) {
			op0(a, "alias.list");
		} else if (a->m == M_POST) {
			const char *args[1 + API_TARGETS_MAX];
			if ((args[0] = str(a, "source", true)) != NULL) {
				size_t n = targets(a, args, 1);
				if (n > 0)
					opv(a, "alias.add", args, n);
			}
		} else {
			not_allowed(a);
		}
	} else if (split(p, "/aliases/", src, sizeof src, &rest) && rest[0] == '\0') {
		a->m == M_DELETE ? op1(a, "alias.del", src) : not_allowed(a);
	} else {
		refuse(a, HTTP_NOTFOUND, "no such route");
	}
}

static void
queue_op(struct api *a, const char *op, const char *arg)
{
	json_t *o = NULL;
	int st = web_queue(a->wr, &o, op, arg);
	answer(a, st, o);
	json_decref(o);
}

static void
queue(struct api *a, const char *p)
{
	char id[128];
	const char *rest;

	/* queued trusts httpd: the token is checked here, by lookupd, before it is asked. */
	if (web_whois(a->wr->srv->acct, a->wr->cred, &a->wr->who) != 1 || a->wr->who.kind != WEB_ADMIN) {
		refuse(a, HTTP_UNAUTHORIZED, "the token is not valid");
		return;
	}
	if (strcmp(p, "/queue") == 0)
		a->m == M_GET ? queue_op(a, "list", NULL) : not_allowed(a);
	else if (strcmp(p, "/queue/flush") == 0)
		a->m == M_POST ? queue_op(a, "flush", NULL) : not_allowed(a);
	else if (split(p, "/queue/", id, sizeof id, &rest)) {
		if (rest[0] == '\0' && a->m == M_GET)
			queue_op(a, "show", id);
		else if (rest[0] == '\0' && a->m == M_DELETE)
			queue_op(a, "delete", id);
		else if (strcmp(rest, "/hold") == 0 && a->m == M_POST)
			queue_op(a, "hold", id);
		else if (strcmp(rest, "/release") == 0 && a->m == M_POST)
			queue_op(a, "release", id);
		else if (rest[0] == '\0' || strcmp(rest, "/hold") == 0 || strcmp(rest, "/release") == 0)
			not_allowed(a);
		else
			refuse(a, HTTP_NOTFOUND, "no such route");
	} else
		refuse(a, HTTP_NOTFOUND, "no such route");
}

/* read_body - the request's JSON object (an empty one without a body); false when answered 4xx. */
static bool
read_body(struct api *a)
{
	struct evhttp_request *req = a->wr->req;
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	const char *type = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
	json_error_t e;

	if (len == 0) {
		a->body = json_object();
		return a->body != NULL;
	}
	if (len > API_BODY_MAX) {
		refuse(a, HTTP_TOOLARGE, "the body is too large");
		return false;
	}
	if (type == NULL || strncasecmp(type, "application/json", 16) != 0) {
		refuse(a, HTTP_UNSUPPORTED_TYPE, "the body must be application/json");
		return false;
	}
	const char *data = (const char *)evbuffer_pullup(in, -1);
	a->body = data != NULL ? json_loadb(data, len, JSON_REJECT_DUPLICATES, &e) : NULL;
	if (!json_is_object(a->body)) {
		json_decref(a->body);
		a->body = NULL;
		refuse(a, HTTP_BADREQUEST, "the body is not a JSON object");
		return false;
	}
	return true;
}

void
web_api(struct web_req *wr)
{
	struct evhttp_request *req = wr->req;
	const char *auth = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
	char token[WEB_TOKEN_MAX + 1];
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	struct api a = { .wr = wr };

	a.m = cmd == EVHTTP_REQ_GET || cmd == EVHTTP_REQ_HEAD ? M_GET : cmd == EVHTTP_REQ_POST ? M_POST :
	    cmd == EVHTTP_REQ_PUT ? M_PUT : cmd == EVHTTP_REQ_DELETE ? M_DELETE : M_OTHER;
	if (http_bearer_get(auth, token, sizeof token) != 1) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
		    "Bearer realm=\"mailroom\"");
		refuse(&a, HTTP_UNAUTHORIZED, auth == NULL ? "a bearer token is needed" :
		    "the Authorization header is not a bearer token");
		return;
	}
	snprintf(wr->cred, sizeof wr->cred, "t:%s", token);
	explicit_bzero(token, sizeof token);
	if (a.m == M_OTHER) {
		not_allowed(&a);
		return;
	}
	if (!read_body(&a))
		return;
	const char *p = wr->path + strlen("/api/v1");
	if (strncmp(p, "/domains", 8) == 0)
		domains(&a, p);
	else if (strncmp(p, "/users", 6) == 0)
		users(&a, p);
	else if (strncmp(p, "/aliases", 8) == 0)
		aliases(&a, p);
	else if (strncmp(p, "/queue", 6) == 0)
		queue(&a, p);
	else if (strcmp(p, "/admins") == 0)
		a.m == M_GET ? op0(&a, "admin.list") : not_allowed(&a);
	else if (strcmp(p, "/dkim") == 0)
		a.m == M_GET ? op0(&a, "dkim.list") : not_allowed(&a);
	else
		refuse(&a, HTTP_NOTFOUND, "no such route");
	json_decref(a.body);
}
