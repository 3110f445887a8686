/*
 * accounts_int.h - what the account store's files share beyond accounts.h: the
 * SQLite handle and lookupd client of an accounts handle, and the schema of
 * the tables kept in files other than accounts.c.
 */
#ifndef MAILROOM_ACCOUNTS_INT_H
#define MAILROOM_ACCOUNTS_INT_H

#include <sqlite3.h>

#include "accounts.h"

struct lookup_client;

sqlite3 *accounts_sqlite(struct accounts *a);                /* NULL on a remote handle */
struct lookup_client *accounts_lookup(struct accounts *a);   /* NULL on a local handle */
const char *accounts_path(struct accounts *a);               /* of accounts.db, or "" */

/* accounts_fail - a failure of kind (accounts_last_error) with its line into err. */
void accounts_fail(char *err, size_t errlen, enum accounts_error kind, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * accounts_dkim_schema - the dkim_keys table (and the trigger that deletes a
 * domain's keys with the domain), made when missing: old stores get them too.
 * 0, or -1 with the reason in err.
 */
int accounts_dkim_schema(sqlite3 *db, char *err, size_t errlen);

/*
 * accounts_srs_prepare - with create: the SRS secret table, and a secret of
 * SRS_SECRET_LEN random octets when there is none yet (accounts_srs.c). 0, or -1
 * with err.
 */
int accounts_srs_prepare(sqlite3 *db, char *err, size_t errlen);

/*
 * accounts_grey_schema - the greylist and greylist_clients tables, made when
 * missing (accounts_grey.c). 0, or -1 with the reason in err.
 */
int accounts_grey_schema(sqlite3 *db, char *err, size_t errlen);
/*
 * accounts_web_schema - the admins, api_tokens and web_sessions tables and the
 * triggers that end sessions and tokens (accounts_web.c), made when missing;
 * after the users' controls (a trigger is on suspended_users). 0, or -1 with err.
 */
int accounts_web_schema(sqlite3 *db, char *err, size_t errlen);
/* accounts_limits_schema - the tables of outbound limits, made when missing. 0, or -1 with err. */
int accounts_limits_schema(sqlite3 *db, char *err, size_t errlen);

/*
 * accounts_vacation_schema - the vacations and vacation_replies tables, and the
 * trigger that drops a user's rows with the user, made when missing
 * (accounts_vacation.c). 0, or -1 with err.
 */
int accounts_vacation_schema(sqlite3 *db, char *err, size_t errlen);
/*
 * accounts_vacation_active - whether the user (canonical) has a vacation that has
 * not ended at now: 1, 0, or -1 (the store failed). A local handle only.
 */
int accounts_vacation_active(struct accounts *a, const char *user, time_t now);

#endif
