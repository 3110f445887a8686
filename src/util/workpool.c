/* workpool.c - a few threads running jobs; completions return to the loop by eventfd. */
#include "util/workpool.h"

#include <event2/event.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define THREADS_MAX 16

struct job {
	struct job *next;
	void (*work)(void *);
	void (*done)(void *);
	void *arg;
};

struct workpool {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct job *queue_head, *queue_tail;
	struct job *done_list;
	bool stop;
	int efd;
	struct event *ev;
	pthread_t threads[THREADS_MAX];
	unsigned nthreads;
};

static void *
worker(void *arg)
{
	struct workpool *p = arg;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (p->queue_head == NULL && !p->stop)
			pthread_cond_wait(&p->cv, &p->mu);
		struct job *j = p->queue_head;
		if (j == NULL)
			break;
		p->queue_head = j->next;
		if (p->queue_head == NULL)
			p->queue_tail = NULL;
		pthread_mutex_unlock(&p->mu);
		j->work(j->arg);
		pthread_mutex_lock(&p->mu);
		j->next = p->done_list;
		p->done_list = j;
		uint64_t one = 1;
		ssize_t w = write(p->efd, &one, sizeof one);
		(void)w;
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

static void
run_done(struct workpool *p)
{
	pthread_mutex_lock(&p->mu);
	struct job *j = p->done_list, *rev = NULL;
	p->done_list = NULL;
	pthread_mutex_unlock(&p->mu);
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

static void
on_efd(evutil_socket_t fd, short what, void *arg)
{
	uint64_t v;
	ssize_t r = read(fd, &v, sizeof v);
	(void)r;
	run_done(arg);
}

struct workpool *
workpool_new(struct event_base *base, unsigned nthreads)
{
	struct workpool *p = calloc(1, sizeof *p);
	if (p == NULL)
		return NULL;
	if (nthreads == 0)
		nthreads = 1;
	if (nthreads > THREADS_MAX)
		nthreads = THREADS_MAX;
	p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (p->efd < 0)
		goto fail;
	p->ev = event_new(base, p->efd, EV_READ | EV_PERSIST, on_efd, p);
	if (p->ev == NULL || event_add(p->ev, NULL) < 0)
		goto fail;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	for (; p->nthreads < nthreads; p->nthreads++)
		if (pthread_create(&p->threads[p->nthreads], NULL, worker, p) != 0)
			break;
	if (p->nthreads == 0) {
		pthread_mutex_destroy(&p->mu);
		pthread_cond_destroy(&p->cv);
		goto fail;
	}
	return p;
fail:
	if (p->ev)
		event_free(p->ev);
	if (p->efd >= 0)
		close(p->efd);
	free(p);
	return NULL;
}

int
workpool_submit(struct workpool *p, void (*work)(void *), void (*done)(void *), void *arg)
{
	struct job *j = calloc(1, sizeof *j);
	if (j == NULL)
		return -1;
	j->work = work;
	j->done = done;
	j->arg = arg;
	pthread_mutex_lock(&p->mu);
	if (p->queue_tail)
		p->queue_tail->next = j;
	else
		p->queue_head = j;
	p->queue_tail = j;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
	return 0;
}

void
workpool_free(struct workpool *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	for (unsigned i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	run_done(p);
	event_free(p->ev);
	close(p->efd);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p);
}
