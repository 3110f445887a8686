/*
 * wire.h - the one conversion of stored message text (LF line ends, as the queue and
 * the Maildirs keep it) into the form SMTP's DATA and POP3's RETR and TOP send:
 * CRLF line ends, a '.' that starts a line doubled, ".\r\n" at the end. Fed in
 * chunks, so a message of any size streams through bounded memory; and the sizes
 * of that form, for SMTP's SIZE, POP3's octet counts and Maildir's W=.
 */
#ifndef MAILROOM_STORE_WIRE_H
#define MAILROOM_STORE_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct wire_enc {
	bool keep_crlf;  /* a CR before an LF already ends the line (files not written by us) */
	bool line_start; /* the next octet begins a line */
	bool prev_cr;    /* the last octet was a CR */
};

/*
 * wire_init - ready to encode a message. keep_crlf false: every LF becomes CRLF
 * (the queue's text, whose CRs are the message's own); true: an LF after a CR is
 * left alone (Maildir files that other programs wrote with CRLF).
 */
void wire_init(struct wire_enc *e, bool keep_crlf);

/*
 * wire_encode - in[0..len) into out, which has room for 2 * len octets (the worst
 * case: every octet an LF, or a '.' at a line start). Returns the octets written.
 */
size_t wire_encode(struct wire_enc *e, const char *in, size_t len, char *out);

/*
 * wire_end - the end of the text into out (room for 5 octets): a CRLF when it did
 * not end with a line end (or the "." would join its last line), then ".\r\n".
 * Returns the octets written.
 */
size_t wire_end(struct wire_enc *e, char *out);

/* count_lf - the LFs in p[0..n): what CRLF line ends add to the stored (LF) size. */
uint64_t count_lf(const char *p, size_t n);

/*
 * wire_size_crlf - what in[0..len) adds to the size with CRLF line ends, counting no
 * CR for an LF that has one already (keep_crlf's size; no dot-stuffing). *prev_cr
 * carries the last octet between chunks (start it false).
 */
uint64_t wire_size_crlf(const char *in, size_t len, bool *prev_cr);

#endif
