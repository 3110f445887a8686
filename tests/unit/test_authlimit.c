/* test_authlimit.c - unit tests for lookup/authlimit.c: counting, windows, blocks, keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "lookup/authlimit.h"

static void
test_blocks_after_limit(void **state)
{
	struct authlimit a = { 0 };
	time_t t = 1000;

	for (int i = 0; i < 4; i++)
		assert_false(authlimit_failed(&a, "net:192.0.2.1", t + i, 5, 60));
	assert_false(authlimit_blocked(&a, "net:192.0.2.1", t + 4));
	assert_true(authlimit_failed(&a, "net:192.0.2.1", t + 4, 5, 60)); /* the fifth */
	assert_true(authlimit_blocked(&a, "net:192.0.2.1", t + 5));
	assert_true(authlimit_blocked(&a, "net:192.0.2.1", t + 4 + 59));
	assert_false(authlimit_blocked(&a, "net:192.0.2.1", t + 4 + 60)); /* served its time */
	assert_false(authlimit_blocked(&a, "net:192.0.2.2", t + 5));      /* others unaffected */
	authlimit_free(&a);
}

static void
test_window_forgets(void **state)
{
	struct authlimit a = { 0 };

	/* four failures, then a quiet window: counting starts again */
	for (int i = 0; i < 4; i++)
		authlimit_failed(&a, "user:a@b", 100, 5, 60);
	assert_false(authlimit_failed(&a, "user:a@b", 161, 5, 60));
	for (int i = 0; i < 3; i++)
		assert_false(authlimit_failed(&a, "user:a@b", 162, 5, 60));
	assert_true(authlimit_failed(&a, "user:a@b", 163, 5, 60));
	authlimit_free(&a);
}

static void
test_reset_and_expire(void **state)
{
	struct authlimit a = { 0 };

	authlimit_failed(&a, "user:a@b", 100, 2, 60);
	authlimit_reset(&a, "user:a@b");
	assert_false(authlimit_failed(&a, "user:a@b", 101, 2, 60));
	assert_true(authlimit_failed(&a, "net:x", 130, 1, 60)); /* blocked until 190 */
	assert_int_equal(authlimit_size(&a), 2);
	authlimit_expire(&a, 150, 60);
	assert_int_equal(authlimit_size(&a), 2); /* both still count or block */
	authlimit_expire(&a, 161, 60);
	assert_int_equal(authlimit_size(&a), 1); /* user:a@b's window is over */
	assert_true(authlimit_blocked(&a, "net:x", 189));
	authlimit_expire(&a, 200, 60);
	assert_int_equal(authlimit_size(&a), 0);
	authlimit_free(&a);
}

static void
test_client_keys(void **state)
{
	char k[96];

	authlimit_client_key("192.0.2.7", k, sizeof k);
	assert_string_equal(k, "net:192.0.2.7");
	/* every address of one /64 is one client */
	authlimit_client_key("2001:db8:1:2:aaaa:bbbb:cccc:dddd", k, sizeof k);
	assert_string_equal(k, "net:2001:db8:1:2::/64");
	authlimit_client_key("2001:db8:1:2::1", k, sizeof k);
	assert_string_equal(k, "net:2001:db8:1:2::/64");
	authlimit_client_key("2001:db8:1:3::1", k, sizeof k);
	assert_string_equal(k, "net:2001:db8:1:3::/64");
	authlimit_client_key("::1", k, sizeof k);
	assert_string_equal(k, "net:::/64");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blocks_after_limit),
		cmocka_unit_test(test_window_forgets),
		cmocka_unit_test(test_reset_and_expire),
		cmocka_unit_test(test_client_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
