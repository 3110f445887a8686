/*
 * pop3_xfer.c - what POP3 adds to the shared wire encoder (store/wire.c): files
 * are stored with LF line ends, as mailroom and Dovecot store them, but CRLF files
 * are kept as they are (keep_crlf); and TOP's cut after the headers and n lines.
 */
#include "pop3/pop3_xfer.h"

#include <string.h>

void
pop3_xfer_init(struct pop3_xfer *x, bool top, uint64_t n)
{
	memset(x, 0, sizeof *x);
	wire_init(&x->enc, true);
	x->top = top;
	x->body_lines = n;
	x->line_empty = true;
}

/* end_of_line - a line has ended; true when TOP wants nothing more. */
static bool
end_of_line(struct pop3_xfer *x)
{
	bool was_empty = x->line_empty;

	x->line_empty = true;
	if (!x->in_body) {
		if (was_empty)
			x->in_body = true;
		return x->in_body && x->body_lines == 0;
	}
	x->lines_sent++;
	return x->lines_sent >= x->body_lines;
}

/* top_take - how much of in[0..len) TOP sends: up to the end of its last line. */
static size_t
top_take(struct pop3_xfer *x, const char *in, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		char c = in[i];
		if (c == '\n') {
			x->prev_cr = false;
			if (end_of_line(x)) {
				x->done = true;
				return i + 1;
			}
			continue;
		}
		/* A CR counts as empty only while it may still be the CR of CRLF. */
		if (x->prev_cr || c != '\r')
			x->line_empty = false;
		x->prev_cr = c == '\r';
	}
	return len;
}

size_t
pop3_xfer_feed(struct pop3_xfer *x, const char *in, size_t len, char *out)
{
	if (x->done)
		return 0;
	size_t take = x->top ? top_take(x, in, len) : len;
	return wire_encode(&x->enc, in, take, out);
}

size_t
pop3_xfer_finish(struct pop3_xfer *x, char *out)
{
	x->done = true;
	return wire_end(&x->enc, out);
}

uint64_t
pop3_wire_size(const char *in, size_t len, bool *prev_cr)
{
	return wire_size_crlf(in, len, prev_cr);
}
