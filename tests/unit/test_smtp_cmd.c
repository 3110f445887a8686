/* test_smtp_cmd.c - unit tests for smtp_cmd.c: command lines, MAIL, RCPT, BDAT, HELO. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smtp/smtp_cmd.h"

/* Every parser gets an exact-size heap copy without a NUL: ASan catches over-reads. */
static char *
dup_n(const char *s, size_t len)
{
	char *copy = malloc(len ? len : 1);
	assert_non_null(copy);
	memcpy(copy, s, len);
	return copy;
}

static int
cmd_n(const char *s, size_t len, struct smtp_cmd *cmd, struct smtp_error *err)
{
	char *c = dup_n(s, len);
	int rc = smtp_cmd_parse(c, len, cmd, err);
	/* args point into the line: rebase them before the copy goes */
	if (rc == 0 && cmd->argslen > 0)
		cmd->args = s + (cmd->args - c);
	free(c);
	return rc;
}

static int
mail(const char *s, struct mailbox *from, bool *null_sender, struct mail_params *p,
    struct smtp_error *err)
{
	size_t len = strlen(s);
	char *c = dup_n(s, len);
	int rc = smtp_parse_mail(c, len, from, null_sender, p, err);
	free(c);
	return rc;
}

static int
rcpt(const char *s, struct mailbox *to, bool utf8, struct smtp_error *err)
{
	size_t len = strlen(s);
	char *c = dup_n(s, len);
	int rc = smtp_parse_rcpt(c, len, to, utf8, err);
	free(c);
	return rc;
}

static int
bdat(const char *s, uint64_t *size, bool *last, struct smtp_error *err)
{
	size_t len = strlen(s);
	char *c = dup_n(s, len);
	int rc = smtp_parse_bdat(c, len, size, last, err);
	free(c);
	return rc;
}

static int
helo(const char *s, char *out, size_t outlen, struct smtp_error *err)
{
	size_t len = strlen(s);
	char *c = dup_n(s, len);
	int rc = smtp_parse_helo(c, len, out, outlen, err);
	free(c);
	return rc;
}

static void
expect_cmd(const char *line, enum smtp_verb verb, const char *args)
{
	struct smtp_cmd cmd;
	struct smtp_error err;

	if (cmd_n(line, strlen(line), &cmd, &err) != 0)
		fail_msg("\"%s\" refused", line);
	if (cmd.verb != verb)
		fail_msg("\"%s\": verb %d, want %d", line, cmd.verb, verb);
	assert_int_equal(cmd.argslen, strlen(args));
	assert_memory_equal(cmd.argslen ? cmd.args : "", args, strlen(args));
}

static void
expect_error(const struct smtp_error *err, int code, const char *status)
{
	assert_int_equal(err->code, code);
	assert_string_equal(err->status, status);
	assert_non_null(err->text);
	assert_true(strlen(err->text) > 0);
}

static void
test_verbs(void **state)
{
	static const struct {
		const char *name;
		enum smtp_verb verb;
	} all[] = {
		{ "HELO", SMTP_CMD_HELO }, { "EHLO", SMTP_CMD_EHLO }, { "MAIL", SMTP_CMD_MAIL },
		{ "RCPT", SMTP_CMD_RCPT }, { "DATA", SMTP_CMD_DATA }, { "BDAT", SMTP_CMD_BDAT },
		{ "RSET", SMTP_CMD_RSET }, { "NOOP", SMTP_CMD_NOOP }, { "HELP", SMTP_CMD_HELP },
		{ "VRFY", SMTP_CMD_VRFY }, { "EXPN", SMTP_CMD_EXPN }, { "QUIT", SMTP_CMD_QUIT },
		{ "STARTTLS", SMTP_CMD_STARTTLS }, { "AUTH", SMTP_CMD_AUTH },
	};
	char line[64];

	(void)state;
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
		expect_cmd(all[i].name, all[i].verb, "");
		snprintf(line, sizeof line, "%s arg", all[i].name);
		expect_cmd(line, all[i].verb, "arg");
		/* any case */
		for (size_t j = 0; line[j] != '\0'; j++) {
			if (j % 2 == 0 && line[j] >= 'A' && line[j] <= 'Z')
				line[j] = (char)(line[j] + 32);
		}
		expect_cmd(line, all[i].verb, "arg");
	}
}

static void
test_cmd_args(void **state)
{
	(void)state;
	expect_cmd("MAIL FROM:<a@b>", SMTP_CMD_MAIL, "FROM:<a@b>");
	expect_cmd("mail from:<a@b> SIZE=10", SMTP_CMD_MAIL, "from:<a@b> SIZE=10");
	expect_cmd("RCPT TO:<a@b>   ", SMTP_CMD_RCPT, "TO:<a@b>");
	expect_cmd("EHLO   mx.example.com  ", SMTP_CMD_EHLO, "mx.example.com");
	expect_cmd("DATA ", SMTP_CMD_DATA, "");
	expect_cmd("AUTH PLAIN dGVzdAB0ZXN0AHRlc3Q=", SMTP_CMD_AUTH, "PLAIN dGVzdAB0ZXN0AHRlc3Q=");
	expect_cmd("BDAT 100 LAST", SMTP_CMD_BDAT, "100 LAST");
	expect_cmd("NOOP caf\xc3\xa9", SMTP_CMD_NOOP, "caf\xc3\xa9");
	/* unknown verbs are not errors */
	expect_cmd("", SMTP_CMD_UNKNOWN, "");
	expect_cmd("MAILX FROM:<a@b>", SMTP_CMD_UNKNOWN, "FROM:<a@b>");
	expect_cmd("XYZZY foo", SMTP_CMD_UNKNOWN, "foo");
	expect_cmd("MAI", SMTP_CMD_UNKNOWN, "");
	expect_cmd("STARTTLSX", SMTP_CMD_UNKNOWN, "");
	expect_cmd(" MAIL FROM:<a@b>", SMTP_CMD_UNKNOWN, "MAIL FROM:<a@b>");
	expect_cmd("GET / HTTP/1.0", SMTP_CMD_UNKNOWN, "/ HTTP/1.0");
}

static void
test_cmd_control(void **state)
{
	static const struct {
		const char *s;
		size_t len;
	} bad[] = {
		{ "NOOP\x01", 5 }, { "NO\0OP", 5 }, { "NOOP\t", 5 }, { "NOOP\x7f", 5 },
		{ "MAIL FROM:<a@b>\r", 16 }, { "MAIL FROM:<a@b>\n", 16 }, { "\0", 1 },
		{ "RCPT TO:<a\x1b@b>", 15 },
	};
	struct smtp_cmd cmd;
	struct smtp_error err;

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memset(&err, 0, sizeof err);
		assert_int_equal(cmd_n(bad[i].s, bad[i].len, &cmd, &err), -1);
		expect_error(&err, 500, "5.5.2");
	}
	/* only len octets count */
	assert_int_equal(cmd_n("QUIT\x01", 4, &cmd, &err), 0);
	assert_int_equal(cmd.verb, SMTP_CMD_QUIT);
}

static void
expect_mail_ok(const char *args, const char *local, const char *domain,
    struct mail_params *p)
{
	struct mailbox from;
	bool null_sender = true;
	struct smtp_error err = { 0 };

	if (mail(args, &from, &null_sender, p, &err) != 0)
		fail_msg("MAIL \"%s\" refused: %d %s %s", args, err.code, err.status, err.text);
	assert_false(null_sender);
	assert_string_equal(from.local, local);
	assert_string_equal(from.domain, domain);
}

static void
expect_mail_err(const char *args, int code, const char *status)
{
	struct mailbox from;
	bool null_sender;
	struct mail_params p;
	struct smtp_error err = { 0 };

	if (mail(args, &from, &null_sender, &p, &err) != -1)
		fail_msg("MAIL \"%s\" accepted", args);
	if (err.code != code || strcmp(err.status, status) != 0)
		fail_msg("MAIL \"%s\": %d %s, want %d %s", args, err.code, err.status, code, status);
	expect_error(&err, code, status);
}

static void
test_mail_path(void **state)
{
	struct mail_params p;
	struct mailbox from;
	bool null_sender = false;
	struct smtp_error err;

	(void)state;
	expect_mail_ok("FROM:<a@b.c>", "a", "b.c", &p);
	assert_false(p.has_size);
	assert_int_equal(p.body, BODY_7BIT);
	assert_false(p.smtputf8);
	assert_false(p.has_auth);
	expect_mail_ok("from:<A@B.C>", "A", "b.c", &p);
	expect_mail_ok("FROM: <a@b>", "a", "b", &p);
	expect_mail_ok("FROM:   <a@b>", "a", "b", &p);
	expect_mail_ok("FROM:<@r1,@r2:a@b>", "a", "b", &p);
	expect_mail_ok("FROM:<\"x y\"@b>", "\"x y\"", "b", &p);

	assert_int_equal(mail("FROM:<>", &from, &null_sender, &p, &err), 0);
	assert_true(null_sender);
	assert_int_equal(mail("FROM:<> SIZE=5", &from, &null_sender, &p, &err), 0);
	assert_true(null_sender);
	assert_int_equal(p.size, 5);

	expect_mail_err("", 501, "5.5.4");
	expect_mail_err("FROM", 501, "5.5.4");
	expect_mail_err("FROM<a@b>", 501, "5.5.4");
	expect_mail_err("TO:<a@b>", 501, "5.5.4");
	expect_mail_err("FROM :<a@b>", 501, "5.5.4");
	expect_mail_err("FROM:", 501, "5.1.7");
	expect_mail_err("FROM:a@b", 501, "5.1.7");
	expect_mail_err("FROM:<a@@b>", 501, "5.1.7");
	expect_mail_err("FROM:<a@b", 501, "5.1.7");
	expect_mail_err("FROM:<a@b>x", 501, "5.1.7");
	expect_mail_err("FROM:<a@b>SIZE=1", 501, "5.1.7");
	expect_mail_err("FROM:<a@-b>", 501, "5.1.7");
	expect_mail_err("FROM:<a@b> <c@d>", 501, "5.5.4");
}

static void
test_mail_size(void **state)
{
	struct mail_params p;

	(void)state;
	expect_mail_ok("FROM:<a@b> SIZE=1000", "a", "b", &p);
	assert_true(p.has_size);
	assert_int_equal(p.size, 1000);
	expect_mail_ok("FROM:<a@b> size=0", "a", "b", &p);
	assert_true(p.has_size);
	assert_int_equal(p.size, 0);
	expect_mail_ok("FROM:<a@b> SIZE=18446744073709551615", "a", "b", &p);
	assert_true(p.size == UINT64_MAX);
	/* too large for 64 bits: saturated, so the session's limit check says 552 */
	expect_mail_ok("FROM:<a@b> SIZE=18446744073709551616", "a", "b", &p);
	assert_true(p.size == UINT64_MAX);
	expect_mail_ok("FROM:<a@b> SIZE=999999999999999999999999999999", "a", "b", &p);
	assert_true(p.size == UINT64_MAX);
	expect_mail_err("FROM:<a@b> SIZE=", 501, "5.5.4");
	expect_mail_err("FROM:<a@b> SIZE", 501, "5.5.4");
	expect_mail_err("FROM:<a@b> SIZE=12a", 501, "5.5.4");
	expect_mail_err("FROM:<a@b> SIZE=-1", 501, "5.5.4");
	expect_mail_err("FROM:<a@b> SIZE=+1", 501, "5.5.4");
	expect_mail_err("FROM:<a@b> SIZE=1 SIZE=2", 501, "5.5.4");
}

static void
test_mail_body(void **state)
{
	struct mail_params p;

	(void)state;
	expect_mail_ok("FROM:<a@b> BODY=8BITMIME", "a", "b", &p);
	assert_int_equal(p.body, BODY_8BITMIME);
	expect_mail_ok("FROM:<a@b> body=8bitmime", "a", "b", &p);
	assert_int_equal(p.body, BODY_8BITMIME);
	expect_mail_ok("FROM:<a@b> BODY=7BIT", "a", "b", &p);
	assert_int_equal(p.body, BODY_7BIT);
	expect_mail_ok("FROM:<a@b> BODY=BinaryMIME", "a", "b", &p);
	assert_int_equal(p.body, BODY_BINARYMIME);
	expect_mail_err("FROM:<a@b> BODY=9BIT", 501, "5.5.4");
	expect_mail_err("FROM:<a@b> BODY=", 501, "5.5.4");
	expect_mail_err("FROM:<a@b> BODY", 501, "5.5.4");
	expect_mail_err("FROM:<a@b> BODY=8BITMIMEX", 501, "5.5.4");
	expect_mail_err("FROM:<a@b> BODY=7BIT BODY=8BITMIME", 501, "5.5.4");
}

static void
test_mail_smtputf8(void **state)
{
	struct mail_params p;

	(void)state;
	expect_mail_ok("FROM:<a@b> SMTPUTF8", "a", "b", &p);
	assert_true(p.smtputf8);
	expect_mail_ok("FROM:<j\xc3\xb6rg@b\xc3\xbc" "cher.example> smtputf8", "j\xc3\xb6rg",
	    "b\xc3\xbc" "cher.example", &p);
	assert_true(p.smtputf8);
	expect_mail_err("FROM:<j\xc3\xb6rg@b>", 553, "5.6.7");
	expect_mail_err("FROM:<j\xc3\xb6rg@b> BODY=8BITMIME", 553, "5.6.7");
	expect_mail_err("FROM:<j\xff@b> SMTPUTF8", 501, "5.1.7");
	expect_mail_err("FROM:<a@b> SMTPUTF8=yes", 501, "5.5.4");
	expect_mail_err("FROM:<a@b> SMTPUTF8=", 501, "5.5.4");
	expect_mail_err("FROM:<a@b> SMTPUTF8 SMTPUTF8", 501, "5.5.4");
}

static void
test_mail_auth(void **state)
{
	struct mail_params p;
	char buf[600];

	(void)state;
	expect_mail_ok("FROM:<a@b> AUTH=<>", "a", "b", &p);
	assert_true(p.has_auth);
	assert_string_equal(p.auth, "");
	expect_mail_ok("FROM:<a@b> AUTH=user+2Btag@example.com", "a", "b", &p);
	assert_true(p.has_auth);
	assert_string_equal(p.auth, "user+tag@example.com");
	expect_mail_ok("FROM:<a@b> auth=a+3Db+2bc", "a", "b", &p);
	assert_string_equal(p.auth, "a=b+c");
	expect_mail_ok("FROM:<a@b> AUTH=a+20b", "a", "b", &p);
	assert_string_equal(p.auth, "a b");
	expect_mail_err("FROM:<a@b> AUTH", 501, "5.5.4");
	expect_mail_err("FROM:<a@b> AUTH=", 501, "5.5.4");
	expect_mail_err("FROM:<a@b> AUTH=a+2", 501, "5.5.4");
	expect_mail_err("FROM:<a@b> AUTH=a+", 501, "5.5.4");
	expect_mail_err("FROM:<a@b> AUTH=a+ZZ", 501, "5.5.4");
	expect_mail_err("FROM:<a@b> AUTH=a=b", 501, "5.5.4");
	expect_mail_err("FROM:<a@b> AUTH=a+00", 501, "5.5.4");
	expect_mail_err("FROM:<a@b> AUTH=a+0D+0A", 501, "5.5.4");
	expect_mail_err("FROM:<a@b> AUTH=caf\xc3\xa9", 501, "5.5.4");
	expect_mail_err("FROM:<a@b> AUTH=<> AUTH=<>", 501, "5.5.4");
	/* decoded longer than the field */
	memset(buf, 0, sizeof buf);
	strcpy(buf, "FROM:<a@b> AUTH=");
	memset(buf + strlen(buf), 'x', ADDR_MAX + 1);
	expect_mail_err(buf, 501, "5.5.4");
	memset(buf, 0, sizeof buf);
	strcpy(buf, "FROM:<a@b> AUTH=");
	memset(buf + strlen(buf), 'x', ADDR_MAX);
	expect_mail_ok(buf, "a", "b", &p);
	assert_int_equal(strlen(p.auth), ADDR_MAX);
}

static void
test_mail_params(void **state)
{
	struct mail_params p;

	(void)state;
	expect_mail_ok("FROM:<a@b>  SIZE=10   BODY=8BITMIME SMTPUTF8 AUTH=<>  ", "a", "b", &p);
	assert_true(p.has_size);
	assert_int_equal(p.size, 10);
	assert_int_equal(p.body, BODY_8BITMIME);
	assert_true(p.smtputf8);
	assert_true(p.has_auth);
	expect_mail_err("FROM:<a@b> RET=HDRS", 555, "5.5.4");
	expect_mail_err("FROM:<a@b> ENVID=x", 555, "5.5.4");
	expect_mail_err("FROM:<a@b> FOO", 555, "5.5.4");
	expect_mail_err("FROM:<a@b> SIZE=10 X-FOO=bar", 555, "5.5.4");
	expect_mail_err("FROM:<a@b> SIZES=10", 555, "5.5.4");
	expect_mail_err("FROM:<a@b> =x", 501, "5.5.4");
	expect_mail_err("FROM:<a@b> -X=1", 501, "5.5.4");
	expect_mail_err("FROM:<a@b> S_IZE=1", 501, "5.5.4");
}

static void
expect_rcpt_ok(const char *args, bool utf8, const char *local, const char *domain)
{
	struct mailbox to;
	struct smtp_error err = { 0 };

	if (rcpt(args, &to, utf8, &err) != 0)
		fail_msg("RCPT \"%s\" refused: %d %s", args, err.code, err.status);
	assert_string_equal(to.local, local);
	assert_string_equal(to.domain, domain);
}

static void
expect_rcpt_err(const char *args, bool utf8, int code, const char *status)
{
	struct mailbox to;
	struct smtp_error err = { 0 };

	if (rcpt(args, &to, utf8, &err) != -1)
		fail_msg("RCPT \"%s\" accepted", args);
	if (err.code != code || strcmp(err.status, status) != 0)
		fail_msg("RCPT \"%s\": %d %s, want %d %s", args, err.code, err.status, code, status);
	expect_error(&err, code, status);
}

static void
test_rcpt(void **state)
{
	(void)state;
	expect_rcpt_ok("TO:<a@b.c>", false, "a", "b.c");
	expect_rcpt_ok("to:<A@B.C>", false, "A", "b.c");
	expect_rcpt_ok("TO: <a@b>", false, "a", "b");
	expect_rcpt_ok("TO:<a@b>  ", false, "a", "b");
	expect_rcpt_ok("TO:<@r1,@r2:a@b>", false, "a", "b");
	expect_rcpt_ok("TO:<postmaster>", false, "postmaster", "");
	expect_rcpt_ok("TO:<PostMaster>", false, "postmaster", "");
	expect_rcpt_ok("TO:<POSTMASTER> ", false, "postmaster", "");
	expect_rcpt_ok("TO:<postmaster@Example.com>", false, "postmaster", "example.com");
	expect_rcpt_ok("TO:<j\xc3\xb6rg@b>", true, "j\xc3\xb6rg", "b");
	expect_rcpt_err("TO:<j\xc3\xb6rg@b>", false, 553, "5.6.7");
	expect_rcpt_err("TO:<j\xff@b>", true, 501, "5.1.3");
	expect_rcpt_err("TO:<>", false, 501, "5.1.3");
	expect_rcpt_err("TO:a@b", false, 501, "5.1.3");
	expect_rcpt_err("TO:", false, 501, "5.1.3");
	expect_rcpt_err("TO:<a@b", false, 501, "5.1.3");
	expect_rcpt_err("TO:<a@b>x", false, 501, "5.1.3");
	expect_rcpt_err("TO:<postmaster>x", false, 501, "5.1.3");
	expect_rcpt_err("TO:<postmaster", false, 501, "5.1.3");
	expect_rcpt_err("TO:<post master>", false, 501, "5.1.3");
	expect_rcpt_err("TO:<a@b> NOTIFY=NEVER", false, 555, "5.5.4");
	expect_rcpt_err("TO:<a@b> ORCPT=rfc822;a@b", false, 555, "5.5.4");
	expect_rcpt_err("TO:<postmaster> X", false, 555, "5.5.4");
	expect_rcpt_err("FROM:<a@b>", false, 501, "5.5.4");
	expect_rcpt_err("T:<a@b>", false, 501, "5.5.4");
	expect_rcpt_err("", false, 501, "5.5.4");
}

static void
test_bdat(void **state)
{
	uint64_t size = 7;
	bool last = true;
	struct smtp_error err = { 0 };

	(void)state;
	assert_int_equal(bdat("100", &size, &last, &err), 0);
	assert_int_equal(size, 100);
	assert_false(last);
	assert_int_equal(bdat("0 LAST", &size, &last, &err), 0);
	assert_int_equal(size, 0);
	assert_true(last);
	last = false;
	assert_int_equal(bdat("42 last", &size, &last, &err), 0);
	assert_int_equal(size, 42);
	assert_true(last);
	assert_int_equal(bdat("42   LaSt  ", &size, &last, &err), 0);
	assert_true(last);
	assert_int_equal(bdat("18446744073709551615", &size, &last, &err), 0);
	assert_true(size == UINT64_MAX);
	const char *bad[] = {
		"", " ", "LAST", "100LAST", "100 LASTX", "100 LAST x", "-1", "+1", "1 2",
		"18446744073709551616", "99999999999999999999999", "0x10", "10 LAS", "1.5",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memset(&err, 0, sizeof err);
		if (bdat(bad[i], &size, &last, &err) != -1)
			fail_msg("BDAT \"%s\" accepted", bad[i]);
		expect_error(&err, 501, "5.5.4");
	}
}

static void
test_helo(void **state)
{
	char out[ADDR_DOMAIN_MAX + 1];
	struct smtp_error err = { 0 };
	char buf[400];

	(void)state;
	assert_int_equal(helo("mx.example.com", out, sizeof out, &err), 0);
	assert_string_equal(out, "mx.example.com");
	assert_int_equal(helo("[192.0.2.1]", out, sizeof out, &err), 0);
	assert_string_equal(out, "[192.0.2.1]");
	assert_int_equal(helo("  foo bar  ", out, sizeof out, &err), 0);
	assert_string_equal(out, "foo bar");
	assert_int_equal(helo("not_a-valid..name!", out, sizeof out, &err), 0);
	assert_string_equal(out, "not_a-valid..name!");
	const char *bad[] = { "", "   ", "a\x01" "b", "caf\xc3\xa9", "a\x7f", "a\tb" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memset(&err, 0, sizeof err);
		if (helo(bad[i], out, sizeof out, &err) != -1)
			fail_msg("HELO \"%s\" accepted", bad[i]);
		expect_error(&err, 501, "5.5.4");
	}
	memset(buf, 'h', ADDR_DOMAIN_MAX);
	buf[ADDR_DOMAIN_MAX] = '\0';
	assert_int_equal(helo(buf, out, sizeof out, &err), 0);
	assert_int_equal(strlen(out), ADDR_DOMAIN_MAX);
	memset(buf, 'h', ADDR_DOMAIN_MAX + 1);
	buf[ADDR_DOMAIN_MAX + 1] = '\0';
	memset(&err, 0, sizeof err);
	assert_int_equal(helo(buf, out, sizeof out, &err), -1);
	expect_error(&err, 501, "5.5.4");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verbs),
		cmocka_unit_test(test_cmd_args),
		cmocka_unit_test(test_cmd_control),
		cmocka_unit_test(test_mail_path),
		cmocka_unit_test(test_mail_size),
		cmocka_unit_test(test_mail_body),
		cmocka_unit_test(test_mail_smtputf8),
		cmocka_unit_test(test_mail_auth),
		cmocka_unit_test(test_mail_params),
		cmocka_unit_test(test_rcpt),
		cmocka_unit_test(test_bdat),
		cmocka_unit_test(test_helo),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
