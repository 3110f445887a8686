/*
 * accounts.c - hosted domains, users and aliases in SQLite (WAL), and the
 * resolution of a recipient address to mailboxes and forwarding targets.
 * Several processes share the database: the CLI writes while servers read, so
 * every statement is reset right after use and no read transaction outlives a call.
 */
#include "accounts.h"

#include <ctype.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "accounts_int.h"
#include "accounts_users.h"
#include "lookup/lookup_client.h"
#include "password.h"
#include "util/buf.h"
#include "util/log.h"

#define SCHEMA_VERSION 1
#define BUSY_TIMEOUT_MS 5000
/* Aliases expanded in a row at most; more is taken as a misconfiguration (451). */
#define ALIAS_DEPTH_MAX 8
/* Lookups for one address, so a wide alias tree cannot stall a server. */
#define RESOLVE_LOOKUPS_MAX 1000

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS domains(name TEXT PRIMARY KEY NOT NULL);"
    "CREATE TABLE IF NOT EXISTS users(address TEXT PRIMARY KEY NOT NULL,"
    " domain TEXT NOT NULL, hash TEXT NOT NULL, quota INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX IF NOT EXISTS users_domain ON users(domain);"
    "CREATE TABLE IF NOT EXISTS aliases(source TEXT NOT NULL, target TEXT NOT NULL,"
    " PRIMARY KEY(source, target));"
    "PRAGMA user_version = 1;";

#define USER_LIST_FLAGS "CASE WHEN address IN (SELECT address FROM suspended_users)" \
	" THEN ' suspended' ELSE '' END"

enum stmt_id {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_DOMAIN_GET,
	ST_DOMAIN_ADD,
	ST_DOMAIN_DEL,
	ST_DOMAIN_LIST,
	ST_DOMAIN_NUSERS,
	ST_DOMAIN_NALIASES,
	ST_USER_GET,
	ST_USER_ADD,
	ST_USER_PASSWD,
	ST_USER_QUOTA,
	ST_USER_DEL,
	ST_USER_LIST,
	ST_USER_LIST_DOMAIN,
	ST_ALIAS_GET,
	ST_ALIAS_ADD,
	ST_ALIAS_DEL,
	ST_ALIAS_LIST,
	ST_ALIAS_SOURCES,
	ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
	/* IMMEDIATE: take the write lock up front, so check-then-write cannot race */
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_DOMAIN_GET] = "SELECT 1 FROM domains WHERE name = ?1",
	[ST_DOMAIN_ADD] = "INSERT INTO domains(name) VALUES(?1)",
	[ST_DOMAIN_DEL] = "DELETE FROM domains WHERE name = ?1",
	[ST_DOMAIN_LIST] = "SELECT name FROM domains ORDER BY name",
	[ST_DOMAIN_NUSERS] = "SELECT count(*) FROM users WHERE domain = ?1",
	/* hosted domains are letters, digits, hyphens and dots: nothing GLOB treats specially */
	[ST_DOMAIN_NALIASES] =
	    "SELECT count(DISTINCT source) FROM aliases WHERE source GLOB '*@' || ?1",
	[ST_USER_GET] = "SELECT hash, quota FROM users WHERE address = ?1",
	[ST_USER_ADD] = "INSERT INTO users(address, domain, hash, quota) VALUES(?1, ?2, ?3, ?4)",
	[ST_USER_PASSWD] = "UPDATE users SET hash = ?2 WHERE address = ?1",
	[ST_USER_QUOTA] = "UPDATE users SET quota = ?2 WHERE address = ?1",
	[ST_USER_DEL] = "DELETE FROM users WHERE address = ?1",
	/* a suspended user's line ends in "suspended" (accounts_users.c) */
	[ST_USER_LIST] = "SELECT address, quota || " USER_LIST_FLAGS
	    " FROM users ORDER BY domain, address",
	[ST_USER_LIST_DOMAIN] = "SELECT address, quota || " USER_LIST_FLAGS
	    " FROM users WHERE domain = ?1 ORDER BY address",
	/* rowid order: targets come back in the order they were added */
	[ST_ALIAS_GET] = "SELECT target FROM aliases WHERE source = ?1 ORDER BY rowid",
	[ST_ALIAS_ADD] = "INSERT OR IGNORE INTO aliases(source, target) VALUES(?1, ?2)",
	[ST_ALIAS_DEL] = "DELETE FROM aliases WHERE source = ?1",
	[ST_ALIAS_LIST] = "SELECT source, group_concat(target, ',') FROM"
	    " (SELECT source, target FROM aliases ORDER BY source, rowid)"
	    " GROUP BY source ORDER BY source",
	[ST_ALIAS_SOURCES] = "SELECT DISTINCT source FROM aliases ORDER BY source",
};

struct accounts {
	struct lookup_client *remote; /* set: every query goes to lookupd (the roles) */
	sqlite3 *db;
	char *path;
	sqlite3_stmt *st[ST_COUNT]; /* prepared on first use, kept: resolve runs per RCPT */
};

/* ---- lists ---- */

int
strlist_add(struct strlist *l, const char *s)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		char **v = reallocarray(l->v, cap, sizeof *v);
		if (v == NULL)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	if ((l->v[l->n] = strdup(s)) == NULL)
		return -1;
	l->n++;
	return 0;
}

bool
strlist_has(const struct strlist *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++) {
		if (strcmp(l->v[i], s) == 0)
			return true;
	}
	return false;
}

void
strlist_free(struct strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

void
target_list_free(struct target_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

/* ---- database plumbing ---- */

/* The kind of the last failure on this thread, as errno is (accounts_last_error). */
static _Thread_local enum accounts_error last_error;

enum accounts_error
accounts_last_error(void)
{
	return last_error;
}

void
accounts_error_clear(void)
{
	last_error = ACCT_ERR_NONE;
}

void
accounts_fail(char *err, size_t errlen, enum accounts_error kind, const char *fmt, ...)
{
	va_list ap;

	last_error = kind;
	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

#define set_err accounts_fail

static int
db_err(struct accounts *a, char *err, size_t errlen)
{
	set_err(err, errlen, ACCT_ERR_STORE,
	    "accounts database %s: %s", a->path, sqlite3_errmsg(a->db));
	return -1;
}

/* stmt - the prepared statement id, reset and unbound, or NULL (see sqlite3_errmsg). */
static sqlite3_stmt *
stmt(struct accounts *a, enum stmt_id id)
{
	if (a->st[id] == NULL) {
		if (sqlite3_prepare_v3(a->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
		    &a->st[id], NULL) != SQLITE_OK)
			return NULL;
	}
	return a->st[id];
}

/* done - reset s, so that it holds no read transaction open between calls. */
static void
done(sqlite3_stmt *s)
{
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

static int
bind_text(sqlite3_stmt *s, int i, const char *v)
{
	return sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT) == SQLITE_OK ? 0 : -1;
}

/* exec_simple - run a statement without parameters or rows (BEGIN, COMMIT, ...). */
static int
exec_simple(struct accounts *a, enum stmt_id id)
{
	sqlite3_stmt *s = stmt(a, id);
	if (s == NULL)
		return -1;
	int rc = sqlite3_step(s);
	done(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int
begin(struct accounts *a, char *err, size_t errlen)
{
	return exec_simple(a, ST_BEGIN) < 0 ? db_err(a, err, errlen) : 0;
}

static int
commit(struct accounts *a, char *err, size_t errlen)
{
	if (exec_simple(a, ST_COMMIT) < 0) {
		db_err(a, err, errlen);
		exec_simple(a, ST_ROLLBACK);
		return -1;
	}
	return 0;
}

/* rollback - end a failed transaction; returns -1 for the caller to pass on. */
static int
rollback(struct accounts *a)
{
	if (sqlite3_get_autocommit(a->db) == 0)
		exec_simple(a, ST_ROLLBACK);
	return -1;
}

/*
 * query_one - run statement id with one text parameter. Returns 1 when it gives a
 * row (the first column into *out when out is not NULL), 0 when none, -1 on error.
 */
static int
query_int(struct accounts *a, enum stmt_id id, const char *arg, int64_t *out)
{
	sqlite3_stmt *s = stmt(a, id);
	if (s == NULL || bind_text(s, 1, arg) < 0)
		return -1;
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW && out != NULL)
		*out = sqlite3_column_int64(s, 0);
	done(s);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/* exec_args - run a writing statement with text parameters; returns the sqlite code. */
static int
exec_args(struct accounts *a, enum stmt_id id, const char *p1, const char *p2)
{
	sqlite3_stmt *s = stmt(a, id);
	if (s == NULL)
		return SQLITE_ERROR;
	if (bind_text(s, 1, p1) < 0 || (p2 != NULL && bind_text(s, 2, p2) < 0)) {
		done(s);
		return SQLITE_ERROR;
	}
	int rc = sqlite3_step(s);
	done(s);
	return rc;
}

struct accounts *
accounts_open(const char *data_dir, bool create, char *err, size_t errlen)
{
	struct accounts *a = calloc(1, sizeof *a);
	if (a == NULL) {
		set_err(err, errlen, ACCT_ERR_STORE, "out of memory");
		return NULL;
	}
	if (asprintf(&a->path, "%s/accounts.db", data_dir) < 0) {
		a->path = NULL;
		free(a);
		set_err(err, errlen, ACCT_ERR_STORE, "out of memory");
		return NULL;
	}
	bool existed = access(a->path, F_OK) == 0;
	if (!existed && !create) {
		if (errno == ENOENT)
			set_err(err, errlen, ACCT_ERR_STORE,
			    "cannot open accounts database %s: run 'mailroom init' first",
			    a->path);
		else
			set_err(err, errlen, ACCT_ERR_STORE,
			    "cannot open accounts database %s: %s", a->path,
			    strerror(errno));
		accounts_close(a);
		return NULL;
	}
	int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);
	if (sqlite3_open_v2(a->path, &a->db, flags, NULL) != SQLITE_OK) {
		set_err(err, errlen, ACCT_ERR_STORE,
		    "cannot open accounts database %s: %s", a->path,
		    a->db ? sqlite3_errmsg(a->db) : "out of memory");
		accounts_close(a);
		return NULL;
	}
	/* It holds password hashes; the WAL and shm files inherit this mode. */
	if (!existed)
		chmod(a->path, 0600);
	sqlite3_busy_timeout(a->db, BUSY_TIMEOUT_MS);
	sqlite3_extended_result_codes(a->db, 1);
	char *msg = NULL;
	if (sqlite3_exec(a->db, "PRAGMA journal_mode=WAL", NULL, NULL, &msg) != SQLITE_OK ||
	    (create && sqlite3_exec(a->db, schema, NULL, NULL, &msg) != SQLITE_OK)) {
		set_err(err, errlen, ACCT_ERR_STORE, "accounts database %s: %s", a->path,
		    msg ? msg : sqlite3_errmsg(a->db));
		sqlite3_free(msg);
		accounts_close(a);
		return NULL;
	}
	if (create && accounts_srs_prepare(a->db, err, errlen) < 0) {
		accounts_close(a);
		return NULL;
	}
	sqlite3_stmt *s;
	int version = -1;
	if (sqlite3_prepare_v2(a->db, "PRAGMA user_version", -1, &s, NULL) == SQLITE_OK) {
		if (sqlite3_step(s) == SQLITE_ROW)
			version = sqlite3_column_int(s, 0);
		sqlite3_finalize(s);
	}
	if (version != SCHEMA_VERSION) {
		if (version == 0)
			set_err(err, errlen, ACCT_ERR_STORE,
			    "accounts database %s has no tables: run 'mailroom init' first", a->path);
		else if (version < 0)
			db_err(a, err, errlen);
		else
			set_err(err, errlen, ACCT_ERR_STORE,
			    "accounts database %s: unknown schema version %d",
			    a->path, version);
		accounts_close(a);
		return NULL;
	}
	if (accounts_dkim_schema(a->db, err, errlen) < 0 ||
	    accounts_grey_schema(a->db, err, errlen) < 0 ||
	    accounts_users_schema(a->db, err, errlen) < 0 ||
	    accounts_web_schema(a->db, err, errlen) < 0 ||
	    accounts_limits_schema(a->db, err, errlen) < 0 ||
	    accounts_vacation_schema(a->db, err, errlen) < 0) {
		accounts_close(a);
		return NULL;
	}
	return a;
}

struct accounts *
accounts_open_remote(const char *data_dir, char *err, size_t errlen)
{
	struct accounts *a = calloc(1, sizeof *a);
	if (a == NULL || (a->remote = calloc(1, sizeof *a->remote)) == NULL) {
		free(a);
		set_err(err, errlen, ACCT_ERR_STORE, "out of memory");
		return NULL;
	}
	lookup_client_init(a->remote, data_dir);
	return a;
}

enum lookup_verdict
accounts_verify(struct accounts *a, const char *user, const char *password,
    const char *client_ip, const char *service)
{
	if (a->remote == NULL)
		return VERDICT_TEMPFAIL; /* only lookupd checks passwords */
	return lookup_verify(a->remote, user, password, client_ip, service);
}

void
accounts_close(struct accounts *a)
{
	if (a == NULL)
		return;
	if (a->remote != NULL) {
		lookup_client_close(a->remote);
		free(a->remote);
	}
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(a->st[i]);
	sqlite3_close(a->db);
	free(a->path);
	free(a);
}

/* For the store's other files (accounts_int.h). */
sqlite3 *
accounts_sqlite(struct accounts *a)
{
	return a->db;
}

struct lookup_client *
accounts_lookup(struct accounts *a)
{
	return a->remote;
}

const char *
accounts_path(struct accounts *a)
{
	return a->path ? a->path : "";
}

/* ---- names ---- */

/* canon_domain - d lower-cased into out (ADDR_DOMAIN_MAX+1), if it is a domain name. */
static int
canon_domain(const char *d, char *out)
{
	size_t n = strlen(d);

	if (n > ADDR_DOMAIN_MAX || !domain_valid(d))
		return -1;
	for (size_t i = 0; i <= n; i++)
		out[i] = (char)tolower((unsigned char)d[i]);
	return 0;
}

/*
 * canon_mailbox - the canonical form of a user's address. The local part becomes
 * a directory name (mail/<domain>/<local>/), so beyond RFC 5321 it must be plain
 * ASCII atext without '/' and unquoted.
 */
static int
canon_mailbox(const char *address, char *out, char *err, size_t errlen)
{
	if (address_canonical(address, out, ADDR_MAX + 1, false) < 0) {
		set_err(err, errlen, ACCT_ERR_INVALID, "malformed address: %s", address);
		return -1;
	}
	const char *at = strrchr(out, '@');
	for (const char *p = out; p < at; p++) {
		unsigned char c = (unsigned char)*p;
		if (c >= 0x80 || c == '/' || c == '"' || c == '\\' || c <= ' ') {
			set_err(err, errlen, ACCT_ERR_INVALID,
			    "address not usable as a mailbox name: %s", address);
			return -1;
		}
	}
	if (at[1] == '[') {
		set_err(err, errlen, ACCT_ERR_NOT_FOUND, "no such domain: %s", at + 1);
		return -1;
	}
	return 0;
}

/* canon_source - an alias source: "local@domain" or "@domain", canonical. */
static int
canon_source(const char *source, char *out, char *err, size_t errlen)
{
	if (source[0] == '@') {
		out[0] = '@';
		if (canon_domain(source + 1, out + 1) < 0) {
			set_err(err, errlen, ACCT_ERR_INVALID, "malformed address: %s", source);
			return -1;
		}
		return 0;
	}
	if (address_canonical(source, out, ADDR_MAX + 1, false) < 0) {
		set_err(err, errlen, ACCT_ERR_INVALID, "malformed address: %s", source);
		return -1;
	}
	return 0;
}

/* domain_lookup - 1 hosted, 0 not, -1 database error. */
static int
domain_lookup(struct accounts *a, const char *domain)
{
	char d[ADDR_DOMAIN_MAX + 1];

	if (canon_domain(domain, d) < 0)
		return 0;
	return query_int(a, ST_DOMAIN_GET, d, NULL);
}

bool
accounts_domain_is_local(struct accounts *a, const char *domain)
{
	return domain != NULL && domain_lookup(a, domain) == 1;
}

/* need_domain - 0 when domain is hosted, else -1 with the reason in err. */
static int
need_domain(struct accounts *a, const char *domain, char *err, size_t errlen)
{
	int r = query_int(a, ST_DOMAIN_GET, domain, NULL);
	if (r < 0)
		return db_err(a, err, errlen);
	if (r == 0) {
		set_err(err, errlen, ACCT_ERR_NOT_FOUND, "no such domain: %s", domain);
		return -1;
	}
	return 0;
}

/* ---- domains ---- */

int
accounts_domain_add(struct accounts *a, const char *domain, char *err, size_t errlen)
{
	char d[ADDR_DOMAIN_MAX + 1];

	if (canon_domain(domain, d) < 0) {
		set_err(err, errlen, ACCT_ERR_INVALID, "malformed domain: %s", domain);
		return -1;
	}
	int rc = exec_args(a, ST_DOMAIN_ADD, d, NULL);
	if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
		set_err(err, errlen, ACCT_ERR_EXISTS, "domain exists: %s", d);
		return -1;
	}
	return rc == SQLITE_DONE ? 0 : db_err(a, err, errlen);
}

int
accounts_domain_del(struct accounts *a, const char *domain, char *err, size_t errlen)
{
	char d[ADDR_DOMAIN_MAX + 1];
	int64_t nusers = 0, naliases = 0;

	if (canon_domain(domain, d) < 0) {
		set_err(err, errlen, ACCT_ERR_INVALID, "malformed domain: %s", domain);
		return -1;
	}
	if (begin(a, err, errlen) < 0)
		return -1;
	if (need_domain(a, d, err, errlen) < 0)
		return rollback(a);
	if (query_int(a, ST_DOMAIN_NUSERS, d, &nusers) < 0 ||
	    query_int(a, ST_DOMAIN_NALIASES, d, &naliases) < 0) {
		db_err(a, err, errlen);
		return rollback(a);
	}
	/* Like Postfix, never orphan mailboxes: the admin removes them first. */
	if (nusers > 0 || naliases > 0) {
		set_err(err, errlen, ACCT_ERR_CONFLICT,
		    "domain not empty: %s (%lld users, %lld aliases)", d,
		    (long long)nusers, (long long)naliases);
		return rollback(a);
	}
	if (exec_args(a, ST_DOMAIN_DEL, d, NULL) != SQLITE_DONE) {
		db_err(a, err, errlen);
		return rollback(a);
	}
	return commit(a, err, errlen);
}

/* list_rows - each row of statement s as one line (columns joined by a space) into out. */
static int
list_rows(struct accounts *a, sqlite3_stmt *s, struct strlist *out, char *err, size_t errlen)
{
	struct buf line = { 0 };
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		bool oom = false;
		buf_reset(&line);
		for (int i = 0; i < sqlite3_column_count(s); i++) {
			const char *c = (const char *)sqlite3_column_text(s, i);
			if (buf_printf(&line, "%s%s", i ? " " : "", c ? c : "") < 0)
				oom = true;
		}
		if (oom || strlist_add(out, line.data ? line.data : "") < 0) {
			rc = SQLITE_NOMEM;
			break;
		}
	}
	done(s);
	buf_free(&line);
	if (rc == SQLITE_NOMEM) {
		set_err(err, errlen, ACCT_ERR_STORE, "out of memory");
		return -1;
	}
	return rc == SQLITE_DONE ? 0 : db_err(a, err, errlen);
}

int
accounts_domain_list(struct accounts *a, struct strlist *out, char *err, size_t errlen)
{
	if (a->remote != NULL) {
		if (lookup_domains(a->remote, out) == 0)
			return 0;
		set_err(err, errlen, ACCT_ERR_STORE, "lookupd did not answer");
		return -1;
	}
	sqlite3_stmt *s = stmt(a, ST_DOMAIN_LIST);

	if (s == NULL)
		return db_err(a, err, errlen);
	return list_rows(a, s, out, err, errlen);
}

/* ---- users ---- */

int
accounts_user_add(struct accounts *a, const char *address, const char *password,
    uint64_t quota, char *err, size_t errlen)
{
	char addr[ADDR_MAX + 1], hash[PASSWORD_HASH_MAX];

	if (canon_mailbox(address, addr, err, errlen) < 0)
		return -1;
	if (password == NULL || password[0] == '\0') {
		set_err(err, errlen, ACCT_ERR_INVALID, "empty password");
		return -1;
	}
	if (quota > INT64_MAX) {
		set_err(err, errlen, ACCT_ERR_INVALID, "quota too large");
		return -1;
	}
	const char *domain = address_domain(addr);
	/* cheap checks before the slow hash; repeated inside the transaction */
	if (need_domain(a, domain, err, errlen) < 0)
		return -1;
	if (password_hash(password, hash, sizeof hash) < 0) {
		set_err(err, errlen, ACCT_ERR_STORE, "cannot hash the password");
		return -1;
	}
	if (begin(a, err, errlen) < 0)
		return -1;
	if (need_domain(a, domain, err, errlen) < 0)
		return rollback(a);
	sqlite3_stmt *s = stmt(a, ST_USER_ADD);
	if (s == NULL) {
		db_err(a, err, errlen);
		return rollback(a);
	}
	int rc = SQLITE_ERROR;
	if (bind_text(s, 1, addr) == 0 && bind_text(s, 2, domain) == 0 &&
	    bind_text(s, 3, hash) == 0 && sqlite3_bind_int64(s, 4, (int64_t)quota) == SQLITE_OK)
		rc = sqlite3_step(s);
	done(s);
	explicit_bzero(hash, sizeof hash);
	if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
		set_err(err, errlen, ACCT_ERR_EXISTS, "user exists: %s", addr);
		return rollback(a);
	}
	if (rc != SQLITE_DONE) {
		db_err(a, err, errlen);
		return rollback(a);
	}
	return commit(a, err, errlen);
}

int
accounts_user_passwd(struct accounts *a, const char *address, const char *password,
    char *err, size_t errlen)
{
	char addr[ADDR_MAX + 1], hash[PASSWORD_HASH_MAX];

	if (address_canonical(address, addr, sizeof addr, false) < 0) {
		set_err(err, errlen, ACCT_ERR_INVALID, "malformed address: %s", address);
		return -1;
	}
	if (password == NULL || password[0] == '\0') {
		set_err(err, errlen, ACCT_ERR_INVALID, "empty password");
		return -1;
	}
	if (password_hash(password, hash, sizeof hash) < 0) {
		set_err(err, errlen, ACCT_ERR_STORE, "cannot hash the password");
		return -1;
	}
	int rc = exec_args(a, ST_USER_PASSWD, addr, hash);
	explicit_bzero(hash, sizeof hash);
	if (rc != SQLITE_DONE)
		return db_err(a, err, errlen);
	if (sqlite3_changes(a->db) == 0) {
		set_err(err, errlen, ACCT_ERR_NOT_FOUND, "no such user: %s", addr);
		return -1;
	}
	return 0;
}

int
accounts_user_del(struct accounts *a, const char *address, char *err, size_t errlen)
{
	char addr[ADDR_MAX + 1];

	if (address_canonical(address, addr, sizeof addr, false) < 0) {
		set_err(err, errlen, ACCT_ERR_INVALID, "malformed address: %s", address);
		return -1;
	}
	if (exec_args(a, ST_USER_DEL, addr, NULL) != SQLITE_DONE)
		return db_err(a, err, errlen);
	if (sqlite3_changes(a->db) == 0) {
		set_err(err, errlen, ACCT_ERR_NOT_FOUND, "no such user: %s", addr);
		return -1;
	}
	return 0;
}

int
accounts_user_quota_set(struct accounts *a, const char *address, uint64_t quota, char *err,
    size_t errlen)
{
	char addr[ADDR_MAX + 1], q[32];

	if (address_canonical(address, addr, sizeof addr, false) < 0) {
		set_err(err, errlen, ACCT_ERR_INVALID, "malformed address: %s", address);
		return -1;
	}
	if (quota > INT64_MAX) {
		set_err(err, errlen, ACCT_ERR_INVALID, "quota too large");
		return -1;
	}
	if (a->db == NULL)
		return db_err(a, err, errlen);
	/* as text, which the column's INTEGER affinity stores as the number */
	snprintf(q, sizeof q, "%llu", (unsigned long long)quota);
	if (exec_args(a, ST_USER_QUOTA, addr, q) != SQLITE_DONE)
		return db_err(a, err, errlen);
	if (sqlite3_changes(a->db) == 0) {
		set_err(err, errlen, ACCT_ERR_NOT_FOUND, "no such user: %s", addr);
		return -1;
	}
	return 0;
}

int
accounts_user_list(struct accounts *a, const char *domain, struct strlist *out,
    char *err, size_t errlen)
{
	char d[ADDR_DOMAIN_MAX + 1];
	sqlite3_stmt *s;

	if (domain == NULL) {
		if ((s = stmt(a, ST_USER_LIST)) == NULL)
			return db_err(a, err, errlen);
		return list_rows(a, s, out, err, errlen);
	}
	if (canon_domain(domain, d) < 0) {
		set_err(err, errlen, ACCT_ERR_INVALID, "malformed domain: %s", domain);
		return -1;
	}
	if (need_domain(a, d, err, errlen) < 0)
		return -1;
	if ((s = stmt(a, ST_USER_LIST_DOMAIN)) == NULL || bind_text(s, 1, d) < 0)
		return db_err(a, err, errlen);
	return list_rows(a, s, out, err, errlen);
}

int
accounts_password_hash(struct accounts *a, const char *address, char *hash, size_t hashlen)
{
	char addr[ADDR_MAX + 1];

	if (a->remote != NULL)
		return -1; /* hashes stay in lookupd */
	if (address_canonical(address, addr, sizeof addr, false) < 0)
		return 0;
	sqlite3_stmt *s = stmt(a, ST_USER_GET);
	if (s == NULL || bind_text(s, 1, addr) < 0)
		return -1;
	int rc = sqlite3_step(s), r = -1;
	if (rc == SQLITE_ROW) {
		const char *h = (const char *)sqlite3_column_text(s, 0);
		r = 1;
		if (h == NULL || strlen(h) >= hashlen)
			r = -1;
		else
			memcpy(hash, h, strlen(h) + 1);
	} else if (rc == SQLITE_DONE) {
		r = 0;
	}
	done(s);
	return r;
}

int
accounts_user_quota(struct accounts *a, const char *address, uint64_t *quota)
{
	char addr[ADDR_MAX + 1];
	sqlite3_stmt *s;

	*quota = 0;
	if (a->remote != NULL)
		return lookup_quota(a->remote, address, quota);
	if (address_canonical(address, addr, sizeof addr, false) < 0)
		return 0;
	if ((s = stmt(a, ST_USER_GET)) == NULL || bind_text(s, 1, addr) < 0)
		return -1;
	int rc = sqlite3_step(s), r = -1;
	if (rc == SQLITE_ROW) {
		int64_t q = sqlite3_column_int64(s, 1);
		*quota = q > 0 ? (uint64_t)q : 0;
		r = 1;
	} else if (rc == SQLITE_DONE) {
		r = 0;
	}
	done(s);
	return r;
}

/* ---- aliases ---- */

/*
 * alias_write - add targets to alias source, or (replace) make them its only
 * targets, in one transaction.
 */
static int
alias_write(struct accounts *a, const char *source, const char *const *targets,
    size_t ntargets, bool replace, char *err, size_t errlen)
{
	char src[ADDR_MAX + 2];
	struct strlist tl = { 0 };

	if (canon_source(source, src, err, errlen) < 0)
		return -1;
	if (ntargets == 0) {
		set_err(err, errlen, ACCT_ERR_INVALID, "no targets for alias %s", src);
		return -1;
	}
	/* Targets keep their local part as written: remote systems decide its case. */
	for (size_t i = 0; i < ntargets; i++) {
		struct mailbox mb;
		char t[ADDR_MAX + 1];
		if (address_parse(targets[i], strlen(targets[i]), &mb, ADDR_UTF8) < 0) {
			set_err(err, errlen, ACCT_ERR_INVALID, "malformed address: %s", targets[i]);
			strlist_free(&tl);
			return -1;
		}
		address_format(&mb, t, sizeof t);
		if (strlist_add(&tl, t) < 0) {
			set_err(err, errlen, ACCT_ERR_STORE, "out of memory");
			strlist_free(&tl);
			return -1;
		}
	}
	int r = -1;
	if (begin(a, err, errlen) < 0)
		goto out;
	if (need_domain(a, address_domain(src), err, errlen) < 0) {
		rollback(a);
		goto out;
	}
	if (replace && exec_args(a, ST_ALIAS_DEL, src, NULL) != SQLITE_DONE) {
		db_err(a, err, errlen);
		rollback(a);
		goto out;
	}
	for (size_t i = 0; i < tl.n; i++) {
		if (exec_args(a, ST_ALIAS_ADD, src, tl.v[i]) != SQLITE_DONE) {
			db_err(a, err, errlen);
			rollback(a);
			goto out;
		}
	}
	r = commit(a, err, errlen);
out:
	strlist_free(&tl);
	return r;
}

int
accounts_alias_add(struct accounts *a, const char *source, const char *const *targets,
    size_t ntargets, char *err, size_t errlen)
{
	return alias_write(a, source, targets, ntargets, false, err, errlen);
}

int
accounts_alias_set(struct accounts *a, const char *source, const char *const *targets,
    size_t ntargets, char *err, size_t errlen)
{
	return alias_write(a, source, targets, ntargets, true, err, errlen);
}

int
accounts_alias_del(struct accounts *a, const char *source, char *err, size_t errlen)
{
	char src[ADDR_MAX + 2];

	if (canon_source(source, src, err, errlen) < 0)
		return -1;
	if (exec_args(a, ST_ALIAS_DEL, src, NULL) != SQLITE_DONE)
		return db_err(a, err, errlen);
	if (sqlite3_changes(a->db) == 0) {
		set_err(err, errlen, ACCT_ERR_NOT_FOUND, "no such alias: %s", src);
		return -1;
	}
	return 0;
}

int
accounts_alias_list(struct accounts *a, struct strlist *out, char *err, size_t errlen)
{
	sqlite3_stmt *s = stmt(a, ST_ALIAS_LIST);

	if (s == NULL)
		return db_err(a, err, errlen);
	return list_rows(a, s, out, err, errlen);
}

int
accounts_alias_sources(struct accounts *a, struct strlist *out, char *err, size_t errlen)
{
	sqlite3_stmt *s = a->db ? stmt(a, ST_ALIAS_SOURCES) : NULL;

	if (s == NULL)
		return db_err(a, err, errlen);
	return list_rows(a, s, out, err, errlen);
}

static int alias_targets(struct accounts *a, const char *source, struct strlist *out);

int
accounts_alias_targets(struct accounts *a, const char *source, struct strlist *out,
    char *err, size_t errlen)
{
	char src[ADDR_MAX + 2];

	if (canon_source(source, src, err, errlen) < 0)
		return -1;
	if (a->db == NULL)
		return db_err(a, err, errlen);
	int r = alias_targets(a, src, out);
	return r < 0 ? db_err(a, err, errlen) : r;
}

/* ---- resolution ---- */

/* alias_targets - the targets of alias source into out: 1 found, 0 none, -1 error. */
static int
alias_targets(struct accounts *a, const char *source, struct strlist *out)
{
	sqlite3_stmt *s = stmt(a, ST_ALIAS_GET);
	int rc;

	if (s == NULL || bind_text(s, 1, source) < 0)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(s, 0);
		if (t != NULL && strlist_add(out, t) < 0) {
			rc = SQLITE_NOMEM;
			break;
		}
	}
	done(s);
	if (rc != SQLITE_DONE)
		return -1;
	return out->n > 0;
}

static int
user_exists(struct accounts *a, const char *addr)
{
	return query_int(a, ST_USER_GET, addr, NULL);
}

enum found { FOUND_ERROR = -1, FOUND_NONE, FOUND_ALIAS, FOUND_USER };

/*
 * find - what addr (canonical, in a hosted domain) names, in the order of
 * accounts.h: alias, user, both again without the +tag, then the catch-all.
 * FOUND_ALIAS fills targets, FOUND_USER writes the mailbox into user and its
 * quota into *quota.
 */
static enum found
find(struct accounts *a, const char *addr, struct strlist *targets, char *user,
    uint64_t *quota)
{
	char keys[2][ADDR_MAX + 1];
	size_t nkeys = 1;
	int r;

	snprintf(keys[0], sizeof keys[0], "%s", addr);
	if (address_canonical(addr, keys[1], sizeof keys[1], true) == 0 &&
	    strcmp(keys[0], keys[1]) != 0)
		nkeys = 2;
	for (size_t i = 0; i < nkeys; i++) {
		if ((r = alias_targets(a, keys[i], targets)) != 0)
			return r < 0 ? FOUND_ERROR : FOUND_ALIAS;
		if ((r = accounts_user_quota(a, keys[i], quota)) != 0) {
			if (r < 0)
				return FOUND_ERROR;
			memcpy(user, keys[i], strlen(keys[i]) + 1);
			return FOUND_USER;
		}
	}
	char catchall[ADDR_DOMAIN_MAX + 2];
	snprintf(catchall, sizeof catchall, "@%s", address_domain(addr));
	if ((r = alias_targets(a, catchall, targets)) != 0)
		return r < 0 ? FOUND_ERROR : FOUND_ALIAS;
	return FOUND_NONE;
}

struct expansion {
	struct accounts *a;
	struct target_list *out;
	struct strlist path; /* addresses being expanded, outermost first */
	struct strlist done; /* addresses expanded completely: their targets are in out */
	unsigned lookups;
	size_t produced;     /* targets found, duplicates included */
};

/* emit - append a target to out unless it is there already. */
static int
emit(struct expansion *e, enum target_kind kind, const char *addr, bool unlimited)
{
	struct target_list *l = e->out;
	int vacation = 0;

	e->produced++;
	for (size_t i = 0; i < l->n; i++) {
		if (l->v[i].kind == kind && strcmp(l->v[i].addr, addr) == 0)
			return 0;
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 4;
		struct target *v = reallocarray(l->v, cap, sizeof *v);
		if (v == NULL)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	/* A mailbox with a vacation: its mail goes through queued, which replies. */
	if (kind == TARGET_LOCAL && (vacation = accounts_vacation_active(e->a, addr, time(NULL))) < 0)
		return -1;
	l->v[l->n].kind = kind;
	snprintf(l->v[l->n].addr, sizeof l->v[l->n].addr, "%s", addr);
	l->v[l->n].unlimited = unlimited;
	l->v[l->n].vacation = vacation == 1;
	l->n++;
	return 0;
}

/* emit_user - the mailbox of user addr, if it exists, with its quota known. 1, 0, -1. */
static int
emit_user(struct expansion *e, const char *addr)
{
	uint64_t quota = 0;
	int r = accounts_user_quota(e->a, addr, &quota);

	if (r <= 0)
		return r;
	return emit(e, TARGET_LOCAL, addr, quota == 0) < 0 ? -1 : 1;
}

/* user_mailbox - emit the mailbox of addr (exactly, or without its +tag) if it is a user. */
static int
user_mailbox(struct expansion *e, const char *addr)
{
	char base[ADDR_MAX + 1];
	int r = emit_user(e, addr);

	if (r != 0)
		return r < 0 ? -1 : 0;
	if (address_canonical(addr, base, sizeof base, true) < 0 || strcmp(base, addr) == 0)
		return 0;
	r = emit_user(e, base);
	return r < 0 ? -1 : 0;
}

/*
 * loop_end - an alias target that is already being expanded closes a loop. The
 * loop ends at the mailboxes of the users on it (an alias naming itself: that
 * user), or nowhere when none is a user. Taking every user of the loop, not just
 * the one where it closed, gives the same result whichever address of the loop
 * the mail was sent to.
 */
static int
loop_end(struct expansion *e, const char *addr)
{
	size_t k = 0;

	while (k < e->path.n && strcmp(e->path.v[k], addr) != 0)
		k++;
	for (; k < e->path.n; k++) {
		if (user_mailbox(e, e->path.v[k]) < 0)
			return -1;
	}
	return 0;
}

/* expand - the targets of addr (canonical, hosted domain) into e->out; 0 or -1 (tempfail). */
static int
expand(struct expansion *e, const char *addr, unsigned depth)
{
	struct strlist targets = { 0 };
	char user[ADDR_MAX + 1];
	int rc = 0;
	uint64_t quota = 0;

	if (++e->lookups > RESOLVE_LOOKUPS_MAX) {
		ev_warn("alias-error", KS("address", addr), KS("reason", "too many lookups"),
		    KN("limit", RESOLVE_LOOKUPS_MAX));
		return -1;
	}
	switch (find(e->a, addr, &targets, user, &quota)) {
	case FOUND_ERROR:
		return -1;
	case FOUND_NONE:
		return 0;
	case FOUND_USER:
		return emit(e, TARGET_LOCAL, user, quota == 0);
	case FOUND_ALIAS:
		break;
	}
	if (depth >= ALIAS_DEPTH_MAX) {
		ev_warn("alias-error", KS("address", addr), KS("reason", "nested too deep"),
		    KN("limit", ALIAS_DEPTH_MAX));
		strlist_free(&targets);
		return -1;
	}
	if (strlist_add(&e->path, addr) < 0) {
		strlist_free(&targets);
		return -1;
	}
	for (size_t i = 0; i < targets.n && rc == 0; i++) {
		const char *t = targets.v[i];
		char tc[ADDR_MAX + 1];
		int local = domain_lookup(e->a, address_domain(t));
		if (local < 0) {
			rc = -1;
		} else if (local == 0) {
			rc = emit(e, TARGET_REMOTE, t, false);
		} else if (address_canonical(t, tc, sizeof tc, false) < 0) {
			ev_warn("alias-error", KS("address", addr), KS("target", t),
			    KS("reason", "malformed target"));
		} else if (strlist_has(&e->path, tc)) {
			rc = loop_end(e, tc);
		} else if (strlist_has(&e->done, tc)) {
			/* reached before by another branch: its targets are in out already */
		} else {
			size_t before = e->produced;
			rc = expand(e, tc, depth + 1);
			if (rc == 0 && e->produced == before)
				ev_warn("alias-error", KS("address", addr), KS("target", tc),
				    KS("reason", "leads to no mailbox"));
		}
	}
	strlist_free(&targets);
	/* pop addr off the path: it is now done */
	e->path.n--;
	free(e->path.v[e->path.n]);
	if (rc == 0 && strlist_add(&e->done, addr) < 0)
		rc = -1;
	return rc;
}

enum resolve_status
accounts_resolve(struct accounts *a, const char *address, struct target_list *out)
{
	char addr[ADDR_MAX + 1];

	if (a->remote != NULL)
		return lookup_resolve(a->remote, address, out);
	if (address_canonical(address, addr, sizeof addr, false) < 0)
		return RESOLVE_NO_SUCH_USER;
	int local = domain_lookup(a, address_domain(addr));
	if (local < 0)
		return RESOLVE_TEMPFAIL;
	if (local == 0)
		return RESOLVE_NOT_LOCAL;

	struct expansion e = { .a = a, .out = out };
	size_t n0 = out->n;
	int rc = expand(&e, addr, 0);
	strlist_free(&e.path);
	strlist_free(&e.done);
	if (rc < 0) {
		out->n = n0; /* nothing half-resolved */
		return RESOLVE_TEMPFAIL;
	}
	return e.produced > 0 ? RESOLVE_OK : RESOLVE_NO_SUCH_USER;
}

int
accounts_owns_address(struct accounts *a, const char *user, const char *address)
{
	char u[ADDR_MAX + 1], base[ADDR_MAX + 1];
	struct target_list tl = { 0 };

	if (a->remote != NULL)
		return lookup_owns(a->remote, user, address);
	if (address_canonical(user, u, sizeof u, false) < 0)
		return 0;
	/* Its own address, with or without a +tag, even when an alias forwards it elsewhere. */
	if (address_canonical(address, base, sizeof base, true) == 0 && strcmp(base, u) == 0) {
		int r = user_exists(a, u);
		if (r != 0)
			return r;
	}
	int owns = 0;
	switch (accounts_resolve(a, address, &tl)) {
	case RESOLVE_OK:
		for (size_t i = 0; i < tl.n && !owns; i++)
			owns = tl.v[i].kind == TARGET_LOCAL && strcmp(tl.v[i].addr, u) == 0;
		break;
	case RESOLVE_TEMPFAIL:
		owns = -1;
		break;
	case RESOLVE_NO_SUCH_USER:
	case RESOLVE_NOT_LOCAL:
		break;
	}
	target_list_free(&tl);
	return owns;
}
