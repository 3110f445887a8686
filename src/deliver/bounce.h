/* bounce.h - delivery status notifications (RFC 3464) for failed recipients. */
#ifndef MAILROOM_BOUNCE_H
#define MAILROOM_BOUNCE_H

#include "queue/spool.h"

struct queued;

/*
 * bounce_write - a DSN to env's sender naming each recipient with dsn_due, as a
 * new message in msg/ (not yet synced: the caller commits before it removes the
 * original). id receives the new queue id. Returns 0, or -1 (nothing written).
 */
int bounce_write(struct queued *q, const struct envelope *env, char id[QUEUE_ID_LEN + 1]);

#endif
