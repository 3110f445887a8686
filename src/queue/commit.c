/* commit.c - group commit on a thread: one syncfs() for every file written meanwhile. */
#include "queue/commit.h"

#include <errno.h>
#include <stdbool.h>
#include <event2/event.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "util/log.h"

struct commit_req {
	commit_done_fn fn;
	void *arg;
	int error;
};

struct req_list {
	struct commit_req *v;
	size_t n, cap;
};

struct committer {
	int dirfd;
	int efd; /* the thread tells the loop that requests are done */
	struct event *ev;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct req_list pending, done;
	bool stop;
};

static int
list_push(struct req_list *l, struct commit_req r)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 32;
		struct commit_req *v = realloc(l->v, cap * sizeof *v);
		if (v == NULL)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = r;
	return 0;
}

static void *
commit_thread(void *arg)
{
	struct committer *c = arg;
	struct req_list work = { 0 };

	pthread_mutex_lock(&c->mu);
	for (;;) {
		while (c->pending.n == 0 && !c->stop)
			pthread_cond_wait(&c->cv, &c->mu);
		if (c->pending.n == 0 && c->stop)
			break;
		/* Take the whole batch: everything written before this sync is covered by it. */
		struct req_list t = work;
		work = c->pending;
		c->pending = t;
		c->pending.n = 0;
		pthread_mutex_unlock(&c->mu);

		int err = syncfs(c->dirfd) < 0 ? errno : 0;
		if (err)
			log_err("syncfs: %s", strerror(err));

		pthread_mutex_lock(&c->mu);
		for (size_t i = 0; i < work.n; i++) {
			work.v[i].error = err;
			if (list_push(&c->done, work.v[i]) < 0)
				abort(); /* cannot report a commit: better to die than to lose it */
		}
		work.n = 0;
		uint64_t one = 1;
		ssize_t w = write(c->efd, &one, sizeof one);
		(void)w;
	}
	pthread_mutex_unlock(&c->mu);
	free(work.v);
	return NULL;
}

/* run_done - on the loop: run the callbacks of finished requests. */
static void
run_done(struct committer *c)
{
	struct req_list done;

	pthread_mutex_lock(&c->mu);
	done = c->done;
	memset(&c->done, 0, sizeof c->done);
	pthread_mutex_unlock(&c->mu);
	for (size_t i = 0; i < done.n; i++)
		done.v[i].fn(done.v[i].arg, done.v[i].error);
	free(done.v);
}

static void
on_efd(evutil_socket_t fd, short what, void *arg)
{
	uint64_t v;
	ssize_t r = read(fd, &v, sizeof v);
	(void)r;
	run_done(arg);
}

struct committer *
committer_new(struct event_base *base, const char *dir)
{
	struct committer *c = calloc(1, sizeof *c);
	if (c == NULL)
		return NULL;
	c->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	c->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (c->dirfd < 0 || c->efd < 0)
		goto fail;
	c->ev = event_new(base, c->efd, EV_READ | EV_PERSIST, on_efd, c);
	if (c->ev == NULL || event_add(c->ev, NULL) < 0)
		goto fail;
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	if (pthread_create(&c->thread, NULL, commit_thread, c) != 0) {
		pthread_mutex_destroy(&c->mu);
		pthread_cond_destroy(&c->cv);
		goto fail;
	}
	return c;
fail:
	if (c->ev)
		event_free(c->ev);
	if (c->dirfd >= 0)
		close(c->dirfd);
	if (c->efd >= 0)
		close(c->efd);
	free(c);
	return NULL;
}

int
committer_submit(struct committer *c, commit_done_fn fn, void *arg)
{
	struct commit_req r = { fn, arg, 0 };
	pthread_mutex_lock(&c->mu);
	int rc = list_push(&c->pending, r);
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	return rc;
}

void
committer_free(struct committer *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->mu);
	c->stop = true;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	pthread_join(c->thread, NULL);
	run_done(c);
	event_free(c->ev);
	close(c->efd);
	close(c->dirfd);
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cv);
	free(c->pending.v);
	free(c->done.v);
	free(c);
}
