/* pop3_session.h - one POP3 server connection. */
#ifndef MAILROOM_POP3_SESSION_H
#define MAILROOM_POP3_SESSION_H

#include <sys/socket.h>

#include "config.h"
#include "net/conn_limit.h"

struct pop3d;
struct pop3_session;

/*
 * pop3_session_new - take over the accepted socket fd (already admitted by the
 * connection limits: the session takes over the place in slot and gives it back when
 * it ends) and greet the client.
 */
struct pop3_session *pop3_session_new(struct pop3d *srv, int fd, const struct sockaddr *sa,
    enum service svc, const char *ip, struct conn_slot *slot);

/* pop3_session_destroy - free at once, whatever the state (the role is stopping). */
void pop3_session_destroy(struct pop3_session *s);

#endif
