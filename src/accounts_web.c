/*
 * accounts_web.c - the web's tables in the account store: admins, api_tokens
 * (digests only) and web_sessions (digests of the ids; the CSRF token beside,
 * which httpd compares with what a form sends). Triggers end sessions and
 * tokens when their principal goes or changes its password, or a user is
 * suspended, so the CLI and the web need not remember to.
 */
#include "accounts_web.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

#include "accounts_int.h"
#include "db/db.h"
#include "password.h"

/* ---- pure parts ---- */

bool
web_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > WEB_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (!isalnum(c) && c != '.' && c != '_' && c != '-')
			return false;
	}
	return true;
}

static void
hex(const unsigned char *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

int
web_digest(const char *s, char out[WEB_DIGEST_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (EVP_Digest(s, strlen(s), md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
		return -1;
	hex(md, 32, out);
	return 0;
}

void
web_token_format(const unsigned char raw[WEB_TOKEN_RAW], char out[WEB_TOKEN_LEN + 1])
{
	static const char b64u[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;

	memcpy(out, WEB_TOKEN_PREFIX, 4);
	o = 4;
	for (size_t i = 0; i < WEB_TOKEN_RAW; i++) {
		acc = (acc << 8) | raw[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[o++] = b64u[(acc >> bits) & 63];
		}
	}
	if (bits > 0)
		out[o++] = b64u[(acc << (6 - bits)) & 63];
	out[o] = '\0';
}

bool
web_session_expired(time_t created, time_t last_seen, time_t now)
{
	/* a clock set back leaves both checks as they were: never younger than made */
	return now - last_seen >= WEB_IDLE_MAX || now - created >= WEB_SESSION_MAX;
}

/* random_hex - n random octets as 2n hex digits into out. 0, or -1. */
static int
random_hex(size_t n, char *out)
{
	unsigned char raw[32];

	if (n > sizeof raw || RAND_bytes(raw, (int)n) != 1)
		return -1;
	hex(raw, n, out);
	explicit_bzero(raw, sizeof raw);
	return 0;
}

/* ---- statements ---- */

static int
db_fail(struct accounts *a, char *err, size_t errlen)
{
	return accounts_db_fail(a, err, errlen);
}

/* canon_name - name lower-cased into out when valid; else -1 with err. */
static int
canon_name(const char *name, char out[WEB_NAME_MAX + 1], char *err, size_t errlen)
{
	if (!web_name_valid(name)) {
		accounts_fail(err, errlen, ACCT_ERR_INVALID,
		    "bad admin name: '%.80s' (1 to %d of A-Z a-z 0-9 . _ -)", name, WEB_NAME_MAX);
		return -1;
	}
	size_t i;
	for (i = 0; name[i] != '\0'; i++)
		out[i] = (char)tolower((unsigned char)name[i]);
	out[i] = '\0';
	return 0;
}

/* ---- admins ---- */

int
accounts_admin_add(struct accounts *a, const char *name, const char *password, time_t now,
    char *err, size_t errlen)
{
	char n[WEB_NAME_MAX + 1], hash[PASSWORD_HASH_MAX];
	struct db *db = accounts_db(a);

	if (canon_name(name, n, err, errlen) < 0)
		return -1;
	if (password == NULL || password[0] == '\0') {
		accounts_fail(err, errlen, ACCT_ERR_INVALID, "empty password");
		return -1;
	}
	if (db == NULL)
		return db_fail(a, err, errlen);
	if (password_hash(password, hash, sizeof hash) < 0) {
		accounts_fail(err, errlen, ACCT_ERR_STORE, "cannot hash the password");
		return -1;
	}
	int rc = db_run(db, "INSERT INTO admins(name, hash, created) VALUES(?1, ?2, ?3)", "tti", n,
	    hash, (int64_t)now);
	explicit_bzero(hash, sizeof hash);
	if (rc < 0 && db_duplicate(db)) {
		accounts_fail(err, errlen, ACCT_ERR_EXISTS, "admin exists: %s", n);
		return -1;
	}
	return rc == 0 ? 0 : db_fail(a, err, errlen);
}

int
accounts_admin_passwd(struct accounts *a, const char *name, const char *password,
    char *err, size_t errlen)
{
	char n[WEB_NAME_MAX + 1], hash[PASSWORD_HASH_MAX];
	struct db *db = accounts_db(a);

	if (canon_name(name, n, err, errlen) < 0)
		return -1;
	if (password == NULL || password[0] == '\0') {
		accounts_fail(err, errlen, ACCT_ERR_INVALID, "empty password");
		return -1;
	}
	if (db == NULL)
		return db_fail(a, err, errlen);
	if (password_hash(password, hash, sizeof hash) < 0) {
		accounts_fail(err, errlen, ACCT_ERR_STORE, "cannot hash the password");
		return -1;
	}
	int r = db_run(db, "UPDATE admins SET hash = ?2 WHERE name = ?1", "tt", n, hash);
	explicit_bzero(hash, sizeof hash);
	if (r < 0)
		return db_fail(a, err, errlen);
	if (db_changes(db) == 0) {
		accounts_fail(err, errlen, ACCT_ERR_NOT_FOUND, "no such admin: %s", n);
		return -1;
	}
	return 0;
}

int
accounts_admin_del(struct accounts *a, const char *name, char *err, size_t errlen)
{
	char n[WEB_NAME_MAX + 1];
	struct db *db = accounts_db(a);

	if (canon_name(name, n, err, errlen) < 0)
		return -1;
	if (db == NULL || db_run(db, "DELETE FROM admins WHERE name = ?1", "t", n) < 0)
		return db_fail(a, err, errlen);
	if (db_changes(db) == 0) {
		accounts_fail(err, errlen, ACCT_ERR_NOT_FOUND, "no such admin: %s", n);
		return -1;
	}
	return 0;
}

int
accounts_admin_list(struct accounts *a, struct strlist *out, char *err, size_t errlen)
{
	struct db *db = accounts_db(a);
	struct db_stmt *s = db ? db_query(db, "SELECT name, (SELECT count(*) FROM api_tokens"
	    " WHERE admin = admins.name) FROM admins ORDER BY name", "") : NULL;
	int rc = DB_FAIL;
	bool oom = false;

	if (s == NULL)
		return db_fail(a, err, errlen);
	while ((rc = db_step(s)) == DB_ROW) {
		char line[WEB_NAME_MAX + 32];
		const char *name = db_col_text(s, 0);
		snprintf(line, sizeof line, "%s %lld", name ? name : "", (long long)db_col_int(s, 1));
		if (strlist_add(out, line) < 0) {
			oom = true;
			break;
		}
	}
	db_done(s);
	if (oom) {
		accounts_fail(err, errlen, ACCT_ERR_STORE, "out of memory");
		return -1;
	}
	return rc == DB_DONE ? 0 : db_fail(a, err, errlen);
}

int
accounts_admin_hash(struct accounts *a, const char *name, char *hash, size_t hashlen)
{
	char n[WEB_NAME_MAX + 1];

	if (accounts_db(a) == NULL)
		return -1;
	if (canon_name(name, n, NULL, 0) < 0)
		return 0;
	struct db_stmt *s = db_query(accounts_db(a), "SELECT hash FROM admins WHERE name = ?1",
	    "t", n);
	if (s == NULL)
		return -1;
	int rc = db_step(s), r = -1;
	if (rc == DB_ROW) {
		const char *h = db_col_text(s, 0);
		if (h != NULL && strlen(h) < hashlen) {
			memcpy(hash, h, strlen(h) + 1);
			r = 1;
		}
	} else if (rc == DB_DONE) {
		r = 0;
	}
	db_done(s);
	return r;
}

int
accounts_token_add(struct accounts *a, const char *admin, time_t now,
    char token[WEB_TOKEN_LEN + 1], char *err, size_t errlen)
{
	char n[WEB_NAME_MAX + 1], digest[WEB_DIGEST_LEN + 1];
	unsigned char raw[WEB_TOKEN_RAW];
	struct db *db = accounts_db(a);

	token[0] = '\0';
	if (canon_name(admin, n, err, errlen) < 0)
		return -1;
	if (RAND_bytes(raw, sizeof raw) != 1) {
		accounts_fail(err, errlen, ACCT_ERR_STORE, "cannot make a token: no random octets");
		return -1;
	}
	web_token_format(raw, token);
	explicit_bzero(raw, sizeof raw);
	if (web_digest(token, digest) < 0) {
		explicit_bzero(token, WEB_TOKEN_LEN + 1);
		accounts_fail(err, errlen, ACCT_ERR_STORE, "cannot make a token: no SHA-256");
		return -1;
	}
	/* only for an admin that exists, in one statement: no admin, no row */
	int r = db == NULL ? -1 : db_run(db, "INSERT INTO api_tokens(digest, admin, created)"
	    " SELECT ?1, name, ?3 FROM admins WHERE name = ?2", "tti", digest, n, (int64_t)now);
	if (r == 0 && db_changes(db) == 1)
		return 0;
	explicit_bzero(token, WEB_TOKEN_LEN + 1);
	if (r < 0)
		return db_fail(a, err, errlen);
	accounts_fail(err, errlen, ACCT_ERR_NOT_FOUND, "no such admin: %s", n);
	return -1;
}

/* ---- sessions ---- */

int
accounts_session_new(struct accounts *a, enum web_kind kind, const char *name, time_t now,
    char sid[WEB_SID_LEN + 1], char csrf[WEB_CSRF_LEN + 1], char *err, size_t errlen)
{
	char digest[WEB_DIGEST_LEN + 1];
	struct db *db = accounts_db(a);

	sid[0] = csrf[0] = '\0';
	if (kind != WEB_ADMIN && kind != WEB_USER) {
		accounts_fail(err, errlen, ACCT_ERR_INVALID, "no such kind of session");
		return -1;
	}
	if (random_hex(WEB_SID_LEN / 2, sid) < 0 || random_hex(WEB_CSRF_LEN / 2, csrf) < 0 ||
	    web_digest(sid, digest) < 0) {
		explicit_bzero(sid, WEB_SID_LEN + 1);
		accounts_fail(err, errlen, ACCT_ERR_STORE, "cannot make a session: no random octets");
		return -1;
	}
	if (db != NULL && db_run(db, "INSERT INTO web_sessions(digest, kind, name, csrf, created,"
	    " last_seen) VALUES(?1, ?2, ?3, ?4, ?5, ?5)", "tttti", digest,
	    kind == WEB_ADMIN ? "admin" : "user", name, csrf, (int64_t)now) == 0)
		return 0;
	explicit_bzero(sid, WEB_SID_LEN + 1);
	return db_fail(a, err, errlen);
}

/* all_in - every character of s is in set, and there are n of them. */
static bool
all_in(const char *s, const char *set, size_t n)
{
	return strlen(s) == n && strspn(s, set) == n;
}

#define HEX_LOWER "0123456789abcdef"
#define B64URL "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

static int
session_who(struct db *db, const char *sid, time_t now, struct web_who *who)
{
	char digest[WEB_DIGEST_LEN + 1];

	if (!all_in(sid, HEX_LOWER, WEB_SID_LEN))
		return 0;
	if (web_digest(sid, digest) < 0)
		return -1;
	/* the principal must still be there, and a user not suspended, whatever the triggers did */
	struct db_stmt *s = db_query(db, "SELECT kind, name, csrf, created, last_seen FROM"
	    " web_sessions WHERE digest = ?1 AND CASE kind"
	    " WHEN 'admin' THEN name IN (SELECT name FROM admins)"
	    " ELSE name IN (SELECT address FROM users) AND"
	    " name NOT IN (SELECT address FROM suspended_users) END", "t", digest);
	if (s == NULL)
		return -1;
	int rc = db_step(s), r = -1;
	bool expired = false;
	if (rc == DB_ROW) {
		const char *kind = db_col_text(s, 0);
		const char *name = db_col_text(s, 1);
		const char *csrf = db_col_text(s, 2);
		expired = web_session_expired((time_t)db_col_int(s, 3), (time_t)db_col_int(s, 4),
		    now);
		r = 0;
		if (!expired && kind != NULL && name != NULL && csrf != NULL &&
		    strlen(name) < sizeof who->name && strlen(csrf) < sizeof who->csrf) {
			who->kind = strcmp(kind, "admin") == 0 ? WEB_ADMIN : WEB_USER;
			snprintf(who->name, sizeof who->name, "%s", name);
			snprintf(who->csrf, sizeof who->csrf, "%s", csrf);
			r = 1;
		}
	} else if (rc == DB_DONE) {
		r = 0;
	}
	db_done(s);
	if (r == 1 && db_run(db, "UPDATE web_sessions SET last_seen = ?2 WHERE digest = ?1 AND"
	    " last_seen < ?2", "ti", digest, (int64_t)now) < 0)
		r = -1;
	if (expired && db_run(db, "DELETE FROM web_sessions WHERE digest = ?1", "t", digest) < 0)
		r = -1;
	return r;
}

static int
token_who(struct db *db, const char *token, struct web_who *who)
{
	char digest[WEB_DIGEST_LEN + 1];

	if (strncmp(token, WEB_TOKEN_PREFIX, 4) != 0 || !all_in(token + 4, B64URL, WEB_TOKEN_LEN - 4))
		return 0;
	if (web_digest(token, digest) < 0)
		return -1;
	struct db_stmt *s = db_query(db, "SELECT admins.name FROM api_tokens JOIN admins ON"
	    " admins.name = api_tokens.admin WHERE digest = ?1", "t", digest);
	if (s == NULL)
		return -1;
	int rc = db_step(s), r = rc == DB_DONE ? 0 : -1;
	const char *name = rc == DB_ROW ? db_col_text(s, 0) : NULL;
	if (name != NULL && strlen(name) < sizeof who->name) {
		who->kind = WEB_ADMIN;
		snprintf(who->name, sizeof who->name, "%s", name);
		r = 1;
	}
	db_done(s);
	return r;
}

int
accounts_web_who(struct accounts *a, const char *cred, time_t now, struct web_who *who)
{
	struct db *db = accounts_db(a);

	memset(who, 0, sizeof *who);
	if (db == NULL)
		return -1;
	int r = 0;
	if (strncmp(cred, "s:", 2) == 0)
		r = session_who(db, cred + 2, now, who);
	else if (strncmp(cred, "t:", 2) == 0)
		r = token_who(db, cred + 2, who);
	if (r != 1)
		memset(who, 0, sizeof *who);
	return r;
}

int
accounts_session_end(struct accounts *a, const char *sid)
{
	char digest[WEB_DIGEST_LEN + 1];

	if (accounts_db(a) == NULL)
		return -1;
	if (!all_in(sid, HEX_LOWER, WEB_SID_LEN))
		return 0;
	if (web_digest(sid, digest) < 0)
		return -1;
	return db_run(accounts_db(a), "DELETE FROM web_sessions WHERE digest = ?1", "t", digest);
}

int
accounts_sessions_expire(struct accounts *a, time_t now)
{
	struct db *db = accounts_db(a);

	if (db == NULL || db_run(db, "DELETE FROM web_sessions WHERE last_seen <= ?1 OR"
	    " created <= ?2", "ii", (int64_t)now - WEB_IDLE_MAX, (int64_t)now - WEB_SESSION_MAX) < 0)
		return -1;
	int64_t n = db_changes(db);
	return n > INT32_MAX ? INT32_MAX : (int)n;
}
