/* dkim_vkeycache.c - parsed public DKIM keys kept between messages (dkim_vkeycache.h). */
#include "dkim/dkim_vkeycache.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/lru_slots.h"

struct dkim_vkeycache {
	struct lru_slots slots; /* d=, NUL, s=, NUL, the record's text -> struct dkim_pubkey */
	unsigned long parses;
};

static void
free_pubkey(void *pk)
{
	dkim_pubkey_free(pk);
}

struct dkim_vkeycache *
dkim_vkeycache_new(void)
{
	struct dkim_vkeycache *kc = calloc(1, sizeof *kc);

	if (kc != NULL && lru_slots_init(&kc->slots, DKIM_VKEYCACHE_SIZE, free_pubkey) < 0) {
		free(kc);
		return NULL;
	}
	return kc;
}

void
dkim_vkeycache_free(struct dkim_vkeycache *kc)
{
	if (kc == NULL)
		return;
	lru_slots_free(&kc->slots);
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

struct dkim_pubkey *
dkim_vkeycache_get(struct dkim_vkeycache *kc, const char *d, const char *s, const char *rec,
    size_t len, const struct dkim_keyrec *k, int ttl, int64_t now)
{
	size_t id_len = 0;
	char *id = make_id(d, s, rec, len, &id_len);
	struct lru_slot *victim;
	struct dkim_pubkey *pk;

	if (id == NULL)
		return NULL;
	if ((pk = lru_slots_find(&kc->slots, id, id_len, now, &victim)) == NULL) {
		int64_t age = ttl < 0 ? 0 : ttl > DKIM_VKEYCACHE_MAX_AGE ? DKIM_VKEYCACHE_MAX_AGE : ttl;
		pk = dkim_pubkey_new(k);
		kc->parses++;
		/* A bad key is not kept: each message reports it. */
		if (pk != NULL && lru_slots_fill(&kc->slots, victim, id, id_len, pk, now + age) < 0)
			pk = NULL;
	}
	free(id);
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
	return lru_slots_count(&kc->slots);
}
