/* lru_slots.c - a small cache of fixed slots, least recently used first out (lru_slots.h). */
#include "util/lru_slots.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

int
lru_slots_init(struct lru_slots *c, size_t n, void (*free_value)(void *value))
{
	*c = (struct lru_slots){ calloc(n, sizeof *c->v), n, 0, free_value };
	return c->v != NULL ? 0 : -1;
}

static void
drop(struct lru_slots *c, struct lru_slot *s)
{
	if (s->value != NULL)
		c->free_value(s->value);
	free(s->key);
	memset(s, 0, sizeof *s);
}

void
lru_slots_free(struct lru_slots *c)
{
	for (size_t i = 0; c->v != NULL && i < c->n; i++)
		drop(c, &c->v[i]);
	free(c->v);
	c->v = NULL;
}

/* fnv1a - FNV-1a, 64 bits: a cheap first test, the whole key is compared after it. */
static uint64_t
fnv1a(const unsigned char *p, size_t n)
{
	uint64_t h = 14695981039346656037ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 1099511628211ULL;
	}
	return h;
}

/* worse - whether slot a gives way before slot b: free, then stale, then least recently used. */
static bool
worse(const struct lru_slot *a, const struct lru_slot *b, int64_t now)
{
	if ((a->value == NULL) != (b->value == NULL))
		return a->value == NULL;
	bool a_stale = a->expires <= now, b_stale = b->expires <= now;
	if (a_stale != b_stale)
		return a_stale;
	return a->used < b->used;
}

void *
lru_slots_find(struct lru_slots *c, const void *key, size_t len, int64_t now,
    struct lru_slot **victim)
{
	uint64_t h = fnv1a(key, len);

	*victim = &c->v[0];
	c->clock++;
	for (size_t i = 0; i < c->n; i++) {
		struct lru_slot *s = &c->v[i];
		if (s->value != NULL && s->hash == h && s->key_len == len &&
		    memcmp(s->key, key, len) == 0) {
			if (s->expires > now) {
				s->used = c->clock;
				return s->value;
			}
			*victim = s; /* the same key after it went stale: made anew in its place */
			return NULL;
		}
		if (worse(s, *victim, now))
			*victim = s;
	}
	return NULL;
}

int
lru_slots_fill(struct lru_slots *c, struct lru_slot *victim, const void *key, size_t len,
    void *value, int64_t expires)
{
	char *copy = malloc(len ? len : 1);

	if (copy == NULL) {
		c->free_value(value);
		return -1;
	}
	memcpy(copy, key, len);
	drop(c, victim);
	*victim = (struct lru_slot){ value, copy, len, fnv1a(key, len), expires, c->clock };
	return 0;
}

void
lru_slots_drop(struct lru_slots *c, const void *key, size_t len)
{
	uint64_t h = fnv1a(key, len);

	for (size_t i = 0; i < c->n; i++) {
		struct lru_slot *s = &c->v[i];
		if (s->value != NULL && s->hash == h && s->key_len == len &&
		    memcmp(s->key, key, len) == 0)
			drop(c, s);
	}
}

size_t
lru_slots_count(const struct lru_slots *c)
{
	size_t n = 0;

	for (size_t i = 0; i < c->n; i++)
		n += c->v[i].value != NULL;
	return n;
}
