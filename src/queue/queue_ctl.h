/*
 * queue_ctl.h - httpd's side of the queue control channel (queue_ctl_proto.h):
 * httpd may not read the spool or the Maildirs, so it asks queued, which can.
 */
#ifndef MAILROOM_QUEUE_CTL_H
#define MAILROOM_QUEUE_CTL_H

#include "util/buf.h"

/*
 * queue_ctl_call - one request to queued: op "list", "show" ID, "hold" ID, "release"
 * ID, "delete" ID, "flush", "usage" ADDRESS (arg NULL when none). Returns an HTTP
 * status (200, 400 bad argument, 404, 503 when queued does not answer within 5 s) with
 * a JSON object in out (the result, or {"error": "one line"}). Blocking.
 */
int queue_ctl_call(int fd, const char *op, const char *arg, struct buf *out);

#endif
