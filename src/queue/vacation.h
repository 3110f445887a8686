/*
 * vacation.h - queued's part in vacation replies: after a message is in a user's
 * mailbox, the user's vacation (asked of lookupd), the rules of RFC 3834 and RFC
 * 5230 (deliver/vacation_rules.h), lookupd's check that the sender was not
 * answered within [limits] vacation_interval, and the reply (deliver/vacation_msg.h)
 * queued from <> (queue/inject.h) with the autoreply flag, so that it is
 * DKIM-signed as the user's own mail when it leaves. One log line per decision.
 */
#ifndef MAILROOM_QUEUE_VACATION_H
#define MAILROOM_QUEUE_VACATION_H

#include <stddef.h>

#include "store/envelope.h"

struct queued;

/* vacation_delivered - recipient idx of env (a local mailbox) has the message. */
void vacation_delivered(struct queued *q, const struct envelope *env, size_t idx);

#endif
