/*
 * accounts_dump.c - the account store as JSON and back (accounts_dump.h). One
 * table of the store's tables and columns drives both directions, in an order
 * where a row's parents come before it, so the same code moves any backend's
 * rows to any other's.
 */
#include "accounts_dump.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accounts_int.h"
#include "db/db.h"
#include "util/buf.h"

#define DUMP_FORMAT "mailroom-accounts"
#define DUMP_VERSION 1
#define COLUMNS_MAX 8
#define BLOB_MAX 1024

struct column {
	const char *name;
	char type; /* 't' text, 'i' integer, 'I' integer or NULL, 'b' blob */
};

struct table {
	const char *name;
	const char *order; /* its key, for a dump that is the same twice */
	struct column cols[COLUMNS_MAX];
};

/* Every table of the schema (accounts_schema.c) but schema_version itself. */
static const struct table tables[] = {
	{ "domains", "name", { { "name", 't' } } },
	{ "users", "address", { { "address", 't' }, { "domain", 't' }, { "hash", 't' },
	    { "quota", 'i' } } },
	{ "aliases", "source, seq, target", { { "source", 't' }, { "target", 't' },
	    { "seq", 'i' } } },
	{ "suspended_users", "address", { { "address", 't' }, { "since", 'i' } } },
	{ "app_passwords", "address, name", { { "address", 't' }, { "name", 't' },
	    { "digest", 't' }, { "scope", 't' }, { "created", 'i' }, { "last_used", 'i' } } },
	{ "dkim_keys", "domain, selector", { { "domain", 't' }, { "selector", 't' },
	    { "algorithm", 't' }, { "private_pem", 't' }, { "public_b64", 't' },
	    { "created", 'i' }, { "sign_from", 'i' } } },
	{ "srs_secret", "id", { { "id", 'i' }, { "secret", 'b' } } },
	{ "greylist", "key", { { "key", 't' }, { "first_seen", 'i' }, { "last_seen", 'i' },
	    { "passed", 'i' } } },
	{ "greylist_clients", "net", { { "net", 't' }, { "passes", 'i' },
	    { "last_seen", 'i' } } },
	{ "user_limits", "address", { { "address", 't' }, { "per_day", 'I' },
	    { "per_hour", 'I' } } },
	{ "limit_sends", "\"user\", start", { { "user", 't' }, { "start", 'i' },
	    { "n", 'i' } } },
	{ "limit_rcpts", "\"user\", rcpt", { { "user", 't' }, { "rcpt", 't' },
	    { "first", 'i' }, { "last", 'i' } } },
	{ "vacations", "address", { { "address", 't' }, { "subject", 't' }, { "body", 't' },
	    { "until", 'i' }, { "set_at", 'i' } } },
	{ "vacation_replies", "\"user\", sender", { { "user", 't' }, { "sender", 't' },
	    { "at", 'i' } } },
	{ "admins", "name", { { "name", 't' }, { "hash", 't' }, { "created", 'i' } } },
	{ "api_tokens", "digest", { { "digest", 't' }, { "admin", 't' },
	    { "created", 'i' } } },
	{ "web_sessions", "digest", { { "digest", 't' }, { "kind", 't' }, { "name", 't' },
	    { "csrf", 't' }, { "created", 'i' }, { "last_seen", 'i' } } },
};

#define NTABLES (sizeof tables / sizeof tables[0])

static size_t
ncols(const struct table *t)
{
	size_t n = 0;
	while (n < COLUMNS_MAX && t->cols[n].name != NULL)
		n++;
	return n;
}

/* select_sql - SELECT of every column of t in key order, into b. 0 or -1. */
static int
select_sql(const struct table *t, struct buf *b)
{
	buf_reset(b);
	int rc = buf_printf(b, "SELECT ");
	for (size_t i = 0; i < ncols(t); i++)
		rc |= buf_printf(b, "%s\"%s\"", i ? ", " : "", t->cols[i].name);
	rc |= buf_printf(b, " FROM %s ORDER BY %s", t->name, t->order);
	return rc < 0 ? -1 : 0;
}

/* insert_sql - INSERT of a row of t with ?1..?n, into b. 0 or -1. */
static int
insert_sql(const struct table *t, struct buf *b)
{
	buf_reset(b);
	int rc = buf_printf(b, "INSERT INTO %s(", t->name);
	for (size_t i = 0; i < ncols(t); i++)
		rc |= buf_printf(b, "%s\"%s\"", i ? ", " : "", t->cols[i].name);
	rc |= buf_printf(b, ") VALUES(");
	for (size_t i = 0; i < ncols(t); i++)
		rc |= buf_printf(b, "%s?%zu", i ? ", " : "", i + 1);
	rc |= buf_printf(b, ")");
	return rc < 0 ? -1 : 0;
}

static json_t *
hex_of(const unsigned char *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	char out[2 * BLOB_MAX + 1];

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
	return json_string(out);
}

/* hex_to - s (even, lower or upper case hex) into out: the octets, or -1. */
static long
hex_to(const char *s, unsigned char *out, size_t outlen)
{
	size_t n = strlen(s);

	if (n % 2 != 0 || n / 2 > outlen)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v = 0;
		for (int k = 0; k < 2; k++) {
			char c = s[2 * i + (size_t)k];
			unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0') :
			    c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10) :
			    c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10) : 16;
			if (d > 15)
				return -1;
			v = v * 16 + d;
		}
		out[i] = (unsigned char)v;
	}
	return (long)(n / 2);
}

/* row_of - the current row of s as an object of t's columns, or NULL. */
static json_t *
row_of(const struct table *t, struct db_stmt *s)
{
	json_t *row = json_object();

	for (size_t i = 0; row != NULL && i < ncols(t); i++) {
		const struct column *c = &t->cols[i];
		json_t *v;
		if (db_col_null(s, (int)i)) {
			v = json_null();
		} else if (c->type == 'i' || c->type == 'I') {
			v = json_integer(db_col_int(s, (int)i));
		} else if (c->type == 'b') {
			unsigned char raw[BLOB_MAX];
			long n = db_col_blob(s, (int)i, raw, sizeof raw);
			v = n >= 0 ? hex_of(raw, (size_t)n) : NULL;
			explicit_bzero(raw, sizeof raw);
		} else {
			const char *text = db_col_text(s, (int)i);
			v = text != NULL ? json_string(text) : NULL;
		}
		if (v == NULL || json_object_set_new(row, c->name, v) < 0) {
			json_decref(row);
			row = NULL;
		}
	}
	return row;
}

int
accounts_export(struct accounts *a, json_t **out, char *err, size_t errlen)
{
	struct db *db = accounts_db(a);
	struct buf sql = { 0 };
	json_t *all = json_object(), *doc = json_object();
	int rc = -1;

	*out = NULL;
	if (db == NULL)
		return accounts_db_fail(a, err, errlen);
	if (all == NULL || doc == NULL)
		goto oom;
	for (size_t i = 0; i < NTABLES; i++) {
		const struct table *t = &tables[i];
		json_t *rows = json_array();
		if (rows == NULL || json_object_set_new(all, t->name, rows) < 0 ||
		    select_sql(t, &sql) < 0)
			goto oom;
		struct db_stmt *s = db_query(db, sql.data, "");
		int step = DB_FAIL;
		while (s != NULL && (step = db_step(s)) == DB_ROW) {
			json_t *row = row_of(t, s);
			if (row == NULL || json_array_append_new(rows, row) < 0) {
				db_done(s);
				goto oom;
			}
		}
		db_done(s);
		if (step != DB_DONE) {
			accounts_fail(err, errlen, ACCT_ERR_STORE, "accounts database %s: table %s: %s",
			    db_name(db), t->name, db_errmsg(db));
			goto out;
		}
	}
	if (json_object_set_new(doc, "format", json_string(DUMP_FORMAT)) < 0 ||
	    json_object_set_new(doc, "version", json_integer(DUMP_VERSION)) < 0 ||
	    json_object_set_new(doc, "schema", json_integer(accounts_schema_latest())) < 0 ||
	    json_object_set(doc, "tables", all) < 0)
		goto oom;
	*out = doc;
	doc = NULL;
	rc = 0;
	goto out;
oom:
	accounts_fail(err, errlen, ACCT_ERR_STORE, "out of memory");
out:
	json_decref(all);
	json_decref(doc);
	buf_free(&sql);
	return rc;
}

/* bind_value - v into parameter i of s as column c wants it. 0, or -1 with why. */
static int
bind_value(struct db_stmt *s, int i, const struct column *c, json_t *v, char *why,
    size_t whylen)
{
	if (v == NULL) {
		if (c->type == 'I')
			return 0; /* an unbound parameter is NULL */
		snprintf(why, whylen, "no column %s", c->name);
		return -1;
	}
	if (json_is_null(v)) {
		if (c->type == 'I')
			return 0;
		snprintf(why, whylen, "%s may not be null", c->name);
		return -1;
	}
	if (c->type == 'i' || c->type == 'I') {
		if (!json_is_integer(v)) {
			snprintf(why, whylen, "%s is not an integer", c->name);
			return -1;
		}
		return db_bind_int(s, i, (int64_t)json_integer_value(v));
	}
	if (!json_is_string(v)) {
		snprintf(why, whylen, "%s is not a string", c->name);
		return -1;
	}
	if (c->type == 'b') {
		unsigned char raw[BLOB_MAX];
		long n = hex_to(json_string_value(v), raw, sizeof raw);
		int rc = n < 0 ? -1 : db_bind_blob(s, i, raw, (size_t)n);
		explicit_bzero(raw, sizeof raw);
		if (n < 0)
			snprintf(why, whylen, "%s is not hex", c->name);
		return rc;
	}
	return db_bind_text(s, i, json_string_value(v));
}

/* insert_row - one row of t, checked against t's columns. 0, or -1 with why. */
static int
insert_row(struct db *db, const struct table *t, const char *sql, json_t *row, char *why,
    size_t whylen)
{
	const char *key;
	json_t *v;

	if (!json_is_object(row)) {
		snprintf(why, whylen, "not an object");
		return -1;
	}
	json_object_foreach(row, key, v) {
		size_t i = 0;
		while (i < ncols(t) && strcmp(t->cols[i].name, key) != 0)
			i++;
		if (i == ncols(t)) {
			snprintf(why, whylen, "unknown column %.64s", key);
			return -1;
		}
	}
	struct db_stmt *s = db_prepare(db, sql);
	if (s == NULL) {
		snprintf(why, whylen, "%s", db_errmsg(db));
		return -1;
	}
	for (size_t i = 0; i < ncols(t); i++) {
		if (bind_value(s, (int)i + 1, &t->cols[i], json_object_get(row, t->cols[i].name),
		    why, whylen) < 0) {
			if (why[0] == '\0')
				snprintf(why, whylen, "cannot bind %s", t->cols[i].name);
			db_done(s);
			return -1;
		}
	}
	int rc = db_step(s);
	db_done(s);
	if (rc != DB_DONE) {
		snprintf(why, whylen, "%s", db_errmsg(db));
		return -1;
	}
	return 0;
}

/* check_doc - doc is a dump this mailroom reads: its tables into *all. 0, or -1 with err. */
static int
check_doc(json_t *doc, json_t **all, char *err, size_t errlen)
{
	json_t *f = json_object_get(doc, "format"), *v = json_object_get(doc, "version");
	json_t *sch = json_object_get(doc, "schema");
	const char *name;
	json_t *rows;

	if (!json_is_object(doc) || !json_is_string(f) ||
	    strcmp(json_string_value(f), DUMP_FORMAT) != 0) {
		accounts_fail(err, errlen, ACCT_ERR_INVALID,
		    "not an export of mailroom accounts (no \"format\": \"%s\")", DUMP_FORMAT);
		return -1;
	}
	if (!json_is_integer(v) || json_integer_value(v) != DUMP_VERSION) {
		accounts_fail(err, errlen, ACCT_ERR_INVALID, "export version %lld: this mailroom reads %d",
		    json_is_integer(v) ? (long long)json_integer_value(v) : -1LL, DUMP_VERSION);
		return -1;
	}
	if (!json_is_integer(sch) || json_integer_value(sch) > accounts_schema_latest()) {
		accounts_fail(err, errlen, ACCT_ERR_INVALID,
		    "the export is of schema version %lld, newer than this mailroom knows (%d)",
		    json_is_integer(sch) ? (long long)json_integer_value(sch) : -1LL,
		    accounts_schema_latest());
		return -1;
	}
	*all = json_object_get(doc, "tables");
	if (!json_is_object(*all)) {
		accounts_fail(err, errlen, ACCT_ERR_INVALID, "the export has no \"tables\" object");
		return -1;
	}
	json_object_foreach(*all, name, rows) {
		size_t i = 0;
		while (i < NTABLES && strcmp(tables[i].name, name) != 0)
			i++;
		if (i == NTABLES || !json_is_array(rows)) {
			accounts_fail(err, errlen, ACCT_ERR_INVALID,
			    i == NTABLES ? "unknown table %.64s in the export" :
			    "table %.64s is not a list of rows", name);
			return -1;
		}
	}
	return 0;
}

/* empty_enough - the store has no domain, user, alias or admin. 0, or -1 with err. */
static int
empty_enough(struct accounts *a, char *err, size_t errlen)
{
	static const char *const counted[] = { "domains", "users", "aliases", "admins" };
	struct db *db = accounts_db(a);
	char sql[64];

	for (size_t i = 0; i < sizeof counted / sizeof counted[0]; i++) {
		int64_t n = 0;
		snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", counted[i]);
		if (db_int(db, &n, sql, "") < 0)
			return accounts_db_fail(a, err, errlen);
		if (n > 0) {
			accounts_fail(err, errlen, ACCT_ERR_CONFLICT,
			    "the store %s is not empty (%s: %lld): import goes into an empty store",
			    db_name(db), counted[i], (long long)n);
			return -1;
		}
	}
	return 0;
}

int
accounts_import(struct accounts *a, json_t *doc, size_t *rows, char *err, size_t errlen)
{
	struct db *db = accounts_db(a);
	struct buf sql = { 0 };
	json_t *all;
	char why[512] = "";

	*rows = 0;
	if (db == NULL)
		return accounts_db_fail(a, err, errlen);
	if (check_doc(doc, &all, err, errlen) < 0)
		return -1;
	if (db_begin(db) < 0)
		return accounts_db_fail(a, err, errlen);
	if (empty_enough(a, err, errlen) < 0)
		goto fail;
	/* What the export holds replaces what is left (greylisting, counters, the SRS
	 * secret made with the store); a table it does not list stays as it is. */
	for (size_t i = NTABLES; i-- > 0;) {
		char del[64];
		if (json_object_get(all, tables[i].name) == NULL)
			continue;
		snprintf(del, sizeof del, "DELETE FROM %s", tables[i].name);
		if (db_run(db, del, "") < 0) {
			accounts_db_fail(a, err, errlen);
			goto fail;
		}
	}
	for (size_t i = 0; i < NTABLES; i++) {
		const struct table *t = &tables[i];
		json_t *list = json_object_get(all, t->name), *row;
		size_t k;
		if (list == NULL)
			continue;
		if (insert_sql(t, &sql) < 0) {
			accounts_fail(err, errlen, ACCT_ERR_STORE, "out of memory");
			goto fail;
		}
		json_array_foreach(list, k, row) {
			why[0] = '\0';
			if (insert_row(db, t, sql.data, row, why, sizeof why) < 0) {
				accounts_fail(err, errlen, ACCT_ERR_INVALID, "table %s, row %zu: %s",
				    t->name, k + 1, why);
				goto fail;
			}
			(*rows)++;
		}
	}
	if (db_commit(db) < 0) {
		accounts_db_fail(a, err, errlen);
		goto fail;
	}
	buf_free(&sql);
	return 0;
fail:
	db_rollback(db);
	buf_free(&sql);
	*rows = 0;
	return -1;
}
