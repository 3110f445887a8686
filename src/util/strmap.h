/* strmap.h - a hash map from NUL-terminated strings (copied) to pointers. */
#ifndef MAILROOM_STRMAP_H
#define MAILROOM_STRMAP_H

#include <stddef.h>

struct strmap_entry {
	struct strmap_entry *next;
	void *value;
	char key[]; /* NUL-terminated */
};

struct strmap {
	struct strmap_entry **buckets;
	size_t nbuckets; /* a power of two */
	size_t n;
};

void *strmap_get(const struct strmap *m, const char *key);
/* strmap_put - set key (replacing a value). Returns 0 or -1 (out of memory). */
int strmap_put(struct strmap *m, const char *key, void *value);
/* strmap_del - remove key; returns its value or NULL. */
void *strmap_del(struct strmap *m, const char *key);
/* strmap_each - call fn for every entry; fn may not change the map. */
void strmap_each(const struct strmap *m, void (*fn)(const char *key, void *value, void *arg), void *arg);
void strmap_free(struct strmap *m); /* values are not freed */

#endif
