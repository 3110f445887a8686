/* spool_writer.c - tmp/<id> written as the message arrives, then renamed into msg/. */
#include "store/spool_writer.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "store/spool_format.h"
#include "util/buf.h"
#include "util/fdio.h"

int
spool_writer_open(struct spool_writer *w, const char *queue_dir, const struct envelope *env)
{
	struct buf hdr = { 0 };

	memset(w, 0, sizeof *w);
	w->fd = -1;
	if (spool_format_header(env, &hdr) < 0 ||
	    spool_path(w->path, sizeof w->path, queue_dir, SPOOL_TMP, env->id) < 0)
		goto fail;
	w->fd = open(w->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0660);
	if (w->fd < 0)
		goto fail;
	w->header_len = hdr.len;
	w->size_offset = hdr.len - 2 - SPOOL_SIZE_DIGITS;
	if (fd_write_all(w->fd, hdr.data, hdr.len) < 0) {
		spool_writer_abort(w);
		goto fail;
	}
	buf_free(&hdr);
	return 0;
fail:
	buf_free(&hdr);
	return -1;
}

int
spool_writer_write(struct spool_writer *w, const void *p, size_t n)
{
	if (fd_write_all(w->fd, p, n) < 0)
		return -1;
	w->written += n;
	return 0;
}

int
spool_writer_copy(struct spool_writer *w, int src, uint64_t off, uint64_t len)
{
	if (fd_copy(src, off, len, w->fd) < 0)
		return -1;
	w->written += len;
	return 0;
}

int
spool_spill_open(const char *queue_dir, const char *id)
{
	char path[4200];

	if (spool_path(path, sizeof path, queue_dir, SPOOL_TMP, NULL) < 0)
		return -1;
	int fd = open(path, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
		return fd;
	snprintf(path, sizeof path, "%s/tmp/%s.spill", queue_dir, id);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0)
		unlink(path);
	return fd;
}

int
spool_writer_finish(struct spool_writer *w, const char *queue_dir, const char *id,
    int *keep_fd)
{
	char digits[SPOOL_SIZE_DIGITS + 1], dst[4096];

	snprintf(digits, sizeof digits, "%0*" PRIu64, SPOOL_SIZE_DIGITS, w->written);
	if (pwrite(w->fd, digits, SPOOL_SIZE_DIGITS, (off_t)w->size_offset) != SPOOL_SIZE_DIGITS ||
	    spool_path(dst, sizeof dst, queue_dir, SPOOL_MSG, id) < 0 || rename(w->path, dst) < 0) {
		spool_writer_abort(w);
		return -1;
	}
	int fd = w->fd;
	w->fd = -1;
	if (keep_fd) {
		*keep_fd = fd;
		return 0;
	}
	if (close(fd) < 0) {
		unlink(dst);
		return -1;
	}
	return 0;
}

void
spool_writer_abort(struct spool_writer *w)
{
	if (w->fd >= 0) {
		close(w->fd);
		unlink(w->path);
	}
	w->fd = -1;
}
