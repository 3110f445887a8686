/*
 * metrics.c - the counters' region (metrics.h): the private one every process
 * starts with, the shared one the supervisor maps before it forks, and the few
 * helpers too long to be inline.
 */
#include "metrics/metrics.h"

#include <string.h>
#include <sys/mman.h>
#include <time.h>

/* Another process increments the same words: only a lock-free atomic is one instruction. */
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "64-bit atomics must be lock-free");
_Static_assert(sizeof(struct metrics) == sizeof(struct metrics_snap),
    "the region and its snapshot must be the same words");
_Static_assert(sizeof(_Atomic uint64_t) == sizeof(uint64_t), "an atomic word is a word");

static struct metrics private_region;
struct metrics *metrics = &private_region;

int
metrics_map(void)
{
	void *p = mmap(NULL, sizeof(struct metrics), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return -1;
	/* Fresh anonymous pages are zero: every counter starts at 0. */
	metrics = p;
	MX_SET(start_time, time(NULL));
	return 0;
}

void
metrics_snapshot(struct metrics_snap *out)
{
	const _Atomic uint64_t *src = (const _Atomic uint64_t *)metrics;
	uint64_t *dst = (uint64_t *)out;

	for (size_t i = 0; i < sizeof *out / sizeof *dst; i++)
		dst[i] = atomic_load_explicit(&src[i], memory_order_relaxed);
}

void
metrics_auth_failed(const char *svc)
{
	enum mx_auth a = MX_AUTH_WEB;

	if (strcmp(svc, "smtp") == 0)
		a = MX_AUTH_SMTP;
	else if (strcmp(svc, "submission") == 0 || strcmp(svc, "submissions") == 0)
		a = MX_AUTH_SUBMISSION;
	else if (strcmp(svc, "pop3") == 0 || strcmp(svc, "pop3s") == 0)
		a = MX_AUTH_POP3;
	MX_INC(auth_failures[a]);
}

unsigned
metrics_batch_bucket(uint64_t n)
{
	unsigned b = 0;

	/* Bucket b holds 2^(b-1) < n <= 2^b; the last, everything larger. */
	while (b < MX_BATCH_BUCKETS - 1 && n > ((uint64_t)1 << b))
		b++;
	return b;
}

void
metrics_batch(uint64_t n)
{
	MX_INC(batch_buckets[metrics_batch_bucket(n)]);
	MX_ADD(batch_sum, n);
	MX_INC(batch_count);
}
