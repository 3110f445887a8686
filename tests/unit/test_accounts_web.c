/*
 * test_accounts_web.c - unit tests for accounts_web.c against a store in a
 * temporary directory: admin names, token form and digests (the token itself
 * never stored), sessions and their expiry by idle time and by age at times the
 * test passes, and the triggers that end sessions and tokens when their principal
 * goes, gets a new password or is suspended.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "accounts.h"
#include "accounts_users.h"
#include "accounts_web.h"

#define T0 1700000000

struct fixture {
	char dir[64];
	struct accounts *a;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	char err[512] = "";

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof f->dir, "/tmp/test_accounts_web.XXXXXX");
	if (mkdtemp(f->dir) == NULL || (f->a = accounts_open(f->dir, true, err, sizeof err)) == NULL ||
	    accounts_domain_add(f->a, "a.test", err, sizeof err) < 0 ||
	    accounts_user_add(f->a, "joe@a.test", "joe-pw", 0, err, sizeof err) < 0 ||
	    accounts_user_add(f->a, "ann@a.test", "ann-pw", 0, err, sizeof err) < 0 ||
	    accounts_admin_add(f->a, "Boss", "boss-pw", T0, err, sizeof err) < 0 ||
	    accounts_admin_add(f->a, "other", "other-pw", T0, err, sizeof err) < 0) {
		fprintf(stderr, "setup: %s\n", err);
		return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	static const char *const files[] = { "accounts.db", "accounts.db-wal", "accounts.db-shm" };
	char p[128];

	accounts_close(f->a);
	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof p, "%s/%s", f->dir, files[i]);
		unlink(p);
	}
	rmdir(f->dir);
	free(f);
	return 0;
}

/* db_count - the one integer of sql, run on the store's file by a connection of its own. */
static long long
db_count(struct fixture *f, const char *sql)
{
	char path[128];
	sqlite3 *db;
	sqlite3_stmt *s;
	long long n = -1;

	snprintf(path, sizeof path, "%s/accounts.db", f->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return n;
}

static void
test_names(void **state)
{
	(void)state;
	assert_true(web_name_valid("admin"));
	assert_true(web_name_valid("A.b_c-9"));
	assert_true(web_name_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
	assert_false(web_name_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
	assert_false(web_name_valid(""));
	assert_false(web_name_valid("a b"));
	assert_false(web_name_valid("a@b"));
	assert_false(web_name_valid("a/b"));
	assert_false(web_name_valid("\xc3\xa9t\xc3\xa9"));
}

static void
test_digest_and_token_form(void **state)
{
	char d[WEB_DIGEST_LEN + 1], tok[WEB_TOKEN_LEN + 1];
	unsigned char raw[WEB_TOKEN_RAW];

	(void)state;
	assert_int_equal(web_digest("abc", d), 0);
	assert_string_equal(d, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	memset(raw, 0, sizeof raw);
	web_token_format(raw, tok);
	assert_string_equal(tok, "mrt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	memset(raw, 0xff, sizeof raw);
	web_token_format(raw, tok);
	assert_string_equal(tok, "mrt_" "__________________________________________8");
	for (size_t i = 0; i < sizeof raw; i++)
		raw[i] = (unsigned char)i;
	web_token_format(raw, tok);
	/* base64url of 00 01 02 ... 1f, unpadded (RFC 4648 5) */
	assert_string_equal(tok, "mrt_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8");
	assert_int_equal(strlen(tok), WEB_TOKEN_LEN);
}

static void
test_expiry_rule(void **state)
{
	(void)state;
	assert_false(web_session_expired(T0, T0, T0));
	assert_false(web_session_expired(T0, T0, T0 + WEB_IDLE_MAX - 1));
	assert_true(web_session_expired(T0, T0, T0 + WEB_IDLE_MAX));
	/* used a minute ago, but made 12 hours ago */
	assert_false(web_session_expired(T0, T0 + WEB_SESSION_MAX - 60, T0 + WEB_SESSION_MAX - 1));
	assert_true(web_session_expired(T0, T0 + WEB_SESSION_MAX - 60, T0 + WEB_SESSION_MAX));
}

static void
test_admins(void **state)
{
	struct fixture *f = *state;
	struct strlist l = { 0 };
	char err[512], hash[256], tok[WEB_TOKEN_LEN + 1];

	assert_int_equal(accounts_admin_add(f->a, "boss", "x", T0, err, sizeof err), -1);
	assert_int_equal(accounts_last_error(), ACCT_ERR_EXISTS);
	assert_int_equal(accounts_admin_add(f->a, "bad name", "x", T0, err, sizeof err), -1);
	assert_int_equal(accounts_last_error(), ACCT_ERR_INVALID);
	assert_int_equal(accounts_admin_add(f->a, "new", "", T0, err, sizeof err), -1);
	assert_int_equal(accounts_last_error(), ACCT_ERR_INVALID);
	assert_int_equal(accounts_admin_hash(f->a, "BOSS", hash, sizeof hash), 1);
	assert_int_equal(strncmp(hash, "$y$", 3), 0);
	assert_int_equal(accounts_admin_hash(f->a, "nobody", hash, sizeof hash), 0);
	assert_int_equal(accounts_token_add(f->a, "boss", T0, tok, err, sizeof err), 0);
	assert_int_equal(accounts_token_add(f->a, "nobody", T0, tok, err, sizeof err), -1);
	assert_int_equal(accounts_last_error(), ACCT_ERR_NOT_FOUND);
	assert_string_equal(tok, "");
	assert_int_equal(accounts_admin_list(f->a, &l, err, sizeof err), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0], "boss 1");
	assert_string_equal(l.v[1], "other 0");
	strlist_free(&l);
	assert_int_equal(accounts_admin_passwd(f->a, "nobody", "x", err, sizeof err), -1);
	assert_int_equal(accounts_last_error(), ACCT_ERR_NOT_FOUND);
	assert_int_equal(accounts_admin_del(f->a, "nobody", err, sizeof err), -1);
	assert_int_equal(accounts_last_error(), ACCT_ERR_NOT_FOUND);
	assert_string_equal(err, "no such admin: nobody");
	assert_int_equal(accounts_admin_del(f->a, "Other", err, sizeof err), 0);
	assert_int_equal(accounts_admin_hash(f->a, "other", hash, sizeof hash), 0);
}

static void
test_tokens(void **state)
{
	struct fixture *f = *state;
	struct web_who who;
	char err[512], tok[WEB_TOKEN_LEN + 1], cred[WEB_TOKEN_LEN + 3], sql[256];

	assert_int_equal(accounts_token_add(f->a, "boss", T0, tok, err, sizeof err), 0);
	assert_int_equal(strncmp(tok, "mrt_", 4), 0);
	assert_int_equal(strlen(tok), WEB_TOKEN_LEN);
	snprintf(cred, sizeof cred, "t:%s", tok);
	assert_int_equal(accounts_web_who(f->a, cred, T0, &who), 1);
	assert_int_equal(who.kind, WEB_ADMIN);
	assert_string_equal(who.name, "boss");
	assert_string_equal(who.csrf, "");
	/* only the digest is stored */
	snprintf(sql, sizeof sql, "SELECT count(*) FROM api_tokens WHERE digest = '%s'", tok);
	assert_int_equal(db_count(f, sql), 0);
	char d[WEB_DIGEST_LEN + 1];
	assert_int_equal(web_digest(tok, d), 0);
	snprintf(sql, sizeof sql, "SELECT count(*) FROM api_tokens WHERE digest = '%s'", d);
	assert_int_equal(db_count(f, sql), 1);
	/* a token changed by one character, or of the wrong form, is no one */
	cred[10] = cred[10] == 'A' ? 'B' : 'A';
	assert_int_equal(accounts_web_who(f->a, cred, T0, &who), 0);
	assert_int_equal(who.kind, WEB_NOBODY);
	assert_int_equal(accounts_web_who(f->a, "t:mrt_short", T0, &who), 0);
	assert_int_equal(accounts_web_who(f->a, "x:whatever", T0, &who), 0);
	assert_int_equal(accounts_web_who(f->a, "", T0, &who), 0);
}

static void
test_sessions_expire(void **state)
{
	struct fixture *f = *state;
	struct web_who who;
	char err[512], sid[WEB_SID_LEN + 1], csrf[WEB_CSRF_LEN + 1], cred[WEB_SID_LEN + 3];

	assert_int_equal(accounts_session_new(f->a, WEB_USER, "joe@a.test", T0, sid, csrf, err,
	    sizeof err), 0);
	assert_int_equal(strlen(sid), WEB_SID_LEN);
	assert_int_equal(strlen(csrf), WEB_CSRF_LEN);
	assert_string_not_equal(sid, csrf);
	snprintf(cred, sizeof cred, "s:%s", sid);
	/* the id itself is not stored */
	char sql[256];
	snprintf(sql, sizeof sql, "SELECT count(*) FROM web_sessions WHERE digest = '%s'", sid);
	assert_int_equal(db_count(f, sql), 0);
	/* used every hour and a half: alive until twelve hours in all */
	for (time_t t = T0; t < T0 + WEB_SESSION_MAX; t += 5400) {
		assert_int_equal(accounts_web_who(f->a, cred, t, &who), 1);
		assert_int_equal(who.kind, WEB_USER);
		assert_string_equal(who.name, "joe@a.test");
		assert_string_equal(who.csrf, csrf);
	}
	assert_int_equal(accounts_web_who(f->a, cred, T0 + WEB_SESSION_MAX, &who), 0);
	assert_int_equal(db_count(f, "SELECT count(*) FROM web_sessions"), 0); /* deleted */

	/* idle two hours: over */
	assert_int_equal(accounts_session_new(f->a, WEB_ADMIN, "boss", T0, sid, csrf, err,
	    sizeof err), 0);
	snprintf(cred, sizeof cred, "s:%s", sid);
	assert_int_equal(accounts_web_who(f->a, cred, T0 + WEB_IDLE_MAX - 1, &who), 1);
	assert_int_equal(who.kind, WEB_ADMIN);
	/* each use starts the idle time again */
	assert_int_equal(accounts_web_who(f->a, cred, T0 + 2 * WEB_IDLE_MAX - 2, &who), 1);
	assert_int_equal(accounts_web_who(f->a, cred, T0 + 3 * WEB_IDLE_MAX - 2, &who), 0);

	/* the sweep: one idle, one fresh */
	assert_int_equal(accounts_session_new(f->a, WEB_USER, "joe@a.test", T0, sid, csrf, err,
	    sizeof err), 0);
	assert_int_equal(accounts_session_new(f->a, WEB_USER, "ann@a.test", T0 + 3600, sid, csrf,
	    err, sizeof err), 0);
	assert_int_equal(accounts_sessions_expire(f->a, T0 + WEB_IDLE_MAX), 1);
	assert_int_equal(accounts_sessions_expire(f->a, T0 + WEB_IDLE_MAX), 0);
	snprintf(cred, sizeof cred, "s:%s", sid);
	assert_int_equal(accounts_web_who(f->a, cred, T0 + WEB_IDLE_MAX, &who), 1);
	assert_string_equal(who.name, "ann@a.test");

	/* logout */
	assert_int_equal(accounts_session_end(f->a, sid), 0);
	assert_int_equal(accounts_web_who(f->a, cred, T0 + WEB_IDLE_MAX, &who), 0);
	assert_int_equal(accounts_session_end(f->a, sid), 0);
	assert_int_equal(accounts_session_end(f->a, "not a sid"), 0);
	/* malformed ids are no one */
	assert_int_equal(accounts_web_who(f->a, "s:", T0, &who), 0);
	assert_int_equal(accounts_web_who(f->a, "s:ABCDEF", T0, &who), 0);
}

/* session - a new session of kind for name at T0, as a credential into cred. */
static void
session(struct fixture *f, enum web_kind kind, const char *name, char cred[WEB_SID_LEN + 3])
{
	char err[512], sid[WEB_SID_LEN + 1], csrf[WEB_CSRF_LEN + 1];

	assert_int_equal(accounts_session_new(f->a, kind, name, T0, sid, csrf, err, sizeof err), 0);
	snprintf(cred, WEB_SID_LEN + 3, "s:%s", sid);
}

static void
test_principal_changes_end_sessions(void **state)
{
	struct fixture *f = *state;
	struct web_who who;
	char err[512], joe[WEB_SID_LEN + 3], joe2[WEB_SID_LEN + 3], ann[WEB_SID_LEN + 3];
	char boss[WEB_SID_LEN + 3], tok[WEB_TOKEN_LEN + 1], tcred[WEB_TOKEN_LEN + 3];

	session(f, WEB_USER, "joe@a.test", joe);
	session(f, WEB_USER, "joe@a.test", joe2);
	session(f, WEB_USER, "ann@a.test", ann);
	/* a new password ends every session of that user, and only its own */
	assert_int_equal(accounts_user_passwd(f->a, "joe@a.test", "new", err, sizeof err), 0);
	assert_int_equal(accounts_web_who(f->a, joe, T0, &who), 0);
	assert_int_equal(accounts_web_who(f->a, joe2, T0, &who), 0);
	assert_int_equal(accounts_web_who(f->a, ann, T0, &who), 1);
	/* suspension */
	session(f, WEB_USER, "joe@a.test", joe);
	assert_int_equal(accounts_user_suspend(f->a, "joe@a.test", true, err, sizeof err), 0);
	assert_int_equal(accounts_web_who(f->a, joe, T0, &who), 0);
	assert_int_equal(accounts_user_suspend(f->a, "joe@a.test", false, err, sizeof err), 0);
	/* deletion */
	assert_int_equal(accounts_user_del(f->a, "ann@a.test", err, sizeof err), 0);
	assert_int_equal(accounts_web_who(f->a, ann, T0, &who), 0);
	/* an admin's new password ends its sessions and its tokens */
	session(f, WEB_ADMIN, "boss", boss);
	assert_int_equal(accounts_token_add(f->a, "boss", T0, tok, err, sizeof err), 0);
	snprintf(tcred, sizeof tcred, "t:%s", tok);
	assert_int_equal(accounts_web_who(f->a, tcred, T0, &who), 1);
	assert_int_equal(accounts_admin_passwd(f->a, "boss", "new", err, sizeof err), 0);
	assert_int_equal(accounts_web_who(f->a, boss, T0, &who), 0);
	assert_int_equal(accounts_web_who(f->a, tcred, T0, &who), 0);
	/* and its deletion both too */
	session(f, WEB_ADMIN, "boss", boss);
	assert_int_equal(accounts_token_add(f->a, "boss", T0, tok, err, sizeof err), 0);
	snprintf(tcred, sizeof tcred, "t:%s", tok);
	session(f, WEB_ADMIN, "other", joe);
	assert_int_equal(accounts_admin_del(f->a, "boss", err, sizeof err), 0);
	assert_int_equal(accounts_web_who(f->a, boss, T0, &who), 0);
	assert_int_equal(accounts_web_who(f->a, tcred, T0, &who), 0);
	assert_int_equal(db_count(f, "SELECT count(*) FROM api_tokens"), 0);
	assert_int_equal(accounts_web_who(f->a, joe, T0, &who), 1);
	assert_string_equal(who.name, "other");
	/* a session made for a principal that is not (or no longer) one is no one's */
	session(f, WEB_ADMIN, "ghost", boss);
	assert_int_equal(accounts_web_who(f->a, boss, T0, &who), 0);
	session(f, WEB_USER, "ghost@a.test", boss);
	assert_int_equal(accounts_web_who(f->a, boss, T0, &who), 0);
	assert_int_equal(accounts_user_suspend(f->a, "joe@a.test", true, err, sizeof err), 0);
	session(f, WEB_USER, "joe@a.test", joe);
	assert_int_equal(accounts_web_who(f->a, joe, T0, &who), 0);
	/* an admin named like a user's address cannot be: names have no '@' */
	assert_false(web_name_valid("joe@a.test"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_digest_and_token_form),
		cmocka_unit_test(test_expiry_rule),
		cmocka_unit_test_setup_teardown(test_admins, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tokens, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sessions_expire, setup, teardown),
		cmocka_unit_test_setup_teardown(test_principal_changes_end_sessions, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
