/*
 * queue_ctl_serve.h - queued's end of the queue control channel
 * (queue/queue_ctl_proto.h): httpd's requests read on queued's loop, answered from
 * the queue queued keeps (through the code paths of the CLI's notes: holds.c,
 * queued_delete, queued_flush), the replies sent without blocking.
 */
#ifndef MAILROOM_QUEUE_CTL_SERVE_H
#define MAILROOM_QUEUE_CTL_SERVE_H

#include "queue/queue_ctl_proto.h"

struct queued;
struct qctl_server;

/* qctl_server_new - serve the channel fd (taken: closed by qctl_server_free). NULL on failure. */
struct qctl_server *qctl_server_new(struct queued *q, int fd);
void qctl_server_free(struct qctl_server *s);

#endif
