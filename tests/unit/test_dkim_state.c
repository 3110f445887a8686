/*
 * test_dkim_state.c - unit tests for dkim/dkim_state.c: the state of each key
 * from its times (signing, published ahead, retired and how long it stays in
 * DNS), per domain and algorithm, and the selectors of new keys.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "accounts.h"

#define DAY (24 * 3600)
#define T0 ((time_t)1796184900) /* 2026-12-02T04:15:00Z */

static struct dkim_key_info
key(const char *domain, const char *selector, enum dkim_alg alg, time_t created, time_t from)
{
	struct dkim_key_info k = { 0 };
	snprintf(k.domain, sizeof k.domain, "%s", domain);
	snprintf(k.selector, sizeof k.selector, "%s", selector);
	k.alg = alg;
	k.created = created;
	k.sign_from = from;
	k.state = (enum dkim_state)99;
	return k;
}

static void
expect(const struct dkim_key_info *k, enum dkim_state st, bool publish)
{
	if (k->state != st || k->publish != publish)
		fail_msg("%s %s: %s publish=%d, expected %s publish=%d", k->domain, k->selector,
		    dkim_state_name(k->state), k->publish, dkim_state_name(st), publish);
}

static void
test_one_key_signs(void **state)
{
	struct dkim_key_info v[] = { key("a.test", "m1e", DKIM_ED25519, T0, T0) };

	dkim_key_states(v, 1, T0);
	expect(&v[0], DKIM_SIGNING, true);
	/* before its sign_from it is only published */
	dkim_key_states(v, 1, T0 - 1);
	expect(&v[0], DKIM_PUBLISHED, true);
}

static void
test_rotation(void **state)
{
	/* the old key signs, a new one is made to sign 3 days later */
	struct dkim_key_info v[] = {
		key("a.test", "old", DKIM_RSA, T0, T0),
		key("a.test", "new", DKIM_RSA, T0 + DAY, T0 + 4 * DAY),
	};

	dkim_key_states(v, 2, T0 + DAY);
	expect(&v[0], DKIM_SIGNING, true);
	expect(&v[1], DKIM_PUBLISHED, true);
	dkim_key_states(v, 2, T0 + 4 * DAY);
	expect(&v[0], DKIM_RETIRED, true);
	expect(&v[1], DKIM_SIGNING, true);
	/* a retired key stays in DNS for 7 days after its successor began */
	dkim_key_states(v, 2, T0 + 4 * DAY + DKIM_RETIRED_PUBLISH - 1);
	expect(&v[0], DKIM_RETIRED, true);
	dkim_key_states(v, 2, T0 + 4 * DAY + DKIM_RETIRED_PUBLISH);
	expect(&v[0], DKIM_RETIRED, false);
	expect(&v[1], DKIM_SIGNING, true);
}

static void
test_three_generations(void **state)
{
	/* the 7 days count from each key's own successor, not from the newest key */
	struct dkim_key_info v[] = {
		key("a.test", "k3", DKIM_ED25519, T0, T0 + 10 * DAY),
		key("a.test", "k1", DKIM_ED25519, T0, T0),
		key("a.test", "k2", DKIM_ED25519, T0, T0 + 2 * DAY),
	};

	dkim_key_states(v, 3, T0 + 10 * DAY);
	expect(&v[0], DKIM_SIGNING, true);
	expect(&v[1], DKIM_RETIRED, false); /* its successor k2 began 8 days ago */
	expect(&v[2], DKIM_RETIRED, true);  /* its successor k3 began just now */
}

static void
test_groups_apart(void **state)
{
	/* each domain and algorithm has a signing key of its own */
	struct dkim_key_info v[] = {
		key("a.test", "e1", DKIM_ED25519, T0, T0),
		key("a.test", "r1", DKIM_RSA, T0, T0),
		key("b.test", "e1", DKIM_ED25519, T0, T0),
		key("a.test", "e2", DKIM_ED25519, T0, T0 + DAY),
	};

	dkim_key_states(v, 4, T0 + DAY);
	expect(&v[0], DKIM_RETIRED, true);
	expect(&v[1], DKIM_SIGNING, true);
	expect(&v[2], DKIM_SIGNING, true);
	expect(&v[3], DKIM_SIGNING, true);
}

static void
test_same_sign_from(void **state)
{
	/* two keys of one moment: the later made (then the greater name) signs, one only */
	struct dkim_key_info v[] = {
		key("a.test", "m20261202e-2", DKIM_ED25519, T0 + 5, T0 + 10),
		key("a.test", "m20261202e", DKIM_ED25519, T0, T0 + 10),
		key("a.test", "x", DKIM_ED25519, T0 + 5, T0 + 10),
	};

	dkim_key_states(v, 3, T0 + 10);
	expect(&v[0], DKIM_RETIRED, true);
	expect(&v[1], DKIM_RETIRED, true);
	expect(&v[2], DKIM_SIGNING, true);
	dkim_key_states(v, 0, T0); /* no keys: nothing to do */
}

static void
test_selectors(void **state)
{
	char sel[64];
	const char *taken[] = { "m20261202e", "m20261202r", "m20261202e-2" };

	assert_int_equal(dkim_selector_make(T0, DKIM_ED25519, NULL, 0, sel, sizeof sel), 0);
	assert_string_equal(sel, "m20261202e");
	assert_int_equal(dkim_selector_make(T0, DKIM_RSA, taken, 1, sel, sizeof sel), 0);
	assert_string_equal(sel, "m20261202r");
	assert_int_equal(dkim_selector_make(T0, DKIM_RSA, taken, 2, sel, sizeof sel), 0);
	assert_string_equal(sel, "m20261202r-2");
	assert_int_equal(dkim_selector_make(T0, DKIM_ED25519, taken, 3, sel, sizeof sel), 0);
	assert_string_equal(sel, "m20261202e-3");
	/* the UTC date: 23:59:59 is still the same day */
	assert_int_equal(dkim_selector_make(T0 + 19 * 3600 + 44 * 60 + 59, DKIM_ED25519, NULL, 0,
	    sel, sizeof sel), 0);
	assert_string_equal(sel, "m20261202e");
	assert_int_equal(dkim_selector_make(T0, DKIM_ED25519, NULL, 0, sel, 5), -1);
	assert_string_equal(dkim_state_name(DKIM_PUBLISHED), "published");
	assert_string_equal(dkim_state_name(DKIM_SIGNING), "signing");
	assert_string_equal(dkim_state_name(DKIM_RETIRED), "retired");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_key_signs),
		cmocka_unit_test(test_rotation),
		cmocka_unit_test(test_three_generations),
		cmocka_unit_test(test_groups_apart),
		cmocka_unit_test(test_same_sign_from),
		cmocka_unit_test(test_selectors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
