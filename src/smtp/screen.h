/*
 * screen.h - what the smtp listener remembers of clients it screened before the
 * greeting (as Postfix's postscreen does): one that spoke before the 220 is bad
 * for a day, one that waited is good for a day and is greeted at once next time.
 * Bounded: past SCREEN_MAX clients the expired ones go, then all.
 */
#ifndef MAILROOM_SCREEN_H
#define MAILROOM_SCREEN_H

#include <time.h>

#include "util/strmap.h"

#define SCREEN_TTL 86400
#define SCREEN_MAX 100000

enum screen_verdict {
	SCREEN_UNKNOWN,
	SCREEN_GOOD,
	SCREEN_BAD,
};

struct screen {
	struct strmap seen; /* client address -> struct screen_entry */
};

enum screen_verdict screen_lookup(struct screen *sc, const char *ip, time_t now);
/* screen_remember - v for ip until now + SCREEN_TTL (out of memory: forgotten). */
void screen_remember(struct screen *sc, const char *ip, enum screen_verdict v, time_t now);
void screen_free(struct screen *sc);

#endif
