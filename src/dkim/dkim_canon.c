/*
 * dkim_canon.c - simple and relaxed header and body canonicalization (RFC 6376 3.4)
 * and the base64 the DKIM tags use.
 */
#include "dkim/dkim_canon.h"

#include <openssl/evp.h>
#include <stdlib.h>
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

/* simple_header - the field with each line end made CRLF; the last one only if crlf. */
static int
simple_header(const char *field, size_t len, bool crlf, struct buf *out)
{
	size_t end = len;

	/* The final line end, whichever form it has, is written (or not) at the end. */
	if (end > 0 && field[end - 1] == '\n') {
		end--;
		if (end > 0 && field[end - 1] == '\r')
			end--;
	}
	for (size_t i = 0; i < end;) {
		const char *lf = memchr(field + i, '\n', end - i);
		size_t stop = lf ? (size_t)(lf - field) : end;
		size_t text_end = stop > i && lf && field[stop - 1] == '\r' ? stop - 1 : stop;
		if (buf_append(out, field + i, text_end - i) < 0)
			return -1;
		if (lf == NULL)
			break;
		if (buf_append(out, "\r\n", 2) < 0)
			return -1;
		i = stop + 1;
	}
	if (crlf && buf_append(out, "\r\n", 2) < 0)
		return -1;
	return 0;
}

int
dkim_canon_header_c(const char *field, size_t len, bool simple, bool crlf, struct buf *out)
{
	if (!simple)
		return dkim_canon_header(field, len, crlf, out);
	if (memchr(field, ':', len) == NULL)
		return -1;
	return simple_header(field, len, crlf, out);
}

int
dkim_body_init(struct dkim_body *b)
{
	return dkim_body_init_c(b, false, DKIM_BODY_ALL);
}

int
dkim_body_init_c(struct dkim_body *b, bool simple, uint64_t limit)
{
	memset(b, 0, sizeof *b);
	b->simple = simple;
	b->limit = limit;
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

/* stage_put - canonical octets: counted, and hashed while under the limit. */
static void
stage_put(struct dkim_body *b, struct stage *s, const char *p, size_t n)
{
	uint64_t room = b->length < b->limit ? b->limit - b->length : 0;

	b->length += n;
	if (n > room)
		n = (size_t)room;
	if (n == 0)
		return;
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

/*
 * simple_update - lines as they are, with CRLF ends; only lines with nothing in
 * them are held back, as they count only when a line with text follows.
 */
static void
simple_update(struct dkim_body *b, struct stage *s, const char *p, size_t n)
{
	for (size_t i = 0; i < n;) {
		if (p[i] == '\n') {
			if (b->in_line)
				stage_put(b, s, "\r\n", 2);
			else
				b->empty_lines++;
			b->in_line = false;
			i++;
			continue;
		}
		if (!b->in_line) {
			for (; b->empty_lines > 0; b->empty_lines--)
				stage_put(b, s, "\r\n", 2);
			b->in_line = true;
		}
		const char *lf = memchr(p + i, '\n', n - i);
		size_t run = lf ? (size_t)(lf - (p + i)) : n - i;
		stage_put(b, s, p + i, run);
		i += run;
	}
}

void
dkim_body_update(struct dkim_body *b, const char *p, size_t n)
{
	struct stage s;
	size_t i, run;

	s.n = 0;
	if (b->simple) {
		simple_update(b, &s, p, n);
		if (s.n > 0)
			EVP_DigestUpdate(b->md, s.v, s.n);
		return;
	}
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
dkim_body_digest(struct dkim_body *b, unsigned char *out)
{
	struct stage s;
	unsigned int mdlen = 0;

	s.n = 0;
	/* A last line without its line end gets one on the wire (before the "."). */
	if (b->in_line)
		stage_put(b, &s, "\r\n", 2);
	/* Simple: an empty body is one CRLF; relaxed: nothing at all. */
	else if (b->simple && b->length == 0)
		stage_put(b, &s, "\r\n", 2);
	b->in_line = false;
	b->empty_lines = 0;
	if (s.n > 0)
		EVP_DigestUpdate(b->md, s.v, s.n);
	if (EVP_DigestFinal_ex(b->md, out, &mdlen) != 1 || mdlen != DKIM_SHA256_LEN)
		return -1;
	return 0;
}

int
dkim_body_final(struct dkim_body *b, char *out, size_t outlen)
{
	unsigned char md[DKIM_SHA256_LEN];

	if (dkim_body_digest(b, md) < 0)
		return -1;
	return dkim_base64(md, sizeof md, out, outlen);
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

long
dkim_base64_decode(const char *p, size_t n, unsigned char *out, size_t outmax)
{
	char *text = malloc(n + 1);
	size_t m = 0, pad = 0;
	long rc = -1;

	if (text == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n')
			continue;
		/* Padding only at the end. */
		if (pad > 0 && p[i] != '=')
			goto out;
		if (p[i] == '=')
			pad++;
		text[m++] = p[i];
	}
	if (m % 4 != 0 || pad > 2 || m / 4 * 3 - pad > outmax || m > INT32_MAX)
		goto out;
	if (m == 0) {
		rc = 0;
		goto out;
	}
	/* EVP_DecodeBlock writes whole groups of three: room for the padding too. */
	unsigned char *tmp = malloc(m / 4 * 3);
	if (tmp == NULL)
		goto out;
	int k = EVP_DecodeBlock(tmp, (unsigned char *)text, (int)m);
	if (k >= 0 && (size_t)k == m / 4 * 3) {
		memcpy(out, tmp, (size_t)k - pad);
		rc = (long)((size_t)k - pad);
	}
	free(tmp);
out:
	free(text);
	return rc;
}
