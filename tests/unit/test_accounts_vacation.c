/*
 * test_accounts_vacation.c - unit tests for accounts_vacation.c against a store in
 * a temporary directory: a vacation set, read, replaced and turned off; what is
 * refused; the answered senders (one reply per interval, decided in one step,
 * forgotten after it, and when the vacation changes); the rows going with the
 * user; and the resolve flag that keeps such a mailbox's mail in the queue.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "accounts.h"
#include "accounts_vacation.h"

#define USER "demo@example.test"
#define WEEK (7 * 86400)
#define T0 1800000000

struct fixture {
	char dir[64];
	struct accounts *a;
	struct vacation_info v;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	char err[512] = "";

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof f->dir, "/tmp/test_accounts_vacation.XXXXXX");
	if (mkdtemp(f->dir) == NULL ||
	    (f->a = accounts_open(f->dir, true, err, sizeof err)) == NULL ||
	    accounts_domain_add(f->a, "example.test", err, sizeof err) < 0 ||
	    accounts_user_add(f->a, USER, "pw-123456", 0, err, sizeof err) < 0) {
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
test_set_get_off(void **state)
{
	struct fixture *f = *state;
	char err[512];

	assert_int_equal(accounts_vacation_get(f->a, USER, &f->v, err, sizeof err), 0);
	assert_false(f->v.found);
	assert_int_equal(accounts_vacation_set(f->a, "Demo@Example.Test", "Au\xc3\x9f" "er Haus",
	    "line one\r\nline two\r\n", T0, err, sizeof err), 0);
	assert_int_equal(accounts_vacation_get(f->a, USER, &f->v, err, sizeof err), 0);
	assert_true(f->v.found);
	assert_string_equal(f->v.address, USER);
	assert_string_equal(f->v.subject, "Au\xc3\x9f" "er Haus");
	assert_string_equal(f->v.body, "line one\nline two\n");
	assert_int_equal(f->v.until, T0);
	assert_true(f->v.set_at > 0);
	assert_true(vacation_active(&f->v, T0 - 1));
	assert_false(vacation_active(&f->v, T0));
	/* replaced whole */
	assert_int_equal(accounts_vacation_set(f->a, USER, "Away", "gone", 0, err, sizeof err), 0);
	assert_int_equal(accounts_vacation_get(f->a, USER, &f->v, err, sizeof err), 0);
	assert_string_equal(f->v.subject, "Away");
	assert_string_equal(f->v.body, "gone");
	assert_int_equal(f->v.until, 0);
	assert_true(vacation_active(&f->v, (time_t)1 << 40));
	assert_int_equal(accounts_vacation_off(f->a, USER, err, sizeof err), 0);
	assert_int_equal(accounts_vacation_get(f->a, USER, &f->v, err, sizeof err), 0);
	assert_false(f->v.found);
	assert_false(vacation_active(&f->v, T0));
	/* off twice is no error */
	assert_int_equal(accounts_vacation_off(f->a, USER, err, sizeof err), 0);
}

static void
test_refused(void **state)
{
	struct fixture *f = *state;
	char err[512], big[VACATION_BODY_MAX + 2], subj[VACATION_SUBJECT_MAX + 2];

	assert_int_equal(accounts_vacation_set(f->a, "nobody@example.test", "s", "b", 0, err,
	    sizeof err), -1);
	assert_string_equal(err, "no such user: nobody@example.test");
	assert_int_equal(accounts_vacation_off(f->a, "nobody@example.test", err, sizeof err), -1);
	assert_int_equal(accounts_vacation_get(f->a, "nobody@example.test", &f->v, err, sizeof err),
	    -1);
	assert_int_equal(accounts_vacation_set(f->a, "not an address", "s", "b", 0, err, sizeof err),
	    -1);
	struct { const char *subject, *body, *why; } bad[] = {
		{ "two\nlines", "b", "one line" },
		{ "cr\rhere", "b", "one line" },
		{ "", "b", "subject is empty" },
		{ "  ", "b", "subject is empty" },
		{ "tab\tis fine but \x01 is not", "b", "not UTF-8 text" },
		{ "bad \xc3\x28 utf-8", "b", "not UTF-8 text" },
		{ "s", "", "body is empty" },
		{ "s", " \n\n", "body is empty" },
		{ "s", "bad \xff octet", "not UTF-8 text" },
		{ "s", "escape \x1b[31m", "not UTF-8 text" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(accounts_vacation_set(f->a, USER, bad[i].subject, bad[i].body, 0, err,
		    sizeof err), -1);
		assert_non_null(strstr(err, bad[i].why));
	}
	memset(subj, 's', VACATION_SUBJECT_MAX + 1);
	subj[VACATION_SUBJECT_MAX + 1] = '\0';
	assert_int_equal(accounts_vacation_set(f->a, USER, subj, "b", 0, err, sizeof err), -1);
	subj[VACATION_SUBJECT_MAX] = '\0'; /* at the limit: taken */
	assert_int_equal(accounts_vacation_set(f->a, USER, subj, "b", 0, err, sizeof err), 0);
	memset(big, 'b', VACATION_BODY_MAX + 1);
	big[VACATION_BODY_MAX + 1] = '\0';
	assert_int_equal(accounts_vacation_set(f->a, USER, "s", big, 0, err, sizeof err), -1);
	assert_non_null(strstr(err, "at most 16384"));
	big[VACATION_BODY_MAX] = '\0';
	assert_int_equal(accounts_vacation_set(f->a, USER, "s", big, 0, err, sizeof err), 0);
	assert_int_equal(accounts_vacation_get(f->a, USER, &f->v, err, sizeof err), 0);
	assert_int_equal(strlen(f->v.body), VACATION_BODY_MAX);
}

static void
test_once_per_interval(void **state)
{
	struct fixture *f = *state;
	struct accounts *a = f->a;
	char err[512];

	assert_int_equal(accounts_vacation_set(a, USER, "s", "b", 0, err, sizeof err), 0);
	assert_int_equal(accounts_vacation_reply(a, USER, "alice@remote.test", WEEK, T0),
	    VACATION_SEND);
	assert_int_equal(accounts_vacation_reply(a, USER, "alice@remote.test", WEEK, T0 + 1),
	    VACATION_RECENT);
	assert_int_equal(accounts_vacation_reply(a, USER, "ALICE@Remote.Test", WEEK, T0 + WEEK - 1),
	    VACATION_RECENT);
	assert_int_equal(accounts_vacation_reply(a, USER, "bob@remote.test", WEEK, T0 + 1),
	    VACATION_SEND);
	/* the interval is over: answered again, and the clock starts anew */
	assert_int_equal(accounts_vacation_reply(a, USER, "alice@remote.test", WEEK, T0 + WEEK),
	    VACATION_SEND);
	assert_int_equal(accounts_vacation_reply(a, USER, "alice@remote.test", WEEK, T0 + WEEK + 5),
	    VACATION_RECENT);
	/* a row from the future (the clock went back) does not silence a sender */
	assert_int_equal(accounts_vacation_reply(a, USER, "alice@remote.test", WEEK, T0 - 100),
	    VACATION_SEND);
	/* a new vacation is news to everyone */
	assert_int_equal(accounts_vacation_reply(a, USER, "bob@remote.test", WEEK, T0 + 2),
	    VACATION_RECENT);
	assert_int_equal(accounts_vacation_set(a, USER, "s2", "b2", 0, err, sizeof err), 0);
	assert_int_equal(accounts_vacation_reply(a, USER, "bob@remote.test", WEEK, T0 + 3),
	    VACATION_SEND);
	assert_int_equal(accounts_vacation_off(a, USER, err, sizeof err), 0);
	assert_int_equal(accounts_vacation_set(a, USER, "s3", "b3", 0, err, sizeof err), 0);
	assert_int_equal(accounts_vacation_reply(a, USER, "bob@remote.test", WEEK, T0 + 4),
	    VACATION_SEND);
}

static void
test_expire(void **state)
{
	struct fixture *f = *state;
	struct accounts *a = f->a;
	char err[512];

	assert_int_equal(accounts_vacation_set(a, USER, "s", "b", 0, err, sizeof err), 0);
	accounts_vacation_reply(a, USER, "old@remote.test", WEEK, T0);
	accounts_vacation_reply(a, USER, "new@remote.test", WEEK, T0 + 100);
	assert_int_equal(accounts_vacation_expire(a, WEEK, T0 + WEEK - 1), 0);
	assert_int_equal(accounts_vacation_expire(a, WEEK, T0 + WEEK), 1);
	assert_int_equal(accounts_vacation_reply(a, USER, "new@remote.test", WEEK, T0 + WEEK),
	    VACATION_RECENT);
	assert_int_equal(accounts_vacation_expire(a, WEEK, T0 + WEEK + 100), 1);
	assert_int_equal(accounts_vacation_expire(a, WEEK, T0 + 2 * WEEK), 0);
}

static void
test_gone_with_user(void **state)
{
	struct fixture *f = *state;
	struct accounts *a = f->a;
	char err[512];

	assert_int_equal(accounts_vacation_set(a, USER, "s", "b", 0, err, sizeof err), 0);
	assert_int_equal(accounts_vacation_reply(a, USER, "alice@remote.test", WEEK, T0),
	    VACATION_SEND);
	assert_int_equal(accounts_user_del(a, USER, err, sizeof err), 0);
	assert_int_equal(accounts_user_add(a, USER, "pw-654321", 0, err, sizeof err), 0);
	assert_int_equal(accounts_vacation_get(a, USER, &f->v, err, sizeof err), 0);
	assert_false(f->v.found);
	/* the new owner of the address has answered nobody */
	assert_int_equal(accounts_vacation_expire(a, WEEK, T0 + 1), 0);
	assert_int_equal(accounts_vacation_set(a, USER, "s", "b", 0, err, sizeof err), 0);
	assert_int_equal(accounts_vacation_reply(a, USER, "alice@remote.test", WEEK, T0 + 1),
	    VACATION_SEND);
}

/* resolve_flag - the vacation flag of the one target USER resolves to. */
static bool
resolve_flag(struct accounts *a, const char *address)
{
	struct target_list tl = { 0 };
	assert_int_equal(accounts_resolve(a, address, &tl), RESOLVE_OK);
	assert_int_equal(tl.n, 1);
	bool v = tl.v[0].vacation;
	assert_true(tl.v[0].unlimited);
	target_list_free(&tl);
	return v;
}

static void
test_resolve_flag(void **state)
{
	struct fixture *f = *state;
	struct accounts *a = f->a;
	char err[512];
	const char *targets[] = { USER };

	assert_int_equal(accounts_alias_add(a, "info@example.test", targets, 1, err, sizeof err), 0);
	assert_false(resolve_flag(a, USER));
	assert_int_equal(accounts_vacation_set(a, USER, "s", "b", time(NULL) + 3600, err,
	    sizeof err), 0);
	assert_true(resolve_flag(a, USER));
	assert_true(resolve_flag(a, "info@example.test"));
	assert_true(resolve_flag(a, "demo+tag@example.test"));
	/* ended: the mail may skip the queue again */
	assert_int_equal(accounts_vacation_set(a, USER, "s", "b", time(NULL) - 1, err, sizeof err),
	    0);
	assert_false(resolve_flag(a, USER));
	assert_int_equal(accounts_vacation_set(a, USER, "s", "b", 0, err, sizeof err), 0);
	assert_true(resolve_flag(a, USER));
	assert_int_equal(accounts_vacation_off(a, USER, err, sizeof err), 0);
	assert_false(resolve_flag(a, USER));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_set_get_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_once_per_interval, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expire, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gone_with_user, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resolve_flag, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
