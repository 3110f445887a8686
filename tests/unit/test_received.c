/*
 * test_received.c - unit tests for received.c: the RFC 5321 4.4 form of our
 * Received header, a HELO that cannot forge our comments, escaped client text.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "smtp/received.h"

#define DATE "Tue, 01 Dec 2026 12:00:00 +0000"

static void
expect_received(const struct received_info *ri, const char *want)
{
	struct buf h = { 0 };

	assert_int_equal(received_format(&h, ri), 0);
	if (h.data == NULL || strcmp(h.data, want) != 0)
		fail_msg("got:\n%s\nwant:\n%s", h.data ? h.data : "(null)", want);
	buf_free(&h);
}

static struct received_info
info(const char *helo, const char *ip)
{
	return (struct received_info){ .helo = helo, .ip = ip, .host = "mx.example.test",
		.proto = "ESMTP", .id = "0123456789ABCDEF", .date = DATE };
}

static void
test_helo_valid(void **state)
{
	(void)state;
	assert_true(helo_valid("client.example.test"));
	assert_true(helo_valid("localhost"));
	assert_true(helo_valid("[192.0.2.1]"));
	assert_true(helo_valid("[IPv6:2001:db8::1]"));
	assert_false(helo_valid(NULL));
	assert_false(helo_valid(""));
	assert_false(helo_valid("bad_name"));
	assert_false(helo_valid("evil (authenticated sender: boss@example.test)"));
	assert_false(helo_valid("a.b)"));
	assert_true(helo_valid("192.0.2.1")); /* digit labels are a domain in RFC 5321 syntax */
	assert_false(helo_valid("[999.0.0.1]"));
}

static void
test_valid_helo(void **state)
{
	(void)state;
	struct received_info ri = info("client.example.test", "192.0.2.1");
	expect_received(&ri, "Received: from client.example.test ([192.0.2.1])\n"
	    "\tby mx.example.test (mailroom) with ESMTP id 0123456789ABCDEF; " DATE "\n");
	ri = info("[192.0.2.1]", "2001:db8::1");
	expect_received(&ri, "Received: from [192.0.2.1] ([IPv6:2001:db8::1])\n"
	    "\tby mx.example.test (mailroom) with ESMTP id 0123456789ABCDEF; " DATE "\n");
	ri = info(NULL, "192.0.2.1");
	expect_received(&ri, "Received: from unknown ([192.0.2.1])\n"
	    "\tby mx.example.test (mailroom) with ESMTP id 0123456789ABCDEF; " DATE "\n");
}

static void
test_forged_comment(void **state)
{
	(void)state;
	struct received_info ri = info("evil (authenticated sender: boss@example.test)",
	    "192.0.2.1");
	expect_received(&ri,
	    "Received: from unknown (HELO evil \\(authenticated sender: boss@example.test\\))"
	    " ([192.0.2.1])\n"
	    "\tby mx.example.test (mailroom) with ESMTP id 0123456789ABCDEF; " DATE "\n");
	ri = info("x) ([10.0.0.1]) by trusted.example (", "192.0.2.1");
	expect_received(&ri,
	    "Received: from unknown (HELO x\\) \\([10.0.0.1]\\) by trusted.example \\()"
	    " ([192.0.2.1])\n"
	    "\tby mx.example.test (mailroom) with ESMTP id 0123456789ABCDEF; " DATE "\n");
	ri = info("a\\b\x1b\xe2\x80\xae", "192.0.2.1");
	expect_received(&ri,
	    "Received: from unknown (HELO a\\\\b\\x1b\\u202e) ([192.0.2.1])\n"
	    "\tby mx.example.test (mailroom) with ESMTP id 0123456789ABCDEF; " DATE "\n");
}

static void
test_login_and_rcpt(void **state)
{
	(void)state;
	struct received_info ri = info("client.example.test", "192.0.2.1");
	ri.login = "\"a)b\"@example.test";
	ri.proto = "ESMTPSA";
	ri.rcpt = "x\xe2\x80\xae" "y@example.test";
	expect_received(&ri, "Received: from client.example.test ([192.0.2.1])\n"
	    "\t(authenticated sender: \"a\\)b\"@example.test)\n"
	    "\tby mx.example.test (mailroom) with ESMTPSA id 0123456789ABCDEF\n"
	    "\tfor <x\\u202ey@example.test>; " DATE "\n");
	ri.rcpt = "caf\xc3\xa9@example.test"; /* UTF-8 stays */
	ri.login = NULL;
	expect_received(&ri, "Received: from client.example.test ([192.0.2.1])\n"
	    "\tby mx.example.test (mailroom) with ESMTPSA id 0123456789ABCDEF\n"
	    "\tfor <caf\xc3\xa9@example.test>; " DATE "\n");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_helo_valid),
		cmocka_unit_test(test_valid_helo),
		cmocka_unit_test(test_forged_comment),
		cmocka_unit_test(test_login_and_rcpt),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
