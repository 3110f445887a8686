/*
 * web_ops.h - the operations of the web pages and the JSON API, run by lookupd
 * for a principal it has already identified (a session or an API token): who may
 * run which, on a local accounts handle, each answered with an HTTP status and a
 * JSON object. The rules live here, not in httpd: an admin runs the admin
 * operations, a user only the self.* ones, on its own address, never one named
 * in an argument.
 *
 * Admin operations (arguments in order; [] optional):
 *   domain.list | domain.add D | domain.del D
 *   user.list [D] | user.show A | user.add A PASSWORD QUOTA | user.del A
 *   user.passwd A PASSWORD | user.quota A QUOTA | user.suspend A | user.resume A
 *   user.limit A PER_DAY PER_HOUR      (each a count, 0 none, "default", or "" kept)
 *   user.app_password.list A | user.app_password.add A NAME | user.app_password.del A NAME
 *   user.forward.set A KEEP T1 [T2...] | user.forward.off A
 *   user.vacation.set A SUBJECT BODY [UNTIL] | user.vacation.off A  (UNTIL YYYY-MM-DD or "")
 *   alias.list | alias.add S T1 [T2...] | alias.del S
 *   dkim.list [D] | dkim.rotate D | dns.records D | admin.list
 * User operations (the session's own address):
 *   self.show | self.passwd OLD NEW | self.app_password.list | self.app_password.add NAME
 *   self.app_password.del NAME | self.forward.set KEEP T1 [T2...] | self.forward.off
 *   self.vacation.set SUBJECT BODY [UNTIL] | self.vacation.off
 * QUOTA is a size (bytes, or with K, M, G). A forward is the alias whose source is
 * the user's address; KEEP 1 makes the address one of its targets, so a copy
 * stays; at most WEB_FORWARD_MAX targets.
 *
 * Statuses: 200, 201 created, 400 bad argument, 401 no principal, 403 not for
 * this principal (or a wrong old password), 404 no such operation or thing, 409
 * exists or not now, 500 the store failed.
 */
#ifndef MAILROOM_WEB_OPS_H
#define MAILROOM_WEB_OPS_H

#include <stddef.h>

#include "accounts.h"
#include "config.h"
#include "lookup/web_client.h"
#include "util/buf.h"

#define WEB_FORWARD_MAX 10
#define WEB_ARGS_MAX 16 /* the most arguments an operation takes */

/*
 * web_ops_run - op with its nargs args for who, on a (local) handle, with cfg's
 * defaults. Returns the status; json holds one JSON object (the result, or
 * {"error": "one line"}), NUL-terminated.
 */
int web_ops_run(struct accounts *a, const struct config *cfg, const struct web_who *who,
    const char *op, const char *const *args, size_t nargs, struct buf *json);

#endif
