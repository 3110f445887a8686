/*
 * test_accounts_srs.c - unit tests for accounts_srs.c against a store in a
 * temporary directory: the secret is made once and kept, which senders are
 * rewritten, and SRS addresses of hosted domains resolved to the original sender
 * (a user or alias of the exact name first; forged or malformed: no such user).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	const char *fwd = "x@remote.test";

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof f->dir, "/tmp/test_accounts_srs.XXXXXX");
	if (mkdtemp(f->dir) == NULL || (f->a = accounts_open(f->dir, true, err, sizeof err)) == NULL ||
	    accounts_domain_add(f->a, "a.test", err, sizeof err) < 0 ||
	    accounts_domain_add(f->a, "b.test", err, sizeof err) < 0 ||
	    accounts_user_add(f->a, "joe@b.test", "pw", 0, err, sizeof err) < 0 ||
	    accounts_alias_add(f->a, "info@a.test", &fwd, 1, err, sizeof err) < 0) {
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

static void
test_forward(void **state)
{
	struct fixture *f = *state;
	char out[ADDR_MAX + 1], again[ADDR_MAX + 1], err[512];

	assert_int_equal(accounts_srs_forward(f->a, "s@other.test", "a.test", out, sizeof out), 1);
	assert_int_equal(strncmp(out, "SRS0=", 5), 0);
	assert_string_equal(strchr(out, '@'), "@a.test");
	/* kept: the null sender, a hosted sender, a domain not ours, a quoted local part */
	assert_int_equal(accounts_srs_forward(f->a, "", "a.test", again, sizeof again), 0);
	assert_string_equal(again, "");
	assert_int_equal(accounts_srs_forward(f->a, "joe@B.test", "a.test", again, sizeof again), 0);
	assert_string_equal(again, "joe@B.test");
	assert_int_equal(accounts_srs_forward(f->a, "s@other.test", "remote.test", again,
	    sizeof again), 0);
	assert_int_equal(accounts_srs_forward(f->a, "\"a b\"@other.test", "a.test", again,
	    sizeof again), 0);
	/* the secret is kept across opens, with create or without */
	accounts_close(f->a);
	assert_non_null(f->a = accounts_open(f->dir, true, err, sizeof err));
	assert_int_equal(accounts_srs_forward(f->a, "s@other.test", "a.test", again, sizeof again), 1);
	assert_string_equal(again, out);
	accounts_close(f->a);
	assert_non_null(f->a = accounts_open(f->dir, false, err, sizeof err));
	assert_int_equal(accounts_srs_forward(f->a, "s@other.test", "a.test", again, sizeof again), 1);
	assert_string_equal(again, out);
}

static void
test_resolve(void **state)
{
	struct fixture *f = *state;
	struct target_list tl = { 0 };
	enum resolve_status st;
	char srs[ADDR_MAX + 1], srs1[ADDR_MAX + 1], forged[ADDR_MAX + 1], err[512];

	assert_int_equal(accounts_srs_forward(f->a, "s@other.test", "a.test", srs, sizeof srs), 1);
	assert_true(accounts_srs_resolve(f->a, srs, &tl, &st));
	assert_int_equal(st, RESOLVE_OK);
	assert_int_equal(tl.n, 1);
	assert_int_equal(tl.v[0].kind, TARGET_REMOTE);
	assert_string_equal(tl.v[0].addr, "s@other.test");
	target_list_free(&tl);
	/* forged and malformed: no such user */
	snprintf(forged, sizeof forged, "%s", srs);
	forged[5] = forged[5] == 'Q' || forged[5] == 'q' ? 'R' : 'Q';
	assert_true(accounts_srs_resolve(f->a, forged, &tl, &st));
	assert_int_equal(st, RESOLVE_NO_SUCH_USER);
	assert_int_equal(tl.n, 0);
	assert_true(accounts_srs_resolve(f->a, "srs0=nonsense@a.test", &tl, &st));
	assert_int_equal(st, RESOLVE_NO_SUCH_USER);
	/* not ours, not SRS: for accounts_resolve */
	assert_false(accounts_srs_resolve(f->a, "info@a.test", &tl, &st));
	assert_false(accounts_srs_resolve(f->a, "SRS0=x=AA=d.test=l@remote.test", &tl, &st));
	/* an SRS1 address reverses to the first forwarder's SRS0 address */
	snprintf(srs1, sizeof srs1, "%.*s@elsewhere.test", (int)(strchr(srs, '@') - srs), srs);
	char chain[ADDR_MAX + 1];
	assert_int_equal(accounts_srs_forward(f->a, srs1, "b.test", chain, sizeof chain), 1);
	assert_int_equal(strncmp(chain, "SRS1=", 5), 0);
	assert_true(accounts_srs_resolve(f->a, chain, &tl, &st));
	assert_int_equal(st, RESOLVE_OK);
	assert_int_equal(tl.n, 1);
	assert_string_equal(tl.v[0].addr, srs1);
	target_list_free(&tl);
	/* an SRS1 address whose first forwarder is us goes all the way back */
	assert_int_equal(accounts_srs_forward(f->a, srs, "b.test", chain, sizeof chain), 0);
	snprintf(srs1, sizeof srs1, "SRS1=abcd=a.test=%.*s@b.test", (int)(strchr(srs, '@') - srs - 4),
	    srs + 4);
	assert_true(accounts_srs_resolve(f->a, srs1, &tl, &st));
	assert_int_equal(st, RESOLVE_NO_SUCH_USER); /* forged hash */
	/* an alias of the exact name wins */
	const char *to = "joe@b.test";
	assert_int_equal(accounts_alias_add(f->a, srs, &to, 1, err, sizeof err), 0);
	assert_false(accounts_srs_resolve(f->a, srs, &tl, &st));
	assert_int_equal(accounts_resolve(f->a, srs, &tl), RESOLVE_OK);
	assert_int_equal(tl.v[0].kind, TARGET_LOCAL);
	target_list_free(&tl);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_forward, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resolve, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
