/*
 * loop_threads.h - a few threads that hand results back to an event loop: a lock and
 * a condition for their work list, a stop flag, and an eventfd that wakes the loop.
 * What the group commit (store/commit.c) and the work pool (util/workpool.c) share.
 * The threads start with the first work (loop_threads_begin, or one at a time as
 * the load needs them: loop_threads_add), not with the group:
 * a role makes its groups before its walls (sandbox/), and seccomp and Landlock
 * hold a thread made after them only.
 */
#ifndef MAILROOM_LOOP_THREADS_H
#define MAILROOM_LOOP_THREADS_H

#include <pthread.h>
#include <stdbool.h>

#define LOOP_THREADS_MAX 16

struct event_base;
struct event;

struct loop_threads {
	pthread_mutex_t mu;  /* guards stop and the owner's lists */
	pthread_cond_t cv;   /* signalled when work arrives or stop is set */
	bool stop;
	int efd;
	struct event *ev;
	pthread_t threads[LOOP_THREADS_MAX];
	unsigned n;          /* running */
	unsigned want;
	void *(*run)(void *);
	void *arg;
};

/*
 * loop_threads_start - a group of up to n threads that will run run(arg), and
 * on_wake(arg) on base's loop after loop_threads_wake. No thread starts yet.
 * Returns 0, or -1 (nothing is left to free).
 */
int loop_threads_start(struct loop_threads *t, struct event_base *base, unsigned n,
    void *(*run)(void *), void (*on_wake)(void *), void *arg);

/*
 * loop_threads_begin - on the loop, before work is handed to the group: its threads
 * started if they are not yet. Returns 0 (at least one runs) or -1 (none could start).
 */
int loop_threads_begin(struct loop_threads *t);

/*
 * loop_threads_add - on the loop: one thread more, unless n run already or the group
 * is stopping (for a group that grows with its load). Returns 0, or -1 if the
 * thread could not start.
 */
int loop_threads_add(struct loop_threads *t);

/* loop_threads_wake - from a thread: on_wake runs on the loop soon (wakes coalesce). */
void loop_threads_wake(struct loop_threads *t);

/* loop_threads_stop - set stop, wake every thread and join them: run must then return. */
void loop_threads_stop(struct loop_threads *t);

/* loop_threads_free - after loop_threads_stop: the event, the eventfd, the lock. */
void loop_threads_free(struct loop_threads *t);

#endif
