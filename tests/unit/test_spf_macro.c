/*
 * test_spf_macro.c - unit tests for spf_macro.c: RFC 7208 7.4's examples exactly,
 * transformers and delimiters, URL escaping of upper-case letters, the
 * explanation-only letters, syntax errors, domain-spec endings (7.1) and the
 * 253-octet fit of 7.3.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "spf/spf_macro.h"

static struct spf_ip ip4, ip6;

static struct spf_macro_env
env_for(const struct spf_ip *ip)
{
	return (struct spf_macro_env){
		.sender = "strong-bad@email.example.com", .local = "strong-bad",
		.sender_domain = "email.example.com", .domain = "email.example.com", .ip = ip,
		.validated = NULL, .helo = "mx.example.org", .receiver = "mx.example.net",
		.now = 1234567890,
	};
}

static const char *
expand(const char *in, const struct spf_ip *ip, bool exp)
{
	static char out[1024];
	struct spf_macro_env env = env_for(ip);
	if (spf_macro_expand(in, strlen(in), &env, exp, out, sizeof out) < 0)
		return NULL;
	return out;
}

static void
rfc_examples(void **state)
{
	static const struct { const char *in, *out; } v4[] = {
		{ "%{s}", "strong-bad@email.example.com" },
		{ "%{o}", "email.example.com" },
		{ "%{d}", "email.example.com" },
		{ "%{d4}", "email.example.com" },
		{ "%{d3}", "email.example.com" },
		{ "%{d2}", "example.com" },
		{ "%{d1}", "com" },
		{ "%{dr}", "com.example.email" },
		{ "%{d2r}", "example.email" },
		{ "%{l}", "strong-bad" },
		{ "%{l-}", "strong.bad" },
		{ "%{lr}", "strong-bad" },
		{ "%{lr-}", "bad.strong" },
		{ "%{l1r-}", "strong" },
		{ "%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com" },
		{ "%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com" },
		{ "%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", "bad.strong.lp.3.2.0.192.in-addr._spf.example.com" },
		{ "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", "3.2.0.192.in-addr.strong.lp._spf.example.com" },
		{ "%{d2}.trusted-domains.example.net", "example.com.trusted-domains.example.net" },
	};
	for (size_t i = 0; i < sizeof v4 / sizeof v4[0]; i++) {
		const char *got = expand(v4[i].in, &ip4, false);
		assert_non_null(got);
		assert_string_equal(got, v4[i].out);
	}
	assert_string_equal(expand("%{ir}.%{v}._spf.%{d2}", &ip6, false),
	    "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com");
}

static void
escapes_and_letters(void **state)
{
	assert_string_equal(expand("%%%_%-", &ip4, false), "% %20");
	assert_string_equal(expand("%{S}", &ip4, false), "strong-bad%40email.example.com");
	assert_string_equal(expand("%{L}", &ip4, false), "strong-bad");
	assert_string_equal(expand("%{h}.%{p}", &ip4, false), "mx.example.org.unknown");
	assert_string_equal(expand("%{i}", &ip6, false),
	    "2.0.0.1.0.d.b.8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.c.b.0.1");
	assert_string_equal(expand("%{v}", &ip6, false), "ip6");
	/* c, r, t only in explanations */
	assert_null(expand("%{c}", &ip4, false));
	assert_null(expand("%{r}", &ip4, false));
	assert_null(expand("%{t}", &ip4, false));
	assert_string_equal(expand("%{c} %{r} %{t}", &ip4, true), "192.0.2.3 mx.example.net 1234567890");
	assert_string_equal(expand("%{c}", &ip6, true), "2001:db8::cb01");
	/* Several delimiters; a large digit keeps everything. */
	struct spf_macro_env env = env_for(&ip4);
	env.local = "foo-bar+zip+quux";
	char out[256];
	assert_int_equal(spf_macro_expand("%{l-+}", 6, &env, false, out, sizeof out), 0);
	assert_string_equal(out, "foo.bar.zip.quux");
	assert_string_equal(expand("%{d99}", &ip4, false), "email.example.com");
	/* URL escaping uses upper-case hex. */
	env.local = "jack&jill=up";
	assert_int_equal(spf_macro_expand("%{L}", 4, &env, true, out, sizeof out), 0);
	assert_string_equal(out, "jack%26jill%3Dup");
	/* The output is cut, never overrun. */
	char small[6];
	assert_int_equal(spf_macro_expand("%{s}", 4, &env, false, small, sizeof small), 0);
	assert_string_equal(small, "stron");
}

static void
syntax_errors(void **state)
{
	static const char *const bad[] = {
		"%", "%{", "%{d", "%{x}", "%{d0}", "%{d2r", "%(ir)", "%x", "a b", "%{d*}",
		"\x80", "%{ir}.%{v}%",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_null(expand(bad[i], &ip4, false));
	/* Spaces belong to explanations only. */
	assert_non_null(expand("a b", &ip4, true));
}

static void
domain_specs(void **state)
{
	static const char *const good[] = {
		"example.com", "example.com.", "%{d}", "foo.%{d}", "_spf.%{d2}", "a.1-2",
		"%{ir}.%{v}._spf.%{d2}", "x.%%", "foo.bar.",
	};
	static const char *const bad[] = {
		"foo", "foo-bar", "1.2.3.4", "example.com..", "example.-com", "example.com-",
		"example.%", "", "foo.bar/24", "exa mple.com",
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		assert_true(spf_domain_spec_ok(good[i], strlen(good[i])));
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_false(spf_domain_spec_ok(bad[i], strlen(bad[i])));
}

static void
names(void **state)
{
	char long_name[600] = "";
	for (int i = 0; i < 30; i++)
		strcat(long_name, "label9876.");
	strcat(long_name, "example.com.");
	spf_name_fit(long_name);
	assert_true(strlen(long_name) <= 253);
	assert_string_equal(long_name + strlen(long_name) - 12, ".example.com");
	assert_true(spf_name_ok(long_name, true));
	assert_true(spf_name_ok("example.com.", true));
	assert_false(spf_name_ok("localhost", true));
	assert_true(spf_name_ok("localhost", false));
	assert_false(spf_name_ok("a..example.com", false));
	assert_false(spf_name_ok("", false));
	assert_false(spf_name_ok(
	    "a123456789012345678901234567890123456789012345678901234567890123.example.com", false));
}

static int
setup(void **state)
{
	assert_int_equal(spf_ip_parse("192.0.2.3", &ip4), 0);
	assert_int_equal(spf_ip_parse("2001:db8::cb01", &ip6), 0);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rfc_examples),
		cmocka_unit_test(escapes_and_letters),
		cmocka_unit_test(syntax_errors),
		cmocka_unit_test(domain_specs),
		cmocka_unit_test(names),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
