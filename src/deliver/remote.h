/* remote.h - delivery of queued messages to other domains' servers over SMTP. */
#ifndef MAILROOM_REMOTE_H
#define MAILROOM_REMOTE_H

#include <time.h>

struct queued;
struct qmsg;
struct remote;

struct remote *remote_new(struct queued *q);
void remote_free(struct remote *r);

/*
 * remote_start - start delivering the due remote recipients of m. Returns the
 * number of deliveries started (round parts); each ends with queued_rcpt_result
 * for its recipients and, when it is the message's last part, queued_settle.
 */
unsigned remote_start(struct queued *q, struct qmsg *m, time_t now);

#endif
