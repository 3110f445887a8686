/*
 * accounts_users.c - suspended users and app passwords in the account store
 * (tables suspended_users and app_passwords, both keyed by the user's canonical
 * address and emptied with the user by a trigger). Separate tables rather than
 * columns of users: old stores get them with CREATE ... IF NOT EXISTS, no ALTER.
 */
#include "accounts_users.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "accounts_int.h"
#include "util/buf.h"

static const char users_schema[] =
    "CREATE TABLE IF NOT EXISTS suspended_users(address TEXT PRIMARY KEY NOT NULL,"
    " since INTEGER NOT NULL);"
    /* scope 'mail': SMTP AUTH and POP3 only, never a web login (app_password_service_ok) */
    "CREATE TABLE IF NOT EXISTS app_passwords(address TEXT NOT NULL, name TEXT NOT NULL,"
    " digest TEXT NOT NULL, scope TEXT NOT NULL DEFAULT 'mail', created INTEGER NOT NULL,"
    " last_used INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(address, name));"
    "CREATE TRIGGER IF NOT EXISTS users_controls_del AFTER DELETE ON users BEGIN"
    " DELETE FROM suspended_users WHERE address = old.address;"
    " DELETE FROM app_passwords WHERE address = old.address; END;";

int
accounts_users_schema(struct sqlite3 *db, char *err, size_t errlen)
{
	char *msg = NULL;

	if (sqlite3_exec(db, users_schema, NULL, NULL, &msg) == SQLITE_OK)
		return 0;
	accounts_fail(err, errlen, ACCT_ERR_STORE, "accounts database: user controls: %s",
	    msg ? msg : sqlite3_errmsg(db));
	sqlite3_free(msg);
	return -1;
}

static int
db_fail(struct accounts *a, char *err, size_t errlen)
{
	accounts_fail(err, errlen, ACCT_ERR_STORE, "accounts database %s: %s", accounts_path(a),
	    sqlite3_errmsg(accounts_sqlite(a)));
	return -1;
}

/* canon_user - address in canonical form into out (ADDR_MAX+1), or -1 with err. */
static int
canon_user(const char *address, char *out, char *err, size_t errlen)
{
	if (address_canonical(address, out, ADDR_MAX + 1, false) == 0)
		return 0;
	accounts_fail(err, errlen, ACCT_ERR_INVALID, "malformed address: %s", address);
	return -1;
}

/* prepare - sql with text parameters p1, p2 (NULL: none) bound; NULL on error. */
static sqlite3_stmt *
prepare(sqlite3 *db, const char *sql, const char *p1, const char *p2)
{
	sqlite3_stmt *s = NULL;

	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK ||
	    (p1 != NULL && sqlite3_bind_text(s, 1, p1, -1, SQLITE_TRANSIENT) != SQLITE_OK) ||
	    (p2 != NULL && sqlite3_bind_text(s, 2, p2, -1, SQLITE_TRANSIENT) != SQLITE_OK)) {
		sqlite3_finalize(s);
		return NULL;
	}
	return s;
}

/* count - the integer the one-row query sql gives for address (and p2): >= 0, or -1. */
static int64_t
count(sqlite3 *db, const char *sql, const char *address, const char *p2)
{
	sqlite3_stmt *s = prepare(db, sql, address, p2);
	int64_t n = -1;

	if (s != NULL && sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return n;
}

/* run - a writing statement; sqlite3_changes() tells what it did. 0 or -1. */
static int
run(sqlite3 *db, const char *sql, const char *p1, const char *p2, int64_t p3)
{
	sqlite3_stmt *s = prepare(db, sql, p1, p2);
	int rc = SQLITE_ERROR;

	if (s != NULL && (p3 < 0 || sqlite3_bind_int64(s, 3, p3) == SQLITE_OK))
		rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

/*
 * begin_user - a write transaction in which user exists: 0, or -1 with err (no
 * transaction left open).
 */
static int
begin_user(struct accounts *a, const char *user, char *err, size_t errlen)
{
	sqlite3 *db = accounts_sqlite(a);

	if (db == NULL) {
		accounts_fail(err, errlen, ACCT_ERR_STORE,
		    "account controls are changed only in the account store itself");
		return -1;
	}
	/* IMMEDIATE: the checks below hold until COMMIT */
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return db_fail(a, err, errlen);
	int64_t n = count(db, "SELECT count(*) FROM users WHERE address = ?1", user, NULL);
	if (n == 1)
		return 0;
	if (n < 0)
		db_fail(a, err, errlen);
	else
		accounts_fail(err, errlen, ACCT_ERR_NOT_FOUND, "no such user: %s", user);
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/* end - COMMIT when ok, else ROLLBACK; returns 0 or -1 (err set by the caller or here). */
static int
end(struct accounts *a, bool ok, char *err, size_t errlen)
{
	sqlite3 *db = accounts_sqlite(a);

	if (ok && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
		return 0;
	if (ok)
		db_fail(a, err, errlen);
	if (sqlite3_get_autocommit(db) == 0)
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

int
accounts_user_suspend(struct accounts *a, const char *address, bool suspend, char *err,
    size_t errlen)
{
	char user[ADDR_MAX + 1];

	if (canon_user(address, user, err, errlen) < 0 || begin_user(a, user, err, errlen) < 0)
		return -1;
	int r = suspend ?
	    run(accounts_sqlite(a), "INSERT OR IGNORE INTO suspended_users(address, since)"
	        " VALUES(?1, ?3)", user, NULL, (int64_t)time(NULL)) :
	    run(accounts_sqlite(a), "DELETE FROM suspended_users WHERE address = ?1", user, NULL, -1);
	if (r < 0)
		db_fail(a, err, errlen);
	return end(a, r == 0, err, errlen);
}

int
accounts_app_password_add(struct accounts *a, const char *address, const char *name,
    char password[APP_PASSWORD_SIZE], time_t now, char *err, size_t errlen)
{
	char user[ADDR_MAX + 1], digest[APP_DIGEST_SIZE];

	if (canon_user(address, user, err, errlen) < 0)
		return -1;
	if (!app_name_valid(name)) {
		accounts_fail(err, errlen, ACCT_ERR_INVALID,
		    "bad app password name: '%.80s' (1 to %d printable characters,"
		    " no spaces)", name, APP_NAME_MAX);
		return -1;
	}
	if (app_password_make(password) < 0 || app_password_digest(password, digest) < 0) {
		accounts_fail(err, errlen, ACCT_ERR_STORE,
		    "cannot make an app password: no random octets");
		return -1;
	}
	if (begin_user(a, user, err, errlen) < 0)
		return -1;
	sqlite3 *db = accounts_sqlite(a);
	bool ok = false;
	int64_t n = count(db, "SELECT count(*) FROM app_passwords WHERE address = ?1", user, NULL);
	int64_t same = count(db, "SELECT count(*) FROM app_passwords WHERE address = ?1 AND"
	    " name = ?2", user, name);
	if (n < 0 || same < 0)
		db_fail(a, err, errlen);
	else if (same > 0)
		accounts_fail(err, errlen, ACCT_ERR_EXISTS,
		    "app password exists: %s of %s", name, user);
	else if (n >= APP_PASSWORDS_MAX)
		accounts_fail(err, errlen, ACCT_ERR_CONFLICT,
		    "%s has %d app passwords already (the most there may be)", user,
		    APP_PASSWORDS_MAX);
	else {
		sqlite3_stmt *s = prepare(db, "INSERT INTO app_passwords(address, name, digest,"
		    " created) VALUES(?1, ?2, ?3, ?4)", user, name);
		ok = s != NULL && sqlite3_bind_text(s, 3, digest, -1, SQLITE_TRANSIENT) == SQLITE_OK &&
		    sqlite3_bind_int64(s, 4, (int64_t)now) == SQLITE_OK && sqlite3_step(s) == SQLITE_DONE;
		sqlite3_finalize(s);
		if (!ok)
			db_fail(a, err, errlen);
	}
	explicit_bzero(digest, sizeof digest);
	if (end(a, ok, err, errlen) < 0) {
		explicit_bzero(password, APP_PASSWORD_SIZE);
		return -1;
	}
	return 0;
}

int
accounts_app_password_del(struct accounts *a, const char *address, const char *name,
    char *err, size_t errlen)
{
	char user[ADDR_MAX + 1];

	if (canon_user(address, user, err, errlen) < 0 || begin_user(a, user, err, errlen) < 0)
		return -1;
	sqlite3 *db = accounts_sqlite(a);
	if (run(db, "DELETE FROM app_passwords WHERE address = ?1 AND name = ?2", user, name,
	    -1) < 0) {
		db_fail(a, err, errlen);
		return end(a, false, err, errlen);
	}
	if (sqlite3_changes(db) == 0) {
		accounts_fail(err, errlen, ACCT_ERR_NOT_FOUND,
		    "no such app password: %.80s of %s", name, user);
		return end(a, false, err, errlen);
	}
	return end(a, true, err, errlen);
}

/* when - t as UTC, or "never" for 0. */
static void
when(int64_t t, char *out, size_t outlen)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0 || gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, outlen, "never");
}

int
accounts_app_password_list(struct accounts *a, const char *address, struct strlist *out,
    char *err, size_t errlen)
{
	char user[ADDR_MAX + 1];

	if (canon_user(address, user, err, errlen) < 0 || begin_user(a, user, err, errlen) < 0)
		return -1;
	sqlite3 *db = accounts_sqlite(a);
	sqlite3_stmt *s = prepare(db, "SELECT name, created, last_used FROM app_passwords"
	    " WHERE address = ?1 ORDER BY name", user, NULL);
	int rc = SQLITE_ERROR;
	while (s != NULL && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		char created[32], used[32], line[APP_NAME_MAX + 80];
		when(sqlite3_column_int64(s, 1), created, sizeof created);
		when(sqlite3_column_int64(s, 2), used, sizeof used);
		snprintf(line, sizeof line, "%s %s %s", (const char *)sqlite3_column_text(s, 0),
		    created, used);
		if (strlist_add(out, line) < 0) {
			rc = SQLITE_NOMEM;
			break;
		}
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		if (rc == SQLITE_NOMEM)
			accounts_fail(err, errlen, ACCT_ERR_STORE, "out of memory");
		else
			db_fail(a, err, errlen);
		return end(a, false, err, errlen);
	}
	return end(a, true, err, errlen);
}

int
accounts_login_record(struct accounts *a, const char *user, struct login_record *out)
{
	char addr[ADDR_MAX + 1];
	sqlite3 *db = accounts_sqlite(a);

	memset(out, 0, sizeof *out);
	if (db == NULL)
		return -1;
	if (address_canonical(user, addr, sizeof addr, false) < 0)
		return 0;
	int found = accounts_password_hash(a, addr, out->hash, sizeof out->hash);
	if (found <= 0)
		return found;
	int64_t susp = count(db, "SELECT count(*) FROM suspended_users WHERE address = ?1", addr,
	    NULL);
	if (susp < 0)
		return -1;
	out->suspended = susp > 0;
	/* only the mail scope exists so far; a web login refuses app passwords by service */
	sqlite3_stmt *s = prepare(db, "SELECT name, digest FROM app_passwords WHERE address = ?1"
	    " AND scope = 'mail' ORDER BY name", addr, NULL);
	int rc = SQLITE_ERROR;
	/* bounded by the table's rules already; bounded here too, whatever the file holds */
	while (s != NULL && out->napps < APP_PASSWORDS_MAX && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(s, 0);
		const char *digest = (const char *)sqlite3_column_text(s, 1);
		if (name == NULL || digest == NULL)
			continue;
		snprintf(out->app_name[out->napps], sizeof out->app_name[0], "%s", name);
		snprintf(out->app_digest[out->napps], sizeof out->app_digest[0], "%s", digest);
		out->napps++;
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		explicit_bzero(out, sizeof *out);
		return -1;
	}
	return 1;
}

int
accounts_app_password_used(struct accounts *a, const char *user, const char *name, time_t now)
{
	sqlite3 *db = accounts_sqlite(a);

	if (db == NULL)
		return -1;
	return run(db, "UPDATE app_passwords SET last_used = ?3 WHERE address = ?1 AND name = ?2",
	    user, name, (int64_t)now);
}
