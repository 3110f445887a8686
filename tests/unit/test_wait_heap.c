/* test_wait_heap.c - unit tests for wait_heap.c: earliest first, leaving from anywhere. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "queue/queued.h"
#include "queue/wait_heap.h"

#define N 3000

static void
test_order_and_removal(void **state)
{
	struct wait_heap h = { 0 };
	struct qmsg *m = calloc(N, sizeof *m);
	unsigned seed = 7;

	assert_null(wait_heap_top(&h));
	for (int i = 0; i < N; i++) {
		seed = seed * 1103515245u + 12345u;
		m[i].next_try = (time_t)(seed % 1000); /* many equal times */
		assert_int_equal(wait_heap_add(&h, &m[i]), 0);
		assert_int_not_equal(m[i].heap_at, 0);
	}
	/* Every fifth leaves from wherever it is, and again does nothing. */
	for (int i = 0; i < N; i += 5) {
		wait_heap_del(&h, &m[i]);
		assert_int_equal(m[i].heap_at, 0);
		wait_heap_del(&h, &m[i]);
	}
	assert_int_equal(h.n, N - N / 5);
	for (size_t i = 0; i < h.n; i++)
		assert_int_equal(h.v[i]->heap_at, i + 1);
	time_t last = -1;
	size_t taken = 0;
	struct qmsg *top;
	while ((top = wait_heap_top(&h)) != NULL) {
		assert_true(top->next_try >= last);
		assert_true((top - m) % 5 != 0);
		last = top->next_try;
		wait_heap_del(&h, top);
		taken++;
	}
	assert_int_equal(taken, N - N / 5);
	assert_int_equal(h.n, 0);
	assert_true(h.cap <= 512); /* given back as it emptied */
	wait_heap_free(&h);
	free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_and_removal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
