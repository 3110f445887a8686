/*
 * test_dnsbl.c - unit tests for dnsbl.c: the names asked (RFC 5782 2.1 and 2.4:
 * reversed IPv4 octets, reversed IPv6 nibbles, mapped IPv4 as IPv4), what an answer
 * means (127.0.0.0/8 listed, 127.255.255.x an error code of the list), and the sum
 * of weights over canned answers, an allow list included.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "smtp/dnsbl.h"

static void
test_names(void **state)
{
	char out[256];

	assert_int_equal(dnsbl_query_name("192.0.2.99", "zen.example", out, sizeof out), 0);
	assert_string_equal(out, "99.2.0.192.zen.example");
	assert_int_equal(dnsbl_query_name("2001:db8:1:2:3:4:567:89ab", "bl.example", out,
	    sizeof out), 0);
	assert_string_equal(out,
	    "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.bl.example");
	assert_int_equal(dnsbl_query_name("::ffff:198.51.100.7", "bl.example", out, sizeof out), 0);
	assert_string_equal(out, "7.100.51.198.bl.example");
	assert_int_equal(dnsbl_query_name("local", "bl.example", out, sizeof out), -1);
	assert_int_equal(dnsbl_query_name("192.0.2.99", "bl.example", out, 10), -1);
}

static void
test_answers(void **state)
{
	const uint8_t listed[4] = { 127, 0, 0, 2 }, err[4] = { 127, 255, 255, 254 },
	    odd[4] = { 10, 0, 0, 1 };

	assert_int_equal(dnsbl_answer(listed, 4), 1);
	assert_int_equal(dnsbl_answer(err, 4), -1);
	assert_int_equal(dnsbl_answer(odd, 4), -1);
	assert_int_equal(dnsbl_answer(listed, 3), -1);
}

/* Canned DNS: names under "yes." zones list the client, "err." answers an error code. */
static int
canned(void *ctx, const char *name, int rrtype, dns_rr_fn fn, void *arg)
{
	static const uint8_t a[4] = { 127, 0, 0, 2 }, e[4] = { 127, 255, 255, 255 };
	const uint8_t *v[1];
	int len[1] = { 4 };
	struct dns_rdata rr = { v, len, 1, 60, false };

	if (strstr(name, ".yes") != NULL || strstr(name, ".allow") != NULL) {
		v[0] = a;
		fn(arg, DNS_OK, &rr, "");
	} else if (strstr(name, ".err") != NULL) {
		v[0] = e;
		fn(arg, DNS_OK, &rr, "");
	} else {
		fn(arg, DNS_NXDOMAIN, NULL, "nxdomain");
	}
	return 0;
}

static struct dnsbl_result got;

static void
keep(void *arg, const struct dnsbl_result *r)
{
	got = *r;
}

static void
test_sum(void **state)
{
	struct dns_ops ops = { canned, NULL, NULL };
	struct dnsbl_zone z[4] = { { "one.yes", 2 }, { "two.no", 5 }, { "three.err", 1 },
		{ "four.allow", -1 } };

	memset(&got, 0, sizeof got);
	assert_null(dnsbl_check_start(&ops, "192.0.2.1", z, 4, keep, NULL));
	assert_int_equal(got.score, 1);
	assert_string_equal(got.listed, "one.yes");
	assert_string_equal(got.failed, "three.err");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_answers),
		cmocka_unit_test(test_sum),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
