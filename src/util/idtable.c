/* idtable.c - objects by a key they hold, open addressing (idtable.h). */
#include "util/idtable.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MIN_CAP 64

void
idtable_init(struct idtable *t, size_t key_offset)
{
	*t = (struct idtable){ NULL, 0, 0, key_offset };
}

void
idtable_free(struct idtable *t)
{
	free(t->v);
	t->v = NULL;
	t->cap = t->n = 0;
}

static const char *
key_of(const struct idtable *t, const void *obj)
{
	return (const char *)obj + t->key_offset;
}

/* hash - FNV-1a of the key. */
static size_t
hash(const char *k)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *k; k++) {
		h ^= (unsigned char)*k;
		h *= 1099511628211ULL;
	}
	return (size_t)(h ^ (h >> 32));
}

/* slot - where key is, or the empty slot where it would go. */
static size_t
slot(const struct idtable *t, const char *key)
{
	size_t mask = t->cap - 1, i = hash(key) & mask;

	while (t->v[i] != NULL && strcmp(key_of(t, t->v[i]), key) != 0)
		i = (i + 1) & mask;
	return i;
}

void *
idtable_get(const struct idtable *t, const char *key)
{
	return t->cap == 0 ? NULL : t->v[slot(t, key)];
}

static int
grow(struct idtable *t)
{
	size_t cap = t->cap ? t->cap * 2 : MIN_CAP;
	void **old = t->v, **v = calloc(cap, sizeof *v);
	size_t oldcap = t->cap;

	if (v == NULL)
		return -1;
	t->v = v;
	t->cap = cap;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i] != NULL)
			t->v[slot(t, key_of(t, old[i]))] = old[i];
	free(old);
	return 0;
}

int
idtable_put(struct idtable *t, void *obj)
{
	if ((t->n + 1) * 2 > t->cap && grow(t) < 0)
		return -1;
	t->v[slot(t, key_of(t, obj))] = obj;
	t->n++;
	return 0;
}

void *
idtable_del(struct idtable *t, const char *key)
{
	if (t->cap == 0)
		return NULL;
	size_t mask = t->cap - 1, i = slot(t, key);
	void *obj = t->v[i];

	if (obj == NULL)
		return NULL;
	t->v[i] = NULL;
	t->n--;
	/* Move back what follows in the run, so that no lookup stops at the hole. */
	for (size_t j = (i + 1) & mask; t->v[j] != NULL; j = (j + 1) & mask) {
		size_t home = hash(key_of(t, t->v[j])) & mask;
		/* t->v[j] may move to i when its home is not in (i, j], cyclically. */
		if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
			t->v[i] = t->v[j];
			t->v[j] = NULL;
			i = j;
		}
	}
	return obj;
}
