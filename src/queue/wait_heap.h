/*
 * wait_heap.h - the messages waiting for their next try, earliest first: a binary
 * min-heap of struct qmsg by next_try, each knowing its place (heap_at), so that
 * a wake takes what is due without looking at the rest of the queue and a message
 * leaves the heap from anywhere in it (due early by a release, deleted, held).
 */
#ifndef MAILROOM_WAIT_HEAP_H
#define MAILROOM_WAIT_HEAP_H

#include <stddef.h>

struct qmsg;

struct wait_heap {
	struct qmsg **v;
	size_t n, cap;
};

/* wait_heap_add - m (not in it) waits. Returns 0, or -1 when out of memory. */
int wait_heap_add(struct wait_heap *h, struct qmsg *m);
/* wait_heap_del - m no longer waits (nothing when it is not in the heap). */
void wait_heap_del(struct wait_heap *h, struct qmsg *m);
/* wait_heap_top - the message with the earliest next try, or NULL. */
struct qmsg *wait_heap_top(const struct wait_heap *h);
void wait_heap_free(struct wait_heap *h);

#endif
