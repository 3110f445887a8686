/*
 * db_int.h - what db.c shares with its two drivers (db_sqlite.c, db_pg.c): the
 * operations each implements, and the parts of a handle and a statement that
 * db.c keeps itself (the statement cache, the transaction flag, the last error).
 */
#ifndef MAILROOM_DB_INT_H
#define MAILROOM_DB_INT_H

#include "db/db.h"
#include "util/strmap.h"

struct db_ops {
	void (*close)(struct db *db);
	struct db_stmt *(*prepare)(struct db *db, const char *sql);
	void (*finalize)(struct db_stmt *s);
	int (*bind_text)(struct db_stmt *s, int i, const char *v);
	int (*bind_int)(struct db_stmt *s, int i, int64_t v);
	int (*bind_blob)(struct db_stmt *s, int i, const void *v, size_t n);
	int (*step)(struct db_stmt *s);
	int (*columns)(struct db_stmt *s);
	bool (*col_null)(struct db_stmt *s, int i);
	const char *(*col_text)(struct db_stmt *s, int i);
	int64_t (*col_int)(struct db_stmt *s, int i);
	long (*col_blob)(struct db_stmt *s, int i, void *out, size_t outlen);
	void (*reset)(struct db_stmt *s);
	int (*exec)(struct db *db, const char *script);
	int (*begin)(struct db *db);
};

struct db {
	const struct db_ops *ops;
	enum db_backend backend;
	char name[256];
	char err[512];
	bool duplicate, unreachable; /* of the last failure */
	bool in_tx;
	int64_t changes;
	struct strmap cache;         /* sql -> struct db_stmt * */
	db_connect_fn on_connect;    /* PostgreSQL: run on each new connection */
	void *on_connect_arg;
};

struct db_stmt {
	struct db *db;
	bool cached; /* in db->cache: reset by db_done, not finalized */
	bool busy;   /* handed out and not done yet */
};

/* db_fail - the last failure: its message (one line) and kind. */
void db_fail(struct db *db, bool duplicate, bool unreachable, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* db_init - the common part of a new handle. */
void db_init(struct db *db, const struct db_ops *ops, enum db_backend backend, const char *name);
/* db_forget - finalize every kept statement (closing, or a new connection's start). */
void db_forget(struct db *db);

#endif
