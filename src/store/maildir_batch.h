/*
 * maildir_batch.h - Maildir deliveries made durable together. Each file is written
 * as an unnamed file in its mailbox (O_TMPFILE; tmp/ where the file system lacks
 * it), all are flushed, then linked (or renamed) into new/, and the new/
 * directories flushed, before the batch counts as delivered: the Maildir rule --
 * nothing appears in new/ before its text is on disk -- with one group commit for
 * many messages. The files are created and written on the commit thread, not by
 * md_batch_add: finding a free inode can cost more than the write (ext4 without
 * a journal walks past every inode deleted in the last minutes), and the loop
 * must not wait for it.
 */
#ifndef MAILROOM_MAILDIR_BATCH_H
#define MAILROOM_MAILDIR_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "util/buf.h"

struct committer;

#define MD_MEM_MAX 7 /* the caller's memory pieces of one file */

struct md_file {
	char *tmp;     /* tmp/<name>, or NULL for an unnamed file */
	char *name;
	int fd;        /* -1 until the commit thread has made it */
	size_t dir;    /* index into the batch's new/ directories */
	bool failed;   /* not delivered: write, flush or link failed */
	int error;     /* the errno when it could not be written at all, else 0 */
	void *owner;   /* the caller's: whose file this is */
	size_t idx;
	/* What the commit thread writes: head, then mem, then srclen octets of src. */
	struct buf head;
	struct iovec mem[MD_MEM_MAX];
	int nmem;
	int src;       /* our duplicate of the caller's, or -1 */
	uint64_t srcoff, srclen;
};

struct md_batch;
typedef void (*md_done_fn)(struct md_batch *b, int error, void *arg);

struct md_batch {
	struct md_file *files;
	size_t nfiles, cap;
	int *dirfds;          /* new/ of each mailbox in the batch */
	char **dirpaths;
	size_t ndirs;
	bool all_or_none;     /* the caller's: one file that cannot be written fails them all */
	bool unwritten;       /* all_or_none and a file could not be written: none is in new/ */
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
 * md_batch_add - message name of maildir (created when missing): head (taken over:
 * *head is left empty on success), then mem[0..nmem) (at most MD_MEM_MAX pieces: the caller's, which
 * must stay as they are until done runs), then (src >= 0) srclen octets of the file
 * src from offset srcoff (src is duplicated; its contents must not change). The file
 * is made at the commit. Returns 0, or -1 with errno set (nothing added).
 */
int md_batch_add(struct md_batch *b, const char *maildir, const char *name, struct buf *head,
    const struct iovec *mem, int nmem, int src, uint64_t srcoff,
    uint64_t srclen, void *owner, size_t idx);

/*
 * md_batch_commit - make and flush the files, link them into new/, flush the
 * directories, then done(b, error, arg) on the loop. A file that could not be
 * written is failed with its error (with all_or_none, all are, nothing is left
 * behind, b->unwritten is set and error is that errno). error != 0: the files are
 * not known durable (each is marked failed). With no files, done runs at once.
 */
void md_batch_commit(struct md_batch *b, struct committer *c, md_done_fn done, void *arg);

/*
 * md_batch_free - close and free: before the commit nothing has been written (a
 * batch given up leaves nothing behind); after it, files linked stay delivered.
 */
void md_batch_free(struct md_batch *b);

#endif
