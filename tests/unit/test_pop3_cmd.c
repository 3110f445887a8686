/* test_pop3_cmd.c - unit tests for pop3_cmd.c (command lines) and pop3_xfer.c (the wire form). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pop3/pop3_cmd.h"
#include "pop3/pop3_xfer.h"

/* The parser gets an exact-size heap copy without a NUL: ASan catches over-reads. */
static int
parse(const char *s, struct pop3_cmd *cmd, enum pop3_parse_error *err, char **copy)
{
	size_t len = strlen(s);
	*copy = malloc(len ? len : 1);
	assert_non_null(*copy);
	memcpy(*copy, s, len);
	return pop3_cmd_parse(*copy, len, cmd, err);
}

static void
expect_ok(const char *s, enum pop3_verb verb, struct pop3_cmd *cmd, char **copy)
{
	enum pop3_parse_error err;
	int rc = parse(s, cmd, &err, copy);
	if (rc != 0)
		fail_msg("\"%s\" refused (%d)", s, (int)err);
	assert_int_equal(cmd->verb, verb);
	assert_int_equal(err, POP3_ERR_NONE);
}

static void
expect_err(const char *s, enum pop3_parse_error want)
{
	struct pop3_cmd cmd;
	enum pop3_parse_error err;
	char *copy;
	int rc = parse(s, &cmd, &err, &copy);
	free(copy);
	if (rc != -1 || err != want)
		fail_msg("\"%s\": rc %d err %d, wanted err %d", s, rc, (int)err, (int)want);
}

static void
assert_arg(const char *p, size_t len, const char *want)
{
	assert_int_equal(len, strlen(want));
	assert_memory_equal(p, want, len);
}

static void
test_simple_verbs(void **state)
{
	static const struct {
		const char *line;
		enum pop3_verb verb;
	} cases[] = {
		{ "STAT", POP3_CMD_STAT }, { "stat", POP3_CMD_STAT }, { "NOOP", POP3_CMD_NOOP },
		{ "RSET", POP3_CMD_RSET }, { "QUIT", POP3_CMD_QUIT }, { "CAPA", POP3_CMD_CAPA },
		{ "STLS", POP3_CMD_STLS }, { "sTlS", POP3_CMD_STLS }, { "LIST", POP3_CMD_LIST },
		{ "UIDL", POP3_CMD_UIDL }, { "AUTH", POP3_CMD_AUTH }, { "QUIT ", POP3_CMD_QUIT },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct pop3_cmd cmd;
		char *copy;
		expect_ok(cases[i].line, cases[i].verb, &cmd, &copy);
		assert_false(cmd.has_msg);
		assert_int_equal(cmd.arglen, 0);
		free(copy);
	}
}

static void
test_numbers(void **state)
{
	struct pop3_cmd cmd;
	char *copy;

	expect_ok("RETR 1", POP3_CMD_RETR, &cmd, &copy);
	assert_true(cmd.has_msg);
	assert_int_equal(cmd.msg, 1);
	free(copy);
	expect_ok("dele 10000", POP3_CMD_DELE, &cmd, &copy);
	assert_int_equal(cmd.msg, 10000);
	free(copy);
	expect_ok("LIST 7", POP3_CMD_LIST, &cmd, &copy);
	assert_true(cmd.has_msg);
	assert_int_equal(cmd.msg, 7);
	free(copy);
	expect_ok("UIDL 0", POP3_CMD_UIDL, &cmd, &copy);
	assert_true(cmd.has_msg);
	assert_int_equal(cmd.msg, 0);
	free(copy);
	expect_ok("TOP 3 0", POP3_CMD_TOP, &cmd, &copy);
	assert_int_equal(cmd.msg, 3);
	assert_int_equal(cmd.lines, 0);
	free(copy);
	expect_ok("TOP  2   15  ", POP3_CMD_TOP, &cmd, &copy);
	assert_int_equal(cmd.msg, 2);
	assert_int_equal(cmd.lines, 15);
	free(copy);
	/* Huge numbers saturate: "no such message", not a wrap to a small one. */
	expect_ok("RETR 18446744073709551617", POP3_CMD_RETR, &cmd, &copy);
	assert_true(cmd.msg == UINT64_MAX);
	free(copy);
	expect_ok("TOP 1 99999999999999999999999", POP3_CMD_TOP, &cmd, &copy);
	assert_true(cmd.lines == UINT64_MAX);
	free(copy);
	expect_ok("RETR 0004294967297", POP3_CMD_RETR, &cmd, &copy);
	assert_true(cmd.msg == 4294967297ull);
	free(copy);
}

static void
test_bad_arguments(void **state)
{
	static const char *const bad[] = {
		"RETR", "RETR x", "RETR -1", "RETR +1", "RETR 1 2", "RETR 1x", "DELE",
		"DELE 0x10", "TOP 1", "TOP", "TOP 1 2 3", "TOP a 1", "TOP 1 -2", "LIST 1 2",
		"LIST a", "UIDL 1 2", "STAT 1", "NOOP x", "QUIT now", "RSET 1", "CAPA x",
		"STLS x", "USER", "USER a b", "PASS", "PASS ", "AUTH PLAIN a b", "LIST 1.5",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		expect_err(bad[i], POP3_ERR_SYNTAX);
}

static void
test_unknown_and_control(void **state)
{
	expect_err("", POP3_ERR_EMPTY);
	expect_err(" STAT", POP3_ERR_UNKNOWN);
	expect_err("APOP mrose c4c9334bac560ecc979e58001b3e22fb", POP3_ERR_UNKNOWN);
	expect_err("STATX", POP3_ERR_UNKNOWN);
	expect_err("STA", POP3_ERR_UNKNOWN);
	expect_err("XTND XMIT", POP3_ERR_UNKNOWN);
	expect_err("RETR\t1", POP3_ERR_CONTROL);
	expect_err("STAT\x7f", POP3_ERR_CONTROL);
	expect_err("USER a\rb", POP3_ERR_CONTROL);
	expect_err("\x80\x81", POP3_ERR_UNKNOWN);

	/* A NUL inside the line (strlen cannot build this one). */
	struct pop3_cmd cmd;
	enum pop3_parse_error err;
	char line[] = { 'S', 'T', 'A', 'T', '\0', 'X' };
	assert_int_equal(pop3_cmd_parse(line, sizeof line, &cmd, &err), -1);
	assert_int_equal(err, POP3_ERR_CONTROL);
}

static void
test_user_pass(void **state)
{
	struct pop3_cmd cmd;
	char *copy;

	expect_ok("USER demo@example.test", POP3_CMD_USER, &cmd, &copy);
	assert_arg(cmd.arg, cmd.arglen, "demo@example.test");
	free(copy);
	expect_ok("user  Demo@Example.Test ", POP3_CMD_USER, &cmd, &copy);
	assert_arg(cmd.arg, cmd.arglen, "Demo@Example.Test");
	free(copy);
	/* The password is the rest of the line, its spaces included. */
	expect_ok("PASS secret", POP3_CMD_PASS, &cmd, &copy);
	assert_arg(cmd.arg, cmd.arglen, "secret");
	free(copy);
	expect_ok("PASS  two words ", POP3_CMD_PASS, &cmd, &copy);
	assert_arg(cmd.arg, cmd.arglen, " two words ");
	free(copy);
	expect_ok("pass p\xc3\xa4ss", POP3_CMD_PASS, &cmd, &copy);
	assert_arg(cmd.arg, cmd.arglen, "p\xc3\xa4ss");
	free(copy);
}

static void
test_auth(void **state)
{
	struct pop3_cmd cmd;
	char *copy;

	expect_ok("AUTH PLAIN", POP3_CMD_AUTH, &cmd, &copy);
	assert_arg(cmd.arg, cmd.arglen, "PLAIN");
	assert_false(cmd.has_arg2);
	free(copy);
	expect_ok("auth plain AGRlbW8AcHc=", POP3_CMD_AUTH, &cmd, &copy);
	assert_arg(cmd.arg, cmd.arglen, "plain");
	assert_true(cmd.has_arg2);
	assert_arg(cmd.arg2, cmd.arg2len, "AGRlbW8AcHc=");
	free(copy);
	expect_ok("AUTH PLAIN =", POP3_CMD_AUTH, &cmd, &copy);
	assert_true(cmd.has_arg2);
	assert_arg(cmd.arg2, cmd.arg2len, "=");
	free(copy);
}

static void
test_verb_names(void **state)
{
	assert_string_equal(pop3_verb_name(POP3_CMD_RETR), "RETR");
	assert_string_equal(pop3_verb_name(POP3_CMD_STLS), "STLS");
	assert_string_equal(pop3_verb_name(POP3_CMD_COUNT), "?");
}

/* ---- pop3_xfer ---- */

/* convert - the whole of in through the converter, in pieces of step octets. */
static char *
convert(const char *in, bool top, uint64_t n, size_t step, size_t *outlen)
{
	size_t len = strlen(in);
	char *out = malloc(2 * len + 8);
	struct pop3_xfer x;
	size_t o = 0;

	assert_non_null(out);
	pop3_xfer_init(&x, top, n);
	for (size_t i = 0; i < len && !x.done; i += step) {
		size_t k = len - i < step ? len - i : step;
		char *piece = malloc(k);
		assert_non_null(piece);
		memcpy(piece, in + i, k);
		o += pop3_xfer_feed(&x, piece, k, out + o);
		free(piece);
	}
	o += pop3_xfer_finish(&x, out + o);
	out[o] = '\0';
	*outlen = o;
	return out;
}

static void
expect_xfer(const char *in, bool top, uint64_t n, const char *want)
{
	/* Every way of cutting the input must give the same octets. */
	for (size_t step = 1; step <= strlen(in) + 1; step++) {
		size_t len;
		char *got = convert(in, top, n, step, &len);
		if (len != strlen(want) || memcmp(got, want, len) != 0)
			fail_msg("step %zu: got \"%s\" wanted \"%s\"", step, got, want);
		free(got);
	}
}

static void
test_xfer_retr(void **state)
{
	expect_xfer("A: b\n\nbody\n", false, 0, "A: b\r\n\r\nbody\r\n.\r\n");
	expect_xfer("A: b\n\n.\n..x\n.", false, 0, "A: b\r\n\r\n..\r\n...x\r\n..\r\n.\r\n");
	/* CRLF files stay as they are; a bare CR passes through. */
	expect_xfer("A: b\r\n\r\nx\ry\r\n", false, 0, "A: b\r\n\r\nx\ry\r\n.\r\n");
	/* No final line end: one is added before the terminator. */
	expect_xfer("A: b\n\nlast", false, 0, "A: b\r\n\r\nlast\r\n.\r\n");
	expect_xfer("", false, 0, ".\r\n");
	expect_xfer(".", false, 0, "..\r\n.\r\n");
	expect_xfer("a.\n.b", false, 0, "a.\r\n..b\r\n.\r\n");
}

static void
test_xfer_top(void **state)
{
	const char *msg = "A: 1\nB: 2\n\nl1\n.l2\nl3\n";
	expect_xfer(msg, true, 0, "A: 1\r\nB: 2\r\n\r\n.\r\n");
	expect_xfer(msg, true, 1, "A: 1\r\nB: 2\r\n\r\nl1\r\n.\r\n");
	expect_xfer(msg, true, 2, "A: 1\r\nB: 2\r\n\r\nl1\r\n..l2\r\n.\r\n");
	expect_xfer(msg, true, 99, "A: 1\r\nB: 2\r\n\r\nl1\r\n..l2\r\nl3\r\n.\r\n");
	expect_xfer(msg, true, UINT64_MAX, "A: 1\r\nB: 2\r\n\r\nl1\r\n..l2\r\nl3\r\n.\r\n");
	/* The blank line of a CRLF file ends the headers too. */
	expect_xfer("A: 1\r\n\r\nx\r\ny\r\n", true, 1, "A: 1\r\n\r\nx\r\n.\r\n");
	/* A line holding only CR is not the blank line. */
	expect_xfer("A: 1\n\r\r\nB: 2\n\nx\n", true, 0, "A: 1\r\n\r\r\nB: 2\r\n\r\n.\r\n");
	/* Headers only, no blank line: all of it. */
	expect_xfer("A: 1\nB: 2", true, 0, "A: 1\r\nB: 2\r\n.\r\n");
	/* A message whose last body line has no end. */
	expect_xfer("A: 1\n\nx", true, 5, "A: 1\r\n\r\nx\r\n.\r\n");
}

static void
test_wire_size(void **state)
{
	const char *msgs[] = { "A: b\n\nbody\n", "A: b\r\n\r\nx\ry\r\n", "a\n\r\n\n\r", "", "\n" };
	for (size_t m = 0; m < sizeof msgs / sizeof msgs[0]; m++) {
		size_t len = strlen(msgs[m]);
		for (size_t step = 1; step <= len + 1; step++) {
			bool cr = false;
			uint64_t n = 0;
			for (size_t i = 0; i < len; i += step)
				n += pop3_wire_size(msgs[m] + i, len - i < step ? len - i : step, &cr);
			/* The size is what RETR sends, without stuffing and terminator. */
			size_t outlen;
			char *out = convert(msgs[m], false, 0, 4096, &outlen);
			size_t want = outlen - 3; /* ".\r\n" */
			if (len > 0 && msgs[m][len - 1] != '\n')
				want -= 2; /* the CRLF added to end the last line */
			assert_int_equal(n, want);
			free(out);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple_verbs),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_unknown_and_control),
		cmocka_unit_test(test_user_pass),
		cmocka_unit_test(test_auth),
		cmocka_unit_test(test_verb_names),
		cmocka_unit_test(test_xfer_retr),
		cmocka_unit_test(test_xfer_top),
		cmocka_unit_test(test_wire_size),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
