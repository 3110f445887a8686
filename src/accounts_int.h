/*
 * accounts_int.h - what the account store's files share beyond accounts.h: the
 * SQL handle (db/db.h) and lookupd client of an accounts handle, the failure
 * helpers, and the schema's versions (accounts_schema.c).
 */
#ifndef MAILROOM_ACCOUNTS_INT_H
#define MAILROOM_ACCOUNTS_INT_H

#include "accounts.h"
#include "db/db.h"

struct lookup_client;

struct db *accounts_db(struct accounts *a);                  /* NULL on a remote handle */
struct lookup_client *accounts_lookup(struct accounts *a);   /* NULL on a local handle */
/* accounts_keycache - the handle's parsed DKIM keys (dkim/dkim_keycache.h), or NULL. */
struct dkim_keycache *accounts_keycache(struct accounts *a);
/*
 * accounts_signer_cache - a remote handle's signing selectors by domain
 * (accounts_dkim.c; util/lru_slots.h), made at the first use; NULL if out of memory.
 */
struct lru_slots *accounts_signer_cache(struct accounts *a);
const char *accounts_path(struct accounts *a);               /* the store's name, or "" */

/* accounts_fail - a failure of kind (accounts_last_error) with its line into err. */
void accounts_fail(char *err, size_t errlen, enum accounts_error kind, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/*
 * accounts_db_fail - the store's last failure (or, on a remote handle, that the
 * store is not open here) as an ACCT_ERR_STORE line in err. Returns -1.
 */
int accounts_db_fail(struct accounts *a, char *err, size_t errlen);

/*
 * accounts_schema_migrate - the store's schema brought to the newest version this
 * mailroom knows, in one transaction (an empty store only with create); the
 * version found into *from (0: empty). A newer version is refused. 0, or -1
 * with err.
 */
int accounts_schema_migrate(struct db *db, bool create, int *from, char *err, size_t errlen);

/*
 * accounts_vacation_active - whether the user (canonical) has a vacation that has
 * not ended at now: 1, 0, or -1 (the store failed). A local handle only.
 */
int accounts_vacation_active(struct accounts *a, const char *user, time_t now);

#endif
