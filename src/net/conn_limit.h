/*
 * conn_limit.h - count open connections, in all and per client network. A client
 * network is the address cut to a prefix (IPv4 /32 and IPv6 /64 by default): the
 * host behind one IPv6 /64 has all its addresses, and must not get a place for
 * each. Each listener has a pool of its own (role.h), so a flood on one service
 * does not lock clients out of another.
 */
#ifndef MAILROOM_CONN_LIMIT_H
#define MAILROOM_CONN_LIMIT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "util/strmap.h"

#define CONN_KEY_MAX 64 /* "ffff:...:ffff/128" and its NUL */

struct conn_limit {
	struct strmap per_key; /* client network -> count (as a pointer-sized integer) */
	unsigned total;
	_Atomic uint64_t *published; /* NULL, or where total is stored at each change (a gauge) */
};

/* A place taken in a pool: what conn_slot_leave gives back. */
struct conn_slot {
	struct conn_limit *pool; /* NULL: none held */
	char key[CONN_KEY_MAX];
};

/*
 * conn_limit_key - the client network of sa as text: the address with all but the
 * first v4_prefix (IPv4) or v6_prefix (IPv6) bits cleared, then "/" and the prefix
 * ("192.0.2.0/24", "2001:db8:1:2::/64"). An IPv4-mapped IPv6 address counts as
 * IPv4. Other families are "local". Pure.
 */
void conn_limit_key(const struct sockaddr *sa, unsigned v4_prefix, unsigned v6_prefix,
    char *out, size_t outlen);

/*
 * conn_limit_enter - count a new connection from client network key unless that
 * would exceed max (in the pool) or max_per_key. Returns true when admitted, with
 * *slot holding the place (give it back with conn_slot_leave); else slot->pool is
 * NULL.
 */
bool conn_limit_enter(struct conn_limit *c, const char *key, unsigned max, unsigned max_per_key,
    struct conn_slot *slot);

/* conn_slot_leave - give the place back; again, or for an empty slot, nothing. */
void conn_slot_leave(struct conn_slot *slot);

/* conn_limit_count - the connections of key now. */
unsigned conn_limit_count(const struct conn_limit *c, const char *key);

void conn_limit_free(struct conn_limit *c);

#endif
