/*
 * commit.h - group commit: make written files durable with one syncfs() shared by
 * every request that arrived meanwhile, on a thread, so the event loop never waits.
 * A request's callback runs on the loop once its data is on stable storage.
 */
#ifndef MAILROOM_COMMIT_H
#define MAILROOM_COMMIT_H

struct event_base;
struct committer;

/* error is 0, or the errno of the failed sync: the files must then not be acknowledged. */
typedef void (*commit_done_fn)(void *arg, int error);

/* committer_new - syncs the file system holding dir. Returns NULL with errno set. */
struct committer *committer_new(struct event_base *base, const char *dir);

/* committer_submit - fn(arg, error) runs on the loop after the next sync that starts after now. */
int committer_submit(struct committer *c, commit_done_fn fn, void *arg);

/* committer_free - finish the sync under way, run every callback, stop the thread. */
void committer_free(struct committer *c);

#endif
