/*
 * accounts_users.c - suspended users and app passwords in the account store
 * (tables suspended_users and app_passwords, both keyed by the user's canonical
 * address and emptied with the user by a trigger). Separate tables rather than
 * columns of users: stores of before got them with CREATE ... IF NOT EXISTS.
 */
#include "accounts_users.h"

#include <stdio.h>
#include <string.h>

#include "accounts_int.h"
#include "db/db.h"
#include "util/buf.h"

static int
db_fail(struct accounts *a, char *err, size_t errlen)
{
	return accounts_db_fail(a, err, errlen);
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

/* count - the integer the one-row query sql gives for address (and p2): >= 0, or -1. */
static int64_t
count(struct db *db, const char *sql, const char *address, const char *p2)
{
	int64_t n = -1;

	if (db_int(db, &n, sql, p2 != NULL ? "tt" : "t", address, p2) != 1)
		return -1;
	return n;
}

/*
 * begin_user - a write transaction in which user exists: 0, or -1 with err (no
 * transaction left open).
 */
static int
begin_user(struct accounts *a, const char *user, char *err, size_t errlen)
{
	struct db *db = accounts_db(a);

	if (db == NULL) {
		accounts_fail(err, errlen, ACCT_ERR_STORE,
		    "account controls are changed only in the account store itself");
		return -1;
	}
	/* one writer: the checks below hold until COMMIT */
	if (db_begin(db) < 0)
		return db_fail(a, err, errlen);
	int64_t n = count(db, "SELECT count(*) FROM users WHERE address = ?1", user, NULL);
	if (n == 1)
		return 0;
	if (n < 0)
		db_fail(a, err, errlen);
	else
		accounts_fail(err, errlen, ACCT_ERR_NOT_FOUND, "no such user: %s", user);
	db_rollback(db);
	return -1;
}

/* end - COMMIT when ok, else ROLLBACK; returns 0 or -1 (err set by the caller or here). */
static int
end(struct accounts *a, bool ok, char *err, size_t errlen)
{
	struct db *db = accounts_db(a);

	if (ok && db_commit(db) == 0)
		return 0;
	if (ok)
		db_fail(a, err, errlen);
	db_rollback(db);
	return -1;
}

int
accounts_user_suspend(struct accounts *a, const char *address, bool suspend, char *err,
    size_t errlen)
{
	char user[ADDR_MAX + 1];

	if (canon_user(address, user, err, errlen) < 0 || begin_user(a, user, err, errlen) < 0)
		return -1;
	struct db *db = accounts_db(a);
	int r = suspend ?
	    db_run(db, "INSERT INTO suspended_users(address, since) VALUES(?1, ?2)"
	        " ON CONFLICT DO NOTHING", "ti", user, (int64_t)time(NULL)) :
	    db_run(db, "DELETE FROM suspended_users WHERE address = ?1", "t", user);
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
	struct db *db = accounts_db(a);
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
		ok = db_run(db, "INSERT INTO app_passwords(address, name, digest, created)"
		    " VALUES(?1, ?2, ?3, ?4)", "ttti", user, name, digest, (int64_t)now) == 0;
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
	struct db *db = accounts_db(a);
	if (db_run(db, "DELETE FROM app_passwords WHERE address = ?1 AND name = ?2", "tt", user,
	    name) < 0) {
		db_fail(a, err, errlen);
		return end(a, false, err, errlen);
	}
	if (db_changes(db) == 0) {
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
	struct db *db = accounts_db(a);
	struct db_stmt *s = db_query(db, "SELECT name, created, last_used FROM app_passwords"
	    " WHERE address = ?1 ORDER BY name", "t", user);
	int rc = DB_FAIL;
	bool oom = false;
	while (s != NULL && (rc = db_step(s)) == DB_ROW) {
		char created[32], used[32], line[APP_NAME_MAX + 80];
		const char *name = db_col_text(s, 0);
		when(db_col_int(s, 1), created, sizeof created);
		when(db_col_int(s, 2), used, sizeof used);
		snprintf(line, sizeof line, "%s %s %s", name ? name : "", created, used);
		if (strlist_add(out, line) < 0) {
			oom = true;
			break;
		}
	}
	db_done(s);
	if (oom || rc != DB_DONE) {
		if (oom)
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
	struct db *db = accounts_db(a);

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
	struct db_stmt *s = db_query(db, "SELECT name, digest FROM app_passwords WHERE"
	    " address = ?1 AND scope = 'mail' ORDER BY name", "t", addr);
	int rc = DB_FAIL;
	/* bounded by the table's rules already; bounded here too, whatever the store holds */
	while (s != NULL && out->napps < APP_PASSWORDS_MAX && (rc = db_step(s)) == DB_ROW) {
		const char *name = db_col_text(s, 0);
		const char *digest = db_col_text(s, 1);
		if (name == NULL || digest == NULL)
			continue;
		snprintf(out->app_name[out->napps], sizeof out->app_name[0], "%s", name);
		snprintf(out->app_digest[out->napps], sizeof out->app_digest[0], "%s", digest);
		out->napps++;
	}
	db_done(s);
	if (rc != DB_DONE && rc != DB_ROW) {
		explicit_bzero(out, sizeof *out);
		return -1;
	}
	return 1;
}

int
accounts_app_password_used(struct accounts *a, const char *user, const char *name, time_t now)
{
	struct db *db = accounts_db(a);

	if (db == NULL)
		return -1;
	return db_run(db, "UPDATE app_passwords SET last_used = ?3 WHERE address = ?1 AND"
	    " name = ?2", "tti", user, name, (int64_t)now);
}
