/*
 * test_accounts_dkim.c - unit tests for accounts_dkim.c against a store in a
 * temporary directory: keys made per algorithm, listed with their states, the
 * signers, signatures only by a signing key, keys made for domains that lack
 * them, and a domain's keys deleted with it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "accounts.h"

struct fixture {
	char dir[64];
	struct accounts *a;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	char err[512] = "";

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof f->dir, "/tmp/test_accounts_dkim.XXXXXX");
	if (mkdtemp(f->dir) == NULL || (f->a = accounts_open(f->dir, true, err, sizeof err)) == NULL ||
	    accounts_domain_add(f->a, "example.test", err, sizeof err) < 0) {
		fprintf(stderr, "setup: %s\n", err);
		return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	static const char *const files[] = { "accounts.db", "accounts.db-wal", "accounts.db-shm" };
	char p[128];

	accounts_close(f->a);
	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof p, "%s/%s", f->dir, files[i]);
		unlink(p);
	}
	rmdir(f->dir);
	free(f);
	return 0;
}

#define BOTH (1u << DKIM_ED25519 | 1u << DKIM_RSA)

static void
test_make_list_sign(void **state)
{
	struct fixture *f = *state;
	struct dkim_key_list l = { 0 };
	struct dkim_signer s[2], made[2];
	char err[512], sig[DKIM_SIG_MAX];
	size_t n;
	time_t now = time(NULL);

	assert_int_equal(accounts_dkim_make(f->a, "Example.TEST", BOTH, now, err, sizeof err), 0);
	assert_int_equal(accounts_dkim_list(f->a, "example.test", now, &l, err, sizeof err), 0);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.v[0].alg, DKIM_ED25519);
	assert_int_equal(l.v[0].state, DKIM_SIGNING);
	assert_int_equal(l.v[1].alg, DKIM_RSA);
	assert_true(l.v[1].publish);
	dkim_key_list_free(&l);
	assert_int_equal(accounts_dkim_signers(f->a, "example.test", now, s), 2);
	assert_int_equal(s[0].alg, DKIM_ED25519);
	assert_int_equal(s[1].alg, DKIM_RSA);
	assert_int_equal(accounts_dkim_sign(f->a, "example.test", s[1].selector, "a\r\n", 3, sig,
	    sizeof sig), 0);
	assert_true(strlen(sig) > 300);
	/* both at once, and a selector that does not sign: each item its own answer */
	char sigs[3][DKIM_SIG_MAX];
	struct dkim_sign_item items[3] = {
		{ s[0].selector, "a\r\n", 3, sigs[0], sizeof sigs[0], DKIM_SIGN_FAILED },
		{ s[1].selector, "a\r\n", 3, sigs[1], sizeof sigs[1], DKIM_SIGN_FAILED },
		{ "nosuch", "a\r\n", 3, sigs[2], sizeof sigs[2], DKIM_SIGN_FAILED },
	};
	assert_int_equal(accounts_dkim_sign_many(f->a, "example.test", items, 3), 0);
	assert_int_equal(items[0].status, DKIM_SIGN_OK);
	assert_int_equal(items[1].status, DKIM_SIGN_OK);
	assert_int_equal(items[2].status, DKIM_SIGN_NO_KEY);
	assert_string_equal(sigs[2], "");
	assert_int_equal(strlen(sigs[0]), 88); /* Ed25519: 64 octets in base64 */
	assert_string_equal(sigs[1], sig);   /* RSA PKCS#1 v1.5 is deterministic */

	/* a rotation: the new keys are published, and may not sign yet */
	assert_int_equal(accounts_dkim_make_named(f->a, "example.test", BOTH, now + 3600, made, &n,
	    err, sizeof err), 0);
	assert_int_equal(n, 2);
	assert_string_not_equal(made[0].selector, s[0].selector);
	assert_int_equal(accounts_dkim_sign_status(f->a, "example.test", made[0].selector, "a", 1,
	    sig, sizeof sig), DKIM_SIGN_NO_KEY);
	assert_string_equal(sig, "");
	assert_int_equal(accounts_dkim_sign_status(f->a, "example.test", "nosuch", "a", 1, sig,
	    sizeof sig), DKIM_SIGN_NO_KEY);
	/* an hour on, they sign and the old ones are retired (and no longer sign) */
	assert_int_equal(accounts_dkim_signers(f->a, "example.test", now + 3600, s), 2);
	assert_string_equal(s[0].selector, made[0].selector);
	assert_int_equal(accounts_dkim_list(f->a, NULL, now + 3600, &l, err, sizeof err), 0);
	assert_int_equal(l.n, 4);
	unsigned retired = 0;
	for (size_t i = 0; i < l.n; i++)
		retired += l.v[i].state == DKIM_RETIRED && l.v[i].publish;
	assert_int_equal(retired, 2);
	dkim_key_list_free(&l);
}

static void
test_errors(void **state)
{
	struct fixture *f = *state;
	struct dkim_key_list l = { 0 };
	struct dkim_signer s[2];
	char err[512], sig[DKIM_SIG_MAX];

	assert_int_equal(accounts_dkim_make(f->a, "nosuch.test", BOTH, 0, err, sizeof err), -1);
	assert_string_equal(err, "no such domain: nosuch.test");
	assert_int_equal(accounts_dkim_list(f->a, "nosuch.test", 0, &l, err, sizeof err), -1);
	assert_string_equal(err, "no such domain: nosuch.test");
	assert_int_equal(accounts_dkim_make(f->a, "example.test", 0, 0, err, sizeof err), -1);
	assert_int_equal(accounts_dkim_signers(f->a, "nosuch.test", 0, s), 0);
	assert_int_equal(accounts_dkim_signers(f->a, "example.test", 0, s), 0);
	assert_int_equal(accounts_dkim_sign(f->a, "example.test", "x", "a", 1, sig, sizeof sig), -1);
}

static void
test_ensure_and_domain_del(void **state)
{
	struct fixture *f = *state;
	struct dkim_key_list l = { 0 };
	char err[512];
	time_t now = time(NULL);

	assert_int_equal(accounts_domain_add(f->a, "other.test", err, sizeof err), 0);
	assert_int_equal(accounts_dkim_make(f->a, "other.test", 1u << DKIM_ED25519, now, err,
	    sizeof err), 0);
	/* example.test lacks both, other.test its RSA key */
	assert_int_equal(accounts_dkim_ensure(f->a, BOTH, now, err, sizeof err), 3);
	assert_int_equal(accounts_dkim_ensure(f->a, BOTH, now, err, sizeof err), 0);
	assert_int_equal(accounts_dkim_list(f->a, NULL, now, &l, err, sizeof err), 0);
	assert_int_equal(l.n, 4);
	dkim_key_list_free(&l);
	assert_int_equal(accounts_domain_del(f->a, "other.test", err, sizeof err), 0);
	assert_int_equal(accounts_dkim_list(f->a, NULL, now, &l, err, sizeof err), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0].domain, "example.test");
	dkim_key_list_free(&l);
	/* a domain added again starts without the old keys */
	assert_int_equal(accounts_domain_add(f->a, "other.test", err, sizeof err), 0);
	assert_int_equal(accounts_dkim_list(f->a, "other.test", now, &l, err, sizeof err), 0);
	assert_int_equal(l.n, 0);
	dkim_key_list_free(&l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_make_list_sign, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ensure_and_domain_del, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
