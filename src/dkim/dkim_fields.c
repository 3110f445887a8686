/*
 * dkim_fields.c - cutting a header block into fields (RFC 5322 2.2: a field goes on
 * over lines that begin with a space or a tab).
 */
#include "dkim/dkim_fields.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int
push(struct dkim_fields *f, const char *p, size_t len, size_t name_len)
{
	if (f->n == f->cap) {
		size_t cap = f->cap ? 2 * f->cap : 16;
		struct dkim_field *v = realloc(f->v, cap * sizeof *v);
		if (v == NULL)
			return -1;
		f->v = v;
		f->cap = cap;
	}
	f->v[f->n++] = (struct dkim_field){ p, len, name_len };
	return 0;
}

int
dkim_fields_parse(const char *hdr, size_t len, struct dkim_fields *f)
{
	size_t i = 0;

	f->n = 0;
	while (i < len) {
		size_t start = i, end;
		/* This line, then every continuation line. */
		do {
			const char *lf = memchr(hdr + i, '\n', len - i);
			i = lf ? (size_t)(lf - hdr) + 1 : len;
		} while (i < len && (hdr[i] == ' ' || hdr[i] == '\t'));
		end = i;
		if (hdr[start] == ' ' || hdr[start] == '\t')
			continue; /* continuation with no field before it */
		const char *colon = memchr(hdr + start, ':', end - start);
		const char *lf = memchr(hdr + start, '\n', end - start);
		if (colon == NULL || (lf != NULL && colon > lf))
			continue;
		size_t name_len = (size_t)(colon - (hdr + start));
		while (name_len > 0 && (hdr[start + name_len - 1] == ' ' ||
		    hdr[start + name_len - 1] == '\t'))
			name_len--;
		if (name_len == 0)
			continue;
		if (push(f, hdr + start, end - start, name_len) < 0)
			return -1;
	}
	return 0;
}

void
dkim_fields_free(struct dkim_fields *f)
{
	free(f->v);
	memset(f, 0, sizeof *f);
}

bool
dkim_field_is(const struct dkim_field *f, const char *name)
{
	return strlen(name) == f->name_len && strncasecmp(f->p, name, f->name_len) == 0;
}

size_t
dkim_header_end(const char *text, size_t len, size_t *body_at)
{
	size_t i = 0;

	while (i < len) {
		const char *lf = memchr(text + i, '\n', len - i);
		size_t line_end = lf ? (size_t)(lf - text) : len;
		size_t line_len = line_end - i;
		if (line_len == 0 || (line_len == 1 && text[i] == '\r')) {
			*body_at = lf ? line_end + 1 : len;
			return i;
		}
		if (lf == NULL)
			break;
		i = line_end + 1;
	}
	*body_at = len;
	return len;
}
