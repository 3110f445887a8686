/*
 * test_dkim_sig.c - unit tests for the pure DKIM parsers: tag lists (RFC 6376 3.2),
 * DKIM-Signature values (3.5: required tags, defaults, duplicates, i= within d=,
 * h= with From, numbers, base64 with folding, where b= lies) and key records (3.6.1:
 * v=, k=, p= empty for revoked, h=, s=, t=).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "dkim/dkim_keyrec.h"
#include "dkim/dkim_sig.h"
#include "dkim/dkim_tags.h"

static void
test_tags(void **state)
{
	struct dkim_tags t;
	char why[100];
	const char *text = " a = 1 ; b_2=x\r\n\ty z;c=;";

	assert_int_equal(dkim_tags_parse(text, strlen(text), &t, why, sizeof why), 0);
	assert_int_equal(t.n, 3);
	assert_true(dkim_tag_is(&t, dkim_tags_find(&t, "a"), "1"));
	assert_true(dkim_tag_is(&t, dkim_tags_find(&t, "b_2"), "x\r\n\ty z"));
	assert_true(dkim_tag_is(&t, dkim_tags_find(&t, "c"), ""));
	assert_null(dkim_tags_find(&t, "A"));
	static const char *const bad[] = { "a=1; a=2", "a", "1a=x", "a=1;;b=2", "a=x\001y",
		"=x", "a=b;c" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (dkim_tags_parse(bad[i], strlen(bad[i]), &t, why, sizeof why) == 0)
			fail_msg("\"%s\" parsed", bad[i]);
	assert_int_equal(dkim_tags_parse("a=1; a=2", 8, &t, why, sizeof why), -1);
	assert_string_equal(why, "duplicate tag a");
	assert_int_equal(dkim_tags_parse("", 0, &t, why, sizeof why), 0);
	assert_int_equal(t.n, 0);
	assert_true(dkim_list_has("From : to:Subject", 17, "from", true));
	assert_false(dkim_list_has("From : to:Subject", 17, "from", false));
	assert_true(dkim_list_has("sha1:sha256", 11, "sha256", false));
	assert_false(dkim_list_has("sha1:sha2566", 12, "sha256", false));
}

static int
parse(const char *v, struct dkim_sig *s, char *why)
{
	return dkim_sig_parse(v, strlen(v), s, why, 100);
}

static void
test_sig(void **state)
{
	struct dkim_sig s;
	char why[100];
	const char *v = " v=1; a=RSA-SHA256; d=Example.TEST; s=sel; h=From : To;\n"
	    "\tbh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; t=100; x=200; l=5;\n"
	    "\tb=aGVs\n\t bG8h ; z=From:a@b\n";

	assert_int_equal(parse(v, &s, why), 0);
	assert_int_equal(s.alg, DKIM_RSA_SHA256);
	assert_string_equal(s.a, "rsa-sha256");
	assert_string_equal(s.d, "example.test");
	assert_string_equal(s.s, "sel");
	assert_string_equal(s.i, "@example.test");
	assert_true(s.simple_header && s.simple_body); /* c= absent: simple/simple */
	assert_true(s.has_l && s.l == 5 && s.has_t && s.t == 100 && s.has_x && s.x == 200);
	assert_int_equal(s.bh_len, 32);
	assert_int_equal(s.b_len, 6);
	assert_memory_equal(s.b, "hello!", 6);
	assert_string_equal(s.b_start, "aGVsbG8h");
	assert_int_equal(s.h_len, 9);
	assert_memory_equal(v + s.h, "From : To", 9);
	/* b= stripped: from after its '=' to the ';'. */
	assert_int_equal(v[s.b_val - 1], '=');
	assert_int_equal(v[s.b_end], ';');

	assert_int_equal(parse("v=1; a=ed25519-sha256; c=relaxed; d=a.b; s=x.y; h=from; "
	    "bh=AAAA; b=AAAA; i=joe@sub.a.b; q=dns/txt", &s, why), 0);
	assert_true(!s.simple_header ? s.simple_body : false);
	assert_int_equal(s.alg, DKIM_ED25519_SHA256);
	assert_string_equal(s.i, "joe@sub.a.b");
	assert_string_equal(s.s, "x.y");
	assert_int_equal(parse("v=1; a=rsa-sha1; c=simple/relaxed; d=a.b; s=x; h=from; "
	    "bh=AAAA; b=AAAA; l=123456789012345678901234567890", &s, why), 0);
	assert_int_equal(s.alg, DKIM_RSA_SHA1);
	assert_true(s.simple_header && !s.simple_body);
	assert_int_equal(s.l, UINT64_MAX);
}

static void
test_sig_errors(void **state)
{
	static const struct {
		const char *v, *why;
	} cases[] = {
		{ "a=rsa-sha256; d=a.b; s=x; h=from; bh=AAAA; b=AAAA", "no v= tag" },
		{ "v=1; d=a.b; s=x; h=from; bh=AAAA; b=AAAA", "no a= tag" },
		{ "v=1; a=rsa-sha256; s=x; h=from; bh=AAAA; b=AAAA", "no d= tag" },
		{ "v=1; a=rsa-sha256; d=a.b; h=from; bh=AAAA; b=AAAA", "no s= tag" },
		{ "v=1; a=rsa-sha256; d=a.b; s=x; bh=AAAA; b=AAAA", "no h= tag" },
		{ "v=1; a=rsa-sha256; d=a.b; s=x; h=from; b=AAAA", "no bh= tag" },
		{ "v=1; a=rsa-sha256; d=a.b; s=x; h=from; bh=AAAA", "no b= tag" },
		{ "v=1; a=rsa-sha256; d=a.b; s=x; h=from; bh=AAAA; b=AAAA; d=c.d", "duplicate tag d" },
		{ "v=1; a=rsa-sha256; d=a.b; s=x; h=to:subject; bh=AAAA; b=AAAA", "h= does not sign From" },
		{ "v=1; a=rsa-sha256; d=a.b; s=x; h=from; bh=AAAA; b=AAAA; i=j@b", "i= not within d=" },
		{ "v=1; a=rsa-sha256; d=a.b; s=x; h=from; bh=AAAA; b=AAAA; i=j@xa.b", "i= not within d=" },
		{ "v=1; a=rsa-sha256; d=a.b; s=x; h=from; bh=AAAA; b=AAAA; i=nobody", "i= is not" },
		{ "v=1; a=dsa-sha256; d=a.b; s=x; h=from; bh=AAAA; b=AAAA", "algorithm" },
		{ "v=1; a=rsa-sha256; c=relaxed/fancy; d=a.b; s=x; h=from; bh=AAAA; b=AAAA", "c=" },
		{ "v=1; a=rsa-sha256; d=a..b; s=x; h=from; bh=AAAA; b=AAAA", "bad d=" },
		{ "v=1; a=rsa-sha256; d=a.b; s=x/y; h=from; bh=AAAA; b=AAAA", "bad s=" },
		{ "v=1; a=rsa-sha256; d=a.b; s=x; h=from; bh=AA*A; b=AAAA", "bad bh=" },
		{ "v=1; a=rsa-sha256; d=a.b; s=x; h=from; bh=AAAA; b=", "bad b=" },
		{ "v=1; a=rsa-sha256; d=a.b; s=x; h=from; bh=AAAA; b=AAAA; t=12x", "bad t=" },
		{ "v=1; a=rsa-sha256; d=a.b; s=x; h=from; bh=AAAA; b=AAAA; x=1234567890123", "bad x=" },
		{ "v=1; a=rsa-sha256; d=a.b; s=x; h=from; bh=AAAA; b=AAAA; t=10; x=9", "x= before t=" },
		{ "v=1; a=rsa-sha256; d=a.b; s=x; h=from; bh=AAAA; b=AAAA; l=-1", "bad l=" },
		{ "v=1; a=rsa-sha256; d=a.b; s=x; h=from; bh=AAAA; b=AAAA; q=dns", "q=" },
		{ "v=1.0; a=rsa-sha256; d=a.b; s=x; h=from; bh=AAAA; b=AAAA", "v= is not 1" },
	};
	struct dkim_sig s;
	char why[100];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		if (parse(cases[i].v, &s, why) == 0 || strstr(why, cases[i].why) == NULL)
			fail_msg("\"%s\": \"%s\", want an error with \"%s\"", cases[i].v, why,
			    cases[i].why);
	}
	/* d= and s= are kept for the report. */
	assert_int_equal(parse("v=1; d=A.b; s=sel; h=from", &s, why), -1);
	assert_string_equal(s.d, "a.b");
	assert_string_equal(s.s, "sel");
	assert_true(dkim_domain_within("A.B", "a.b"));
	assert_true(dkim_domain_within("x.a.b", "a.b"));
	assert_false(dkim_domain_within("xa.b", "a.b"));
	assert_false(dkim_domain_within("b", "a.b"));
}

static int
key(const char *v, struct dkim_keyrec *k, char *why)
{
	return dkim_keyrec_parse(v, strlen(v), k, why, 100);
}

static void
test_keyrec(void **state)
{
	struct dkim_keyrec k;
	char why[100];

	assert_int_equal(key("v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
	    &k, why), 0);
	assert_int_equal(k.type, DKIM_KEY_ED25519);
	assert_int_equal(k.key_len, 32);
	assert_false(k.revoked || k.testing || k.strict);
	assert_true(k.sha256_ok && k.sha1_ok);
	assert_int_equal(key("p=aGVs bG8h; g=*; n=notes here", &k, why), 0);
	assert_int_equal(k.type, DKIM_KEY_RSA);
	assert_int_equal(k.key_len, 6);
	assert_int_equal(key("v=DKIM1; p=", &k, why), 0);
	assert_true(k.revoked);
	assert_int_equal(key("v=DKIM1; h=sha1; t=y:s; s=email; p=AAAA", &k, why), 0);
	assert_true(k.sha1_ok && !k.sha256_ok && k.testing && k.strict);
	assert_int_equal(key("s=*; t=x; p=AAAA", &k, why), 0);
	assert_false(k.testing || k.strict);

	static const struct {
		const char *v, *why;
	} bad[] = {
		{ "k=rsa; v=DKIM1; p=AAAA", "DKIM1" },
		{ "v=DKIM2; p=AAAA", "DKIM1" },
		{ "v=DKIM1; k=dsa; p=AAAA", "k=" },
		{ "v=DKIM1; k=rsa", "without p=" },
		{ "v=DKIM1; p=A*AA", "base64" },
		{ "v=DKIM1; s=tlsrpt; p=AAAA", "email" },
		{ "v=DKIM1; p=AAAA; p=AAAA", "duplicate" },
		{ "v=spf1 -all", "" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (key(bad[i].v, &k, why) == 0 || strstr(why, bad[i].why) == NULL)
			fail_msg("\"%s\": \"%s\", want an error with \"%s\"", bad[i].v, why, bad[i].why);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tags),
		cmocka_unit_test(test_sig),
		cmocka_unit_test(test_sig_errors),
		cmocka_unit_test(test_keyrec),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
