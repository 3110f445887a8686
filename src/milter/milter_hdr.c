/* milter_hdr.c - the header block the milters read and change (see milter_hdr.h). */
#include "milter/milter_hdr.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool
blank(char c)
{
	return c == ' ' || c == '\t';
}

bool
mhdr_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 255)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c < 33 || c > 126 || c == ':')
			return false;
	}
	return true;
}

/* grow - room for one more field. */
static int
grow(struct mhdr *h)
{
	if (h->n < h->cap)
		return 0;
	size_t cap = h->cap ? 2 * h->cap : 32;
	struct mhdr_field *v = realloc(h->v, cap * sizeof *v);
	if (v == NULL)
		return -1;
	h->v = v;
	h->cap = cap;
	return 0;
}

/* field_name_len - the length of the name that starts line p[0..n), or 0 when it is no field. */
static size_t
field_name_len(const char *p, size_t n)
{
	size_t i = 0;

	while (i < n && (unsigned char)p[i] >= 33 && (unsigned char)p[i] <= 126 && p[i] != ':')
		i++;
	size_t name = i;
	/* RFC 5322's obsolete syntax lets blanks stand before the colon. */
	while (i < n && blank(p[i]))
		i++;
	if (name == 0 || name > 255 || i >= n || p[i] != ':')
		return 0;
	return name;
}

int
mhdr_parse(struct mhdr *h, const char *text, size_t len, bool whole, size_t *end)
{
	size_t pos = 0;

	*end = 0;
	while (pos < len && h->n < MHDR_FIELDS_MAX) {
		const char *line = text + pos;
		size_t left = len - pos;
		const char *lf = memchr(line, '\n', left);
		size_t line_len = lf ? (size_t)(lf - line) + 1 : left;
		if (lf == NULL && !whole)
			break;
		size_t name = field_name_len(line, line_len);
		if (name == 0)
			break;
		/* The field goes on over the lines that start with a blank. */
		size_t flen = line_len;
		bool cut = lf == NULL && !whole;
		while (lf != NULL && pos + flen < len && blank(text[pos + flen])) {
			lf = memchr(text + pos + flen, '\n', len - pos - flen);
			if (lf == NULL && !whole) {
				cut = true;
				break;
			}
			flen = lf ? (size_t)(lf - line) + 1 : left;
			if (flen > MHDR_FIELD_MAX)
				break;
		}
		/* Not known to be whole yet (the next line may fold it): stop before it. */
		if (cut || (!whole && pos + flen == len) || flen > MHDR_FIELD_MAX)
			break;
		if (grow(h) < 0)
			return -1;
		char *copy = malloc(flen + 1);
		if (copy == NULL)
			return -1;
		memcpy(copy, line, flen);
		copy[flen] = '\0';
		h->v[h->n++] = (struct mhdr_field){ copy, flen, name };
		h->octets += flen;
		pos += flen;
	}
	*end = pos;
	return 0;
}

void
mhdr_value(const struct mhdr_field *f, bool leadspc, const char **v, size_t *n)
{
	const char *p = (const char *)memchr(f->text, ':', f->len) + 1;
	const char *e = f->text + f->len;

	if (e > p && e[-1] == '\n')
		e--;
	if (!leadspc)
		while (p < e && blank(*p))
			p++;
	*v = p;
	*n = (size_t)(e - p);
}

/*
 * make_field - "name: value\n" from a filter's name and value, refolded: CR LF and
 * lone CRs are line breaks, a line that would start without a blank gets a tab, a
 * line of blanks only goes (it would end the header block for some readers), other
 * controls but tab become blanks. NULL when refused.
 */
static char *
make_field(const char *name, const char *value, bool leadspc, size_t *lenp)
{
	struct buf b = { 0 };

	if (!mhdr_name_ok(name))
		return NULL;
	int rc = buf_printf(&b, "%s:%s", name, leadspc ? "" : " ");
	const char *p = value;
	while (rc == 0 && *p != '\0') {
		/* one line of the value */
		size_t n = strcspn(p, "\r\n");
		size_t i = 0;
		while (i < n && blank(p[i]))
			i++;
		bool first = p == value;
		if (i < n || first) {
			if (!first && i == 0)
				rc |= buf_putc(&b, '\t');
			for (size_t k = 0; rc == 0 && k < n; k++) {
				unsigned char c = (unsigned char)p[k];
				rc |= buf_putc(&b, (c < 0x20 && c != '\t') || c == 0x7f ? ' ' : (char)c);
			}
		}
		p += n;
		if (*p == '\r' && p[1] == '\n')
			p += 2;
		else if (*p != '\0')
			p++;
		/* The next line, if it holds more than blanks, follows a line break. */
		const char *q = p;
		while (*q != '\0' && *q != '\r' && *q != '\n') {
			if (!blank(*q))
				break;
			q++;
		}
		if (rc == 0 && *p != '\0' && *q != '\0' && *q != '\r' && *q != '\n')
			rc |= buf_putc(&b, '\n');
	}
	rc |= buf_putc(&b, '\n');
	if (rc != 0 || b.len > MHDR_FIELD_MAX) {
		buf_free(&b);
		return NULL;
	}
	*lenp = b.len;
	return b.data;
}

/* put_at - a new field at index i (0..n). */
static int
put_at(struct mhdr *h, size_t i, const char *name, const char *value, bool leadspc)
{
	size_t len;

	if (h->n >= MHDR_FIELDS_MAX || grow(h) < 0)
		return -1;
	char *text = make_field(name, value, leadspc, &len);
	if (text == NULL)
		return -1;
	if (h->octets + len > MHDR_BLOCK_MAX) {
		free(text);
		return -1;
	}
	memmove(h->v + i + 1, h->v + i, (h->n - i) * sizeof *h->v);
	h->v[i] = (struct mhdr_field){ text, len, strlen(name) };
	h->n++;
	h->octets += len;
	h->changed = true;
	return 0;
}

int
mhdr_add(struct mhdr *h, const char *name, const char *value, bool leadspc)
{
	return put_at(h, h->n, name, value, leadspc);
}

int
mhdr_insert(struct mhdr *h, uint32_t idx, const char *name, const char *value, bool leadspc)
{
	return put_at(h, idx < h->n ? idx : h->n, name, value, leadspc);
}

int
mhdr_change(struct mhdr *h, uint32_t idx, const char *name, const char *value, bool leadspc)
{
	size_t nlen = strlen(name), seen = 0, i;

	if (!mhdr_name_ok(name))
		return -1;
	if (idx == 0)
		idx = 1;
	for (i = 0; i < h->n; i++) {
		const struct mhdr_field *f = &h->v[i];
		if (f->name_len == nlen && strncasecmp(f->text, name, nlen) == 0 && ++seen == idx)
			break;
	}
	if (i == h->n)
		return value[0] == '\0' ? 0 : mhdr_add(h, name, value, leadspc);
	if (value[0] == '\0') {
		h->octets -= h->v[i].len;
		free(h->v[i].text);
		memmove(h->v + i, h->v + i + 1, (h->n - i - 1) * sizeof *h->v);
		h->n--;
		h->changed = true;
		return 0;
	}
	size_t len;
	char *text = make_field(name, value, leadspc, &len);
	if (text == NULL || h->octets - h->v[i].len + len > MHDR_BLOCK_MAX) {
		free(text);
		return -1;
	}
	h->octets = h->octets - h->v[i].len + len;
	free(h->v[i].text);
	h->v[i] = (struct mhdr_field){ text, len, nlen };
	h->changed = true;
	return 0;
}

int
mhdr_write(const struct mhdr *h, struct buf *out)
{
	if (buf_reserve(out, h->octets) < 0)
		return -1;
	for (size_t i = 0; i < h->n; i++)
		if (buf_append(out, h->v[i].text, h->v[i].len) < 0)
			return -1;
	return 0;
}

int
mhdr_copy(struct mhdr *dst, const struct mhdr *src)
{
	memset(dst, 0, sizeof *dst);
	if (src->n > 0 && (dst->v = calloc(src->n, sizeof *dst->v)) == NULL)
		return -1;
	dst->cap = src->n;
	for (size_t i = 0; i < src->n; i++) {
		char *t = malloc(src->v[i].len + 1);
		if (t == NULL) {
			mhdr_free(dst);
			return -1;
		}
		memcpy(t, src->v[i].text, src->v[i].len + 1);
		dst->v[i] = (struct mhdr_field){ t, src->v[i].len, src->v[i].name_len };
		dst->n++;
	}
	dst->octets = src->octets;
	dst->changed = src->changed;
	return 0;
}

void
mhdr_free(struct mhdr *h)
{
	for (size_t i = 0; i < h->n; i++)
		free(h->v[i].text);
	free(h->v);
	memset(h, 0, sizeof *h);
}
