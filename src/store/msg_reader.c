/* msg_reader.c - chunked reads of a queued message's text, by offset (pread). */
#include "store/msg_reader.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "store/spool.h"
#include "store/wire.h"
#include "util/fdio.h"

#define COUNT_CHUNK (64 * 1024)

int
msg_open(struct msg_reader *r, const char *queue_dir, const struct envelope *env)
{
	char path[4096];

	r->fd = -1;
	r->start = env->body_offset;
	r->size = env->body_size;
	r->pos = 0;
	if (spool_path(path, sizeof path, queue_dir, SPOOL_MSG, env->id) < 0)
		return -1;
	r->fd = open(path, O_RDONLY | O_CLOEXEC);
	return r->fd < 0 ? -1 : 0;
}

ssize_t
msg_read(struct msg_reader *r, void *buf, size_t len)
{
	uint64_t left = r->size - r->pos;

	if (len > left)
		len = (size_t)left;
	if (len == 0)
		return 0;
	ssize_t n = fd_pread_full(r->fd, buf, len, r->start + r->pos);
	if (n < 0)
		return -1;
	if (n == 0)
		return errno = EIO, -1; /* shorter than its envelope: never acknowledged so */
	r->pos += (uint64_t)n;
	return n;
}

void
msg_close(struct msg_reader *r)
{
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
}

int
msg_read_head(const char *queue_dir, const struct envelope *env, size_t max, struct buf *out)
{
	struct msg_reader r;

	buf_reset(out);
	if (msg_open(&r, queue_dir, env) < 0)
		return -1;
	size_t want = env->body_size < max ? (size_t)env->body_size : max;
	if (buf_reserve(out, want + 1) < 0) {
		msg_close(&r);
		return errno = ENOMEM, -1;
	}
	ssize_t n = fd_pread_full(r.fd, out->data, want, r.start);
	int e = errno;
	msg_close(&r);
	if (n < 0)
		return errno = e, -1;
	out->len = (size_t)n;
	out->data[out->len] = '\0';
	return 0;
}

int
msg_count_lf(struct msg_reader *r, uint64_t *lines)
{
	char chunk[COUNT_CHUNK];
	uint64_t n = 0;

	for (uint64_t off = 0; off < r->size;) {
		uint64_t left = r->size - off;
		ssize_t got = fd_pread_full(r->fd, chunk, left < sizeof chunk ? (size_t)left :
		    sizeof chunk, r->start + off);
		if (got <= 0)
			return got < 0 ? -1 : (errno = EIO, -1);
		n += count_lf(chunk, (size_t)got);
		off += (uint64_t)got;
	}
	*lines = n;
	return 0;
}
