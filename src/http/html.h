/*
 * html.h - pages written with every piece of data escaped (pure): a small
 * formatter whose %s escapes for HTML text and attributes, and the frame
 * every page shares (head, navigation, logout form, notices).
 */
#ifndef MAILROOM_HTML_H
#define MAILROOM_HTML_H

#include <stdarg.h>
#include <stdint.h>

#include "util/buf.h"

/*
 * html_fmt - append fmt to b. Conversions: %s a string escaped for text and
 * quoted attributes (& < > " '), %r a string as it is (our own markup only),
 * %d int, %u unsigned, %U uint64_t, %%. 0, or -1 (out of memory; unknown
 * conversions fail too, so a typo cannot pass data through unescaped).
 */
int html_fmt(struct buf *b, const char *fmt, ...);
int html_vfmt(struct buf *b, const char *fmt, va_list ap);

/* html_esc - s escaped onto b. 0 or -1. */
int html_esc(struct buf *b, const char *s);

/* Which navigation a page shows. */
enum html_section { HTML_PUBLIC, HTML_ADMIN, HTML_ACCOUNT };

struct html_page {
	enum html_section section;
	const char *title;   /* the page's heading, and the document's title */
	const char *current; /* the path of the navigation entry to mark */
	const char *who;     /* the logged-in name shown in the header, or NULL */
	const char *csrf;    /* the session's CSRF token (forms), or NULL */
	const char *notice;  /* a success message, or NULL */
	const char *error;   /* an error message, or NULL */
};

/* html_begin - the document up to the start of the page's own content. */
int html_begin(struct buf *b, const struct html_page *p);
/* html_end - the rest of the document. */
int html_end(struct buf *b);

/*
 * html_form_begin - <form method="post" action=ACTION id=ID> with the hidden
 * CSRF field; confirm (may be NULL) is a question the script asks first.
 */
int html_form_begin(struct buf *b, const char *id, const char *action, const char *csrf,
    const char *confirm);

/* html_size - bytes as "1.5 MiB" (powers of 1024), into out. */
void html_size(char *out, size_t outlen, uint64_t bytes);

#endif
