/*
 * dkim_sign.c - building DKIM-Signature and ARC-Message-Signature fields and the
 * data their signatures cover (RFC 6376 3.7, 5.4; RFC 8617 4.1.2).
 */
#include "dkim/dkim_sign.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dkim/dkim_canon.h"

const char *const dkim_signed_fields[] = {
	"From", "To", "Cc", "Subject", "Date", "Message-ID", "Reply-To", "In-Reply-To",
	"References", "MIME-Version", "Content-Type", "Content-Transfer-Encoding",
	"List-Unsubscribe", "List-Unsubscribe-Post",
	"TLS-Report-Domain", "TLS-Report-Submitter", /* RFC 8460 5.3: the reports' own */
	NULL,
};

#define FOLD_AT 76

int
dkim_field_add_tag(struct buf *field, size_t *col, const char *tag, const char *value,
    int last)
{
	size_t tlen = strlen(tag), vlen = strlen(value);
	bool is_list = strcmp(tag, "h") == 0;
	bool foldable = is_list || strcmp(tag, "b") == 0 || strcmp(tag, "bh") == 0;
	size_t need = tlen + 1 + vlen + (last ? 0 : 1);

	/* A new line for the tag when it would pass the fold column (or for any long value). */
	if (*col + 1 + (foldable ? tlen + 2 : need) > FOLD_AT) {
		if (buf_append(field, "\n\t", 2) < 0)
			return -1;
		*col = 8;
	} else {
		if (buf_putc(field, ' ') < 0)
			return -1;
		(*col)++;
	}
	if (buf_printf(field, "%s=", tag) < 0)
		return -1;
	*col += tlen + 1;
	for (size_t i = 0; i < vlen;) {
		size_t n;
		if (is_list) {
			const char *colon = strchr(value + i, ':');
			n = colon ? (size_t)(colon - (value + i)) + 1 : vlen - i;
		} else if (foldable) {
			n = *col < FOLD_AT ? FOLD_AT - *col : 1;
			if (n > vlen - i)
				n = vlen - i;
		} else {
			n = vlen - i;
		}
		if (foldable && i > 0 && *col + n > FOLD_AT) {
			if (buf_append(field, "\n\t ", 3) < 0)
				return -1;
			*col = 9;
		}
		if (buf_append(field, value + i, n) < 0)
			return -1;
		*col += n;
		i += n;
	}
	if (!last) {
		if (buf_putc(field, ';') < 0)
			return -1;
		(*col)++;
	}
	return 0;
}

int
dkim_pick_fields(const struct dkim_fields *hdr, const char *h, struct buf *data)
{
	return dkim_pick_fields_c(hdr, h, false, data);
}

int
dkim_pick_fields_c(const struct dkim_fields *hdr, const char *h, bool simple, struct buf *data)
{
	bool *taken = calloc(hdr->n ? hdr->n : 1, sizeof *taken);
	int rc = 0;

	if (taken == NULL)
		return -1;
	for (const char *p = h; *p != '\0' && rc == 0;) {
		const char *end = strchr(p, ':');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		char name[128];
		/* Names may carry folding spaces around the colons. */
		while (n > 0 && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) {
			p++;
			n--;
		}
		size_t m = n;
		while (m > 0 && (p[m - 1] == ' ' || p[m - 1] == '\t' || p[m - 1] == '\r' ||
		    p[m - 1] == '\n'))
			m--;
		if (m > 0 && m < sizeof name) {
			memcpy(name, p, m);
			name[m] = '\0';
			for (size_t i = hdr->n; i-- > 0;) {
				if (!taken[i] && dkim_field_is(&hdr->v[i], name)) {
					taken[i] = true;
					rc = dkim_canon_header_c(hdr->v[i].p, hdr->v[i].len, simple,
					    true, data);
					break;
				}
			}
		}
		p += n;
		if (*p == ':')
			p++;
		else if (end == NULL)
			break;
	}
	free(taken);
	return rc;
}

/* h_list - the names of dkim_signed_fields once per instance in hdr, and "from" once more. */
static int
h_list(const struct dkim_fields *hdr, struct buf *h)
{
	bool from = false;

	for (size_t k = 0; dkim_signed_fields[k] != NULL; k++) {
		for (size_t i = 0; i < hdr->n; i++) {
			if (!dkim_field_is(&hdr->v[i], dkim_signed_fields[k]))
				continue;
			if (k == 0)
				from = true;
			if (buf_printf(h, "%s%s", h->len ? ":" : "", dkim_signed_fields[k]) < 0)
				return -1;
		}
	}
	if (!from)
		return -1;
	for (size_t i = 0; i < h->len; i++)
		if (h->data[i] >= 'A' && h->data[i] <= 'Z')
			h->data[i] = (char)(h->data[i] - 'A' + 'a');
	return buf_append(h, ":from", 5) < 0 ? -1 : 0;
}

int
dkim_sign_build(const struct dkim_fields *hdr, const struct dkim_sign_req *r,
    struct buf *field, struct buf *data)
{
	struct buf h = { 0 };
	char num[32];
	size_t col;
	int rc = -1;

	if (h_list(hdr, &h) < 0 || buf_putc(&h, '\0') < 0)
		goto out;
	if (buf_printf(field, "%s: %s;", r->field_name, r->first_tag) < 0)
		goto out;
	col = field->len;
	if (dkim_field_add_tag(field, &col, "a", r->alg, 0) < 0 ||
	    dkim_field_add_tag(field, &col, "c", "relaxed/relaxed", 0) < 0 ||
	    dkim_field_add_tag(field, &col, "d", r->domain, 0) < 0 ||
	    dkim_field_add_tag(field, &col, "s", r->selector, 0) < 0)
		goto out;
	snprintf(num, sizeof num, "%lld", r->t);
	if (dkim_field_add_tag(field, &col, "t", num, 0) < 0)
		goto out;
	if (r->x > 0) {
		snprintf(num, sizeof num, "%lld", r->x);
		if (dkim_field_add_tag(field, &col, "x", num, 0) < 0)
			goto out;
	}
	if (dkim_field_add_tag(field, &col, "h", h.data, 0) < 0 ||
	    dkim_field_add_tag(field, &col, "bh", r->bh, 0) < 0)
		goto out;
	if (buf_append(field, "\n\tb=", 4) < 0)
		goto out;
	if (dkim_pick_fields(hdr, h.data, data) < 0 ||
	    dkim_canon_header(field->data, field->len, false, data) < 0)
		goto out;
	rc = 0;
out:
	buf_free(&h);
	return rc;
}

int
dkim_sign_finish(struct buf *field, const char *sig_b64)
{
	size_t n = strlen(sig_b64);

	/* "\tb=" opens the last line: 4 columns, then lines of base64. */
	for (size_t i = 0, width = FOLD_AT - 4; i < n; i += width, width = FOLD_AT - 9) {
		if (i > 0 && buf_append(field, "\n\t ", 3) < 0)
			return -1;
		if (buf_append(field, sig_b64 + i, n - i < width ? n - i : width) < 0)
			return -1;
	}
	return buf_putc(field, '\n');
}
