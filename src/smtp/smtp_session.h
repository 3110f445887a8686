/* smtp_session.h - one SMTP server connection: the protocol state machine. */
#ifndef MAILROOM_SMTP_SESSION_H
#define MAILROOM_SMTP_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config.h"
#include "role.h"
#include "net/sockaddr.h"

struct smtpd;

/*
 * smtp_session_new - a session for the client (its socket, its place in the
 * listener's pool: the session gives it back when it ends), greeted. It joins
 * srv->sessions, which the role frees with line_session_destroy when it stops.
 * Returns 0, or -1 when out of memory (c->fd and c->slot left to the caller).
 */
int smtp_session_new(struct smtpd *srv, const struct role_client *c);

#endif
