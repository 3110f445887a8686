/*
 * test_linefix.c - unit tests for deliver/linefix.c: compliant messages pass
 * octet for octet; long header lines are folded, long body lines re-encoded in
 * their own entity only (plain messages, 8bit parts, base64, quoted-printable,
 * nested multiparts, attached messages, preambles); the re-encoded content decodes
 * to the original octets; and any chunking gives the same output.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "deliver/linefix.h"

/* run - scan and transform in[0..len) in pieces of step octets (0: whole). */
static char *
run(const char *in, size_t len, size_t step, size_t *outlen, struct linefix_plan *keep)
{
	struct linefix lf;
	struct linefix_plan plan = { 0 };
	struct buf out = { 0 };

	linefix_scan_init(&lf, &plan);
	for (size_t i = 0; i < len;) {
		size_t k = step == 0 || len - i < step ? len - i : step;
		assert_int_equal(linefix_feed(&lf, in + i, k, NULL), 0);
		i += k;
	}
	assert_int_equal(linefix_finish(&lf, NULL), 0);
	linefix_init(&lf, &plan);
	for (size_t i = 0; i < len;) {
		size_t k = step == 0 || len - i < step ? len - i : step;
		assert_int_equal(linefix_feed(&lf, in + i, k, &out), 0);
		i += k;
	}
	assert_int_equal(linefix_finish(&lf, &out), 0);
	if (keep != NULL)
		*keep = plan;
	else
		linefix_plan_free(&plan);
	buf_putc(&out, '\0');
	*outlen = out.len - 1;
	return out.data;
}

/* transform - the output, checked to be the same for chunks of 1, 7 and 4096 octets. */
static char *
transform(const char *in, size_t *outlen)
{
	static const size_t steps[] = { 1, 7, 4096 };
	size_t len = strlen(in);
	char *whole = run(in, len, 0, outlen, NULL);

	for (size_t s = 0; s < sizeof steps / sizeof steps[0]; s++) {
		size_t n;
		char *other = run(in, len, steps[s], &n, NULL);
		assert_int_equal(n, *outlen);
		assert_memory_equal(other, whole, n);
		free(other);
	}
	return whole;
}

static size_t
max_line(const char *s, size_t n)
{
	size_t best = 0, cur = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n') {
			cur = 0;
			continue;
		}
		if (++cur > best)
			best = cur;
	}
	return best;
}

/* fixed - the transform's output, checked to have no line over the limit. */
static char *
fixed(const char *in)
{
	size_t n;
	char *out = transform(in, &n);
	assert_true(max_line(out, n) <= LINEFIX_LIMIT);
	assert_int_equal(strlen(out), n);
	return out;
}

static void
check_identity(const char *in)
{
	size_t n;
	struct linefix_plan plan;
	char *out = run(in, strlen(in), 0, &n, &plan);
	assert_false(linefix_plan_changes(&plan));
	assert_int_equal(n, strlen(in));
	assert_memory_equal(out, in, n);
	free(out);
	linefix_plan_free(&plan);
	out = transform(in, &n);
	free(out);
}

/* repeat - n copies of unit, in a new string. */
static char *
repeat(const char *unit, size_t n)
{
	size_t u = strlen(unit);
	char *s = malloc(u * n + 1);
	for (size_t i = 0; i < n; i++)
		memcpy(s + i * u, unit, u);
	s[u * n] = '\0';
	return s;
}

static char *
cat(const char *a, const char *b, const char *c, const char *d, const char *e)
{
	size_t n = strlen(a) + strlen(b) + strlen(c) + strlen(d) + strlen(e);
	char *s = malloc(n + 1);
	snprintf(s, n + 1, "%s%s%s%s%s", a, b, c, d, e);
	return s;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* qp_decode - RFC 2045 6.7 with LF line ends; a malformed escape fails the test. */
static char *
qp_decode(const char *s, size_t n, size_t *outlen)
{
	char *out = malloc(n + 1);
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '=') {
			out[o++] = s[i];
			continue;
		}
		if (i + 1 < n && s[i + 1] == '\n') {
			i++;
			continue;
		}
		assert_true(i + 2 < n + 0 || i + 2 == n - 0);
		int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
		assert_true(h >= 0 && l >= 0);
		out[o++] = (char)(h * 16 + l);
		i += 2;
	}
	*outlen = o;
	return out;
}

/* body_after - the text after the first blank line following marker, up to "\n--" + stop (or the end). */
static char *
body_after(const char *s, const char *marker, const char *stop, size_t *len)
{
	const char *m = strstr(s, marker);
	assert_non_null(m);
	const char *b = strstr(m, "\n\n");
	assert_non_null(b);
	b += 2;
	const char *e = stop ? strstr(b, stop) : NULL;
	if (e == NULL)
		e = b + strlen(b);
	*len = (size_t)(e - b);
	char *r = malloc(*len + 1);
	memcpy(r, b, *len);
	r[*len] = '\0';
	return r;
}

static void
test_identity(void **state)
{
	check_identity("");
	check_identity("From: a@b\nSubject: hi\n\nbody\n");
	check_identity("From: a@b\nSubject: no end");
	check_identity("no header at all\nx\n");
	check_identity("Subject: x\n\n.\n..\nbody without end");
	char *l998 = repeat("a", 998);
	char *msg = cat("Subject: ", l998 + 9, "\n\n", l998, "\nend\n");
	check_identity(msg);
	free(msg);
	msg = cat("MIME-Version: 1.0\nContent-Type: multipart/mixed;\n boundary=\"BB\"\n\n"
	    "pre\n--BB\nContent-Type: text/plain\n\nhi\n--BB  \n\n", l998,
	    "\n--BB\nContent-Type: message/rfc822\n\nSubject: in\n\nbody\n--BB--\n", "epi\n", "");
	check_identity(msg);
	free(msg);
	free(l998);
}

static void
test_header_fold(void **state)
{
	char *words = repeat("word ", 1000);
	char *msg = cat("Subject: ", words, "\nFrom: a@b\n\nbody\n", "", "");
	char *out = fixed(msg);
	/* Unfolding (RFC 5322 2.2.3) gives back the original. */
	char *u = malloc(strlen(out) + 1);
	size_t o = 0;
	for (const char *p = out; *p; p++)
		if (!(p[0] == '\n' && (p[1] == ' ' || p[1] == '\t')))
			u[o++] = *p;
	u[o] = '\0';
	assert_string_equal(u, msg);
	/* As late as possible: the first line is near the limit. */
	assert_true(strchr(out, '\n') - out > LINEFIX_LIMIT - 6);
	free(u);
	free(out);
	free(msg);
	free(words);

	char *solid = repeat("a", 5000);
	msg = cat("Subject: ", solid, "\n\nbody\n", "", "");
	out = fixed(msg);
	/* The octets are all there, in order, with inserted line ends and spaces. */
	o = 0;
	u = malloc(strlen(out) + 1);
	for (const char *p = out; *p; p++)
		if (*p != '\n' && *p != ' ')
			u[o++] = *p;
	u[o] = '\0';
	assert_int_equal(strncmp(u, "Subject:", 8), 0);
	assert_int_equal(strncmp(u + 8, solid, 5000), 0);
	assert_string_equal(u + 5008, "body");
	free(u);
	free(out);
	free(msg);
	free(solid);
}

static void
test_header_utf8(void **state)
{
	/* No whitespace, two-octet characters: no break splits one. */
	char *solid = repeat("\xc3\xa9", 2000);
	char *msg = cat("Subject:x", solid, "\n\nbody\n", "", "");
	char *out = fixed(msg);
	for (const char *p = strchr(out, '\n'); p != NULL && p[1] == ' '; p = strchr(p + 1, '\n'))
		assert_int_equal((unsigned char)p[2], 0xc3);
	free(out);
	free(msg);
	free(solid);
}

static void
test_plain_body(void **state)
{
	char *line = repeat("0123456789 = \xc3\xa9t\xc3\xa9 ", 1500);
	char *body = cat(line, " \nshort line\t\n.dot\n", "", "", "");
	char *msg = cat("From: a@b\nSubject: s\n\n", body, "", "", "");
	char *out = fixed(msg);
	assert_non_null(strstr(out, "MIME-Version: 1.0\n"));
	assert_non_null(strstr(out, "Content-Transfer-Encoding: quoted-printable\n"));
	size_t bl, dl;
	char *enc = body_after(out, "Subject:", NULL, &bl);
	char *dec = qp_decode(enc, bl, &dl);
	assert_int_equal(dl, strlen(body));
	assert_memory_equal(dec, body, dl);
	assert_true(max_line(enc, bl) <= 76);
	free(dec);
	free(enc);
	free(out);
	free(msg);
	free(body);
	free(line);
}

static const char *multi_head =
    "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"BB\"\n\n";

static void
test_8bit_part(void **state)
{
	char *line = repeat("gr\xc3\xbc\xc3\x9f Gott  ", 2000);
	char *mid = cat("--BB\nContent-Type: text/plain; charset=utf-8\n"
	    "Content-Transfer-Encoding: 8bit\n\n", line, "\ntrailing  \n", "", "");
	const char *first = "--BB\nContent-Type: text/plain\n\nfirst part\n";
	const char *last = "--BB\nContent-Type: text/plain\n\nlast part\n--BB--\n";
	char *msg = cat(multi_head, first, mid, last, "");
	char *out = fixed(msg);
	/* The other parts and the top header are octet for octet the same. */
	assert_memory_equal(out, multi_head, strlen(multi_head));
	assert_memory_equal(out + strlen(multi_head), first, strlen(first));
	assert_string_equal(out + strlen(out) - strlen(last), last);
	assert_null(strstr(out, "8bit"));
	assert_non_null(strstr(out, "charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n"));
	size_t bl, dl, ol;
	char *enc = body_after(out, "charset=utf-8", "\n--BB", &bl);
	char *orig = body_after(msg, "charset=utf-8", "\n--BB", &ol);
	char *dec = qp_decode(enc, bl, &dl);
	assert_int_equal(dl, ol);
	assert_memory_equal(dec, orig, dl);
	free(dec);
	free(orig);
	free(enc);
	free(out);
	free(msg);
	free(mid);
	free(line);
}

static void
test_base64_part(void **state)
{
	char *b64 = repeat("QUJDRA==", 3000);
	char *msg = cat(multi_head, "--BB\nContent-Type: application/octet-stream\n"
	    "Content-Transfer-Encoding: base64\n\n", b64, "\n--BB--\n", "");
	char *out = fixed(msg);
	size_t bl;
	char *enc = body_after(out, "base64", "\n--BB", &bl);
	assert_true(max_line(enc, bl) <= 76);
	size_t o = 0;
	for (size_t i = 0; i < bl; i++)
		if (enc[i] != '\n')
			enc[o++] = enc[i];
	assert_int_equal(o, strlen(b64));
	assert_memory_equal(enc, b64, o);
	free(enc);
	free(out);
	free(msg);
	free(b64);
}

static void
test_qp_part(void **state)
{
	char *qp = repeat("=C3=A9t=C3=A9 x-y-", 1000);
	char *msg = cat(multi_head, "--BB\nContent-Type: text/plain; charset=utf-8\n"
	    "Content-Transfer-Encoding: quoted-printable\n\n", qp, "\nok\n--BB--\n", "");
	char *out = fixed(msg);
	assert_non_null(strstr(out, "Content-Transfer-Encoding: quoted-printable\n\n"));
	size_t bl, dl, ol, odl;
	char *enc = body_after(out, "quoted-printable", "\n--BB", &bl);
	char *orig = body_after(msg, "quoted-printable", "\n--BB", &ol);
	char *dec = qp_decode(enc, bl, &dl);
	char *odec = qp_decode(orig, ol, &odl);
	assert_int_equal(dl, odl);
	assert_memory_equal(dec, odec, dl);
	free(dec);
	free(odec);
	free(orig);
	free(enc);
	free(out);
	free(msg);
	free(qp);
}

static void
test_nested(void **state)
{
	char *line = repeat("nested words ", 800);
	const char *alt_head = "--BB\nContent-Type: multipart/alternative; boundary=CC\n\n";
	const char *short_part = "--CC\nContent-Type: text/html\n\n<p>hi</p>\n";
	char *long_part = cat("--CC\nContent-Type: text/plain\n\n", line, "\n--CC--\n", "", "");
	char *attached = cat("--BB\nContent-Type: message/rfc822\n\nSubject: inner\n\n", line,
	    "\n--BB--\n", "", "");
	char *msg1 = cat(multi_head, alt_head, short_part, long_part, "");
	char *msg = cat(msg1, attached, "", "", "");
	char *out = fixed(msg);
	/* Only the two long-lined entities changed. */
	assert_non_null(strstr(out, short_part));
	assert_non_null(strstr(out, "--CC\nContent-Type: text/plain\n"
	    "Content-Transfer-Encoding: quoted-printable\n\n"));
	assert_non_null(strstr(out, "--BB\nContent-Type: message/rfc822\n\nSubject: inner\n"
	    "Content-Transfer-Encoding: quoted-printable\n\n"));
	/* The inner message is no MIME message: it does not get MIME-Version itself; the top had it. */
	assert_int_equal(strstr(out, "MIME-Version") - out, 0);
	assert_null(strstr(out + 1, "MIME-Version"));
	size_t bl, dl;
	char *enc = body_after(out, "Subject: inner", "\n--BB", &bl);
	char *dec = qp_decode(enc, bl, &dl);
	assert_int_equal(dl, strlen(line));
	assert_memory_equal(dec, line, dl);
	assert_non_null(strstr(out, "\n--CC--\n--BB\n"));
	assert_string_equal(out + strlen(out) - 7, "\n--BB--\n" + 1);
	free(dec);
	free(enc);
	free(out);
	free(msg);
	free(msg1);
	free(attached);
	free(long_part);
	free(line);
}

static void
test_digest_and_folded_cte(void **state)
{
	/* A digest's part without Content-Type is a message (RFC 2046 5.1.5). */
	char *line = repeat("d", 1500);
	char *msg = cat("Content-Type: multipart/digest; boundary=DD\n\n--DD\n\n"
	    "Subject: inner\nContent-Transfer-Encoding:\n 8bit\n\n", line, "\n--DD--\n", "", "");
	char *out = fixed(msg);
	/* The folded field is replaced whole; the top header gets MIME-Version. */
	assert_int_equal(strncmp(out, "Content-Type: multipart/digest; boundary=DD\n"
	    "MIME-Version: 1.0\n\n--DD\n\nSubject: inner\n"
	    "Content-Transfer-Encoding: quoted-printable\n\n", 129), 0);
	assert_null(strstr(out, "8bit"));
	size_t bl, dl;
	char *enc = body_after(out, "Subject: inner", "\n--DD", &bl);
	char *dec = qp_decode(enc, bl, &dl);
	assert_int_equal(dl, strlen(line));
	assert_memory_equal(dec, line, dl);
	free(dec);
	free(enc);
	free(out);
	free(msg);
	free(line);
}

static void
test_preamble(void **state)
{
	char *line = repeat("p", 3000);
	char *msg = cat(multi_head, line, "\n--BB\n\nshort\n--BB--\n", line, "\n");
	char *out = fixed(msg);
	assert_non_null(strstr(out, "\n--BB\n\nshort\n--BB--\n"));
	free(out);
	free(msg);
	free(line);
}

static void
test_no_mime_top(void **state)
{
	/* No header section at all: fields are added, with the blank line after them. */
	char *line = repeat("x", 2000);
	char *msg = cat(line, "\n", "", "", "");
	char *out = fixed(msg);
	assert_int_equal(strncmp(out, "MIME-Version: 1.0\nContent-Transfer-Encoding: "
	    "quoted-printable\n\n", 63), 0);
	free(out);
	free(msg);
	free(line);
}

static void
test_fold_lines(void **state)
{
	char *words = repeat("abc ", 700);
	char *solid = repeat("z", 2500);
	char *in = cat("short\n", words, "\n", solid, "\nend");
	struct buf out = { 0 };
	assert_int_equal(linefix_fold_lines(in, strlen(in), &out), 0);
	assert_true(max_line(out.data, out.len) <= LINEFIX_LIMIT);
	assert_int_equal(strncmp(out.data, "short\n", 6), 0);
	assert_string_equal(out.data + out.len - 4, "\nend");
	buf_free(&out);
	free(in);
	free(solid);
	free(words);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identity),
		cmocka_unit_test(test_header_fold),
		cmocka_unit_test(test_header_utf8),
		cmocka_unit_test(test_plain_body),
		cmocka_unit_test(test_8bit_part),
		cmocka_unit_test(test_base64_part),
		cmocka_unit_test(test_qp_part),
		cmocka_unit_test(test_nested),
		cmocka_unit_test(test_digest_and_folded_cte),
		cmocka_unit_test(test_preamble),
		cmocka_unit_test(test_no_mime_top),
		cmocka_unit_test(test_fold_lines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
