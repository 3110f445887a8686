/*
 * pop3_xfer.c - the byte-level conversion of a stored message (LF line ends, as
 * mailroom and Dovecot store them; CRLF files are kept as they are) into the
 * POP3 multi-line form, one chunk at a time.
 */
#include "pop3/pop3_xfer.h"

#include <string.h>

void
pop3_xfer_init(struct pop3_xfer *x, bool top, uint64_t n)
{
	memset(x, 0, sizeof *x);
	x->top = top;
	x->body_lines = n;
	x->line_start = true;
	x->line_empty = true;
}

/* end_of_line - a line has ended; true when TOP wants nothing more. */
static bool
end_of_line(struct pop3_xfer *x)
{
	bool was_empty = x->line_empty;

	x->line_start = true;
	x->line_empty = true;
	if (!x->top)
		return false;
	if (!x->in_body) {
		if (was_empty)
			x->in_body = true;
		return x->in_body && x->body_lines == 0;
	}
	x->lines_sent++;
	return x->lines_sent >= x->body_lines;
}

/*
 * feed_retr - RETR's conversion a line at a time: memchr finds each LF and the
 * octets between are copied whole (TOP's line counting is not needed here).
 */
static size_t
feed_retr(struct pop3_xfer *x, const char *in, size_t len, char *out)
{
	const char *p = in, *end = in + len;
	size_t o = 0;

	while (p < end) {
		if (x->line_start) {
			x->line_start = false;
			if (*p == '.')
				out[o++] = '.';
		}
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t run = (size_t)((nl ? nl : end) - p);
		memcpy(out + o, p, run);
		o += run;
		if (run > 0)
			x->prev_cr = p[run - 1] == '\r';
		if (nl == NULL)
			break;
		if (!x->prev_cr)
			out[o++] = '\r';
		out[o++] = '\n';
		x->prev_cr = false;
		x->line_start = true;
		p = nl + 1;
	}
	return o;
}

size_t
pop3_xfer_feed(struct pop3_xfer *x, const char *in, size_t len, char *out)
{
	size_t o = 0;

	if (x->done)
		return 0;
	if (!x->top)
		return feed_retr(x, in, len, out);
	for (size_t i = 0; i < len; i++) {
		char c = in[i];
		if (x->line_start) {
			x->line_start = false;
			if (c == '.')
				out[o++] = '.';
		}
		if (c == '\n') {
			if (!x->prev_cr)
				out[o++] = '\r';
			out[o++] = '\n';
			x->prev_cr = false;
			if (end_of_line(x)) {
				x->done = true;
				return o;
			}
			continue;
		}
		/* A CR counts as empty only while it may still be the CR of CRLF. */
		if (x->prev_cr)
			x->line_empty = false;
		if (c != '\r')
			x->line_empty = false;
		x->prev_cr = c == '\r';
		out[o++] = c;
	}
	return o;
}

size_t
pop3_xfer_finish(struct pop3_xfer *x, char *out)
{
	size_t o = 0;

	/* A file that ends inside a line: end it, or the "." would join it. */
	if (!x->line_start) {
		out[o++] = '\r';
		out[o++] = '\n';
	}
	out[o++] = '.';
	out[o++] = '\r';
	out[o++] = '\n';
	x->done = true;
	return o;
}

uint64_t
pop3_wire_size(const char *in, size_t len, bool *prev_cr)
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
