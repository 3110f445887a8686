/*
 * test_dmarc_from.c - unit tests for dmarc_from.c: the Author Domain from a From
 * field (display names, quoted strings with '@' and ',', comments, groups, the
 * obsolete route), and what makes a message not DMARC-evaluable: no From, two
 * From fields, no address, addresses of different domains, address literals,
 * non-ASCII domains, malformed fields.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dmarc/dmarc_from.h"

static char dom[256], why[256];

static int
from(const char *v)
{
	size_t n = strlen(v);
	char *c = malloc(n ? n : 1);
	assert_non_null(c);
	memcpy(c, v, n);
	int rc = dmarc_from_value(c, n, dom, sizeof dom, why, sizeof why);
	free(c);
	return rc;
}

static int
header(const char *h)
{
	size_t n = strlen(h);
	char *c = malloc(n ? n : 1);
	assert_non_null(c);
	memcpy(c, h, n);
	int rc = dmarc_from_header(c, n, dom, sizeof dom, why, sizeof why);
	free(c);
	return rc;
}

static void
test_forms(void **state)
{
	assert_int_equal(from(" user@Example.COM"), 1);
	assert_string_equal(dom, "example.com");
	assert_int_equal(from(" Joe User <joe@mail.example.org>\r\n"), 1);
	assert_string_equal(dom, "mail.example.org");
	assert_int_equal(from(" \"Doe, John @ Work\" <jd@example.net>"), 1);
	assert_string_equal(dom, "example.net");
	assert_int_equal(from(" \"a@b\"@example.com"), 1);
	assert_string_equal(dom, "example.com");
	assert_int_equal(from(" (comment, with @other.example) user@example.com (x)"), 1);
	assert_string_equal(dom, "example.com");
	assert_int_equal(from(" user@(nested (comment)) example.com"), 1);
	assert_string_equal(dom, "example.com");
	assert_int_equal(from(" =?utf-8?q?J=C3=B6rg?=\r\n <j@example.de>"), 1);
	assert_string_equal(dom, "example.de");
	assert_int_equal(from(" <@relay.example:user@example.com>"), 1);
	assert_string_equal(dom, "example.com");
	assert_int_equal(from(" Team: a@example.com, b@example.com;"), 2);
	assert_string_equal(dom, "example.com");
	assert_int_equal(from(" user@example.com."), 1);
	assert_string_equal(dom, "example.com");
	assert_int_equal(from(" \"quoted\\\"quote\" <q@example.com>"), 1);
	assert_string_equal(dom, "example.com");
}

static void
test_two_addresses(void **state)
{
	/* One Author Domain for both: still evaluable (RFC 9989: domains count). */
	assert_int_equal(from(" a@example.com, B <b@EXAMPLE.com>"), 2);
	assert_string_equal(dom, "example.com");
	/* Two domains: not evaluable. */
	assert_int_equal(from(" a@example.com, b@example.net"), -1);
	assert_non_null(strstr(why, "different domains"));
	assert_non_null(strstr(why, "example.net"));
	assert_int_equal(from(" Friends: a@example.com;, <b@evil.example>"), -1);
}

static void
test_not_evaluable(void **state)
{
	assert_int_equal(from(""), -1);
	assert_non_null(strstr(why, "no address"));
	assert_int_equal(from(" undisclosed-recipients:;"), -1);
	assert_int_equal(from(" Just A Name"), -1);
	assert_int_equal(from(" <>"), -1);
	assert_int_equal(from(" user@"), -1);
	assert_int_equal(from(" @example.com"), -1);
	assert_int_equal(from(" user@[192.0.2.1]"), -1);
	assert_non_null(strstr(why, "literal"));
	assert_int_equal(from(" user@b\xc3\xbc" "cher.example"), -1);
	assert_non_null(strstr(why, "non-ASCII"));
	assert_int_equal(from(" user@exa mple.com"), -1);
	assert_int_equal(from(" user@example..com"), -1);
	assert_int_equal(from(" user@example . com"), 1); /* obs-domain: CFWS around dots */
	assert_int_equal(from(" user@example.com (unclosed"), -1);
	assert_int_equal(from(" \"unclosed@example.com"), -1);
	assert_int_equal(from(" <user@example.com"), -1);
	assert_int_equal(from(" <user@example.com> trailing"), -1);
	assert_int_equal(from(" user@ex!ample.com"), -1);
}

static void
test_header(void **state)
{
	assert_int_equal(header("Subject: hi\r\nFrom: A <a@example.com>\r\nTo: b@example.net\r\n"), 1);
	assert_string_equal(dom, "example.com");
	assert_int_equal(header("FROM:\r\n\ta@example.com\r\n"), 1);
	assert_string_equal(dom, "example.com");
	assert_int_equal(header("Subject: hi\r\nTo: b@example.net\r\n"), -1);
	assert_string_equal(why, "no From field");
	assert_int_equal(header("From: a@example.com\r\nFrom: a@example.com\r\n"), -1);
	assert_string_equal(why, "2 From fields");
	/* A Resent-From or Sender does not count. */
	assert_int_equal(header("Sender: s@example.net\r\nResent-From: r@example.org\r\n"
	    "From: a@example.com\n"), 1);
	assert_string_equal(dom, "example.com");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forms),
		cmocka_unit_test(test_two_addresses),
		cmocka_unit_test(test_not_evaluable),
		cmocka_unit_test(test_header),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
