/*
 * test_commit.c - unit tests for store/commit.c's threads: none before the first
 * request, one for a load that one can carry, and more when requests find every
 * thread flushing (each request's make below waits until all three run at once:
 * with fewer threads than that they would each give up). Completions run on the
 * loop, and what was submitted is finished by committer_free.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <time.h>

#include "loop_pump.h"
#include "store/commit.h"

#define TOGETHER 3

/* A meeting of TOGETHER makes: each waits (5 s at most) until all have come. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int arrived;

struct req {
	pthread_t loop;
	int met;     /* make saw all TOGETHER at once */
	int done, error;
	int *done_count;
};

static int
meet(void *arg, int *fds)
{
	struct req *r = arg;
	struct timespec until;

	(void)fds;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 5;
	pthread_mutex_lock(&mu);
	arrived++;
	pthread_cond_broadcast(&cv);
	while (arrived < TOGETHER && pthread_cond_timedwait(&cv, &mu, &until) != ETIMEDOUT)
		;
	r->met = arrived >= TOGETHER;
	pthread_mutex_unlock(&mu);
	return 0;
}

static int
nothing(void *arg, int *fds)
{
	(void)arg;
	(void)fds;
	return 0;
}

static void
done(void *arg, int error)
{
	struct req *r = arg;

	assert_true(pthread_equal(pthread_self(), r->loop));
	r->done++;
	r->error = error;
	(*r->done_count)++;
}

static void
test_one_thread_for_one_at_a_time(void **state)
{
	struct event_base *base = event_base_new();
	int before = threads(), count = 0;
	struct req r[10];

	(void)state;
	assert_non_null(base);
	struct committer *c = committer_new(base);
	assert_non_null(c);
	assert_int_equal(threads(), before);
	for (int i = 0; i < 10; i++) {
		r[i] = (struct req){ .loop = pthread_self(), .done_count = &count };
		assert_int_equal(committer_submit_made(c, 0, nothing, NULL, NULL, 0, done, &r[i]), 0);
		pump(base, &count, i + 1);
		assert_int_equal(r[i].done, 1);
		assert_int_equal(r[i].error, 0);
		/* No sleep needed: the thread counts itself idle before it lets the loop
		 * have the completion (both under the lock). */
	}
	assert_int_equal(threads(), before + 1);
	committer_free(c);
	assert_int_equal(threads(), before);
	event_base_free(base);
}

static void
test_threads_are_added_while_all_flush(void **state)
{
	struct event_base *base = event_base_new();
	int before = threads(), count = 0;
	struct req r[TOGETHER];

	(void)state;
	assert_non_null(base);
	arrived = 0;
	struct committer *c = committer_new(base);
	assert_non_null(c);
	for (int i = 0; i < TOGETHER; i++) {
		r[i] = (struct req){ .loop = pthread_self(), .done_count = &count };
		assert_int_equal(committer_submit_made(c, 0, meet, NULL, NULL, 0, done, &r[i]), 0);
		/* Let the request reach a thread before the next one comes: each finds the
		 * threads busy, not a woken thread that would take both in one batch. */
		for (int k = 0; k < 500 && arrived <= i; k++)
			nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	}
	pump(base, &count, TOGETHER);
	assert_int_equal(count, TOGETHER);
	for (int i = 0; i < TOGETHER; i++) {
		assert_int_equal(r[i].met, 1);
		assert_int_equal(r[i].done, 1);
	}
	assert_int_equal(threads(), before + TOGETHER);
	committer_free(c);
	assert_int_equal(threads(), before);
	event_base_free(base);
}

static void
test_free_finishes_what_was_submitted(void **state)
{
	struct event_base *base = event_base_new();
	int count = 0;
	struct req r[8];

	(void)state;
	assert_non_null(base);
	struct committer *c = committer_new(base);
	assert_non_null(c);
	for (int i = 0; i < 8; i++) {
		r[i] = (struct req){ .loop = pthread_self(), .done_count = &count };
		assert_int_equal(committer_submit_made(c, 0, nothing, NULL, NULL, 0, done, &r[i]), 0);
	}
	committer_free(c); /* the loop never ran: the callbacks run here */
	assert_int_equal(count, 8);
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_thread_for_one_at_a_time),
		cmocka_unit_test(test_threads_are_added_while_all_flush),
		cmocka_unit_test(test_free_finishes_what_was_submitted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
