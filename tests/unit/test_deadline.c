/* test_deadline.c - unit tests for deadline.c: how message text moves a deadline on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "net/deadline.h"

#define S 1000000ull /* a second in microseconds */

/* Each octet at 500 a second is worth 2 ms. */
static void
test_credit_per_octet(void **state)
{
	assert_int_equal(deadline_credit(10 * S, 1 * S, 500, 300 * S, 500), 11 * S);
	assert_int_equal(deadline_credit(10 * S, 1 * S, 1, 300 * S, 500), 10 * S + 2000);
	/* Rates that do not divide a second evenly round down, never up. */
	assert_int_equal(deadline_credit(0, 0, 1, 300 * S, 3), 333333);
	assert_int_equal(deadline_credit(0, 0, 7, 300 * S, 3), 2333333);
}

/* A fast burst earns no more than the whole limit from now: no saved-up idle time. */
static void
test_credit_capped_at_limit(void **state)
{
	assert_int_equal(deadline_credit(10 * S, 9 * S, 1000000, 5 * S, 500), 14 * S);
	assert_int_equal(deadline_credit(14 * S, 9 * S, 1, 5 * S, 500), 14 * S);
	/* Huge counts do not overflow. */
	assert_int_equal(deadline_credit(10 * S, 9 * S, UINT64_MAX / 2, 5 * S, 1), 14 * S);
	assert_int_equal(deadline_credit(10 * S, 9 * S, UINT64_MAX, 5 * S, UINT64_MAX - 1), 11 * S);
	assert_int_equal(deadline_credit(10 * S, 9 * S, UINT64_MAX - 1, 5 * S, UINT64_MAX), 11 * S - 1);
}

/* Below the rate the deadline falls behind the clock; at the rate it keeps pace. */
static void
test_trickle_runs_out(void **state)
{
	uint64_t limit = 3 * S, due = limit, now = 0;

	/* 20 octets every half second is 40 a second, against 500. */
	while (now < due) {
		now += S / 2;
		if (now < due)
			due = deadline_credit(due, now, 20, limit, 500);
	}
	assert_true(now >= 3 * S && now <= 4 * S);

	/* 250 octets every half second is the rate: never runs out. */
	due = limit;
	for (now = S / 2; now < 60 * S; now += S / 2) {
		assert_true(now < due);
		due = deadline_credit(due, now, 250, limit, 500);
	}
}

/* Without a rate nothing is credited (request and handshake deadlines). */
static void
test_no_rate(void **state)
{
	assert_int_equal(deadline_credit(10 * S, 1 * S, 500, 300 * S, 0), 10 * S);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_credit_per_octet),
		cmocka_unit_test(test_credit_capped_at_limit),
		cmocka_unit_test(test_trickle_runs_out),
		cmocka_unit_test(test_no_rate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
