/*
 * inject.h - a message that queued makes itself (a bounce, a vacation reply)
 * written into the queue: its recipient resolved as any other (a hosted address
 * to its mailboxes, any other to the remote agent), its envelope made, its text
 * (lines folded to 998 octets) written to msg/<id>.
 */
#ifndef MAILROOM_QUEUE_INJECT_H
#define MAILROOM_QUEUE_INJECT_H

#include <stdbool.h>
#include <stddef.h>

#include "store/envelope.h"

struct queued;

struct inject {
	const char *sender;  /* the envelope sender: "" for the null sender */
	const char *to;      /* the one recipient */
	enum body_type body;
	bool is_bounce;      /* a DSN (envelope.h) */
	bool auto_reply;     /* a vacation reply (envelope.h) */
	const char *text;    /* the message, LF line ends */
	size_t len;
};

/*
 * queue_inject - m as a new message msg/<id> (not yet flushed: the caller flushes
 * *fd, then closes it). id is the caller's, from spool_new_id (its text may name
 * it). Returns 1 written, 0 nobody to send it to (to is a hosted address without a
 * mailbox), or -1 (nothing written; errno). Unless 1, id becomes "" and *fd -1.
 */
int queue_inject(struct queued *q, const struct inject *m, char id[QUEUE_ID_LEN + 1], int *fd);

/*
 * queue_report_sender - local@ the hostname or its nearest parent that has DKIM
 * signing keys (a hosted domain), for the reports queued sends (DMARC, TLS-RPT):
 * they must pass DMARC themselves, and the remote agent signs them as that domain.
 */
void queue_report_sender(struct queued *q, const char *local, char *out, size_t len);

#endif
