/*
 * web_client.h - httpd's side of lookupd for the web: logins that make a session,
 * who a session or API token is, logout, and the operations of the admin and
 * user pages. lookupd, not httpd, decides who may do what (web/web_ops.h): httpd
 * passes the credential it was given and shows the answer. Each call blocks until
 * lookupd answers; all run on a remote handle (accounts_open_remote).
 */
#ifndef MAILROOM_WEB_CLIENT_H
#define MAILROOM_WEB_CLIENT_H

#include <stddef.h>

#include "accounts.h"
#include "address.h"
#include "lookup/lookup_proto.h"
#include "util/buf.h"

enum web_kind { WEB_NOBODY = 0, WEB_ADMIN = 1, WEB_USER = 2 };

#define WEB_SID_LEN 64   /* a session id: 32 random octets in hex */
#define WEB_CSRF_LEN 64  /* its CSRF token, the same way */

/* Who a credential belongs to: an admin by name, a user by canonical address. */
struct web_who {
	enum web_kind kind;
	char name[ADDR_MAX + 1];
	char csrf[WEB_CSRF_LEN + 1]; /* "" for an API token */
};

/*
 * web_login - check kind's name and password (the main password only, never an
 * app password; counted by the login failure limits as service "web") and, when
 * right, open a session: its id in sid, the principal and CSRF token in who.
 * Otherwise sid is "" and who is WEB_NOBODY.
 */
enum lookup_verdict web_login(struct accounts *a, enum web_kind kind, const char *name,
    const char *password, const char *client_ip, char sid[WEB_SID_LEN + 1], struct web_who *who);

/*
 * web_whois - who cred is: "s:<sid>" (a session, whose idle time starts again) or
 * "t:<token>" (an admin's API token). 1 known (who set), 0 not (or expired), -1
 * lookupd or the store failed.
 */
int web_whois(struct accounts *a, const char *cred, struct web_who *who);

/* web_logout - end the session sid (unknown is no error). 0, or -1 (no answer). */
int web_logout(struct accounts *a, const char *sid);

/*
 * web_op - run op with args for the principal of cred (web/web_ops.h lists the
 * operations). Returns the HTTP status; json is always one JSON object: the
 * result, or {"error": "one line"} (500 when lookupd did not answer).
 */
int web_op(struct accounts *a, const char *cred, const char *op,
    const char *const *args, size_t nargs, struct buf *json);

#endif
