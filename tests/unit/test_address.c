/* test_address.c - unit tests for address.c: mailboxes, paths, canonical form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "address.h"

/*
 * parse - address_parse on an exact-size heap copy without a NUL, so that ASan
 * reports any read past len.
 */
static int
parse_n(const char *s, size_t len, struct mailbox *mb, unsigned flags)
{
	char *copy = malloc(len ? len : 1);
	assert_non_null(copy);
	memcpy(copy, s, len);
	int rc = address_parse(copy, len, mb, flags);
	free(copy);
	return rc;
}

static int
parse(const char *s, struct mailbox *mb, unsigned flags)
{
	return parse_n(s, strlen(s), mb, flags);
}

static int
parse_path(const char *s, struct mailbox *mb, bool null_ok, bool *is_null, size_t *consumed,
    unsigned flags)
{
	size_t len = strlen(s);
	char *copy = malloc(len ? len : 1);
	assert_non_null(copy);
	memcpy(copy, s, len);
	int rc = address_parse_path(copy, len, mb, null_ok, is_null, consumed, flags);
	free(copy);
	return rc;
}

static void
expect_ok(const char *s, unsigned flags, const char *local, const char *domain)
{
	struct mailbox mb;

	if (parse(s, &mb, flags) != 0)
		fail_msg("expected \"%s\" to parse", s);
	assert_string_equal(mb.local, local);
	assert_string_equal(mb.domain, domain);
}

static void
expect_bad(const char *s, unsigned flags)
{
	struct mailbox mb;

	if (parse(s, &mb, flags) != -1)
		fail_msg("expected \"%s\" to be refused", s);
}

static char *
repeat(char c, size_t n)
{
	char *s = malloc(n + 1);
	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static void
test_simple(void **state)
{
	(void)state;
	expect_ok("user@example.com", 0, "user", "example.com");
	expect_ok("User.Name@EXAMPLE.Com", 0, "User.Name", "example.com");
	expect_ok("a@b", 0, "a", "b");
	expect_ok("root@localhost", 0, "root", "localhost");
	expect_ok("user+tag@example.com", 0, "user+tag", "example.com");
	expect_ok("!#$%&'*+-/=?^_`{|}~@x.y", 0, "!#$%&'*+-/=?^_`{|}~", "x.y");
	expect_ok("a.b.c@x-y.z0", 0, "a.b.c", "x-y.z0");
	expect_ok("x@xn--bcher-kva.example", 0, "x", "xn--bcher-kva.example");
	expect_ok("x@123.example", 0, "x", "123.example");
}

static void
test_malformed(void **state)
{
	(void)state;
	const char *bad[] = {
		"", "@", "user", "user@", "@example.com", ".user@x", "user.@x", "us..er@x",
		"us er@x", "user@x..y", "user@.x", "user@x.", "user@-x.com", "user@x-.com",
		"user@a.-b", "user@a.b-", "user@x_y.com", "a@b@c", "user@exa mple.com",
		"user@[192.0.2.1", "user@192.0.2.1]", "<user@x>", "user@x>", "us(er)@x",
		"us\\er@x", "a,b@x", "user@x.com ", " user@x.com", "user@x\r",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		expect_bad(bad[i], 0);
		expect_bad(bad[i], ADDR_UTF8);
	}
}

static void
test_embedded_nul_and_len(void **state)
{
	struct mailbox mb;

	(void)state;
	assert_int_equal(parse_n("a@b\0c", 5, &mb, 0), -1);
	assert_int_equal(parse_n("a\0@b", 4, &mb, 0), -1);
	assert_int_equal(parse_n("a@[1.2.3.4\0]", 12, &mb, 0), -1);
	assert_int_equal(parse_n("\"a\0\"@b", 6, &mb, 0), -1);
	/* only len octets count */
	assert_int_equal(parse_n("user@example.comX", 16, &mb, 0), 0);
	assert_string_equal(mb.domain, "example.com");
	assert_int_equal(parse_n("user@example.com", 5, &mb, 0), -1);
}

static void
test_quoted(void **state)
{
	(void)state;
	expect_ok("\"john doe\"@example.com", 0, "\"john doe\"", "example.com");
	expect_ok("\"a@b\"@x", 0, "\"a@b\"", "x");
	expect_ok("\"a\\\"b\"@x", 0, "\"a\\\"b\"", "x");
	expect_ok("\"a\\\\b\"@x", 0, "\"a\\\\b\"", "x");
	expect_ok("\"user\"@x", 0, "\"user\"", "x");
	expect_ok("\"a>b\"@x", 0, "\"a>b\"", "x");
	expect_bad("\"\"@x", 0);            /* empty mailbox name */
	expect_bad("\"abc@x", 0);           /* unterminated */
	expect_bad("\"ab\"c@x", 0);         /* text after the quote */
	expect_bad("a\"b\"@x", 0);
	expect_bad("\"a\x01\"@x", 0);       /* control octet */
	expect_bad("\"a\\\x01\"@x", 0);     /* quoted control octet */
	expect_bad("\"a\x7f\"@x", 0);
	expect_bad("\"a\\", 0);
	expect_bad("\"a\"", 0);
}

static void
test_lengths(void **state)
{
	char buf[600];
	char *l64 = repeat('l', 64), *l65 = repeat('l', 65);
	char *a63 = repeat('a', 63), *a64 = repeat('a', 64), *b62 = repeat('b', 62);

	(void)state;
	snprintf(buf, sizeof buf, "%s@x", l64);
	expect_ok(buf, 0, l64, "x");
	snprintf(buf, sizeof buf, "%s@x", l65);
	expect_bad(buf, 0);
	/* a quoted local part counts with its quotes */
	snprintf(buf, sizeof buf, "\"%.62s\"@x", l64);
	{
		struct mailbox mb;
		assert_int_equal(parse(buf, &mb, 0), 0);
		assert_int_equal(strlen(mb.local), 64);
	}
	snprintf(buf, sizeof buf, "\"%.63s\"@x", l64);
	expect_bad(buf, 0);

	snprintf(buf, sizeof buf, "u@%s.com", a63);
	{
		struct mailbox mb;
		assert_int_equal(parse(buf, &mb, 0), 0);
	}
	snprintf(buf, sizeof buf, "u@%s.com", a64);
	expect_bad(buf, 0);
	/* 4 labels of 63 and 3 dots: 255 octets, the maximum */
	snprintf(buf, sizeof buf, "u@%s.%s.%s.%s", a63, a63, a63, a63);
	{
		struct mailbox mb;
		assert_int_equal(parse(buf, &mb, 0), 0);
		assert_int_equal(strlen(mb.domain), 255);
	}
	snprintf(buf, sizeof buf, "u@%s.%s.%s.%s.e", a63, a63, a63, b62);
	expect_bad(buf, 0);
	free(l64);
	free(l65);
	free(a63);
	free(a64);
	free(b62);
}

static void
test_literals(void **state)
{
	(void)state;
	expect_ok("u@[192.0.2.1]", 0, "u", "[192.0.2.1]");
	expect_ok("u@[IPv6:2001:db8::1]", 0, "u", "[IPv6:2001:db8::1]");
	expect_ok("u@[ipv6:2001:DB8::1]", 0, "u", "[IPv6:2001:db8::1]");
	expect_ok("u@[IPv6:::1]", 0, "u", "[IPv6:::1]");
	expect_ok("u@[IPv6:::ffff:192.0.2.1]", 0, "u", "[IPv6:::ffff:192.0.2.1]");
	const char *bad[] = {
		"u@[]", "u@[192.0.2.256]", "u@[192.0.2]", "u@[192.0.2.1.5]", "u@[2001:db8::1]",
		"u@[IPv6:192.0.2.1]", "u@[IPv6:zz::1]", "u@[IPv6:]", "u@[tag:foo]",
		"u@[ 192.0.2.1]", "u@[192.0.2.1]x", "u@x[192.0.2.1]", "u@[[192.0.2.1]]",
		"u@[IPv6:1:2:3:4:5:6:7:8:9]",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		expect_bad(bad[i], 0);
}

static void
test_utf8(void **state)
{
	(void)state;
	expect_bad("j\xc3\xb6rg@example.com", 0);
	expect_ok("j\xc3\xb6rg@example.com", ADDR_UTF8, "j\xc3\xb6rg", "example.com");
	expect_bad("u@b\xc3\xbc" "cher.example", 0);
	expect_ok("u@b\xc3\xbc" "cher.example", ADDR_UTF8, "u", "b\xc3\xbc" "cher.example");
	/* only ASCII letters are lower-cased */
	expect_ok("u@B\xc3\x9c" "CHER.Example", ADDR_UTF8, "u", "b\xc3\x9c" "cher.example");
	expect_ok("\"j \xc3\xb6\"@x", ADDR_UTF8, "\"j \xc3\xb6\"", "x");
	expect_bad("\"j \xc3\xb6\"@x", 0);
	expect_ok("\xe2\x82\xac@x", ADDR_UTF8, "\xe2\x82\xac", "x");             /* U+20AC */
	expect_ok("\xf0\x9f\x93\xa7@x", ADDR_UTF8, "\xf0\x9f\x93\xa7", "x");     /* U+1F4E7 */
	expect_ok("\xf4\x8f\xbf\xbf@x", ADDR_UTF8, "\xf4\x8f\xbf\xbf", "x");     /* U+10FFFF */
	const char *bad[] = {
		"\xc3@x",                 /* truncated */
		"\xc3\xc3@x",
		"\xc0\xaf@x",             /* overlong */
		"\xc1\xbf@x",
		"\xe0\x80\xaf@x",
		"\xf0\x80\x80\xaf@x",
		"\xed\xa0\x80@x",         /* surrogate */
		"\xf4\x90\x80\x80@x",     /* above U+10FFFF */
		"\xf5\x80\x80\x80@x",
		"\xff@x", "\x80@x", "\xbf@x",
		"u@\xc3",
		"u@a\xe2\x82",
		"\"\xc3\"@x",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		expect_bad(bad[i], ADDR_UTF8);
	/* a truncated sequence at the very end of the input is not read past */
	struct mailbox mb;
	assert_int_equal(parse_n("u@a\xf0\x9f", 5, &mb, ADDR_UTF8), -1);
}

static void
test_path(void **state)
{
	struct mailbox mb;
	bool is_null = true;
	size_t used = 0;

	(void)state;
	assert_int_equal(parse_path("<user@Example.com>", &mb, false, &is_null, &used, 0), 0);
	assert_false(is_null);
	assert_int_equal(used, 18);
	assert_string_equal(mb.local, "user");
	assert_string_equal(mb.domain, "example.com");

	assert_int_equal(parse_path("<user@x> SIZE=10", &mb, false, &is_null, &used, 0), 0);
	assert_int_equal(used, 8);

	assert_int_equal(parse_path("<>", &mb, true, &is_null, &used, 0), 0);
	assert_true(is_null);
	assert_int_equal(used, 2);
	assert_string_equal(mb.local, "");
	assert_string_equal(mb.domain, "");
	assert_int_equal(parse_path("<> BODY=8BITMIME", &mb, true, &is_null, &used, 0), 0);
	assert_int_equal(used, 2);
	assert_int_equal(parse_path("<>", &mb, false, &is_null, &used, 0), -1);

	assert_int_equal(parse_path("<@a,@b.c:user@x.y>", &mb, false, &is_null, &used, 0), 0);
	assert_string_equal(mb.local, "user");
	assert_string_equal(mb.domain, "x.y");
	assert_int_equal(used, 18);
	assert_int_equal(parse_path("<@a:user@x>", &mb, false, &is_null, &used, 0), 0);
	assert_string_equal(mb.local, "user");

	assert_int_equal(parse_path("<\"a>b\"@x>", &mb, false, &is_null, &used, 0), 0);
	assert_string_equal(mb.local, "\"a>b\"");
	assert_int_equal(used, 9);

	const char *bad[] = {
		"", "<", ">", "user@x", "<user@x", "user@x>", "<user>", "< user@x>", "<user@x >",
		"<@a,b:user@x>", "<@:user@x>", "<@a,@b user@x>", "<@a,@b:>", "<@a@b:u@x>",
		"<@-a:u@x>", "<@a,:u@x>", "<@a,@:u@x>", "<@a>", "<@a:>", "<\"abc>", "<<u@x>>",
		"<@[1.2.3.4]:u@x>",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (parse_path(bad[i], &mb, true, &is_null, &used, 0) != -1)
			fail_msg("expected path \"%s\" to be refused", bad[i]);
	}
	assert_int_equal(parse_path("<j\xc3\xb6rg@x>", &mb, false, &is_null, &used, 0), -1);
	assert_int_equal(parse_path("<j\xc3\xb6rg@x>", &mb, false, &is_null, &used, ADDR_UTF8), 0);
}

static void
test_format(void **state)
{
	struct mailbox mb = { .local = "user", .domain = "example.com" };
	char out[ADDR_MAX + 1];

	(void)state;
	address_format(&mb, out, sizeof out);
	assert_string_equal(out, "user@example.com");
	strcpy(mb.local, "postmaster");
	mb.domain[0] = '\0';
	address_format(&mb, out, sizeof out);
	assert_string_equal(out, "postmaster");
	strcpy(mb.local, "\"a b\"");
	strcpy(mb.domain, "[192.0.2.1]");
	address_format(&mb, out, sizeof out);
	assert_string_equal(out, "\"a b\"@[192.0.2.1]");
	/* truncated, but terminated */
	char small[5];
	strcpy(mb.local, "user");
	strcpy(mb.domain, "x");
	address_format(&mb, small, sizeof small);
	assert_string_equal(small, "user");
}

static void
expect_canon(const char *in, bool strip, const char *want)
{
	char out[ADDR_MAX + 1];

	if (address_canonical(in, out, sizeof out, strip) != 0)
		fail_msg("expected \"%s\" to be canonicalised", in);
	assert_string_equal(out, want);
}

static void
test_canonical(void **state)
{
	char out[ADDR_MAX + 1];

	(void)state;
	expect_canon("User+Tag@Example.COM", true, "user@example.com");
	expect_canon("User+Tag@Example.COM", false, "user+tag@example.com");
	expect_canon("user@example.com", true, "user@example.com");
	expect_canon("user+a+b@x", true, "user@x");
	expect_canon("user+@x", true, "user@x");
	expect_canon("+tag@x", true, "+tag@x");
	expect_canon("+tag+more@x", true, "+tag@x");
	expect_canon("a.+b@x", true, "a.+b@x");
	expect_canon("a.b+c@x", true, "a.b@x");
	expect_canon("\"User\"@X", true, "user@x");
	expect_canon("\"u+t\"@x", true, "u@x");
	expect_canon("\"a b+c\"@x", true, "\"a b+c\"@x");
	expect_canon("\"A\\\"B\"@x", false, "\"a\\\"b\"@x");
	expect_canon("J\xc3\x96rg@X.com", true, "j\xc3\x96rg@x.com");
	expect_canon("u@[IPv6:2001:DB8::1]", true, "u@[IPv6:2001:db8::1]");
	assert_int_equal(address_canonical("nope", out, sizeof out, true), -1);
	assert_int_equal(address_canonical("a@b@c", out, sizeof out, true), -1);
	assert_int_equal(address_canonical("", out, sizeof out, false), -1);
	assert_int_equal(address_canonical("user@example.com", out, 10, false), -1);
	assert_int_equal(address_canonical("user@example.com", out, 17, false), 0);
}

static void
test_domain(void **state)
{
	(void)state;
	assert_string_equal(address_domain("a@b"), "b");
	assert_string_equal(address_domain("\"a@b\"@c"), "c");
	assert_string_equal(address_domain("a@"), "");
	assert_null(address_domain("postmaster"));

	assert_true(domain_valid("example.com"));
	assert_true(domain_valid("localhost"));
	assert_true(domain_valid("a-b.c"));
	assert_true(domain_valid("EXAMPLE.test"));
	assert_true(domain_valid("xn--bcher-kva.example"));
	const char *bad[] = {
		"", ".", "-a.com", "a-.com", "a..b", "a.", ".a", "a_b", "[192.0.2.1]",
		"b\xc3\xbc" "cher.de", "a b", "a@b",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (domain_valid(bad[i]))
			fail_msg("expected domain \"%s\" to be invalid", bad[i]);
	}
	char *a63 = repeat('a', 63), *a64 = repeat('a', 64);
	char buf[600];
	assert_true(domain_valid(a63));
	assert_false(domain_valid(a64));
	snprintf(buf, sizeof buf, "%s.%s.%s.%s", a63, a63, a63, a63);
	assert_true(domain_valid(buf));
	snprintf(buf, sizeof buf, "%s.%s.%s.%s.a", a63, a63, a63, a63);
	assert_false(domain_valid(buf));
	free(a63);
	free(a64);

	assert_true(address_literal_valid("[192.0.2.1]"));
	assert_true(address_literal_valid("[IPv6:2001:db8::1]"));
	assert_true(address_literal_valid("[ipv6:::1]"));
	assert_true(address_literal_valid("[IPv6:::ffff:192.0.2.1]"));
	const char *bad_lit[] = { "", "[]", "192.0.2.1", "[192.0.2.1", "[999.0.0.1]",
		"[2001:db8::1]", "[IPv6:192.0.2.1]", "[tag:content]", "[192.0.2.1] ", "[ 192.0.2.1]" };
	for (size_t i = 0; i < sizeof bad_lit / sizeof bad_lit[0]; i++) {
		if (address_literal_valid(bad_lit[i]))
			fail_msg("expected literal \"%s\" to be invalid", bad_lit[i]);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_embedded_nul_and_len),
		cmocka_unit_test(test_quoted),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_literals),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_path),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_canonical),
		cmocka_unit_test(test_domain),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
