/*
 * dmarc_from.c - the Author Domain from the From field: comments dropped, the
 * list cut at its commas (and a group's ':' and ';'), each mailbox's addr-spec
 * taken from its angle brackets or as it stands, and the domain after its last
 * '@' checked.
 */
#include "dmarc/dmarc_from.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dkim/dkim_fields.h"

struct from_state {
	char domain[256];
	int count;
	const char *error; /* the first problem found */
	char detail[256];
};

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Where the last c outside quoted strings in s[0..n) is, or -1. */
static long
last_unquoted(const char *s, size_t n, char c)
{
	bool q = false;
	long at = -1;

	for (size_t i = 0; i < n; i++) {
		if (q && s[i] == '\\' && i + 1 < n) {
			i++;
			continue;
		}
		if (s[i] == '"')
			q = !q;
		else if (!q && s[i] == c)
			at = (long)i;
	}
	return at;
}

static long
first_unquoted(const char *s, size_t n, char c)
{
	bool q = false;

	for (size_t i = 0; i < n; i++) {
		if (q && s[i] == '\\' && i + 1 < n) {
			i++;
			continue;
		}
		if (s[i] == '"')
			q = !q;
		else if (!q && s[i] == c)
			return (long)i;
	}
	return -1;
}

/* The domain d[0..n) (spaces, as obsolete CFWS around dots, removed) into out. */
static const char *
take_domain(const char *d, size_t n, char *out, size_t outlen)
{
	size_t o = 0, label = 0;
	bool gap = false; /* a space after a label's first octets: only a dot may follow */

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)d[i];
		if (is_space((char)c)) {
			gap = label > 0;
			continue;
		}
		if (gap && c != '.')
			return "a malformed domain";
		gap = false;
		if (c == '[')
			return "an address literal has no DMARC policy";
		if (c >= 0x80)
			return "a non-ASCII domain (not converted to an A-label)";
		if (c == '.') {
			if (label == 0)
				return "an empty label in the domain";
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_') {
			if (++label > 63)
				return "a label longer than 63 octets";
		} else {
			return "a malformed domain";
		}
		if (o + 1 >= outlen)
			return "a domain too long";
		out[o++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
	}
	if (o > 0 && out[o - 1] == '.')
		o--; /* a final dot names the same domain */
	if (o == 0)
		return "an address without a domain";
	out[o] = '\0';
	return NULL;
}

/* One mailbox (comments already gone): its domain counted in st. */
static void
take_mailbox(struct from_state *st, const char *s, size_t n)
{
	char dom[256];
	const char *err;

	while (n > 0 && is_space(s[0])) {
		s++;
		n--;
	}
	while (n > 0 && is_space(s[n - 1]))
		n--;
	if (n == 0)
		return; /* an empty list element (obs-mbox-list), or an empty group */
	long lt = first_unquoted(s, n, '<');
	if (lt >= 0) {
		long gt = first_unquoted(s + lt, n - (size_t)lt, '>');
		if (gt < 0 || (size_t)(lt + gt) != n - 1) {
			err = "a malformed angle address";
			goto bad;
		}
		s += lt + 1;
		n = (size_t)gt - 1;
		long colon = last_unquoted(s, n, ':'); /* obs-route: "@a,@b:" */
		if (colon >= 0) {
			s += colon + 1;
			n -= (size_t)colon + 1;
		}
	}
	long at = last_unquoted(s, n, '@');
	if (at <= 0) {
		err = "an address without a domain";
		goto bad;
	}
	size_t k = 0;
	while (k < (size_t)at && is_space(s[k]))
		k++;
	if (k == (size_t)at) {
		err = "an address without a local part";
		goto bad;
	}
	err = take_domain(s + at + 1, n - (size_t)at - 1, dom, sizeof dom);
	if (err != NULL)
		goto bad;
	if (st->count > 0 && strcmp(st->domain, dom) != 0) {
		if (st->error == NULL) {
			st->error = "addresses with different domains";
			snprintf(st->detail, sizeof st->detail, "%s and %s", st->domain, dom);
		}
		return;
	}
	strcpy(st->domain, dom);
	st->count++;
	return;
bad:
	if (st->error == NULL)
		st->error = err;
}

int
dmarc_from_value(const char *v, size_t len, char *domain, size_t domlen, char *why,
    size_t whylen)
{
	struct from_state st = { .count = 0 };
	char *cur = malloc(len + 1);
	size_t n = 0, depth = 0;
	bool quote = false, angle = false, literal = false;

	if (cur == NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		char c = v[i];
		if (depth > 0) {
			if (c == '\\' && i + 1 < len)
				i++;
			else if (c == '(')
				depth++;
			else if (c == ')' && --depth == 0)
				cur[n++] = ' ';
			continue;
		}
		if (c == '\r' || c == '\n' || c == '\t')
			c = ' ';
		if (quote) {
			cur[n++] = c;
			if (c == '\\' && i + 1 < len)
				cur[n++] = v[++i];
			else if (c == '"')
				quote = false;
			continue;
		}
		if (c == '(') {
			depth = 1;
			continue;
		}
		if (c == '"')
			quote = true;
		else if (c == '<' && !literal)
			angle = true;
		else if (c == '>' && !literal)
			angle = false;
		else if (c == '[')
			literal = true;
		else if (c == ']')
			literal = false;
		else if ((c == ',' || c == ';') && !angle && !literal) {
			take_mailbox(&st, cur, n);
			n = 0;
			continue;
		} else if (c == ':' && !angle && !literal) {
			n = 0; /* a group's display name */
			continue;
		}
		cur[n++] = c;
	}
	if (quote || depth > 0 || angle || literal) {
		if (st.error == NULL)
			st.error = "an unterminated quoted string, comment or bracket";
	} else {
		take_mailbox(&st, cur, n);
	}
	free(cur);
	if (st.error != NULL) {
		if (st.detail[0] != '\0')
			snprintf(why, whylen, "From: %s (%s)", st.error, st.detail);
		else
			snprintf(why, whylen, "From: %s", st.error);
		return -1;
	}
	if (st.count == 0) {
		snprintf(why, whylen, "From: no address");
		return -1;
	}
	if (strlen(st.domain) >= domlen) {
		snprintf(why, whylen, "From: a domain too long");
		return -1;
	}
	strcpy(domain, st.domain);
	why[0] = '\0';
	return st.count;
}

int
dmarc_from_header(const char *hdr, size_t len, char *domain, size_t domlen, char *why,
    size_t whylen)
{
	struct dkim_fields f = { 0 };
	const struct dkim_field *from = NULL;
	size_t nfrom = 0;

	if (dkim_fields_parse(hdr, len, &f) != 0) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < f.n; i++) {
		if (dkim_field_is(&f.v[i], "from")) {
			if (nfrom++ == 0)
				from = &f.v[i];
		}
	}
	int rc;
	if (nfrom != 1) {
		if (nfrom == 0)
			snprintf(why, whylen, "no From field");
		else
			snprintf(why, whylen, "%zu From fields", nfrom);
		rc = -1;
	} else {
		const char *colon = memchr(from->p, ':', from->len);
		size_t at = (size_t)(colon - from->p) + 1;
		rc = dmarc_from_value(from->p + at, from->len - at, domain, domlen, why, whylen);
	}
	dkim_fields_free(&f);
	return rc;
}
