/*
 * test_auth_results.c - unit tests for auth_results.c: the field as RFC 8601 2.2
 * shapes it (every method, dkim=none without signatures, header.b's 8 characters),
 * values a sender chose quoted and cleaned so that they cannot break the field, and
 * the removal of fields that name our host (any case, after comments) but no others.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "inbound/auth_results.h"

static char *
built(const struct ar_input *in)
{
	static struct buf out;

	buf_reset(&out);
	assert_int_equal(ar_build(in, &out), 0);
	assert_int_equal(buf_putc(&out, '\0'), 0);
	return out.data;
}

static void
test_all_methods(void **state)
{
	struct ar_dkim k[2] = {
		{ "pass", "example.com", "sel", "abcdefghijkl", "ed25519-sha256", NULL },
		{ "fail", "example.com", "rsa", "AB CD\n\tEFGHIJ", "rsa-sha256", "body hash mismatch" },
	};
	struct ar_input in = { "mx.example.test", "pass", "a@example.com", "h.example.com", NULL,
		k, 2, "pass", "example.com", NULL, NULL, NULL, NULL, NULL };
	assert_string_equal(built(&in),
	    "Authentication-Results: mx.example.test;\n"
	    "\tspf=pass smtp.mailfrom=a@example.com;\n"
	    "\tdkim=pass header.d=example.com header.s=sel header.a=ed25519-sha256 header.b=abcdefgh;\n"
	    "\tdkim=fail (body hash mismatch) header.d=example.com header.s=rsa header.a=rsa-sha256"
	    " header.b=ABCDEFGH;\n"
	    "\tdmarc=pass header.from=example.com\n");
}

static void
test_none_and_helo(void **state)
{
	struct ar_input in = { "mx.example.test", "softfail", NULL, "client.example", "x", NULL, 0,
		"fail", "bank.example", "reject", NULL, NULL, NULL, NULL };
	assert_string_equal(built(&in),
	    "Authentication-Results: mx.example.test;\n"
	    "\tspf=softfail (x) smtp.helo=client.example;\n"
	    "\tdkim=none;\n"
	    "\tdmarc=fail policy.dmarc=reject header.from=bank.example\n");
	struct buf p = { 0 };
	assert_int_equal(ar_payload(&in, &p), 0);
	assert_int_equal(buf_putc(&p, '\0'), 0);
	assert_string_equal(p.data, "mx.example.test; spf=softfail (x) smtp.helo=client.example; "
	    "dkim=none; dmarc=fail policy.dmarc=reject header.from=bank.example");
	buf_free(&p);
}

static void
test_hostile_values(void **state)
{
	struct ar_input in = { "mx.example.test", "fail", "\"a;b\"@x\r\nInjected: y",
		NULL, "evil) (comment\n", NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL };
	const char *out = built(&in);
	assert_null(strstr(out, "\r"));
	assert_null(strstr(out, "\nInjected"));
	assert_non_null(strstr(out, "smtp.mailfrom=\"\\\"a;b\\\"@x??Injected: y\""));
	assert_non_null(strstr(out, "(evil? ?comment?)"));
}

/* RFC 8617 7.1's "arc" method: the result, a comment, smtp.remote-ip. */
static void
test_arc(void **state)
{
	struct ar_input in = { "mx.example.test", NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL,
		NULL, NULL, "pass", "i=2", "192.0.2.1" };
	assert_string_equal(built(&in),
	    "Authentication-Results: mx.example.test;\n"
	    "\tdkim=none;\n"
	    "\tarc=pass (i=2) smtp.remote-ip=192.0.2.1\n");
	in.arc = "fail";
	in.arc_reason = "ARC-Seal i=1 (x): bad";
	in.arc_ip = NULL;
	assert_non_null(strstr(built(&in), "\tarc=fail (ARC-Seal i=1 ?x?: bad)\n"));
}

static void
expect_strip(const char *in, const char *want, unsigned want_removed)
{
	char buf[1024];
	unsigned removed;

	strcpy(buf, in);
	size_t n = ar_strip(buf, strlen(buf), "mx.example.test", &removed);
	buf[n] = '\0';
	assert_string_equal(buf, want);
	assert_int_equal(removed, want_removed);
}

static void
test_strip(void **state)
{
	expect_strip("From: a\nAuthentication-Results: mx.example.test; spf=pass\nTo: b\n",
	    "From: a\nTo: b\n", 1);
	expect_strip("Authentication-Results: MX.EXAMPLE.TEST;\n\tdkim=pass\nX: 1\n", "X: 1\n", 1);
	expect_strip("Authentication-Results: (c) mx.example.test 1; none\n", "", 1);
	expect_strip("Authentication-Results: other.example; spf=pass\n",
	    "Authentication-Results: other.example; spf=pass\n", 0);
	expect_strip("Authentication-Results: mx.example.test.evil; spf=pass\n",
	    "Authentication-Results: mx.example.test.evil; spf=pass\n", 0);
	expect_strip("A: 1\nauthentication-results: mx.example.test; x\nB: 2\n"
	    "Authentication-Results: mx.example.test;y\n", "A: 1\nB: 2\n", 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_methods),
		cmocka_unit_test(test_none_and_helo),
		cmocka_unit_test(test_hostile_values),
		cmocka_unit_test(test_arc),
		cmocka_unit_test(test_strip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
