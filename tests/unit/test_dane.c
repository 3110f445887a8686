/*
 * test_dane.c - unit tests for deliver/dane.c: decoding TLSA rdata, which records
 * SMTP may use (DANE-TA and DANE-EE only, known selectors and matching types with
 * digests of the right length), the selection of a record set (copies, counts,
 * the cap), and the DANE policy of a host from its lookups.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "deliver/dane.h"

/* rdata - usage, selector, mtype, then n octets of data (all 0xab). */
static size_t
rdata(uint8_t *out, uint8_t usage, uint8_t selector, uint8_t mtype, size_t n)
{
	out[0] = usage;
	out[1] = selector;
	out[2] = mtype;
	memset(out + 3, 0xab, n);
	return n + 3;
}

static void
test_parse(void **state)
{
	uint8_t b[80];
	struct tlsa t;
	size_t n = rdata(b, 3, 1, 1, 32);

	assert_int_equal(dane_tlsa_parse(b, n, &t), 0);
	assert_int_equal(t.usage, 3);
	assert_int_equal(t.selector, 1);
	assert_int_equal(t.mtype, 1);
	assert_int_equal(t.len, 32);
	assert_ptr_equal(t.data, b + 3);
	/* The three octets and at least one of data. */
	assert_int_equal(dane_tlsa_parse(b, 3, &t), -1);
	assert_int_equal(dane_tlsa_parse(b, 0, &t), -1);
	assert_int_equal(dane_tlsa_parse(NULL, 10, &t), -1);
	assert_int_equal(dane_tlsa_parse(b, 4, &t), 0);
	assert_int_equal(t.len, 1);
}

static bool
usable(uint8_t usage, uint8_t selector, uint8_t mtype, size_t n)
{
	uint8_t b[80];
	struct tlsa t;

	if (dane_tlsa_parse(b, rdata(b, usage, selector, mtype, n), &t) < 0)
		return false;
	return dane_tlsa_usable(&t);
}

static void
test_usable(void **state)
{
	/* DANE-EE and DANE-TA, either selector, each matching type. */
	assert_true(usable(3, 1, 1, 32));
	assert_true(usable(3, 0, 1, 32));
	assert_true(usable(3, 1, 2, 64));
	assert_true(usable(3, 1, 0, 70));
	assert_true(usable(2, 0, 1, 32));
	assert_true(usable(2, 1, 2, 64));
	assert_true(usable(2, 0, 0, 1));
	/* PKIX-TA and PKIX-EE are not for SMTP (RFC 7672 3.1.3). */
	assert_false(usable(0, 0, 1, 32));
	assert_false(usable(1, 1, 1, 32));
	/* Unknown usages, selectors and matching types. */
	assert_false(usable(4, 1, 1, 32));
	assert_false(usable(255, 1, 1, 32));
	assert_false(usable(3, 2, 1, 32));
	assert_false(usable(3, 1, 3, 32));
	assert_false(usable(3, 1, 255, 32));
	/* A digest of the wrong length matches nothing. */
	assert_false(usable(3, 1, 1, 31));
	assert_false(usable(3, 1, 1, 33));
	assert_false(usable(3, 1, 1, 64));
	assert_false(usable(3, 1, 2, 32));
	assert_false(usable(3, 1, 2, 63));
}

static void
test_select(void **state)
{
	uint8_t b[5][80];
	int len[5];
	const uint8_t *v[5];
	struct tlsa_set set;

	len[0] = (int)rdata(b[0], 3, 1, 1, 32);
	len[1] = (int)rdata(b[1], 1, 1, 1, 32);  /* PKIX-EE: unusable */
	len[2] = 2;                              /* malformed */
	len[3] = (int)rdata(b[3], 2, 0, 2, 64);
	len[4] = (int)rdata(b[4], 3, 1, 1, 20);  /* short digest */
	for (int i = 0; i < 5; i++)
		v[i] = b[i];
	assert_int_equal(dane_tlsa_select(v, len, 5, &set), 0);
	assert_int_equal(set.n, 2);
	assert_int_equal(set.unusable, 3);
	assert_int_equal(set.v[0].usage, 3);
	assert_int_equal(set.v[1].usage, 2);
	assert_int_equal(set.v[1].len, 64);
	/* Copies: the answer may go away. */
	assert_ptr_not_equal(set.v[0].data, b[0] + 3);
	memset(b[0], 0, sizeof b[0]);
	assert_int_equal(set.v[0].data[0], 0xab);
	dane_tlsa_free(&set);
	assert_int_equal(set.n, 0);
	dane_tlsa_free(&set); /* twice is harmless */

	assert_int_equal(dane_tlsa_select(v, len, 0, &set), 0);
	assert_int_equal(set.n, 0);
	assert_int_equal(set.unusable, 0);
}

static void
test_select_cap(void **state)
{
	enum { N = DANE_TLSA_MAX + 5 };
	uint8_t b[N][40];
	int len[N];
	const uint8_t *v[N];
	struct tlsa_set set;

	for (int i = 0; i < N; i++) {
		len[i] = (int)rdata(b[i], 3, 1, 1, 32);
		v[i] = b[i];
	}
	assert_int_equal(dane_tlsa_select(v, len, N, &set), 0);
	assert_int_equal(set.n, DANE_TLSA_MAX);
	assert_int_equal(set.unusable, 0);
	dane_tlsa_free(&set);
}

static void
test_policy(void **state)
{
	struct tlsa_set none = { .n = 0, .unusable = 2 };
	struct tlsa_set some = { .n = 1 };

	/* Only with the MX (or its denial) and the addresses secure. */
	assert_true(dane_host_applies(true, true));
	assert_false(dane_host_applies(true, false));
	assert_false(dane_host_applies(false, true));
	assert_false(dane_host_applies(false, false));

	assert_int_equal(dane_policy_of(DNS_OK, true, &some), DANE_VERIFY);
	/* Secure records, none usable: TLS still required, unauthenticated. */
	assert_int_equal(dane_policy_of(DNS_OK, true, &none), DANE_ENCRYPT);
	/* Records that are not validated are not believed. */
	assert_int_equal(dane_policy_of(DNS_OK, false, &some), DANE_NONE);
	assert_int_equal(dane_policy_of(DNS_NODATA, true, &none), DANE_NONE);
	assert_int_equal(dane_policy_of(DNS_NXDOMAIN, true, &none), DANE_NONE);
	assert_int_equal(dane_policy_of(DNS_NODATA, false, &none), DANE_NONE);
	/* SERVFAIL, a timeout or a bogus answer: not this host. */
	assert_int_equal(dane_policy_of(DNS_TEMPFAIL, false, &none), DANE_UNREACHABLE);
	assert_int_equal(dane_policy_of(DNS_TEMPFAIL, true, &some), DANE_UNREACHABLE);

	assert_string_equal(dane_policy_name(DANE_VERIFY), "verify");
	assert_string_equal(dane_policy_name(DANE_UNREACHABLE), "unreachable");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_usable),
		cmocka_unit_test(test_select),
		cmocka_unit_test(test_select_cap),
		cmocka_unit_test(test_policy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
