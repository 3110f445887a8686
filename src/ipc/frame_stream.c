/* frame_stream.c - length-prefixed frames in libevent buffers (see frame_stream.h). */
#include "ipc/frame_stream.h"

#include <event2/buffer.h>

#include "ipc/frame.h"

int
frame_stream_put(struct evbuffer *out, const struct frame *f)
{
	uint8_t len[4] = { (uint8_t)(f->len >> 24), (uint8_t)(f->len >> 16), (uint8_t)(f->len >> 8),
		(uint8_t)f->len };

	if (f->bad)
		return -1;
	if (evbuffer_add(out, len, sizeof len) < 0 || evbuffer_add(out, f->buf, f->len) < 0)
		return -1;
	return 0;
}

int
frame_stream_get(struct evbuffer *in, struct frame *f, uint16_t *type)
{
	uint8_t len[4];

	if (evbuffer_copyout(in, len, sizeof len) < (ev_ssize_t)sizeof len)
		return 0;
	size_t n = (size_t)len[0] << 24 | (size_t)len[1] << 16 | (size_t)len[2] << 8 | len[3];
	if (n < 4 || n > FRAME_MAX) {
		evbuffer_drain(in, evbuffer_get_length(in));
		return -1;
	}
	if (evbuffer_get_length(in) < sizeof len + n)
		return 0;
	evbuffer_drain(in, sizeof len);
	evbuffer_remove(in, f->buf, n);
	if (frame_parse(f, f->buf, n, type) < 0) {
		evbuffer_drain(in, evbuffer_get_length(in));
		return -1;
	}
	return 1;
}
