/*
 * web.h - what the pages and the API share: one request as the web role sees
 * it (who sent it, by session cookie or bearer token, and its form), and the
 * calls that go to lookupd (accounts, authorized there) and to queued (the
 * queue and Maildir use, for admins and for a user's own mailbox).
 */
#ifndef MAILROOM_WEB_H
#define MAILROOM_WEB_H

#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <stdbool.h>

#include "http/html.h"
#include "http/httpd.h"
#include "lookup/web_client.h"

struct evhttp_request;

#define WEB_TOKEN_MAX 128
#define WEB_CRED_MAX (2 + WEB_TOKEN_MAX + 1)

struct web_req {
	struct httpd *srv;
	struct evhttp_request *req;
	bool post;                 /* POST, else GET or HEAD */
	char path[1024];           /* decoded */
	const char *query;         /* raw, or NULL */
	char ip[64];
	struct web_who who;        /* kind WEB_NOBODY until a session or token is known */
	char cred[WEB_CRED_MAX];   /* "s:<sid>" or "t:<token>" for lookupd */
	struct evkeyvalq form;     /* a POST's fields (after web_form_read) */
	bool form_read;
};

/* web_req_init - wr for req; false when the path cannot be read (answered 400). */
bool web_req_init(struct web_req *wr, struct httpd *srv, struct evhttp_request *req);
void web_req_free(struct web_req *wr);

/* web_session_load - who holds the session cookie, if anyone (lookupd decides). */
void web_session_load(struct web_req *wr);

/*
 * web_form_read - a POST's urlencoded form, after the checks that make it ours:
 * the Origin (when sent) is this host, and the csrf field matches the session's
 * token. False when refused (answered: 400 or 403).
 */
bool web_form_read(struct web_req *wr);
/* web_field - a form field (trimmed of surrounding spaces), or "" when absent. */
const char *web_field(struct web_req *wr, const char *name);
/* web_query - a query parameter into out; false when absent. */
bool web_query(struct web_req *wr, const char *name, char *out, size_t outlen);

/*
 * web_call - operation op of lookupd for the request's credential, args NULL
 * ended; the HTTP status, with the parsed JSON answer in *out (always an object;
 * the caller decrefs it).
 */
int web_call(struct web_req *wr, json_t **out, const char *op, ...);
int web_callv(struct web_req *wr, json_t **out, const char *op, const char *const *args,
    size_t nargs);
/* web_queue - a request to queued (queue_ctl_call), parsed as web_call's. */
int web_queue(struct web_req *wr, json_t **out, const char *op, const char *arg);
/* web_error_text - the "error" member of an answer, or the status's reason. */
const char *web_error_text(json_t *answer, int status);

/*
 * web_begin - a page's frame for wr's principal (section, title, current nav
 * entry), with error, or else the notice of the request's ?done=. 0 or -1.
 */
int web_begin(struct web_req *wr, struct buf *b, enum html_section section, const char *title,
    const char *current, const char *error);
/* web_failed - a page that could not be made: its frame with the answer's error, status code. */
void web_failed(struct web_req *wr, enum html_section section, const char *title,
    const char *current, int status, json_t *answer);
/* web_send_page - code with the page in b (freed), or 500 when rc is not 0 (b failed). */
void web_send_page(struct web_req *wr, int code, struct buf *b, int rc);
/* web_done_notice - the fixed message of a ?done= code, or NULL. */
const char *web_done_notice(struct web_req *wr);
/* web_redirect_done - 303 to path with ?done=code (a notice of web_done_notice). */
void web_redirect_done(struct web_req *wr, const char *path, const char *code);

/* Routes (pages_login.c, pages_admin.c, pages_account.c, api.c). */
void web_login_page(struct web_req *wr, enum web_kind kind);
/*
 * web_session_start - a login by lookupd and, when it passes, the session cookie
 * on wr's reply (the login form, and a password change, which ends the old sessions).
 */
enum lookup_verdict web_session_start(struct web_req *wr, enum web_kind kind, const char *name,
    const char *password);
void web_logout_page(struct web_req *wr);
void web_admin(struct web_req *wr);
void web_account(struct web_req *wr);
void web_api(struct web_req *wr);
void web_static(struct web_req *wr);

/* json helpers: a string member or "", an integer member or 0, a bool member or false. */
const char *jstr(json_t *o, const char *key);
json_int_t jint(json_t *o, const char *key);
bool jbool(json_t *o, const char *key);

#endif
