/*
 * dkim_tags.h - the tag=value lists of RFC 6376 3.2 that DKIM-Signature fields and
 * DKIM key records are written in (pure): cut into tags, each name and value located
 * in the text (values without the folding white space around them).
 */
#ifndef MAILROOM_DKIM_TAGS_H
#define MAILROOM_DKIM_TAGS_H

#include <stdbool.h>
#include <stddef.h>

#define DKIM_TAGS_MAX 32

struct dkim_tag {
	size_t name, name_len; /* offsets into the text */
	size_t val, val_len;   /* the value, FWS at either end left off */
};

struct dkim_tags {
	struct dkim_tag v[DKIM_TAGS_MAX];
	size_t n;
	const char *text;
};

/*
 * dkim_tags_parse - text[0..len) into t (which refers into text). Tag names are
 * ALPHA *(ALPHA / DIGIT / "_"); a value has no ';' and no controls but folding
 * white space; a name given twice makes the whole list invalid (3.2). Returns 0,
 * or -1 with the reason in why.
 */
int dkim_tags_parse(const char *text, size_t len, struct dkim_tags *t, char *why,
    size_t whylen);

/* dkim_tags_find - the tag named name (names are case-sensitive), or NULL. */
const struct dkim_tag *dkim_tags_find(const struct dkim_tags *t, const char *name);

/* dkim_tag_is - whether the value of tag is exactly s. */
bool dkim_tag_is(const struct dkim_tags *t, const struct dkim_tag *tag, const char *s);

/*
 * dkim_tag_copy - the value of tag into out as a C string. Returns 0, or -1 (it
 * does not fit, or has a NUL).
 */
int dkim_tag_copy(const struct dkim_tags *t, const struct dkim_tag *tag, char *out,
    size_t outlen);

/*
 * dkim_list_has - whether the colon-separated list p[0..n) (FWS around items
 * allowed) has item, compared without regard to case when nocase.
 */
bool dkim_list_has(const char *p, size_t n, const char *item, bool nocase);

#endif
