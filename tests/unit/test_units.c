/* test_units.c - unit tests for units.c: sizes (K, M, G) and durations (s, m, h, d), ages and UTC times shown. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "util/units.h"

static void
expect_size(const char *s, uint64_t want)
{
	uint64_t v = 0xdeadbeef;

	if (parse_size(s, &v) != 0)
		fail_msg("expected size \"%s\" to parse", s);
	assert_int_equal(v, want);
}

static void
expect_bad_size(const char *s)
{
	uint64_t v = 42;

	if (parse_size(s, &v) == 0)
		fail_msg("expected size \"%s\" to be refused, got %llu", s, (unsigned long long)v);
	assert_int_equal(v, 42); /* untouched on failure */
}

static void
expect_duration(const char *s, uint64_t want)
{
	uint64_t v = 0xdeadbeef;

	if (parse_duration(s, &v) != 0)
		fail_msg("expected duration \"%s\" to parse", s);
	assert_int_equal(v, want);
}

static void
expect_bad_duration(const char *s)
{
	uint64_t v = 42;

	if (parse_duration(s, &v) == 0)
		fail_msg("expected duration \"%s\" to be refused, got %llu", s,
		    (unsigned long long)v);
	assert_int_equal(v, 42);
}

static void
test_size_suffixes(void **state)
{
	expect_size("1K", 1024);
	expect_size("1k", 1024);
	expect_size("25M", 26214400);
	expect_size("25m", 26214400);
	expect_size("2G", 2147483648ull);
	expect_size("16G", 16ull << 30);
}

static void
test_size_bare(void **state)
{
	expect_size("0", 0);
	expect_size("1", 1);
	expect_size("1000", 1000);
	expect_size("007", 7);
	expect_size("18446744073709551615", UINT64_MAX);
}

static void
test_size_overflow(void **state)
{
	expect_bad_size("18446744073709551616");
	expect_bad_size("99999999999999999999999");
	expect_bad_size("17179869184G"); /* 2^34 * 2^30 = 2^64 */
	expect_size("17179869183G", 17179869183ull << 30);
	expect_bad_size("17592186044416M"); /* 2^44 * 2^20 */
	expect_size("17592186044415M", 17592186044415ull << 20);
}

static void
test_size_garbage(void **state)
{
	expect_bad_size("");
	expect_bad_size("M");
	expect_bad_size("-1");
	expect_bad_size("+1");
	expect_bad_size(" 1");
	expect_bad_size("1 ");
	expect_bad_size("1MB");
	expect_bad_size("1T");
	expect_bad_size("1.5M");
	expect_bad_size("1s");
	expect_bad_size("0x10");
	expect_bad_size("abc");
	uint64_t v;
	assert_int_equal(parse_size(NULL, &v), -1);
}

static void
test_duration_suffixes(void **state)
{
	expect_duration("30s", 30);
	expect_duration("30S", 30);
	expect_duration("5m", 300);
	expect_duration("4h", 14400);
	expect_duration("5d", 432000);
	expect_duration("0s", 0);
}

static void
test_duration_bare(void **state)
{
	expect_duration("0", 0);
	expect_duration("90", 90);
	expect_duration("18446744073709551615", UINT64_MAX);
}

static void
test_duration_overflow(void **state)
{
	expect_bad_duration("18446744073709551616");
	expect_bad_duration("213503982334602d"); /* * 86400 > 2^64 */
	expect_duration("213503982334601d", 213503982334601ull * 86400);
	expect_bad_duration("307445734561825861m");
}

static void
test_duration_garbage(void **state)
{
	expect_bad_duration("");
	expect_bad_duration("m");
	expect_bad_duration("-5m");
	expect_bad_duration("5 m");
	expect_bad_duration("5min");
	expect_bad_duration("1w");
	expect_bad_duration("1.5h");
	expect_bad_duration("5K");
	expect_bad_duration("1h30m");
	uint64_t v;
	assert_int_equal(parse_duration(NULL, &v), -1);
}

static void
expect_age(int64_t secs, const char *want)
{
	char out[32];

	format_age(out, sizeof out, secs);
	assert_string_equal(out, want);
}

static void
test_format_age(void **state)
{
	expect_age(-5, "0s");
	expect_age(0, "0s");
	expect_age(59, "59s");
	expect_age(60, "1m");
	expect_age(3599, "59m");
	expect_age(3600, "1h00m");
	expect_age(3 * 3600 + 5 * 60 + 9, "3h05m");
	expect_age(86400, "1d00h");
	expect_age(2 * 86400 + 4 * 3600 + 59, "2d04h");
	char small[4];
	format_age(small, sizeof small, 12345);
	assert_int_equal(strlen(small), 3); /* cut, still a string */
}

static void
test_format_utc(void **state)
{
	char out[32];

	format_utc(out, sizeof out, 0);
	assert_string_equal(out, "1970-01-01T00:00:00Z");
	format_utc(out, sizeof out, 1800000000);
	assert_string_equal(out, "2027-01-15T08:00:00Z");
	/* Too small for the date: the number. */
	char small[12];
	format_utc(small, sizeof small, 1800000000);
	assert_string_equal(small, "1800000000");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_size_suffixes),
		cmocka_unit_test(test_size_bare),
		cmocka_unit_test(test_size_overflow),
		cmocka_unit_test(test_size_garbage),
		cmocka_unit_test(test_duration_suffixes),
		cmocka_unit_test(test_duration_bare),
		cmocka_unit_test(test_duration_overflow),
		cmocka_unit_test(test_duration_garbage),
		cmocka_unit_test(test_format_age),
		cmocka_unit_test(test_format_utc),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
