/*
 * test_workpool.c - unit tests for util/workpool.c over util/loop_threads.c: no
 * thread starts before the first job (a role makes its pools before its walls,
 * and the walls hold only threads made after them); jobs run on the pool's
 * threads and their completions on the loop; freeing the pool finishes what was
 * submitted and runs every completion.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/event.h>
#include <pthread.h>
#include <time.h>

#include "loop_pump.h"
#include "util/workpool.h"

struct job {
	pthread_t loop, ran_on;
	int ran, done;
	int *done_count;
};

static void
work(void *arg)
{
	struct job *j = arg;
	j->ran_on = pthread_self();
	j->ran++;
}

static void
done(void *arg)
{
	struct job *j = arg;
	assert_true(pthread_equal(pthread_self(), j->loop));
	j->done++;
	(*j->done_count)++;
}

static void
test_threads_start_with_the_first_job(void **state)
{
	struct event_base *base = event_base_new();
	int before = threads(), count = 0;
	struct job jobs[8];

	assert_non_null(base);
	struct workpool *p = workpool_new(base, 2);
	assert_non_null(p);
	assert_int_equal(threads(), before);
	for (int i = 0; i < 8; i++) {
		jobs[i] = (struct job){ .loop = pthread_self(), .done_count = &count };
		assert_int_equal(workpool_submit(p, work, done, &jobs[i]), 0);
	}
	assert_int_equal(threads(), before + 2);
	pump(base, &count, 8);
	assert_int_equal(count, 8);
	for (int i = 0; i < 8; i++) {
		assert_int_equal(jobs[i].ran, 1);
		assert_int_equal(jobs[i].done, 1);
		assert_false(pthread_equal(jobs[i].ran_on, pthread_self()));
	}
	/* More jobs: the same threads, no new ones. */
	jobs[0].done = jobs[0].ran = 0;
	assert_int_equal(workpool_submit(p, work, done, &jobs[0]), 0);
	assert_int_equal(threads(), before + 2);
	pump(base, &count, 9);
	assert_int_equal(jobs[0].done, 1);
	workpool_free(p);
	assert_int_equal(threads(), before);
	event_base_free(base);
}

static void
test_free_finishes_the_jobs(void **state)
{
	struct event_base *base = event_base_new();
	int count = 0;
	struct job jobs[16];

	assert_non_null(base);
	struct workpool *p = workpool_new(base, 1);
	assert_non_null(p);
	for (int i = 0; i < 16; i++) {
		jobs[i] = (struct job){ .loop = pthread_self(), .done_count = &count };
		assert_int_equal(workpool_submit(p, work, done, &jobs[i]), 0);
	}
	workpool_free(p); /* without the loop having run: the completions run here */
	assert_int_equal(count, 16);
	for (int i = 0; i < 16; i++)
		assert_int_equal(jobs[i].ran, 1);
	/* A pool that never had a job frees without a thread. */
	int before = threads();
	p = workpool_new(base, 4);
	assert_non_null(p);
	workpool_free(p);
	assert_int_equal(threads(), before);
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_threads_start_with_the_first_job),
		cmocka_unit_test(test_free_finishes_the_jobs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
