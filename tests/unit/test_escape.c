/*
 * test_escape.c - unit tests for escape.c: every class of octet that must be
 * escaped (ASCII controls, C1 controls, bidirectional controls, separators,
 * malformed UTF-8), what stays (printable ASCII, well-formed UTF-8), the flags
 * for logs and comments, and truncation that never cuts an escape or a character.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/escape.h"

static void
expect_n(const char *in, size_t len, unsigned flags, const char *want)
{
	char out[512];

	esc_text(out, sizeof out, in, len, flags);
	if (strcmp(out, want) != 0)
		fail_msg("escaping %zu octets (flags %u): got \"%s\", want \"%s\"", len, flags, out,
		    want);
}

static void
expect(const char *in, unsigned flags, const char *want)
{
	expect_n(in, strlen(in), flags, want);
}

static void
test_ascii(void **state)
{
	(void)state;
	expect("", 0, "");
	expect("hello world <a@b.example> ~!#$%^&*()[]{}'\"", 0,
	    "hello world <a@b.example> ~!#$%^&*()[]{}'\"");
	expect("tab\there", 0, "tab\\x09here");
	expect("line\r\nbreak", 0, "line\\x0d\\x0abreak");
	expect("\x1b[31mred\x1b[0m", 0, "\\x1b[31mred\\x1b[0m");
	expect("del\x7f", 0, "del\\x7f");
	expect("\x01\x1f", 0, "\\x01\\x1f");
	expect_n("a\0b", 3, 0, "a\\x00b");
}

static void
test_flags(void **state)
{
	(void)state;
	expect("a\\b(c)", 0, "a\\b(c)");
	expect("a\\b(c)", ESC_BACKSLASH, "a\\\\b(c)");
	expect("a\\b(c)", ESC_COMMENT, "a\\\\b\\(c\\)");
	expect("evil (authenticated sender: boss@example.test)", ESC_COMMENT,
	    "evil \\(authenticated sender: boss@example.test\\)");
	/* a literal "\x1b" typed by a client cannot pass for an escape in a log */
	expect("\\x1b", ESC_BACKSLASH, "\\\\x1b");
	expect("\x1b", ESC_BACKSLASH | ESC_COMMENT, "\\x1b");
}

static void
test_utf8_kept(void **state)
{
	(void)state;
	expect("caf\xc3\xa9", 0, "caf\xc3\xa9");                        /* U+00E9 */
	expect("\xc2\xa0nbsp", 0, "\xc2\xa0nbsp");                      /* U+00A0: after C1 */
	expect("\xe6\x97\xa5\xe6\x9c\xac", 0, "\xe6\x97\xa5\xe6\x9c\xac"); /* CJK */
	expect("\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d", 0, "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d"); /* Hebrew */
	expect("\xf0\x9f\x98\x80", 0, "\xf0\x9f\x98\x80");              /* U+1F600 */
	expect("\xf4\x8f\xbf\xbf", 0, "\xf4\x8f\xbf\xbf");              /* U+10FFFF */
	expect("\xe2\x80\xaf\xe2\x80\x8d", 0, "\xe2\x80\xaf\xe2\x80\x8d"); /* U+202F, U+200D */
	expect("\xe2\x81\xa5\xe2\x81\xaa", 0, "\xe2\x81\xa5\xe2\x81\xaa"); /* U+2065, U+206A */
	expect("\xed\x9f\xbf\xee\x80\x80", 0, "\xed\x9f\xbf\xee\x80\x80"); /* around surrogates */
}

static void
test_c1(void **state)
{
	(void)state;
	expect("\xc2\x80", 0, "\\u0080");
	expect("a\xc2\x85" "b", 0, "a\\u0085b");  /* NEXT LINE */
	expect("\xc2\x9b[31m", 0, "\\u009b[31m"); /* CSI */
	expect("\xc2\x9f", 0, "\\u009f");
}

static void
test_bidi(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "\xd8\x9c", "\\u061c" },     /* ARABIC LETTER MARK */
		{ "\xe2\x80\x8e", "\\u200e" }, /* LRM */
		{ "\xe2\x80\x8f", "\\u200f" }, /* RLM */
		{ "\xe2\x80\xa8", "\\u2028" }, /* LINE SEPARATOR */
		{ "\xe2\x80\xa9", "\\u2029" }, /* PARAGRAPH SEPARATOR */
		{ "\xe2\x80\xaa", "\\u202a" }, /* LRE */
		{ "\xe2\x80\xab", "\\u202b" }, /* RLE */
		{ "\xe2\x80\xac", "\\u202c" }, /* PDF */
		{ "\xe2\x80\xad", "\\u202d" }, /* LRO */
		{ "\xe2\x80\xae", "\\u202e" }, /* RLO */
		{ "\xe2\x81\xa6", "\\u2066" }, /* LRI */
		{ "\xe2\x81\xa7", "\\u2067" }, /* RLI */
		{ "\xe2\x81\xa8", "\\u2068" }, /* FSI */
		{ "\xe2\x81\xa9", "\\u2069" }, /* PDI */
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		expect(cases[i].in, 0, cases[i].want);
	expect("user\xe2\x80\xaegpj.exe@example.test", 0, "user\\u202egpj.exe@example.test");
}

static void
test_malformed(void **state)
{
	(void)state;
	expect("\x80", 0, "\\x80");                         /* lone continuation */
	expect("\xbf" "a", 0, "\\xbfa");
	expect("\xc0\x80", 0, "\\xc0\\x80");                /* overlong NUL */
	expect("\xc1\xbf", 0, "\\xc1\\xbf");
	expect("\xe0\x80\xaf", 0, "\\xe0\\x80\\xaf");       /* overlong '/' */
	expect("\xe0\x9f\xbf", 0, "\\xe0\\x9f\\xbf");
	expect("\xed\xa0\x80", 0, "\\xed\\xa0\\x80");       /* a surrogate */
	expect("\xf0\x80\x80\xaf", 0, "\\xf0\\x80\\x80\\xaf");
	expect("\xf4\x90\x80\x80", 0, "\\xf4\\x90\\x80\\x80"); /* above U+10FFFF */
	expect("\xf5\x80\x80\x80", 0, "\\xf5\\x80\\x80\\x80");
	expect("\xfe\xff", 0, "\\xfe\\xff");
	expect("\xc3" "a", 0, "\\xc3a");                    /* cut short by ASCII */
	expect("\xe2\x80", 0, "\\xe2\\x80");                /* cut short by the end */
	expect("\xe2\x80" "\xc3\xa9", 0, "\\xe2\\x80\xc3\xa9"); /* resynchronised */
	expect("\xf0\x9f\x98", 0, "\\xf0\\x9f\\x98");
	expect("\xe2\x80\xae\xe2\x80", 0, "\\u202e\\xe2\\x80");
}

/* expect_trunc - esc_text into exactly dstlen octets. */
static void
expect_trunc(const char *in, size_t dstlen, const char *want)
{
	char out[64];

	assert_true(dstlen <= sizeof out - 1);
	memset(out, 'Z', sizeof out);
	esc_text(out, dstlen, in, strlen(in), 0);
	if (strcmp(out, want) != 0)
		fail_msg("\"%s\" into %zu: got \"%s\", want \"%s\"", in, dstlen, out, want);
	assert_int_equal(out[dstlen], 'Z'); /* nothing written past dstlen */
}

static void
test_truncation(void **state)
{
	(void)state;
	char out[4] = "abc";
	esc_text(out, 0, "xyz", 3, 0);
	assert_string_equal(out, "abc"); /* dstlen 0: untouched */

	expect_trunc("abcdef", 7, "abcdef");  /* exact fit: no marker */
	expect_trunc("abcdefg", 7, "abc...");
	expect_trunc("abcdef", 1, "");
	expect_trunc("abcdef", 3, "");
	expect_trunc("abcdef", 4, "...");
	expect_trunc("abcdef", 5, "a...");
	/* an escape is never cut */
	expect_trunc("ab\x1b", 7, "ab\\x1b");
	expect_trunc("ab\x1b" "c", 7, "ab...");
	expect_trunc("a\xe2\x80\xae", 8, "a\\u202e");
	expect_trunc("a\xe2\x80\xae" "b", 8, "a...");
	expect_trunc("ab\xe2\x80\xae" "c", 9, "ab...");
	/* nor a character */
	expect_trunc("a\xe6\x97\xa5", 5, "a\xe6\x97\xa5");
	expect_trunc("ab\xe6\x97\xa5", 5, "a...");
	expect_trunc("abcd\xf0\x9f\x98\x80", 9, "abcd\xf0\x9f\x98\x80");
	expect_trunc("abcd\xf0\x9f\x98\x80" "e", 9, "abcd...");
	expect_trunc("abcd\xf0\x9f\x98\x80" "e", 11, "abcd\xf0\x9f\x98\x80" "e");
}

/* check_safe - out holds no control, no malformed UTF-8 and no hidden code point. */
static void
check_safe(const char *out)
{
	const unsigned char *p = (const unsigned char *)out;
	size_t n = strlen(out);

	for (size_t i = 0; i < n;) {
		unsigned char c = p[i];
		if (c < 0x80) {
			assert_true(c >= 0x20 && c != 0x7f);
			i++;
			continue;
		}
		size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
		assert_true(c >= 0xc2 && c <= 0xf4 && i + len <= n);
		uint32_t cp = c & (len == 2 ? 0x1f : len == 3 ? 0x0f : 0x07);
		for (size_t k = 1; k < len; k++) {
			assert_true((p[i + k] & 0xc0) == 0x80);
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		assert_true(cp >= (len == 2 ? 0x80u : len == 3 ? 0x800u : 0x10000u));
		assert_true(cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff));
		assert_false(cp <= 0x9f || cp == 0x61c || cp == 0x200e || cp == 0x200f ||
		    (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069));
		i += len;
	}
}

/* Random octets: the output is always safe, ESC_SIZE is always enough, and a short
 * buffer gives a prefix of the whole output. */
static void
test_random(void **state)
{
	static const unsigned char pool[] = { 'a', '\\', '(', 0x00, 0x1b, 0x7f, 0x80, 0x85,
		0x9f, 0xa0, 0xae, 0xbf, 0xc2, 0xc3, 0xd8, 0xe2, 0xe0, 0xed, 0x81, 0xf0, 0xf4,
		0x8f, 0x9c, 0xa9, 0xff };
	char in[48], whole[ESC_SIZE(48)], part[ESC_SIZE(48)];

	(void)state;
	srand(5321);
	for (int iter = 0; iter < 20000; iter++) {
		size_t n = (size_t)(rand() % (int)sizeof in);
		for (size_t i = 0; i < n; i++)
			in[i] = (char)pool[rand() % (int)sizeof pool];
		unsigned flags = (unsigned)(iter % 4);
		esc_text(whole, ESC_SIZE(n), in, n, flags);
		check_safe(whole);
		size_t wl = strlen(whole);
		assert_true(wl < ESC_SIZE(n));
		/* no truncation marker unless it fits exactly anyway */
		esc_text(part, sizeof part, in, n, flags);
		assert_string_equal(part, whole);
		size_t dl = (size_t)(rand() % (int)(wl + 2)) + 1;
		esc_text(part, dl, in, n, flags);
		check_safe(part);
		size_t pl = strlen(part);
		assert_true(pl < dl);
		if (pl == wl) {
			assert_string_equal(part, whole);
		} else if (pl >= 3) {
			assert_memory_equal(part + pl - 3, "...", 3);
			assert_memory_equal(part, whole, pl - 3);
		} else {
			assert_int_equal(pl, 0);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ascii),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_utf8_kept),
		cmocka_unit_test(test_c1),
		cmocka_unit_test(test_bidi),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_random),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
