/*
 * vacation_rules.h - whether a message delivered to a user on vacation gets an
 * automatic reply, as RFC 3834 section 2 and RFC 5230 section 4 say: never to the
 * null sender or to a mailer daemon or list address, never to the user itself,
 * never to auto-submitted, bulk or list mail, and only when the user is named in
 * To/Cc/Bcc (or Resent-*). Pure: the envelope's facts and the header block in, a
 * reason out. Whether the sender was answered lately is lookupd's question.
 */
#ifndef MAILROOM_DELIVER_VACATION_RULES_H
#define MAILROOM_DELIVER_VACATION_RULES_H

#include <stdbool.h>
#include <stddef.h>

#define VACATION_MSGID_MAX 250 /* of a Message-ID we repeat in In-Reply-To */

struct vacation_facts {
	const char *sender;  /* the envelope sender; "" for the null sender */
	const char *user;    /* the mailbox (canonical address) */
	const char *orig;    /* the envelope recipient as the client gave it, or NULL */
	const char *headers; /* the header block (LF or CRLF ends) */
	size_t len;
};

enum vacation_reason {
	VACATION_REPLY,          /* reply (once lookupd agrees the sender was not answered lately) */
	VACATION_NULL_SENDER,    /* MAIL FROM:<> (RFC 3834 2, 3.3) */
	VACATION_DAEMON_SENDER,  /* MAILER-DAEMON, postmaster, owner-*, *-request, ... (RFC 5230 4.6) */
	VACATION_OWN_SENDER,     /* the user itself (RFC 5230 4.5) */
	VACATION_AUTO_SUBMITTED, /* Auto-Submitted other than "no" (RFC 3834 2) */
	VACATION_PRECEDENCE,     /* Precedence: bulk, list or junk */
	VACATION_LIST,           /* a List-* field (RFC 2369, RFC 2919) */
	VACATION_NOT_ADDRESSED,  /* the user is not in To, Cc, Bcc or Resent-* (RFC 3834 2) */
	VACATION_NO_MEMORY,      /* the header block could not be read: no reply */
};

/* vacation_reason_name - "null sender", "list mail", ... for the log. */
const char *vacation_reason_name(enum vacation_reason r);

/* vacation_decide - the first rule that says no, or VACATION_REPLY. */
enum vacation_reason vacation_decide(const struct vacation_facts *f);

/*
 * vacation_daemon_sender - whether the local part of sender is one that lists and
 * mail systems send from (any case): mailer-daemon, postmaster, listserv,
 * majordomo, owner-*, *-owner, *-request, *-bounces.
 */
bool vacation_daemon_sender(const char *sender);

/*
 * vacation_addressed - whether an address of the field value v[0..len) (an
 * address-list: display names, comments, groups, angle brackets) is user or orig
 * (any case; a "+tag" on either side is ignored).
 */
bool vacation_addressed(const char *v, size_t len, const char *user, const char *orig);

/*
 * vacation_parent_id - the Message-ID of the header block, when it is one
 * "<...>" of printable ASCII (at most VACATION_MSGID_MAX octets), into out;
 * false when there is none to repeat.
 */
bool vacation_parent_id(const char *headers, size_t len, char *out, size_t outlen);

#endif
