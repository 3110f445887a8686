/*
 * accounts_schema.c - the account store's schema and its versions: numbered
 * steps, each written for SQLite and for PostgreSQL (the types and triggers
 * differ; the tables, columns and what the triggers do are the same), applied in
 * one transaction up to the newest this mailroom knows. The version is the one
 * row of schema_version (and, in SQLite, PRAGMA user_version too, so that an
 * older mailroom refuses the file). A store of a newer mailroom is refused.
 * Stores made before versions were numbered (user_version 1, no schema_version)
 * are version 1 with its CREATE ... IF NOT EXISTS run again, as they always were.
 */
#include "accounts.h"
#include "accounts_int.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

#include "db/db.h"
#include "srs/srs.h"

struct step {
	const char *sqlite, *pgsql;
};

/* Version 1: every table as the store had them before versions were numbered. */
static const char v1_sqlite[] =
    "CREATE TABLE IF NOT EXISTS domains(name TEXT PRIMARY KEY NOT NULL);"
    "CREATE TABLE IF NOT EXISTS users(address TEXT PRIMARY KEY NOT NULL,"
    " domain TEXT NOT NULL, hash TEXT NOT NULL, quota INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX IF NOT EXISTS users_domain ON users(domain);"
    "CREATE TABLE IF NOT EXISTS aliases(source TEXT NOT NULL, target TEXT NOT NULL,"
    " PRIMARY KEY(source, target));"
    "CREATE TABLE IF NOT EXISTS srs_secret(id INTEGER PRIMARY KEY CHECK (id = 1),"
    " secret BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS dkim_keys(domain TEXT NOT NULL, selector TEXT NOT NULL,"
    " algorithm TEXT NOT NULL CHECK(algorithm IN ('ed25519', 'rsa')),"
    " private_pem TEXT NOT NULL, public_b64 TEXT NOT NULL, created INTEGER NOT NULL,"
    " sign_from INTEGER NOT NULL, PRIMARY KEY(domain, selector));"
    /* A deleted domain takes its keys along, in the same transaction. */
    "CREATE TRIGGER IF NOT EXISTS dkim_keys_domain_del AFTER DELETE ON domains"
    " BEGIN DELETE FROM dkim_keys WHERE domain = old.name; END;"
    "CREATE TABLE IF NOT EXISTS greylist(key TEXT PRIMARY KEY NOT NULL,"
    " first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,"
    " passed INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS greylist_clients(net TEXT PRIMARY KEY NOT NULL,"
    " passes INTEGER NOT NULL DEFAULT 0, last_seen INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS suspended_users(address TEXT PRIMARY KEY NOT NULL,"
    " since INTEGER NOT NULL);"
    /* scope 'mail': SMTP AUTH and POP3 only, never a web login (app_password_service_ok) */
    "CREATE TABLE IF NOT EXISTS app_passwords(address TEXT NOT NULL, name TEXT NOT NULL,"
    " digest TEXT NOT NULL, scope TEXT NOT NULL DEFAULT 'mail', created INTEGER NOT NULL,"
    " last_used INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(address, name));"
    "CREATE TRIGGER IF NOT EXISTS users_controls_del AFTER DELETE ON users BEGIN"
    " DELETE FROM suspended_users WHERE address = old.address;"
    " DELETE FROM app_passwords WHERE address = old.address; END;"
    "CREATE TABLE IF NOT EXISTS admins(name TEXT PRIMARY KEY NOT NULL,"
    " hash TEXT NOT NULL, created INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS api_tokens(digest TEXT PRIMARY KEY NOT NULL,"
    " admin TEXT NOT NULL, created INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS api_tokens_admin ON api_tokens(admin);"
    "CREATE TABLE IF NOT EXISTS web_sessions(digest TEXT PRIMARY KEY NOT NULL,"
    " kind TEXT NOT NULL CHECK(kind IN ('admin', 'user')), name TEXT NOT NULL,"
    " csrf TEXT NOT NULL, created INTEGER NOT NULL, last_seen INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS web_sessions_name ON web_sessions(kind, name);"
    "CREATE TRIGGER IF NOT EXISTS web_admin_del AFTER DELETE ON admins BEGIN"
    " DELETE FROM api_tokens WHERE admin = old.name;"
    " DELETE FROM web_sessions WHERE kind = 'admin' AND name = old.name; END;"
    /* a new password is for when the old one may be known: what it opened closes */
    "CREATE TRIGGER IF NOT EXISTS web_admin_passwd AFTER UPDATE OF hash ON admins BEGIN"
    " DELETE FROM api_tokens WHERE admin = old.name;"
    " DELETE FROM web_sessions WHERE kind = 'admin' AND name = old.name; END;"
    "CREATE TRIGGER IF NOT EXISTS web_user_del AFTER DELETE ON users BEGIN"
    " DELETE FROM web_sessions WHERE kind = 'user' AND name = old.address; END;"
    "CREATE TRIGGER IF NOT EXISTS web_user_passwd AFTER UPDATE OF hash ON users BEGIN"
    " DELETE FROM web_sessions WHERE kind = 'user' AND name = old.address; END;"
    "CREATE TRIGGER IF NOT EXISTS web_user_suspend AFTER INSERT ON suspended_users BEGIN"
    " DELETE FROM web_sessions WHERE kind = 'user' AND name = new.address; END;"
    "CREATE TABLE IF NOT EXISTS user_limits(address TEXT PRIMARY KEY NOT NULL,"
    " per_day INTEGER, per_hour INTEGER);"
    "CREATE TABLE IF NOT EXISTS limit_sends(user TEXT NOT NULL, start INTEGER NOT NULL,"
    " n INTEGER NOT NULL, PRIMARY KEY(user, start));"
    "CREATE TABLE IF NOT EXISTS limit_rcpts(user TEXT NOT NULL, rcpt TEXT NOT NULL,"
    " first INTEGER NOT NULL, last INTEGER NOT NULL, PRIMARY KEY(user, rcpt));"
    "CREATE TRIGGER IF NOT EXISTS user_limits_gone AFTER DELETE ON users BEGIN"
    " DELETE FROM user_limits WHERE address = old.address;"
    " DELETE FROM limit_sends WHERE user = old.address;"
    " DELETE FROM limit_rcpts WHERE user = old.address; END;"
    "CREATE TABLE IF NOT EXISTS vacations(address TEXT PRIMARY KEY NOT NULL,"
    " subject TEXT NOT NULL, body TEXT NOT NULL, until INTEGER NOT NULL DEFAULT 0,"
    " set_at INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS vacation_replies(user TEXT NOT NULL, sender TEXT NOT NULL,"
    " at INTEGER NOT NULL, PRIMARY KEY(user, sender));"
    "CREATE INDEX IF NOT EXISTS vacation_replies_at ON vacation_replies(at);"
    "CREATE TRIGGER IF NOT EXISTS vacations_gone AFTER DELETE ON users BEGIN"
    " DELETE FROM vacations WHERE address = old.address;"
    " DELETE FROM vacation_replies WHERE user = old.address; END;";

/* The same in PostgreSQL: 64-bit integers, bytea, and trigger functions. */
static const char v1_pgsql[] =
    "CREATE TABLE domains(name TEXT PRIMARY KEY NOT NULL);"
    "CREATE TABLE users(address TEXT PRIMARY KEY NOT NULL, domain TEXT NOT NULL,"
    " hash TEXT NOT NULL, quota BIGINT NOT NULL DEFAULT 0);"
    "CREATE INDEX users_domain ON users(domain);"
    "CREATE TABLE aliases(source TEXT NOT NULL, target TEXT NOT NULL,"
    " PRIMARY KEY(source, target));"
    "CREATE TABLE srs_secret(id BIGINT PRIMARY KEY CHECK (id = 1), secret BYTEA NOT NULL);"
    "CREATE TABLE dkim_keys(domain TEXT NOT NULL, selector TEXT NOT NULL,"
    " algorithm TEXT NOT NULL CHECK(algorithm IN ('ed25519', 'rsa')),"
    " private_pem TEXT NOT NULL, public_b64 TEXT NOT NULL, created BIGINT NOT NULL,"
    " sign_from BIGINT NOT NULL, PRIMARY KEY(domain, selector));"
    "CREATE TABLE greylist(key TEXT PRIMARY KEY NOT NULL, first_seen BIGINT NOT NULL,"
    " last_seen BIGINT NOT NULL, passed BIGINT NOT NULL DEFAULT 0);"
    "CREATE TABLE greylist_clients(net TEXT PRIMARY KEY NOT NULL,"
    " passes BIGINT NOT NULL DEFAULT 0, last_seen BIGINT NOT NULL);"
    "CREATE TABLE suspended_users(address TEXT PRIMARY KEY NOT NULL, since BIGINT NOT NULL);"
    "CREATE TABLE app_passwords(address TEXT NOT NULL, name TEXT NOT NULL,"
    " digest TEXT NOT NULL, scope TEXT NOT NULL DEFAULT 'mail', created BIGINT NOT NULL,"
    " last_used BIGINT NOT NULL DEFAULT 0, PRIMARY KEY(address, name));"
    "CREATE TABLE admins(name TEXT PRIMARY KEY NOT NULL, hash TEXT NOT NULL,"
    " created BIGINT NOT NULL);"
    "CREATE TABLE api_tokens(digest TEXT PRIMARY KEY NOT NULL, admin TEXT NOT NULL,"
    " created BIGINT NOT NULL);"
    "CREATE INDEX api_tokens_admin ON api_tokens(admin);"
    "CREATE TABLE web_sessions(digest TEXT PRIMARY KEY NOT NULL,"
    " kind TEXT NOT NULL CHECK(kind IN ('admin', 'user')), name TEXT NOT NULL,"
    " csrf TEXT NOT NULL, created BIGINT NOT NULL, last_seen BIGINT NOT NULL);"
    "CREATE INDEX web_sessions_name ON web_sessions(kind, name);"
    "CREATE TABLE user_limits(address TEXT PRIMARY KEY NOT NULL, per_day BIGINT,"
    " per_hour BIGINT);"
    "CREATE TABLE limit_sends(\"user\" TEXT NOT NULL, start BIGINT NOT NULL,"
    " n BIGINT NOT NULL, PRIMARY KEY(\"user\", start));"
    "CREATE TABLE limit_rcpts(\"user\" TEXT NOT NULL, rcpt TEXT NOT NULL,"
    " first BIGINT NOT NULL, last BIGINT NOT NULL, PRIMARY KEY(\"user\", rcpt));"
    "CREATE TABLE vacations(address TEXT PRIMARY KEY NOT NULL, subject TEXT NOT NULL,"
    " body TEXT NOT NULL, until BIGINT NOT NULL DEFAULT 0, set_at BIGINT NOT NULL);"
    "CREATE TABLE vacation_replies(\"user\" TEXT NOT NULL, sender TEXT NOT NULL,"
    " at BIGINT NOT NULL, PRIMARY KEY(\"user\", sender));"
    "CREATE INDEX vacation_replies_at ON vacation_replies(at);"
    /* What SQLite's triggers do, one function per event. */
    "CREATE FUNCTION mailroom_domain_gone() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
    " DELETE FROM dkim_keys WHERE domain = OLD.name; RETURN NULL; END $$;"
    "CREATE TRIGGER dkim_keys_domain_del AFTER DELETE ON domains FOR EACH ROW"
    " EXECUTE FUNCTION mailroom_domain_gone();"
    "CREATE FUNCTION mailroom_user_gone() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
    " DELETE FROM suspended_users WHERE address = OLD.address;"
    " DELETE FROM app_passwords WHERE address = OLD.address;"
    " DELETE FROM web_sessions WHERE kind = 'user' AND name = OLD.address;"
    " DELETE FROM user_limits WHERE address = OLD.address;"
    " DELETE FROM limit_sends WHERE \"user\" = OLD.address;"
    " DELETE FROM limit_rcpts WHERE \"user\" = OLD.address;"
    " DELETE FROM vacations WHERE address = OLD.address;"
    " DELETE FROM vacation_replies WHERE \"user\" = OLD.address; RETURN NULL; END $$;"
    "CREATE TRIGGER users_gone AFTER DELETE ON users FOR EACH ROW"
    " EXECUTE FUNCTION mailroom_user_gone();"
    "CREATE FUNCTION mailroom_user_passwd() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
    " DELETE FROM web_sessions WHERE kind = 'user' AND name = OLD.address;"
    " RETURN NULL; END $$;"
    "CREATE TRIGGER web_user_passwd AFTER UPDATE OF hash ON users FOR EACH ROW"
    " EXECUTE FUNCTION mailroom_user_passwd();"
    "CREATE FUNCTION mailroom_user_suspended() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
    " DELETE FROM web_sessions WHERE kind = 'user' AND name = NEW.address;"
    " RETURN NULL; END $$;"
    "CREATE TRIGGER web_user_suspend AFTER INSERT ON suspended_users FOR EACH ROW"
    " EXECUTE FUNCTION mailroom_user_suspended();"
    "CREATE FUNCTION mailroom_admin_gone() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
    " DELETE FROM api_tokens WHERE admin = OLD.name;"
    " DELETE FROM web_sessions WHERE kind = 'admin' AND name = OLD.name;"
    " RETURN NULL; END $$;"
    "CREATE TRIGGER web_admin_del AFTER DELETE ON admins FOR EACH ROW"
    " EXECUTE FUNCTION mailroom_admin_gone();"
    "CREATE TRIGGER web_admin_passwd AFTER UPDATE OF hash ON admins FOR EACH ROW"
    " EXECUTE FUNCTION mailroom_admin_gone();";

/*
 * Version 2: the targets of an alias keep the order they were added in a column
 * of their own (SQLite's rowid did it before; PostgreSQL has none).
 */
static const char v2_sqlite[] =
    "ALTER TABLE aliases ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;"
    "UPDATE aliases SET seq = rowid;";
static const char v2_pgsql[] =
    "ALTER TABLE aliases ADD COLUMN seq BIGINT NOT NULL DEFAULT 0;";

static const struct step steps[] = {
	{ v1_sqlite, v1_pgsql },
	{ v2_sqlite, v2_pgsql },
};

#define LATEST ((int)(sizeof steps / sizeof steps[0]))

int
accounts_schema_latest(void)
{
	return LATEST;
}

/*
 * table_exists - 1 when the store has table name, 0 not, -1 error. The
 * catalogues differ; nothing else here does.
 */
static int
table_exists(struct db *db, const char *name)
{
	if (db_backend(db) == DB_SQLITE)
		return db_int(db, NULL, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND"
		    " name = ?1", "t", name);
	return db_int(db, NULL, "SELECT 1 FROM information_schema.tables WHERE"
	    " table_schema = current_schema() AND table_name = ?1", "t", name);
}

/*
 * read_version - the store's version into *v: 0 empty, or *legacy set for a
 * store of before versions (SQLite only). 0, or -1 with err.
 */
static int
read_version(struct db *db, int *v, bool *legacy, char *err, size_t errlen)
{
	int64_t n = 0;

	*v = 0;
	*legacy = false;
	int r = table_exists(db, "schema_version");
	if (r > 0) {
		r = db_int(db, &n, "SELECT max(version) FROM schema_version", "");
		if (r >= 0) {
			*v = (int)(n > 0 && n < 1000000 ? n : 0);
			return 0;
		}
	} else if (r == 0 && db_backend(db) == DB_SQLITE) {
		r = db_int(db, &n, "PRAGMA user_version", "");
		if (r >= 0) {
			if (n > 1) {
				accounts_fail(err, errlen, ACCT_ERR_STORE,
				    "accounts database %s: unknown schema version %lld", db_name(db),
				    (long long)n);
				return -1;
			}
			*v = (int)n;
			*legacy = n == 1;
			return 0;
		}
	} else if (r == 0) {
		return 0;
	}
	accounts_fail(err, errlen, ACCT_ERR_STORE, "accounts database %s: %s", db_name(db),
	    db_errmsg(db));
	return -1;
}

static int
newer(struct db *db, int v, char *err, size_t errlen)
{
	accounts_fail(err, errlen, ACCT_ERR_STORE,
	    "accounts database %s: schema version %d is newer than this mailroom knows (%d):"
	    " upgrade mailroom on this host", db_name(db), v, LATEST);
	return -1;
}

/* record - the version now reached, in the table (and SQLite's header). 0 or -1. */
static int
record(struct db *db, int v)
{
	char pragma[64];

	if (db_exec(db, "CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL)") < 0 ||
	    db_run(db, "DELETE FROM schema_version", "") < 0 ||
	    db_run(db, "INSERT INTO schema_version(version) VALUES(?1)", "i", (int64_t)v) < 0)
		return -1;
	if (db_backend(db) != DB_SQLITE)
		return 0;
	snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", v);
	return db_exec(db, pragma);
}

/* srs_secret - SRS_SECRET_LEN random octets, made once (addresses out there use them). */
static int
srs_secret(struct db *db, char *err, size_t errlen)
{
	unsigned char secret[SRS_SECRET_LEN];

	if (db_int(db, NULL, "SELECT 1 FROM srs_secret WHERE id = 1", "") == 1)
		return 0;
	if (RAND_bytes(secret, sizeof secret) != 1) {
		accounts_fail(err, errlen, ACCT_ERR_STORE,
		    "cannot make the SRS secret: no random octets");
		return -1;
	}
	int r = db_run(db, "INSERT INTO srs_secret(id, secret) VALUES(1, ?1) ON CONFLICT DO NOTHING",
	    "b", (const void *)secret, sizeof secret);
	explicit_bzero(secret, sizeof secret);
	if (r == 0)
		return 0;
	accounts_fail(err, errlen, ACCT_ERR_STORE, "accounts database %s: SRS secret: %s",
	    db_name(db), db_errmsg(db));
	return -1;
}

int
accounts_schema_migrate(struct db *db, bool create, int *from, char *err, size_t errlen)
{
	int v;
	bool legacy;

	if (read_version(db, &v, &legacy, err, errlen) < 0)
		return -1;
	*from = v;
	if (v > LATEST)
		return newer(db, v, err, errlen);
	if (v == 0 && !create) {
		accounts_fail(err, errlen, ACCT_ERR_STORE,
		    "accounts database %s has no tables: run 'mailroom init' first", db_name(db));
		return -1;
	}
	if (v == LATEST && !legacy)
		return 0;
	/* One writer: another host (or process) upgrading at the same time waits, then finds it done. */
	if (db_begin(db) < 0)
		goto fail;
	if (read_version(db, &v, &legacy, err, errlen) < 0) {
		db_rollback(db);
		return -1;
	}
	if (v > LATEST) {
		db_rollback(db);
		return newer(db, v, err, errlen);
	}
	/* A store of before versions: its tables made again where missing, as before. */
	for (int i = legacy ? v : v + 1; i <= LATEST; i++) {
		const struct step *s = &steps[i - 1];
		if (db_exec(db, db_backend(db) == DB_SQLITE ? s->sqlite : s->pgsql) < 0) {
			accounts_fail(err, errlen, ACCT_ERR_STORE,
			    "accounts database %s: schema step %d: %s", db_name(db), i, db_errmsg(db));
			db_rollback(db);
			return -1;
		}
	}
	if (record(db, LATEST) < 0)
		goto fail;
	if (srs_secret(db, err, errlen) < 0) {
		db_rollback(db);
		return -1;
	}
	if (db_commit(db) < 0)
		goto fail;
	return 0;
fail:
	accounts_fail(err, errlen, ACCT_ERR_STORE, "accounts database %s: %s", db_name(db),
	    db_errmsg(db));
	db_rollback(db);
	return -1;
}
