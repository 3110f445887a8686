/* dkim_vpool.c - signature checks on the threads of a work pool (see dkim_vpool.h). */
#include "dkim/dkim_vpool.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dkim/dkim_vkeycache.h"
#include "util/loop_threads.h"
#include "util/workpool.h"

#define WHY_MAX 96

struct dkim_vpool {
	struct workpool *work;
	pthread_mutex_t mu;     /* guards caches and checks */
	struct dkim_vkeycache *caches[LOOP_THREADS_MAX];
	size_t ncaches;
	unsigned long checks;
};

/* One check; a single allocation with the records and the data after it. */
struct dkim_vjob {
	struct dkim_vpool *pool;
	struct dkim_sig sig;
	struct dns_rdata rr;
	const void *data;
	size_t len;
	/* the thread's answer */
	enum dkim_status st;
	bool testing;
	char why[WHY_MAX];
	/* the loop's: NULL once cancelled */
	dkim_vpool_fn done;
	void *arg;
};

/* The keys of the thread this runs on; a worker belongs to one pool for its life. */
static _Thread_local struct dkim_vkeycache *thread_keys;

static struct dkim_vkeycache *
keys_of_thread(struct dkim_vpool *p)
{
	if (thread_keys != NULL)
		return thread_keys;
	struct dkim_vkeycache *kc = dkim_vkeycache_new();
	if (kc == NULL)
		return NULL; /* the key is read for this check alone */
	pthread_mutex_lock(&p->mu);
	if (p->ncaches < LOOP_THREADS_MAX) {
		p->caches[p->ncaches++] = kc;
		thread_keys = kc;
	}
	pthread_mutex_unlock(&p->mu);
	if (thread_keys == NULL)
		dkim_vkeycache_free(kc);
	return thread_keys;
}

static void
check_work(void *arg)
{
	struct dkim_vjob *j = arg;
	struct dkim_vpool *p = j->pool;

	j->st = dkim_key_answer(&j->sig, &j->rr, keys_of_thread(p), j->data, j->len, &j->testing,
	    j->why, sizeof j->why);
	pthread_mutex_lock(&p->mu);
	p->checks++;
	pthread_mutex_unlock(&p->mu);
}

static void
check_done(void *arg)
{
	struct dkim_vjob *j = arg;

	if (j->done != NULL)
		j->done(j->arg, j->st, j->testing, j->why);
	free(j);
}

struct dkim_vpool *
dkim_vpool_new(struct event_base *base, unsigned nthreads)
{
	struct dkim_vpool *p = calloc(1, sizeof *p);

	if (p == NULL)
		return NULL;
	pthread_mutex_init(&p->mu, NULL);
	if ((p->work = workpool_new(base, nthreads)) == NULL) {
		pthread_mutex_destroy(&p->mu);
		free(p);
		return NULL;
	}
	return p;
}

struct dkim_vjob *
dkim_vpool_check(struct dkim_vpool *p, const struct dkim_sig *sig, const struct dns_rdata *rr,
    const void *data, size_t len, dkim_vpool_fn done, void *arg)
{
	size_t bytes = len;
	for (size_t i = 0; i < rr->n; i++)
		bytes += (size_t)rr->len[i];
	size_t size = sizeof(struct dkim_vjob) + rr->n * (sizeof(uint8_t *) + sizeof(int)) + bytes;
	struct dkim_vjob *j = malloc(size);

	if (j == NULL)
		return NULL;
	memset(j, 0, sizeof *j);
	j->pool = p;
	j->sig = *sig;
	const uint8_t **v = (const uint8_t **)(j + 1);
	int *lens = (int *)(v + rr->n);
	uint8_t *at = (uint8_t *)(lens + rr->n);
	for (size_t i = 0; i < rr->n; i++) {
		memcpy(at, rr->v[i], (size_t)rr->len[i]);
		v[i] = at;
		lens[i] = rr->len[i];
		at += rr->len[i];
	}
	j->rr = (struct dns_rdata){ v, lens, rr->n, rr->ttl, rr->secure };
	if (len > 0)
		memcpy(at, data, len);
	j->data = at;
	j->len = len;
	j->done = done;
	j->arg = arg;
	if (workpool_submit(p->work, check_work, check_done, j) < 0) {
		free(j);
		return NULL;
	}
	return j;
}

void
dkim_vjob_cancel(struct dkim_vjob *j)
{
	if (j != NULL)
		j->done = NULL;
}

unsigned long
dkim_vpool_checks(struct dkim_vpool *p)
{
	pthread_mutex_lock(&p->mu);
	unsigned long n = p->checks;
	pthread_mutex_unlock(&p->mu);
	return n;
}

void
dkim_vpool_free(struct dkim_vpool *p)
{
	if (p == NULL)
		return;
	workpool_free(p->work);
	for (size_t i = 0; i < p->ncaches; i++)
		dkim_vkeycache_free(p->caches[i]);
	pthread_mutex_destroy(&p->mu);
	free(p);
}
