/*
 * test_dkim_canon.c - unit tests for the DKIM canonicalizations and the signature
 * field builder: RFC 6376 3.4.6's example, body edge cases (empty, blank lines at
 * the end, no final line end, chunking), fields cut from a header block, the h=
 * list with every instance and From oversigned, folding, and that what is signed
 * is what a verifier reconstructs from the finished field. The simple forms, the
 * l= limit on what of the body is hashed, and base64 decoding.
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
#include <openssl/evp.h>

#include "dkim/arc.h"
#include "dkim/dkim_canon.h"
#include "dkim/dkim_fields.h"
#include "dkim/dkim_sign.h"

static void
sha256_b64(const char *p, size_t n, char *out)
{
	unsigned char md[32];
	unsigned int len = 0;

	assert_int_equal(EVP_Digest(p, n, md, &len, EVP_sha256(), NULL), 1);
	assert_int_equal(dkim_base64(md, len, out, 64), 0);
}

/* body_hash - the relaxed body hash of text fed in chunks of step octets. */
static void
body_hash(const char *text, size_t step, char *out)
{
	struct dkim_body b;
	size_t n = strlen(text);

	assert_int_equal(dkim_body_init(&b), 0);
	for (size_t i = 0; i < n; i += step)
		dkim_body_update(&b, text + i, n - i < step ? n - i : step);
	assert_int_equal(dkim_body_final(&b, out, 64), 0);
	dkim_body_free(&b);
}

static void
expect_body(const char *stored, const char *canonical)
{
	char want[64], got[64];
	size_t steps[] = { 1, 2, 3, 7, 4096 };

	sha256_b64(canonical, strlen(canonical), want);
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		body_hash(stored, steps[i], got);
		if (strcmp(got, want) != 0)
			fail_msg("body \"%s\" in chunks of %zu: hash %s, want that of \"%s\"", stored,
			    steps[i], got, canonical);
	}
}

static void
expect_header(const char *field, const char *want)
{
	struct buf out = { 0 };

	assert_int_equal(dkim_canon_header(field, strlen(field), true, &out), 0);
	assert_int_equal(buf_putc(&out, '\0'), 0);
	if (strcmp(out.data, want) != 0)
		fail_msg("header \"%s\": got \"%s\", want \"%s\"", field, out.data, want);
	buf_free(&out);
}

/* RFC 6376 3.4.6, relaxed: the stored form has LF ends where the wire has CRLF. */
static void
test_rfc6376_example(void **state)
{
	expect_header("A: X\n", "a:X\r\n");
	expect_header("B : Y\t\n\tZ  \n", "b:Y Z\r\n");
	expect_body(" C \nD \t E\n\n\n", " C\r\nD E\r\n");
}

static void
test_headers(void **state)
{
	expect_header("Subject:no space", "subject:no space\r\n");
	expect_header("SUBJECT:   lead  and trail \t ", "subject:lead and trail\r\n");
	expect_header("To: a@b,\r\n  c@d\r\n", "to:a@b, c@d\r\n");
	expect_header("X-Empty:\n", "x-empty:\r\n");
	expect_header("X-Cr: a\rb\n", "x-cr:a\rb\r\n"); /* a CR of the text's own stays */
	struct buf out = { 0 };
	assert_int_equal(dkim_canon_header("no colon", 8, true, &out), -1);
	buf_free(&out);
}

static void
test_bodies(void **state)
{
	expect_body("", "");
	expect_body("\n\n\n", "");
	expect_body(" \t\n \n", "");
	expect_body("no line end", "no line end\r\n");
	expect_body("a\n\n\nb\n\n", "a\r\n\r\n\r\nb\r\n");
	expect_body("  leading\n", " leading\r\n");
	expect_body("tab\tin\t\tline \n", "tab in line\r\n");
	expect_body("caf\xc3\xa9\n", "caf\xc3\xa9\r\n");
}

static void
test_fields(void **state)
{
	const char *hdr = "From: a@b\nTo: x,\n y\n\tz\nbogus line\nSubject : s\n";
	struct dkim_fields f = { 0 };

	assert_int_equal(dkim_fields_parse(hdr, strlen(hdr), &f), 0);
	assert_int_equal(f.n, 3);
	assert_true(dkim_field_is(&f.v[0], "from"));
	assert_true(dkim_field_is(&f.v[1], "TO"));
	assert_int_equal(f.v[1].len, strlen("To: x,\n y\n\tz\n"));
	assert_true(dkim_field_is(&f.v[2], "Subject"));
	dkim_fields_free(&f);

	size_t body_at, end;
	const char *msg = "A: 1\nB: 2\n\nbody\n";
	end = dkim_header_end(msg, strlen(msg), &body_at);
	assert_int_equal(end, 10);
	assert_int_equal(body_at, 11);
	msg = "A: 1\r\n\r\nbody";
	end = dkim_header_end(msg, strlen(msg), &body_at);
	assert_int_equal(end, 6);
	assert_int_equal(body_at, 8);
	msg = "A: 1\nB: 2";
	end = dkim_header_end(msg, strlen(msg), &body_at);
	assert_int_equal(end, strlen(msg));
	assert_int_equal(body_at, strlen(msg));
}

static const struct dkim_sign_req req = {
	"DKIM-Signature", "v=1", "ed25519-sha256", "example.test", "sel", 1700000000,
	1700432000, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
};

/* reconstruct - what a verifier hashes: the h= fields, then the field with b= emptied. */
static void
reconstruct(const struct dkim_fields *hdr, const char *signed_field, struct buf *data)
{
	struct dkim_fields one = { 0 };
	struct buf stripped = { 0 }, h = { 0 };

	const char *b = strstr(signed_field, "\tb=");
	assert_non_null(b);
	assert_int_equal(buf_append(&stripped, signed_field, (size_t)(b - signed_field) + 3), 0);
	const char *hp = strstr(signed_field, " h=");
	if (hp == NULL)
		hp = strstr(signed_field, "\th=");
	assert_non_null(hp);
	const char *hend = strchr(hp, ';');
	assert_int_equal(buf_append(&h, hp + 3, (size_t)(hend - hp - 3)), 0);
	assert_int_equal(buf_putc(&h, '\0'), 0);
	assert_int_equal(dkim_pick_fields(hdr, h.data, data), 0);
	assert_int_equal(dkim_canon_header(stripped.data, stripped.len, false, data), 0);
	buf_free(&stripped);
	buf_free(&h);
	dkim_fields_free(&one);
}

static void
test_build(void **state)
{
	const char *hdr = "Received: x\nFrom: A <a@example.test>\nTo: b@c\nSubject: one\n"
	    "Subject: two\nX-Other: not signed\n";
	struct dkim_fields f = { 0 };
	struct buf field = { 0 }, data = { 0 }, again = { 0 };

	assert_int_equal(dkim_fields_parse(hdr, strlen(hdr), &f), 0);
	assert_int_equal(dkim_sign_build(&f, &req, &field, &data), 0);
	assert_int_equal(buf_putc(&field, '\0'), 0);
	field.len--;
	assert_non_null(strstr(field.data, "h=from:to:subject:subject:from;"));
	assert_null(strstr(field.data, "x-other"));
	assert_null(strstr(field.data, "received"));
	/* The bottom Subject is taken first, the oversigned From adds nothing. */
	const char *want_start = "from:A <a@example.test>\r\nto:b@c\r\nsubject:two\r\n"
	    "subject:one\r\ndkim-signature:v=1; a=ed25519-sha256;";
	assert_memory_equal(data.data, want_start, strlen(want_start));
	assert_int_equal(data.data[data.len - 2], 'b');
	assert_int_equal(data.data[data.len - 1], '=');

	char sig[400];
	memset(sig, 'Q', 342);
	sig[342] = '=';
	sig[343] = '=';
	sig[344] = '\0';
	assert_int_equal(dkim_sign_finish(&field, sig), 0);
	assert_int_equal(buf_putc(&field, '\0'), 0);
	for (const char *line = field.data; *line != '\0';) {
		const char *lf = strchr(line, '\n');
		assert_non_null(lf);
		assert_true(lf - line <= 78);
		if (line != field.data)
			assert_true(*line == '\t');
		line = lf + 1;
	}
	reconstruct(&f, field.data, &again);
	assert_int_equal(again.len, data.len);
	assert_memory_equal(again.data, data.data, data.len);
	buf_free(&field);
	buf_free(&data);
	buf_free(&again);
	dkim_fields_free(&f);
}

static void
test_no_from(void **state)
{
	const char *hdr = "To: b@c\nSubject: one\n";
	struct dkim_fields f = { 0 };
	struct buf field = { 0 }, data = { 0 };

	assert_int_equal(dkim_fields_parse(hdr, strlen(hdr), &f), 0);
	assert_int_equal(dkim_sign_build(&f, &req, &field, &data), -1);
	buf_free(&field);
	buf_free(&data);
	dkim_fields_free(&f);
}

static void
test_long_h(void **state)
{
	struct buf hdr = { 0 }, field = { 0 }, data = { 0 };
	struct dkim_fields f = { 0 };

	assert_int_equal(buf_printf(&hdr, "From: a@example.test\n"), 0);
	for (int i = 0; i < 40; i++)
		assert_int_equal(buf_printf(&hdr, "References: <%d@x>\nTo: t%d@x\n", i, i), 0);
	assert_int_equal(dkim_fields_parse(hdr.data, hdr.len, &f), 0);
	assert_int_equal(dkim_sign_build(&f, &req, &field, &data), 0);
	assert_int_equal(dkim_sign_finish(&field, "AAAA"), 0);
	assert_int_equal(buf_putc(&field, '\0'), 0);
	for (const char *line = field.data; *line != '\0';) {
		const char *lf = strchr(line, '\n');
		assert_true(lf - line <= 78);
		line = lf + 1;
	}
	buf_free(&hdr);
	buf_free(&field);
	buf_free(&data);
	dkim_fields_free(&f);
}

/* A signer that keeps what it was asked to sign. */
struct recorded {
	struct buf data[2];
	int n;
};

static int
record_sign(void *arg, const void *data, size_t len, char *sig, size_t siglen)
{
	struct recorded *r = arg;
	if (r->n >= 2)
		return -1;
	assert_int_equal(buf_append(&r->data[r->n++], data, len), 0);
	snprintf(sig, siglen, "SIG%d", r->n);
	return 0;
}

static void
test_arc_seal(void **state)
{
	const char *hdr = "From: a@other.test\nTo: fwd@example.test\nSubject: s\n";
	struct dkim_fields f = { 0 };
	struct buf out = { 0 };
	struct recorded rec = { 0 };
	struct arc_req r = { "mx.example.test", "spf=pass smtp.mailfrom=other.test",
		"rsa-sha256", "example.test", "sel", 1700000000,
		"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", 1, "none" };

	assert_int_equal(dkim_fields_parse(hdr, strlen(hdr), &f), 0);
	assert_false(arc_has_chain(&f));
	assert_int_equal(arc_seal(&f, &r, record_sign, &rec, &out), 0);
	assert_int_equal(buf_putc(&out, '\0'), 0);
	assert_int_equal(rec.n, 2);
	/* The seal on top, then the message signature, then the results. */
	assert_true(strncmp(out.data, "ARC-Seal: i=1; a=rsa-sha256; cv=none;", 37) == 0);
	const char *ams = strstr(out.data, "\nARC-Message-Signature: i=1;");
	const char *aar = strstr(out.data, "\nARC-Authentication-Results: i=1; mx.example.test;");
	assert_non_null(ams);
	assert_non_null(aar);
	assert_true(ams < aar);
	/* The AMS signs the message fields; the seal signs the set, itself last without b=. */
	assert_true(strncmp(rec.data[0].data, "from:a@other.test\r\n", 19) == 0);
	const char *want = "arc-authentication-results:i=1; mx.example.test; "
	    "spf=pass smtp.mailfrom=other.test\r\narc-message-signature:i=1;";
	assert_true(rec.data[1].len > strlen(want));
	assert_memory_equal(rec.data[1].data, want, strlen(want));
	assert_non_null(memmem(rec.data[1].data, rec.data[1].len, "b=SIG1\r\narc-seal:i=1;", 21));
	assert_int_equal(rec.data[1].data[rec.data[1].len - 1], '=');

	struct dkim_fields g = { 0 };
	assert_int_equal(dkim_fields_parse(out.data, out.len - 1, &g), 0);
	assert_true(arc_has_chain(&g));
	dkim_fields_free(&g);
	buf_free(&rec.data[0]);
	buf_free(&rec.data[1]);
	buf_free(&out);
	dkim_fields_free(&f);
}

/* body_hash_c - the hash of text, simple or relaxed, limited to limit octets. */
static void
body_hash_c(const char *text, size_t step, bool simple, uint64_t limit, char *out,
    uint64_t *length)
{
	struct dkim_body b;
	unsigned char md[DKIM_SHA256_LEN];
	size_t n = strlen(text);

	assert_int_equal(dkim_body_init_c(&b, simple, limit), 0);
	for (size_t i = 0; i < n; i += step)
		dkim_body_update(&b, text + i, n - i < step ? n - i : step);
	assert_int_equal(dkim_body_digest(&b, md), 0);
	assert_int_equal(dkim_base64(md, sizeof md, out, 64), 0);
	*length = b.length;
	dkim_body_free(&b);
}

static void
expect_body_c(const char *stored, bool simple, uint64_t limit, const char *hashed,
    uint64_t total)
{
	char want[64], got[64];
	size_t steps[] = { 1, 2, 3, 7, 4096 };
	uint64_t length;

	sha256_b64(hashed, strlen(hashed), want);
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		body_hash_c(stored, steps[i], simple, limit, got, &length);
		if (strcmp(got, want) != 0)
			fail_msg("%s body \"%s\" (l=%llu) in chunks of %zu: hash %s, want that of \"%s\"",
			    simple ? "simple" : "relaxed", stored, (unsigned long long)limit,
			    steps[i], got, hashed);
		assert_int_equal(length, total);
	}
}

static void
expect_simple_header(const char *field, bool crlf, const char *want)
{
	struct buf out = { 0 };

	assert_int_equal(dkim_canon_header_c(field, strlen(field), true, crlf, &out), 0);
	assert_int_equal(buf_putc(&out, '\0'), 0);
	if (strcmp(out.data, want) != 0)
		fail_msg("simple header \"%s\": got \"%s\", want \"%s\"", field, out.data, want);
	buf_free(&out);
}

/* RFC 6376 3.4.6, simple; and the edge cases of 3.4.3. */
static void
test_simple(void **state)
{
	expect_simple_header("A: X\n", true, "A: X\r\n");
	expect_simple_header("B : Y\t\n\tZ  \n", true, "B : Y\t\r\n\tZ  \r\n");
	expect_simple_header("B : Y\t\r\n\tZ  \r\n", true, "B : Y\t\r\n\tZ  \r\n");
	expect_simple_header("B : Y\t\n\tZ  \n", false, "B : Y\t\r\n\tZ  ");
	expect_simple_header("No-End: x", true, "No-End: x\r\n");
	struct buf out = { 0 };
	assert_int_equal(dkim_canon_header_c("no colon\n", 9, true, true, &out), -1);
	buf_free(&out);

	expect_body_c(" C \nD \t E\n\n\n", true, DKIM_BODY_ALL, " C \r\nD \t E\r\n", 12);
	expect_body_c("", true, DKIM_BODY_ALL, "\r\n", 2);
	expect_body_c("\n\n", true, DKIM_BODY_ALL, "\r\n", 2);
	expect_body_c(" \n\n", true, DKIM_BODY_ALL, " \r\n", 3); /* a space is not empty */
	expect_body_c("a\n\nb", true, DKIM_BODY_ALL, "a\r\n\r\nb\r\n", 8);
	expect_body_c("x  \t\n", true, DKIM_BODY_ALL, "x  \t\r\n", 6);
}

/* l=: the first octets of the canonical body are hashed; the length counts them all. */
static void
test_limit(void **state)
{
	expect_body_c("abc\ndef\n", false, 5, "abc\r\n", 10);
	expect_body_c("abc\ndef\n", false, 0, "", 10);
	expect_body_c("abc\ndef\n", false, 100, "abc\r\ndef\r\n", 10);
	expect_body_c("abc\ndef\n\n\n", true, 7, "abc\r\nde", 10);
	expect_body_c("", true, 1, "\r", 2);
	expect_body_c("", false, 1, "", 0);
	expect_body_c(" a  b \n\n", false, 4, " a b", 6);
}

static void
test_base64_decode(void **state)
{
	unsigned char out[16];

	assert_int_equal(dkim_base64_decode("aGk=", 4, out, sizeof out), 2);
	assert_memory_equal(out, "hi", 2);
	assert_int_equal(dkim_base64_decode(" aG\r\n\tk= ", 9, out, sizeof out), 2);
	assert_int_equal(dkim_base64_decode("aGVsbG8h", 8, out, sizeof out), 6);
	assert_memory_equal(out, "hello!", 6);
	assert_int_equal(dkim_base64_decode("", 0, out, sizeof out), 0);
	assert_int_equal(dkim_base64_decode("aGk", 3, out, sizeof out), -1);
	assert_int_equal(dkim_base64_decode("a=Gk", 4, out, sizeof out), -1);
	assert_int_equal(dkim_base64_decode("a*Gk", 4, out, sizeof out), -1);
	assert_int_equal(dkim_base64_decode("aGVsbG8h", 8, out, 5), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc6376_example),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_bodies),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_build),
		cmocka_unit_test(test_no_from),
		cmocka_unit_test(test_long_h),
		cmocka_unit_test(test_arc_seal),
		cmocka_unit_test(test_simple),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_base64_decode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
