/* workpool.c - a few threads running jobs; completions return to the loop (util/loop_threads). */
#include "util/workpool.h"

#include <stdlib.h>

#include "util/loop_threads.h"

struct job {
	struct job *next;
	void (*work)(void *);
	void (*done)(void *);
	void *arg;
};

struct workpool {
	struct loop_threads t;
	struct job *queue_head, *queue_tail;
	struct job *done_list;
};

static void *
worker(void *arg)
{
	struct workpool *p = arg;

	pthread_mutex_lock(&p->t.mu);
	for (;;) {
		while (p->queue_head == NULL && !p->t.stop)
			pthread_cond_wait(&p->t.cv, &p->t.mu);
		struct job *j = p->queue_head;
		if (j == NULL)
			break;
		p->queue_head = j->next;
		if (p->queue_head == NULL)
			p->queue_tail = NULL;
		pthread_mutex_unlock(&p->t.mu);
		j->work(j->arg);
		pthread_mutex_lock(&p->t.mu);
		j->next = p->done_list;
		p->done_list = j;
		loop_threads_wake(&p->t);
	}
	pthread_mutex_unlock(&p->t.mu);
	return NULL;
}

static void
run_done(void *arg)
{
	struct workpool *p = arg;

	pthread_mutex_lock(&p->t.mu);
	struct job *j = p->done_list, *rev = NULL;
	p->done_list = NULL;
	pthread_mutex_unlock(&p->t.mu);
	/* In completion order. */
	while (j) {
		struct job *next = j->next;
		j->next = rev;
		rev = j;
		j = next;
	}
	while (rev) {
		struct job *next = rev->next;
		rev->done(rev->arg);
		free(rev);
		rev = next;
	}
}

struct workpool *
workpool_new(struct event_base *base, unsigned nthreads)
{
	struct workpool *p = calloc(1, sizeof *p);

	if (p == NULL)
		return NULL;
	if (loop_threads_start(&p->t, base, nthreads, worker, run_done, p) < 0) {
		free(p);
		return NULL;
	}
	return p;
}

int
workpool_submit(struct workpool *p, void (*work)(void *), void (*done)(void *), void *arg)
{
	if (loop_threads_begin(&p->t) < 0)
		return -1;
	struct job *j = calloc(1, sizeof *j);
	if (j == NULL)
		return -1;
	j->work = work;
	j->done = done;
	j->arg = arg;
	pthread_mutex_lock(&p->t.mu);
	if (p->queue_tail)
		p->queue_tail->next = j;
	else
		p->queue_head = j;
	p->queue_tail = j;
	pthread_cond_signal(&p->t.cv);
	pthread_mutex_unlock(&p->t.mu);
	return 0;
}

void
workpool_free(struct workpool *p)
{
	if (p == NULL)
		return;
	loop_threads_stop(&p->t);
	run_done(p);
	loop_threads_free(&p->t);
	free(p);
}
