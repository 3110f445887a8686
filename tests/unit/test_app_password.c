/*
 * test_app_password.c - unit tests for app_password.c: the printed form (base32
 * vectors checked against Python's base64.b32encode), what a retyped password
 * may look like, the digest, the match over every stored digest, and the rules
 * for names and services.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "app_password.h"

static void
test_format(void **state)
{
	char out[APP_PASSWORD_SIZE];
	unsigned char raw[APP_PASSWORD_RAW];

	app_password_format((const unsigned char *)"foobarfoobarfoo", out);
	assert_string_equal(out, "mzxw-6ytb-ojtg-633c-mfzg-m33p");
	for (size_t i = 0; i < sizeof raw; i++)
		raw[i] = (unsigned char)i;
	app_password_format(raw, out);
	assert_string_equal(out, "aaaq-eaye-auda-ocaj-bifq-ydio");
	memset(raw, 0xff, sizeof raw);
	app_password_format(raw, out);
	assert_string_equal(out, "7777-7777-7777-7777-7777-7777");
}

/* made ones: 24 base32 characters in groups of four, and not twice the same */
static void
test_make(void **state)
{
	char a[APP_PASSWORD_SIZE], b[APP_PASSWORD_SIZE], norm[APP_PASSWORD_CHARS + 1];

	assert_int_equal(app_password_make(a), 0);
	assert_int_equal(app_password_make(b), 0);
	assert_int_equal(strlen(a), APP_PASSWORD_SIZE - 1);
	for (size_t i = 0; i < strlen(a); i++) {
		if (i % 5 == 4)
			assert_int_equal(a[i], '-');
		else
			assert_non_null(strchr("abcdefghijklmnopqrstuvwxyz234567", a[i]));
	}
	assert_string_not_equal(a, b);
	assert_true(app_password_normalize(a, norm));
	assert_int_equal(strlen(norm), APP_PASSWORD_CHARS);
}

static void
test_normalize(void **state)
{
	char out[APP_PASSWORD_CHARS + 1];

	assert_true(app_password_normalize("mzxw-6ytb-ojtg-633c-mfzg-m33p", out));
	assert_string_equal(out, "mzxw6ytbojtg633cmfzgm33p");
	/* retyped without dashes, with spaces, in capitals */
	assert_true(app_password_normalize("MZXW6YTBOJTG633CMFZGM33P", out));
	assert_string_equal(out, "mzxw6ytbojtg633cmfzgm33p");
	assert_true(app_password_normalize("mzxw 6ytb ojtg 633c mfzg m33p", out));
	/* not the form: too short, too long, outside the alphabet (0, 1, 8, 9) */
	assert_false(app_password_normalize("", out));
	assert_false(app_password_normalize("mzxw-6ytb-ojtg-633c-mfzg-m33", out));
	assert_false(app_password_normalize("mzxw-6ytb-ojtg-633c-mfzg-m33pa", out));
	assert_false(app_password_normalize("mzxw-6ytb-ojtg-633c-mfzg-m330", out));
	assert_false(app_password_normalize("mzxw-6ytb-ojtg-633c-mfzg-m338", out));
	assert_false(app_password_normalize("mzxw_6ytb_ojtg_633c_mfzg_m33p", out));
	assert_false(app_password_normalize("correct horse battery staple", out));
	char longer[200];
	memset(longer, '-', sizeof longer - 1);
	longer[sizeof longer - 1] = '\0';
	memcpy(longer, "mzxw6ytbojtg633cmfzgm33p", 24);
	assert_false(app_password_normalize(longer, out)); /* dashes without end are no form */
}

static void
test_digest_match(void **state)
{
	char d[3][APP_DIGEST_SIZE];

	assert_int_equal(app_password_digest("mzxw-6ytb-ojtg-633c-mfzg-m33p", d[1]), 0);
	/* sha256 of the normalized form, as Python's hashlib gives it */
	assert_string_equal(d[1],
	    "sha256:d046957f431724e1c0042daed82fe3d24c30179349dca848256a91a9eaa1bb08");
	assert_int_equal(app_password_digest("MZXW6YTBOJTG633CMFZGM33P", d[0]), 0);
	assert_string_equal(d[0], d[1]);
	assert_int_equal(app_password_digest("no app password", d[0]), -1);
	assert_int_equal(app_password_digest("aaaq-eaye-auda-ocaj-bifq-ydio", d[0]), 0);
	snprintf(d[2], sizeof d[2], "sha256:short");

	assert_int_equal(app_password_match("mzxw-6ytb-ojtg-633c-mfzg-m33p",
	    (const char (*)[APP_DIGEST_SIZE])d, 3), 1);
	assert_int_equal(app_password_match("mzxw6ytbojtg633cmfzgm33p",
	    (const char (*)[APP_DIGEST_SIZE])d, 3), 1);
	assert_int_equal(app_password_match("aaaq-eaye-auda-ocaj-bifq-ydio",
	    (const char (*)[APP_DIGEST_SIZE])d, 3), 0);
	assert_int_equal(app_password_match("7777-7777-7777-7777-7777-7777",
	    (const char (*)[APP_DIGEST_SIZE])d, 3), -1);
	assert_int_equal(app_password_match("mzxw-6ytb-ojtg-633c-mfzg-m33p",
	    (const char (*)[APP_DIGEST_SIZE])d, 1), -1); /* only the first is looked at */
	assert_int_equal(app_password_match("main-password", (const char (*)[APP_DIGEST_SIZE])d, 3),
	    -1);
	assert_int_equal(app_password_match("mzxw-6ytb-ojtg-633c-mfzg-m33p", NULL, 0), -1);
}

static void
test_names(void **state)
{
	char name[APP_NAME_MAX + 2];

	assert_true(app_name_valid("phone"));
	assert_true(app_name_valid("Thunderbird@laptop_2"));
	assert_true(app_name_valid("~!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}"));
	memset(name, 'n', APP_NAME_MAX);
	name[APP_NAME_MAX] = '\0';
	assert_true(app_name_valid(name));
	name[APP_NAME_MAX] = 'n';
	name[APP_NAME_MAX + 1] = '\0';
	assert_false(app_name_valid(name));
	assert_false(app_name_valid(""));
	assert_false(app_name_valid("my phone"));
	assert_false(app_name_valid("tab\there"));
	assert_false(app_name_valid("new\nline"));
	assert_false(app_name_valid("del\x7f"));
	assert_false(app_name_valid("t\xc3\xa9l\xc3\xa9phone")); /* UTF-8: not printable ASCII */
}

static void
test_services(void **state)
{
	assert_true(app_password_service_ok("smtp"));
	assert_true(app_password_service_ok("submission"));
	assert_true(app_password_service_ok("submissions"));
	assert_true(app_password_service_ok("pop3"));
	assert_true(app_password_service_ok("pop3s"));
	assert_false(app_password_service_ok("web"));
	assert_false(app_password_service_ok(""));
	assert_false(app_password_service_ok("POP3"));
	assert_false(app_password_service_ok("imap"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_make),
		cmocka_unit_test(test_normalize),
		cmocka_unit_test(test_digest_match),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_services),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
