/*
 * escape.c - one escaper for every byte from the network that reaches a log line or
 * a header we write. UTF-8 is decoded strictly (no overlong forms, no surrogates,
 * nothing above U+10FFFF) so that what stays is exactly what a reader displays.
 */
#include "util/escape.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "util/utf8.h"

static const char hex[] = "0123456789abcdef";

/* hidden - code points that change how the text around them is displayed, or end a line. */
static bool
hidden(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || cp == 0x061c || cp == 0x200e || cp == 0x200f ||
	    (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

/*
 * next_unit - the escaped form of the character at src[i] into out (at most 6
 * octets, or the character's own 4); returns its length, and the octets used in *used.
 */
static size_t
next_unit(const unsigned char *s, size_t n, unsigned flags, char *out, size_t *used)
{
	unsigned char c = s[0];

	*used = 1;
	if (c >= 0x20 && c < 0x7f) {
		bool quote = (c == '\\' && (flags & (ESC_BACKSLASH | ESC_COMMENT))) ||
		    ((c == '(' || c == ')') && (flags & ESC_COMMENT));
		if (!quote) {
			out[0] = (char)c;
			return 1;
		}
		out[0] = '\\';
		out[1] = (char)c;
		return 2;
	}
	uint32_t cp = 0;
	size_t len = c >= 0x80 ? utf8_decode(s, n, &cp) : 0;
	if (len == 0) {
		out[0] = '\\';
		out[1] = 'x';
		out[2] = hex[c >> 4];
		out[3] = hex[c & 15];
		return 4;
	}
	*used = len;
	if (!hidden(cp)) {
		memcpy(out, s, len);
		return len;
	}
	out[0] = '\\';
	out[1] = 'u';
	for (int k = 0; k < 4; k++)
		out[2 + k] = hex[(cp >> (12 - 4 * k)) & 15];
	return 6;
}

char *
esc_text(char *dst, size_t dstlen, const char *src, size_t srclen, unsigned flags)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t o = 0, safe = 0; /* safe: the last point where "..." and the NUL still fit */

	if (dstlen == 0)
		return dst;
	for (size_t i = 0; i < srclen;) {
		char unit[8];
		size_t used, ulen = next_unit(s + i, srclen - i, flags, unit, &used);
		if (o + ulen + 1 > dstlen) {
			o = safe;
			if (o + 4 <= dstlen) {
				memcpy(dst + o, "...", 3);
				o += 3;
			}
			break;
		}
		memcpy(dst + o, unit, ulen);
		o += ulen;
		if (o + 4 <= dstlen)
			safe = o;
		i += used;
	}
	dst[o] = '\0';
	return dst;
}
