/*
 * test_vacation.c - unit tests for the vacation rules (deliver/vacation_rules.c:
 * each reason not to reply, the address-list reading, the parent's Message-ID) and
 * the reply builder (deliver/vacation_msg.c: the headers RFC 3834 asks for, the
 * MIME parts, RFC 2047 subjects, quoted-printable bodies), decoded back here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "deliver/vacation_msg.h"
#include "deliver/vacation_rules.h"

#define USER "demo@example.test"

static const char base_headers[] =
    "From: Alice <alice@remote.test>\n"
    "To: Demo <demo@example.test>\n"
    "Subject: hello\n"
    "Message-ID: <m1@remote.test>\n";

/* decide - the rules for sender and base_headers plus extra (a header block). */
static enum vacation_reason
decide(const char *sender, const char *orig, const char *headers)
{
	struct vacation_facts f = { sender, USER, orig, headers, strlen(headers) };
	return vacation_decide(&f);
}

static enum vacation_reason
decide_extra(const char *extra)
{
	char h[2048];
	snprintf(h, sizeof h, "%s%s", base_headers, extra);
	return decide("alice@remote.test", USER, h);
}

static void
test_plain_reply(void **state)
{
	assert_int_equal(decide("alice@remote.test", USER, base_headers), VACATION_REPLY);
	assert_int_equal(decide_extra("Auto-Submitted: no\n"), VACATION_REPLY);
	assert_int_equal(decide_extra("Auto-Submitted: No (a person)\n"), VACATION_REPLY);
	assert_int_equal(decide_extra("Precedence: first-class\n"), VACATION_REPLY);
	/* CRLF ends as well */
	assert_int_equal(decide("alice@remote.test", USER,
	    "To: demo@example.test\r\nSubject: x\r\n"), VACATION_REPLY);
}

static void
test_null_and_daemon_senders(void **state)
{
	assert_int_equal(decide("", USER, base_headers), VACATION_NULL_SENDER);
	assert_int_equal(decide(NULL, USER, base_headers), VACATION_NULL_SENDER);
	static const char *const daemons[] = { "MAILER-DAEMON@remote.test", "mailer-daemon@x.test",
		"Postmaster@remote.test", "owner-talk@lists.test", "talk-owner@lists.test",
		"talk-request@lists.test", "talk-bounces@lists.test", "LISTSERV@lists.test",
		"majordomo@lists.test" };
	for (size_t i = 0; i < sizeof daemons / sizeof daemons[0]; i++) {
		assert_true(vacation_daemon_sender(daemons[i]));
		assert_int_equal(decide(daemons[i], USER, base_headers), VACATION_DAEMON_SENDER);
	}
	static const char *const people[] = { "alice@remote.test", "owner@remote.test",
		"requester@remote.test", "owner-@remote.test", "postmasters@remote.test",
		"daemon@remote.test" };
	for (size_t i = 0; i < sizeof people / sizeof people[0]; i++)
		assert_false(vacation_daemon_sender(people[i]));
}

static void
test_own_sender(void **state)
{
	assert_int_equal(decide("demo@example.test", USER, base_headers), VACATION_OWN_SENDER);
	assert_int_equal(decide("Demo@Example.TEST", USER, base_headers), VACATION_OWN_SENDER);
	assert_int_equal(decide("demo+x@example.test", USER, base_headers), VACATION_OWN_SENDER);
	/* the envelope recipient (an alias) is the user too */
	assert_int_equal(decide("info@example.test", "info@example.test", base_headers),
	    VACATION_OWN_SENDER);
}

static void
test_header_rules(void **state)
{
	assert_int_equal(decide_extra("Auto-Submitted: auto-generated\n"), VACATION_AUTO_SUBMITTED);
	assert_int_equal(decide_extra("Auto-Submitted: auto-replied\n"), VACATION_AUTO_SUBMITTED);
	assert_int_equal(decide_extra("auto-submitted:Auto-Notified; owner-email=x@y\n"),
	    VACATION_AUTO_SUBMITTED);
	assert_int_equal(decide_extra("Auto-Submitted:\n"), VACATION_AUTO_SUBMITTED);
	assert_int_equal(decide_extra("Precedence: bulk\n"), VACATION_PRECEDENCE);
	assert_int_equal(decide_extra("Precedence: LIST\n"), VACATION_PRECEDENCE);
	assert_int_equal(decide_extra("PRECEDENCE:  junk (spam)\n"), VACATION_PRECEDENCE);
	static const char *const lists[] = { "List-Id: <talk.lists.test>\n",
		"List-Unsubscribe: <mailto:x@y>\n", "List-Post: NO\n", "list-help: <x>\n",
		"List-Subscribe: <x>\n", "List-Owner: <x>\n", "List-Archive: <x>\n" };
	for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++)
		assert_int_equal(decide_extra(lists[i]), VACATION_LIST);
	/* the strongest reason wins whatever the order of the fields */
	assert_int_equal(decide_extra("List-Id: <t>\nPrecedence: list\nAuto-Submitted: auto-generated\n"),
	    VACATION_AUTO_SUBMITTED);
	assert_int_equal(decide_extra("List-Id: <t>\nPrecedence: bulk\n"), VACATION_PRECEDENCE);
	/* a field that only looks like one */
	assert_int_equal(decide_extra("X-List-Id: <t>\nX-Precedence: bulk\n"), VACATION_REPLY);
}

static void
test_not_addressed(void **state)
{
	assert_int_equal(decide("alice@remote.test", USER,
	    "To: everyone@remote.test\nSubject: x\n"), VACATION_NOT_ADDRESSED);
	assert_int_equal(decide("alice@remote.test", USER, "Subject: no recipients\n"),
	    VACATION_NOT_ADDRESSED);
	/* named in Cc, Bcc, Resent-To, or folded over lines */
	assert_int_equal(decide("alice@remote.test", USER, "To: a@x.test\nCc: b@x.test,\n"
	    "  \"Demo, D.\" <Demo@Example.Test>\n"), VACATION_REPLY);
	assert_int_equal(decide("alice@remote.test", USER, "Bcc: demo@example.test\n"),
	    VACATION_REPLY);
	assert_int_equal(decide("alice@remote.test", USER, "Resent-To: demo@example.test\n"),
	    VACATION_REPLY);
	/* the envelope recipient (an alias, a +tag) counts as the user's address */
	assert_int_equal(decide("alice@remote.test", "info@example.test",
	    "To: info@example.test\n"), VACATION_REPLY);
	assert_int_equal(decide("alice@remote.test", USER, "To: demo+work@example.test\n"),
	    VACATION_REPLY);
	/* a display name that spells the address is no address */
	assert_int_equal(decide("alice@remote.test", USER,
	    "To: \"demo@example.test\" <other@example.test>\n"), VACATION_NOT_ADDRESSED);
	assert_int_equal(decide("alice@remote.test", USER,
	    "To: other@example.test (demo@example.test)\n"), VACATION_NOT_ADDRESSED);
	/* a domain that only ends like ours */
	assert_int_equal(decide("alice@remote.test", USER, "To: demo@example.test.evil\n"),
	    VACATION_NOT_ADDRESSED);
}

static void
test_address_lists(void **state)
{
	static const char *const yes[] = {
		"demo@example.test",
		"  demo@example.test  ",
		"Demo <demo@example.test>",
		"a@x.test, Demo <demo@example.test>, b@y.test",
		"friends: a@x.test, demo@example.test;",
		"undisclosed:; demo@example.test",
		"<@relay.test:demo@example.test>",
		"demo (the user) @ example.test",
		"=?UTF-8?B?RMOpbW8=?= <DEMO@example.test>",
	};
	static const char *const no[] = {
		"", "undisclosed-recipients:;", "demo", "<demo>", "demo@example", "x@example.test",
		"\"demo@example.test\"", "Demo <demo@example.test.x>",
		"\"unterminated <demo@example.test>",
	};
	for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
		assert_true(vacation_addressed(yes[i], strlen(yes[i]), USER, NULL));
	for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
		assert_false(vacation_addressed(no[i], strlen(no[i]), USER, NULL));
}

static void
test_parent_id(void **state)
{
	char id[VACATION_MSGID_MAX + 1];

	assert_true(vacation_parent_id(base_headers, strlen(base_headers), id, sizeof id));
	assert_string_equal(id, "<m1@remote.test>");
	const char *folded = "Subject: x\nmessage-id:\n  <abc.def@host.test>  \n";
	assert_true(vacation_parent_id(folded, strlen(folded), id, sizeof id));
	assert_string_equal(id, "<abc.def@host.test>");
	static const char *const bad[] = { "Subject: none\n", "Message-ID: m1@remote.test\n",
		"Message-ID: <a b@c>\n", "Message-ID: <a\001@c>\n", "Message-ID: <>\n",
		"Message-ID: <a@b> <c@d>\n" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_false(vacation_parent_id(bad[i], strlen(bad[i]), id, sizeof id));
	char big[400];
	snprintf(big, sizeof big, "Message-ID: <%0300d@x>\n", 0);
	assert_false(vacation_parent_id(big, strlen(big), id, sizeof id));
}

/* ---- the reply ---- */

/* b64_decode - standard base64 into out (NUL-terminated); its length, or -1. */
static int
b64_decode(const char *in, size_t n, char *out)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint32_t v = 0;
	int bits = 0, o = 0;
	for (size_t i = 0; i < n && in[i] != '='; i++) {
		const char *p = strchr(a, in[i]);
		if (p == NULL || in[i] == '\0')
			return -1;
		v = (v << 6) | (uint32_t)(p - a);
		if ((bits += 6) >= 8) {
			bits -= 8;
			out[o++] = (char)((v >> bits) & 0xff);
		}
	}
	out[o] = '\0';
	return o;
}

/* subject_decoded - the Subject field of text with its encoded-words decoded. */
static void
subject_decoded(const char *text, char *out, size_t outlen)
{
	const char *p = strstr(text, "\nSubject:");
	size_t o = 0;
	assert_non_null(p);
	p += 9;
	for (;;) {
		while (*p == ' ' || (*p == '\n' && p[1] == ' '))
			p++;
		if (*p == '\n' || *p == '\0')
			break;
		if (strncmp(p, "=?UTF-8?B?", 10) == 0) {
			const char *end = strstr(p + 10, "?=");
			char word[128];
			assert_non_null(end);
			/* every encoded-word within RFC 2047's 75 octets */
			assert_true(end + 2 - p <= 75);
			int n = b64_decode(p + 10, (size_t)(end - p - 10), word);
			assert_true(n >= 0 && o + (size_t)n < outlen);
			memcpy(out + o, word, (size_t)n);
			o += (size_t)n;
			p = end + 2;
		} else {
			const char *nl = strchr(p, '\n');
			memcpy(out + o, p, (size_t)(nl - p));
			o += (size_t)(nl - p);
			p = nl;
		}
	}
	out[o] = '\0';
}

/* qp_decoded - the quoted-printable body text decoded. */
static void
qp_decoded(const char *body, char *out)
{
	size_t o = 0;
	for (const char *p = body; *p; p++) {
		if (*p == '=' && p[1] == '\n') {
			p++;
		} else if (*p == '=') {
			unsigned v;
			assert_int_equal(sscanf(p + 1, "%2X", &v), 1);
			out[o++] = (char)v;
			p += 2;
		} else {
			out[o++] = *p;
		}
	}
	out[o] = '\0';
}

static const char *
header_end(const char *text)
{
	const char *e = strstr(text, "\n\n");
	assert_non_null(e);
	return e + 2;
}

static bool
has_field(const char *text, const char *line)
{
	size_t hl = (size_t)(header_end(text) - text);
	char *h = strndup(text, hl);
	bool found = strstr(h, line) != NULL;
	free(h);
	return found;
}

static void
lines_short(const char *text, size_t max)
{
	size_t col = 0;
	for (const char *p = text; *p; p++) {
		col = *p == '\n' ? 0 : col + 1;
		assert_true(col <= max);
		assert_true((unsigned char)*p < 0x80);
	}
}

static void
test_reply_headers(void **state)
{
	struct buf out = { 0 };
	struct vacation_reply r = { "demo@example.test", "alice@remote.test", "Out of office",
		"Back on Monday.", "<m1@remote.test>", "mx.example.test", "0123456789ABCDEF",
		1800000000 };

	assert_int_equal(vacation_msg_build(&r, &out), 0);
	const char *t = out.data;
	assert_true(has_field(t, "\nFrom: <demo@example.test>\n"));
	assert_true(has_field(t, "\nTo: <alice@remote.test>\n"));
	assert_true(has_field(t, "\nSubject: Out of office\n"));
	assert_true(has_field(t, "\nDate: Fri, 15 Jan 2027 08:00:00 +0000\n"));
	assert_true(has_field(t, "\nMessage-ID: <0123456789ABCDEF.vacation@mx.example.test>\n"));
	assert_true(has_field(t, "\nIn-Reply-To: <m1@remote.test>\n"));
	assert_true(has_field(t, "\nReferences: <m1@remote.test>\n"));
	assert_true(has_field(t, "\nAuto-Submitted: auto-replied\n"));
	assert_true(has_field(t, "\nMIME-Version: 1.0\n"));
	assert_true(has_field(t, "\nContent-Type: text/plain; charset=utf-8\n"));
	assert_true(has_field(t, "\nContent-Transfer-Encoding: 7bit\n"));
	assert_string_equal(header_end(t), "Back on Monday.\n");
	lines_short(t, 78);
	buf_free(&out);

	/* No Message-ID to answer: no In-Reply-To or References */
	r.parent_id = NULL;
	assert_int_equal(vacation_msg_build(&r, &out), 0);
	assert_false(has_field(out.data, "In-Reply-To:"));
	assert_false(has_field(out.data, "References:"));
	buf_free(&out);

	/* A sender with controls in it (it came from the network) is escaped */
	r.to = "a\nBcc: x@y@remote.test";
	assert_int_equal(vacation_msg_build(&r, &out), 0);
	assert_false(has_field(out.data, "\nBcc:"));
	buf_free(&out);
}

static void
test_subject_2047(void **state)
{
	static const char *const subjects[] = {
		"Au\xc3\x9f" "er Haus",
		/* long, with 2-, 3- and 4-octet characters across word boundaries */
		"\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac"
		"\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac"
		" vacances d'\xc3\xa9t\xc3\xa9 \xf0\x9f\x8c\xb4\xf0\x9f\x8c\xb4\xf0\x9f\x8c\xb4 "
		"\xe4\xbc\x91\xe6\x9a\x87\xe4\xb8\xad\xe3\x81\xa7\xe3\x81\x99",
		/* ASCII that would read as an encoded-word is encoded */
		"=?UTF-8?B?eA==?= literal",
	};
	for (size_t i = 0; i < sizeof subjects / sizeof subjects[0]; i++) {
		struct buf out = { 0 };
		char got[512];
		assert_int_equal(vacation_subject_field(subjects[i], &out), 0);
		assert_memory_equal(out.data, "Subject: =?UTF-8?B?", 19);
		lines_short(out.data, 78);
		char *text = malloc(out.len + 2);
		text[0] = '\n';
		memcpy(text + 1, out.data, out.len + 1);
		subject_decoded(text, got, sizeof got);
		assert_string_equal(got, subjects[i]);
		/* each word is whole UTF-8: no word starts with a continuation octet */
		for (const char *p = out.data; (p = strstr(p, "?B?")) != NULL; p += 3) {
			char w[128];
			const char *end = strstr(p + 3, "?=");
			assert_true(b64_decode(p + 3, (size_t)(end - p - 3), w) > 0);
			assert_false(((unsigned char)w[0] & 0xc0) == 0x80);
		}
		free(text);
		buf_free(&out);
	}
	struct buf out = { 0 };
	assert_int_equal(vacation_subject_field("plain words", &out), 0);
	assert_string_equal(out.data, "Subject: plain words\n");
	buf_free(&out);
}

static void
test_body_qp(void **state)
{
	char body[4096], got[4096];
	/* UTF-8, '=', a trailing blank, a line of 200 octets, no line end at the end */
	snprintf(body, sizeof body, "Gr\xc3\xbc\xc3\x9f" "e = greetings \nline\t\n%0200d\nend", 7);
	struct vacation_reply r = { "demo@example.test", "alice@remote.test", "x", body, NULL,
		"mx.example.test", "0123456789ABCDEF", 1800000000 };
	struct buf out = { 0 };

	assert_int_equal(vacation_msg_build(&r, &out), 0);
	assert_true(has_field(out.data, "\nContent-Transfer-Encoding: quoted-printable\n"));
	const char *b = header_end(out.data);
	lines_short(b, 76);
	/* a blank before a line end is encoded, never left to be stripped */
	assert_null(strstr(b, " \n"));
	assert_null(strstr(b, "\t\n"));
	qp_decoded(b, got);
	char want[4096];
	snprintf(want, sizeof want, "%s\n", body);
	assert_string_equal(got, want);
	buf_free(&out);

	/* ASCII with a line over 998 octets: quoted-printable too */
	char *longline = malloc(1200);
	memset(longline, 'a', 1100);
	longline[1100] = '\0';
	r.body = longline;
	assert_int_equal(vacation_msg_build(&r, &out), 0);
	assert_true(has_field(out.data, "\nContent-Transfer-Encoding: quoted-printable\n"));
	lines_short(header_end(out.data), 76);
	buf_free(&out);
	free(longline);

	/* qp of an exact fit and of "=" at a line's end */
	assert_int_equal(vacation_qp("a=\n", 3, &out), 0);
	assert_string_equal(out.data, "a=3D\n");
	buf_free(&out);
	assert_int_equal(vacation_qp("", 0, &out), 0);
	assert_string_equal(out.data, "\n");
	buf_free(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_reply),
		cmocka_unit_test(test_null_and_daemon_senders),
		cmocka_unit_test(test_own_sender),
		cmocka_unit_test(test_header_rules),
		cmocka_unit_test(test_not_addressed),
		cmocka_unit_test(test_address_lists),
		cmocka_unit_test(test_parent_id),
		cmocka_unit_test(test_reply_headers),
		cmocka_unit_test(test_subject_2047),
		cmocka_unit_test(test_body_qp),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
