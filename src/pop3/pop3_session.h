/* pop3_session.h - one POP3 server connection. */
#ifndef MAILROOM_POP3_SESSION_H
#define MAILROOM_POP3_SESSION_H

#include <sys/socket.h>

#include "config.h"
#include "role.h"

struct pop3d;

/*
 * pop3_session_new - a session for the client (its socket, its place in the
 * listener's pool: the session gives it back when it ends), greeted. It joins
 * srv->sessions, which the role frees with line_session_destroy when it stops.
 * Returns 0, or -1 when out of memory (c->fd and c->slot left to the caller).
 */
int pop3_session_new(struct pop3d *srv, const struct role_client *c);

#endif
