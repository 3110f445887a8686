/*
 * test_spf_record.c - unit tests for spf_record.c: which texts are SPF records
 * (4.5), the terms and CIDR lengths parsed (5, 12), modifiers (6: redirect and
 * exp once each, unknown ones ignored but checked), and the syntax errors that
 * make a record a permerror. Also the address helpers of spf_addr.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>

#include "spf/spf_addr.h"
#include "spf/spf_record.h"

static int
parse(const char *txt, struct spf_record *r)
{
	char why[160];
	int rc = spf_record_parse(txt, r, why, sizeof why);
	if (rc < 0)
		assert_true(why[0] != '\0');
	return rc;
}

static void
recognising(void **state)
{
	assert_true(spf_is_record("v=spf1", 6));
	assert_true(spf_is_record("V=SPF1 -all", 11));
	assert_false(spf_is_record("v=spf10", 7));
	assert_false(spf_is_record("v=spf1-all", 10));
	assert_false(spf_is_record("spf1", 4));
}

static void
terms(void **state)
{
	struct spf_record r;

	assert_int_equal(parse("v=spf1 +a mx:mail.example.com/24//64 -ip4:192.0.2.0/24 "
	    "~ip6:2001:db8::/32 ?include:_spf.example.net ptr exists:%{ir}.bl.example.org "
	    "a//96 all  ", &r), 0);
	assert_int_equal(r.n, 9);
	assert_int_equal(r.v[0].mech, SPF_MECH_A);
	assert_int_equal(r.v[0].qual, '+');
	assert_null(r.v[0].spec);
	assert_int_equal(r.v[0].cidr4, 32);
	assert_int_equal(r.v[1].mech, SPF_MECH_MX);
	assert_string_equal(r.v[1].spec, "mail.example.com");
	assert_int_equal(r.v[1].cidr4, 24);
	assert_int_equal(r.v[1].cidr6, 64);
	assert_int_equal(r.v[2].mech, SPF_MECH_IP4);
	assert_int_equal(r.v[2].qual, '-');
	assert_int_equal(r.v[2].cidr4, 24);
	assert_int_equal(r.v[3].mech, SPF_MECH_IP6);
	assert_int_equal(r.v[3].cidr6, 32);
	assert_int_equal(r.v[4].mech, SPF_MECH_INCLUDE);
	assert_int_equal(r.v[4].qual, '?');
	assert_string_equal(r.v[4].spec, "_spf.example.net");
	assert_int_equal(r.v[5].mech, SPF_MECH_PTR);
	assert_int_equal(r.v[6].mech, SPF_MECH_EXISTS);
	assert_string_equal(r.v[6].spec, "%{ir}.bl.example.org");
	assert_int_equal(r.v[7].cidr4, 32);
	assert_int_equal(r.v[7].cidr6, 96);
	assert_int_equal(r.v[8].mech, SPF_MECH_ALL);
	assert_null(r.redirect);
	spf_record_free(&r);
	assert_int_equal(parse("v=spf1", &r), 0);
	assert_int_equal(r.n, 0);
	spf_record_free(&r);
}

static void
modifiers(void **state)
{
	struct spf_record r;

	assert_int_equal(parse("v=spf1 REDIRECT=_spf.example.com exp=explain.%{d} "
	    "moo.cow-far_out=man:dog/cat", &r), 0);
	assert_int_equal(r.n, 0);
	assert_string_equal(r.redirect, "_spf.example.com");
	assert_string_equal(r.exp, "explain.%{d}");
	spf_record_free(&r);
	assert_int_equal(parse("v=spf1 redirect=a.example.com redirect=b.example.com", &r), -1);
	spf_record_free(&r);
	assert_int_equal(parse("v=spf1 exp=a.example.com exp=b.example.com", &r), -1);
	spf_record_free(&r);
	assert_int_equal(parse("v=spf1 foo=%{x}", &r), -1);
	spf_record_free(&r);
	assert_int_equal(parse("v=spf1 1foo=bar", &r), -1);
	spf_record_free(&r);
}

static void
errors(void **state)
{
	static const char *const bad[] = {
		"v=spf1 -all.", "v=spf1 -all:foo", "v=spf1 all/8", "v=spf1 ip4:1.2.3.4/33",
		"v=spf1 ip4:1.2.3.4/032", "v=spf1 ip4:1.2.3", "v=spf1 ip6:::1/129",
		"v=spf1 ip6:::1.1.1.1//33", "v=spf1 a:foo-bar", "v=spf1 a:1.2.3.4",
		"v=spf1 a/33", "v=spf1 a//129", "v=spf1 include", "v=spf1 include:",
		"v=spf1 exists", "v=spf1 ptr/24", "v=spf1 ptr:", "v=spf1 redirect:example.com",
		"v=spf1 moo", "v=spf1 a:ctrl.example.com\rptr", "v=spf1 \x80" "a",
		"v=spf1 moo.cow/far_out=man:dog/cat", "v=spf1 =foo", "v=spf1 a:example.com/",
		"v=spf1 mx:example.com//", "v=spf1 ip4:", "v=spf1 exists:%(ir).sbl.example.com",
		"spf1 -all",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct spf_record r;
		if (parse(bad[i], &r) != -1)
			fail_msg("parsed: %s", bad[i]);
		spf_record_free(&r);
	}
}

static void
addresses(void **state)
{
	struct spf_ip ip;
	uint8_t net[16];
	char text[80];

	assert_int_equal(spf_ip_parse("::ffff:192.0.2.1", &ip), 0);
	assert_int_equal(ip.family, AF_INET);
	inet_pton(AF_INET, "192.0.2.0", net);
	assert_true(spf_ip_in(&ip, AF_INET, net, 24));
	assert_true(spf_ip_in(&ip, AF_INET, net, 0));
	assert_false(spf_ip_in(&ip, AF_INET, net, 32));
	assert_false(spf_ip_in(&ip, AF_INET6, net, 0));
	spf_ip_reverse_name(&ip, text, sizeof text);
	assert_string_equal(text, "1.2.0.192.in-addr.arpa");
	assert_int_equal(spf_ip_parse("2001:db8::1", &ip), 0);
	spf_ip_reverse_name(&ip, text, sizeof text);
	assert_string_equal(text,
	    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
	inet_pton(AF_INET6, "2001:db8:ff00::", net);
	assert_true(spf_ip_in(&ip, AF_INET6, net, 32));
	assert_false(spf_ip_in(&ip, AF_INET6, net, 33 + 7));
	assert_int_equal(spf_ip_parse("not-an-ip", &ip), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(recognising),
		cmocka_unit_test(terms),
		cmocka_unit_test(modifiers),
		cmocka_unit_test(errors),
		cmocka_unit_test(addresses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
