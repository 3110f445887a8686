/* bounce.h - delivery status notifications (RFC 3464) for failed recipients. */
#ifndef MAILROOM_BOUNCE_H
#define MAILROOM_BOUNCE_H

#include "store/spool.h"

struct queued;

/*
 * bounce_write - a DSN to env's sender naming each recipient with dsn_due, as a
 * new message in msg/ (not yet flushed: the caller flushes *fd, then closes it,
 * before it removes the original). id receives the new queue id. Returns 0 (with
 * id "" and *fd -1 when there is nobody to tell), or -1 (nothing written).
 */
int bounce_write(struct queued *q, const struct envelope *env, char id[QUEUE_ID_LEN + 1],
    int *fd);

#endif
