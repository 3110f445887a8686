/*
 * outform.h - the text of a queued message as it leaves: msg_reader's stored text
 * through deliver/linefix.h, so that no line is over 998 octets, after optional
 * header lines of our own (DKIM-Signature, ARC-*). A first scan decides what to
 * change; a message that needs nothing is read straight from the file. Every read
 * from the start gives the same octets (the DKIM hash and the sent text agree).
 * LF line ends: store/wire.h makes the wire form afterwards.
 */
#ifndef MAILROOM_DELIVER_OUTFORM_H
#define MAILROOM_DELIVER_OUTFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "deliver/linefix.h"
#include "store/envelope.h"
#include "store/msg_reader.h"
#include "util/buf.h"

struct outform {
	bool open;
	struct msg_reader r;
	struct linefix_plan plan;
	bool changed;
	struct linefix *lf;   /* the transform, while reading a changed text */
	struct buf out;       /* its output not yet read */
	size_t out_pos;
	bool in_done;         /* the stored text is all fed */
	char *prefix;
	size_t prefix_len, prefix_pos;
	bool prefix_failed;
	uint64_t wire_size;   /* of the text without the prefix, once counted */
	bool wire_counted;
};

/* outform_open - env's text, scanned (o is not open: it is overwritten). 0, or -1 with errno. */
int outform_open(struct outform *o, const char *queue_dir, const struct envelope *env);

/*
 * outform_set_prefix - header lines (LF ends) sent before the text: copied (NULL:
 * none). Out of memory, the next read fails with ENOMEM.
 */
void outform_set_prefix(struct outform *o, const char *text, size_t len);

/* outform_read - the next octets, at most len: how many, 0 at the end, -1 with errno. */
ssize_t outform_read(struct outform *o, char *buf, size_t len);

/* outform_rewind - back to the start (the prefix included). 0 or -1 (errno). */
int outform_rewind(struct outform *o);

/* outform_wire_size - the octets with CRLF line ends, prefix included (SIZE=). 0 or -1. */
int outform_wire_size(struct outform *o, uint64_t *size);

/* outform_changed - something was folded or encoded. */
bool outform_changed(const struct outform *o);

/* outform_close - a closed or zeroed outform too. */
void outform_close(struct outform *o);

#endif
