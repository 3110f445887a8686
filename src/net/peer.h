/*
 * peer.h - who is at the other end of a connected Unix socket, as the kernel says
 * (SO_PEERCRED: the credentials of whoever connected, or of whoever listened).
 */
#ifndef MAILROOM_PEER_H
#define MAILROOM_PEER_H

#include <stdbool.h>
#include <sys/socket.h>

/* peer_cred - the peer's pid, uid and gid into *cr. false when the kernel says nothing. */
bool peer_cred(int fd, struct ucred *cr);

/*
 * peer_is_server - a client's check of the socket it reached: bound by root (the
 * supervisor) or by our own uid, so that no other local user poses as the server
 * by binding an abstract name first. *uid is the peer's (-1: unknown).
 */
bool peer_is_server(int fd, long *uid);

#endif
