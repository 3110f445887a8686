/*
 * holds.h - held messages in queued: the outbound limit check of a message's
 * sender before its first remote delivery, and `queue hold` / `queue release`
 * (QN_HOLD, QN_RELEASE from the CLI).
 */
#ifndef MAILROOM_HOLDS_H
#define MAILROOM_HOLDS_H

#include <stdbool.h>

#include "queue/queued.h"

/*
 * holds_limits - count loaded m against its sender's limits (through lookupd) when
 * it was sent after a login, has remote recipients and was not counted yet; true
 * when that held it (logged, its state written).
 */
bool holds_limits(struct queued *q, struct qmsg *m);

/*
 * holds_note - hold (on) or release the message id, when it is in the queue.
 * Returns whether it is (held or released now, or already).
 */
bool holds_note(struct queued *q, const char *id, bool on);

#endif
