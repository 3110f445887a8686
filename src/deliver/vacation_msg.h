/*
 * vacation_msg.h - the text of a vacation reply (RFC 3834 section 3): from the
 * user to the sender, the user's subject (an RFC 2047 encoded-word when it is not
 * ASCII), In-Reply-To and References naming the original, Auto-Submitted:
 * auto-replied, and the body as text/plain in UTF-8 (7bit when it is ASCII with
 * short lines, else quoted-printable), so the reply is 7-bit and goes anywhere.
 * Pure: the parts in, the stored form (LF line ends) out.
 */
#ifndef MAILROOM_DELIVER_VACATION_MSG_H
#define MAILROOM_DELIVER_VACATION_MSG_H

#include <stddef.h>
#include <time.h>

#include "util/buf.h"

struct vacation_reply {
	const char *from;      /* the user's address */
	const char *to;        /* the envelope sender answered */
	const char *subject;   /* UTF-8, one line */
	const char *body;      /* UTF-8, LF line ends */
	const char *parent_id; /* the original's Message-ID "<...>", or NULL */
	const char *hostname;  /* ours: Message-ID, Received */
	const char *id;        /* the reply's queue id */
	time_t now;
};

/* vacation_msg_build - the reply's header and body, appended to out. 0, or -1 (out of memory). */
int vacation_msg_build(const struct vacation_reply *r, struct buf *out);

/*
 * vacation_subject_field - "Subject: ...\n": s as it is when it is printable
 * ASCII without "=?", else RFC 2047 "B" encoded-words of UTF-8 (whole characters,
 * at most 75 octets each), folded one a line. 0 or -1.
 */
int vacation_subject_field(const char *s, struct buf *out);

/*
 * vacation_qp - s[0..len) quoted-printable (RFC 2045 6.7): lines of at most 76
 * octets with soft breaks, blanks before a line end encoded, LF line ends, and a
 * line end at the end. 0 or -1.
 */
int vacation_qp(const char *s, size_t len, struct buf *out);

#endif
