/*
 * test_srs.c - unit tests for srs/srs.c: SRS0 made and reversed, in any case, with
 * '=' and '+' in local parts, the SRS1 chain through two and three forwarders, the
 * 21-day limit at the day boundary and a day of clock skew, the wrap of the
 * 1024-day cycle, forged and damaged hashes, and malformed addresses.
 */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "address.h"
#include "srs/srs.h"

#define DAY 86400
/* noon of day 20000 (in 2024), which is day 544 of the 1024-day cycle */
#define T0 ((time_t)20000 * DAY + DAY / 2)

static const uint8_t key_a[SRS_SECRET_LEN] = "forwarder a's 32 octets secret!";
static const uint8_t key_b[SRS_SECRET_LEN] = "forwarder b's 32 octets secret!";

static enum srs_status
fwd(const uint8_t *key, time_t now, const char *sender, const char *domain, char *out)
{
	return srs_forward(key, SRS_SECRET_LEN, now, sender, domain, out, ADDR_MAX + 1);
}

static enum srs_status
rev(const uint8_t *key, time_t now, const char *addr, char *out)
{
	return srs_reverse(key, SRS_SECRET_LEN, now, addr, out, ADDR_MAX + 1);
}

static void
test_round_trip(void **state)
{
	char srs[ADDR_MAX + 1], back[ADDR_MAX + 1];

	assert_int_equal(fwd(key_a, T0, "s@other.test", "a.test", srs), SRS_OK);
	assert_int_equal(strncmp(srs, "SRS0=", 5), 0);
	/* SRS0=HHHH=TT=other.test=s@a.test */
	assert_int_equal(strlen(srs), strlen("SRS0=HHHH=TT=other.test=s@a.test"));
	assert_string_equal(srs + 13, "other.test=s@a.test");
	assert_int_equal(srs[9], '=');
	assert_int_equal(srs[12], '=');
	assert_int_equal(rev(key_a, T0, srs, back), SRS_OK);
	assert_string_equal(back, "s@other.test");
	/* the same day and sender: the same address */
	char again[ADDR_MAX + 1];
	assert_int_equal(fwd(key_a, T0 + 3600, "s@other.test", "a.test", again), SRS_OK);
	assert_string_equal(again, srs);
	/* the hash depends on the secret */
	assert_int_equal(fwd(key_b, T0, "s@other.test", "a.test", again), SRS_OK);
	assert_string_not_equal(again, srs);
}

static void
test_case_insensitive(void **state)
{
	char srs[ADDR_MAX + 1], back[ADDR_MAX + 1];

	assert_int_equal(fwd(key_a, T0, "Sam@Other.Test", "a.test", srs), SRS_OK);
	for (char *p = srs; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	assert_int_equal(rev(key_a, T0, srs, back), SRS_OK);
	assert_string_equal(back, "SAM@OTHER.TEST");
	for (char *p = srs; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	assert_int_equal(rev(key_a, T0, srs, back), SRS_OK);
	assert_string_equal(back, "sam@other.test");
}

static void
test_separators_in_local(void **state)
{
	const char *senders[] = { "a=b@other.test", "a+tag@other.test", "=x=+y=@other.test",
		"SRS0-not@other.test", "o'hara/x@other.test" };
	char srs[ADDR_MAX + 1], back[ADDR_MAX + 1];

	for (size_t i = 0; i < sizeof senders / sizeof *senders; i++) {
		assert_int_equal(fwd(key_a, T0, senders[i], "a.test", srs), SRS_OK);
		assert_int_equal(rev(key_a, T0, srs, back), SRS_OK);
		assert_string_equal(back, senders[i]);
	}
}

static void
test_srs1_chain(void **state)
{
	char s0[ADDR_MAX + 1], s1[ADDR_MAX + 1], s1b[ADDR_MAX + 1], back[ADDR_MAX + 1];

	/* a.test forwards to b.test, which forwards again */
	assert_int_equal(fwd(key_a, T0, "s@other.test", "a.test", s0), SRS_OK);
	assert_int_equal(fwd(key_b, T0, s0, "b.test", s1), SRS_OK);
	assert_int_equal(strncmp(s1, "SRS1=", 5), 0);
	/* SRS1=HHHH=a.test==HHHH=TT=other.test=s@b.test */
	assert_int_equal(strncmp(s1 + 9, "=a.test==", 9), 0);
	char want[ADDR_MAX + 1];
	snprintf(want, sizeof want, "=a.test=%.*s@b.test", (int)(strchr(s0, '@') - s0 - 4), s0 + 4);
	assert_string_equal(s1 + 9, want);
	/* b.test reverses to a.test's address, a.test to the sender */
	assert_int_equal(rev(key_b, T0, s1, back), SRS_OK);
	assert_string_equal(back, s0);
	assert_int_equal(rev(key_a, T0, back, back), SRS_OK);
	assert_string_equal(back, "s@other.test");
	/* a third forwarder keeps the first one */
	assert_int_equal(fwd(key_a, T0, s1, "c.test", s1b), SRS_OK);
	assert_int_equal(strncmp(s1b + 9, "=a.test==", 9), 0);
	const char *rest = strstr(s1, "==");
	snprintf(want, sizeof want, "%.*s@c.test", (int)(strchr(rest, '@') - rest), rest);
	assert_string_equal(strstr(s1b, "=="), want);
	assert_string_equal(strchr(s1b, '@'), "@c.test");
	assert_int_equal(rev(key_a, T0, s1b, back), SRS_OK);
	assert_string_equal(back, s0);
	/* b.test's hash does not pass at c.test (other secret) */
	char forged[ADDR_MAX + 1];
	snprintf(forged, sizeof forged, "%.*s@c.test", (int)(strchr(s1, '@') - s1), s1);
	assert_int_equal(rev(key_a, T0, forged, back), SRS_BAD_HASH);
	/* an SRS1 address is not checked for age: only the first forwarder knows it */
	assert_int_equal(rev(key_b, T0 + 400 * DAY, s1, back), SRS_OK);
	/* a forwarder receiving its own SRS address keeps it */
	assert_int_equal(fwd(key_a, T0, s0, "A.TEST", back), SRS_OK);
	assert_string_equal(back, s0);
}

static void
test_expiry(void **state)
{
	time_t day_start = (T0 / DAY) * DAY;
	char srs[ADDR_MAX + 1], back[ADDR_MAX + 1];

	assert_int_equal(fwd(key_a, day_start, "s@other.test", "a.test", srs), SRS_OK);
	/* made at the first second of its day: valid to the last second of day +21 */
	assert_int_equal(rev(key_a, day_start + 21 * DAY + DAY - 1, srs, back), SRS_OK);
	assert_int_equal(rev(key_a, day_start + 22 * DAY, srs, back), SRS_EXPIRED);
	assert_int_equal(rev(key_a, day_start + 500 * DAY, srs, back), SRS_EXPIRED);
	/* made at the last second of its day: the same day stamp */
	char late[ADDR_MAX + 1];
	assert_int_equal(fwd(key_a, day_start + DAY - 1, "s@other.test", "a.test", late), SRS_OK);
	assert_string_equal(late, srs);
	/* a day in the future passes (clock skew), two do not */
	assert_int_equal(rev(key_a, day_start - 1, srs, back), SRS_OK);
	assert_int_equal(rev(key_a, day_start - DAY - 1, srs, back), SRS_EXPIRED);
}

static void
test_cycle_wrap(void **state)
{
	time_t last = (time_t)(19 * 1024 + 1023) * DAY + 10; /* day 1023 of the cycle */
	char srs[ADDR_MAX + 1], back[ADDR_MAX + 1];

	assert_int_equal(fwd(key_a, last, "s@other.test", "a.test", srs), SRS_OK);
	assert_int_equal(strncmp(srs + 10, "77=", 3), 0); /* 1023: 31, 31 */
	assert_int_equal(rev(key_a, last + 5 * DAY, srs, back), SRS_OK);       /* day 4 */
	assert_int_equal(rev(key_a, last + 21 * DAY, srs, back), SRS_OK);
	assert_int_equal(rev(key_a, last + 22 * DAY, srs, back), SRS_EXPIRED);
	/* a full cycle later the stamp is the same again: 1024 days cannot be told apart */
	assert_int_equal(rev(key_a, last + 1024 * DAY, srs, back), SRS_OK);
	char first[ADDR_MAX + 1];
	assert_int_equal(fwd(key_a, last + DAY, "s@other.test", "a.test", first), SRS_OK);
	assert_int_equal(strncmp(first + 10, "AA=", 3), 0);
	assert_int_equal(rev(key_a, last, first, back), SRS_OK); /* a day ahead, across the wrap */
}

/* flip - another letter where the hash was, different in any case. */
static void
flip(char *c)
{
	*c = (char)(toupper((unsigned char)*c) == 'Q' ? 'R' : 'Q');
}

static void
test_forged(void **state)
{
	char srs[ADDR_MAX + 1], bad[ADDR_MAX + 1], back[ADDR_MAX + 1];

	assert_int_equal(fwd(key_a, T0, "s@other.test", "a.test", srs), SRS_OK);
	for (size_t i = 5; i < 9; i++) {
		snprintf(bad, sizeof bad, "%s", srs);
		flip(&bad[i]);
		assert_int_equal(rev(key_a, T0, bad, back), SRS_BAD_HASH);
	}
	/* another sender, day or secret under the same hash */
	snprintf(bad, sizeof bad, "%.*s=t@a.test", (int)(strrchr(srs, '=') - srs), srs);
	assert_int_equal(rev(key_a, T0, bad, back), SRS_BAD_HASH);
	snprintf(bad, sizeof bad, "%.13sevil.test=s@a.test", srs);
	assert_int_equal(rev(key_a, T0, bad, back), SRS_BAD_HASH);
	snprintf(bad, sizeof bad, "%s", srs);
	bad[11] = bad[11] == 'A' ? 'B' : 'A';
	assert_int_equal(rev(key_a, T0, bad, back), SRS_BAD_HASH);
	assert_int_equal(rev(key_b, T0, srs, back), SRS_BAD_HASH);
	/* fields moved between the domain and the local part do not keep the hash */
	assert_int_equal(fwd(key_a, T0, "ab@c.test", "a.test", srs), SRS_OK);
	snprintf(bad, sizeof bad, "%.13sc.testa=b@a.test", srs);
	assert_int_equal(rev(key_a, T0, bad, back), SRS_BAD_HASH);
	/* a hash of another length */
	assert_int_equal(rev(key_a, T0, "SRS0=ABC=AA=other.test=s@a.test", back), SRS_BAD_HASH);
	assert_int_equal(rev(key_a, T0, "SRS0=ABCDE=AA=other.test=s@a.test", back), SRS_BAD_HASH);
}

static void
test_malformed(void **state)
{
	static const char *malformed[] = {
		"SRS0=@a.test", "SRS0=x@a.test", "SRS0=HHHH@a.test", "SRS0=HHHH=AA@a.test",
		"SRS0=HHHH=AA=other.test@a.test", "SRS0=HHHH=AA=other.test=@a.test",
		"SRS0=HHHH=A=other.test=s@a.test", "SRS0=HHHH=AAA=other.test=s@a.test",
		"SRS0=HHHH=A1=other.test=s@a.test", "SRS0=HHHH=AA==s@a.test",
		"SRS0==AA=other.test=s@a.test", "SRS0=HHHH=AA=-bad-.test=s@a.test",
		"SRS0=HHHH=AA=bad..test=s@a.test", "srs1=HHHH@a.test", "SRS1=HHHH=a.test@b.test",
		"SRS1=HHHH=a.test=@b.test", "SRS1=HHHH=a.test==@b.test",
		"SRS1=HHHH=a.test===x@b.test", "SRS1==a.test==x@b.test", "SRS1=HHHH==x@b.test",
		"SRS1=@b.test",
	};
	static const char *not_srs[] = {
		"user@a.test", "SRS0@a.test", "SRS2=HHHH=AA=other.test=s@a.test",
		"SRS0-HHHH-AA-other.test-s@a.test", "xSRS0=HHHH=AA=d.test=s@a.test",
		"@a.test", "SRS0=HHHH=AA=other.test=s@", "", "no-at-sign", "SRS0=",
	};
	char back[ADDR_MAX + 1];

	for (size_t i = 0; i < sizeof malformed / sizeof *malformed; i++)
		assert_int_equal(rev(key_a, T0, malformed[i], back), SRS_MALFORMED);
	for (size_t i = 0; i < sizeof not_srs / sizeof *not_srs; i++)
		assert_int_equal(rev(key_a, T0, not_srs[i], back), SRS_NOT_SRS);
}

static void
test_forward_limits(void **state)
{
	char out[ADDR_MAX + 1], small[16];

	/* 14 octets of SRS0 fields + domain + local: more than 64 is not a local part */
	assert_int_equal(fwd(key_a, T0, "0123456789012345678901234567890123456789@other.test",
	    "a.test", out), SRS_OK);
	assert_int_equal(fwd(key_a, T0, "0123456789012345678901234567890123456789x@other.test",
	    "a.test", out), SRS_TOO_LONG);
	assert_int_equal(srs_forward(key_a, SRS_SECRET_LEN, T0, "s@other.test", "a.test",
	    small, sizeof small), SRS_TOO_LONG);
	/* nothing to rewrite, or not as a dot-atom */
	assert_int_equal(fwd(key_a, T0, "", "a.test", out), SRS_MALFORMED);
	assert_int_equal(fwd(key_a, T0, "nodomain", "a.test", out), SRS_MALFORMED);
	assert_int_equal(fwd(key_a, T0, "\"a b\"@other.test", "a.test", out), SRS_MALFORMED);
	assert_int_equal(fwd(key_a, T0, "a.@other.test", "a.test", out), SRS_MALFORMED);
	assert_int_equal(fwd(key_a, T0, "s@[192.0.2.1]", "a.test", out), SRS_MALFORMED);
	assert_int_equal(fwd(key_a, T0, "SRS1=x@other.test", "a.test", out), SRS_MALFORMED);
	/* UTF-8 local parts (SMTPUTF8) are kept */
	assert_int_equal(fwd(key_a, T0, "j\xc3\xb6rg@other.test", "a.test", out), SRS_OK);
	char back[ADDR_MAX + 1];
	assert_int_equal(rev(key_a, T0, out, back), SRS_OK);
	assert_string_equal(back, "j\xc3\xb6rg@other.test");
	assert_string_equal(srs_status_text(SRS_BAD_HASH), "bad SRS hash");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_case_insensitive),
		cmocka_unit_test(test_separators_in_local),
		cmocka_unit_test(test_srs1_chain),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_cycle_wrap),
		cmocka_unit_test(test_forged),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_forward_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
