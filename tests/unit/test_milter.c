/*
 * test_milter.c - unit tests for the milter client's pure parts: packets made and
 * replies taken apart (milter/milter_proto.c), the header block and its changes
 * (milter/milter_hdr.c), and the socket specs of [inbound] milters
 * (milter/milter_addr.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <cmocka.h>

#include "milter/milter_addr.h"
#include "milter/milter_hdr.h"
#include "milter/milter_proto.h"

/* ---- packets ---- */

static void
test_put_optneg(void **state)
{
	struct buf b = { 0 };
	static const unsigned char want[] = { 0, 0, 0, 13, 'O', 0, 0, 0, 6, 0, 0, 0, 0x31,
		0, 0x1f, 0xff, 0xff };

	assert_int_equal(milter_put_optneg(&b, 6, MILTER_OUR_ACTIONS, MILTER_OUR_PROTOCOL), 0);
	assert_int_equal(b.len, sizeof want);
	assert_memory_equal(b.data, want, sizeof want);
	buf_free(&b);
}

static void
test_put_strings_and_macros(void **state)
{
	struct buf b = { 0 };
	const char *args[] = { "<a@b.test>", "BODY=8BITMIME" };
	const char *kv[] = { "i", "ABC", "{auth_authen}", "demo" };

	assert_int_equal(milter_put_strings(&b, SMFIC_MAIL, args, 2), 0);
	assert_int_equal(b.len, 4 + 1 + 11 + 14);
	assert_memory_equal(b.data, "\0\0\0\x1aM<a@b.test>\0BODY=8BITMIME\0", b.len);
	buf_reset(&b);
	assert_int_equal(milter_put_macros(&b, SMFIC_MAIL, kv, 2), 0);
	assert_memory_equal(b.data, "\0\0\0\x1b" "DMi\0ABC\0{auth_authen}\0demo\0", b.len);
	buf_reset(&b);
	/* a NUL in a string would end it early: sent as a blank */
	assert_int_equal(milter_put_header(&b, "Subject", 7, "a\0b", 3), 0);
	assert_memory_equal(b.data, "\0\0\0\x0dLSubject\0a b\0", b.len);
	buf_free(&b);
}

static void
test_put_connect(void **state)
{
	struct buf b = { 0 };

	assert_int_equal(milter_put_connect(&b, "unknown", '4', 2525, "192.0.2.1"), 0);
	assert_memory_equal(b.data, "\0\0\0\x16" "Cunknown\0" "4\x09\xdd" "192.0.2.1\0", b.len);
	buf_reset(&b);
	assert_int_equal(milter_put_connect(&b, "unknown", 'U', 0, ""), 0);
	assert_memory_equal(b.data, "\0\0\0\x0a" "Cunknown\0U", b.len);
	buf_free(&b);
}

static void
test_put_body_limit(void **state)
{
	struct buf b = { 0 };
	char *big = calloc(1, MILTER_CHUNK_MAX + 1);

	assert_non_null(big);
	assert_int_equal(milter_put_body(&b, big, MILTER_CHUNK_MAX), 0);
	assert_int_equal(b.len, 5 + MILTER_CHUNK_MAX);
	/* one more: refused, b as it was */
	assert_int_equal(milter_put_body(&b, big, MILTER_CHUNK_MAX + 1), -1);
	assert_int_equal(b.len, 5 + MILTER_CHUNK_MAX);
	assert_int_equal(milter_put_empty(&b, SMFIC_BODYEOB), 0);
	assert_memory_equal(b.data + 5 + MILTER_CHUNK_MAX, "\0\0\0\x01" "E", 5);
	free(big);
	buf_free(&b);
}

static void
test_frame(void **state)
{
	size_t len = 0;

	assert_int_equal(milter_frame("\0\0", 2, &len), 0);
	assert_int_equal(milter_frame("\0\0\0\x01", 4, &len), 0);
	assert_int_equal(len, 1); /* known before it is all there */
	assert_int_equal(milter_frame("\0\0\0\x01" "c", 5, &len), 1);
	assert_int_equal(len, 1);
	assert_int_equal(milter_frame("\0\0\0\0", 4, &len), -1);
	assert_int_equal(milter_frame("\xff\xff\xff\xff", 4, &len), -1);
	assert_int_equal(milter_frame("\0\x10\0\0", 4, &len), 0);      /* 1 MiB: the largest */
	assert_int_equal(milter_frame("\0\x10\0\x01", 4, &len), -1);   /* one over */
}

static void
test_parse_replies(void **state)
{
	struct milter_reply r;
	const char *why = NULL;

	assert_int_equal(milter_parse_reply("O\0\0\0\x06\0\0\x01\xff\0\x0f\xf0\x80", 13, &r, &why), 0);
	assert_int_equal(r.version, 6);
	assert_int_equal(r.actions, 0x1ff);
	assert_int_equal(r.protocol, 0xff080);
	assert_int_equal(milter_parse_reply("O\0\0\0\x06", 5, &r, &why), -1);

	assert_int_equal(milter_parse_reply("hX-A\0value\0", 11, &r, &why), 0);
	assert_string_equal(r.name, "X-A");
	assert_string_equal(r.value, "value");
	assert_int_equal(milter_parse_reply("m\0\0\0\x02X-A\0\0", 10, &r, &why), 0);
	assert_int_equal(r.index, 2);
	assert_string_equal(r.value, "");
	assert_int_equal(milter_parse_reply("i\0\0\0\x00X-B\0v\0", 11, &r, &why), 0);
	assert_int_equal(r.cmd, SMFIR_INSHEADER);

	/* strings without their NULs, an empty name, a short index */
	assert_int_equal(milter_parse_reply("hX-A\0value", 10, &r, &why), -1);
	assert_int_equal(milter_parse_reply("hX-A", 4, &r, &why), -1);
	assert_int_equal(milter_parse_reply("h\0v\0", 4, &r, &why), -1);
	assert_int_equal(milter_parse_reply("m\0\0", 3, &r, &why), -1);
	assert_int_equal(milter_parse_reply("y550 nope", 9, &r, &why), -1);
	assert_int_equal(milter_parse_reply("y550 5.7.1 no\0", 14, &r, &why), 0);
	assert_string_equal(r.text, "550 5.7.1 no");
	assert_int_equal(milter_parse_reply("qspam\0", 6, &r, &why), 0);
	assert_string_equal(r.text, "spam");

	const char *simple = "acdrtsp4f+-2bel";
	for (const char *p = simple; *p; p++) {
		assert_int_equal(milter_parse_reply(p, 1, &r, &why), 0);
		assert_int_equal(r.cmd, *p);
	}
	assert_int_equal(milter_parse_reply("Z", 1, &r, &why), -1);
	assert_string_equal(why, "unknown reply");
	assert_int_equal(milter_parse_reply("", 0, &r, &why), -1);
}

static void
test_reply_line(void **state)
{
	char out[80];

	assert_int_equal(milter_reply_line("554 5.7.1 Gtube pattern", out, sizeof out), 554);
	assert_string_equal(out, "554 5.7.1 Gtube pattern");
	/* no status, or one of the wrong class: X.7.1 */
	assert_int_equal(milter_reply_line("550 go away", out, sizeof out), 550);
	assert_string_equal(out, "550 5.7.1 go away");
	assert_int_equal(milter_reply_line("451 5.7.1 wait", out, sizeof out), 451);
	assert_string_equal(out, "451 4.7.1 wait");
	assert_int_equal(milter_reply_line("550", out, sizeof out), 550);
	assert_string_equal(out, "550 5.7.1");
	/* a multi-line reply is joined */
	assert_int_equal(milter_reply_line("550-5.7.0 first\r\n550 5.7.0 second", out, sizeof out),
	    550);
	assert_string_equal(out, "550 5.7.0 first second");
	/* controls and 8-bit become '?'; the text is cut to fit */
	assert_int_equal(milter_reply_line("550 5.7.1 a\tb\x80", out, sizeof out), 550);
	assert_string_equal(out, "550 5.7.1 a?b?");
	assert_int_equal(milter_reply_line("550 5.7.1 0123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789", out, 20), 550);
	assert_string_equal(out, "550 5.7.1 012345678");
	/* no 4xx or 5xx */
	assert_int_equal(milter_reply_line("250 ok", out, sizeof out), -1);
	assert_int_equal(milter_reply_line("5x0 ok", out, sizeof out), -1);
	assert_int_equal(milter_reply_line("5500 ok", out, sizeof out), -1);
	assert_int_equal(milter_reply_line("", out, sizeof out), -1);
}

/* ---- the header block ---- */

static const char MSG[] =
    "From: a@b.test\n"
    "Subject: one\n"
    "\ttwo\n"
    "X-Dup: 1\n"
    "x-dup:2\n"
    "\n"
    "body\n";

static void
test_hdr_parse(void **state)
{
	struct mhdr h = { 0 };
	size_t end = 0;
	const char *v;
	size_t n;

	assert_int_equal(mhdr_parse(&h, MSG, strlen(MSG), true, &end), 0);
	assert_int_equal(h.n, 4);
	assert_int_equal(end, strlen(MSG) - strlen("\nbody\n"));
	assert_int_equal(h.v[1].name_len, 7);
	mhdr_value(&h.v[1], false, &v, &n);
	assert_int_equal(n, strlen("one\n\ttwo"));
	assert_memory_equal(v, "one\n\ttwo", n);
	mhdr_value(&h.v[1], true, &v, &n);
	assert_memory_equal(v, " one\n\ttwo", n);
	mhdr_value(&h.v[3], false, &v, &n);
	assert_memory_equal(v, "2", n);
	assert_int_equal(h.octets, end);
	struct buf out = { 0 };
	assert_int_equal(mhdr_write(&h, &out), 0);
	assert_int_equal(out.len, end);
	assert_memory_equal(out.data, MSG, end);
	buf_free(&out);
	mhdr_free(&h);
}

static void
test_hdr_parse_partial(void **state)
{
	struct mhdr h = { 0 };
	size_t end;

	/* not all of the text: a field at the end of what is there may go on */
	assert_int_equal(mhdr_parse(&h, MSG, strlen("From: a@b.test\nSubject: one\n"), false, &end),
	    0);
	assert_int_equal(h.n, 1);
	assert_int_equal(end, strlen("From: a@b.test\n"));
	mhdr_free(&h);
	/* a line that is no field ends the block; so does one of a blank first */
	assert_int_equal(mhdr_parse(&h, "A: 1\nnot a field\nB: 2\n", 22, true, &end), 0);
	assert_int_equal(h.n, 1);
	assert_int_equal(end, 5);
	mhdr_free(&h);
	assert_int_equal(mhdr_parse(&h, " A: 1\n", 6, true, &end), 0);
	assert_int_equal(h.n, 0);
	assert_int_equal(end, 0);
	mhdr_free(&h);
	/* the obsolete blank before the colon; a last line without LF in the whole text */
	assert_int_equal(mhdr_parse(&h, "A : 1\nB: 2", 10, true, &end), 0);
	assert_int_equal(h.n, 2);
	assert_int_equal(h.v[0].name_len, 1);
	assert_int_equal(end, 10);
	mhdr_free(&h);
	/* a field over MHDR_FIELD_MAX stops the block before it */
	size_t big = MHDR_FIELD_MAX + 10;
	char *t = malloc(big + 8);
	assert_non_null(t);
	memcpy(t, "A: 1\nB: ", 8);
	memset(t + 8, 'x', big - 1);
	t[8 + big - 1] = '\n';
	assert_int_equal(mhdr_parse(&h, t, big + 8, true, &end), 0);
	assert_int_equal(h.n, 1);
	assert_int_equal(end, 5);
	mhdr_free(&h);
	free(t);
}

static char *
written(const struct mhdr *h)
{
	struct buf out = { 0 };
	assert_int_equal(mhdr_write(h, &out), 0);
	return out.data ? out.data : strdup("");
}

static void
test_hdr_changes(void **state)
{
	struct mhdr h = { 0 };
	size_t end;
	char *s;

	assert_int_equal(mhdr_parse(&h, MSG, strlen(MSG), true, &end), 0);
	assert_false(h.changed);
	assert_int_equal(mhdr_add(&h, "X-Spam", "yes", false), 0);
	assert_int_equal(mhdr_insert(&h, 0, "X-Top", "t", false), 0);
	assert_int_equal(mhdr_insert(&h, 99, "X-Last", "l", false), 0);
	/* the second X-Dup, whatever its case */
	assert_int_equal(mhdr_change(&h, 2, "X-DUP", "two", false), 0);
	/* leadspc: the value brings its blank */
	assert_int_equal(mhdr_change(&h, 1, "Subject", " new", true), 0);
	/* delete the first X-Dup; deleting one that is not there changes nothing */
	assert_int_equal(mhdr_change(&h, 1, "X-Dup", "", false), 0);
	assert_int_equal(mhdr_change(&h, 5, "X-Dup", "", false), 0);
	/* changing one that is not there adds it */
	assert_int_equal(mhdr_change(&h, 3, "X-New", "n", false), 0);
	assert_true(h.changed);
	s = written(&h);
	assert_string_equal(s, "X-Top: t\nFrom: a@b.test\nSubject: new\nX-DUP: two\n"
	    "X-Spam: yes\nX-Last: l\nX-New: n\n");
	free(s);
	mhdr_free(&h);
}

static void
test_hdr_refolding(void **state)
{
	struct mhdr h = { 0 };
	char *s;

	/* a line break in a value never starts a field, nor ends the block */
	assert_int_equal(mhdr_add(&h, "X-A", "a\nBcc: evil", false), 0);
	assert_int_equal(mhdr_add(&h, "X-B", "a\r\n\tb\r\n", false), 0);
	assert_int_equal(mhdr_add(&h, "X-C", "a\n\n  \nb", false), 0);
	assert_int_equal(mhdr_add(&h, "X-D", "a\rb\x01" "c\x7f", false), 0);
	assert_int_equal(mhdr_add(&h, "X-E", "", false), 0);
	s = written(&h);
	assert_string_equal(s, "X-A: a\n\tBcc: evil\nX-B: a\n\tb\nX-C: a\n\tb\nX-D: a\n\tb c \n"
	    "X-E: \n");
	free(s);
	/* bad names: refused, nothing changed */
	size_t n = h.n;
	assert_int_equal(mhdr_add(&h, "Bad Name", "v", false), -1);
	assert_int_equal(mhdr_add(&h, "Bad:Name", "v", false), -1);
	assert_int_equal(mhdr_add(&h, "", "v", false), -1);
	assert_int_equal(mhdr_change(&h, 1, "X\n", "v", false), -1);
	assert_int_equal(h.n, n);
	/* a value over MHDR_FIELD_MAX */
	char *big = malloc(MHDR_FIELD_MAX + 1);
	assert_non_null(big);
	memset(big, 'v', MHDR_FIELD_MAX);
	big[MHDR_FIELD_MAX] = '\0';
	assert_int_equal(mhdr_add(&h, "X-Big", big, false), -1);
	assert_int_equal(h.n, n);
	free(big);
	mhdr_free(&h);
}

static void
test_hdr_limits(void **state)
{
	struct mhdr h = { 0 };
	char *v = malloc(60001);

	assert_non_null(v);
	memset(v, 'v', 60000);
	v[60000] = '\0';
	int i, rc = 0;
	for (i = 0; i < 20 && rc == 0; i++)
		rc = mhdr_add(&h, "X-Fill", v, false);
	/* stopped by MHDR_BLOCK_MAX, not by memory */
	assert_int_equal(rc, -1);
	assert_true(h.octets <= MHDR_BLOCK_MAX);
	assert_int_equal((size_t)(i - 1), h.n);
	free(v);
	mhdr_free(&h);
	rc = 0;
	for (i = 0; i < MHDR_FIELDS_MAX + 5 && rc == 0; i++)
		rc = mhdr_add(&h, "X", "1", false);
	assert_int_equal(rc, -1);
	assert_int_equal(h.n, MHDR_FIELDS_MAX);
	mhdr_free(&h);
}

static void
test_hdr_copy(void **state)
{
	struct mhdr h = { 0 }, c;
	size_t end;

	assert_int_equal(mhdr_parse(&h, MSG, strlen(MSG), true, &end), 0);
	assert_int_equal(mhdr_copy(&c, &h), 0);
	assert_int_equal(mhdr_add(&c, "X", "1", false), 0);
	assert_int_equal(h.n, 4);
	assert_int_equal(c.n, 5);
	char *a = written(&h), *b = written(&c);
	assert_int_equal(strncmp(a, b, strlen(a)), 0);
	free(a);
	free(b);
	mhdr_free(&h);
	mhdr_free(&c);
	struct mhdr empty = { 0 };
	assert_int_equal(mhdr_copy(&c, &empty), 0);
	assert_int_equal(c.n, 0);
	mhdr_free(&c);
}

/* ---- socket specs ---- */

static void
test_addr(void **state)
{
	struct milter_sock m;
	char why[200];

	assert_int_equal(milter_sock_parse("inet:127.0.0.1:11332", &m, why, sizeof why), 0);
	assert_int_equal(m.ss.ss_family, AF_INET);
	assert_int_equal(milter_sock_port(&m), 11332);
	assert_string_equal(m.text, "inet:127.0.0.1:11332");
	assert_int_equal(milter_sock_parse("inet:localhost:25", &m, why, sizeof why), 0);
	assert_int_equal(m.ss.ss_family, AF_INET);
	assert_int_equal(milter_sock_parse("inet:[::1]:8891", &m, why, sizeof why), 0);
	assert_int_equal(m.ss.ss_family, AF_INET6);
	assert_int_equal(milter_sock_port(&m), 8891);
	assert_int_equal(milter_sock_parse("inet6:::1:8891", &m, why, sizeof why), 0);
	assert_int_equal(m.ss.ss_family, AF_INET6);
	assert_int_equal(milter_sock_parse("inet6:localhost:1", &m, why, sizeof why), 0);
	assert_int_equal(m.ss.ss_family, AF_INET6);
	assert_int_equal(milter_sock_parse("unix:/run/rspamd/milter.sock", &m, why, sizeof why), 0);
	assert_int_equal(m.ss.ss_family, AF_UNIX);
	assert_string_equal(((struct sockaddr_un *)&m.ss)->sun_path, "/run/rspamd/milter.sock");
	assert_int_equal(milter_sock_port(&m), 0);
	assert_int_equal(milter_sock_parse("local:/x.sock", &m, why, sizeof why), 0);

	static const char *const bad[] = {
		"127.0.0.1:11332", "inet:127.0.0.1", "inet:127.0.0.1:0", "inet:127.0.0.1:65536",
		"inet::11332", "inet:mail.example:11332", "inet6:127.0.0.1:1", "unix:relative.sock",
		"unix:", "tcp:1.2.3.4:5", "inet:127.0.0.1:12x",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(milter_sock_parse(bad[i], &m, why, sizeof why), -1);
	char path[200] = "unix:/";
	memset(path + 6, 'a', 150);
	path[156] = '\0';
	assert_int_equal(milter_sock_parse(path, &m, why, sizeof why), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_optneg),
		cmocka_unit_test(test_put_strings_and_macros),
		cmocka_unit_test(test_put_connect),
		cmocka_unit_test(test_put_body_limit),
		cmocka_unit_test(test_frame),
		cmocka_unit_test(test_parse_replies),
		cmocka_unit_test(test_reply_line),
		cmocka_unit_test(test_hdr_parse),
		cmocka_unit_test(test_hdr_parse_partial),
		cmocka_unit_test(test_hdr_changes),
		cmocka_unit_test(test_hdr_refolding),
		cmocka_unit_test(test_hdr_limits),
		cmocka_unit_test(test_hdr_copy),
		cmocka_unit_test(test_addr),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
