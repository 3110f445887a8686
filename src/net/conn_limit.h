/* conn_limit.h - count open connections, in all and per client address. */
#ifndef MAILROOM_CONN_LIMIT_H
#define MAILROOM_CONN_LIMIT_H

#include <stdbool.h>

#include "util/strmap.h"

struct conn_limit {
	struct strmap per_ip; /* address text -> count (as a pointer-sized integer) */
	unsigned total;
};

/*
 * conn_limit_enter - count a new connection from ip unless that would exceed max
 * (in all) or max_per_ip. Returns true when admitted (then call conn_limit_leave).
 */
bool conn_limit_enter(struct conn_limit *c, const char *ip, unsigned max, unsigned max_per_ip);
void conn_limit_leave(struct conn_limit *c, const char *ip);
void conn_limit_free(struct conn_limit *c);

#endif
