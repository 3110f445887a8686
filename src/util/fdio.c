/* fdio.c - whole reads and writes, and file-to-file copies, on file descriptors. */
#include "util/fdio.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "util/buf.h"

#define COPY_BUF (16 * 1024)

int
fd_write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

ssize_t
fd_pread_full(int fd, void *p, size_t n, uint64_t off)
{
	char *c = p;
	size_t got = 0;

	while (got < n) {
		ssize_t r = pread(fd, c + got, n - got, (off_t)(off + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/* copy_buffered - the rest of the copy from offset off, through user space. */
static int
copy_buffered(int src, off_t off, uint64_t left, int dst)
{
	char buf[COPY_BUF];

	while (left > 0) {
		size_t want = left < sizeof buf ? (size_t)left : sizeof buf;
		ssize_t r = fd_pread_full(src, buf, want, (uint64_t)off);
		if (r < 0)
			return -1;
		if (r == 0)
			return errno = EIO, -1;
		if (fd_write_all(dst, buf, (size_t)r) < 0)
			return -1;
		off += r;
		left -= (uint64_t)r;
	}
	return 0;
}

int
fd_copy(int src, uint64_t from, uint64_t len, int dst)
{
	off_t off = (off_t)from;
	uint64_t left = len;

	while (left > 0) {
		size_t want = left < (1u << 30) ? (size_t)left : (1u << 30);
		ssize_t n = copy_file_range(src, &off, dst, NULL, want, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* not supported here (EXDEV, EINVAL, ENOSYS...), or short: buffered */
		left -= (uint64_t)n;
	}
	return left > 0 ? copy_buffered(src, off, left, dst) : 0;
}

int
fd_read_file(const char *path, uint64_t max, struct buf *b)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || (uint64_t)st.st_size > max ||
	    buf_reserve(b, (size_t)st.st_size + 1) < 0) {
		close(fd);
		return errno = EFBIG, -1;
	}
	ssize_t n = fd_pread_full(fd, b->data + b->len, (size_t)st.st_size, 0);
	close(fd);
	if (n < 0)
		return -1;
	b->len += (size_t)n;
	b->data[b->len] = '\0';
	return 0;
}
