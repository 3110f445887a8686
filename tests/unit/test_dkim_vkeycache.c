/*
 * test_dkim_vkeycache.c - unit tests for dkim/dkim_vkeycache.c and the kept keys
 * of dkim_vkey.c: a record seen again is a hit (the key made once, and it checks
 * signatures again and again, after a bad one too); another record text for the
 * same d= and s= is a miss whose key is the new one; d= and s= are part of what an
 * entry is found by; bad keys are not kept; an entry lasts the record's TTL, at
 * most DKIM_VKEYCACHE_MAX_AGE; a full cache drops a stale entry first, then the
 * least recently used.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dkim/dkim_canon.h"
#include "dkim/dkim_key.h"
#include "dkim/dkim_keyrec.h"
#include "dkim/dkim_sig.h"
#include "dkim/dkim_vkey.h"
#include "dkim/dkim_vkeycache.h"

#define T0 1000 /* the cache's clock at the start of each test */

static const char data[] = "from:a@example.test\r\ndkim-signature:v=1; a=x; b=";

/* A key made for a test: its record and a signature of data made with it. */
struct key {
	enum dkim_alg alg;
	char rec[DKIM_PUB_MAX + 40];
	struct dkim_keyrec k;
	struct dkim_sig sig;
};

static void
make_key(enum dkim_alg alg, struct key *key)
{
	char *pem = malloc(DKIM_PEM_MAX), pub[DKIM_PUB_MAX], b64[DKIM_SIG_MAX], why[100];

	assert_non_null(pem);
	memset(key, 0, sizeof *key);
	key->alg = alg;
	assert_int_equal(dkim_key_make(alg, pem, DKIM_PEM_MAX, pub, sizeof pub), 0);
	snprintf(key->rec, sizeof key->rec, "v=DKIM1; k=%s; p=%s", dkim_alg_key_type(alg), pub);
	assert_int_equal(dkim_keyrec_parse(key->rec, strlen(key->rec), &key->k, why, sizeof why),
	    0);
	assert_int_equal(dkim_key_sign(pem, alg, data, strlen(data), b64, sizeof b64), 0);
	long n = dkim_base64_decode(b64, strlen(b64), key->sig.b, sizeof key->sig.b);
	assert_true(n > 0);
	key->sig.b_len = (size_t)n;
	key->sig.alg = alg == DKIM_RSA ? DKIM_RSA_SHA256 : DKIM_ED25519_SHA256;
	snprintf(key->sig.d, sizeof key->sig.d, "example.test");
	snprintf(key->sig.s, sizeof key->sig.s, "sel");
	snprintf(key->sig.i, sizeof key->sig.i, "@example.test");
	free(pem);
}

static struct dkim_pubkey *
get(struct dkim_vkeycache *kc, const char *d, const char *s, const struct key *key, int ttl,
    int64_t now)
{
	return dkim_vkeycache_get(kc, d, s, key->rec, strlen(key->rec), &key->k, ttl, now);
}

/* check - sig verified over data with pk: DKIM_PASS or what it gave. */
static enum dkim_status
check(const struct dkim_sig *sig, struct dkim_pubkey *pk)
{
	const char *why;
	return dkim_vkey_verify(sig, pk, data, strlen(data), &why);
}

/* The same record again: the key made once, and good for signature after signature. */
static void
test_hit(void **state)
{
	struct dkim_vkeycache *kc = dkim_vkeycache_new();
	struct key ed, rsa;

	assert_non_null(kc);
	make_key(DKIM_ED25519, &ed);
	make_key(DKIM_RSA, &rsa);
	struct dkim_pubkey *e = get(kc, "example.test", "ed", &ed, 300, T0);
	struct dkim_pubkey *r = get(kc, "example.test", "rsa", &rsa, 300, T0);
	assert_non_null(e);
	assert_non_null(r);
	assert_int_equal(dkim_vkeycache_parses(kc), 2);
	struct dkim_sig bad = rsa.sig;
	bad.b[10] ^= 1;
	for (int i = 0; i < 3; i++) {
		assert_ptr_equal(get(kc, "example.test", "ed", &ed, 300, T0 + i), e);
		assert_ptr_equal(get(kc, "example.test", "rsa", &rsa, 300, T0 + i), r);
		assert_int_equal(check(&ed.sig, e), DKIM_PASS);
		assert_int_equal(check(&rsa.sig, r), DKIM_PASS);
		/* a bad signature between good ones leaves the kept RSA context usable */
		assert_int_equal(check(&bad, r), DKIM_FAIL);
	}
	assert_int_equal(dkim_vkeycache_parses(kc), 2);
	assert_int_equal(dkim_vkeycache_count(kc), 2);
	/* A key checks only signatures of its own key. */
	assert_int_equal(check(&ed.sig, get(kc, "example.test", "ed", &ed, 300, T0)), DKIM_PASS);
	struct key ed2;
	make_key(DKIM_ED25519, &ed2);
	assert_int_equal(check(&ed2.sig, e), DKIM_FAIL);
	dkim_vkeycache_free(kc);
}

/* Another record for the same d= and s= is a miss: the new key is used at once. */
static void
test_changed_record(void **state)
{
	struct dkim_vkeycache *kc = dkim_vkeycache_new();
	struct key old, new;

	assert_non_null(kc);
	make_key(DKIM_ED25519, &old);
	make_key(DKIM_ED25519, &new);
	struct dkim_pubkey *pk = get(kc, "example.test", "sel", &old, 3600, T0);
	assert_int_equal(check(&old.sig, pk), DKIM_PASS);
	pk = get(kc, "example.test", "sel", &new, 3600, T0 + 1);
	assert_int_equal(dkim_vkeycache_parses(kc), 2);
	assert_int_equal(check(&new.sig, pk), DKIM_PASS);
	assert_int_equal(check(&old.sig, pk), DKIM_FAIL);
	/* Only the text counts: the same key with another tag is another record. */
	struct key tagged = new;
	snprintf(tagged.rec, sizeof tagged.rec, "%s; t=y", new.rec);
	pk = get(kc, "example.test", "sel", &tagged, 3600, T0 + 2);
	assert_int_equal(dkim_vkeycache_parses(kc), 3);
	assert_int_equal(check(&new.sig, pk), DKIM_PASS);
	/* The same record under another selector or domain is its own entry. */
	get(kc, "example.test", "other", &new, 3600, T0 + 3);
	get(kc, "other.test", "sel", &new, 3600, T0 + 3);
	assert_int_equal(dkim_vkeycache_parses(kc), 5);
	/* d= and s= do not run into each other: "a" "bc" is not "ab" "c". */
	get(kc, "a", "bc", &new, 3600, T0 + 3);
	get(kc, "ab", "c", &new, 3600, T0 + 3);
	assert_int_equal(dkim_vkeycache_parses(kc), 7);
	assert_int_equal(dkim_vkeycache_count(kc), 7);
	dkim_vkeycache_free(kc);
}

/* A bad key: NULL, a permerror when checked, not kept, so made again each time. */
static void
test_bad_key(void **state)
{
	struct dkim_vkeycache *kc = dkim_vkeycache_new();
	struct key bad;
	char why[100];
	const char *reason;

	assert_non_null(kc);
	make_key(DKIM_ED25519, &bad);
	snprintf(bad.rec, sizeof bad.rec, "v=DKIM1; k=rsa; p=AAAA");
	assert_int_equal(dkim_keyrec_parse(bad.rec, strlen(bad.rec), &bad.k, why, sizeof why), 0);
	for (int i = 0; i < 2; i++) {
		assert_null(get(kc, "example.test", "sel", &bad, 300, T0));
		assert_int_equal(dkim_vkey_verify(&bad.sig, NULL, data, strlen(data), &reason),
		    DKIM_PERMERROR);
		assert_string_equal(reason, "bad key");
	}
	assert_int_equal(dkim_vkeycache_parses(kc), 2);
	assert_int_equal(dkim_vkeycache_count(kc), 0);
	dkim_vkeycache_free(kc);
}

/* An entry lasts the record's TTL, at most DKIM_VKEYCACHE_MAX_AGE; then it is made anew in place. */
static void
test_age(void **state)
{
	struct dkim_vkeycache *kc = dkim_vkeycache_new();
	struct key key;

	assert_non_null(kc);
	make_key(DKIM_ED25519, &key);
	get(kc, "example.test", "sel", &key, 60, T0);
	get(kc, "example.test", "sel", &key, 60, T0 + 59);
	assert_int_equal(dkim_vkeycache_parses(kc), 1);
	struct dkim_pubkey *pk = get(kc, "example.test", "sel", &key, 60, T0 + 60);
	assert_int_equal(dkim_vkeycache_parses(kc), 2);
	assert_int_equal(dkim_vkeycache_count(kc), 1);
	assert_int_equal(check(&key.sig, pk), DKIM_PASS);
	/* A TTL of a day is held to the cap. */
	int64_t t = T0 + 200; /* the entry made at T0 + 60 is stale */
	get(kc, "example.test", "sel", &key, 86400, t);
	get(kc, "example.test", "sel", &key, 86400, t + DKIM_VKEYCACHE_MAX_AGE - 1);
	assert_int_equal(dkim_vkeycache_parses(kc), 3);
	get(kc, "example.test", "sel", &key, 86400, t + DKIM_VKEYCACHE_MAX_AGE);
	assert_int_equal(dkim_vkeycache_parses(kc), 4);
	/* A TTL of 0: not to be kept, so a miss the next time. */
	get(kc, "zero.test", "sel", &key, 0, t);
	get(kc, "zero.test", "sel", &key, 0, t);
	assert_int_equal(dkim_vkeycache_parses(kc), 6);
	dkim_vkeycache_free(kc);
}

/* Full: a stale entry gives way first, then the least recently used. */
static void
test_eviction(void **state)
{
	struct dkim_vkeycache *kc = dkim_vkeycache_new();
	struct key key;
	char d[32];

	assert_non_null(kc);
	make_key(DKIM_ED25519, &key);
	/* d0 lasts 10 seconds, the others an hour; d0 and d1 are used again, so d2 is the oldest */
	for (int i = 0; i < DKIM_VKEYCACHE_SIZE; i++) {
		snprintf(d, sizeof d, "d%d.test", i);
		assert_non_null(get(kc, d, "sel", &key, i == 0 ? 10 : 3600, T0));
	}
	get(kc, "d0.test", "sel", &key, 10, T0 + 1);
	get(kc, "d1.test", "sel", &key, 3600, T0 + 1);
	assert_int_equal(dkim_vkeycache_count(kc), DKIM_VKEYCACHE_SIZE);
	assert_int_equal(dkim_vkeycache_parses(kc), DKIM_VKEYCACHE_SIZE);
	/* at T0 + 20, d0 is stale: the newcomer takes its place, not d2's */
	get(kc, "new1.test", "sel", &key, 3600, T0 + 20);
	assert_int_equal(dkim_vkeycache_parses(kc), DKIM_VKEYCACHE_SIZE + 1);
	get(kc, "d2.test", "sel", &key, 3600, T0 + 21);
	assert_int_equal(dkim_vkeycache_parses(kc), DKIM_VKEYCACHE_SIZE + 1);
	/* none stale: the least recently used, d3 (d2 was just used), gives way */
	get(kc, "new2.test", "sel", &key, 3600, T0 + 22);
	assert_int_equal(dkim_vkeycache_count(kc), DKIM_VKEYCACHE_SIZE);
	unsigned long parses = dkim_vkeycache_parses(kc);
	get(kc, "d1.test", "sel", &key, 3600, T0 + 23);
	get(kc, "d2.test", "sel", &key, 3600, T0 + 23);
	get(kc, "d4.test", "sel", &key, 3600, T0 + 23);
	get(kc, "new1.test", "sel", &key, 3600, T0 + 23);
	assert_int_equal(dkim_vkeycache_parses(kc), parses);
	struct dkim_pubkey *pk = get(kc, "d3.test", "sel", &key, 3600, T0 + 24);
	assert_int_equal(dkim_vkeycache_parses(kc), parses + 1);
	assert_int_equal(check(&key.sig, pk), DKIM_PASS);
	get(kc, "d0.test", "sel", &key, 3600, T0 + 25);
	assert_int_equal(dkim_vkeycache_parses(kc), parses + 2);
	assert_int_equal(dkim_vkeycache_count(kc), DKIM_VKEYCACHE_SIZE);
	dkim_vkeycache_free(kc);
}

/* dkim_vkey_check (a key made for one check) and the kept key agree, case by case. */
static void
test_check_agrees(void **state)
{
	struct dkim_vkeycache *kc = dkim_vkeycache_new();
	struct key ed, rsa;
	const char *w1, *w2;

	assert_non_null(kc);
	make_key(DKIM_ED25519, &ed);
	make_key(DKIM_RSA, &rsa);
	const struct key *keys[] = { &ed, &rsa };
	for (size_t i = 0; i < 2; i++) {
		const struct key *k = keys[i];
		struct dkim_sig bad = k->sig;
		bad.b[0] ^= 0x80;
		struct dkim_sig shorter = k->sig;
		shorter.b_len--;
		const struct dkim_sig *sigs[] = { &k->sig, &bad, &shorter };
		for (size_t j = 0; j < 3; j++) {
			enum dkim_status a = dkim_vkey_check(sigs[j], &k->k, data, strlen(data), &w1);
			assert_int_equal(dkim_vkey_usable(sigs[j], &k->k, &w2), DKIM_PASS);
			enum dkim_status b = dkim_vkey_verify(sigs[j], get(kc, "x.test", "s", k, 60, T0),
			    data, strlen(data), &w2);
			assert_int_equal(a, b);
			assert_string_equal(w1, w2);
			assert_int_equal(a, j == 0 ? DKIM_PASS : DKIM_FAIL);
		}
	}
	/* the other key type: not usable, before any key is made */
	struct dkim_sig as_rsa = ed.sig;
	as_rsa.alg = DKIM_RSA_SHA256;
	assert_int_equal(dkim_vkey_usable(&as_rsa, &ed.k, &w1), DKIM_PERMERROR);
	assert_int_equal(dkim_vkey_check(&as_rsa, &ed.k, data, strlen(data), &w2), DKIM_PERMERROR);
	assert_string_equal(w1, w2);
	dkim_vkeycache_free(kc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hit),
		cmocka_unit_test(test_changed_record),
		cmocka_unit_test(test_bad_key),
		cmocka_unit_test(test_age),
		cmocka_unit_test(test_eviction),
		cmocka_unit_test(test_check_agrees),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
