/*
 * test_accounts_grey.c - unit tests for accounts_grey.c against a store in a
 * temporary directory: a triplet greylisted, passed after the delay and known
 * from then on, counted per client network until the network is allowed, and
 * old rows expired (and only those).
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

#define DELAY 300
#define T0 1800000000

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
	snprintf(f->dir, sizeof f->dir, "/tmp/test_accounts_grey.XXXXXX");
	if (mkdtemp(f->dir) == NULL || (f->a = accounts_open(f->dir, true, err, sizeof err)) == NULL) {
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
test_triplet(void **state)
{
	struct fixture *f = *state;
	struct accounts *a = f->a;

	assert_int_equal(accounts_greylist(a, "192.0.2.1", "s@x.test", "r@y.test", DELAY, T0),
	    GREY_LISTED);
	assert_int_equal(accounts_greylist(a, "192.0.2.1", "s@x.test", "r@y.test", DELAY, T0 + 10),
	    GREY_LISTED);
	/* the same /24, another case: the same triplet, whose delay has passed */
	assert_int_equal(accounts_greylist(a, "192.0.2.77", "S@X.test", "R@y.TEST", DELAY,
	    T0 + DELAY), GREY_PASS);
	assert_int_equal(accounts_greylist(a, "192.0.2.1", "s@x.test", "r@y.test", DELAY,
	    T0 + DELAY + 1), GREY_PASS);
	/* another sender, another network: new */
	assert_int_equal(accounts_greylist(a, "192.0.2.1", "", "r@y.test", DELAY, T0 + DELAY),
	    GREY_LISTED);
	assert_int_equal(accounts_greylist(a, "198.51.100.1", "s@x.test", "r@y.test", DELAY,
	    T0 + DELAY), GREY_LISTED);
	/* not an address: no triplet, the caller passes */
	assert_int_equal(accounts_greylist(a, "junk", "s@x.test", "r@y.test", DELAY, T0),
	    GREY_FAILED);
}

static void
test_client_allowed(void **state)
{
	struct fixture *f = *state;
	struct accounts *a = f->a;
	time_t t = T0;

	assert_int_equal(accounts_greylist(a, "2001:db8::1", "s@x.test", "r@y.test", DELAY, t),
	    GREY_LISTED);
	t += DELAY;
	for (int i = 0; i < GREY_CLIENT_PASSES; i++)
		assert_int_equal(accounts_greylist(a, "2001:db8::1", "s@x.test", "r@y.test", DELAY,
		    t + i), GREY_PASS);
	/* the /64 is allowed now: a new sender passes at once */
	assert_int_equal(accounts_greylist(a, "2001:db8::2", "new@x.test", "r@y.test", DELAY,
	    t + 100), GREY_PASS);
	/* another /64 is not */
	assert_int_equal(accounts_greylist(a, "2001:db8:0:1::2", "new@x.test", "r@y.test", DELAY,
	    t + 100), GREY_LISTED);
}

static void
test_expire(void **state)
{
	struct fixture *f = *state;
	struct accounts *a = f->a;

	/* passed at T0 + DELAY; waiting since T0 */
	accounts_greylist(a, "192.0.2.1", "s@x.test", "r@y.test", DELAY, T0);
	accounts_greylist(a, "192.0.2.1", "s@x.test", "r@y.test", DELAY, T0 + DELAY);
	accounts_greylist(a, "192.0.2.1", "w@x.test", "r@y.test", DELAY, T0);
	assert_int_equal(accounts_greylist_expire(a, DELAY, T0 + DELAY), 0);
	/* the waiting triplet's window is over: it goes, the passed one stays */
	assert_int_equal(accounts_greylist_expire(a, DELAY, T0 + 2 * DELAY + GREY_RETRY_WINDOW), 1);
	/* after GREY_KEEP unseen: the passed triplet and its client network */
	assert_int_equal(accounts_greylist_expire(a, DELAY, T0 + DELAY + GREY_KEEP + 1), 2);
	/* all gone: new again */
	assert_int_equal(accounts_greylist(a, "192.0.2.1", "s@x.test", "r@y.test", DELAY,
	    T0 + DELAY + GREY_KEEP + 2), GREY_LISTED);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_triplet, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_allowed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expire, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
