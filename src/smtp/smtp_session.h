/* smtp_session.h - one SMTP server connection: the protocol state machine. */
#ifndef MAILROOM_SMTP_SESSION_H
#define MAILROOM_SMTP_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config.h"
#include "net/conn_limit.h"
#include "net/sockaddr.h"

struct smtpd;
struct smtp_session;

/*
 * smtp_session_new - take over the accepted socket fd (already admitted by the
 * connection limits: the session takes over the place in slot and gives it back when
 * it ends) and greet the client.
 */
struct smtp_session *smtp_session_new(struct smtpd *srv, int fd, const struct sockaddr *sa,
    enum service svc, const char *ip, struct conn_slot *slot);

/* smtp_session_destroy - free at once, whatever state (the role is stopping). */
void smtp_session_destroy(struct smtp_session *s);

#endif
