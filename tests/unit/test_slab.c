/* test_slab.c - unit tests for slab.c: objects zeroed and apart, chunks given back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/slab.h"

#define N 20000

static void
test_alloc_free(void **state)
{
	struct slab s;
	unsigned char **p = calloc(N, sizeof *p);

	slab_init(&s, 72);
	assert_int_equal(s.size, 72);
	for (int i = 0; i < N; i++) {
		p[i] = slab_alloc(&s);
		assert_non_null(p[i]);
		for (size_t k = 0; k < 72; k++)
			assert_int_equal(p[i][k], 0);
		memset(p[i], i & 0xff, 72);
	}
	/* 20,000 x 72 octets: some 23 chunks of 64 KiB. */
	assert_in_range(s.chunks, N * 72 / 65536, N * 72 / 65536 + 2);
	for (int i = 0; i < N; i++)
		for (size_t k = 0; k < 72; k++)
			assert_int_equal(p[i][k], i & 0xff); /* nothing overlapped */
	/* Freed in every other, the chunks stay; then all, and one chunk is left. */
	for (int i = 0; i < N; i += 2)
		slab_free(&s, p[i]);
	assert_in_range(s.chunks, N * 72 / 65536, N * 72 / 65536 + 2);
	for (int i = 0; i < N; i += 2) {
		p[i] = slab_alloc(&s); /* taken again from the free lists */
		assert_non_null(p[i]);
	}
	assert_in_range(s.chunks, N * 72 / 65536, N * 72 / 65536 + 2);
	for (int i = 0; i < N; i++)
		slab_free(&s, p[i]);
	assert_int_equal(s.chunks, 1);
	slab_free(&s, NULL);
	slab_destroy(&s);
	assert_int_equal(s.chunks, 0);
	free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alloc_free),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
