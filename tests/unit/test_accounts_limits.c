/*
 * test_accounts_limits.c - unit tests for accounts_limits.c: counting against
 * sends_per_day and first_time_recipients_per_day, a user's own limits, held
 * messages not counted, the counters forgetting after a day; a store in a
 * temporary directory.
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

#include "accounts.h"

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
	snprintf(f->dir, sizeof f->dir, "/tmp/test_limits.XXXXXX");
	if (mkdtemp(f->dir) == NULL || (f->a = accounts_open(f->dir, true, err, sizeof err)) == NULL ||
	    accounts_domain_add(f->a, "example.test", err, sizeof err) < 0 ||
	    accounts_user_add(f->a, "demo@example.test", "pw", 0, err, sizeof err) < 0) {
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

static enum send_verdict
count(struct accounts *a, const char *rcpt, time_t now, const struct send_limits *l,
    uint64_t *limit)
{
	const char *v[] = { rcpt };
	return accounts_sends_count(a, "demo@example.test", v, 1, 0, now, l, limit);
}

static void
test_per_day(void **state)
{
	struct fixture *f = *state;
	struct send_limits l = { 2, 0, 0 };
	time_t t = 1800000000;
	uint64_t limit;
	char err[256];

	assert_int_equal(count(f->a, "x@remote.test", t, &l, &limit), SEND_OK);
	assert_int_equal(count(f->a, "x@remote.test", t + 60, &l, &limit), SEND_OK);
	assert_int_equal(count(f->a, "x@remote.test", t + 120, &l, &limit), SEND_OVER_DAY);
	assert_int_equal(limit, 2);
	/* held, so not counted: still over, not further over */
	struct user_limit_info info;
	assert_int_equal(accounts_user_limit_get(f->a, "Demo@Example.test", t + 120, &info, err,
	    sizeof err), 0);
	assert_int_equal(info.sent_day, 2);
	assert_int_equal(info.per_day, LIMIT_DEFAULT);
	/* a day after the first, one has left the window */
	assert_int_equal(count(f->a, "x@remote.test", t + 86400, &l, &limit), SEND_OK);
	/* the user's own 0: none */
	assert_int_equal(accounts_user_limit_set(f->a, "demo@example.test", 0, LIMIT_KEEP, err,
	    sizeof err), 0);
	for (int i = 0; i < 5; i++)
		assert_int_equal(count(f->a, "x@remote.test", t + 86400 + i, &l, &limit), SEND_OK);
	assert_int_equal(accounts_user_limit_set(f->a, "demo@example.test", LIMIT_DEFAULT,
	    LIMIT_KEEP, err, sizeof err), 0);
	assert_int_equal(count(f->a, "x@remote.test", t + 86400 + 9, &l, &limit), SEND_OVER_DAY);
	assert_int_equal(accounts_user_limit_set(f->a, "nobody@example.test", 1, 1, err,
	    sizeof err), -1);
	assert_non_null(strstr(err, "no such user"));
}

static void
test_first_time(void **state)
{
	struct fixture *f = *state;
	struct send_limits l = { 0, 0, 2 };
	time_t t = 1800000000;
	uint64_t limit;

	assert_int_equal(count(f->a, "a@remote.test", t, &l, &limit), SEND_OK);
	assert_int_equal(count(f->a, "B@remote.test", t, &l, &limit), SEND_OK);
	assert_int_equal(count(f->a, "c@remote.test", t, &l, &limit), SEND_OVER_FIRST_TIME);
	assert_int_equal(limit, 2);
	/* known ones (in any case) go */
	assert_int_equal(count(f->a, "b@remote.test", t + 5, &l, &limit), SEND_OK);
	/* a message with two of the same new recipient is one new recipient */
	const char *v[] = { "d@remote.test", "D@remote.test" };
	struct send_limits l3 = { 0, 0, 3 };
	assert_int_equal(accounts_sends_count(f->a, "demo@example.test", v, 2, 0, t + 6, &l3,
	    &limit), SEND_OK);
	/* recipients beyond those named count as new */
	assert_int_equal(accounts_sends_count(f->a, "demo@example.test", v, 2, 1, t + 7, &l3,
	    &limit), SEND_OVER_FIRST_TIME);
	/* the next day the first-time window starts again */
	assert_int_equal(count(f->a, "c@remote.test", t + 86401, &l, &limit), SEND_OK);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_per_day, setup, teardown),
		cmocka_unit_test_setup_teardown(test_first_time, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
