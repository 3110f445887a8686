/*
 * hops.c - count the Received: fields of a queued message with the same header
 * tracking that smtpd applies as the message arrives (data_reader.c), so that both
 * checks of max_hops agree on what a hop is.
 */
#include "queue/hops.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/types.h>
#include <unistd.h>

#include "smtp/data_reader.h"

#define HOPS_CHUNK (16 * 1024)

int
queue_hops(const char *queue_dir, const struct envelope *env, unsigned *hops)
{
	char path[4096], chunk[HOPS_CHUNK];
	struct data_reader dr;
	uint64_t off = 0;

	snprintf(path, sizeof path, "%s/msg/%s", queue_dir, env->id);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	/* The stored form has LF line ends and no dot-stuffing: a chunk of BDAT. */
	data_reader_init(&dr, DATA_MODE_CHUNK);
	while (dr.in_header && off < env->body_size) {
		size_t want = env->body_size - off < sizeof chunk ? (size_t)(env->body_size - off) :
		    sizeof chunk;
		ssize_t n = pread(fd, chunk, want, (off_t)(env->body_offset + off));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = n < 0 ? errno : EIO;
			close(fd);
			errno = e;
			return -1;
		}
		data_reader_feed(&dr, chunk, (size_t)n, NULL, NULL);
		off += (uint64_t)n;
	}
	close(fd);
	*hops = dr.received;
	return 0;
}
