/*
 * received.h - the Received: header smtpd adds (RFC 5321 4.4), built by a pure
 * function from what the session knows.
 */
#ifndef MAILROOM_RECEIVED_H
#define MAILROOM_RECEIVED_H

#include <stdbool.h>

#include "util/buf.h"

struct received_info {
	const char *helo;   /* the HELO/EHLO argument as the client sent it, or NULL */
	const char *ip;     /* the client's address, numeric ("192.0.2.1", "2001:db8::1") */
	const char *login;  /* the authenticated user, or NULL */
	const char *host;   /* our hostname */
	const char *proto;  /* "ESMTPSA" and so on (RFC 3848) */
	const char *id;     /* the queue id */
	const char *rcpt;   /* the only recipient, or NULL when there are several */
	const char *date;   /* RFC 5322 date-time */
};

/* helo_valid - whether a HELO argument is a domain name or an address literal. */
bool helo_valid(const char *helo);

/*
 * received_format - append the header (LF line ends) to h:
 *   Received: from <HELO> ([ip])             a valid HELO, shown as given
 *   Received: from unknown (HELO <text>) ([ip])   any other HELO, escaped in a comment
 * then "(authenticated sender: ...)", "by <host> (mailroom) with <proto> id <id>",
 * "for <rcpt>" and "; <date>". The client address is always there, IPv6 as
 * "[IPv6:...]"; every text from the client is escaped (util/escape.h), so none of
 * it can end a comment or pass for ours. Returns 0 or -1 (out of memory).
 */
int received_format(struct buf *h, const struct received_info *ri);

#endif
