/*
 * wire.c - stored text to the wire form, a run between LFs at a time: memchr finds
 * each LF and the octets before it are copied whole.
 */
#include "store/wire.h"

#include <string.h>

void
wire_init(struct wire_enc *e, bool keep_crlf)
{
	e->keep_crlf = keep_crlf;
	e->line_start = true;
	e->prev_cr = false;
}

size_t
wire_encode(struct wire_enc *e, const char *in, size_t len, char *out)
{
	const char *p = in, *end = in + len;
	size_t o = 0;

	while (p < end) {
		if (e->line_start) {
			e->line_start = false;
			if (*p == '.')
				out[o++] = '.';
		}
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t run = (size_t)((nl ? nl : end) - p);
		memcpy(out + o, p, run);
		o += run;
		if (run > 0)
			e->prev_cr = p[run - 1] == '\r';
		if (nl == NULL)
			break;
		if (!(e->keep_crlf && e->prev_cr))
			out[o++] = '\r';
		out[o++] = '\n';
		e->prev_cr = false;
		e->line_start = true;
		p = nl + 1;
	}
	return o;
}

size_t
wire_end(struct wire_enc *e, char *out)
{
	size_t o = 0;

	if (!e->line_start) {
		out[o++] = '\r';
		out[o++] = '\n';
	}
	memcpy(out + o, ".\r\n", 3);
	e->line_start = true;
	return o + 3;
}

uint64_t
count_lf(const char *p, size_t n)
{
	uint64_t lines = 0;
	const char *end = p + n;

	while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		lines++;
		p++;
	}
	return lines;
}

uint64_t
wire_size_crlf(const char *in, size_t len, bool *prev_cr)
{
	uint64_t n = len;
	bool cr = *prev_cr;

	for (const char *p = in, *end = in + len; p < end; p++) {
		if (*p == '\n' && !cr)
			n++;
		cr = *p == '\r';
	}
	*prev_cr = cr;
	return n;
}
