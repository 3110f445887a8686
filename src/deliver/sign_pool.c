/* sign_pool.c - queued's signing on worker threads (sign_pool.h). */
#include "deliver/sign_pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "accounts.h"
#include "util/workpool.h"

struct sign_pool {
	struct event_base *base;
	struct workpool *work;               /* NULL until the first job */
	pthread_mutex_t mu;                  /* busy[] */
	struct accounts *acct[SIGN_THREADS]; /* a lookupd connection per worker */
	bool busy[SIGN_THREADS];
};

struct sign_task {
	struct sign_pool *p;
	struct sign_job j;
	struct buf *prefix;
	void (*done)(void *arg, int rc);
	void *arg;
	int rc;
	int err;
};

struct sign_pool *
sign_pool_new(struct event_base *base, const char *data_dir)
{
	struct sign_pool *p = calloc(1, sizeof *p);
	char err[256];

	if (p == NULL)
		return NULL;
	if (pthread_mutex_init(&p->mu, NULL) != 0) {
		free(p);
		return NULL;
	}
	p->base = base;
	for (size_t i = 0; i < SIGN_THREADS; i++) {
		if ((p->acct[i] = accounts_open_remote(data_dir, err, sizeof err)) == NULL) {
			sign_pool_free(p);
			return NULL;
		}
	}
	return p;
}

void
sign_pool_free(struct sign_pool *p)
{
	if (p == NULL)
		return;
	workpool_free(p->work);
	for (size_t i = 0; i < SIGN_THREADS; i++)
		accounts_close(p->acct[i]);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

/* take - a free handle: there are as many as workers, so one is always free. */
static size_t
take(struct sign_pool *p)
{
	size_t k = 0;

	pthread_mutex_lock(&p->mu);
	while (k + 1 < SIGN_THREADS && p->busy[k])
		k++;
	p->busy[k] = true;
	pthread_mutex_unlock(&p->mu);
	return k;
}

static void
give(struct sign_pool *p, size_t k)
{
	pthread_mutex_lock(&p->mu);
	p->busy[k] = false;
	pthread_mutex_unlock(&p->mu);
}

static void
sign_work(void *arg)
{
	struct sign_task *t = arg;
	size_t k = take(t->p);

	errno = 0;
	t->rc = outbound_sign(t->p->acct[k], &t->j, t->prefix);
	t->err = errno;
	give(t->p, k);
}

static void
sign_done(void *arg)
{
	struct sign_task *t = arg;

	errno = t->err;
	t->done(t->arg, t->rc);
	free(t);
}

int
sign_pool_submit(struct sign_pool *p, const struct sign_job *j, struct buf *prefix,
    void (*done)(void *arg, int rc), void *arg)
{
	struct sign_task *t;

	/* Made inside the role's walls: threads made before them would be outside. */
	if (p->work == NULL && (p->work = workpool_new(p->base, SIGN_THREADS)) == NULL)
		return -1;
	if ((t = calloc(1, sizeof *t)) == NULL)
		return -1;
	*t = (struct sign_task){ p, *j, prefix, done, arg, 0, 0 };
	if (workpool_submit(p->work, sign_work, sign_done, t) < 0) {
		free(t);
		return -1;
	}
	return 0;
}
