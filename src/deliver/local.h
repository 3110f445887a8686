/* local.h - delivery of queued messages into local Maildirs, in synced batches. */
#ifndef MAILROOM_LOCAL_H
#define MAILROOM_LOCAL_H

#include <stddef.h>

struct queued;
struct qmsg;

/*
 * local_deliver - deliver the due local recipients of msgs. Every file is written
 * to tmp/, synced, renamed into new/, synced again; then each recipient's result
 * is recorded and each message's round part ends (queued_settle when it was the
 * last part).
 */
void local_deliver(struct queued *q, struct qmsg **msgs, size_t n);

#endif
