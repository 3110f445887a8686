/*
 * hops.h - the hop count of a queued message: its Received: fields, for max_hops
 * (a message that reached the queue some other way than through smtpd's check).
 */
#ifndef MAILROOM_HOPS_H
#define MAILROOM_HOPS_H

#include "store/spool.h"

/*
 * queue_hops - the Received: fields in the header section of msg/<id> (read up to
 * the end of the header section only). Returns 0, or -1 with errno.
 */
int queue_hops(const char *queue_dir, const struct envelope *env, unsigned *hops);

#endif
