/*
 * test_accounts_users.c - unit tests for accounts_users.c against a store in a
 * temporary directory: suspension (and `user list`'s flag), app passwords (the
 * limit, unique names, the digest kept and never the password), what lookupd
 * reads for a login, rows gone with their user, and an old store upgraded.
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
	snprintf(f->dir, sizeof f->dir, "/tmp/test_accounts_users.XXXXXX");
	if (mkdtemp(f->dir) == NULL || (f->a = accounts_open(f->dir, true, err, sizeof err)) == NULL ||
	    accounts_domain_add(f->a, "a.test", err, sizeof err) < 0 ||
	    accounts_user_add(f->a, "joe@a.test", "main-pw", 0, err, sizeof err) < 0 ||
	    accounts_user_add(f->a, "ann@a.test", "main-pw", 1000, err, sizeof err) < 0) {
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

static void
test_suspend(void **state)
{
	struct fixture *f = *state;
	struct login_record rec;
	struct strlist l = { 0 };
	char err[512];

	assert_int_equal(accounts_login_record(f->a, "Joe@A.test", &rec), 1);
	assert_false(rec.suspended);
	assert_int_equal(rec.napps, 0);
	assert_int_equal(strncmp(rec.hash, "$y$", 3), 0);
	assert_int_equal(accounts_user_suspend(f->a, "JOE@a.test", true, err, sizeof err), 0);
	assert_int_equal(accounts_user_suspend(f->a, "joe@a.test", true, err, sizeof err), 0);
	assert_int_equal(accounts_login_record(f->a, "joe@a.test", &rec), 1);
	assert_true(rec.suspended);
	/* mail still goes to a suspended user */
	struct target_list tl = { 0 };
	assert_int_equal(accounts_resolve(f->a, "joe@a.test", &tl), RESOLVE_OK);
	target_list_free(&tl);
	assert_int_equal(accounts_user_list(f->a, NULL, &l, err, sizeof err), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0], "ann@a.test 1000");
	assert_string_equal(l.v[1], "joe@a.test 0 suspended");
	strlist_free(&l);
	assert_int_equal(accounts_user_list(f->a, "a.test", &l, err, sizeof err), 0);
	assert_string_equal(l.v[1], "joe@a.test 0 suspended");
	strlist_free(&l);
	assert_int_equal(accounts_user_suspend(f->a, "joe@a.test", false, err, sizeof err), 0);
	assert_int_equal(accounts_login_record(f->a, "joe@a.test", &rec), 1);
	assert_false(rec.suspended);
	/* errors */
	assert_int_equal(accounts_user_suspend(f->a, "nobody@a.test", true, err, sizeof err), -1);
	assert_string_equal(err, "no such user: nobody@a.test");
	assert_int_equal(accounts_user_suspend(f->a, "not an address", true, err, sizeof err), -1);
	assert_int_equal(accounts_login_record(f->a, "nobody@a.test", &rec), 0);
	assert_int_equal(accounts_login_record(f->a, "not an address", &rec), 0);
}

static void
test_app_passwords(void **state)
{
	struct fixture *f = *state;
	struct login_record rec;
	struct strlist l = { 0 };
	char pw[APP_PASSWORD_SIZE], first[APP_PASSWORD_SIZE], err[512], name[16];

	assert_int_equal(accounts_app_password_add(f->a, "joe@a.test", "phone", first, 1700000000,
	    err, sizeof err), 0);
	assert_int_equal(strlen(first), APP_PASSWORD_SIZE - 1);
	assert_int_equal(accounts_app_password_add(f->a, "joe@a.test", "phone", pw, 1, err,
	    sizeof err), -1);
	assert_string_equal(err, "app password exists: phone of joe@a.test");
	/* the same name for another user is another password */
	assert_int_equal(accounts_app_password_add(f->a, "ann@a.test", "phone", pw, 1, err,
	    sizeof err), 0);
	assert_int_equal(accounts_app_password_add(f->a, "joe@a.test", "bad name", pw, 1, err,
	    sizeof err), -1);
	assert_int_equal(accounts_app_password_add(f->a, "nobody@a.test", "x", pw, 1, err,
	    sizeof err), -1);
	assert_string_equal(err, "no such user: nobody@a.test");

	assert_int_equal(accounts_login_record(f->a, "joe@a.test", &rec), 1);
	assert_int_equal(rec.napps, 1);
	assert_string_equal(rec.app_name[0], "phone");
	assert_int_equal(app_password_match(first, (const char (*)[APP_DIGEST_SIZE])rec.app_digest,
	    rec.napps), 0);
	assert_int_equal(app_password_match(pw, (const char (*)[APP_DIGEST_SIZE])rec.app_digest,
	    rec.napps), -1);

	assert_int_equal(accounts_app_password_list(f->a, "joe@a.test", &l, err, sizeof err), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0], "phone 2023-11-14T22:13:20Z never");
	strlist_free(&l);
	assert_int_equal(accounts_app_password_used(f->a, "joe@a.test", "phone", 1700000060), 0);
	assert_int_equal(accounts_app_password_list(f->a, "joe@a.test", &l, err, sizeof err), 0);
	assert_string_equal(l.v[0], "phone 2023-11-14T22:13:20Z 2023-11-14T22:14:20Z");
	strlist_free(&l);

	/* at most APP_PASSWORDS_MAX per user */
	for (int i = 1; i < APP_PASSWORDS_MAX; i++) {
		snprintf(name, sizeof name, "n%02d", i);
		assert_int_equal(accounts_app_password_add(f->a, "joe@a.test", name, pw, 1, err,
		    sizeof err), 0);
	}
	assert_int_equal(accounts_app_password_add(f->a, "joe@a.test", "one-more", pw, 1, err,
	    sizeof err), -1);
	assert_int_equal(accounts_login_record(f->a, "joe@a.test", &rec), 1);
	assert_int_equal(rec.napps, APP_PASSWORDS_MAX);
	assert_int_equal(app_password_match(first, (const char (*)[APP_DIGEST_SIZE])rec.app_digest,
	    rec.napps), APP_PASSWORDS_MAX - 1); /* by name: "phone" after "n19" */

	/* del */
	assert_int_equal(accounts_app_password_del(f->a, "joe@a.test", "phone", err, sizeof err), 0);
	assert_int_equal(accounts_app_password_del(f->a, "joe@a.test", "phone", err, sizeof err), -1);
	assert_string_equal(err, "no such app password: phone of joe@a.test");
	assert_int_equal(accounts_login_record(f->a, "joe@a.test", &rec), 1);
	assert_int_equal(rec.napps, APP_PASSWORDS_MAX - 1);
	assert_int_equal(app_password_match(first, (const char (*)[APP_DIGEST_SIZE])rec.app_digest,
	    rec.napps), -1);
	assert_int_equal(accounts_app_password_add(f->a, "joe@a.test", "one-more", pw, 1, err,
	    sizeof err), 0);
}

/* The store keeps digests only; a deleted user takes its rows along. */
static void
test_kept_and_deleted(void **state)
{
	struct fixture *f = *state;
	char pw[APP_PASSWORD_SIZE], err[512], path[128];
	sqlite3 *db;
	sqlite3_stmt *s;

	assert_int_equal(accounts_app_password_add(f->a, "joe@a.test", "phone", pw, 1, err,
	    sizeof err), 0);
	assert_int_equal(accounts_user_suspend(f->a, "joe@a.test", true, err, sizeof err), 0);
	snprintf(path, sizeof path, "%s/accounts.db", f->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT digest FROM app_passwords", -1, &s, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	const char *d = (const char *)sqlite3_column_text(s, 0);
	assert_int_equal(strncmp(d, "sha256:", 7), 0);
	assert_null(strstr(d, pw));
	sqlite3_finalize(s);

	assert_int_equal(accounts_user_del(f->a, "joe@a.test", err, sizeof err), 0);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT (SELECT count(*) FROM app_passwords) +"
	    " (SELECT count(*) FROM suspended_users)", -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(s, 0), 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	/* a new user of the address starts without them */
	assert_int_equal(accounts_user_add(f->a, "joe@a.test", "pw2", 0, err, sizeof err), 0);
	struct login_record rec;
	assert_int_equal(accounts_login_record(f->a, "joe@a.test", &rec), 1);
	assert_false(rec.suspended);
	assert_int_equal(rec.napps, 0);
}

/*
 * A store made before these tables (and before schema versions: no
 * schema_version, user_version 1, aliases without seq) gets them when it is opened.
 */
static void
test_upgrade(void **state)
{
	struct fixture *f = *state;
	char path[128], err[512], pw[APP_PASSWORD_SIZE];
	sqlite3 *db;

	accounts_close(f->a);
	f->a = NULL;
	snprintf(path, sizeof path, "%s/accounts.db", f->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "DROP TRIGGER users_controls_del;"
	    " DROP TABLE app_passwords; DROP TABLE suspended_users; DROP TABLE schema_version;"
	    " ALTER TABLE aliases DROP COLUMN seq; PRAGMA user_version = 1;", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	f->a = accounts_open(f->dir, false, err, sizeof err);
	assert_non_null(f->a);
	assert_int_equal(accounts_user_suspend(f->a, "ann@a.test", true, err, sizeof err), 0);
	assert_int_equal(accounts_app_password_add(f->a, "ann@a.test", "x", pw, 1, err, sizeof err), 0);
	struct strlist l = { 0 };
	assert_int_equal(accounts_user_list(f->a, NULL, &l, err, sizeof err), 0);
	assert_string_equal(l.v[0], "ann@a.test 1000 suspended");
	strlist_free(&l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_suspend, setup, teardown),
		cmocka_unit_test_setup_teardown(test_app_passwords, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kept_and_deleted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_upgrade, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
