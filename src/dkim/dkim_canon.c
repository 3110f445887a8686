/*
 * dkim_canon.c - relaxed header and body canonicalization (RFC 6376 3.4.2, 3.4.4)
 * and the base64 the DKIM tags use.
 */
#include "dkim/dkim_canon.h"

#include <openssl/evp.h>
#include <string.h>

static bool
is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

int
dkim_canon_header(const char *field, size_t len, bool crlf, struct buf *out)
{
	const char *colon = memchr(field, ':', len);
	size_t name_end, i;
	bool wsp = false, started = false;

	if (colon == NULL)
		return -1;
	name_end = (size_t)(colon - field);
	while (name_end > 0 && is_wsp(field[name_end - 1]))
		name_end--;
	for (i = 0; i < name_end; i++) {
		char c = field[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (buf_putc(out, c) < 0)
			return -1;
	}
	if (buf_putc(out, ':') < 0)
		return -1;
	for (i = (size_t)(colon - field) + 1; i < len; i++) {
		char c = field[i];
		/* Unfolding drops the line ends; a CR of the text's own (not before an LF) stays. */
		if (c == '\n' || (c == '\r' && i + 1 < len && field[i + 1] == '\n') ||
		    (c == '\r' && i + 1 == len))
			continue;
		if (is_wsp(c)) {
			wsp = true;
			continue;
		}
		if (wsp && started && buf_putc(out, ' ') < 0)
			return -1;
		wsp = false;
		started = true;
		if (buf_putc(out, c) < 0)
			return -1;
	}
	if (crlf && buf_append(out, "\r\n", 2) < 0)
		return -1;
	return 0;
}

int
dkim_body_init(struct dkim_body *b)
{
	memset(b, 0, sizeof *b);
	if ((b->md = EVP_MD_CTX_new()) == NULL)
		return -1;
	if (EVP_DigestInit_ex(b->md, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(b->md);
		b->md = NULL;
		return -1;
	}
	return 0;
}

/* A small staging buffer so that the digest is fed in runs, not an octet at a time. */
struct stage {
	char v[4096];
	size_t n;
};

static void
stage_put(struct dkim_body *b, struct stage *s, const char *p, size_t n)
{
	if (s->n + n > sizeof s->v) {
		EVP_DigestUpdate(b->md, s->v, s->n);
		s->n = 0;
	}
	if (n > sizeof s->v) {
		EVP_DigestUpdate(b->md, p, n);
		return;
	}
	memcpy(s->v + s->n, p, n);
	s->n += n;
}

void
dkim_body_update(struct dkim_body *b, const char *p, size_t n)
{
	struct stage s;
	size_t i, run;

	s.n = 0;
	for (i = 0; i < n; i++) {
		char c = p[i];
		if (c == '\n') {
			if (b->in_line)
				stage_put(b, &s, "\r\n", 2);
			else
				b->empty_lines++; /* empty, or only spaces: held back */
			b->in_line = false;
			b->wsp = false;
			continue;
		}
		if (is_wsp(c)) {
			b->wsp = true;
			continue;
		}
		if (!b->in_line) {
			for (; b->empty_lines > 0; b->empty_lines--)
				stage_put(b, &s, "\r\n", 2);
			b->in_line = true;
			b->any = true;
		}
		if (b->wsp)
			stage_put(b, &s, " ", 1); /* a run of spaces, leading ones too, is one space */
		b->wsp = false;
		/* The rest of a run of plain text at once. */
		for (run = 1; i + run < n && p[i + run] != '\n' && !is_wsp(p[i + run]); run++)
			;
		stage_put(b, &s, p + i, run);
		i += run - 1;
	}
	if (s.n > 0)
		EVP_DigestUpdate(b->md, s.v, s.n);
}

int
dkim_body_final(struct dkim_body *b, char *out, size_t outlen)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	/* A last line without its line end gets one on the wire (before the "."). */
	if (b->in_line)
		EVP_DigestUpdate(b->md, "\r\n", 2);
	b->in_line = false;
	if (EVP_DigestFinal_ex(b->md, md, &mdlen) != 1)
		return -1;
	return dkim_base64(md, mdlen, out, outlen);
}

void
dkim_body_free(struct dkim_body *b)
{
	EVP_MD_CTX_free(b->md);
	b->md = NULL;
}

int
dkim_base64(const unsigned char *in, size_t n, char *out, size_t outlen)
{
	if (outlen < 4 * ((n + 2) / 3) + 1 || n > INT32_MAX)
		return -1;
	EVP_EncodeBlock((unsigned char *)out, in, (int)n);
	return 0;
}
