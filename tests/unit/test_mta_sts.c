/*
 * test_mta_sts.c - unit tests for deliver/mta_sts.c: the _mta-sts TXT record (the
 * version first, the id of letters and digits, extensions, bad syntax), the policy
 * (each key, CRLF and LF, whitespace, unknown keys, what must be there, the size
 * cap, max_age capped) and the MX matcher (a wildcard stands for one label only).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "deliver/mta_sts.h"

static int
txt(const char *s, char id[STS_ID_MAX + 1])
{
	return sts_txt_parse(s, strlen(s), id);
}

static void
test_txt(void **state)
{
	char id[STS_ID_MAX + 1];

	assert_int_equal(txt("v=STSv1; id=20160831085700Z;", id), 1);
	assert_string_equal(id, "20160831085700Z");
	assert_int_equal(txt("v=STSv1;id=abc", id), 1);
	assert_string_equal(id, "abc");
	assert_int_equal(txt("v=STSv1 ; id=1 ; ext_1=va:lue ;", id), 1);
	assert_string_equal(id, "1");
	/* Not an STSv1 record at all: to be discarded among the others. */
	assert_int_equal(txt("v=spf1 -all", id), 0);
	assert_int_equal(txt("v=STSv10; id=1", id), 0);
	assert_int_equal(txt("id=1; v=STSv1", id), 0);
	/* STSv1 with bad syntax: the domain has no usable record. */
	assert_int_equal(txt("v=STSv1", id), -1);
	assert_int_equal(txt("v=STSv1;", id), -1);
	assert_int_equal(txt("v=STSv1; id=", id), -1);
	assert_int_equal(txt("v=STSv1; id=a-b", id), -1);
	assert_int_equal(txt("v=STSv1; id=1; id=2", id), -1);
	assert_int_equal(txt("v=STSv1; id=123456789012345678901234567890123", id), -1);
	assert_int_equal(txt("v=STSv1; id=12345678901234567890123456789012", id), 1);
	assert_int_equal(txt("v=STSv1; id=1; =x", id), -1);
	assert_int_equal(txt("v=STSv1; id=1; e=a=b", id), -1);
	assert_int_equal(txt("v=STSv1; id=1 x", id), -1);
}

static int
pol(const char *s, struct sts_policy *p)
{
	char why[128];
	return sts_policy_parse(s, strlen(s), p, why, sizeof why);
}

static void
test_policy(void **state)
{
	struct sts_policy p;

	assert_int_equal(pol("version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\n"
	    "mx: *.example.net\r\nmx: backupmx.example.com.\r\nmax_age: 604800\r\n", &p), 0);
	assert_int_equal(p.mode, STS_ENFORCE);
	assert_int_equal(p.max_age, 604800);
	assert_int_equal(p.nmx, 3);
	assert_string_equal(p.mx[1], "*.example.net");
	assert_string_equal(p.mx[2], "backupmx.example.com"); /* the final dot goes */
	/* LF alone, spaces and tabs, upper-case names, unknown keys, no final line end. */
	assert_int_equal(pol("version:STSv1\nmode:\ttesting  \nmx: MX.Example.COM\n"
	    "x-future: whatever it is\nmax_age: 86400", &p), 0);
	assert_int_equal(p.mode, STS_TESTING);
	assert_string_equal(p.mx[0], "mx.example.com");
	/* none needs no mx. */
	assert_int_equal(pol("version: STSv1\nmode: none\nmax_age: 1\n", &p), 0);
	assert_int_equal(p.mode, STS_NONE);
	/* A max_age over a year is a year; the first of two values counts. */
	assert_int_equal(pol("version: STSv1\nmode: testing\nmode: enforce\nmx: a.b\n"
	    "max_age: 9999999999\n", &p), 0);
	assert_int_equal(p.max_age, STS_MAX_AGE_MAX);
	assert_int_equal(p.mode, STS_TESTING);

	assert_int_equal(pol("mode: enforce\nmx: a.b\nmax_age: 1\n", &p), -1);
	assert_int_equal(pol("version: STSv2\nmode: enforce\nmx: a.b\nmax_age: 1\n", &p), -1);
	assert_int_equal(pol("version: STSv1\nmx: a.b\nmax_age: 1\n", &p), -1);
	assert_int_equal(pol("version: STSv1\nmode: Enforce\nmx: a.b\nmax_age: 1\n", &p), -1);
	assert_int_equal(pol("version: STSv1\nmode: enforce\nmx: a.b\n", &p), -1);
	assert_int_equal(pol("version: STSv1\nmode: enforce\nmx: a.b\nmax_age: -1\n", &p), -1);
	assert_int_equal(pol("version: STSv1\nmode: enforce\nmx: a.b\nmax_age: 12345678901\n",
	    &p), -1);
	assert_int_equal(pol("version: STSv1\nmode: enforce\nmax_age: 1\n", &p), -1);
	assert_int_equal(pol("version: STSv1\nmode: enforce\nmx: a..b\nmax_age: 1\n", &p), -1);
	assert_int_equal(pol("version: STSv1\nmode: enforce\nmx: *.*.b\nmax_age: 1\n", &p), -1);
	assert_int_equal(pol("version: STSv1\nmode: enforce\nmx: a b\nmax_age: 1\n", &p), -1);
	assert_int_equal(pol("version: STSv1\nno colon here\n", &p), -1);
	assert_int_equal(pol("", &p), -1);
	const char nul[] = "version: STSv1\nmode: none\0\nmax_age: 1\n";
	char why[128];
	assert_int_equal(sts_policy_parse(nul, sizeof nul - 1, &p, why, sizeof why), -1);
}

static void
test_policy_cap(void **state)
{
	size_t n = STS_POLICY_MAX + 1;
	char *big = malloc(n + 1), why[128];
	struct sts_policy p;
	const char head[] = "version: STSv1\nmode: none\nmax_age: 1\nx: ";

	assert_non_null(big);
	memset(big, 'x', n);
	memcpy(big, head, sizeof head - 1);
	big[n] = '\0';
	assert_int_equal(sts_policy_parse(big, n, &p, why, sizeof why), -1);
	assert_int_equal(sts_policy_parse(big, n - 1, &p, why, sizeof why), 0);
	free(big);
}

static void
test_match(void **state)
{
	assert_true(sts_mx_match("mail.example.com", "mail.example.com"));
	assert_true(sts_mx_match("mail.example.com", "MAIL.Example.com."));
	assert_false(sts_mx_match("mail.example.com", "mail.example.co"));
	assert_false(sts_mx_match("mail.example.com", "xmail.example.com"));
	/* One label for the star: not none, not two. */
	assert_true(sts_mx_match("*.example.net", "mx1.example.net"));
	assert_true(sts_mx_match("*.example.net", "MX1.EXAMPLE.NET."));
	assert_false(sts_mx_match("*.example.net", "example.net"));
	assert_false(sts_mx_match("*.example.net", "a.b.example.net"));
	assert_false(sts_mx_match("*.example.net", ".example.net"));
	assert_false(sts_mx_match("*.example.net", "mx1.example.org"));
	assert_false(sts_mx_match("", "a.b"));
	assert_false(sts_mx_match("a.b", ""));

	struct sts_policy p = { STS_ENFORCE, 1, { "mail.example.com", "*.example.net" }, 2 };
	assert_true(sts_host_allowed(&p, "mx9.example.net"));
	assert_true(sts_host_allowed(&p, "mail.example.com"));
	assert_false(sts_host_allowed(&p, "evil.example.com"));
	assert_string_equal(sts_mode_name(STS_TESTING), "testing");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_txt),
		cmocka_unit_test(test_policy),
		cmocka_unit_test(test_policy_cap),
		cmocka_unit_test(test_match),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
