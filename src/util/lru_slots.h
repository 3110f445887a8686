/*
 * lru_slots.h - a small cache of a fixed number of slots, each a value found by a
 * byte string (its key): the parsed DKIM keys of lookupd and smtpd, the signing
 * selectors of queued's sign threads. An entry can
 * go stale at a time of the caller's clock; a new one takes a free slot, else a
 * stale one, else the least recently used. One thread at a time. Small enough that
 * a lookup looks at every slot (a 64-bit hash of the key first).
 */
#ifndef MAILROOM_LRU_SLOTS_H
#define MAILROOM_LRU_SLOTS_H

#include <stddef.h>
#include <stdint.h>

#define LRU_NEVER INT64_MAX /* an expiry for entries that do not go stale */

struct lru_slot {
	void *value;     /* NULL: the slot is free */
	char *key;
	size_t key_len;
	uint64_t hash;
	int64_t expires; /* fresh while now < expires */
	uint64_t used;   /* the cache's clock at the last use */
};

struct lru_slots {
	struct lru_slot *v;
	size_t n;
	uint64_t clock;
	void (*free_value)(void *value);
};

/* lru_slots_init - n free slots; free_value frees what they hold. 0, or -1 (out of memory). */
int lru_slots_init(struct lru_slots *c, size_t n, void (*free_value)(void *value));
/* lru_slots_free - every value freed (c may be zeroed, never initialised). */
void lru_slots_free(struct lru_slots *c);

/*
 * lru_slots_find - the value kept for key (len octets), fresh at now, or NULL; then
 * *victim is the slot a new entry for key is to take (key's own stale slot when
 * there is one).
 */
void *lru_slots_find(struct lru_slots *c, const void *key, size_t len, int64_t now,
    struct lru_slot **victim);

/*
 * lru_slots_fill - value for key into victim (from lru_slots_find), fresh until
 * expires; what victim held is freed. Returns 0, or -1 when out of memory (value
 * freed then too).
 */
int lru_slots_fill(struct lru_slots *c, struct lru_slot *victim, const void *key, size_t len,
    void *value, int64_t expires);

/* lru_slots_drop - key's entry, if there is one, freed and its slot free again. */
void lru_slots_drop(struct lru_slots *c, const void *key, size_t len);

/* lru_slots_count - the slots in use. */
size_t lru_slots_count(const struct lru_slots *c);

#endif
