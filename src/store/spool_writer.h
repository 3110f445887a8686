/*
 * spool_writer.h - writing a message into the queue as it arrives (smtpd, and
 * queued's bounces): tmp/<id> opened with the envelope header, the text appended,
 * then the size patched in and the file renamed into msg/. Not flushed: the caller
 * groups that (store/commit.h). A crash before the flush can leave a file whose
 * length disagrees with its size line: never acknowledged, and discarded.
 */
#ifndef MAILROOM_STORE_SPOOL_WRITER_H
#define MAILROOM_STORE_SPOOL_WRITER_H

#include <stdint.h>

#include "store/spool.h"

struct spool_writer {
	int fd;
	char path[4096];
	uint64_t written;     /* message octets so far */
	uint64_t size_offset; /* where the size digits sit */
	uint64_t header_len;
};

int spool_writer_open(struct spool_writer *w, const char *queue_dir, const struct envelope *env);
int spool_writer_write(struct spool_writer *w, const void *p, size_t n);
/* spool_writer_copy - append len octets of the file src (spool_spill_open's) from off. */
int spool_writer_copy(struct spool_writer *w, int src, uint64_t off, uint64_t len);
/*
 * spool_writer_finish - patch the size in, rename into msg/. With keep_fd, the
 * file stays open and its fd is stored there (for the caller's flush); else closed.
 */
int spool_writer_finish(struct spool_writer *w, const char *queue_dir, const char *id,
    int *keep_fd);
void spool_writer_abort(struct spool_writer *w);

/*
 * spool_spill_open - a file for message text that is not kept in memory while it
 * arrives (mail written straight into Maildirs): unnamed in tmp/ (O_TMPFILE), or
 * where the file system lacks that, tmp/<id>.spill unlinked at once (a crash in
 * between leaves it to the emptying of tmp/ at the next start). Read and write.
 * Returns the fd or -1 (errno).
 */
int spool_spill_open(const char *queue_dir, const char *id);

#endif
