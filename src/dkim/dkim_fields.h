/*
 * dkim_fields.h - a message's header block cut into its fields (each with its
 * continuation lines), which the signer picks from and the verifier will too; and
 * the name of a field compared as RFC 5322 says (case-insensitive).
 */
#ifndef MAILROOM_DKIM_FIELDS_H
#define MAILROOM_DKIM_FIELDS_H

#include <stdbool.h>
#include <stddef.h>

struct dkim_field {
	const char *p;   /* the field, from its name to its last line end (included) */
	size_t len;
	size_t name_len; /* the name, without spaces before the colon */
};

struct dkim_fields {
	struct dkim_field *v;
	size_t n, cap;
};

/*
 * dkim_fields_parse - the fields of hdr[0..len) (the header block without the empty
 * line that ends it; LF or CRLF ends) into f, which refers into hdr. Lines without a
 * colon that do not continue a field are skipped. Returns 0, or -1 (out of memory).
 */
int dkim_fields_parse(const char *hdr, size_t len, struct dkim_fields *f);
void dkim_fields_free(struct dkim_fields *f);

/* dkim_field_is - whether f is named name (any case). */
bool dkim_field_is(const struct dkim_field *f, const char *name);

/*
 * dkim_header_end - where the header block of text[0..len) ends: the offset of the
 * empty line after it (the body starts after that line), or len when the block has
 * not ended within len. *body_at gets the offset of the body (len when unknown).
 */
size_t dkim_header_end(const char *text, size_t len, size_t *body_at);

#endif
