/*
 * accounts_handle.h - what the account store's other files (accounts_srs.c) need
 * of a handle that accounts.c keeps private: its database, or its way to lookupd.
 */
#ifndef MAILROOM_ACCOUNTS_HANDLE_H
#define MAILROOM_ACCOUNTS_HANDLE_H

#include <sqlite3.h>

#include "accounts.h"

struct lookup_client;

/* accounts_sqlite - the open database; NULL on a handle of accounts_open_remote. */
sqlite3 *accounts_sqlite(struct accounts *a);

/* accounts_lookupd - the connection to lookupd; NULL on a handle of accounts_open. */
struct lookup_client *accounts_lookupd(struct accounts *a);

/*
 * accounts_srs_prepare - with create: the SRS secret table, and a secret of
 * SRS_SECRET_LEN random octets when there is none yet. 0, or -1 with err.
 */
int accounts_srs_prepare(sqlite3 *db, char *err, size_t errlen);

#endif
