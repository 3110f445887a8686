/*
 * self_addr.c - match a destination address against our listeners, the way the
 * kernel would route a connection to it: an exact match, or any address of this
 * host for a wildcard listener. The interface list comes from getifaddrs; the
 * match itself is pure so that it can be tested with made-up interfaces.
 */
#include "net/self_addr.h"

#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

/* A destination in a form that compares: family, 4 or 16 octets. */
struct norm {
	int family;
	uint8_t addr[16];
};

static const uint8_t v6_loopback[16] = { [15] = 1 };

/* normalize - sa as IPv4 when it is IPv4 or IPv4-mapped; the unspecified address as loopback. */
static bool
normalize(const struct sockaddr *sa, struct norm *n)
{
	memset(n, 0, sizeof *n);
	if (sa->sa_family == AF_INET) {
		n->family = AF_INET;
		memcpy(n->addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a)) {
			n->family = AF_INET;
			memcpy(n->addr, &a->s6_addr[12], 4);
		} else {
			n->family = AF_INET6;
			memcpy(n->addr, a->s6_addr, 16);
		}
	} else {
		return false;
	}
	/* connect() to 0.0.0.0 or :: reaches this host's loopback */
	static const uint8_t zero[16];
	if (memcmp(n->addr, zero, n->family == AF_INET ? 4 : 16) == 0) {
		if (n->family == AF_INET)
			n->addr[0] = 127, n->addr[3] = 1;
		else
			n->addr[15] = 1;
	}
	return true;
}

/* in_prefix - whether the first bits of a and b agree. */
static bool
in_prefix(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;

	if (memcmp(a, b, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff00u >> rest);
	return (a[whole] & mask) == (b[whole] & mask);
}

/* is_local - whether n is an address of this host. */
static bool
is_local(const struct norm *n, const struct local_addrs *local)
{
	if (n->family == AF_INET && n->addr[0] == 127)
		return true;
	if (n->family == AF_INET6 && memcmp(n->addr, v6_loopback, 16) == 0)
		return true;
	for (size_t i = 0; local != NULL && i < local->n; i++) {
		const struct local_addr *l = &local->v[i];
		if (l->family == n->family && in_prefix(l->addr, n->addr, l->prefix))
			return true;
	}
	return false;
}

/* listener - the port of a listener, and whether it is a wildcard; its address in n. */
static uint16_t
listener(const struct listen_addr *la, struct norm *n, bool *wildcard)
{
	static const uint8_t zero[16];
	const struct sockaddr *sa = (const struct sockaddr *)&la->ss;
	uint16_t port = 0;

	memset(n, 0, sizeof *n);
	*wildcard = false;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
		*wildcard = s4->sin_addr.s_addr == htonl(INADDR_ANY);
		port = ntohs(s4->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		*wildcard = memcmp(s6->sin6_addr.s6_addr, zero, 16) == 0;
		port = ntohs(s6->sin6_port);
	}
	if (*wildcard)
		n->family = sa->sa_family;
	else if (!normalize(sa, n))
		return 0;
	return port;
}

bool
self_addr_match(const struct listen_list *lists, size_t nlists, const struct sockaddr *dst,
    uint16_t port, const struct local_addrs *local)
{
	struct norm d;

	if (!normalize(dst, &d))
		return false;
	for (size_t l = 0; l < nlists; l++) {
		for (size_t i = 0; i < lists[l].n; i++) {
			struct norm la;
			bool wildcard;
			if (listener(&lists[l].v[i], &la, &wildcard) != port || port == 0)
				continue;
			if (la.family != d.family)
				continue;
			if (wildcard ? is_local(&d, local) :
			    memcmp(la.addr, d.addr, d.family == AF_INET ? 4 : 16) == 0)
				return true;
		}
	}
	return false;
}

bool
self_addrs_any_wildcard(const struct listen_list *lists, size_t nlists)
{
	for (size_t l = 0; l < nlists; l++) {
		for (size_t i = 0; i < lists[l].n; i++) {
			struct norm n;
			bool wildcard;
			listener(&lists[l].v[i], &n, &wildcard);
			if (wildcard)
				return true;
		}
	}
	return false;
}

/* prefix_of - the number of leading one bits of a netmask. */
static unsigned
prefix_of(const uint8_t *mask, size_t len)
{
	unsigned bits = 0;

	for (size_t i = 0; i < len && mask[i] == 0xff; i++)
		bits += 8;
	if (bits / 8 < len)
		for (uint8_t m = mask[bits / 8]; m & 0x80; m = (uint8_t)(m << 1))
			bits++;
	return bits;
}

int
local_addrs_load(struct local_addrs *out)
{
	struct ifaddrs *ifa, *p;

	out->v = NULL;
	out->n = 0;
	if (getifaddrs(&ifa) < 0)
		return -1;
	size_t n = 0;
	for (p = ifa; p != NULL; p = p->ifa_next)
		n++;
	out->v = calloc(n ? n : 1, sizeof *out->v);
	if (out->v == NULL) {
		freeifaddrs(ifa);
		return -1;
	}
	for (p = ifa; p != NULL; p = p->ifa_next) {
		if (p->ifa_addr == NULL || !(p->ifa_flags & IFF_UP))
			continue;
		struct local_addr *l = &out->v[out->n];
		bool loopback = (p->ifa_flags & IFF_LOOPBACK) != 0 && p->ifa_netmask != NULL;
		if (p->ifa_addr->sa_family == AF_INET) {
			l->family = AF_INET;
			memcpy(l->addr, &((struct sockaddr_in *)p->ifa_addr)->sin_addr, 4);
			l->prefix = loopback ? prefix_of((const uint8_t *)
			    &((struct sockaddr_in *)p->ifa_netmask)->sin_addr, 4) : 32;
		} else if (p->ifa_addr->sa_family == AF_INET6) {
			l->family = AF_INET6;
			memcpy(l->addr, &((struct sockaddr_in6 *)p->ifa_addr)->sin6_addr, 16);
			l->prefix = loopback ? prefix_of(
			    ((struct sockaddr_in6 *)p->ifa_netmask)->sin6_addr.s6_addr, 16) : 128;
		} else {
			continue;
		}
		out->n++;
	}
	freeifaddrs(ifa);
	return 0;
}

void
local_addrs_free(struct local_addrs *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}
