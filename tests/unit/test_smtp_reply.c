/*
 * test_smtp_reply.c - unit tests for smtp_reply.c: replies gathered line by line
 * (RFC 5321 4.2: "ddd-" continues, "ddd " or "ddd" ends, one code throughout),
 * malformed lines, the one-line form for logs and bounces, and EHLO keywords.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smtp/smtp_reply.h"

/* feed - one line through an exact-size heap copy without a NUL: ASan catches over-reads. */
static int
feed_n(struct smtp_reply *r, const char *line, size_t len)
{
	char *c = malloc(len ? len : 1);
	assert_non_null(c);
	memcpy(c, line, len);
	int rc = smtp_reply_feed(r, c, len);
	free(c);
	return rc;
}

static int
feed(struct smtp_reply *r, const char *line)
{
	return feed_n(r, line, strlen(line));
}

/* reply_of - feed every line; each but the last must say "more", the last "done". */
static void
reply_of(struct smtp_reply *r, const char *const *lines, size_t n)
{
	smtp_reply_init(r);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(feed(r, lines[i]), i + 1 < n ? 0 : 1);
}

static void
test_single_line(void **state)
{
	struct smtp_reply r;

	smtp_reply_init(&r);
	assert_int_equal(r.code, 0);
	assert_int_equal(feed(&r, "250 2.0.0 Ok: queued as 1234"), 1);
	assert_int_equal(r.code, 250);
	assert_int_equal(r.lines, 1);
	assert_string_equal(r.text, "250 2.0.0 Ok: queued as 1234");
	assert_int_equal(r.len, strlen(r.text));

	/* Just the code (RFC 5321 4.2: the text is optional). */
	smtp_reply_init(&r);
	assert_int_equal(feed(&r, "354"), 1);
	assert_int_equal(r.code, 354);

	/* "ddd " with nothing after it. */
	smtp_reply_init(&r);
	assert_int_equal(feed(&r, "221 "), 1);
	assert_int_equal(r.code, 221);

	/* Every class a server may send. */
	static const char *const ok[] = { "220 hi", "235 ok", "334 ", "421 bye", "554 no" };
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		smtp_reply_init(&r);
		assert_int_equal(feed(&r, ok[i]), 1);
		assert_int_equal(r.code, atoi(ok[i]));
	}
}

static void
test_multi_line(void **state)
{
	struct smtp_reply r;
	static const char *const lines[] = {
		"250-mx.remote.test Hello",
		"250-PIPELINING",
		"250-SIZE 10240000",
		"250 8BITMIME",
	};

	reply_of(&r, lines, 4);
	assert_int_equal(r.code, 250);
	assert_int_equal(r.lines, 4);
	assert_string_equal(r.text,
	    "250-mx.remote.test Hello\n250-PIPELINING\n250-SIZE 10240000\n250 8BITMIME");

	/* "ddd-" with empty text continues; "ddd" alone ends. */
	static const char *const bare[] = { "550-", "550-x", "550" };
	reply_of(&r, bare, 3);
	assert_int_equal(r.code, 550);
	assert_int_equal(r.lines, 3);

	/* A reused struct after smtp_reply_init starts afresh. */
	smtp_reply_init(&r);
	assert_int_equal(feed(&r, "220 again"), 1);
	assert_int_equal(r.lines, 1);
	assert_string_equal(r.text, "220 again");
}

static void
test_malformed(void **state)
{
	struct smtp_reply r;
	static const char *const bad[] = {
		"", "2", "25", "25 ok", "2500 ok", "250x", "250:ok", " 250 ok", "abc def",
		"2a0 ok", "-250 ok", "25- ok",
		"150 ok", "099 ok", "600 ok", "999 ok", "000 ok",
	};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		smtp_reply_init(&r);
		assert_int_equal(feed(&r, bad[i]), -1);
	}

	/* A continuation whose code differs from the first line's. */
	smtp_reply_init(&r);
	assert_int_equal(feed(&r, "250-one"), 0);
	assert_int_equal(feed(&r, "251 two"), -1);
	smtp_reply_init(&r);
	assert_int_equal(feed(&r, "450-one"), 0);
	assert_int_equal(feed(&r, "550 two"), -1);
	/* A broken continuation line. */
	smtp_reply_init(&r);
	assert_int_equal(feed(&r, "250-one"), 0);
	assert_int_equal(feed(&r, "250"), 1);
	smtp_reply_init(&r);
	assert_int_equal(feed(&r, "250-one"), 0);
	assert_int_equal(feed(&r, "25"), -1);

	/* A NUL inside the digits. */
	smtp_reply_init(&r);
	assert_int_equal(feed_n(&r, "2\0" "0 ok", 6), -1);
}

static void
test_control_octets(void **state)
{
	struct smtp_reply r;

	/* Control octets, NUL included, never reach logs or bounces as such. */
	smtp_reply_init(&r);
	assert_int_equal(feed_n(&r, "550 a\tb\0c\x1b[31md\x7f" "e\r", 18), 1);
	assert_int_equal(r.len, 18);
	assert_memory_equal(r.text, "550 a b c [31md e ", 19);
	for (size_t i = 0; i < r.len; i++)
		assert_true((unsigned char)r.text[i] >= 0x20 && r.text[i] != 0x7f);

	/* Octets above 0x7f pass (some servers send UTF-8 text). */
	smtp_reply_init(&r);
	assert_int_equal(feed(&r, "550 caf\xc3\xa9"), 1);
	assert_string_equal(r.text, "550 caf\xc3\xa9");
}

static void
test_truncation(void **state)
{
	struct smtp_reply r;
	char line[3 * SMTP_REPLY_TEXT_MAX];

	/* One very long line: kept up to the buffer, NUL-terminated. */
	memset(line, 'x', sizeof line);
	memcpy(line, "550 ", 4);
	smtp_reply_init(&r);
	assert_int_equal(feed_n(&r, line, sizeof line), 1);
	assert_int_equal(r.code, 550);
	assert_int_equal(r.len, SMTP_REPLY_TEXT_MAX - 1);
	assert_int_equal(strlen(r.text), r.len);
	assert_memory_equal(r.text, "550 xxx", 7);

	/* Many lines: still one reply, still bounded; the code stays checked. */
	smtp_reply_init(&r);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(feed(&r, "250-0123456789abcdef0123456789abcdef"), 0);
	assert_int_equal(feed(&r, "251 x"), -1);
	assert_int_equal(feed(&r, "250 last"), 1);
	assert_int_equal(r.lines, 1001);
	assert_true(r.len < SMTP_REPLY_TEXT_MAX);
	assert_int_equal(strlen(r.text), r.len);
}

static void
oneline_of(const char *const *lines, size_t n, size_t outlen, const char *want)
{
	struct smtp_reply r;
	char out[4096];

	assert_true(outlen <= sizeof out);
	reply_of(&r, lines, n);
	memset(out, 'Z', sizeof out);
	smtp_reply_oneline(&r, out, outlen);
	assert_string_equal(out, want);
}

static void
test_oneline(void **state)
{
	static const char *const one[] = { "550 5.1.1 <x@remote.test>: no such user" };
	oneline_of(one, 1, 4096, "550 5.1.1 <x@remote.test>: no such user");

	/* A multi-line reply reads as "550 5.7.1 first second": the first line's code
	 * with a space, later lines without their code. */
	static const char *const gmail[] = {
		"550-5.1.1 The email account that you tried to reach does not exist.",
		"550-5.1.1 Please try double-checking the recipient's email",
		"550 5.1.1 address for typos.",
	};
	oneline_of(gmail, 3, 4096,
	    "550 5.1.1 The email account that you tried to reach does not exist. "
	    "5.1.1 Please try double-checking the recipient's email 5.1.1 address for typos.");

	/* Empty continuation lines add nothing but do not break the text. */
	static const char *const empty[] = { "451-", "451-4.3.0 try", "451" };
	oneline_of(empty, 3, 4096, "451 4.3.0 try");

	/* Just a code. */
	static const char *const code[] = { "250" };
	oneline_of(code, 1, 4096, "250");

	/* Bounded by the output buffer, always NUL-terminated. */
	oneline_of(one, 1, 8, "550 5.1");
	oneline_of(one, 1, 1, "");
	oneline_of(gmail, 3, 12, "550 5.1.1 T");
}

static void
caps_of(const char *const *lines, size_t n, struct ehlo_caps *caps)
{
	struct smtp_reply r;
	reply_of(&r, lines, n);
	memset(caps, 0xa5, sizeof *caps);
	ehlo_parse(&r, caps);
}

static void
test_ehlo_postfix(void **state)
{
	struct ehlo_caps c;
	static const char *const postfix[] = {
		"250-mx.remote.test", "250-PIPELINING", "250-SIZE 10240000", "250-VRFY", "250-ETRN",
		"250-STARTTLS", "250-AUTH PLAIN LOGIN", "250-ENHANCEDSTATUSCODES", "250-8BITMIME",
		"250-DSN", "250-SMTPUTF8", "250 CHUNKING",
	};

	caps_of(postfix, sizeof postfix / sizeof postfix[0], &c);
	assert_true(c.pipelining);
	assert_true(c.starttls);
	assert_true(c.eightbitmime);
	assert_true(c.smtputf8);
	assert_true(c.chunking);
	assert_true(c.auth_plain);
	assert_int_equal(c.size, 10240000);
}

static void
test_ehlo_none(void **state)
{
	struct ehlo_caps c;

	/* A one-line EHLO reply: no extensions at all. */
	static const char *const bare[] = { "250 mx.remote.test" };
	caps_of(bare, 1, &c);
	assert_false(c.pipelining || c.starttls || c.eightbitmime || c.smtputf8 || c.chunking ||
	    c.auth_plain);
	assert_int_equal(c.size, 0);

	/* Keywords on the greeting line are the server's name, not extensions. */
	static const char *const greet[] = { "250-STARTTLS", "250 SIZE 1000" };
	caps_of(greet, 2, &c);
	assert_false(c.starttls);
	assert_int_equal(c.size, 1000);

	/* Near misses are not the keyword. */
	static const char *const near[] = {
		"250-x", "250-STARTTLSX", "250-PIPELINING2", "250-XSMTPUTF8", "250-8BITMIMEX",
		"250-AUTH LOGIN CRAM-MD5 PLAINX", "250-AUTH=PLAIN", "250-CHUNK", "250 SIZES 5",
	};
	caps_of(near, sizeof near / sizeof near[0], &c);
	assert_false(c.pipelining || c.starttls || c.eightbitmime || c.smtputf8 || c.chunking ||
	    c.auth_plain);
	assert_int_equal(c.size, 0);
}

static void
test_ehlo_case_and_args(void **state)
{
	struct ehlo_caps c;

	/* Keywords are case-insensitive (RFC 5321 2.4). */
	static const char *const lower[] = {
		"250-mx", "250-starttls", "250-Pipelining", "250-size 52428800", "250-auth login plain",
		"250-8bitmime", "250 smtputf8",
	};
	caps_of(lower, sizeof lower / sizeof lower[0], &c);
	assert_true(c.starttls && c.pipelining && c.eightbitmime && c.smtputf8 && c.auth_plain);
	assert_int_equal(c.size, 52428800);

	/* SIZE without a number, or 0: no limit announced. */
	static const char *const nosize[] = { "250-mx", "250 SIZE" };
	caps_of(nosize, 2, &c);
	assert_int_equal(c.size, 0);
	static const char *const zero[] = { "250-mx", "250 SIZE 0" };
	caps_of(zero, 2, &c);
	assert_int_equal(c.size, 0);

	/* A huge SIZE does not wrap. */
	static const char *const big[] = { "250-mx", "250 SIZE 18446744073709551615" };
	caps_of(big, 2, &c);
	assert_true(c.size == UINT64_MAX);
}

static void
test_ehlo_truncated(void **state)
{
	struct smtp_reply r;
	struct ehlo_caps c;
	char line[SMTP_REPLY_TEXT_MAX];

	/*
	 * A long EHLO reply that does not fit the text buffer: whatever is lost, no
	 * keyword may be read from a cut-off line. Here "SIZE 10240000" lands on the
	 * buffer's end; read as "SIZE 10" every message would bounce as too big.
	 */
	for (size_t fit = 1; fit <= 17; fit++) {
		smtp_reply_init(&r);
		assert_int_equal(feed(&r, "250-mx.remote.test"), 0);
		size_t used = r.len + 1;
		/* A filler line so that only fit octets of "250-SIZE 10240000" (17) have room. */
		size_t fill = SMTP_REPLY_TEXT_MAX - 1 - fit - 1 - used;
		memset(line, 'X', fill);
		memcpy(line, "250-", 4);
		assert_int_equal(feed_n(&r, line, fill), 0);
		assert_int_equal(r.len, SMTP_REPLY_TEXT_MAX - 1 - fit - 1);
		assert_int_equal(feed(&r, "250-SIZE 10240000"), 0);
		assert_int_equal(feed(&r, "250 STARTTLS"), 1);
		ehlo_parse(&r, &c);
		assert_true(c.size == 0 || c.size == 10240000);
		assert_int_equal(strlen(r.text), r.len);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single_line),
		cmocka_unit_test(test_multi_line),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_control_octets),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_oneline),
		cmocka_unit_test(test_ehlo_postfix),
		cmocka_unit_test(test_ehlo_none),
		cmocka_unit_test(test_ehlo_case_and_args),
		cmocka_unit_test(test_ehlo_truncated),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
