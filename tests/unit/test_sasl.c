/*
 * test_sasl.c - unit tests for sasl.c: strict base64 (RFC 4648), the PLAIN
 * response (RFC 4616: authzid NUL authcid NUL password) and the LOGIN steps.
 * Every input is an exact-size heap copy without a NUL, so ASan sees over-reads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smtp/sasl.h"

static char *
dup_n(const char *s, size_t len)
{
	char *copy = malloc(len ? len : 1);
	assert_non_null(copy);
	memcpy(copy, s, len);
	return copy;
}

/* decode - base64_decode on a heap copy of s into a fresh buffer of outlen octets. */
static long
decode(const char *s, char *out, size_t outlen)
{
	size_t len = strlen(s);
	char *c = dup_n(s, len);
	long n = base64_decode(c, len, out, outlen);
	free(c);
	return n;
}

/* b64 - encode raw[0..len) with base64_encode into out (static, for building inputs). */
static const char *
b64(const void *raw, size_t len)
{
	static char out[4096];
	long n = base64_encode(raw, len, out, sizeof out);
	assert_true(n >= 0);
	return out;
}

static int
plain(const char *b64text, struct sasl_plain *p)
{
	size_t len = strlen(b64text);
	char *c = dup_n(b64text, len);
	int rc = sasl_plain_decode(c, len, p);
	free(c);
	return rc;
}

static int
plain_raw(const void *raw, size_t len, struct sasl_plain *p)
{
	return plain(b64(raw, len), p);
}

static int
login(const char *b64text, char *out, size_t outlen)
{
	size_t len = strlen(b64text);
	char *c = dup_n(b64text, len);
	int rc = sasl_login_decode(c, len, out, outlen);
	free(c);
	return rc;
}

static void
test_base64_vectors(void **state)
{
	/* RFC 4648 section 10 */
	static const struct {
		const char *raw, *enc;
	} v[] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
	};
	char out[64];

	(void)state;
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		memset(out, 'X', sizeof out);
		long n = decode(v[i].enc, out, sizeof out);
		assert_int_equal(n, (long)strlen(v[i].raw));
		assert_memory_equal(out, v[i].raw, strlen(v[i].raw));
		assert_int_equal(out[n], '\0');
		char enc[64];
		assert_int_equal(base64_encode(v[i].raw, strlen(v[i].raw), enc, sizeof enc),
		    (long)strlen(v[i].enc));
		assert_string_equal(enc, v[i].enc);
	}
}

static void
test_base64_all_octets(void **state)
{
	unsigned char raw[256];
	char enc[400], dec[300];

	(void)state;
	for (int i = 0; i < 256; i++)
		raw[i] = (unsigned char)i;
	/* Every length from 0 to 256 round-trips, NULs and high octets included. */
	for (size_t len = 0; len <= sizeof raw; len++) {
		long e = base64_encode(raw, len, enc, sizeof enc);
		assert_int_equal(e, (long)((len + 2) / 3 * 4));
		long d = decode(enc, dec, sizeof dec);
		assert_int_equal(d, (long)len);
		assert_memory_equal(dec, raw, len);
	}
	/* The whole alphabet decodes. */
	assert_true(decode("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
	    dec, sizeof dec) == 48);
}

static void
test_base64_strict(void **state)
{
	char out[64];
	static const char *const bad[] = {
		"Zg",        /* padding required */
		"Zg=",       /* short padding */
		"Zm9",       /* length not a multiple of 4 */
		"Zm9vY",
		"Z===",      /* at most two pad characters */
		"====",
		"=Zm9",      /* padding first */
		"Zg==Zm9v",  /* padding in the middle */
		"Zm=v",      /* data after padding */
		"Zm9v\r\n",  /* no line breaks */
		"Zm9 v",     /* no whitespace */
		" Zm9v",
		"Zm9v ",
		"Zm9-",      /* base64url is not base64 */
		"Zm9_",
		"Zm9v!!!!",
		"Zm\x80v",   /* high octets */
		"Zm9\xff",
	};

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (decode(bad[i], out, sizeof out) != -1)
			fail_msg("\"%s\" accepted", bad[i]);
	}
	/* A NUL inside the input is not the end of it. */
	static const char with_nul[8] = { 'Z', 'm', '9', 'v', '\0', 'Z', 'm', '9' };
	char *c = dup_n(with_nul, sizeof with_nul);
	assert_int_equal(base64_decode(c, sizeof with_nul, out, sizeof out), -1);
	free(c);
}

static void
test_base64_room(void **state)
{
	char out[8];

	(void)state;
	/* "foobar" needs 6 octets and the NUL: 7 fit exactly, 6 do not. */
	memset(out, 'X', sizeof out);
	assert_int_equal(decode("Zm9vYmFy", out, 7), 6);
	assert_string_equal(out, "foobar");
	memset(out, 'X', sizeof out);
	assert_int_equal(decode("Zm9vYmFy", out, 6), -1);
	assert_int_equal(out[6], 'X');
	assert_int_equal(decode("Zg==", out, 1), -1);
	assert_int_equal(decode("Zg==", out, 2), 1);
	/* No room at all, not even for the NUL: nothing may be written. */
	memset(out, 'X', sizeof out);
	assert_int_equal(decode("", out, 0), -1);
	assert_int_equal(out[0], 'X');
	/* Encoding: the NUL counts too. */
	assert_int_equal(base64_encode("foo", 3, out, 4), -1);
	assert_int_equal(base64_encode("foo", 3, out, 5), 4);
	assert_string_equal(out, "Zm9v");
}

static void
test_plain_ok(void **state)
{
	struct sasl_plain p;

	(void)state;
	/* RFC 4616 section 4 examples: without and with authzid. */
	assert_int_equal(plain_raw("\0tim\0tanstaaftanstaaf", 21, &p), 0);
	assert_string_equal(p.authzid, "");
	assert_string_equal(p.authcid, "tim");
	assert_string_equal(p.password, "tanstaaftanstaaf");

	assert_int_equal(plain_raw("Ursel\0Kurt\0xipj3plmq", 20, &p), 0);
	assert_string_equal(p.authzid, "Ursel");
	assert_string_equal(p.authcid, "Kurt");
	assert_string_equal(p.password, "xipj3plmq");

	/* The canonical encoding as a client sends it. */
	assert_int_equal(plain("AGRlbW9AZXhhbXBsZS50ZXN0AGRlbW8tcGFzc3dvcmQtMQ==", &p), 0);
	assert_string_equal(p.authcid, "demo@example.test");
	assert_string_equal(p.password, "demo-password-1");

	/* UTF-8 and spaces are ordinary octets of a password. */
	assert_int_equal(plain_raw("\0u@x.test\0p\xc3\xa4ss word", 20, &p), 0);
	assert_string_equal(p.password, "p\xc3\xa4ss word");
}

static void
test_plain_bad(void **state)
{
	struct sasl_plain p;

	(void)state;
	assert_int_equal(plain("", &p), -1);              /* nothing */
	assert_int_equal(plain("=", &p), -1);             /* RFC 4954: the empty response */
	assert_int_equal(plain("not base64!", &p), -1);
	assert_int_equal(plain("AHRpbQB0YW5zdGFhZg", &p), -1); /* padding missing */
	assert_int_equal(plain_raw("timtanstaaf", 11, &p), -1);    /* no NUL */
	assert_int_equal(plain_raw("\0timtanstaaf", 12, &p), -1);  /* one NUL */
	assert_int_equal(plain_raw("tim\0tanstaaf", 12, &p), -1);  /* one NUL */
	assert_int_equal(plain_raw("\0\0tanstaaf", 10, &p), -1);   /* empty authcid */
	/* An empty password decodes (and is refused later, as any wrong one). */
	assert_int_equal(plain_raw("\0tim\0", 5, &p), 0);
	assert_string_equal(p.authcid, "tim");
	assert_string_equal(p.password, "");
	assert_int_equal(plain_raw("\0\0", 2, &p), -1);
	assert_int_equal(plain_raw("\0tim\0tan\0staaf", 14, &p), -1); /* NUL in the password */
	assert_int_equal(plain_raw("\0tim\0\0", 6, &p), -1);
	/* A refusal leaves no field behind. */
	assert_int_equal(plain_raw("zid\0\0pw", 7, &p), -1);
	assert_string_equal(p.authzid, "");
	assert_string_equal(p.authcid, "");
	assert_string_equal(p.password, "");
}

static void
test_plain_lengths(void **state)
{
	static char raw[3 * SASL_FIELD_MAX + 8];
	struct sasl_plain p;
	size_t max = SASL_FIELD_MAX - 1; /* the longest field that fits with its NUL */

	(void)state;
	/* Each field at its longest is accepted... */
	memset(raw, 'z', max);
	raw[max] = '\0';
	memset(raw + max + 1, 'c', max);
	raw[2 * max + 1] = '\0';
	memset(raw + 2 * max + 2, 'p', max);
	assert_int_equal(plain_raw(raw, 3 * max + 2, &p), 0);
	assert_int_equal(strlen(p.authzid), max);
	assert_int_equal(strlen(p.authcid), max);
	assert_int_equal(strlen(p.password), max);

	/* ...and each one octet longer is refused. */
	for (int field = 0; field < 3; field++) {
		size_t len[3] = { 1, 1, 1 }, o = 0;
		len[field] = max + 1;
		for (int f = 0; f < 3; f++) {
			memset(raw + o, "zcp"[f], len[f]);
			o += len[f];
			if (f < 2)
				raw[o++] = '\0';
		}
		if (plain_raw(raw, o, &p) != -1)
			fail_msg("field %d of %zu octets accepted", field, max + 1);
	}
	/* Far too long: base64 of more than the decode buffer. */
	static char big[8192];
	memset(big, 'A', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	assert_int_equal(plain(big, &p), -1);
}

static void
test_login(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(login("ZGVtb0BleGFtcGxlLnRlc3Q=", out, sizeof out), 0);
	assert_string_equal(out, "demo@example.test");
	assert_int_equal(login("cGFzcw==", out, sizeof out), 0);
	assert_string_equal(out, "pass");

	assert_int_equal(login("", out, sizeof out), -1);         /* empty */
	assert_int_equal(login("=", out, sizeof out), -1);
	assert_int_equal(login("cGFzcw", out, sizeof out), -1);   /* padding missing */
	assert_int_equal(login("cG Fz", out, sizeof out), -1);
	assert_int_equal(login(b64("a\0b", 3), out, sizeof out), -1); /* a NUL inside */
	assert_int_equal(login(b64("\0", 1), out, sizeof out), -1);
	/* The result must fit with its NUL. */
	assert_int_equal(login(b64("12345678", 8), out, 9), 0);
	assert_string_equal(out, "12345678");
	assert_int_equal(login(b64("12345678", 8), out, 8), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64_vectors),
		cmocka_unit_test(test_base64_all_octets),
		cmocka_unit_test(test_base64_strict),
		cmocka_unit_test(test_base64_room),
		cmocka_unit_test(test_plain_ok),
		cmocka_unit_test(test_plain_bad),
		cmocka_unit_test(test_plain_lengths),
		cmocka_unit_test(test_login),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
