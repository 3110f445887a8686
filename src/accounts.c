/*
 * accounts.c - hosted domains, users and aliases in SQLite (WAL), and the
 * resolution of a recipient address to mailboxes and forwarding targets.
 * Several processes share the database: the CLI writes while servers read, so
 * every statement is reset right after use and no read transaction outlives a call.
 */
#include "accounts.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "accounts_int.h"
#include "accounts_users.h"
#include "db/db.h"
#include "dkim/dkim_keycache.h"
#include "lookup/lookup_client.h"
#include "password.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/lru_slots.h"

#define SIGNER_CACHE_SLOTS 64 /* domains a sign thread keeps the selectors of */

/* Aliases expanded in a row at most; more is taken as a misconfiguration (451). */
#define ALIAS_DEPTH_MAX 8
/* Lookups for one address, so a wide alias tree cannot stall a server. */
#define RESOLVE_LOOKUPS_MAX 1000

#define SUSPENDED_FLAG "CASE WHEN address IN (SELECT address FROM suspended_users)" \
	" THEN 'suspended' END"

/* The statements run per RCPT and per login; the rest are beside the code that runs them. */
#define SQL_DOMAIN_GET "SELECT 1 FROM domains WHERE name = ?1"
#define SQL_USER_GET "SELECT hash, quota FROM users WHERE address = ?1"
/* seq: targets come back in the order they were added */
#define SQL_ALIAS_DEL "DELETE FROM aliases WHERE source = ?1"
#define SQL_ALIAS_GET "SELECT target FROM aliases WHERE source = ?1 ORDER BY seq"

struct accounts {
	struct lookup_client *remote; /* set: every query goes to lookupd (the roles) */
	struct db *db;
	int schema_from;              /* the schema version found at open (0: made here) */
	struct dkim_keycache *keys;   /* parsed signing keys, made at the first signature */
	struct lru_slots *signers;    /* lookupd's LK_DKIM_KEYS answers, kept a while */
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

/* ---- store plumbing ---- */

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

int
accounts_db_fail(struct accounts *a, char *err, size_t errlen)
{
	if (a->db == NULL)
		set_err(err, errlen, ACCT_ERR_STORE,
		    "the account store is not open here (only lookupd and the CLI open it)");
	else
		set_err(err, errlen, ACCT_ERR_STORE, "accounts database %s: %s", db_name(a->db),
		    db_errmsg(a->db));
	return -1;
}

static int
db_err(struct accounts *a, char *err, size_t errlen)
{
	return accounts_db_fail(a, err, errlen);
}

static int
begin(struct accounts *a, char *err, size_t errlen)
{
	if (a->db == NULL || db_begin(a->db) < 0)
		return db_err(a, err, errlen);
	return 0;
}

static int
commit(struct accounts *a, char *err, size_t errlen)
{
	return db_commit(a->db) < 0 ? db_err(a, err, errlen) : 0;
}

/* rollback - end a failed transaction; returns -1 for the caller to pass on. */
static int
rollback(struct accounts *a)
{
	db_rollback(a->db);
	return -1;
}

/*
 * query_int - run sql with one text parameter. Returns 1 when it gives a row (the
 * first column into *out when out is not NULL), 0 when none, -1 on error.
 */
static int
query_int(struct accounts *a, const char *sql, const char *arg, int64_t *out)
{
	if (a->db == NULL)
		return -1;
	return db_int(a->db, out, sql, "t", arg);
}

/* exec_args - run a writing statement with text parameters p1 and p2 (NULL: none); 0 or -1. */
static int
exec_args(struct accounts *a, const char *sql, const char *p1, const char *p2)
{
	if (a->db == NULL)
		return -1;
	return p2 != NULL ? db_run(a->db, sql, "tt", p1, p2) : db_run(a->db, sql, "t", p1);
}

struct accounts *
accounts_open_at(const char *data_dir, const char *dsn, bool create, bool *unreachable,
    char *err, size_t errlen)
{
	struct accounts *a = calloc(1, sizeof *a);
	char *path = NULL;

	if (unreachable != NULL)
		*unreachable = false;
	if (a == NULL) {
		set_err(err, errlen, ACCT_ERR_STORE, "out of memory");
		return NULL;
	}
	if (dsn != NULL) {
		a->db = db_pg_open(dsn, false, unreachable, err, errlen);
	} else if (asprintf(&path, "%s/accounts.db", data_dir) < 0) {
		path = NULL;
		set_err(err, errlen, ACCT_ERR_STORE, "out of memory");
	} else if (!create && access(path, F_OK) < 0) {
		if (errno == ENOENT)
			set_err(err, errlen, ACCT_ERR_STORE,
			    "cannot open accounts database %s: run 'mailroom init' first", path);
		else
			set_err(err, errlen, ACCT_ERR_STORE,
			    "cannot open accounts database %s: %s", path, strerror(errno));
	} else {
		a->db = db_sqlite_open(path, create, err, errlen);
	}
	free(path);
	if (a->db == NULL) {
		last_error = ACCT_ERR_STORE;
		free(a);
		return NULL;
	}
	if (accounts_schema_migrate(a->db, create, &a->schema_from, err, errlen) < 0) {
		if (unreachable != NULL)
			*unreachable = db_unreachable(a->db);
		accounts_close(a);
		return NULL;
	}
	return a;
}

struct accounts *
accounts_open(const char *data_dir, bool create, char *err, size_t errlen)
{
	return accounts_open_at(data_dir, NULL, create, NULL, err, errlen);
}

/* schema_hook - on each new connection of a lazy handle: the schema, as accounts_open_at does. */
static int
schema_hook(struct db *db, void *arg, char *err, size_t errlen)
{
	struct accounts *a = arg;

	return accounts_schema_migrate(db, true, &a->schema_from, err, errlen);
}

struct accounts *
accounts_open_lazy(const char *dsn, char *err, size_t errlen)
{
	struct accounts *a = calloc(1, sizeof *a);

	if (a == NULL) {
		set_err(err, errlen, ACCT_ERR_STORE, "out of memory");
		return NULL;
	}
	if ((a->db = db_pg_open(dsn, true, NULL, err, errlen)) == NULL) {
		free(a);
		return NULL;
	}
	db_on_connect(a->db, schema_hook, a);
	return a;
}

int
accounts_schema_from(struct accounts *a)
{
	return a->schema_from;
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
	db_close(a->db);
	dkim_keycache_free(a->keys);
	if (a->signers != NULL)
		lru_slots_free(a->signers);
	free(a->signers);
	free(a);
}

/* For the store's other files (accounts_int.h). */
struct db *
accounts_db(struct accounts *a)
{
	return a->db;
}

struct dkim_keycache *
accounts_keycache(struct accounts *a)
{
	if (a->keys == NULL)
		a->keys = dkim_keycache_new(); /* NULL: each signature parses its key */
	return a->keys;
}

struct lru_slots *
accounts_signer_cache(struct accounts *a)
{
	if (a->signers == NULL && (a->signers = malloc(sizeof *a->signers)) != NULL &&
	    lru_slots_init(a->signers, SIGNER_CACHE_SLOTS, free) < 0) {
		free(a->signers);
		a->signers = NULL;
	}
	return a->signers;
}

struct lookup_client *
accounts_lookup(struct accounts *a)
{
	return a->remote;
}

const char *
accounts_path(struct accounts *a)
{
	return a->db ? db_name(a->db) : "";
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
	return query_int(a, SQL_DOMAIN_GET, d, NULL);
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
	int r = query_int(a, SQL_DOMAIN_GET, domain, NULL);
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
	if (exec_args(a, "INSERT INTO domains(name) VALUES(?1)", d, NULL) == 0)
		return 0;
	if (a->db != NULL && db_duplicate(a->db)) {
		set_err(err, errlen, ACCT_ERR_EXISTS, "domain exists: %s", d);
		return -1;
	}
	return db_err(a, err, errlen);
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
	/* the sources "...@d" and "@d": their last length(d)+1 characters */
	if (query_int(a, "SELECT count(*) FROM users WHERE domain = ?1", d, &nusers) < 0 ||
	    query_int(a, "SELECT count(DISTINCT source) FROM aliases WHERE"
	    " substr(source, length(source) - length(?1)) = '@' || ?1", d, &naliases) < 0) {
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
	if (exec_args(a, "DELETE FROM domains WHERE name = ?1", d, NULL) < 0) {
		db_err(a, err, errlen);
		return rollback(a);
	}
	return commit(a, err, errlen);
}

/*
 * list_rows - each row of statement s as one line into out: its columns joined by
 * a space, NULL columns left out.
 */
static int
list_rows(struct accounts *a, struct db_stmt *s, struct strlist *out, char *err, size_t errlen)
{
	struct buf line = { 0 };
	int rc;
	bool oom = false;

	if (s == NULL)
		return db_err(a, err, errlen);
	while ((rc = db_step(s)) == DB_ROW) {
		bool first = true;
		buf_reset(&line);
		for (int i = 0; i < db_columns(s); i++) {
			const char *c = db_col_text(s, i);
			if (c == NULL)
				continue;
			if (buf_printf(&line, "%s%s", first ? "" : " ", c) < 0)
				oom = true;
			first = false;
		}
		if (oom || strlist_add(out, line.data ? line.data : "") < 0) {
			oom = true;
			break;
		}
	}
	db_done(s);
	buf_free(&line);
	if (oom) {
		set_err(err, errlen, ACCT_ERR_STORE, "out of memory");
		return -1;
	}
	return rc == DB_DONE ? 0 : db_err(a, err, errlen);
}

/* list_query - list_rows of sql with text parameter p (NULL: none). */
static int
list_query(struct accounts *a, const char *sql, const char *p, struct strlist *out, char *err,
    size_t errlen)
{
	if (a->db == NULL)
		return db_err(a, err, errlen);
	return list_rows(a, p != NULL ? db_query(a->db, sql, "t", p) : db_query(a->db, sql, ""),
	    out, err, errlen);
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
	return list_query(a, "SELECT name FROM domains ORDER BY name", NULL, out, err, errlen);
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
	int rc = db_run(a->db, "INSERT INTO users(address, domain, hash, quota)"
	    " VALUES(?1, ?2, ?3, ?4)", "ttti", addr, domain, hash, (int64_t)quota);
	explicit_bzero(hash, sizeof hash);
	if (rc < 0 && db_duplicate(a->db)) {
		set_err(err, errlen, ACCT_ERR_EXISTS, "user exists: %s", addr);
		return rollback(a);
	}
	if (rc < 0) {
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
	int rc = exec_args(a, "UPDATE users SET hash = ?2 WHERE address = ?1", addr, hash);
	explicit_bzero(hash, sizeof hash);
	if (rc < 0)
		return db_err(a, err, errlen);
	if (db_changes(a->db) == 0) {
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
	if (exec_args(a, "DELETE FROM users WHERE address = ?1", addr, NULL) < 0)
		return db_err(a, err, errlen);
	if (db_changes(a->db) == 0) {
		set_err(err, errlen, ACCT_ERR_NOT_FOUND, "no such user: %s", addr);
		return -1;
	}
	return 0;
}

int
accounts_user_quota_set(struct accounts *a, const char *address, uint64_t quota, char *err,
    size_t errlen)
{
	char addr[ADDR_MAX + 1];

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
	if (db_run(a->db, "UPDATE users SET quota = ?2 WHERE address = ?1", "ti", addr,
	    (int64_t)quota) < 0)
		return db_err(a, err, errlen);
	if (db_changes(a->db) == 0) {
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

	/* a suspended user's line ends in "suspended" (accounts_users.c) */
	if (domain == NULL)
		return list_query(a, "SELECT address, quota, " SUSPENDED_FLAG " FROM users"
		    " ORDER BY domain, address", NULL, out, err, errlen);
	if (canon_domain(domain, d) < 0) {
		set_err(err, errlen, ACCT_ERR_INVALID, "malformed domain: %s", domain);
		return -1;
	}
	if (need_domain(a, d, err, errlen) < 0)
		return -1;
	return list_query(a, "SELECT address, quota, " SUSPENDED_FLAG " FROM users"
	    " WHERE domain = ?1 ORDER BY address", d, out, err, errlen);
}

int
accounts_password_hash(struct accounts *a, const char *address, char *hash, size_t hashlen)
{
	char addr[ADDR_MAX + 1];

	if (a->remote != NULL)
		return -1; /* hashes stay in lookupd */
	if (address_canonical(address, addr, sizeof addr, false) < 0)
		return 0;
	struct db_stmt *s = a->db ? db_query(a->db, SQL_USER_GET, "t", addr) : NULL;
	if (s == NULL)
		return -1;
	int rc = db_step(s), r = -1;
	if (rc == DB_ROW) {
		const char *h = db_col_text(s, 0);
		r = 1;
		if (h == NULL || strlen(h) >= hashlen)
			r = -1;
		else
			memcpy(hash, h, strlen(h) + 1);
	} else if (rc == DB_DONE) {
		r = 0;
	}
	db_done(s);
	return r;
}

int
accounts_user_quota(struct accounts *a, const char *address, uint64_t *quota)
{
	char addr[ADDR_MAX + 1];
	struct db_stmt *s;

	*quota = 0;
	if (a->remote != NULL)
		return lookup_quota(a->remote, address, quota);
	if (address_canonical(address, addr, sizeof addr, false) < 0)
		return 0;
	if (a->db == NULL || (s = db_query(a->db, SQL_USER_GET, "t", addr)) == NULL)
		return -1;
	int rc = db_step(s), r = -1;
	if (rc == DB_ROW) {
		int64_t q = db_col_int(s, 1);
		*quota = q > 0 ? (uint64_t)q : 0;
		r = 1;
	} else if (rc == DB_DONE) {
		r = 0;
	}
	db_done(s);
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
	if (replace && exec_args(a, SQL_ALIAS_DEL, src, NULL) < 0) {
		db_err(a, err, errlen);
		rollback(a);
		goto out;
	}
	for (size_t i = 0; i < tl.n; i++) {
		/* the next seq of this source: the order of its targets */
		if (exec_args(a, "INSERT INTO aliases(source, target, seq) VALUES(?1, ?2,"
		    " (SELECT coalesce(max(seq), 0) + 1 FROM aliases WHERE source = ?1))"
		    " ON CONFLICT DO NOTHING", src, tl.v[i]) < 0) {
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
	if (exec_args(a, SQL_ALIAS_DEL, src, NULL) < 0)
		return db_err(a, err, errlen);
	if (db_changes(a->db) == 0) {
		set_err(err, errlen, ACCT_ERR_NOT_FOUND, "no such alias: %s", src);
		return -1;
	}
	return 0;
}

int
accounts_alias_list(struct accounts *a, struct strlist *out, char *err, size_t errlen)
{
	struct buf line = { 0 };
	char cur[ADDR_MAX + 2] = "";
	int rc = DB_FAIL;
	bool oom = false;

	struct db_stmt *s = a->db ? db_query(a->db, "SELECT source, target FROM aliases"
	    " ORDER BY source, seq", "") : NULL;
	if (s == NULL)
		return db_err(a, err, errlen);
	/* One line a source: its targets joined by commas, in their order. */
	while (!oom && (rc = db_step(s)) == DB_ROW) {
		const char *src = db_col_text(s, 0), *t = db_col_text(s, 1);
		if (src == NULL || t == NULL)
			continue;
		if (strcmp(src, cur) != 0) {
			if (cur[0] != '\0' && strlist_add(out, line.data) < 0)
				oom = true;
			buf_reset(&line);
			snprintf(cur, sizeof cur, "%s", src);
			oom |= buf_printf(&line, "%s %s", src, t) < 0;
		} else {
			oom |= buf_printf(&line, ",%s", t) < 0;
		}
	}
	db_done(s);
	if (!oom && rc == DB_DONE && cur[0] != '\0' && strlist_add(out, line.data) < 0)
		oom = true;
	buf_free(&line);
	if (oom) {
		set_err(err, errlen, ACCT_ERR_STORE, "out of memory");
		return -1;
	}
	return rc == DB_DONE ? 0 : db_err(a, err, errlen);
}

int
accounts_alias_sources(struct accounts *a, struct strlist *out, char *err, size_t errlen)
{
	return list_query(a, "SELECT DISTINCT source FROM aliases ORDER BY source", NULL, out, err,
	    errlen);
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
	struct db_stmt *s = a->db ? db_query(a->db, SQL_ALIAS_GET, "t", source) : NULL;
	int rc;

	if (s == NULL)
		return -1;
	while ((rc = db_step(s)) == DB_ROW) {
		const char *t = db_col_text(s, 0);
		if (t != NULL && strlist_add(out, t) < 0) {
			rc = DB_FAIL;
			break;
		}
	}
	db_done(s);
	if (rc != DB_DONE)
		return -1;
	return out->n > 0;
}

static int
user_exists(struct accounts *a, const char *addr)
{
	return query_int(a, SQL_USER_GET, addr, NULL);
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
