/*
 * commit.h - group commit on a thread, so the event loop never waits for the disk.
 * A request names files to flush (fdatasync) and directories to flush (fsync,
 * for the renames in them); its callback runs on the loop once all of them are on
 * stable storage. Requests that arrive while a flush runs are flushed together in
 * the next one, each directory once.
 */
#ifndef MAILROOM_COMMIT_H
#define MAILROOM_COMMIT_H

#include <stddef.h>

struct event_base;
struct committer;

/* error is 0, or the errno of a failed flush: the files must then not be acknowledged. */
typedef void (*commit_done_fn)(void *arg, int error);

struct committer *committer_new(struct event_base *base);

/*
 * committer_submit - flush fds[0..nfds) and dirfds[0..ndirs) (the caller keeps them
 * open until fn runs), then fn(arg, error) on the loop. Returns 0 or -1.
 */
int committer_submit(struct committer *c, const int *fds, size_t nfds, const int *dirfds,
    size_t ndirs, commit_done_fn fn, void *arg);

/*
 * committer_submit_then - the same, with between(arg) run on the commit thread
 * after the files are flushed (and only if they all were) and before the
 * directories are: for the renames and links that must follow the files' flush,
 * without a round trip through the loop. between touches only what arg owns.
 */
int committer_submit_then(struct committer *c, const int *fds, size_t nfds,
    void (*between)(void *arg), const int *dirfds, size_t ndirs, commit_done_fn fn, void *arg);

/*
 * committer_submit_made - the same, with the files made on the commit thread as
 * well: make(arg, fds) fills fds[0..nfds) before the flush (-1 for a file it could
 * not make: left out of the flush) and returns 0, or an errno that fails the whole
 * request (fn then gets it; between does not run). Creating a file can cost the
 * file system more than its flush (an inode to find): the loop does neither.
 */
int committer_submit_made(struct committer *c, size_t nfds, int (*make)(void *arg, int *fds),
    void (*between)(void *arg), const int *dirfds, size_t ndirs, commit_done_fn fn, void *arg);

/* committer_free - finish the flush under way, run every callback, stop the thread. */
void committer_free(struct committer *c);

#endif
