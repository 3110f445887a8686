/* slab.c - objects of one size in mmap'd chunks of their own (slab.h). */
#include "util/slab.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#define CHUNK (64 * 1024) /* a chunk is aligned to its size: an object finds its chunk */

struct slab_chunk {
	struct slab_chunk *prev, *next; /* in s->partial while it has a free object */
	bool listed;
	void *free;                     /* its free objects, each holding the next */
	size_t live;
	char *fresh, *end;              /* objects never handed out yet */
};

struct free_obj {
	struct free_obj *next;
};

void
slab_init(struct slab *s, size_t size)
{
	size_t a = sizeof(void *);

	if (size < sizeof(struct free_obj))
		size = sizeof(struct free_obj);
	*s = (struct slab){ (size + a - 1) / a * a, NULL, 0 };
}

static void
list_add(struct slab *s, struct slab_chunk *c)
{
	c->prev = NULL;
	c->next = s->partial;
	if (s->partial != NULL)
		s->partial->prev = c;
	s->partial = c;
	c->listed = true;
}

static void
list_del(struct slab *s, struct slab_chunk *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		s->partial = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	c->listed = false;
}

/* chunk_new - a chunk aligned to CHUNK: twice as much mapped, the rest unmapped. */
static struct slab_chunk *
chunk_new(struct slab *s)
{
	char *p = mmap(NULL, 2 * CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return errno = ENOMEM, NULL;
	char *c = (char *)(((uintptr_t)p + CHUNK - 1) & ~(uintptr_t)(CHUNK - 1));
	if (c > p)
		munmap(p, (size_t)(c - p));
	if (c + CHUNK < p + 2 * CHUNK)
		munmap(c + CHUNK, (size_t)(p + 2 * CHUNK - (c + CHUNK)));
	struct slab_chunk *h = (struct slab_chunk *)c;
	size_t head = (sizeof *h + s->size - 1) / s->size * s->size;
	*h = (struct slab_chunk){ .fresh = c + head, .end = c + CHUNK };
	s->chunks++;
	list_add(s, h);
	return h;
}

void *
slab_alloc(struct slab *s)
{
	struct slab_chunk *c = s->partial;
	void *p;

	if (c == NULL && (c = chunk_new(s)) == NULL)
		return NULL;
	if (c->free != NULL) {
		p = c->free;
		c->free = ((struct free_obj *)p)->next;
	} else {
		p = c->fresh; /* pages the system gives on first touch */
		c->fresh += s->size;
	}
	c->live++;
	if (c->free == NULL && c->fresh + s->size > c->end)
		list_del(s, c);
	memset(p, 0, s->size);
	return p;
}

void
slab_free(struct slab *s, void *p)
{
	if (p == NULL)
		return;
	struct slab_chunk *c = (struct slab_chunk *)((uintptr_t)p & ~(uintptr_t)(CHUNK - 1));
	((struct free_obj *)p)->next = c->free;
	c->free = p;
	c->live--;
	if (!c->listed)
		list_add(s, c);
	/* Empty: back to the system, unless it is the only chunk with room. */
	if (c->live == 0 && (c->prev != NULL || c->next != NULL)) {
		list_del(s, c);
		munmap(c, CHUNK);
		s->chunks--;
	}
}

void
slab_destroy(struct slab *s)
{
	/*
	 * Only the partial list is known; full chunks are found through nothing.
	 * Callers free their objects first (queued does at its end), so that every
	 * chunk is partial or gone by now.
	 */
	while (s->partial != NULL) {
		struct slab_chunk *c = s->partial;
		list_del(s, c);
		munmap(c, CHUNK);
		s->chunks--;
	}
}
