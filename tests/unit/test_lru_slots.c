/* test_lru_slots.c - unit tests for lru_slots.c: finding, staleness, which slot gives way. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/lru_slots.h"

static int freed;

static void
free_int(void *v)
{
	freed++;
	free(v);
}

static int *
num(int n)
{
	int *p = malloc(sizeof *p);
	*p = n;
	return p;
}

/* put - key's value n into c, as a caller does after a miss. */
static void
put(struct lru_slots *c, const char *key, int n, int64_t expires, int64_t now)
{
	struct lru_slot *victim;

	assert_null(lru_slots_find(c, key, strlen(key), now, &victim));
	assert_int_equal(lru_slots_fill(c, victim, key, strlen(key), num(n), expires), 0);
}

static int
get(struct lru_slots *c, const char *key, int64_t now)
{
	struct lru_slot *victim;
	int *v = lru_slots_find(c, key, strlen(key), now, &victim);

	return v != NULL ? *v : -1;
}

static void
test_find_and_keys(void **state)
{
	struct lru_slots c;

	freed = 0;
	assert_int_equal(lru_slots_init(&c, 4, free_int), 0);
	put(&c, "a", 1, LRU_NEVER, 0);
	put(&c, "ab", 2, LRU_NEVER, 0);
	/* Keys are bytes with their length: "a\0b" is not "a". */
	struct lru_slot *victim;
	assert_null(lru_slots_find(&c, "a\0b", 3, 0, &victim));
	assert_int_equal(get(&c, "a", 0), 1);
	assert_int_equal(get(&c, "ab", 0), 2);
	assert_int_equal(get(&c, "b", 0), -1);
	assert_int_equal(lru_slots_count(&c), 2);
	lru_slots_free(&c);
	assert_int_equal(freed, 2);
}

static void
test_stale_is_made_again_in_place(void **state)
{
	struct lru_slots c;

	freed = 0;
	assert_int_equal(lru_slots_init(&c, 4, free_int), 0);
	put(&c, "k", 1, 100, 0);
	assert_int_equal(get(&c, "k", 99), 1);
	assert_int_equal(get(&c, "k", 100), -1);
	put(&c, "k", 2, 200, 100);
	assert_int_equal(lru_slots_count(&c), 1); /* the old entry's slot, not a second */
	assert_int_equal(freed, 1);
	assert_int_equal(get(&c, "k", 150), 2);
	lru_slots_free(&c);
}

static void
test_least_recently_used_gives_way(void **state)
{
	struct lru_slots c;

	freed = 0;
	assert_int_equal(lru_slots_init(&c, 3, free_int), 0);
	put(&c, "a", 1, LRU_NEVER, 0);
	put(&c, "b", 2, LRU_NEVER, 0);
	put(&c, "c", 3, LRU_NEVER, 0);
	assert_int_equal(get(&c, "a", 0), 1); /* b is now the least recently used */
	put(&c, "d", 4, LRU_NEVER, 0);
	assert_int_equal(get(&c, "b", 0), -1);
	assert_int_equal(get(&c, "a", 0), 1);
	assert_int_equal(get(&c, "c", 0), 3);
	assert_int_equal(get(&c, "d", 0), 4);
	/* A stale entry gives way before the least recently used fresh one. */
	lru_slots_free(&c);
	assert_int_equal(lru_slots_init(&c, 2, free_int), 0);
	put(&c, "old", 1, 10, 0);
	put(&c, "new", 2, LRU_NEVER, 0);
	assert_int_equal(get(&c, "old", 5), 1); /* the newest use, but stale at 20 */
	put(&c, "x", 3, LRU_NEVER, 20);
	assert_int_equal(get(&c, "new", 20), 2);
	assert_int_equal(get(&c, "x", 20), 3);
	lru_slots_free(&c);
	assert_int_equal(freed, 7);
}

static void
test_drop_frees_one_entry(void **state)
{
	struct lru_slots c;

	freed = 0;
	assert_int_equal(lru_slots_init(&c, 4, free_int), 0);
	put(&c, "a", 1, LRU_NEVER, 0);
	put(&c, "b", 2, LRU_NEVER, 0);
	lru_slots_drop(&c, "a", 1);
	assert_int_equal(freed, 1);
	assert_int_equal(lru_slots_count(&c), 1);
	assert_int_equal(get(&c, "a", 0), -1);
	assert_int_equal(get(&c, "b", 0), 2);
	lru_slots_drop(&c, "nosuch", 6); /* nothing to drop: nothing happens */
	lru_slots_drop(&c, "a", 1);
	assert_int_equal(freed, 1);
	put(&c, "a", 3, LRU_NEVER, 0);
	assert_int_equal(get(&c, "a", 0), 3);
	lru_slots_free(&c);
	assert_int_equal(freed, 3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find_and_keys),
		cmocka_unit_test(test_stale_is_made_again_in_place),
		cmocka_unit_test(test_least_recently_used_gives_way),
		cmocka_unit_test(test_drop_frees_one_entry),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
