/*
 * test_dkim_key.c - unit tests for dkim/dkim_key.c: the example signatures of
 * RFC 8463 Appendix A reproduced from its keys (both schemes are deterministic),
 * new keys of each algorithm that verify with EVP, and bad input refused; and
 * dkim_keycache.c: the same signatures from kept keys, a key parsed once, a new
 * key a miss, the least recently used key the one that gives way.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "dkim/dkim_key.h"
#include "dkim/dkim_keycache.h"

/* RFC 8463 A.1: the Ed25519 secret key (the seed, base64) and the RSA secret key. */
static const char rfc_ed25519_seed[] = "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=";
static const char rfc_rsa_pem[] =
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIICXQIBAAKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQi\n"
    "Y/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqM\n"
    "KrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB\n"
    "AoGAH0cxOhFZDgzXWhDhnAJDw5s4roOXN4OhjiXa8W7Y3rhX3FJqmJSPuC8N9vQm\n"
    "6SVbaLAE4SG5mLMueHlh4KXffEpuLEiNp9Ss3O4YfLiQpbRqE7Tm5SxKjvvQoZZe\n"
    "zHorimOaChRL2it47iuWxzxSiRMv4c+j70GiWdxXnxe4UoECQQDzJB/0U58W7RZy\n"
    "6enGVj2kWF732CoWFZWzi1FicudrBFoy63QwcowpoCazKtvZGMNlPWnC7x/6o8Gc\n"
    "uSe0ga2xAkEA8C7PipPm1/1fTRQvj1o/dDmZp243044ZNyxjg+/OPN0oWCbXIGxy\n"
    "WvmZbXriOWoSALJTjExEgraHEgnXssuk7QJBALl5ICsYMu6hMxO73gnfNayNgPxd\n"
    "WFV6Z7ULnKyV7HSVYF0hgYOHjeYe9gaMtiJYoo0zGN+L3AAtNP9huqkWlzECQE1a\n"
    "licIeVlo1e+qJ6Mgqr0Q7Aa7falZ448ccbSFYEPD6oFxiOl9Y9se9iYHZKKfIcst\n"
    "o7DUw1/hz2Ck4N5JrgUCQQCyKveNvjzkkd8HjYs0SwM0fPjK16//5qDZ2UiDGnOe\n"
    "uEzxBDAr518Z8VFbR41in3W4Y3yCDgQlLlcETrS+zYcL\n"
    "-----END RSA PRIVATE KEY-----\n";

/* RFC 8463 A.2: the public keys as published (p=). */
static const char rfc_ed25519_p[] = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
static const char rfc_rsa_p[] =
    "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQi"
    "Y/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9Pzox"
    "ZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB";

/* RFC 8463 A.3: the b= values of the signed message, unfolded. */
static const char rfc_ed25519_b[] =
    "/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11BusFa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==";
static const char rfc_rsa_b[] =
    "F45dVWDfMbQDGHJFlXUNB2HKfbCeLRyhDXgFpEL8GwpsRe0IeIixNTe3DhCVlUrSjV4BwcVcOF6+FF3Zo9Rpo1"
    "tFOeS9mPYQTnGdaSGsgeefOsk2JzdA+L10TeYt9BgDfQNZtKdN1WO//KgIqXP7OdEFE4LjFYNcUxZQ4FADY+8=";

/*
 * The header hash input of the example, relaxed canonicalization made by hand
 * from RFC 8463 A.3: h= names from, to, subject, date, message-id and then from,
 * subject, date again, which the message has only once (so those add nothing);
 * names lower-cased, values unfolded, runs of WSP one SP, none around the colon,
 * CRLF after each; the DKIM-Signature last, with an empty b= and no CRLF.
 */
static const char rfc_headers[] =
    "from:Joe SixPack <joe@football.example.com>\r\n"
    "to:Suzie Q <suzie@shopping.example.net>\r\n"
    "subject:Is dinner ready?\r\n"
    "date:Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
    "message-id:<20030712040037.46341.5F8J@football.example.com>\r\n";

static char *
rfc_hash_input(const char *a, const char *s)
{
	char *out = NULL;
	if (asprintf(&out, "%sdkim-signature:v=1; a=%s; c=relaxed/relaxed; d=football.example.com;"
	    " i=@football.example.com; q=dns/txt; s=%s; t=1528637909; h=from : to : subject :"
	    " date : message-id : from : subject : date;"
	    " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=; b=", rfc_headers, a, s) < 0)
		fail();
	return out;
}

/* pem_of - the PKCS #8 PEM of pkey (as the store keeps keys). */
static char *
pem_of(EVP_PKEY *pkey)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *p, *out;

	assert_non_null(bio);
	assert_int_equal(PEM_write_bio_PKCS8PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL), 1);
	long n = BIO_get_mem_data(bio, &p);
	out = strndup(p, (size_t)n);
	BIO_free(bio);
	return out;
}

static char *
rfc_ed25519_pem(void)
{
	unsigned char seed[64];
	int n = EVP_DecodeBlock(seed, (const unsigned char *)rfc_ed25519_seed,
	    (int)strlen(rfc_ed25519_seed));
	assert_true(n >= 32);
	EVP_PKEY *pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
	assert_non_null(pkey);
	char *pem = pem_of(pkey);
	EVP_PKEY_free(pkey);
	return pem;
}

static void
test_rfc8463_ed25519(void **state)
{
	char *pem = rfc_ed25519_pem(), *data = rfc_hash_input("ed25519-sha256", "brisbane");
	char sig[DKIM_SIG_MAX], pub[DKIM_PUB_MAX];

	assert_int_equal(dkim_key_public(pem, DKIM_ED25519, pub, sizeof pub), 0);
	assert_string_equal(pub, rfc_ed25519_p);
	assert_int_equal(dkim_key_sign(pem, DKIM_ED25519, data, strlen(data), sig, sizeof sig), 0);
	assert_string_equal(sig, rfc_ed25519_b);
	free(pem);
	free(data);
}

static void
test_rfc8463_rsa(void **state)
{
	char *data = rfc_hash_input("rsa-sha256", "test");
	char sig[DKIM_SIG_MAX], pub[DKIM_PUB_MAX];

	/* The RFC's key is PKCS #1 ("RSA PRIVATE KEY"): read as well as PKCS #8. */
	assert_int_equal(dkim_key_public(rfc_rsa_pem, DKIM_RSA, pub, sizeof pub), 0);
	assert_string_equal(pub, rfc_rsa_p);
	assert_int_equal(dkim_key_sign(rfc_rsa_pem, DKIM_RSA, data, strlen(data), sig,
	    sizeof sig), 0);
	assert_string_equal(sig, rfc_rsa_b);
	free(data);
}

/* unb64 - base64 text decoded into out; the length without the padding octets, or -1. */
static int
unb64(const char *in, unsigned char *out)
{
	size_t len = strlen(in), pad = 0;
	int n = EVP_DecodeBlock(out, (const unsigned char *)in, (int)len);

	while (pad < len && in[len - 1 - pad] == '=')
		pad++;
	return n < 0 ? -1 : n - (int)pad;
}

/* verify - an independent check with EVP: the published p= value verifies sig over data. */
static bool
verify(enum dkim_alg alg, const char *pub_b64, const char *data, const char *sig_b64)
{
	unsigned char der[1024], sig[1024], hash[32];
	int dn = unb64(pub_b64, der), sn = unb64(sig_b64, sig);
	EVP_PKEY *pkey;
	bool ok = false;

	if (dn <= 0 || sn <= 0)
		return false;
	if (alg == DKIM_ED25519) {
		pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, der, (size_t)dn);
	} else {
		const unsigned char *p = der;
		pkey = d2i_PUBKEY(NULL, &p, dn);
	}
	if (pkey == NULL)
		return false;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	if (alg == DKIM_ED25519) {
		unsigned int hl;
		EVP_Digest(data, strlen(data), hash, &hl, EVP_sha256(), NULL);
		ok = EVP_DigestVerifyInit(md, NULL, NULL, NULL, pkey) == 1 &&
		    EVP_DigestVerify(md, sig, (size_t)sn, hash, sizeof hash) == 1;
	} else {
		ok = EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pkey) == 1 &&
		    EVP_DigestVerify(md, sig, (size_t)sn, (const unsigned char *)data,
		    strlen(data)) == 1;
	}
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pkey);
	return ok;
}

/* round_trip - a new key of alg signs, and its p= value verifies; a changed text does not. */
static void
round_trip(enum dkim_alg alg)
{
	char pem[DKIM_PEM_MAX], pub[DKIM_PUB_MAX], pub2[DKIM_PUB_MAX], sig[DKIM_SIG_MAX];
	const char *data = "from:a@example.test\r\ndkim-signature:v=1; b=";

	assert_int_equal(dkim_key_make(alg, pem, sizeof pem, pub, sizeof pub), 0);
	assert_non_null(strstr(pem, "-----BEGIN PRIVATE KEY-----"));
	assert_int_equal(dkim_key_public(pem, alg, pub2, sizeof pub2), 0);
	assert_string_equal(pub, pub2);
	assert_int_equal(dkim_key_sign(pem, alg, data, strlen(data), sig, sizeof sig), 0);
	assert_null(strchr(sig, '\n'));
	assert_true(verify(alg, pub, data, sig));
	assert_false(verify(alg, pub, "from:b@example.test\r\ndkim-signature:v=1; b=", sig));
	/* the other algorithm's name does not open the key */
	enum dkim_alg other = alg == DKIM_RSA ? DKIM_ED25519 : DKIM_RSA;
	assert_int_equal(dkim_key_sign(pem, other, data, strlen(data), sig, sizeof sig), -1);
	assert_string_equal(sig, "");
}

static void
test_round_trip_ed25519(void **state)
{
	round_trip(DKIM_ED25519);
}

static void
test_round_trip_rsa(void **state)
{
	round_trip(DKIM_RSA);
}

static void
test_rsa_key_is_2048_bits(void **state)
{
	char pem[DKIM_PEM_MAX], pub[DKIM_PUB_MAX];
	unsigned char der[1024];

	assert_int_equal(dkim_key_make(DKIM_RSA, pem, sizeof pem, pub, sizeof pub), 0);
	int n = unb64(pub, der);
	assert_true(n > 0);
	const unsigned char *p = der;
	EVP_PKEY *pkey = d2i_PUBKEY(NULL, &p, n);
	assert_non_null(pkey);
	assert_true(EVP_PKEY_is_a(pkey, "RSA"));
	assert_int_equal(EVP_PKEY_get_bits(pkey), 2048);
	BIGNUM *e = NULL;
	assert_int_equal(EVP_PKEY_get_bn_param(pkey, "e", &e), 1);
	assert_true(BN_is_word(e, 65537));
	BN_free(e);
	EVP_PKEY_free(pkey);
	/* Ed25519: the p= value is the 32 raw octets, 44 characters of base64 */
	assert_int_equal(dkim_key_make(DKIM_ED25519, pem, sizeof pem, pub, sizeof pub), 0);
	assert_int_equal(strlen(pub), 44);
}

static void
test_bad_input(void **state)
{
	char sig[DKIM_SIG_MAX], pub[8];
	char pem[DKIM_PEM_MAX], bigpub[DKIM_PUB_MAX];

	assert_int_equal(dkim_key_sign("not a key", DKIM_RSA, "x", 1, sig, sizeof sig), -1);
	assert_int_equal(dkim_key_sign("", DKIM_ED25519, "x", 1, sig, sizeof sig), -1);
	/* too small for the output: refused, never cut */
	assert_int_equal(dkim_key_make(DKIM_ED25519, pem, sizeof pem, pub, sizeof pub), -1);
	assert_int_equal(dkim_key_make(DKIM_ED25519, pem, 16, bigpub, sizeof bigpub), -1);
	assert_int_equal(dkim_key_make(DKIM_ED25519, pem, sizeof pem, bigpub, sizeof bigpub), 0);
	assert_int_equal(dkim_key_sign(pem, DKIM_ED25519, "x", 1, sig, 10), -1);
	enum dkim_alg alg;
	assert_true(dkim_alg_parse("rsa", &alg) && alg == DKIM_RSA);
	assert_true(dkim_alg_parse("ed25519", &alg) && alg == DKIM_ED25519);
	assert_false(dkim_alg_parse("RSA", &alg));
	assert_false(dkim_alg_parse("dsa", &alg));
	assert_string_equal(dkim_alg_sig_name(DKIM_ED25519), "ed25519-sha256");
	assert_string_equal(dkim_alg_sig_name(DKIM_RSA), "rsa-sha256");
}

/* The cache signs as dkim_key_sign does, and parses a key only the first time. */
static void
test_keycache_signs_and_keeps(void **state)
{
	struct dkim_keycache *kc = dkim_keycache_new();
	char *pem = rfc_ed25519_pem(), *data = rfc_hash_input("ed25519-sha256", "brisbane");
	char *rdata = rfc_hash_input("rsa-sha256", "test");
	char sig[DKIM_SIG_MAX];

	assert_non_null(kc);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(dkim_keycache_sign(kc, pem, DKIM_ED25519, data, strlen(data), sig,
		    sizeof sig), 0);
		assert_string_equal(sig, rfc_ed25519_b);
		assert_int_equal(dkim_keycache_sign(kc, rfc_rsa_pem, DKIM_RSA, rdata, strlen(rdata),
		    sig, sizeof sig), 0);
		assert_string_equal(sig, rfc_rsa_b);
	}
	assert_int_equal(dkim_keycache_parses(kc), 2);
	assert_int_equal(dkim_keycache_count(kc), 2);
	/* the same text named as the other algorithm is its own entry, and fails */
	assert_int_equal(dkim_keycache_sign(kc, pem, DKIM_RSA, data, strlen(data), sig, sizeof sig),
	    -1);
	assert_string_equal(sig, "");
	/* a bad key fails every time and is not kept */
	assert_int_equal(dkim_keycache_sign(kc, "not a key", DKIM_RSA, "x", 1, sig, sizeof sig), -1);
	assert_int_equal(dkim_keycache_sign(kc, "not a key", DKIM_RSA, "x", 1, sig, sizeof sig), -1);
	assert_int_equal(dkim_keycache_count(kc), 2);
	/* without a cache: dkim_key_sign */
	assert_int_equal(dkim_keycache_sign(NULL, pem, DKIM_ED25519, data, strlen(data), sig,
	    sizeof sig), 0);
	assert_string_equal(sig, rfc_ed25519_b);
	dkim_keycache_free(kc);
	free(pem);
	free(data);
	free(rdata);
}

/* A key that replaces another is a miss; a full cache drops its least recently used key. */
static void
test_keycache_new_key_and_eviction(void **state)
{
	struct dkim_keycache *kc = dkim_keycache_new();
	char sig[DKIM_SIG_MAX];
	const char *data = "from:a@example.test\r\ndkim-signature:v=1; b=";
	char (*pems)[DKIM_PEM_MAX] = calloc(DKIM_KEYCACHE_SIZE + 1, DKIM_PEM_MAX);
	char (*pubs)[DKIM_PUB_MAX] = calloc(DKIM_KEYCACHE_SIZE + 1, DKIM_PUB_MAX);

	assert_non_null(pems);
	assert_non_null(pubs);
	for (size_t i = 0; i <= DKIM_KEYCACHE_SIZE; i++)
		assert_int_equal(dkim_key_make(DKIM_ED25519, pems[i], DKIM_PEM_MAX, pubs[i],
		    DKIM_PUB_MAX), 0);
	/* fill it; key 0 is then used again, so key 1 is the oldest */
	for (size_t i = 0; i < DKIM_KEYCACHE_SIZE; i++)
		assert_int_equal(dkim_keycache_sign(kc, pems[i], DKIM_ED25519, data, strlen(data),
		    sig, sizeof sig), 0);
	assert_int_equal(dkim_keycache_count(kc), DKIM_KEYCACHE_SIZE);
	assert_int_equal(dkim_keycache_sign(kc, pems[0], DKIM_ED25519, data, strlen(data), sig,
	    sizeof sig), 0);
	assert_int_equal(dkim_keycache_parses(kc), DKIM_KEYCACHE_SIZE);
	/* a new key: parsed, signs with itself (its own p= verifies), and one gives way */
	assert_int_equal(dkim_keycache_sign(kc, pems[DKIM_KEYCACHE_SIZE], DKIM_ED25519, data,
	    strlen(data), sig, sizeof sig), 0);
	assert_true(verify(DKIM_ED25519, pubs[DKIM_KEYCACHE_SIZE], data, sig));
	assert_false(verify(DKIM_ED25519, pubs[0], data, sig));
	assert_int_equal(dkim_keycache_parses(kc), DKIM_KEYCACHE_SIZE + 1);
	assert_int_equal(dkim_keycache_count(kc), DKIM_KEYCACHE_SIZE);
	/* key 0 stayed, key 1 went */
	assert_int_equal(dkim_keycache_sign(kc, pems[0], DKIM_ED25519, data, strlen(data), sig,
	    sizeof sig), 0);
	assert_int_equal(dkim_keycache_parses(kc), DKIM_KEYCACHE_SIZE + 1);
	assert_int_equal(dkim_keycache_sign(kc, pems[1], DKIM_ED25519, data, strlen(data), sig,
	    sizeof sig), 0);
	assert_true(verify(DKIM_ED25519, pubs[1], data, sig));
	assert_int_equal(dkim_keycache_parses(kc), DKIM_KEYCACHE_SIZE + 2);
	dkim_keycache_free(kc);
	free(pems);
	free(pubs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc8463_ed25519),
		cmocka_unit_test(test_rfc8463_rsa),
		cmocka_unit_test(test_round_trip_ed25519),
		cmocka_unit_test(test_round_trip_rsa),
		cmocka_unit_test(test_rsa_key_is_2048_bits),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_keycache_signs_and_keeps),
		cmocka_unit_test(test_keycache_new_key_and_eviction),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
