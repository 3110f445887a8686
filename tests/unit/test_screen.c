/*
 * test_screen.c - unit tests for screen.c: verdicts remembered for a day and then
 * forgotten, a changed verdict, and the bound on how many clients are remembered.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "smtp/screen.h"

static void
test_expiry(void **state)
{
	struct screen sc = { 0 };

	assert_int_equal(screen_lookup(&sc, "192.0.2.1", 1000), SCREEN_UNKNOWN);
	screen_remember(&sc, "192.0.2.1", SCREEN_BAD, 1000);
	screen_remember(&sc, "192.0.2.2", SCREEN_GOOD, 1000);
	assert_int_equal(screen_lookup(&sc, "192.0.2.1", 1000 + SCREEN_TTL - 1), SCREEN_BAD);
	assert_int_equal(screen_lookup(&sc, "192.0.2.2", 1000 + SCREEN_TTL - 1), SCREEN_GOOD);
	assert_int_equal(screen_lookup(&sc, "192.0.2.1", 1000 + SCREEN_TTL), SCREEN_UNKNOWN);
	assert_int_equal(sc.seen.n, 1);
	screen_remember(&sc, "192.0.2.2", SCREEN_BAD, 2000);
	assert_int_equal(screen_lookup(&sc, "192.0.2.2", 2001), SCREEN_BAD);
	screen_free(&sc);
}

static void
test_bounded(void **state)
{
	struct screen sc = { 0 };
	char ip[64];

	for (unsigned i = 0; i < SCREEN_MAX; i++) {
		snprintf(ip, sizeof ip, "10.%u.%u.%u", i >> 16, (i >> 8) & 255, i & 255);
		screen_remember(&sc, ip, SCREEN_GOOD, i < 10 ? 0 : 1000000);
	}
	assert_int_equal(sc.seen.n, SCREEN_MAX);
	/* Full: the ten expired ones go first. */
	screen_remember(&sc, "192.0.2.9", SCREEN_BAD, 1000000);
	assert_int_equal(sc.seen.n, SCREEN_MAX - 10 + 1);
	assert_int_equal(screen_lookup(&sc, "192.0.2.9", 1000000), SCREEN_BAD);
	assert_int_equal(screen_lookup(&sc, "10.0.0.20", 1000000), SCREEN_GOOD);
	screen_free(&sc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
