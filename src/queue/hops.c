/*
 * hops.c - count the Received: fields of a queued message with the same header
 * tracking that smtpd applies as the message arrives (data_reader.c), so that both
 * checks of max_hops agree on what a hop is.
 */
#include "queue/hops.h"

#include <errno.h>
#include <sys/types.h>

#include "smtp/data_reader.h"
#include "store/msg_reader.h"

#define HOPS_CHUNK (16 * 1024)

int
queue_hops(const char *queue_dir, const struct envelope *env, unsigned *hops)
{
	char chunk[HOPS_CHUNK];
	struct data_reader dr;
	struct msg_reader r;
	ssize_t n = 0;

	if (msg_open(&r, queue_dir, env) < 0)
		return -1;
	/* The stored form has LF line ends and no dot-stuffing: a chunk of BDAT. */
	data_reader_init(&dr, DATA_MODE_CHUNK);
	while (dr.in_header && (n = msg_read(&r, chunk, sizeof chunk)) > 0)
		data_reader_feed(&dr, chunk, (size_t)n, NULL, NULL);
	int e = errno;
	msg_close(&r);
	if (n < 0)
		return errno = e, -1;
	*hops = dr.received;
	return 0;
}
