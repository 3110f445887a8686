/*
 * db_sqlite.c - the SQLite driver of the store's executor (db.h): one
 * connection to a file in WAL mode, so that the CLI writes while the server's
 * processes read. Statements are reset as soon as they are done, so that no read
 * transaction outlives a call.
 */
#include "db/db_int.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BUSY_TIMEOUT_MS 5000

struct sq_db {
	struct db base;
	sqlite3 *h;
};

struct sq_stmt {
	struct db_stmt base;
	sqlite3_stmt *st;
};

static sqlite3 *
H(struct db *db)
{
	return ((struct sq_db *)db)->h;
}

static sqlite3_stmt *
ST(struct db_stmt *s)
{
	return ((struct sq_stmt *)s)->st;
}

/* fail - the connection's last error as the handle's; returns -1. */
static int
fail(struct db *db)
{
	int rc = sqlite3_extended_errcode(H(db));
	db_fail(db, rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE, false,
	    "%s", sqlite3_errmsg(H(db)));
	return -1;
}

static void
sq_close(struct db *db)
{
	sqlite3_close(H(db));
	free(db);
}

static struct db_stmt *
sq_prepare(struct db *db, const char *sql)
{
	struct sq_stmt *s = calloc(1, sizeof *s);

	if (s == NULL) {
		db_fail(db, false, false, "out of memory");
		return NULL;
	}
	if (sqlite3_prepare_v3(H(db), sql, -1, SQLITE_PREPARE_PERSISTENT, &s->st, NULL) !=
	    SQLITE_OK) {
		fail(db);
		sqlite3_finalize(s->st);
		free(s);
		return NULL;
	}
	return &s->base;
}

static void
sq_finalize(struct db_stmt *s)
{
	sqlite3_finalize(ST(s));
	free(s);
}

static int
sq_bind_text(struct db_stmt *s, int i, const char *v)
{
	return sqlite3_bind_text(ST(s), i, v, -1, SQLITE_TRANSIENT) == SQLITE_OK ? 0 : -1;
}

static int
sq_bind_int(struct db_stmt *s, int i, int64_t v)
{
	return sqlite3_bind_int64(ST(s), i, v) == SQLITE_OK ? 0 : -1;
}

static int
sq_bind_blob(struct db_stmt *s, int i, const void *v, size_t n)
{
	return sqlite3_bind_blob64(ST(s), i, v, n, SQLITE_TRANSIENT) == SQLITE_OK ? 0 : -1;
}

static int
sq_step(struct db_stmt *s)
{
	int rc = sqlite3_step(ST(s));

	if (rc == SQLITE_ROW)
		return DB_ROW;
	if (rc == SQLITE_DONE) {
		s->db->changes = sqlite3_changes64(H(s->db));
		return DB_DONE;
	}
	return fail(s->db);
}

static int
sq_columns(struct db_stmt *s)
{
	return sqlite3_column_count(ST(s));
}

static bool
sq_col_null(struct db_stmt *s, int i)
{
	return sqlite3_column_type(ST(s), i) == SQLITE_NULL;
}

static const char *
sq_col_text(struct db_stmt *s, int i)
{
	return (const char *)sqlite3_column_text(ST(s), i);
}

static int64_t
sq_col_int(struct db_stmt *s, int i)
{
	return sqlite3_column_int64(ST(s), i);
}

static long
sq_col_blob(struct db_stmt *s, int i, void *out, size_t outlen)
{
	const void *p = sqlite3_column_blob(ST(s), i);
	int n = sqlite3_column_bytes(ST(s), i);

	if (p == NULL || n < 0 || (size_t)n > outlen)
		return -1;
	memcpy(out, p, (size_t)n);
	return n;
}

static void
sq_reset(struct db_stmt *s)
{
	sqlite3_reset(ST(s));
	sqlite3_clear_bindings(ST(s));
}

static int
sq_exec(struct db *db, const char *script)
{
	char *msg = NULL;

	if (sqlite3_exec(H(db), script, NULL, NULL, &msg) == SQLITE_OK)
		return 0;
	int rc = sqlite3_extended_errcode(H(db));
	db_fail(db, rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE, false,
	    "%s", msg ? msg : sqlite3_errmsg(H(db)));
	sqlite3_free(msg);
	return -1;
}

static int
sq_begin(struct db *db)
{
	/* IMMEDIATE: the write lock up front, so that a check and its write cannot race. */
	return sq_exec(db, "BEGIN IMMEDIATE");
}

static const struct db_ops sqlite_ops = {
	.close = sq_close,
	.prepare = sq_prepare,
	.finalize = sq_finalize,
	.bind_text = sq_bind_text,
	.bind_int = sq_bind_int,
	.bind_blob = sq_bind_blob,
	.step = sq_step,
	.columns = sq_columns,
	.col_null = sq_col_null,
	.col_text = sq_col_text,
	.col_int = sq_col_int,
	.col_blob = sq_col_blob,
	.reset = sq_reset,
	.exec = sq_exec,
	.begin = sq_begin,
};

struct db *
db_sqlite_open(const char *path, bool create, char *err, size_t errlen)
{
	struct sq_db *d = calloc(1, sizeof *d);

	if (d == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	db_init(&d->base, &sqlite_ops, DB_SQLITE, path);
	bool existed = access(path, F_OK) == 0;
	int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);
	if (sqlite3_open_v2(path, &d->h, flags, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot open accounts database %s: %s", path,
		    d->h ? sqlite3_errmsg(d->h) : "out of memory");
		sqlite3_close(d->h);
		free(d);
		return NULL;
	}
	/* It holds password hashes; the WAL and shm files inherit this mode. */
	if (!existed)
		chmod(path, 0600);
	sqlite3_busy_timeout(d->h, BUSY_TIMEOUT_MS);
	sqlite3_extended_result_codes(d->h, 1);
	if (sq_exec(&d->base, "PRAGMA journal_mode=WAL") < 0) {
		snprintf(err, errlen, "accounts database %s: %s", path, db_errmsg(&d->base));
		db_close(&d->base);
		return NULL;
	}
	return &d->base;
}
