/* store.c - opening a role's handle on the store, and closing it after the last flush. */
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "store/commit.h"
#include "store/spool.h"

int
store_open(struct store *st, const char *data_dir, struct event_base *base, char *err,
    size_t errlen)
{
	char msgdir[4200];

	st->msgdir_fd = -1;
	st->committer = NULL;
	if (snprintf(st->queue_dir, sizeof st->queue_dir, "%s/queue", data_dir) >=
	    (int)sizeof st->queue_dir ||
	    snprintf(st->mail_dir, sizeof st->mail_dir, "%s/mail", data_dir) >=
	    (int)sizeof st->mail_dir) {
		snprintf(err, errlen, "data dir %s: name too long", data_dir);
		return -1;
	}
	if (spool_path(msgdir, sizeof msgdir, st->queue_dir, SPOOL_MSG, NULL) < 0 ||
	    (st->msgdir_fd = open(msgdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "cannot open %s: %s", msgdir, strerror(errno));
		return -1;
	}
	if ((st->committer = committer_new(base)) == NULL) {
		snprintf(err, errlen, "cannot start the commit thread: %s", strerror(errno));
		close(st->msgdir_fd);
		st->msgdir_fd = -1;
		return -1;
	}
	return 0;
}

void
store_close(struct store *st)
{
	committer_free(st->committer);
	st->committer = NULL;
	if (st->msgdir_fd >= 0)
		close(st->msgdir_fd);
	st->msgdir_fd = -1;
}
