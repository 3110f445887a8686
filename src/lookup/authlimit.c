/* authlimit.c - failed-login counting per client network and per account (see authlimit.h). */
#include "lookup/authlimit.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
authlimit_client_key(const char *ip, char *out, size_t outlen)
{
	struct in6_addr a6;
	char text[INET6_ADDRSTRLEN];

	if (strchr(ip, ':') != NULL && inet_pton(AF_INET6, ip, &a6) == 1) {
		memset(a6.s6_addr + 8, 0, 8);
		if (inet_ntop(AF_INET6, &a6, text, sizeof text) != NULL) {
			snprintf(out, outlen, "net:%s/64", text);
			return;
		}
	}
	snprintf(out, outlen, "net:%s", ip);
}

bool
authlimit_blocked(const struct authlimit *a, const char *key, time_t now)
{
	const struct authlimit_entry *e = strmap_get(&a->m, key);
	return e != NULL && e->blocked_until > now;
}

struct sweep {
	time_t now, window;
	struct authlimit *a;
	char **dead;
	size_t n, cap;
};

static void
collect(const char *key, void *value, void *arg)
{
	struct sweep *s = arg;
	const struct authlimit_entry *e = value;

	if (e->blocked_until > s->now || e->window_start + s->window > s->now)
		return;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		char **v = reallocarray(s->dead, cap, sizeof *v);
		if (v == NULL)
			return;
		s->dead = v;
		s->cap = cap;
	}
	if ((s->dead[s->n] = strdup(key)) != NULL)
		s->n++;
}

void
authlimit_expire(struct authlimit *a, time_t now, time_t window)
{
	struct sweep s = { .now = now, .window = window, .a = a };

	strmap_each(&a->m, collect, &s);
	for (size_t i = 0; i < s.n; i++) {
		free(strmap_del(&a->m, s.dead[i]));
		free(s.dead[i]);
	}
	free(s.dead);
}

bool
authlimit_failed(struct authlimit *a, const char *key, time_t now, unsigned limit,
    time_t window)
{
	struct authlimit_entry *e = strmap_get(&a->m, key);

	if (e == NULL) {
		if (a->m.n >= AUTHLIMIT_KEYS_MAX)
			authlimit_expire(a, now, window);
		if (a->m.n >= AUTHLIMIT_KEYS_MAX || (e = calloc(1, sizeof *e)) == NULL)
			return false; /* a flood of keys: count no more than memory allows */
		if (strmap_put(&a->m, key, e) < 0) {
			free(e);
			return false;
		}
		e->window_start = now;
	}
	if (e->window_start + window <= now) {
		e->window_start = now;
		e->failures = 0;
	}
	e->failures++;
	if (limit > 0 && e->failures >= limit)
		e->blocked_until = now + window;
	return e->blocked_until > now;
}

void
authlimit_reset(struct authlimit *a, const char *key)
{
	free(strmap_del(&a->m, key));
}

size_t
authlimit_size(const struct authlimit *a)
{
	return a->m.n;
}

static void
free_value(const char *key, void *value, void *arg)
{
	free(value);
}

void
authlimit_free(struct authlimit *a)
{
	strmap_each(&a->m, free_value, NULL);
	strmap_free(&a->m);
}
