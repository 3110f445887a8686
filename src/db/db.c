/*
 * db.c - the part of the store's SQL executor that does not depend on the
 * backend (db.h): the statement cache, the shortcuts that bind by a type string,
 * transactions and the last error. The drivers are db_sqlite.c and db_pg.c.
 */
#include "db/db_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
db_init(struct db *db, const struct db_ops *ops, enum db_backend backend, const char *name)
{
	db->ops = ops;
	db->backend = backend;
	snprintf(db->name, sizeof db->name, "%s", name);
}

void
db_fail(struct db *db, bool duplicate, bool unreachable, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(db->err, sizeof db->err, fmt, ap);
	va_end(ap);
	/* Server messages come in several lines; ours are one. */
	for (char *p = db->err; *p != '\0'; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	size_t n = strlen(db->err);
	while (n > 0 && db->err[n - 1] == ' ')
		db->err[--n] = '\0';
	db->duplicate = duplicate;
	db->unreachable = unreachable;
}

static void
forget_one(const char *key, void *value, void *arg)
{
	struct db_stmt *s = value;
	struct db *db = arg;

	(void)key;
	db->ops->finalize(s);
}

void
db_forget(struct db *db)
{
	strmap_each(&db->cache, forget_one, db);
	strmap_free(&db->cache);
	memset(&db->cache, 0, sizeof db->cache);
}

void
db_close(struct db *db)
{
	if (db == NULL)
		return;
	db_rollback(db);
	db_forget(db);
	db->ops->close(db);
}

void
db_on_connect(struct db *db, db_connect_fn fn, void *arg)
{
	db->on_connect = fn;
	db->on_connect_arg = arg;
}

enum db_backend
db_backend(const struct db *db)
{
	return db->backend;
}

const char *
db_name(const struct db *db)
{
	return db->name;
}

const char *
db_errmsg(const struct db *db)
{
	return db->err[0] != '\0' ? db->err : "unknown failure";
}

bool
db_duplicate(const struct db *db)
{
	return db->duplicate;
}

bool
db_unreachable(const struct db *db)
{
	return db->unreachable;
}

int64_t
db_changes(struct db *db)
{
	return db->changes;
}

struct db_stmt *
db_prepare(struct db *db, const char *sql)
{
	struct db_stmt *s = strmap_get(&db->cache, sql);

	if (s != NULL && !s->busy) {
		s->busy = true;
		return s;
	}
	/* In use further up (a query run while another's rows are read): one of its own. */
	bool keep = s == NULL;
	if ((s = db->ops->prepare(db, sql)) == NULL)
		return NULL;
	s->db = db;
	s->busy = true;
	s->cached = keep && strmap_put(&db->cache, sql, s) == 0;
	return s;
}

int
db_bind_text(struct db_stmt *s, int i, const char *v)
{
	if (i < 1 || i > DB_PARAMS_MAX)
		return -1;
	return s->db->ops->bind_text(s, i, v);
}

int
db_bind_int(struct db_stmt *s, int i, int64_t v)
{
	if (i < 1 || i > DB_PARAMS_MAX)
		return -1;
	return s->db->ops->bind_int(s, i, v);
}

int
db_bind_blob(struct db_stmt *s, int i, const void *v, size_t n)
{
	if (i < 1 || i > DB_PARAMS_MAX)
		return -1;
	return s->db->ops->bind_blob(s, i, v, n);
}

int
db_step(struct db_stmt *s)
{
	return s->db->ops->step(s);
}

int
db_columns(struct db_stmt *s)
{
	return s->db->ops->columns(s);
}

bool
db_col_null(struct db_stmt *s, int i)
{
	return s->db->ops->col_null(s, i);
}

const char *
db_col_text(struct db_stmt *s, int i)
{
	return s->db->ops->col_text(s, i);
}

int64_t
db_col_int(struct db_stmt *s, int i)
{
	return s->db->ops->col_int(s, i);
}

long
db_col_blob(struct db_stmt *s, int i, void *out, size_t outlen)
{
	return s->db->ops->col_blob(s, i, out, outlen);
}

void
db_done(struct db_stmt *s)
{
	if (s == NULL)
		return;
	struct db *db = s->db;
	db->ops->reset(s);
	s->busy = false;
	if (!s->cached)
		db->ops->finalize(s);
}

/* bind_va - bind the parameters that types names from ap. 0, or -1. */
static int
bind_va(struct db_stmt *s, const char *types, va_list ap)
{
	for (int i = 0; types[i] != '\0'; i++) {
		int rc = 0;
		switch (types[i]) {
		case 't':
			rc = db_bind_text(s, i + 1, va_arg(ap, const char *));
			break;
		case 'i':
			rc = db_bind_int(s, i + 1, va_arg(ap, int64_t));
			break;
		case 'b': {
			const void *p = va_arg(ap, const void *);
			rc = db_bind_blob(s, i + 1, p, va_arg(ap, size_t));
			break;
		}
		case '-':
			break;
		default:
			rc = -1;
		}
		if (rc < 0) {
			db_fail(s->db, false, false, "cannot bind parameter %d", i + 1);
			return -1;
		}
	}
	return 0;
}

static struct db_stmt *
query_va(struct db *db, const char *sql, const char *types, va_list ap)
{
	struct db_stmt *s = db_prepare(db, sql);

	if (s == NULL)
		return NULL;
	if (bind_va(s, types, ap) < 0) {
		db_done(s);
		return NULL;
	}
	return s;
}

struct db_stmt *
db_query(struct db *db, const char *sql, const char *types, ...)
{
	va_list ap;

	va_start(ap, types);
	struct db_stmt *s = query_va(db, sql, types, ap);
	va_end(ap);
	return s;
}

int
db_run(struct db *db, const char *sql, const char *types, ...)
{
	va_list ap;
	int rc = DB_FAIL;

	va_start(ap, types);
	struct db_stmt *s = query_va(db, sql, types, ap);
	va_end(ap);
	if (s != NULL)
		while ((rc = db_step(s)) == DB_ROW)
			;
	db_done(s);
	return rc == DB_DONE ? 0 : -1;
}

int
db_int(struct db *db, int64_t *out, const char *sql, const char *types, ...)
{
	va_list ap;
	int rc = DB_FAIL;

	va_start(ap, types);
	struct db_stmt *s = query_va(db, sql, types, ap);
	va_end(ap);
	if (s != NULL && (rc = db_step(s)) == DB_ROW && out != NULL)
		*out = db_col_int(s, 0);
	db_done(s);
	return rc == DB_ROW ? 1 : rc == DB_DONE ? 0 : -1;
}

int
db_exec(struct db *db, const char *script)
{
	return db->ops->exec(db, script);
}

int
db_begin(struct db *db)
{
	if (db->in_tx) {
		db_fail(db, false, false, "a transaction is open already");
		return -1;
	}
	if (db->ops->begin(db) < 0)
		return -1;
	db->in_tx = true;
	return 0;
}

int
db_commit(struct db *db)
{
	if (!db->in_tx)
		return 0;
	if (db->ops->exec(db, "COMMIT") < 0) {
		char why[sizeof db->err];
		bool unreachable = db->unreachable;
		snprintf(why, sizeof why, "%s", db->err);
		db_rollback(db);
		db_fail(db, false, unreachable, "%s", why); /* the commit's reason, not the rollback's */
		return -1;
	}
	db->in_tx = false;
	return 0;
}

void
db_rollback(struct db *db)
{
	if (!db->in_tx)
		return;
	char why[sizeof db->err];
	bool dup = db->duplicate, unreachable = db->unreachable;
	snprintf(why, sizeof why, "%s", db->err);
	db->ops->exec(db, "ROLLBACK");
	db->in_tx = false;
	/* What made the caller give up is what it reports. */
	snprintf(db->err, sizeof db->err, "%s", why);
	db->duplicate = dup;
	db->unreachable = unreachable;
}

bool
db_in_tx(const struct db *db)
{
	return db->in_tx;
}

int
db_pg_sql(const char *sql, char *out, size_t outlen, int *nparams)
{
	size_t o = 0;
	char quote = 0;
	int max = 0;

	for (const char *p = sql; *p != '\0'; p++) {
		if (quote != 0) {
			if (*p == quote)
				quote = 0; /* a doubled quote closes and opens again: the same */
		} else if (*p == '\'' || *p == '"') {
			quote = *p;
		} else if (*p == '?') {
			char *end;
			long n = strtol(p + 1, &end, 10);
			if (end == p + 1 || n < 1 || n > DB_PARAMS_MAX)
				return -1;
			int w = snprintf(out + o, outlen - o, "$%ld", n);
			if (w < 0 || (size_t)w >= outlen - o)
				return -1;
			o += (size_t)w;
			if (n > max)
				max = (int)n;
			p = end - 1;
			continue;
		}
		if (o + 1 >= outlen)
			return -1;
		out[o++] = *p;
	}
	if (quote != 0 || o >= outlen)
		return -1;
	out[o] = '\0';
	*nparams = max;
	return 0;
}
