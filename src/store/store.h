/*
 * store.h - a role's handle on the store (docs/spool.md): where the queue and the
 * mailboxes are, queue/msg open for the flushes that follow renames into it, and the
 * group commit. smtpd and queued each open one at start.
 */
#ifndef MAILROOM_STORE_H
#define MAILROOM_STORE_H

#include <stddef.h>

struct event_base;
struct committer;

struct store {
	char queue_dir[4096];        /* <data_dir>/queue */
	char mail_dir[4096];         /* <data_dir>/mail */
	int msgdir_fd;               /* queue/msg: flushed after new files appear in it */
	struct committer *committer; /* its callbacks run on base's loop */
};

/* store_open - for data_dir, on base. Returns 0, or -1 with a reason in err. */
int store_open(struct store *st, const char *data_dir, struct event_base *base, char *err,
    size_t errlen);

/* store_close - finish the flushes under way (their callbacks run), then close. */
void store_close(struct store *st);

#endif
