/* conn_limit.c - connection counts in all and per client network. */
#include "net/conn_limit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* mask - keep the first prefix bits of the len octets at a, clear the rest. */
static void
mask(uint8_t *a, size_t len, unsigned prefix)
{
	for (size_t i = 0; i < len; i++) {
		unsigned keep = prefix >= 8 * (i + 1) ? 8 : prefix > 8 * i ? prefix - 8 * (unsigned)i : 0;
		a[i] &= (uint8_t)(0xff00u >> keep);
	}
}

void
conn_limit_key(const struct sockaddr *sa, unsigned v4_prefix, unsigned v6_prefix,
    char *out, size_t outlen)
{
	uint8_t a[16];
	char text[INET6_ADDRSTRLEN];
	int family;
	unsigned prefix;

	if (sa->sa_family == AF_INET) {
		memcpy(a, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		family = AF_INET;
	} else if (sa->sa_family == AF_INET6) {
		const struct in6_addr *in6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(in6)) {
			memcpy(a, &in6->s6_addr[12], 4);
			family = AF_INET;
		} else {
			memcpy(a, in6->s6_addr, 16);
			family = AF_INET6;
		}
	} else {
		snprintf(out, outlen, "local");
		return;
	}
	if (family == AF_INET) {
		prefix = v4_prefix < 32 ? v4_prefix : 32;
		mask(a, 4, prefix);
	} else {
		prefix = v6_prefix < 128 ? v6_prefix : 128;
		mask(a, 16, prefix);
	}
	inet_ntop(family, a, text, sizeof text);
	snprintf(out, outlen, "%s/%u", text, prefix);
}

/* publish - the total where the pool's owner shows it. */
static void
publish(const struct conn_limit *c)
{
	if (c->published != NULL)
		atomic_store_explicit(c->published, c->total, memory_order_relaxed);
}

bool
conn_limit_enter(struct conn_limit *c, const char *key, unsigned max, unsigned max_per_key,
    struct conn_slot *slot)
{
	uintptr_t n = (uintptr_t)strmap_get(&c->per_key, key);

	slot->pool = NULL;
	snprintf(slot->key, sizeof slot->key, "%s", key);
	if (c->total >= max || n >= max_per_key)
		return false;
	if (strmap_put(&c->per_key, key, (void *)(n + 1)) < 0)
		return false;
	c->total++;
	publish(c);
	slot->pool = c;
	return true;
}

void
conn_slot_leave(struct conn_slot *slot)
{
	struct conn_limit *c = slot->pool;

	if (c == NULL)
		return;
	slot->pool = NULL;
	uintptr_t n = (uintptr_t)strmap_get(&c->per_key, slot->key);
	if (n <= 1)
		strmap_del(&c->per_key, slot->key);
	else
		strmap_put(&c->per_key, slot->key, (void *)(n - 1));
	if (c->total > 0)
		c->total--;
	publish(c);
}

unsigned
conn_limit_count(const struct conn_limit *c, const char *key)
{
	return (unsigned)(uintptr_t)strmap_get(&c->per_key, key);
}

void
conn_limit_free(struct conn_limit *c)
{
	strmap_free(&c->per_key);
	c->total = 0;
	publish(c);
}
