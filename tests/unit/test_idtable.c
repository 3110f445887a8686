/* test_idtable.c - unit tests for idtable.c: put, get, delete in runs, growth. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/idtable.h"

struct obj {
	int n;
	char id[17];
};

#define N 5000

static void
test_put_get_delete(void **state)
{
	struct idtable t;
	struct obj *o = calloc(N, sizeof *o);

	idtable_init(&t, offsetof(struct obj, id));
	assert_null(idtable_get(&t, "nothing"));
	assert_null(idtable_del(&t, "nothing"));
	for (int i = 0; i < N; i++) {
		o[i].n = i;
		snprintf(o[i].id, sizeof o[i].id, "%016X", (unsigned)i * 2654435761u);
		assert_int_equal(idtable_put(&t, &o[i]), 0);
	}
	assert_int_equal(t.n, N);
	assert_true(t.cap >= 2 * N);
	/* Every third goes: the runs they were in must still find the rest. */
	for (int i = 0; i < N; i += 3)
		assert_ptr_equal(idtable_del(&t, o[i].id), &o[i]);
	for (int i = 0; i < N; i++) {
		struct obj *got = idtable_get(&t, o[i].id);
		if (i % 3 == 0)
			assert_null(got);
		else
			assert_ptr_equal(got, &o[i]);
	}
	size_t seen = 0;
	for (size_t i = 0; i < t.cap; i++)
		seen += t.v[i] != NULL;
	assert_int_equal(seen, t.n);
	assert_int_equal(t.n, N - (N + 2) / 3);
	/* Put back, then all gone. */
	for (int i = 0; i < N; i += 3)
		assert_int_equal(idtable_put(&t, &o[i]), 0);
	for (int i = 0; i < N; i++)
		assert_ptr_equal(idtable_del(&t, o[i].id), &o[i]);
	assert_int_equal(t.n, 0);
	for (size_t i = 0; i < t.cap; i++)
		assert_null(t.v[i]);
	idtable_free(&t);
	free(o);
}

/* Keys that collide into one run, deleted from its middle, wrapping past the end. */
static void
test_runs_wrap(void **state)
{
	struct idtable t;
	struct obj o[40];

	idtable_init(&t, offsetof(struct obj, id));
	for (int i = 0; i < 40; i++) {
		snprintf(o[i].id, sizeof o[i].id, "k%d", i);
		assert_int_equal(idtable_put(&t, &o[i]), 0);
	}
	for (int round = 0; round < 40; round++) {
		int gone = (round * 7) % 40;
		assert_ptr_equal(idtable_del(&t, o[gone].id), &o[gone]);
		for (int i = 0; i < 40; i++)
			if (i != gone)
				assert_ptr_equal(idtable_get(&t, o[i].id), &o[i]);
		assert_int_equal(idtable_put(&t, &o[gone]), 0);
	}
	idtable_free(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_get_delete),
		cmocka_unit_test(test_runs_wrap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
