/*
 * route.h - where a recipient's mail goes, as pure functions: to a local mailbox, to
 * the MX hosts of its domain, straight to a host (an address literal, a relayhost),
 * and which domains of one message share their MX hosts and so one connection.
 */
#ifndef MAILROOM_ROUTE_H
#define MAILROOM_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "deliver/dns_parse.h"
#include "store/kinds.h"

struct route_cfg {
	const char *relayhost; /* "host:port" or "[host]:port" (config.c always adds the
				* port), or NULL: every remote recipient goes there */
	uint16_t remote_port;  /* the port of MX hosts and address literals */
};

enum route_kind {
	ROUTE_LOCAL, /* a mailbox here: the local agent */
	ROUTE_MX,    /* the MX hosts of dest, or its own address without MX (RFC 5321 5.1) */
	ROUTE_HOST,  /* host itself: an address literal's address, a relayhost not to be looked up */
};

struct route {
	enum route_kind kind;
	bool relayhost;              /* dest is the configured relayhost */
	char dest[DNS_NAME_MAX + 2]; /* what one delivery goes to, lower case: a domain, a
				      * "[literal]", or the relayhost's name */
	char host[DNS_NAME_MAX];     /* ROUTE_HOST: the name or address to connect to */
	uint16_t port;
};

/*
 * route_rcpt - the route of a recipient of this kind and address. Returns 0, or -1
 * when a remote address has no domain (a 553 5.1.3 for the recipient).
 */
int route_rcpt(enum target_kind kind, const char *addr, const struct route_cfg *cfg,
    struct route *out);

/* route_same - whether two recipients' routes go in one delivery. */
bool route_same(const struct route *a, const struct route *b);

/* route_mergeable - whether a route's delivery may be merged with others by MX hosts. */
bool route_mergeable(const struct route *r);

/*
 * mx_same_servers - whether two MX lists name the same hosts with the same
 * preferences, both DNSSEC-secure or both not.
 */
bool mx_same_servers(const struct mx_list *a, const struct mx_list *b);

/*
 * mx_merge - for the MX lists of n domains of one message (NULL where a lookup
 * failed: never merged), into[i] is the first j <= i whose servers are the same:
 * the delivery that carries domain i's recipients too. Returns how many remain.
 */
size_t mx_merge(const struct mx_list *const *lists, size_t n, size_t *into);

/*
 * mx_merge_keyed - mx_merge where domain i merges only into one with an equal
 * keys[i] (the MAIL FROM of each delivery: one transaction has one sender).
 */
size_t mx_merge_keyed(const struct mx_list *const *lists, const char *const *keys, size_t n,
    size_t *into);

#endif
