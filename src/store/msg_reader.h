/*
 * msg_reader.h - the text of a queued message: msg/<id> after its envelope header,
 * read a chunk at a time (or, for small needs, its first octets), so that no reader
 * holds a whole message in memory.
 */
#ifndef MAILROOM_STORE_MSG_READER_H
#define MAILROOM_STORE_MSG_READER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "store/envelope.h"
#include "util/buf.h"

struct msg_reader {
	int fd;         /* msg/<id>, or -1 */
	uint64_t start; /* where the text begins in the file */
	uint64_t size;  /* its length (stored form) */
	uint64_t pos;   /* octets of it read so far */
};

/* msg_open - msg/<id> of env, positioned at the start of its text. Returns 0 or -1 (errno). */
int msg_open(struct msg_reader *r, const char *queue_dir, const struct envelope *env);

/*
 * msg_read - the next octets of the text, at most len. Returns how many, 0 at its
 * end, or -1 with errno (EIO: the file ends before the text does).
 */
ssize_t msg_read(struct msg_reader *r, void *buf, size_t len);

/* msg_close - close (a closed or never opened reader too: fd -1). */
void msg_close(struct msg_reader *r);

/*
 * msg_read_head - the first octets of env's text, at most max, into out (replacing
 * what it held; NUL-terminated). Returns 0 or -1 (errno).
 */
int msg_read_head(const char *queue_dir, const struct envelope *env, size_t max,
    struct buf *out);

/*
 * msg_count_lf - the LFs of the text (what CRLF line ends add), without moving the
 * reading position. Returns 0 or -1 (errno).
 */
int msg_count_lf(struct msg_reader *r, uint64_t *lines);

#endif
