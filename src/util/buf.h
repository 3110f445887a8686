/* buf.h - a growable byte buffer with overflow-checked growth. */
#ifndef MAILROOM_BUF_H
#define MAILROOM_BUF_H

#include <stddef.h>

struct buf {
	char *data; /* NUL-terminated when len > 0 or after any append */
	size_t len, cap;
};

/* Each returns 0, or -1 when out of memory (the buffer is then unchanged). */
int buf_append(struct buf *b, const void *p, size_t n);
int buf_putc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* buf_reserve - room for n more octets. */
int buf_reserve(struct buf *b, size_t n);
void buf_reset(struct buf *b); /* len = 0, memory kept */
void buf_free(struct buf *b);

#endif
