/*
 * linefix.h - the pure transform behind deliver/outform.h: a message's stored text
 * (LF line ends) in, the same message out with no line over 998 octets (RFC 5322
 * 2.1.1, RFC 5321 4.5.3.1.6). Header lines (of the message, of MIME parts, of
 * attached messages) are folded; a MIME entity whose body has a longer line is
 * re-encoded (7bit/8bit/binary to quoted-printable, base64 re-wrapped, soft breaks
 * added to quoted-printable) and only that entity changes; what cannot be encoded
 * (preambles, epilogues, unknown encodings) is broken at the limit.
 *
 * Two passes over the same text, both fed in chunks of any size: a scan fills a
 * plan (which entities change, and how), so that a header can be rewritten before
 * its body has been seen; the transform then follows the plan. With an empty plan
 * the transform is the identity.
 */
#ifndef MAILROOM_DELIVER_LINEFIX_H
#define MAILROOM_DELIVER_LINEFIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

#define LINEFIX_LIMIT 998      /* octets of a line, without its line end */
#define LINEFIX_HOLD 1000      /* the start of a line held to classify it */
#define LINEFIX_FIELD_MAX 4096 /* of a header field, kept to read its value */
#define LINEFIX_DEPTH 16       /* nested multiparts followed; deeper ones are opaque */
#define LINEFIX_BOUNDARY_MAX 70 /* RFC 2046 5.1.1 */

enum linefix_action {
	LINEFIX_KEEP,
	LINEFIX_TO_QP,      /* identity encodings: the body becomes quoted-printable */
	LINEFIX_QP_BREAK,   /* quoted-printable: soft breaks where lines are too long */
	LINEFIX_B64_WRAP,   /* base64: re-wrapped at 76 */
	LINEFIX_HARD_BREAK, /* nothing else fits: a line end at the limit */
};

struct linefix_change {
	uint64_t region;             /* entities and epilogues, numbered as they begin */
	enum linefix_action action;
};

struct linefix_plan {
	struct linefix_change *v;
	size_t n, cap;
	bool folded;           /* some header line is folded */
	bool add_mime_version; /* an entity becomes quoted-printable in a message without MIME-Version */
};

struct linefix_level {
	char boundary[LINEFIX_BOUNDARY_MAX];
	size_t len;
	bool digest; /* multipart/digest: parts are message/rfc822 unless they say otherwise */
};

struct linefix {
	struct linefix_plan *plan; /* scan: filled */
	const struct linefix_plan *follow; /* transform: followed */
	size_t plan_next;          /* transform: the next change of the plan */
	struct buf *out;           /* transform: where the output goes, during a feed */
	bool failed;               /* out of memory once: every later call fails */

	char hold[LINEFIX_HOLD];   /* the current line's first octets, until classified */
	size_t hold_len;
	bool classified;           /* the current line's kind is decided */
	bool line_passes;          /* the current line is a boundary: copied */
	uint64_t line_len;         /* octets of the current body line so far */

	bool in_header;
	uint64_t region;
	enum linefix_action action;     /* of the current region */
	enum linefix_action if_long;    /* scan: what the region's body needs if a line is long */
	bool region_long;               /* scan: the region is in the plan */
	bool top;                       /* the header is the message's own */
	bool top_mime;                  /* the message's header has MIME-Version */
	bool default_rfc822;            /* no Content-Type means message/rfc822 (digest parts) */

	/* the entity whose header is being read */
	char type[64];                  /* "text/plain", lower case; empty: none given */
	char cte[32];                   /* lower case; empty: none given */
	struct linefix_level pending;   /* its boundary, when it is a multipart */
	bool has_boundary;

	char field[LINEFIX_FIELD_MAX];  /* the current header field, unfolded */
	size_t field_len;
	bool in_field;
	bool drop_field;                /* the field is replaced (Content-Transfer-Encoding) */
	char hline[LINEFIX_LIMIT + 1];  /* the header line being output */
	size_t hline_len;

	struct linefix_level lv[LINEFIX_DEPTH];
	size_t depth;

	unsigned col;                   /* octets on the current output line (encoders) */
	int pending_wsp;                /* quoted-printable: a space or tab not yet known to be trailing */
	unsigned esc_left;              /* quoted-printable: octets of an =XX still to come */
	bool after_break;               /* the last thing output was an inserted line break */
};

/* linefix_scan_init - ready to scan into plan (which it empties). */
void linefix_scan_init(struct linefix *lf, struct linefix_plan *plan);

/* linefix_init - ready to transform by plan (scanned from the same text). */
void linefix_init(struct linefix *lf, const struct linefix_plan *plan);

/*
 * linefix_feed - the next in[0..len) of the text; the transform appends its output
 * to out (NULL while scanning). Returns 0, or -1 when out of memory.
 */
int linefix_feed(struct linefix *lf, const char *in, size_t len, struct buf *out);

/* linefix_finish - the end of the text: what is still held goes out. 0 or -1. */
int linefix_finish(struct linefix *lf, struct buf *out);

/* linefix_plan_changes - whether the transform will change anything. */
bool linefix_plan_changes(const struct linefix_plan *plan);

void linefix_plan_free(struct linefix_plan *plan);

/*
 * linefix_fold_lines - in[0..len) with every line over the limit folded at
 * whitespace as a header line is (a line end before the space or tab, as late as
 * the limit allows; with none in reach, LF and a space inserted at the limit),
 * appended to out. For text we compose ourselves (bounces). 0 or -1.
 */
int linefix_fold_lines(const char *in, size_t len, struct buf *out);

#endif
