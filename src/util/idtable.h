/*
 * idtable.h - a set of objects found by a string each holds (queued's messages by
 * queue id): open addressing with linear probing, one pointer a slot and no
 * allocation per entry, at most half full.
 */
#ifndef MAILROOM_IDTABLE_H
#define MAILROOM_IDTABLE_H

#include <stddef.h>

struct idtable {
	void **v;          /* cap slots, NULL: empty */
	size_t cap;        /* 0, or a power of two */
	size_t n;
	size_t key_offset; /* where an object's NUL-terminated key is */
};

/* idtable_init - an empty table of objects whose key is at key_offset in them. */
void idtable_init(struct idtable *t, size_t key_offset);
void idtable_free(struct idtable *t); /* the objects are not freed */

void *idtable_get(const struct idtable *t, const char *key);
/* idtable_put - add obj (its key not in t yet). Returns 0, or -1 (out of memory). */
int idtable_put(struct idtable *t, void *obj);
/* idtable_del - remove the object of key; returns it, or NULL. */
void *idtable_del(struct idtable *t, const char *key);

/* Every object: for (size_t i = 0; i < t->cap; i++) if (t->v[i] != NULL) ... */

#endif
