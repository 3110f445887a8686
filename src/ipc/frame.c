/* frame.c - typed frames for the IPC between mailroom's processes (see frame.h). */
#include "ipc/frame.h"

#include <string.h>

#define HEADER_LEN 4 /* version, reserved, type (big-endian u16) */
#define KIND_STR 's'
#define KIND_U64 'u'

void
frame_init(struct frame *f, uint16_t type)
{
	f->buf[0] = FRAME_VERSION;
	f->buf[1] = 0;
	f->buf[2] = (uint8_t)(type >> 8);
	f->buf[3] = (uint8_t)type;
	f->len = HEADER_LEN;
	f->pos = HEADER_LEN;
	f->bad = false;
}

static void
put_be(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

static uint64_t
get_be(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

void
frame_put_str(struct frame *f, const char *s)
{
	frame_put_strn(f, s, strlen(s));
}

void
frame_put_strn(struct frame *f, const char *s, size_t n)
{
	if (f->bad || n > FRAME_MAX || FRAME_MAX - f->len < 5 + n) {
		f->bad = true;
		return;
	}
	f->buf[f->len] = KIND_STR;
	put_be(f->buf + f->len + 1, n, 4);
	memcpy(f->buf + f->len + 5, s, n);
	f->len += 5 + n;
}

void
frame_put_u64(struct frame *f, uint64_t v)
{
	if (f->bad || FRAME_MAX - f->len < 9) {
		f->bad = true;
		return;
	}
	f->buf[f->len] = KIND_U64;
	put_be(f->buf + f->len + 1, v, 8);
	f->len += 9;
}

int
frame_parse(struct frame *f, const void *data, size_t len, uint16_t *type)
{
	if (len < HEADER_LEN || len > FRAME_MAX)
		return -1;
	if (data != f->buf) /* the caller may have received straight into f */
		memcpy(f->buf, data, len);
	f->len = len;
	f->pos = HEADER_LEN;
	f->bad = false;
	if (f->buf[0] != FRAME_VERSION || f->buf[1] != 0)
		return -1;
	*type = (uint16_t)get_be(f->buf + 2, 2);
	return 0;
}

bool
frame_get_str(struct frame *f, char *out, size_t outlen)
{
	if (outlen > 0)
		out[0] = '\0';
	if (f->bad || f->len - f->pos < 5 || f->buf[f->pos] != KIND_STR)
		goto bad;
	uint64_t n = get_be(f->buf + f->pos + 1, 4);
	if (n > f->len - f->pos - 5 || n >= outlen || memchr(f->buf + f->pos + 5, '\0', n))
		goto bad;
	memcpy(out, f->buf + f->pos + 5, n);
	out[n] = '\0';
	f->pos += 5 + n;
	return true;
bad:
	f->bad = true;
	return false;
}

bool
frame_get_u64(struct frame *f, uint64_t *v)
{
	if (f->bad || f->len - f->pos < 9 || f->buf[f->pos] != KIND_U64) {
		f->bad = true;
		*v = 0;
		return false;
	}
	*v = get_be(f->buf + f->pos + 1, 8);
	f->pos += 9;
	return true;
}

bool
frame_end(const struct frame *f)
{
	return !f->bad && f->pos == f->len;
}
