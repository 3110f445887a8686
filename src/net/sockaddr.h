/* sockaddr.h - printing socket addresses. */
#ifndef MAILROOM_SOCKADDR_H
#define MAILROOM_SOCKADDR_H

#include <stddef.h>
#include <sys/socket.h>

#define SOCKADDR_TEXT_MAX 64

/*
 * sockaddr_ip - the numeric address of sa ("192.0.2.1", "2001:db8::1"); an
 * IPv4-mapped IPv6 address prints as IPv4. *port receives the port when not NULL.
 */
void sockaddr_ip(const struct sockaddr *sa, char *out, size_t outlen, unsigned *port);

#endif
