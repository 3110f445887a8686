/*
 * rate_limit.c - per-minute counts per client network.
 */
#include "net/rate_limit.h"

#include <stdlib.h>
#include <string.h>

struct rate_entry {
	time_t start;   /* the first event of the minute being counted */
	unsigned count;
};

struct stale {
	time_t now;
	char **keys;
	size_t n, cap;
};

static void
collect(const char *key, void *value, void *arg)
{
	struct stale *s = arg;
	const struct rate_entry *e = value;

	if (e->start + RATE_WINDOW > s->now || s->n == s->cap)
		return;
	if ((s->keys[s->n] = strdup(key)) != NULL)
		s->n++;
}

static void
free_value(const char *key, void *value, void *arg)
{
	free(value);
}

/* purge - drop the networks whose minute is over; if that is not enough, all. */
static void
purge(struct rate_limit *r, time_t now)
{
	struct stale s = { now, calloc(r->per_key.n ? r->per_key.n : 1, sizeof(char *)), 0,
		r->per_key.n };

	if (s.keys != NULL) {
		strmap_each(&r->per_key, collect, &s);
		for (size_t i = 0; i < s.n; i++) {
			free(strmap_del(&r->per_key, s.keys[i]));
			free(s.keys[i]);
		}
		free(s.keys);
	}
	if (r->per_key.n >= RATE_KEYS_MAX)
		rate_limit_free(r);
}

bool
rate_limit_take(struct rate_limit *r, const char *key, unsigned limit, time_t now)
{
	if (limit == 0)
		return true;
	struct rate_entry *e = strmap_get(&r->per_key, key);
	if (e == NULL) {
		if (r->per_key.n >= RATE_KEYS_MAX)
			purge(r, now);
		if ((e = calloc(1, sizeof *e)) == NULL)
			return true; /* out of memory: not a reason to refuse mail */
		if (strmap_put(&r->per_key, key, e) < 0) {
			free(e);
			return true;
		}
		e->start = now;
	}
	if (now >= e->start + RATE_WINDOW || now < e->start) {
		e->start = now;
		e->count = 0;
	}
	if (e->count >= limit)
		return false;
	e->count++;
	return true;
}

void
rate_limit_free(struct rate_limit *r)
{
	strmap_each(&r->per_key, free_value, NULL);
	strmap_free(&r->per_key);
}
