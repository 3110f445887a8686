/* queue_ctl.h - (placeholder of the queuectl branch's interface) */
#ifndef MAILROOM_QUEUE_CTL_H
#define MAILROOM_QUEUE_CTL_H
#include "util/buf.h"
int queue_ctl_call(int fd, const char *op, const char *arg, struct buf *out);
#endif
