/*
 * test_dns_spf.c - unit tests for dns_spf.c: which SPF records (RFC 7208) parse,
 * and whether the ip4, ip6, a, mx and all mechanisms, evaluated left to right
 * with their qualifiers (4.6.2) and CIDR lengths (5.6), let an address pass.
 * Lookups for a and mx come from a table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>

#include "cli/dns_spf.h"

/* The fake DNS: a name's addresses; "mx:" names give an mx mechanism's. */
static const struct {
	const char *name;
	const char *addrs[3];
} fake_dns[] = {
	{ "example.test", { "192.0.2.10" } },
	{ "mx:example.test", { "192.0.2.25", "2001:db8::25" } },
	{ "other.test", { "198.51.100.7" } },
	{ "mx:other.test", { "" } },
};

static int lookups;

static int
fake_lookup(void *arg, bool mx, const char *name, struct spf_addrs *out)
{
	char key[300];

	lookups++;
	if (strcmp(name, "broken.test") == 0)
		return -1;
	snprintf(key, sizeof key, "%s%s", mx ? "mx:" : "", name);
	for (size_t i = 0; i < sizeof fake_dns / sizeof fake_dns[0]; i++) {
		if (strcmp(fake_dns[i].name, key) != 0)
			continue;
		for (size_t k = 0; k < 3 && fake_dns[i].addrs[k] && fake_dns[i].addrs[k][0]; k++)
			assert_int_equal(spf_addr_parse(fake_dns[i].addrs[k], &out->v[out->n++]), 0);
	}
	return 0;
}

static enum spf_verdict
verdict(const char *record, const char *addr)
{
	struct spf_record r;
	struct spf_addr a;
	char why[128];

	assert_int_equal(spf_parse(record, &r, why, sizeof why), 0);
	assert_int_equal(spf_addr_parse(addr, &a), 0);
	return spf_allows(&r, "example.test", &a, fake_lookup, NULL);
}

static void
test_is_record(void **state)
{
	assert_true(spf_is_record("v=spf1"));
	assert_true(spf_is_record("v=spf1 -all"));
	assert_true(spf_is_record("V=SPF1 mx"));
	assert_false(spf_is_record("v=spf10 -all"));
	assert_false(spf_is_record("v=spf1-all"));
	assert_false(spf_is_record("v=DMARC1; p=none"));
	assert_false(spf_is_record(" v=spf1 mx"));
	assert_false(spf_is_record(""));
}

static void
test_parse(void **state)
{
	struct spf_record r;
	char why[128];

	assert_int_equal(spf_parse("v=spf1 mx ip4:192.0.2.1 ip6:2001:db8::/32 ~all", &r, why,
	    sizeof why), 0);
	assert_int_equal(r.n, 4);
	assert_int_equal(r.v[0].mech, SPF_MX);
	assert_int_equal(r.v[1].mech, SPF_IP4);
	assert_int_equal(r.v[1].prefix4, 32);
	assert_int_equal(r.v[2].mech, SPF_IP6);
	assert_int_equal(r.v[2].prefix6, 32);
	assert_int_equal(r.v[3].mech, SPF_ALL);
	assert_int_equal(r.v[3].qual, '~');
	assert_false(r.unfollowed);

	assert_int_equal(spf_parse("v=spf1 a:mail.example.test/24//64 -mx:other.test//48", &r,
	    why, sizeof why), 0);
	assert_string_equal(r.v[0].domain, "mail.example.test");
	assert_int_equal(r.v[0].prefix4, 24);
	assert_int_equal(r.v[0].prefix6, 64);
	assert_int_equal(r.v[1].qual, '-');
	assert_string_equal(r.v[1].domain, "other.test");
	assert_int_equal(r.v[1].prefix4, 32);
	assert_int_equal(r.v[1].prefix6, 48);

	/* Not followed: include, exists, ptr, redirect, macros. Modifiers are skipped. */
	assert_int_equal(spf_parse("v=spf1 include:_spf.example.test -all", &r, why, sizeof why), 0);
	assert_true(r.unfollowed);
	assert_int_equal(spf_parse("v=spf1 redirect=_spf.example.test", &r, why, sizeof why), 0);
	assert_true(r.unfollowed);
	assert_int_equal(r.n, 0);
	assert_int_equal(spf_parse("v=spf1 a:%{d}.example.test exp=explain.test -all", &r, why,
	    sizeof why), 0);
	assert_true(r.unfollowed);
	assert_int_equal(r.n, 2);

	/* Malformed terms make the record a permerror. */
	static const char *const bad[] = {
		"v=spf1 ip4:192.0.2.300", "v=spf1 ip4:192.0.2.1/33", "v=spf1 ip6:2001:db8::/129",
		"v=spf1 ip4", "v=spf1 ip4:2001:db8::1", "v=spf1 a/", "v=spf1 a:", "v=spf1 mx//",
		"v=spf1 all:x", "v=spf1 frobnicate", "v=spf1 ip4:192.0.2.1/08", "spf1 -all",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		why[0] = '\0';
		assert_int_equal(spf_parse(bad[i], &r, why, sizeof why), -1);
		assert_true(why[0] != '\0');
	}
}

static void
test_allows(void **state)
{
	assert_int_equal(verdict("v=spf1 ip4:192.0.2.1 -all", "192.0.2.1"), SPF_PASS);
	assert_int_equal(verdict("v=spf1 ip4:192.0.2.1 -all", "192.0.2.2"), SPF_NOT_PASS);
	assert_int_equal(verdict("v=spf1 ip4:192.0.2.0/24 -all", "192.0.2.200"), SPF_PASS);
	assert_int_equal(verdict("v=spf1 ip4:192.0.2.0/25 -all", "192.0.2.200"), SPF_NOT_PASS);
	assert_int_equal(verdict("v=spf1 ip4:0.0.0.0/0", "203.0.113.9"), SPF_PASS);
	assert_int_equal(verdict("v=spf1 ip6:2001:db8::/32", "2001:db8:1::5"), SPF_PASS);
	assert_int_equal(verdict("v=spf1 ip6:2001:db8::/33", "2001:db8:8000::5"), SPF_NOT_PASS);
	/* An IPv4 mechanism never matches an IPv6 address. */
	assert_int_equal(verdict("v=spf1 ip4:0.0.0.0/0 -all", "2001:db8::1"), SPF_NOT_PASS);
	/* The first match decides, with its qualifier. */
	assert_int_equal(verdict("v=spf1 -ip4:192.0.2.1 +all", "192.0.2.1"), SPF_NOT_PASS);
	assert_int_equal(verdict("v=spf1 ~ip4:192.0.2.1 +all", "192.0.2.1"), SPF_NOT_PASS);
	assert_int_equal(verdict("v=spf1 ?all", "192.0.2.1"), SPF_NOT_PASS);
	assert_int_equal(verdict("v=spf1 +all", "192.0.2.1"), SPF_PASS);
	assert_int_equal(verdict("v=spf1", "192.0.2.1"), SPF_NOT_PASS);
	assert_int_equal(verdict("v=spf1 -all ip4:192.0.2.1", "192.0.2.1"), SPF_NOT_PASS);
	/* a and mx, through the lookups; with CIDR lengths. */
	assert_int_equal(verdict("v=spf1 a -all", "192.0.2.10"), SPF_PASS);
	assert_int_equal(verdict("v=spf1 a -all", "192.0.2.11"), SPF_NOT_PASS);
	assert_int_equal(verdict("v=spf1 a/24 -all", "192.0.2.11"), SPF_PASS);
	assert_int_equal(verdict("v=spf1 mx -all", "192.0.2.25"), SPF_PASS);
	assert_int_equal(verdict("v=spf1 mx -all", "2001:db8::25"), SPF_PASS);
	assert_int_equal(verdict("v=spf1 mx -all", "2001:db8::26"), SPF_NOT_PASS);
	assert_int_equal(verdict("v=spf1 mx//64 -all", "2001:db8::26"), SPF_PASS);
	assert_int_equal(verdict("v=spf1 a:other.test -all", "198.51.100.7"), SPF_PASS);
	assert_int_equal(verdict("v=spf1 mx:other.test -all", "198.51.100.7"), SPF_NOT_PASS);
	/* Not followed: an include matches nothing here. */
	assert_int_equal(verdict("v=spf1 include:example.test -all", "192.0.2.10"), SPF_NOT_PASS);
	assert_int_equal(verdict("v=spf1 include:x.test ip4:192.0.2.10 -all", "192.0.2.10"), SPF_PASS);
	/* A failed lookup is a temporary failure, not a verdict; none after a match. */
	assert_int_equal(verdict("v=spf1 a:broken.test -all", "192.0.2.10"), SPF_TEMPFAIL);
	lookups = 0;
	assert_int_equal(verdict("v=spf1 ip4:192.0.2.10 a:broken.test -all", "192.0.2.10"), SPF_PASS);
	assert_int_equal(lookups, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_is_record),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_allows),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
