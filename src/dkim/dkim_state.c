/*
 * dkim_state.c - what a DKIM key is at a given time, from its times alone, and
 * the names of new keys: pure functions over the rows of the store (accounts.h).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "accounts.h"

static const char *const state_names[] = {
	[DKIM_PUBLISHED] = "published",
	[DKIM_SIGNING] = "signing",
	[DKIM_RETIRED] = "retired",
};

const char *
dkim_state_name(enum dkim_state s)
{
	return (unsigned)s <= DKIM_RETIRED ? state_names[s] : "?";
}

/* later - whether key a takes over from key b: a later sign_from, then created, then name. */
static bool
later(const struct dkim_key_info *a, const struct dkim_key_info *b)
{
	if (a->sign_from != b->sign_from)
		return a->sign_from > b->sign_from;
	if (a->created != b->created)
		return a->created > b->created;
	return strcmp(a->selector, b->selector) > 0;
}

static bool
same_group(const struct dkim_key_info *a, const struct dkim_key_info *b)
{
	return a->alg == b->alg && strcmp(a->domain, b->domain) == 0;
}

void
dkim_key_states(struct dkim_key_info *v, size_t n, time_t now)
{
	for (size_t i = 0; i < n; i++) {
		struct dkim_key_info *k = &v[i];
		if (k->sign_from > now) {
			k->state = DKIM_PUBLISHED;
			k->publish = true;
			continue;
		}
		/* Among the keys of its group that have begun: the one after k, if any. */
		const struct dkim_key_info *next = NULL;
		for (size_t j = 0; j < n; j++) {
			const struct dkim_key_info *o = &v[j];
			if (j == i || !same_group(k, o) || o->sign_from > now || !later(o, k))
				continue;
			if (next == NULL || later(next, o))
				next = o;
		}
		if (next == NULL) {
			k->state = DKIM_SIGNING;
			k->publish = true;
		} else {
			/* Mail signed with k just before its successor began may still be checked. */
			k->state = DKIM_RETIRED;
			k->publish = now - next->sign_from < DKIM_RETIRED_PUBLISH;
		}
	}
}

static bool
taken_has(const char *const *taken, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(taken[i], s) == 0)
			return true;
	return false;
}

int
dkim_selector_make(time_t when, enum dkim_alg alg, const char *const *taken, size_t n,
    char *out, size_t outlen)
{
	struct tm tm;
	char base[32];

	if (gmtime_r(&when, &tm) == NULL || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0)
		return -1;
	snprintf(base, sizeof base, "m%04d%02d%02d%c", tm.tm_year + 1900, tm.tm_mon + 1,
	    tm.tm_mday, alg == DKIM_ED25519 ? 'e' : 'r');
	/* More keys than keys taken cannot all be taken: n + 1 tries find a free name. */
	for (size_t i = 1; i <= n + 1; i++) {
		int w = i == 1 ? snprintf(out, outlen, "%s", base) :
		    snprintf(out, outlen, "%s-%zu", base, i);
		if (w < 0 || (size_t)w >= outlen)
			return -1;
		if (!taken_has(taken, n, out))
			return 0;
	}
	return -1;
}
