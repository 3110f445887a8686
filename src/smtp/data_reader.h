/*
 * data_reader.h - the message text of DATA and BDAT, as a pure streaming state
 * machine: raw octets from the network in, the stored form out.
 *
 * Stored form: lines end in a single LF (the Maildir convention; senders add CR
 * back). In DATA mode only CR LF "." CR LF ends the message; a line that begins
 * with "." after CR LF loses that dot (RFC 5321 4.5.2). A bare CR or a bare LF is
 * never a line end for SMTP purposes (so no dot handling follows it, and nothing
 * after it can end the message: no SMTP smuggling) but it is stored as a newline,
 * so the stored message never holds a lone CR.
 */
#ifndef MAILROOM_DATA_READER_H
#define MAILROOM_DATA_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

enum data_mode {
	DATA_MODE_DOT,   /* DATA: dot-stuffed, ends at CRLF.CRLF */
	DATA_MODE_CHUNK, /* BDAT: the caller passes exactly the chunk's octets */
};

/* Header fields noticed in the message's header section. */
#define DATA_HDR_DATE 0x1
#define DATA_HDR_MESSAGE_ID 0x2

struct data_reader {
	enum data_mode mode;
	int state;             /* internal */
	uint64_t raw_octets;   /* octets consumed, as received: for the size limit */
	uint64_t out_octets;   /* octets appended to out */
	uint64_t out_lines;    /* LFs appended to out: out_octets + out_lines = size with CRLF */
	bool in_header;        /* still in the header section */
	unsigned header_flags; /* DATA_HDR_* seen in the header section */
	uint32_t received;     /* Received: fields in the header section (hops, for max_hops) */
	char name[16];         /* internal: start of the current header line */
	size_t namelen;
	bool line_start;       /* internal: out is at the start of a line */
};

void data_reader_init(struct data_reader *r, enum data_mode mode);

/*
 * data_reader_feed - consume input, appending the stored form to out. In DATA
 * mode it stops after the end-of-data line and sets *done; the octets after it
 * (a pipelined next command) are not consumed. Returns the octets consumed, or
 * (size_t)-1 when out cannot grow. In CHUNK mode all of in is consumed.
 * When out must not grow (over the size limit), pass out = NULL: octets are
 * counted and the end is still found, nothing is stored.
 */
size_t data_reader_feed(struct data_reader *r, const char *in, size_t len, struct buf *out,
    bool *done);

/*
 * data_reader_finish - at the end of the message (BDAT LAST, or DATA done): a
 * pending CR becomes a newline and a last line without one gets one. Returns 0 or -1.
 */
int data_reader_finish(struct data_reader *r, struct buf *out);

#endif
