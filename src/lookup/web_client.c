/* web_client.c - httpd's blocking calls to lookupd for the web (see web_client.h). */
#include "lookup/web_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accounts_int.h"
#include "ipc/frame.h"
#include "lookup/lookup_client.h"
#include "web/web_ops.h" /* WEB_ARGS_MAX */

#define WEB_QUERY_TIMEOUT_MS 10000  /* an operation may hash a password */
#define WEB_LOGIN_TIMEOUT_MS 30000  /* as a mail login: it may wait in the queue */
#define WEB_CRED_MAX 100            /* longer than any we make: not ours */

/* exchange - req to lookupd, its reply into rep. 0, or -1. */
static int
exchange(struct accounts *a, struct frame *req, struct frame *rep, int timeout_ms)
{
	struct lookup_client *lc = accounts_lookup(a);

	if (lc == NULL)
		return -1;
	return lookup_call(lc, req, rep, timeout_ms);
}

/* frames - a request and a reply, or false (out of memory). */
static bool
frames(struct frame **req, struct frame **rep)
{
	*req = malloc(sizeof **req);
	*rep = malloc(sizeof **rep);
	if (*req != NULL && *rep != NULL) {
		(*req)->len = (*rep)->len = 0;
		return true;
	}
	free(*req);
	free(*rep);
	return false;
}

static void
frames_free(struct frame *req, struct frame *rep)
{
	explicit_bzero(req->buf, req->len);
	explicit_bzero(rep->buf, rep->len);
	free(req);
	free(rep);
}

enum lookup_verdict
web_login(struct accounts *a, enum web_kind kind, const char *name, const char *password,
    const char *client_ip, char sid[WEB_SID_LEN + 1], struct web_who *who)
{
	struct frame *req, *rep;
	enum lookup_verdict v = VERDICT_TEMPFAIL;
	uint64_t r;

	sid[0] = '\0';
	memset(who, 0, sizeof *who);
	if (kind != WEB_ADMIN && kind != WEB_USER)
		return VERDICT_FAIL;
	if (!frames(&req, &rep))
		return VERDICT_TEMPFAIL;
	frame_init(req, LK_WEB_LOGIN);
	frame_put_str(req, kind == WEB_ADMIN ? "admin" : "user");
	frame_put_str(req, name);
	frame_put_str(req, password);
	frame_put_str(req, client_ip);
	if (req->bad) {
		v = VERDICT_FAIL; /* a name or password longer than any there is */
	} else if (exchange(a, req, rep, WEB_LOGIN_TIMEOUT_MS) == 0 && frame_get_u64(rep, &r) &&
	    r <= VERDICT_SUSPENDED && frame_get_str(rep, sid, WEB_SID_LEN + 1) &&
	    frame_get_str(rep, who->name, sizeof who->name) &&
	    frame_get_str(rep, who->csrf, sizeof who->csrf) && frame_end(rep)) {
		v = (enum lookup_verdict)r;
	}
	if (v == VERDICT_OK && strlen(sid) == WEB_SID_LEN && who->name[0] != '\0') {
		who->kind = kind;
	} else {
		if (v == VERDICT_OK)
			v = VERDICT_TEMPFAIL;
		sid[0] = '\0';
		memset(who, 0, sizeof *who);
	}
	frames_free(req, rep);
	return v;
}

int
web_whois(struct accounts *a, const char *cred, struct web_who *who)
{
	struct frame *req, *rep;
	uint64_t r, kind;
	int rc = -1;

	memset(who, 0, sizeof *who);
	if (strlen(cred) > WEB_CRED_MAX)
		return 0;
	if (!frames(&req, &rep))
		return -1;
	frame_init(req, LK_WEB_WHO);
	frame_put_str(req, cred);
	if (exchange(a, req, rep, WEB_QUERY_TIMEOUT_MS) == 0 && frame_get_u64(rep, &r) &&
	    frame_get_u64(rep, &kind) && frame_get_str(rep, who->name, sizeof who->name) &&
	    frame_get_str(rep, who->csrf, sizeof who->csrf) && frame_end(rep) && r <= 2)
		rc = r == 1 && (kind == WEB_ADMIN || kind == WEB_USER) ? 1 : r == 0 ? 0 : -1;
	if (rc == 1)
		who->kind = (enum web_kind)kind;
	else
		memset(who, 0, sizeof *who);
	frames_free(req, rep);
	return rc;
}

int
web_logout(struct accounts *a, const char *sid)
{
	struct frame *req, *rep;
	uint64_t r;
	int rc = -1;

	if (strlen(sid) > WEB_CRED_MAX)
		return 0;
	if (!frames(&req, &rep))
		return -1;
	frame_init(req, LK_WEB_LOGOUT);
	frame_put_str(req, sid);
	if (exchange(a, req, rep, WEB_QUERY_TIMEOUT_MS) == 0 && frame_get_u64(rep, &r) &&
	    frame_end(rep))
		rc = 0;
	frames_free(req, rep);
	return rc;
}

/* fixed - json set to a constant answer; returns status. */
static int
fixed(struct buf *json, int status, const char *text)
{
	buf_reset(json);
	if (buf_printf(json, "%s", text) < 0)
		return 500;
	return status;
}

int
web_op(struct accounts *a, const char *cred, const char *op, const char *const *args,
    size_t nargs, struct buf *json)
{
	struct frame *req, *rep;
	char *text = NULL;
	uint64_t status;
	int rc;

	buf_reset(json);
	if (strlen(cred) > WEB_CRED_MAX)
		return fixed(json, 401, "{\"error\":\"not logged in\"}");
	if (nargs > WEB_ARGS_MAX || strlen(op) >= 64)
		return fixed(json, 400, "{\"error\":\"too many arguments\"}");
	if (!frames(&req, &rep))
		return fixed(json, 500, "{\"error\":\"out of memory\"}");
	frame_init(req, LK_WEB_OP);
	frame_put_str(req, cred);
	frame_put_str(req, op);
	frame_put_u64(req, nargs);
	for (size_t i = 0; i < nargs; i++)
		frame_put_str(req, args[i]);
	if (req->bad) {
		rc = fixed(json, 400, "{\"error\":\"the arguments are too long\"}");
	} else if ((text = malloc(FRAME_MAX)) != NULL &&
	    exchange(a, req, rep, WEB_QUERY_TIMEOUT_MS) == 0 && frame_get_u64(rep, &status) &&
	    frame_get_str(rep, text, FRAME_MAX) && frame_end(rep) && status >= 100 &&
	    status <= 599 && text[0] == '{') {
		rc = buf_printf(json, "%s", text) < 0 ?
		    fixed(json, 500, "{\"error\":\"out of memory\"}") : (int)status;
	} else {
		rc = fixed(json, 500, "{\"error\":\"the account service did not answer\"}");
	}
	if (text != NULL) {
		explicit_bzero(text, FRAME_MAX);
		free(text);
	}
	frames_free(req, rep);
	return rc;
}
