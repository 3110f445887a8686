/* strmap.c - string-keyed hash map with chaining; grows at load factor 1. */
#include "util/strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* FNV-1a: short keys (ids, addresses), no adversary control over bucket choice matters here
 * beyond chain length, which the caller bounds (connections, queue size). */
static size_t
hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return (size_t)(h ^ (h >> 32));
}

static struct strmap_entry **
slot(const struct strmap *m, const char *key)
{
	if (m->nbuckets == 0)
		return NULL;
	struct strmap_entry **pp = &m->buckets[hash(key) & (m->nbuckets - 1)];
	while (*pp && strcmp((*pp)->key, key) != 0)
		pp = &(*pp)->next;
	return pp;
}

void *
strmap_get(const struct strmap *m, const char *key)
{
	struct strmap_entry **pp = slot(m, key);
	return pp && *pp ? (*pp)->value : NULL;
}

static int
grow(struct strmap *m)
{
	size_t nb = m->nbuckets ? m->nbuckets * 2 : 16;
	struct strmap_entry **b = calloc(nb, sizeof *b);
	if (b == NULL)
		return -1;
	for (size_t i = 0; i < m->nbuckets; i++) {
		struct strmap_entry *e = m->buckets[i], *next;
		for (; e; e = next) {
			next = e->next;
			size_t j = hash(e->key) & (nb - 1);
			e->next = b[j];
			b[j] = e;
		}
	}
	free(m->buckets);
	m->buckets = b;
	m->nbuckets = nb;
	return 0;
}

int
strmap_put(struct strmap *m, const char *key, void *value)
{
	struct strmap_entry **pp = slot(m, key);
	if (pp && *pp) {
		(*pp)->value = value;
		return 0;
	}
	if (m->n >= m->nbuckets && grow(m) < 0)
		return -1;
	size_t len = strlen(key);
	struct strmap_entry *e = malloc(sizeof *e + len + 1);
	if (e == NULL)
		return -1;
	memcpy(e->key, key, len + 1);
	e->value = value;
	pp = &m->buckets[hash(key) & (m->nbuckets - 1)];
	e->next = *pp;
	*pp = e;
	m->n++;
	return 0;
}

void *
strmap_del(struct strmap *m, const char *key)
{
	struct strmap_entry **pp = slot(m, key);
	if (pp == NULL || *pp == NULL)
		return NULL;
	struct strmap_entry *e = *pp;
	void *v = e->value;
	*pp = e->next;
	free(e);
	m->n--;
	return v;
}

void
strmap_each(const struct strmap *m, void (*fn)(const char *, void *, void *), void *arg)
{
	for (size_t i = 0; i < m->nbuckets; i++)
		for (struct strmap_entry *e = m->buckets[i]; e; e = e->next)
			fn(e->key, e->value, arg);
}

void
strmap_free(struct strmap *m)
{
	for (size_t i = 0; i < m->nbuckets; i++) {
		struct strmap_entry *e = m->buckets[i], *next;
		for (; e; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(m->buckets);
	memset(m, 0, sizeof *m);
}
