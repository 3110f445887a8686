/*
 * escape.h - text from the network made safe to show, in a log line or in a header
 * we write: nothing in it can end the line, change the terminal, reorder what is
 * displayed around it, or pass for our own words.
 */
#ifndef MAILROOM_ESCAPE_H
#define MAILROOM_ESCAPE_H

#include <stddef.h>

/* A backslash becomes "\\" too, so that the escaped text reads back unambiguously (logs). */
#define ESC_BACKSLASH 0x1
/* '(', ')' and '\' become the quoted pairs "\(", "\)", "\\": safe inside an RFC 5322 comment. */
#define ESC_COMMENT 0x2

/* ESC_SIZE - room for n octets escaped in any mode, with the NUL: no truncation. */
#define ESC_SIZE(n) (4 * (size_t)(n) + 1)

/*
 * esc_text - src[0..srclen) into dst, always NUL-terminated (when dstlen > 0).
 * Printable ASCII and well-formed UTF-8 (RFC 3629) stay as they are. Escaped:
 * ASCII controls (0x00-0x1f, 0x7f) and every octet of malformed UTF-8 as "\xNN";
 * C1 controls (U+0080-U+009F), the bidirectional marks, embeddings, overrides and
 * isolates (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069) and the line and
 * paragraph separators (U+2028, U+2029) as "\uNNNN"; flags add the above. When dst
 * is too small the text ends after the last whole character that fits, followed by
 * "..." (never half an escape or half a UTF-8 sequence). Returns dst. Pure.
 */
char *esc_text(char *dst, size_t dstlen, const char *src, size_t srclen, unsigned flags);

#endif
