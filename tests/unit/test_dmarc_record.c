/*
 * test_dmarc_record.c - unit tests for dmarc_record.c: which texts are DMARC
 * records (v=DMARC1 first, case-sensitive), each tag's values (RFC 9989 "Formal
 * Definition"), defaults for malformed values, the RFC 7489 tags pct/rf/ri and
 * unknown tags ignored, and the effective record (missing p -> none; a bad p, sp
 * or np -> p=none with a valid rua, else unusable).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dmarc/dmarc_record.h"

/* Parse an exact-size heap copy, so ASan sees reads past the end. */
static int
parse(const char *s, struct dmarc_record *r)
{
	size_t n = strlen(s);
	char *c = malloc(n ? n : 1);
	assert_non_null(c);
	memcpy(c, s, n);
	int rc = dmarc_record_parse(c, n, r);
	free(c);
	return rc;
}

static void
test_version(void **state)
{
	struct dmarc_record r;

	assert_int_equal(parse("v=DMARC1", &r), 1);
	assert_int_equal(parse("v=DMARC1;", &r), 1);
	assert_int_equal(parse("v = DMARC1 ; p=none", &r), 1);
	assert_int_equal(parse("v=DMARC1; p=reject", &r), 1);
	assert_int_equal(parse("v=dmarc1; p=reject", &r), 0); /* the value is case-sensitive */
	assert_int_equal(parse("v=DMARC2; p=reject", &r), 0);
	assert_int_equal(parse("v=DMARC10; p=reject", &r), 0);
	assert_int_equal(parse("v=DMARC1 p=reject", &r), 0);
	assert_int_equal(parse("p=reject; v=DMARC1", &r), 0); /* v must be first */
	assert_int_equal(parse(" v=DMARC1; p=reject", &r), 0);
	assert_int_equal(parse("v=spf1 -all", &r), 0);
	assert_int_equal(parse("", &r), 0);
	assert_int_equal(parse("v", &r), 0);
	assert_int_equal(parse("v=", &r), 0);
	assert_int_equal(parse("v=DMARC", &r), 0);
}

static void
test_tags(void **state)
{
	struct dmarc_record r;

	assert_int_equal(parse("v=DMARC1; p=quarantine; sp=reject; np=none; adkim=s; "
	    "aspf=s; psd=n; t=y; fo=1:d; rua=mailto:a@example.com; "
	    "ruf=mailto:f@example.com", &r), 1);
	assert_int_equal(r.p, DMARC_POLICY_QUARANTINE);
	assert_int_equal(r.sp, DMARC_POLICY_REJECT);
	assert_int_equal(r.np, DMARC_POLICY_NONE);
	assert_true(r.adkim_strict);
	assert_true(r.aspf_strict);
	assert_int_equal(r.psd, DMARC_PSD_N);
	assert_true(r.testing);
	assert_string_equal(r.fo, "1:d");
	assert_string_equal(r.rua, "mailto:a@example.com");
	assert_true(r.rua_valid);
	assert_string_equal(r.ruf, "mailto:f@example.com");
	assert_false(r.policy_malformed);

	/* Defaults. */
	assert_int_equal(parse("v=DMARC1", &r), 1);
	assert_int_equal(r.p, DMARC_POLICY_UNSET);
	assert_int_equal(r.sp, DMARC_POLICY_UNSET);
	assert_int_equal(r.np, DMARC_POLICY_UNSET);
	assert_false(r.adkim_strict);
	assert_false(r.aspf_strict);
	assert_int_equal(r.psd, DMARC_PSD_U);
	assert_false(r.testing);
	assert_string_equal(r.fo, "0");
	assert_string_equal(r.rua, "");
	assert_false(r.rua_valid);

	/* Values and tag names without case; any order; spaces around '=' and ';'. */
	assert_int_equal(parse("v=DMARC1;ADKIM = S ;  P = Reject;psd=Y;", &r), 1);
	assert_int_equal(r.p, DMARC_POLICY_REJECT);
	assert_true(r.adkim_strict);
	assert_int_equal(r.psd, DMARC_PSD_Y);
}

static void
test_malformed_values(void **state)
{
	struct dmarc_record r;

	/* Bad values of the other tags fall back to their defaults. */
	assert_int_equal(parse("v=DMARC1; p=reject; adkim=x; aspf=strict; psd=maybe; t=yes; "
	    "fo=2", &r), 1);
	assert_int_equal(r.p, DMARC_POLICY_REJECT);
	assert_false(r.adkim_strict);
	assert_false(r.aspf_strict);
	assert_int_equal(r.psd, DMARC_PSD_U);
	assert_false(r.testing);
	assert_string_equal(r.fo, "0");
	assert_false(r.policy_malformed);

	assert_int_equal(parse("v=DMARC1; fo=0:1", &r), 1);
	assert_string_equal(r.fo, "0");
	assert_int_equal(parse("v=DMARC1; fo=d:d", &r), 1);
	assert_string_equal(r.fo, "0");
	assert_int_equal(parse("v=DMARC1; fo=s:0:d", &r), 1);
	assert_string_equal(r.fo, "s:0:d");

	/* A bad p, sp or np is remembered. */
	assert_int_equal(parse("v=DMARC1; p=block", &r), 1);
	assert_int_equal(r.p, DMARC_POLICY_UNSET);
	assert_true(r.policy_malformed);
	assert_int_equal(parse("v=DMARC1; p=none; sp=rejected", &r), 1);
	assert_true(r.policy_malformed);
	assert_int_equal(parse("v=DMARC1; p=none; np=", &r), 1);
	assert_false(r.policy_malformed); /* "np=" has no value: a syntax error, ignored */

	/* Elements without '=' or with a bad name are ignored. */
	assert_int_equal(parse("v=DMARC1; junk; 1p=reject; p=reject", &r), 1);
	assert_int_equal(r.p, DMARC_POLICY_REJECT);

	/* The first of a repeated tag counts. */
	assert_int_equal(parse("v=DMARC1; p=none; p=reject", &r), 1);
	assert_int_equal(r.p, DMARC_POLICY_NONE);
}

static void
test_removed_and_unknown(void **state)
{
	struct dmarc_record r;

	/* pct, rf and ri (RFC 7489) are ignored whatever their values. */
	assert_int_equal(parse("v=DMARC1; p=reject; pct=0; rf=afrf; ri=86400", &r), 1);
	assert_int_equal(r.p, DMARC_POLICY_REJECT);
	assert_false(r.testing);
	assert_int_equal(parse("v=DMARC1; pct=banana; rf=; ri=-1; p=quarantine", &r), 1);
	assert_int_equal(r.p, DMARC_POLICY_QUARANTINE);
	assert_false(r.policy_malformed);
	assert_int_equal(parse("v=DMARC1; p=reject; future=thing; x=1", &r), 1);
	assert_int_equal(r.p, DMARC_POLICY_REJECT);
}

static void
test_uris(void **state)
{
	struct dmarc_record r;

	assert_int_equal(parse("v=DMARC1; rua=mailto:a@example.com, mailto:b@example.net!10m",
	    &r), 1);
	assert_string_equal(r.rua, "mailto:a@example.com, mailto:b@example.net!10m");
	assert_true(r.rua_valid);
	assert_int_equal(parse("v=DMARC1; rua=not a uri", &r), 1);
	assert_false(r.rua_valid);
	assert_int_equal(parse("v=DMARC1; rua=bogus, https://r.example/x", &r), 1);
	assert_true(r.rua_valid);
	assert_int_equal(parse("v=DMARC1; rua=:nothing", &r), 1);
	assert_false(r.rua_valid);
	assert_int_equal(parse("v=DMARC1; rua=mailto:", &r), 1);
	assert_false(r.rua_valid);

	/* A list too long is cut after the last whole URI. */
	char big[3000];
	size_t o = (size_t)snprintf(big, sizeof big, "v=DMARC1; rua=");
	int k = 0;
	while (o < 2500) {
		o += (size_t)snprintf(big + o, sizeof big - o, "%smailto:r%d@example.com",
		    k ? "," : "", k);
		k++;
	}
	assert_int_equal(parse(big, &r), 1);
	assert_true(strlen(r.rua) < DMARC_URIS_MAX);
	assert_true(strlen(r.rua) > DMARC_URIS_MAX - 40);
	assert_true(strncmp(r.rua + strlen(r.rua) - 12, "@example.com", 12) == 0);
}

static void
test_effective(void **state)
{
	struct dmarc_record r, e;

	assert_int_equal(parse("v=DMARC1", &r), 1);
	assert_int_equal(dmarc_record_effective(&r, &e), 0);
	assert_int_equal(e.p, DMARC_POLICY_NONE);

	assert_int_equal(parse("v=DMARC1; p=reject; sp=quarantine", &r), 1);
	assert_int_equal(dmarc_record_effective(&r, &e), 0);
	assert_int_equal(e.p, DMARC_POLICY_REJECT);
	assert_int_equal(e.sp, DMARC_POLICY_QUARANTINE);

	/* A bad p with a valid rua: as p=none. */
	assert_int_equal(parse("v=DMARC1; p=bad; sp=reject; t=y; rua=mailto:d@example.com",
	    &r), 1);
	assert_int_equal(dmarc_record_effective(&r, &e), 0);
	assert_int_equal(e.p, DMARC_POLICY_NONE);
	assert_int_equal(e.sp, DMARC_POLICY_UNSET);
	assert_string_equal(e.rua, "mailto:d@example.com");

	/* Without one: not applied at all. */
	assert_int_equal(parse("v=DMARC1; p=bad", &r), 1);
	assert_int_equal(dmarc_record_effective(&r, &e), -1);
	assert_int_equal(parse("v=DMARC1; p=reject; np=bad; rua=junk", &r), 1);
	assert_int_equal(dmarc_record_effective(&r, &e), -1);
	assert_string_equal(dmarc_policy_name(DMARC_POLICY_QUARANTINE), "quarantine");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_tags),
		cmocka_unit_test(test_malformed_values),
		cmocka_unit_test(test_removed_and_unknown),
		cmocka_unit_test(test_uris),
		cmocka_unit_test(test_effective),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
