/*
 * slab.h - many small objects of one size, apart from malloc's heap: queued's
 * table of waiting messages. A delivery round allocates and frees much in malloc's
 * heap; the messages that stay would be scattered through it and hold every page
 * of it. Here they fill 64 KiB chunks of their own (mmap), and a chunk whose
 * objects are all freed goes back to the system. One thread.
 */
#ifndef MAILROOM_SLAB_H
#define MAILROOM_SLAB_H

#include <stddef.h>

struct slab_chunk;

struct slab {
	size_t size;                 /* of an object, rounded up to a pointer's */
	struct slab_chunk *partial;  /* chunks with a free object */
	size_t chunks;               /* chunks mapped */
};

/* slab_init - objects of size octets (at most a few KiB). */
void slab_init(struct slab *s, size_t size);
/* slab_alloc - a zeroed object, or NULL (errno ENOMEM). */
void *slab_alloc(struct slab *s);
/* slab_free - p (from slab_alloc of s, or NULL) is free again. */
void slab_free(struct slab *s, void *p);
/* slab_destroy - the chunks unmapped: free every object first (a full chunk is on no list). */
void slab_destroy(struct slab *s);

#endif
