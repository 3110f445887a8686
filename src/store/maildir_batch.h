/*
 * maildir_batch.h - Maildir deliveries made durable together. Each file is written
 * as an unnamed file in its mailbox (O_TMPFILE; tmp/ where the file system lacks
 * it), all are flushed, then linked (or renamed) into new/, and the new/
 * directories flushed, before the batch counts as delivered: the Maildir rule --
 * nothing appears in new/ before its text is on disk -- with one group commit for
 * many messages.
 */
#ifndef MAILROOM_MAILDIR_BATCH_H
#define MAILROOM_MAILDIR_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct committer;

struct md_file {
	char *tmp;     /* tmp/<name>, or NULL for an unnamed file */
	char *name;
	int fd;
	size_t dir;    /* index into the batch's new/ directories */
	bool failed;   /* not delivered: write, flush or link failed */
	void *owner;   /* the caller's: whose file this is */
	size_t idx;
};

struct md_batch;
typedef void (*md_done_fn)(struct md_batch *b, int error, void *arg);

struct md_batch {
	struct md_file *files;
	size_t nfiles, cap;
	int *dirfds;          /* new/ of each mailbox in the batch */
	char **dirpaths;
	size_t ndirs;
	bool published;       /* the files were linked into new/ (on the commit thread) */
	struct committer *committer;
	md_done_fn done;
	void *arg;
};

/*
 * md_batch_new - an empty batch. (The new/ directories are opened per batch, not
 * kept: a mailbox moved or deleted by its operator must not receive mail.)
 */
struct md_batch *md_batch_new(void);

/*
 * md_batch_add - write iov (at most 8 pieces), then (src >= 0) srclen octets of the
 * file src from offset srcoff, as message name of maildir (created when missing).
 * Returns 0, or -1 with errno set (nothing added, nothing left behind).
 */
int md_batch_add(struct md_batch *b, const char *maildir, const char *name,
    const struct iovec *iov, int iovcnt, int src, uint64_t srcoff, uint64_t srclen,
    void *owner, size_t idx);

/*
 * md_batch_commit - flush, link into new/, flush the directories, then
 * done(b, error, arg) on the loop. error != 0: the files are not known durable
 * (each is marked failed). With no files, done runs at once.
 */
void md_batch_commit(struct md_batch *b, struct committer *c, md_done_fn done, void *arg);

/* md_batch_abort - before commit: remove every tmp/ file, close and free. */
void md_batch_abort(struct md_batch *b);

/* md_batch_free - close and free (files already linked stay delivered). */
void md_batch_free(struct md_batch *b);

#endif
