/* acme_chan.c - frames from acmed to httpd and back (see acme_chan.h). */
#include "acme/acme_chan.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <openssl/crypto.h>

#include "ipc/frame.h"

static int
send_frame(int fd, struct frame *f)
{
	ssize_t w;

	if (f->bad) {
		errno = EMSGSIZE;
		return -1;
	}
	do
		w = send(fd, f->buf, f->len, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (w < 0 && errno == EINTR);
	return w == (ssize_t)f->len ? 0 : -1;
}

int
acme_chan_http01(int fd, const char *token, const char *keyauth)
{
	struct frame *f = malloc(sizeof *f);
	if (f == NULL)
		return -1;
	frame_init(f, ACH_HTTP01);
	frame_put_str(f, token);
	frame_put_str(f, keyauth);
	int rc = send_frame(fd, f);
	free(f);
	return rc;
}

int
acme_chan_alpn(int fd, const char *name, const char *cert, const char *key)
{
	struct frame *f = malloc(sizeof *f);
	if (f == NULL)
		return -1;
	frame_init(f, ACH_ALPN);
	frame_put_str(f, name);
	frame_put_str(f, cert);
	frame_put_str(f, key);
	int rc = send_frame(fd, f);
	OPENSSL_cleanse(f->buf, f->len);
	free(f);
	return rc;
}

int
acme_chan_clear(int fd)
{
	struct frame *f = malloc(sizeof *f);
	if (f == NULL)
		return -1;
	frame_init(f, ACH_CLEAR);
	int rc = send_frame(fd, f);
	free(f);
	return rc;
}

int
acme_chan_sync(int fd, enum acme_chan_type type, uint64_t seq)
{
	struct frame *f = malloc(sizeof *f);
	if (f == NULL)
		return -1;
	frame_init(f, (uint16_t)type);
	frame_put_u64(f, seq);
	int rc = send_frame(fd, f);
	free(f);
	return rc;
}
