/* wait_heap.c - waiting messages by next try, a binary min-heap (wait_heap.h). */
#include "queue/wait_heap.h"

#include <stdint.h>
#include <stdlib.h>

#include "queue/queued.h"

static void
place(struct wait_heap *h, size_t i, struct qmsg *m)
{
	h->v[i] = m;
	m->heap_at = (uint32_t)(i + 1);
}

static void
up(struct wait_heap *h, size_t i)
{
	struct qmsg *m = h->v[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (h->v[parent]->next_try <= m->next_try)
			break;
		place(h, i, h->v[parent]);
		i = parent;
	}
	place(h, i, m);
}

static void
down(struct wait_heap *h, size_t i)
{
	struct qmsg *m = h->v[i];

	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= h->n)
			break;
		if (c + 1 < h->n && h->v[c + 1]->next_try < h->v[c]->next_try)
			c++;
		if (m->next_try <= h->v[c]->next_try)
			break;
		place(h, i, h->v[c]);
		i = c;
	}
	place(h, i, m);
}

int
wait_heap_add(struct wait_heap *h, struct qmsg *m)
{
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 256;
		if (cap > UINT32_MAX)
			return -1; /* heap_at holds a place */
		struct qmsg **v = realloc(h->v, cap * sizeof *v);
		if (v == NULL)
			return -1;
		h->v = v;
		h->cap = cap;
	}
	h->v[h->n++] = m;
	up(h, h->n - 1);
	return 0;
}

void
wait_heap_del(struct wait_heap *h, struct qmsg *m)
{
	if (m->heap_at == 0)
		return;
	size_t i = m->heap_at - 1;
	struct qmsg *last = h->v[--h->n];

	m->heap_at = 0;
	if (i < h->n) {
		place(h, i, last);
		up(h, i);
		down(h, last->heap_at - 1);
	}
	/* A drained backlog gives its slots back. */
	if (h->cap > 256 && h->n < h->cap / 4) {
		struct qmsg **v = realloc(h->v, h->cap / 2 * sizeof *v);
		if (v != NULL) {
			h->v = v;
			h->cap /= 2;
		}
	}
}

struct qmsg *
wait_heap_top(const struct wait_heap *h)
{
	return h->n > 0 ? h->v[0] : NULL;
}

void
wait_heap_free(struct wait_heap *h)
{
	free(h->v);
	*h = (struct wait_heap){ 0 };
}
