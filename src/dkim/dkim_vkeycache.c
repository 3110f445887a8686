/* dkim_vkeycache.c - parsed public DKIM keys kept between messages (dkim_vkeycache.h). */
#include "dkim/dkim_vkeycache.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct vk_entry {
	struct dkim_pubkey *pk; /* NULL: the slot is free */
	char *id;               /* d=, NUL, s=, NUL, the record's text */
	size_t id_len;
	uint64_t hash;          /* of id: most slots are passed over on it alone */
	int64_t expires;        /* fresh while now < expires */
	uint64_t used;          /* the cache's clock at the last use */
};

struct dkim_vkeycache {
	struct vk_entry v[DKIM_VKEYCACHE_SIZE];
	uint64_t clock;
	unsigned long parses;
};

struct dkim_vkeycache *
dkim_vkeycache_new(void)
{
	return calloc(1, sizeof(struct dkim_vkeycache));
}

static void
drop(struct vk_entry *e)
{
	dkim_pubkey_free(e->pk);
	free(e->id);
	memset(e, 0, sizeof *e);
}

void
dkim_vkeycache_free(struct dkim_vkeycache *kc)
{
	if (kc == NULL)
		return;
	for (size_t i = 0; i < DKIM_VKEYCACHE_SIZE; i++)
		drop(&kc->v[i]);
	free(kc);
}

int64_t
dkim_vkeycache_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

/* make_id - d, s and rec as an entry's id (malloc'd), its length in *n. */
static char *
make_id(const char *d, const char *s, const char *rec, size_t len, size_t *n)
{
	size_t dl = strlen(d) + 1, sl = strlen(s) + 1;
	char *id = malloc(dl + sl + len);

	if (id == NULL)
		return NULL;
	memcpy(id, d, dl);
	memcpy(id + dl, s, sl);
	memcpy(id + dl + sl, rec, len);
	*n = dl + sl + len;
	return id;
}

/* fnv1a - FNV-1a, 64 bits: a cheap first test, the whole id is compared after it. */
static uint64_t
fnv1a(const char *p, size_t n)
{
	uint64_t h = 14695981039346656037ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 1099511628211ULL;
	}
	return h;
}

/* worse - whether slot a gives way before slot b: free, then stale, then least recently used. */
static bool
worse(const struct vk_entry *a, const struct vk_entry *b, int64_t now)
{
	if ((a->pk == NULL) != (b->pk == NULL))
		return a->pk == NULL;
	bool a_stale = a->expires <= now, b_stale = b->expires <= now;
	if (a_stale != b_stale)
		return a_stale;
	return a->used < b->used;
}

struct dkim_pubkey *
dkim_vkeycache_get(struct dkim_vkeycache *kc, const char *d, const char *s, const char *rec,
    size_t len, const struct dkim_keyrec *k, int ttl, int64_t now)
{
	size_t id_len = 0;
	char *id = make_id(d, s, rec, len, &id_len);
	struct vk_entry *victim = &kc->v[0];

	if (id == NULL)
		return NULL;
	uint64_t h = fnv1a(id, id_len);
	kc->clock++;
	for (size_t i = 0; i < DKIM_VKEYCACHE_SIZE; i++) {
		struct vk_entry *e = &kc->v[i];
		if (e->pk != NULL && e->hash == h && e->id_len == id_len &&
		    memcmp(e->id, id, id_len) == 0) {
			if (e->expires > now) {
				e->used = kc->clock;
				free(id);
				return e->pk;
			}
			victim = e; /* the same record again after its TTL: made anew in its place */
			break;
		}
		if (worse(e, victim, now))
			victim = e;
	}
	struct dkim_pubkey *pk = dkim_pubkey_new(k);
	kc->parses++;
	if (pk == NULL) {
		free(id);
		return NULL; /* a bad key is not kept: each message reports it */
	}
	drop(victim);
	int64_t age = ttl < 0 ? 0 : ttl > DKIM_VKEYCACHE_MAX_AGE ? DKIM_VKEYCACHE_MAX_AGE : ttl;
	*victim = (struct vk_entry){ pk, id, id_len, h, now + age, kc->clock };
	return pk;
}

unsigned long
dkim_vkeycache_parses(const struct dkim_vkeycache *kc)
{
	return kc->parses;
}

size_t
dkim_vkeycache_count(const struct dkim_vkeycache *kc)
{
	size_t n = 0;

	for (size_t i = 0; i < DKIM_VKEYCACHE_SIZE; i++)
		n += kc->v[i].pk != NULL;
	return n;
}
