/* deadline.c - absolute time limits for command lines, handshakes and message text. */
#include "net/deadline.h"

#include <event2/event.h>
#include <time.h>

#define USEC 1000000u

uint64_t
deadline_credit(uint64_t due, uint64_t now, uint64_t n, uint64_t limit, uint64_t rate)
{
	uint64_t cap = now + limit;

	if (rate == 0 || due >= cap)
		return due < cap ? due : cap;
	/* n * USEC / rate exactly, for any n and rate. */
	unsigned __int128 add = (unsigned __int128)n * USEC / rate;
	return add >= cap - due ? cap : due + (uint64_t)add;
}

uint64_t
deadline_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * USEC + (uint64_t)ts.tv_nsec / 1000;
}

static void
arm(struct deadline *d, uint64_t now)
{
	uint64_t left = d->due > now ? d->due - now : 0;
	struct timeval tv = { (time_t)(left / USEC), (suseconds_t)(left % USEC) };

	evtimer_add(d->ev, &tv);
}

/*
 * on_timer - the timer runs to the deadline as it was when armed; text that
 * arrived since moved the deadline on, and only the timer's firing looks at it
 * (no timer update per read).
 */
static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct deadline *d = arg;
	uint64_t now = deadline_now();

	if (d->kind == DEADLINE_NONE)
		return;
	if (now < d->due) {
		arm(d, now);
		return;
	}
	d->kind = DEADLINE_NONE;
	d->expired(d->arg);
}

int
deadline_init(struct deadline *d, struct event_base *base, void (*expired)(void *arg),
    void *arg)
{
	d->kind = DEADLINE_NONE;
	d->expired = expired;
	d->arg = arg;
	d->ev = evtimer_new(base, on_timer, d);
	return d->ev ? 0 : -1;
}

void
deadline_start(struct deadline *d, enum deadline_kind kind, uint64_t limit_s, uint64_t rate)
{
	uint64_t now = deadline_now();

	if (d->ev == NULL)
		return;
	d->kind = kind;
	d->limit = limit_s * USEC;
	d->rate = rate;
	d->due = now + d->limit;
	if (kind == DEADLINE_NONE)
		evtimer_del(d->ev);
	else
		arm(d, now);
}

void
deadline_progress(struct deadline *d, size_t n)
{
	if (d->kind == DEADLINE_DATA && n > 0)
		d->due = deadline_credit(d->due, deadline_now(), n, d->limit, d->rate);
}

void
deadline_stop(struct deadline *d)
{
	d->kind = DEADLINE_NONE;
	if (d->ev)
		evtimer_del(d->ev);
}

void
deadline_free(struct deadline *d)
{
	if (d->ev)
		event_free(d->ev);
	d->ev = NULL;
	d->kind = DEADLINE_NONE;
}
