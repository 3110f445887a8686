/*
 * vacation_msg.c - composing a vacation reply (vacation_msg.h). The addresses came
 * from the network (the sender) or from the store: they are escaped as bounces
 * escape them; the subject and body are the user's, checked when they were set
 * (accounts_vacation.h), and encoded here.
 */
#include "deliver/vacation_msg.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "address.h"
#include "util/escape.h"
#include "util/utf8.h"

#define QP_LINE 76       /* octets of an encoded line, the soft break's '=' included */
#define WORD_OCTETS 39   /* of UTF-8 in one encoded-word: 52 of base64, 64 with =?UTF-8?B?...?= */
#define SHORT_LINE 998

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int
put_b64(struct buf *out, const unsigned char *p, size_t n)
{
	int rc = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		rc |= buf_putc(out, b64[(v >> 18) & 63]);
		rc |= buf_putc(out, b64[(v >> 12) & 63]);
		rc |= buf_putc(out, i + 1 < n ? b64[(v >> 6) & 63] : '=');
		rc |= buf_putc(out, i + 2 < n ? b64[v & 63] : '=');
	}
	return rc;
}

/* plain_subject - printable ASCII (and blanks), without an encoded-word's "=?". */
static bool
plain_subject(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if ((*p < 0x20 && *p != '\t') || *p >= 0x7f)
			return false;
	return strstr(s, "=?") == NULL;
}

/* char_len - the octets of the character at p (n left): a UTF-8 sequence, or 1. */
static size_t
char_len(const unsigned char *p, size_t n)
{
	uint32_t cp;
	size_t k = p[0] >= 0x80 ? utf8_decode(p, n, &cp) : 0;
	return k ? k : 1;
}

int
vacation_subject_field(const char *s, struct buf *out)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s);
	int rc = buf_printf(out, "Subject:");

	if (plain_subject(s))
		return rc | buf_printf(out, " %s\n", s);
	for (size_t i = 0; i < len;) {
		size_t n = 0;
		/* Whole characters only (RFC 2047 5): a word never splits one. */
		while (i + n < len) {
			size_t k = char_len(p + i + n, len - i - n);
			if (n + k > WORD_OCTETS && n > 0)
				break;
			n += k;
		}
		rc |= buf_printf(out, "%s=?UTF-8?B?", i == 0 ? " " : "\n ");
		rc |= put_b64(out, p + i, n);
		rc |= buf_printf(out, "?=");
		i += n;
	}
	return rc | buf_putc(out, '\n');
}

int
vacation_qp(const char *s, size_t len, struct buf *out)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t col = 0;
	int rc = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = p[i];
		if (c == '\n' || (c == '\r' && i + 1 < len && p[i + 1] == '\n')) {
			if (c == '\r')
				i++;
			rc |= buf_putc(out, '\n');
			col = 0;
			continue;
		}
		bool at_eol = i + 1 == len || p[i + 1] == '\n' ||
		    (p[i + 1] == '\r' && i + 2 < len && p[i + 2] == '\n');
		bool literal = (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !at_eol);
		size_t w = literal ? 1 : 3;
		/* Room for the octet and, unless the line ends after it, a soft break's '='. */
		if (col + w > QP_LINE - (at_eol ? 0 : 1)) {
			rc |= buf_printf(out, "=\n");
			col = 0;
		}
		if (literal)
			rc |= buf_putc(out, (char)c);
		else
			rc |= buf_printf(out, "=%02X", c);
		col += w;
	}
	if (len == 0 || p[len - 1] != '\n')
		rc |= buf_putc(out, '\n');
	return rc;
}

/* plain_body - ASCII without controls but tab and LF, and no line over 998 octets. */
static bool
plain_body(const char *s)
{
	size_t col = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '\n') {
			col = 0;
			continue;
		}
		if ((*p < 0x20 && *p != '\t') || *p >= 0x7f || ++col > SHORT_LINE)
			return false;
	}
	return true;
}

static void
rfc5322_date(char *out, size_t len, time_t t)
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, len, "%a, %d %b %Y %H:%M:%S +0000", &tm);
}

int
vacation_msg_build(const struct vacation_reply *r, struct buf *out)
{
	char date[64], from[ESC_SIZE(ADDR_MAX)], to[ESC_SIZE(ADDR_MAX)];
	int rc = 0;

	rfc5322_date(date, sizeof date, r->now);
	esc_text(from, sizeof from, r->from, strlen(r->from), 0);
	esc_text(to, sizeof to, r->to, strlen(r->to), 0);
	rc |= buf_printf(out,
	    "Received: by %s (mailroom) id %s;\n\t%s\n"
	    "From: <%s>\n"
	    "To: <%s>\n",
	    r->hostname, r->id, date, from, to);
	rc |= vacation_subject_field(r->subject, out);
	rc |= buf_printf(out,
	    "Date: %s\n"
	    "Message-ID: <%s.vacation@%s>\n",
	    date, r->id, r->hostname);
	if (r->parent_id != NULL && r->parent_id[0] != '\0')
		rc |= buf_printf(out, "In-Reply-To: %s\nReferences: %s\n", r->parent_id,
		    r->parent_id);
	bool plain = plain_body(r->body);
	rc |= buf_printf(out,
	    "Auto-Submitted: auto-replied\n"
	    "MIME-Version: 1.0\n"
	    "Content-Type: text/plain; charset=utf-8\n"
	    "Content-Transfer-Encoding: %s\n"
	    "\n",
	    plain ? "7bit" : "quoted-printable");
	size_t blen = strlen(r->body);
	if (plain) {
		rc |= buf_append(out, r->body, blen);
		if (blen == 0 || r->body[blen - 1] != '\n')
			rc |= buf_putc(out, '\n');
	} else {
		rc |= vacation_qp(r->body, blen, out);
	}
	return rc ? -1 : 0;
}
