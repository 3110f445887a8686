/* test_sendlimit.c - unit tests for lookup/sendlimit.c: counter windows and the decision on a message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "lookup/sendlimit.h"

static void
test_bucket(void **state)
{
	assert_int_equal(sendlimit_bucket(0), 0);
	assert_int_equal(sendlimit_bucket(59), 0);
	assert_int_equal(sendlimit_bucket(60), 60);
	assert_int_equal(sendlimit_bucket(1000000019), 1000000019 - 59);
	assert_int_equal(sendlimit_bucket(-1), -60);
}

static void
test_window_edges(void **state)
{
	time_t now = 1000000 * 60 + 30; /* half a minute into a counter */
	int64_t cur = sendlimit_bucket(now);

	assert_true(sendlimit_in_window(cur, now, SENDLIMIT_HOUR));
	assert_true(sendlimit_in_window(cur - 59 * 60, now, SENDLIMIT_HOUR));   /* the 60th minute */
	assert_false(sendlimit_in_window(cur - 60 * 60, now, SENDLIMIT_HOUR));  /* the 61st */
	assert_true(sendlimit_in_window(cur - 1439 * 60, now, SENDLIMIT_DAY));
	assert_false(sendlimit_in_window(cur - 1440 * 60, now, SENDLIMIT_DAY));
	assert_false(sendlimit_in_window(cur + 60, now, SENDLIMIT_DAY));        /* the future: a clock set back */
}

static void
test_sum(void **state)
{
	time_t now = 500000 * 60;
	struct send_bucket v[] = {
		{ now, 3 }, { now - 600, 2 }, { now - 3600, 5 }, { now - 86400 + 60, 7 },
		{ now - 86400, 11 }, { now + 120, 13 },
	};
	size_t n = sizeof v / sizeof v[0];

	assert_int_equal(sendlimit_sum(v, n, now, SENDLIMIT_HOUR), 5);
	assert_int_equal(sendlimit_sum(v, n, now, SENDLIMIT_DAY), 3 + 2 + 5 + 7);
	assert_int_equal(sendlimit_sum(v, 0, now, SENDLIMIT_DAY), 0);
	/* a minute later the oldest of the day has left the window */
	assert_int_equal(sendlimit_sum(v, n, now + 60, SENDLIMIT_DAY), 3 + 2 + 5);
}

static void
test_decide_day(void **state)
{
	struct send_limits l = { 2, 0, 0 };
	struct send_usage u = { 0 };
	uint64_t limit;

	assert_int_equal(sendlimit_decide(&l, &u, &limit), SEND_OK);
	u.day = 1;
	assert_int_equal(sendlimit_decide(&l, &u, &limit), SEND_OK);
	u.day = 2;
	assert_int_equal(sendlimit_decide(&l, &u, &limit), SEND_OVER_DAY);
	assert_int_equal(limit, 2);
	assert_string_equal(sendlimit_key(SEND_OVER_DAY), "sends_per_day");
	l.per_day = 0; /* none */
	u.day = 1000000;
	assert_int_equal(sendlimit_decide(&l, &u, &limit), SEND_OK);
}

static void
test_decide_hour_and_order(void **state)
{
	struct send_limits l = { 10, 3, 0 };
	struct send_usage u = { .day = 3, .hour = 3 };
	uint64_t limit;

	assert_int_equal(sendlimit_decide(&l, &u, &limit), SEND_OVER_HOUR);
	assert_int_equal(limit, 3);
	u.day = 10; /* both passed: the day is named */
	assert_int_equal(sendlimit_decide(&l, &u, &limit), SEND_OVER_DAY);
	assert_int_equal(limit, 10);
}

static void
test_decide_first_time(void **state)
{
	struct send_limits l = { 0, 0, 3 };
	struct send_usage u = { .first_time_day = 2, .new_rcpts = 1 };
	uint64_t limit;

	assert_int_equal(sendlimit_decide(&l, &u, &limit), SEND_OK);   /* the 3rd */
	u.first_time_day = 3;
	assert_int_equal(sendlimit_decide(&l, &u, &limit), SEND_OVER_FIRST_TIME); /* the 4th */
	assert_int_equal(limit, 3);
	u.new_rcpts = 0; /* only recipients written to before: no first-time limit */
	assert_int_equal(sendlimit_decide(&l, &u, &limit), SEND_OK);
	u.first_time_day = 0;
	u.new_rcpts = 4; /* one message with more new recipients than the limit */
	assert_int_equal(sendlimit_decide(&l, &u, &limit), SEND_OVER_FIRST_TIME);
	assert_string_equal(sendlimit_key(SEND_OK), "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bucket),
		cmocka_unit_test(test_window_edges),
		cmocka_unit_test(test_sum),
		cmocka_unit_test(test_decide_day),
		cmocka_unit_test(test_decide_hour_and_order),
		cmocka_unit_test(test_decide_first_time),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
