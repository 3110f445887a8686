/*
 * frame.h - the one framed IPC between mailroom's processes. A frame is a
 * header (version, type) and a sequence of typed fields (strings, integers);
 * a reader takes the fields in the order it expects them, and any mismatch (a
 * wrong kind, a string too long for its buffer or holding a NUL, a short frame,
 * trailing data) marks the frame bad, so a malformed frame is refused whole.
 * Frames travel as one SOCK_SEQPACKET message each: no length prefix needed.
 * Pure functions: bytes in, fields out, no I/O.
 */
#ifndef MAILROOM_FRAME_H
#define MAILROOM_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FRAME_MAX 65536
#define FRAME_VERSION 1

struct frame {
	uint8_t buf[FRAME_MAX];
	size_t len;  /* octets in buf */
	size_t pos;  /* reading: the next field */
	bool bad;    /* a put that did not fit, or a get that did not match */
};

/* frame_init - an empty frame of the given type, for writing. */
void frame_init(struct frame *f, uint16_t type);
void frame_put_str(struct frame *f, const char *s);
/* frame_put_strn - the n octets at s as a string field (the reader refuses a NUL in it). */
void frame_put_strn(struct frame *f, const char *s, size_t n);
void frame_put_u64(struct frame *f, uint64_t v);

/*
 * frame_parse - take len octets received as a frame; *type is its type.
 * Returns 0, or -1 when the header is malformed or the version unknown.
 */
int frame_parse(struct frame *f, const void *data, size_t len, uint16_t *type);

/* frame_get_str - the next field as a NUL-terminated string of at most outlen-1 octets. */
bool frame_get_str(struct frame *f, char *out, size_t outlen);
bool frame_get_u64(struct frame *f, uint64_t *v);
/* frame_end - whether every field was read and all matched (no trailing data). */
bool frame_end(const struct frame *f);

#endif
