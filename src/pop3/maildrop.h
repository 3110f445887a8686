/*
 * maildrop.h - a POP3 session's view of one Maildir (RFC 1939 "maildrop"): the
 * exclusive lock, the snapshot taken at login (new/ moved to cur/ as Dovecot
 * does), each message's size as POP3 reports it and its UIDL, and the deletions
 * that only QUIT carries out.
 */
#ifndef MAILROOM_MAILDROP_H
#define MAILROOM_MAILDROP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/dotlock.h"
#include "util/buf.h"

/* The lock files in the Maildir's top directory (Dovecot ignores them). */
#define MAILDROP_LOCK_NAME "mailroom-pop3.lock"
#define MAILDROP_DOTLOCK_NAME "mailroom-pop3.dotlock"
/* The dot lock's time is refreshed at most this often by its session. */
#define MAILDROP_TOUCH_INTERVAL 30
#define MAILDROP_UIDL_MAX 70 /* RFC 1939 section 7 */

enum maildrop_status {
	MAILDROP_OK,
	MAILDROP_IN_USE, /* another session holds the lock */
	MAILDROP_ERROR,  /* the reason is in err */
};

struct maildrop_msg {
	size_t name;     /* offset in names: the file's name in cur/ */
	size_t uidl;     /* offset in names: the unique-id listing */
	uint64_t size;   /* octets as POP3 sends it (CRLF), without dot-stuffing */
	uint64_t stamp;  /* the leading number of the name (arrival time), for the order */
	bool deleted;
	bool removed;     /* unlinked by maildrop_commit */
};

struct maildrop {
	char *path;
	int lock_fd;          /* flock()ed: the kernel releases it when the process dies */
	struct dotlock dot;   /* and the lock file other hosts see (a Maildir on NFS) */
	int cur_fd;           /* the cur/ directory */
	struct maildrop_msg *msgs; /* the snapshot, oldest first; numbers are index + 1 */
	size_t n;
	struct buf names;     /* NUL-terminated strings that msgs point into */
	size_t ndeleted;
	uint64_t deleted_size;
	uint64_t total_size;  /* of all n messages */
};

/*
 * maildrop_open - lock the Maildir at path (creating it when missing) and take
 * the snapshot: every file in new/ renamed to cur/<name>:2, then every message
 * in cur/ listed with its size (from ",W=" in the name where there is one, else
 * by reading the file once). The lock is flock() (this host) and a dot lock
 * (store/dotlock.h: every host of a shared mail tree), taken as stale when not
 * touched for stale_after seconds. Does no logging and touches no global state,
 * so it may run on a worker thread. On MAILDROP_OK the caller must maildrop_close.
 */
enum maildrop_status maildrop_open(struct maildrop *md, const char *path, time_t stale_after,
    char *err, size_t errlen);

/* maildrop_touch - the session is alive: its dot lock says so (at most every 30 s). */
void maildrop_touch(struct maildrop *md);

/* maildrop_close - free the snapshot and release the lock; deletes nothing. */
void maildrop_close(struct maildrop *md);

/* Message i (0-based): its file name in cur/ and its UIDL. */
const char *maildrop_name(const struct maildrop *md, size_t i);
const char *maildrop_uidl(const struct maildrop *md, size_t i);

/*
 * maildrop_open_msg - open message i for reading. A file renamed since the
 * snapshot (another program changed its flags) is found again by its base
 * name. Returns the fd, or -1 with errno (ENOENT: the message is gone).
 */
int maildrop_open_msg(struct maildrop *md, size_t i);

/* maildrop_dele / maildrop_rset - mark message i deleted; unmark all. */
void maildrop_dele(struct maildrop *md, size_t i);
void maildrop_rset(struct maildrop *md);

/*
 * maildrop_commit - the UPDATE state: unlink every message marked deleted (one
 * already gone counts as removed) and sync cur/. Returns the number that could
 * not be removed (0: all done).
 */
size_t maildrop_commit(struct maildrop *md);

/*
 * maildrop_uidl_for - the UIDL of a file name: its base name (before ':') when
 * that is 1 to 70 octets of 0x21..0x7E, else "H" and the hex SHA-256 of the
 * base name (stable, and never a valid mailroom name). out holds at least
 * MAILDROP_UIDL_MAX + 1 octets.
 */
void maildrop_uidl_for(const char *name, char *out, size_t outlen);

#endif
