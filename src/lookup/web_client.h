/*
 * web_client.h - httpd's questions to lookupd about web principals: logins to
 * the pages, sessions, API tokens, and the operations lookupd authorizes and runs.
 * (Placeholder of the interface the webauth branch implements.)
 */
#ifndef MAILROOM_WEB_CLIENT_H
#define MAILROOM_WEB_CLIENT_H

#include <stddef.h>

#include "address.h"
#include "lookup/lookup_proto.h"
#include "util/buf.h"

struct accounts;

enum web_kind { WEB_NOBODY = 0, WEB_ADMIN = 1, WEB_USER = 2 };
#define WEB_SID_LEN 64
#define WEB_CSRF_LEN 64
struct web_who {
	enum web_kind kind;
	char name[ADDR_MAX + 1];
	char csrf[WEB_CSRF_LEN + 1];
};
enum lookup_verdict web_login(struct accounts *a, enum web_kind kind, const char *name,
    const char *password, const char *client_ip, char sid[WEB_SID_LEN + 1], struct web_who *who);
int web_whois(struct accounts *a, const char *cred, struct web_who *who);
int web_logout(struct accounts *a, const char *sid);
int web_op(struct accounts *a, const char *cred, const char *op,
    const char *const *args, size_t nargs, struct buf *json);

#endif
