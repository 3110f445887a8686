/*
 * pop3_xfer.h - a message file as POP3 sends it (RFC 1939 section 3): the wire form
 * of store/wire.h (CRLF line ends, a '.' that starts a line doubled), and for TOP
 * only the headers, the blank line and the first n body lines. Fed in chunks, so a
 * message of any size streams through bounded memory.
 */
#ifndef MAILROOM_POP3_XFER_H
#define MAILROOM_POP3_XFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/wire.h"

struct pop3_xfer {
	struct wire_enc enc;
	bool top;            /* stop after the headers and body_lines lines */
	uint64_t body_lines; /* TOP's n */
	bool done;           /* nothing more of the input is wanted */
	/* TOP's place in the message, between chunks */
	bool prev_cr;        /* the last octet was CR */
	bool in_body;        /* the blank line after the headers has passed */
	bool line_empty;     /* the current line has no octets but a CR so far */
	uint64_t lines_sent; /* body lines finished */
};

/* pop3_xfer_init - for RETR (top false) or TOP n. */
void pop3_xfer_init(struct pop3_xfer *x, bool top, uint64_t n);

/*
 * pop3_xfer_feed - convert in[0..len) into out, which has room for 2 * len
 * octets (the worst case: every octet an LF, or a '.' at a line start). Returns
 * the octets written; sets x->done when TOP has all it wants (the rest of the
 * input is then ignored).
 */
size_t pop3_xfer_feed(struct pop3_xfer *x, const char *in, size_t len, char *out);

/*
 * pop3_xfer_finish - the end of the multi-line reply into out (room for 5
 * octets): a CRLF when the message did not end with a line end, then ".\r\n".
 * Returns the octets written.
 */
size_t pop3_xfer_finish(struct pop3_xfer *x, char *out);

/*
 * pop3_wire_size - what in[0..len) adds to the size POP3 reports (RFC 1939
 * octets, CRLF line ends, no dot-stuffing). *prev_cr carries the last octet
 * between chunks (start it false).
 */
uint64_t pop3_wire_size(const char *in, size_t len, bool *prev_cr);

#endif
