/*
 * test_rate_limit.c - unit tests for rate_limit.c: the limit within a minute, the
 * minute starting again, networks counted apart, 0 meaning none, a clock that goes
 * back, and the bound on how many networks are kept.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "net/rate_limit.h"

static void
test_window(void **state)
{
	struct rate_limit r = { 0 };

	for (int i = 0; i < 3; i++)
		assert_true(rate_limit_take(&r, "192.0.2.1/32", 3, 1000 + i));
	assert_false(rate_limit_take(&r, "192.0.2.1/32", 3, 1010));
	assert_true(rate_limit_take(&r, "192.0.2.2/32", 3, 1010)); /* another network */
	assert_false(rate_limit_take(&r, "192.0.2.1/32", 3, 1059));
	assert_true(rate_limit_take(&r, "192.0.2.1/32", 3, 1060)); /* a new minute */
	assert_true(rate_limit_take(&r, "192.0.2.1/32", 3, 900));  /* the clock went back */
	assert_true(rate_limit_take(&r, "x", 0, 1000));
	assert_null(strmap_get(&r.per_key, "x"));
	rate_limit_free(&r);
}

static void
test_bounded(void **state)
{
	struct rate_limit r = { 0 };
	char key[32];

	for (unsigned i = 0; i < RATE_KEYS_MAX; i++) {
		snprintf(key, sizeof key, "10.%u.%u.%u/32", i >> 16, (i >> 8) & 255, i & 255);
		assert_true(rate_limit_take(&r, key, 5, i < 5 ? 0 : 1000));
	}
	assert_int_equal(r.per_key.n, RATE_KEYS_MAX);
	assert_true(rate_limit_take(&r, "192.0.2.9/32", 5, 1000));
	assert_int_equal(r.per_key.n, RATE_KEYS_MAX - 5 + 1);
	rate_limit_free(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
