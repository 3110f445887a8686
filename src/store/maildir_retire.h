/*
 * maildir_retire.h - mailboxes moved out of the way when their user or their domain
 * is deleted, so that a later user of the same address starts empty (INTERFACE.md
 * "Storage"). They go to <data_dir>/deleted/<domain>/<localpart>.<UTC stamp>, by a
 * rename on the same file system, and stay there for the administrator to keep,
 * hand over or remove. When mail/ is another file system (a shared one, for
 * several hosts: docs/cluster.md), they go to mail/.deleted/ instead, which no
 * address can name (a leading dot is written %2E in a Maildir path).
 */
#ifndef MAILROOM_MAILDIR_RETIRE_H
#define MAILROOM_MAILDIR_RETIRE_H

#include <stddef.h>
#include <time.h>

/*
 * maildir_retire_user - move the Maildir of the canonical address aside. Returns 1
 * moved (the new path in moved), 0 when there was none, -1 with errno set.
 */
int maildir_retire_user(const char *data_dir, const char *address, time_t now, char *moved,
    size_t movedlen);

/*
 * maildir_retire_domain - move every mailbox left under mail/<domain>/ aside, each
 * as maildir_retire_user would, then remove the emptied mail/<domain>/. Returns how
 * many were moved (the directory they went to in where), or -1 with errno set
 * (those moved before stay moved).
 */
int maildir_retire_domain(const char *data_dir, const char *domain, time_t now, char *where,
    size_t wherelen);

#endif
