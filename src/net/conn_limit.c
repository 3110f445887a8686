/* conn_limit.c - connection counts in all and per client address. */
#include "net/conn_limit.h"

#include <stdint.h>

bool
conn_limit_enter(struct conn_limit *c, const char *ip, unsigned max, unsigned max_per_ip)
{
	uintptr_t n = (uintptr_t)strmap_get(&c->per_ip, ip);

	if (c->total >= max || n >= max_per_ip)
		return false;
	if (strmap_put(&c->per_ip, ip, (void *)(n + 1)) < 0)
		return false;
	c->total++;
	return true;
}

void
conn_limit_leave(struct conn_limit *c, const char *ip)
{
	uintptr_t n = (uintptr_t)strmap_get(&c->per_ip, ip);

	if (n <= 1)
		strmap_del(&c->per_ip, ip);
	else
		strmap_put(&c->per_ip, ip, (void *)(n - 1));
	if (c->total > 0)
		c->total--;
}

void
conn_limit_free(struct conn_limit *c)
{
	strmap_free(&c->per_ip);
	c->total = 0;
}
