/*
 * test_log.c - unit tests for the event lines of log.c and the journal fields of
 * log_journal.c: bare and quoted values, escaping of text from the network (no value
 * can pass for another key), addresses and numbers, keys left out, lines cut to fit
 * that still parse, and the fields one event gives the journal.
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

#include "util/log.h"
#include "util/log_journal.h"

#define FMT(buf, event, ...) log_format((buf), sizeof(buf), (event), \
	(const struct log_kv[]){ __VA_ARGS__ __VA_OPT__(,) { 0 } })

static bool
is_lower_word(char c, bool dash)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (dash ? c == '-' : c == '_');
}

/*
 * parse - whether line is "event=NAME( key=value)*" as docs/logs.md has it; the keys
 * seen go to keys (space-separated), the values to vals (one a line, quotes removed).
 */
static bool
parse(const char *line, char *keys, size_t keyslen, char *vals, size_t valslen)
{
	const char *p = line;
	size_t kl = 0, vl = 0;

	if (strncmp(p, "event=", 6) != 0)
		return false;
	p += 6;
	if (!(*p >= 'a' && *p <= 'z'))
		return false;
	while (is_lower_word(*p, true))
		p++;
	while (*p == ' ') {
		p++;
		if (!(*p >= 'a' && *p <= 'z'))
			return false;
		while (is_lower_word(*p, false)) {
			if (kl + 2 < keyslen)
				keys[kl++] = *p;
			p++;
		}
		if (kl + 2 < keyslen)
			keys[kl++] = ' ';
		if (*p++ != '=')
			return false;
		if (*p == '"') {
			for (p++; *p != '"'; p++) {
				if (*p == '\0')
					return false;
				if (*p == '\\') {
					p++;
					if (*p == '\0')
						return false;
					if (*p != '"' && vl + 2 < valslen)
						vals[vl++] = '\\';
				}
				if (vl + 2 < valslen)
					vals[vl++] = *p;
			}
			p++;
		} else {
			if (*p == '\0' || *p == ' ')
				return false;
			for (; *p && *p != ' '; p++) {
				if (*p == '"' || (unsigned char)*p >= 0x80)
					return false;
				if (vl + 2 < valslen)
					vals[vl++] = *p;
			}
		}
		if (*p != ' ' && *p != '\0')
			return false;
		if (vl + 2 < valslen)
			vals[vl++] = '\n';
	}
	if (keys != NULL)
		keys[kl] = '\0';
	if (vals != NULL)
		vals[vl] = '\0';
	return *p == '\0';
}

static void
test_bare(void **state)
{
	char b[256];

	(void)state;
	FMT(b, "started");
	assert_string_equal(b, "event=started");
	FMT(b, "accept", KS("qid", "0123456789ABCDEF"), KS("client", "192.0.2.1"),
	    KA("from", "a@b.example"), KN("size", 312), KN("delta", -5));
	assert_string_equal(b, "event=accept qid=0123456789ABCDEF client=192.0.2.1 "
	    "from=<a@b.example> size=312 delta=-5");
	FMT(b, "x", KA("from", ""), KS("relay", "mx.example[192.0.2.7]:25"));
	assert_string_equal(b, "event=x from=<> relay=mx.example[192.0.2.7]:25");
}

static void
test_quoted(void **state)
{
	char b[256];

	(void)state;
	FMT(b, "delivery", KS("status", "sent"), KS("reason", "250 2.0.0 Ok: queued as X"));
	assert_string_equal(b, "event=delivery status=sent reason=\"250 2.0.0 Ok: queued as X\"");
	FMT(b, "x", KS("empty", ""));
	assert_string_equal(b, "event=x empty=\"\"");
	FMT(b, "x", KS("q", "say \"hi\""), KS("bare", "a\"b"));
	assert_string_equal(b, "event=x q=\"say \\\"hi\\\"\" bare=\"a\\\"b\"");
	/* anything past ASCII is quoted: no Unicode space can split a bare value */
	FMT(b, "x", KS("helo", "caf\xc3\xa9"), KS("nbsp", "a\xc2\xa0" "b"));
	assert_string_equal(b, "event=x helo=\"caf\xc3\xa9\" nbsp=\"a\xc2\xa0" "b\"");
	FMT(b, "x", KA("to", "\"a b\"@example.test"));
	assert_string_equal(b, "event=x to=\"<\\\"a b\\\"@example.test>\"");
}

static void
test_escaped(void **state)
{
	char b[256], keys[128], vals[256];

	(void)state;
	/* a line break, a terminal escape, a backslash: escaped, the line stays one */
	FMT(b, "x", KS("helo", "evil\r\nevent=forged"), KS("t", "\x1b[31m"), KS("bs", "a\\b"));
	assert_string_equal(b, "event=x helo=evil\\x0d\\x0aevent=forged t=\\x1b[31m bs=a\\\\b");
	/* text that looks like more keys stays inside its own value */
	FMT(b, "reject", KS("client", "192.0.2.1"), KA("from", "x> client=10.0.0.1 status=sent <y"));
	assert_true(parse(b, keys, sizeof keys, vals, sizeof vals));
	assert_string_equal(keys, "client from ");
	assert_string_equal(vals, "192.0.2.1\n<x> client=10.0.0.1 status=sent <y>\n");
	/* a quote and a backslash at the end of a value cannot end the quotes early */
	FMT(b, "x", KS("a", "end\\"), KS("b", "\\\" c=d"));
	assert_true(parse(b, keys, sizeof keys, vals, sizeof vals));
	assert_string_equal(keys, "a b ");
}

static void
test_left_out(void **state)
{
	char b[256];

	(void)state;
	FMT(b, "accept", KS("qid", "Q"), KS("login", NULL), KA("from", NULL), KN("n", 0));
	assert_string_equal(b, "event=accept qid=Q n=0");
}

static void
test_cut(void **state)
{
	char big[4000], b[600], keys[256];

	(void)state;
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	size_t n = FMT(b, "accept", KS("qid", "Q"), KS("to", big), KS("after", "y"));
	assert_int_equal(n, strlen(b));
	assert_true(n < sizeof b);
	assert_true(parse(b, keys, sizeof keys, NULL, 0));
	assert_string_equal(keys, "qid to ");
	assert_memory_equal(b + n - 3, "...", 3);
	/* all quotes: the value doubles once quoted, and is cut to fit still */
	memset(big, '"', sizeof big - 1);
	n = FMT(b, "x", KS("q", big));
	assert_true(n < sizeof b);
	assert_true(parse(b, keys, sizeof keys, NULL, 0));
	assert_string_equal(keys, "q ");
}

/* test_random - random values in lines of every length: each line parses. */
static void
test_random(void **state)
{
	static const char alphabet[] = "ab =\"\\<>\x01\n\x7f\xc3\xa9\xe2\x80\xae\xff ";
	char vals[4][80], line[400], keys[256];
	uint32_t x = 12345;

	(void)state;
	for (int round = 0; round < 3000; round++) {
		for (int i = 0; i < 4; i++) {
			x = x * 1103515245 + 12345;
			size_t len = (x >> 16) % (sizeof vals[i] - 1);
			for (size_t j = 0; j < len; j++) {
				x = x * 1103515245 + 12345;
				vals[i][j] = alphabet[(x >> 16) % (sizeof alphabet - 1)];
			}
			vals[i][len] = '\0';
		}
		size_t cap = 8 + (size_t)round % (sizeof line - 8);
		const struct log_kv kv[] = { KS("a", vals[0]), KA("from", vals[1]), KN("n", round),
			KS("reason", vals[2]), KA("to", vals[3]), { 0 } };
		size_t n = log_format(line, cap, "ev-name", kv);
		assert_int_equal(n, strlen(line));
		assert_true(n < cap);
		if (!parse(line, keys, sizeof keys, NULL, 0))
			fail_msg("round %d, room %zu: does not parse: %s", round, cap, line);
	}
}

static const char *
field_of(struct iovec *iov, int n, const char *name)
{
	size_t l = strlen(name);

	for (int i = 0; i < n; i++)
		if (iov[i].iov_len > l && memcmp(iov[i].iov_base, name, l) == 0 &&
		    ((char *)iov[i].iov_base)[l] == '=')
			return (char *)iov[i].iov_base + l + 1;
	return NULL;
}

static void
test_journal_fields(void **state)
{
	struct iovec iov[LOG_JOURNAL_FIELDS];
	char buf[8192], body[512];
	const struct log_kv kv[] = { KS("qid", "Q1"), KS("client", "192.0.2.1"),
		KA("from", "a@b.example"), KS("login", NULL), KN("size", 42),
		KS("reason", "x \"y\"\r\n"), { 0 } };

	(void)state;
	log_format(body, sizeof body, "accept", kv);
	int n = log_journal_fields(iov, buf, sizeof buf, 4, "smtpd", "warning: ", body, "accept", kv);
	assert_int_equal(n, 11);
	for (int i = 0; i < n; i++) /* each a string of its own, as sd_journal_sendv wants */
		assert_int_equal(strlen(iov[i].iov_base), iov[i].iov_len);
	char want[600];
	snprintf(want, sizeof want, "smtpd: warning: %s", body);
	assert_string_equal(field_of(iov, n, "MESSAGE"), want);
	assert_string_equal(field_of(iov, n, "PRIORITY"), "4");
	assert_string_equal(field_of(iov, n, "SYSLOG_IDENTIFIER"), "mailroom");
	assert_string_equal(field_of(iov, n, "SYSLOG_FACILITY"), "2");
	assert_string_equal(field_of(iov, n, "ROLE"), "smtpd");
	assert_string_equal(field_of(iov, n, "EVENT"), "accept");
	assert_string_equal(field_of(iov, n, "QID"), "Q1");
	assert_string_equal(field_of(iov, n, "CLIENT"), "192.0.2.1");
	assert_string_equal(field_of(iov, n, "FROM"), "<a@b.example>");
	assert_string_equal(field_of(iov, n, "SIZE"), "42");
	/* escaped as in the line (no line break in a field), but not quoted */
	assert_string_equal(field_of(iov, n, "REASON"), "x \"y\"\\x0d\\x0a");
	assert_null(field_of(iov, n, "LOGIN"));

	/* a free-form line (debug): the fixed fields only */
	n = log_journal_fields(iov, buf, sizeof buf, 7, "queued", "debug: ", "text", NULL, NULL);
	assert_int_equal(n, 5);
	assert_null(field_of(iov, n, "EVENT"));

	/* too small a buffer: fields left out, never half a field */
	n = log_journal_fields(iov, buf, 40, 6, "smtpd", "", body, "accept", kv);
	for (int i = 0; i < n; i++)
		assert_int_equal(strlen(iov[i].iov_base), iov[i].iov_len);
	assert_null(field_of(iov, n, "MESSAGE"));
	assert_string_equal(field_of(iov, n, "PRIORITY"), "6");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bare),
		cmocka_unit_test(test_quoted),
		cmocka_unit_test(test_escaped),
		cmocka_unit_test(test_left_out),
		cmocka_unit_test(test_cut),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_journal_fields),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
