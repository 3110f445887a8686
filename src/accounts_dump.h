/*
 * accounts_dump.h - the whole account store as one JSON document (jansson), to
 * move a provider from SQLite to PostgreSQL and back, or to keep a copy:
 *   {"format": "mailroom-accounts", "version": 1, "schema": N,
 *    "tables": {"domains": [{"name": "example.test"}, ...], "users": [...], ...}}
 * Each table a list of rows in key order, each row an object of its columns:
 * integers, strings, null, and blobs as lower-case hex. It holds password hashes
 * and DKIM private keys: it is as secret as the store.
 */
#ifndef MAILROOM_ACCOUNTS_DUMP_H
#define MAILROOM_ACCOUNTS_DUMP_H

#include <jansson.h>
#include <stddef.h>

#include "accounts.h"

/* accounts_export - every table of the store into *out (a new reference). 0, or -1 with err. */
int accounts_export(struct accounts *a, json_t **out, char *err, size_t errlen);

/*
 * accounts_import - doc into the store, which must hold no domain, user, alias or
 * admin yet (what it holds besides, greylisting and the like, and its SRS
 * secret, are replaced), in one transaction: all or nothing. The rows written
 * into *rows. 0, or -1 with err (the table and row of a malformed one).
 */
int accounts_import(struct accounts *a, json_t *doc, size_t *rows, char *err, size_t errlen);

#endif
