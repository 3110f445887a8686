/*
 * frame_stream.h - frames (ipc/frame.h) over a byte stream: each frame preceded by
 * its length (4 octets, big-endian), for channels that must buffer while the other
 * side is slow (smtpd's notices to queued, through a bufferevent).
 */
#ifndef MAILROOM_FRAME_STREAM_H
#define MAILROOM_FRAME_STREAM_H

#include <stdint.h>

struct evbuffer;
struct frame;

/* frame_stream_put - append f to out. Returns 0, or -1 (a bad frame, out of memory). */
int frame_stream_put(struct evbuffer *out, const struct frame *f);

/*
 * frame_stream_get - take the next whole frame from in into f. Returns 1 (f parsed,
 * *type set), 0 (not all of it has arrived), or -1 (a length or header no frame
 * has: the stream cannot be trusted further and in was emptied).
 */
int frame_stream_get(struct evbuffer *in, struct frame *f, uint16_t *type);

#endif
