/*
 * accounts_web.h - what the web needs of the account store (accounts_web.c):
 * administrators (names with a yescrypt hash, as users have), their API tokens,
 * and web sessions of admins and users. Only digests of tokens and session ids
 * are kept: a copy of the store opens no session. A session ends after
 * WEB_IDLE_MAX without use or WEB_SESSION_MAX in all; deleting or suspending a
 * user, a new password, or deleting an admin ends that principal's sessions (and
 * an admin's tokens) at once, by triggers, whoever made the change.
 * All on a local handle (the CLI, lookupd). Times are passed in, for tests.
 */
#ifndef MAILROOM_ACCOUNTS_WEB_H
#define MAILROOM_ACCOUNTS_WEB_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "accounts.h"
#include "lookup/web_client.h"

#define WEB_IDLE_MAX (2 * 3600)
#define WEB_SESSION_MAX (12 * 3600)
#define WEB_NAME_MAX 64          /* an admin's name */
#define WEB_TOKEN_PREFIX "mrt_"
#define WEB_TOKEN_RAW 32         /* random octets of a token */
#define WEB_TOKEN_LEN (4 + 43)   /* "mrt_" and the octets in unpadded base64url */
#define WEB_DIGEST_LEN 64        /* SHA-256 in hex */

/* web_name_valid - 1 to WEB_NAME_MAX of [A-Za-z0-9._-]. */
bool web_name_valid(const char *name);

/* web_digest - the SHA-256 of s in lower-case hex, into out. 0, or -1. */
int web_digest(const char *s, char out[WEB_DIGEST_LEN + 1]);

/* web_token_format - raw as a token: "mrt_" and unpadded base64url (RFC 4648 5). */
void web_token_format(const unsigned char raw[WEB_TOKEN_RAW], char out[WEB_TOKEN_LEN + 1]);

/*
 * web_session_expired - whether a session made at created and last used at
 * last_seen is over at now: idle WEB_IDLE_MAX, or WEB_SESSION_MAX old. Pure.
 */
bool web_session_expired(time_t created, time_t last_seen, time_t now);

/*
 * Admins: 0, or -1 with one line in err (accounts_last_error tells the kind).
 * Names are kept lower-cased. accounts_admin_passwd ends the admin's sessions and
 * tokens; accounts_admin_del its sessions and tokens too.
 */
int accounts_admin_add(struct accounts *a, const char *name, const char *password, time_t now,
    char *err, size_t errlen);
int accounts_admin_passwd(struct accounts *a, const char *name, const char *password,
    char *err, size_t errlen);
int accounts_admin_del(struct accounts *a, const char *name, char *err, size_t errlen);
/* One line per admin, by name: "name tokens" (how many API tokens it has). */
int accounts_admin_list(struct accounts *a, struct strlist *out, char *err, size_t errlen);
/* accounts_admin_hash - the admin's hash (PASSWORD_HASH_MAX); 1 found, 0 not, -1 error. */
int accounts_admin_hash(struct accounts *a, const char *name, char *hash, size_t hashlen);

/* accounts_token_add - a new API token of admin into token (shown once; its digest kept). */
int accounts_token_add(struct accounts *a, const char *admin, time_t now,
    char token[WEB_TOKEN_LEN + 1], char *err, size_t errlen);

/*
 * accounts_session_new - a session of kind for name (canonical), made at now: its
 * id into sid and a CSRF token into csrf. 0, or -1 with err.
 */
int accounts_session_new(struct accounts *a, enum web_kind kind, const char *name, time_t now,
    char sid[WEB_SID_LEN + 1], char csrf[WEB_CSRF_LEN + 1], char *err, size_t errlen);

/*
 * accounts_web_who - who cred is at now ("s:<sid>": a session, its last_seen set
 * to now, an expired one deleted; "t:<token>": an admin's token). 1 known, 0 not,
 * -1 the store failed.
 */
int accounts_web_who(struct accounts *a, const char *cred, time_t now, struct web_who *who);

/* accounts_session_end - delete session sid. 0 (also when unknown), or -1. */
int accounts_session_end(struct accounts *a, const char *sid);

/* accounts_sessions_expire - delete the sessions over at now; how many, or -1. */
int accounts_sessions_expire(struct accounts *a, time_t now);

#endif
