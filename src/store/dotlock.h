/*
 * dotlock.h - an exclusive lock that is a file, for directories that several
 * hosts share (a Maildir on NFS, where a lock one kernel keeps is not seen by
 * another). It is made the way NFS makes atomic: a file of our own, link(2)ed
 * to the lock's name, and the link's count checked (a link whose answer was
 * lost may still have been made). The file names its holder: "host pid token".
 * A lock is stale, and broken, when its holder is a process of this host that
 * is gone, or when it was not touched for stale_after seconds (a holder on
 * another host that died); a holder touches it (dotlock_touch) while it lives.
 */
#ifndef MAILROOM_DOTLOCK_H
#define MAILROOM_DOTLOCK_H

#include <stdbool.h>
#include <time.h>

#define DOTLOCK_PATH_MAX 4096
#define DOTLOCK_ID_MAX 320

enum dotlock_status {
	DOTLOCK_OK,    /* taken */
	DOTLOCK_HELD,  /* another holder has it, and it is not stale */
	DOTLOCK_ERROR, /* errno tells */
};

struct dotlock {
	char path[DOTLOCK_PATH_MAX];
	char id[DOTLOCK_ID_MAX]; /* what our lock file holds */
	time_t touched;          /* when we last touched it */
	bool held;
};

/*
 * dotlock_take - the lock of name path (its directory must exist), breaking a
 * stale one (see above) once. stale_after > 0.
 */
enum dotlock_status dotlock_take(struct dotlock *l, const char *path, time_t stale_after);

/* dotlock_touch - the lock's time set to now, at most every interval seconds. 0 or -1. */
int dotlock_touch(struct dotlock *l, time_t interval);

/* dotlock_release - the lock removed, if it is still ours. */
void dotlock_release(struct dotlock *l);

/*
 * dotlock_stale - whether a lock holding id (its content, "host pid token"),
 * last touched at mtime, is stale at now for a process on host: a pure decision
 * but for the question whether pid lives (alive, asked only for this host).
 */
bool dotlock_stale(const char *id, time_t mtime, time_t now, time_t stale_after,
    const char *host, bool (*alive)(long pid));

#endif
