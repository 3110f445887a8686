/* loop_threads.c - threads, their lock, and the eventfd back to the loop. */
#include "util/loop_threads.h"

#include <event2/event.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct waker {
	void (*on_wake)(void *);
	void *arg;
};

static void
on_efd(evutil_socket_t fd, short what, void *arg)
{
	struct waker *w = arg;
	uint64_t v;
	ssize_t r = read(fd, &v, sizeof v);

	(void)r;
	w->on_wake(w->arg);
}

int
loop_threads_start(struct loop_threads *t, struct event_base *base, unsigned n,
    void *(*run)(void *), void (*on_wake)(void *), void *arg)
{
	struct waker *w = malloc(sizeof *w);

	t->stop = false;
	t->n = 0;
	t->ev = NULL;
	t->run = run;
	t->arg = arg;
	if (w == NULL)
		return -1;
	*w = (struct waker){ on_wake, arg };
	if (n == 0)
		n = 1;
	if (n > LOOP_THREADS_MAX)
		n = LOOP_THREADS_MAX;
	t->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (t->efd < 0)
		goto fail;
	t->ev = event_new(base, t->efd, EV_READ | EV_PERSIST, on_efd, w);
	if (t->ev == NULL || event_add(t->ev, NULL) < 0)
		goto fail;
	pthread_mutex_init(&t->mu, NULL);
	pthread_cond_init(&t->cv, NULL);
	t->want = n;
	return 0;
fail:
	if (t->ev)
		event_free(t->ev);
	if (t->efd >= 0)
		close(t->efd);
	free(w);
	return -1;
}

int
loop_threads_begin(struct loop_threads *t)
{
	/* Stopping: the owner finishes what is left itself (committer_free), nothing restarts. */
	if (t->n > 0 || t->stop)
		return 0;
	for (; t->n < t->want; t->n++)
		if (pthread_create(&t->threads[t->n], NULL, t->run, t->arg) != 0)
			break;
	return t->n > 0 ? 0 : -1;
}

int
loop_threads_add(struct loop_threads *t)
{
	if (t->stop || t->n >= t->want)
		return 0;
	if (pthread_create(&t->threads[t->n], NULL, t->run, t->arg) != 0)
		return -1;
	t->n++;
	return 0;
}

void
loop_threads_wake(struct loop_threads *t)
{
	uint64_t one = 1;
	ssize_t w = write(t->efd, &one, sizeof one);

	(void)w;
}

void
loop_threads_stop(struct loop_threads *t)
{
	pthread_mutex_lock(&t->mu);
	t->stop = true;
	pthread_cond_broadcast(&t->cv);
	pthread_mutex_unlock(&t->mu);
	for (unsigned i = 0; i < t->n; i++)
		pthread_join(t->threads[i], NULL);
	t->n = 0;
}

void
loop_threads_free(struct loop_threads *t)
{
	free(event_get_callback_arg(t->ev));
	event_free(t->ev);
	close(t->efd);
	pthread_mutex_destroy(&t->mu);
	pthread_cond_destroy(&t->cv);
}
