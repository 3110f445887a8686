/*
 * self_addr.h - is an address and port one of our own listeners? The loop check of
 * outbound delivery (INTERFACE.md "Loops and trust"): a destination that would
 * connect back to mailroom itself is a loop, never a delivery.
 */
#ifndef MAILROOM_SELF_ADDR_H
#define MAILROOM_SELF_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config.h"

/* One address of a local interface; on a loopback interface its whole network is ours. */
struct local_addr {
	int family;        /* AF_INET or AF_INET6 */
	uint8_t addr[16];
	unsigned prefix;   /* bits of addr that count: 32 / 128, or the loopback network */
};

struct local_addrs {
	struct local_addr *v;
	size_t n;
};

/*
 * self_addr_match - whether a connection to dst (its port ignored) on port would
 * reach one of the listeners in lists[0..nlists): an exact address, or an address
 * of this host when a listener is a wildcard (0.0.0.0, ::). Addresses of this host
 * are the loopback networks (127.0.0.0/8, ::1), the unspecified address (a connect
 * to it reaches this host) and those in local. IPv4-mapped IPv6 counts as IPv4;
 * wildcard listeners are IPV6_V6ONLY, as serve binds them. A pure function.
 */
bool self_addr_match(const struct listen_list *lists, size_t nlists, const struct sockaddr *dst,
    uint16_t port, const struct local_addrs *local);

/* self_addrs_any_wildcard - whether a listener is 0.0.0.0 or :: (local addresses matter). */
bool self_addrs_any_wildcard(const struct listen_list *lists, size_t nlists);

/* local_addrs_load - the addresses of this host's interfaces (getifaddrs). Returns 0 or -1. */
int local_addrs_load(struct local_addrs *out);
void local_addrs_free(struct local_addrs *l);

#endif
