/*
 * milter_hdr.h - a message's header block as the milters see and change it: the
 * fields read from the top of the stored text (LF line ends), each kept as it was
 * written, folded lines and all, so what no filter touched is stored unchanged;
 * the changes a filter may ask for (add at the end, insert at a place, change or
 * delete the n-th field of a name); and the block written out again. The values a
 * filter gives are network input: a line break in one is refolded (it can never
 * start a field of its own or end the header block), and every size is bounded.
 */
#ifndef MAILROOM_MILTER_HDR_H
#define MAILROOM_MILTER_HDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

#define MHDR_FIELD_MAX 64000          /* one field (fits one milter packet) */
#define MHDR_BLOCK_MAX (512 * 1024)   /* the whole block, changes included */
#define MHDR_FIELDS_MAX 4000

struct mhdr_field {
	char *text;      /* "Name: value\n" with its folded lines; LF ends */
	size_t len;
	size_t name_len; /* the name is text[0..name_len) */
};

struct mhdr {
	struct mhdr_field *v;
	size_t n, cap;
	size_t octets;   /* the sum of the fields' lengths */
	bool changed;    /* a change was made since mhdr_parse */
};

/*
 * mhdr_parse - the header fields at the top of text[0..len); whole says that len is
 * all of the text (a last line without LF then counts). Reading stops at the empty
 * line, at a line that is no field, at a field over MHDR_FIELD_MAX or beyond
 * MHDR_FIELDS_MAX fields, or at the first line not whole in text: *end is where
 * the fields stop (what follows is the body for the filters). Returns 0, or -1
 * (out of memory).
 */
int mhdr_parse(struct mhdr *h, const char *text, size_t len, bool whole, size_t *end);

/*
 * mhdr_value - the value of field f as a filter is sent it: after the colon, its
 * leading blanks removed unless leadspc (SMFIP_HDR_LEADSPC), without the last LF.
 */
void mhdr_value(const struct mhdr_field *f, bool leadspc, const char **v, size_t *n);

/* mhdr_name_ok - printable ASCII but ':' (RFC 5322's ftext), 1 to 255 octets. */
bool mhdr_name_ok(const char *name);

/*
 * The changes; name and value as a filter sends them (leadspc: the value brings
 * its own leading blank). Each returns 0, or -1 when refused (a bad name, or over
 * the limits, or out of memory) with nothing changed.
 *
 * mhdr_add - a field after the last one.
 * mhdr_insert - a field at position idx (0: the first); past the end: the last.
 * mhdr_change - the idx-th field named name (1: the first; 0 is taken as 1),
 *   replaced, or deleted when value is empty. No such field: an empty value
 *   changes nothing, another is added at the end.
 */
int mhdr_add(struct mhdr *h, const char *name, const char *value, bool leadspc);
int mhdr_insert(struct mhdr *h, uint32_t idx, const char *name, const char *value,
    bool leadspc);
int mhdr_change(struct mhdr *h, uint32_t idx, const char *name, const char *value,
    bool leadspc);

/* mhdr_write - every field, in order, appended to out. Returns 0 or -1. */
int mhdr_write(const struct mhdr *h, struct buf *out);

/* mhdr_copy - dst (empty) made a copy of src. Returns 0 or -1 (dst then empty). */
int mhdr_copy(struct mhdr *dst, const struct mhdr *src);

void mhdr_free(struct mhdr *h);

#endif
