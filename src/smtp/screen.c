/*
 * screen.c - the screening verdicts per client address, with their expiry.
 */
#include "smtp/screen.h"

#include <stdlib.h>
#include <string.h>

struct screen_entry {
	enum screen_verdict v;
	time_t until;
};

enum screen_verdict
screen_lookup(struct screen *sc, const char *ip, time_t now)
{
	struct screen_entry *e = strmap_get(&sc->seen, ip);

	if (e == NULL)
		return SCREEN_UNKNOWN;
	if (e->until <= now) {
		free(strmap_del(&sc->seen, ip));
		return SCREEN_UNKNOWN;
	}
	return e->v;
}

/* What a purge collects: the keys of expired entries (strmap_each may not change the map). */
struct purge {
	time_t now;
	char **keys;
	size_t n, cap;
};

static void
collect(const char *key, void *value, void *arg)
{
	struct purge *p = arg;
	const struct screen_entry *e = value;

	if (e->until > p->now || p->n == p->cap)
		return;
	if ((p->keys[p->n] = strdup(key)) != NULL)
		p->n++;
}

static void
free_value(const char *key, void *value, void *arg)
{
	free(value);
}

static void
purge(struct screen *sc, time_t now)
{
	struct purge p = { now, calloc(sc->seen.n, sizeof(char *)), 0, sc->seen.n };

	if (p.keys != NULL) {
		strmap_each(&sc->seen, collect, &p);
		for (size_t i = 0; i < p.n; i++) {
			free(strmap_del(&sc->seen, p.keys[i]));
			free(p.keys[i]);
		}
		free(p.keys);
	}
	if (sc->seen.n >= SCREEN_MAX)
		screen_free(sc);
}

void
screen_remember(struct screen *sc, const char *ip, enum screen_verdict v, time_t now)
{
	struct screen_entry *e = strmap_get(&sc->seen, ip);

	if (e == NULL) {
		if (sc->seen.n >= SCREEN_MAX)
			purge(sc, now);
		if ((e = malloc(sizeof *e)) == NULL)
			return;
		if (strmap_put(&sc->seen, ip, e) < 0) {
			free(e);
			return;
		}
	}
	e->v = v;
	e->until = now + SCREEN_TTL;
}

void
screen_free(struct screen *sc)
{
	strmap_each(&sc->seen, free_value, NULL);
	strmap_free(&sc->seen);
}
