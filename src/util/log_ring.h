/*
 * log_ring.h - the last warning and error lines of every process of `serve`, kept
 * for `mailroom status`. The supervisor maps the ring once, shared and anonymous,
 * before it forks (like metrics.h), so each role's log_warn and log_err add to
 * the same few slots; the supervisor reads them when asked. Lock-free: a writer
 * takes the next sequence number, and each slot is a seqlock of atomic words, so
 * a reader never waits and never takes a line half written. Before log_ring_map
 * (the admin commands, unit tests) nothing is kept.
 *
 * Every process that can write the region can write any slot: a compromised role
 * can put lines there in another role's name (docs/security.md). Readers treat
 * the text as untrusted and escape it again.
 */
#ifndef MAILROOM_LOG_RING_H
#define MAILROOM_LOG_RING_H

#include <stddef.h>
#include <stdint.h>

#define LOG_RING_SLOTS 16    /* lines kept */
#define LOG_RING_ROLE 16     /* octets of the role's name, with its NUL */
#define LOG_RING_TEXT 240    /* octets of a line, with its NUL: longer ones are cut */

enum log_ring_level { LOG_RING_WARN = 1, LOG_RING_ERR = 2 };

/* One line as it is read back. */
struct log_ring_entry {
	int64_t time_ms;              /* CLOCK_REALTIME, milliseconds */
	int32_t pid;
	int32_t level;                /* enum log_ring_level */
	char role[LOG_RING_ROLE];     /* NUL-terminated */
	char text[LOG_RING_TEXT];     /* NUL-terminated */
};

/* log_ring_map - the shared ring (empty), made the one in use. Returns 0, or -1 (errno). */
int log_ring_map(void);

/*
 * log_ring_add - one line of level by role (pid), its len octets at text (cut to
 * what fits). Nothing before log_ring_map. Never blocks, no system call but the clock.
 */
void log_ring_add(enum log_ring_level level, const char *role, int pid, const char *text,
    size_t len);

/*
 * log_ring_read - the newest lines, at most max, oldest first, into out. A slot
 * that is being written, or was overwritten while read, is left out. Returns how
 * many.
 */
size_t log_ring_read(struct log_ring_entry *out, size_t max);

/* log_ring_total - how many lines were ever added (0 before log_ring_map). */
uint64_t log_ring_total(void);

/* log_ring_level_name - "warning", "error" ("?" for another value). */
const char *log_ring_level_name(int level);

#endif
