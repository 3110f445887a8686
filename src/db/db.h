/*
 * db.h - the SQL executor beneath the account store: one small interface over
 * SQLite (embedded, the default) and PostgreSQL (one store shared by several
 * hosts), so that each query of the store is written once. Queries number their
 * parameters as SQLite does (?1, ?2, ...; the PostgreSQL driver sends them as $1,
 * $2) and keep to the SQL both understand: INSERT ... ON CONFLICT, CASE, quoted
 * "user", no rowid. Statements are prepared once per connection and kept.
 * A handle is used by one thread at a time.
 */
#ifndef MAILROOM_DB_H
#define MAILROOM_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum db_backend { DB_SQLITE, DB_PGSQL };

/* What db_step gives. */
#define DB_DONE 0
#define DB_ROW 1
#define DB_FAIL (-1)

/* The highest parameter number a statement may use. */
#define DB_PARAMS_MAX 16

struct db;
struct db_stmt;

/*
 * db_sqlite_open - the SQLite file path (WAL); with create, made when missing
 * (mode 0600: it holds password hashes). NULL with the reason in err.
 */
struct db *db_sqlite_open(const char *path, bool create, char *err, size_t errlen);

/*
 * db_pg_open - a PostgreSQL connection by the libpq connection string dsn. A
 * connection that breaks later is made again at a later call, with backoff
 * (db_unreachable says so meanwhile). With lazy, nothing is connected yet: the
 * first call does it. NULL with the reason in err (a malformed dsn; without
 * lazy, also a server that could not be reached: *unreachable set then).
 */
struct db *db_pg_open(const char *dsn, bool lazy, bool *unreachable, char *err, size_t errlen);

/*
 * db_on_connect - fn runs on each new connection of a PostgreSQL handle before
 * anything else does (the schema's check); when it returns -1 (its reason in
 * err), the connection is given up and tried again later, as if unreachable.
 */
typedef int (*db_connect_fn)(struct db *db, void *arg, char *err, size_t errlen);
void db_on_connect(struct db *db, db_connect_fn fn, void *arg);

void db_close(struct db *db);
enum db_backend db_backend(const struct db *db);
/* db_name - what messages call the store: the file, or the server and database (never a password). */
const char *db_name(const struct db *db);

/*
 * db_prepare - the statement of sql (kept for the next call with the same text),
 * unbound; NULL on failure (db_errmsg). Finish each with db_done.
 */
struct db_stmt *db_prepare(struct db *db, const char *sql);
/* Parameters count from 1. Each returns 0 or -1. */
int db_bind_text(struct db_stmt *s, int i, const char *v);
int db_bind_int(struct db_stmt *s, int i, int64_t v);
int db_bind_blob(struct db_stmt *s, int i, const void *v, size_t n);
/* db_step - the next row (DB_ROW), the end (DB_DONE), or DB_FAIL. */
int db_step(struct db_stmt *s);
int db_columns(struct db_stmt *s);
bool db_col_null(struct db_stmt *s, int i);
/* db_col_text - column i of the row as text (NULL for NULL), valid until the next step. */
const char *db_col_text(struct db_stmt *s, int i);
int64_t db_col_int(struct db_stmt *s, int i);
/* db_col_blob - column i's octets into out: their number, or -1 (NULL, or more than outlen). */
long db_col_blob(struct db_stmt *s, int i, void *out, size_t outlen);
/* db_done - finished with s: reset for its next use. NULL is no error. */
void db_done(struct db_stmt *s);
/* db_changes - rows the last writing statement changed. */
int64_t db_changes(struct db *db);

/*
 * Shortcuts: types names each parameter in turn: 't' text (const char *), 'i'
 * integer (int64_t), 'b' blob (const void *, size_t), '-' none (skipped).
 * db_query - prepared and bound, ready for db_step; NULL on failure.
 * db_run - run to its end (a writing statement): 0, or -1.
 * db_int - the first column of the first row into *out (when not NULL): 1,
 * 0 without a row, -1 on failure.
 */
struct db_stmt *db_query(struct db *db, const char *sql, const char *types, ...);
int db_run(struct db *db, const char *sql, const char *types, ...);
int db_int(struct db *db, int64_t *out, const char *sql, const char *types, ...);

/* db_exec - statements without parameters or rows (a schema step): 0, or -1. */
int db_exec(struct db *db, const char *script);

/*
 * db_begin - a writing transaction, one at a time across every handle of the
 * store, so a check and the write it allows are one step (SQLite: BEGIN
 * IMMEDIATE; PostgreSQL: a transaction-wide advisory lock). 0, or -1.
 * db_commit - 0, or -1 (rolled back). db_rollback - none open is no error.
 */
int db_begin(struct db *db);
int db_commit(struct db *db);
void db_rollback(struct db *db);
bool db_in_tx(const struct db *db);

/* db_errmsg - the last failure, one line. */
const char *db_errmsg(const struct db *db);
/* db_duplicate - the last failure was a duplicate key (a row that exists). */
bool db_duplicate(const struct db *db);
/* db_unreachable - the last failure was the server's absence (PostgreSQL): temporary. */
bool db_unreachable(const struct db *db);

/*
 * db_pg_ports - the TCP ports the connection string dsn may connect to (one per
 * host it names, 5432 where none is given; none for hosts that are socket
 * directories) into ports: how many, at most max.
 */
size_t db_pg_ports(const char *dsn, uint16_t *ports, size_t max);

/*
 * db_pg_files - the files libpq may read for the connection string dsn (its
 * passfile, ssl certificates, keys and revocation lists, and the defaults:
 * ~/.pgpass and ~/.postgresql/ of the user running) into paths (each
 * DB_PATH_MAX): how many, at most max. For the walls of the process that connects.
 */
#define DB_PATH_MAX 4096
size_t db_pg_files(const char *dsn, char (*paths)[DB_PATH_MAX], size_t max);

/*
 * db_pg_sql - sql with its ?N parameters as $N (outside quotes), into out; the
 * highest N into *nparams. 0, or -1 (a bare ?, N over DB_PARAMS_MAX, out too small).
 */
int db_pg_sql(const char *sql, char *out, size_t outlen, int *nparams);

#endif
