/*
 * milter_addr.h - the sockets of [inbound] milters, written as Postfix takes
 * them: inet:HOST:PORT (HOST an IPv4 address, [IPv6] or localhost), inet6:HOST:PORT
 * (IPv6, bracketed or not), unix:/absolute/path (or local:/path). Names other than
 * localhost are refused: smtpd resolves nothing while a message waits.
 */
#ifndef MAILROOM_MILTER_ADDR_H
#define MAILROOM_MILTER_ADDR_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* milter_sock_parse - spec into *out. Returns 0, or -1 with a hint in why. Pure. */
int milter_sock_parse(const char *spec, struct milter_sock *out, char *why, size_t whylen);

/* milter_sock_port - the TCP port of an inet socket; 0 for a unix one. */
uint16_t milter_sock_port(const struct milter_sock *m);

#endif
