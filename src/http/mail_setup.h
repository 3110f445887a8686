/*
 * mail_setup.h - the documents mail clients fetch to configure themselves (pure:
 * settings in, text out): Thunderbird's autoconfig (config-v1.1.xml) and
 * Outlook's autodiscover (POX schema), and the bounded reading of the address an
 * autodiscover request asks about.
 */
#ifndef MAILROOM_MAIL_SETUP_H
#define MAILROOM_MAIL_SETUP_H

#include <stddef.h>
#include <stdint.h>

#include "address.h"
#include "util/buf.h"

/* An autodiscover request larger than this is refused unread. */
#define AUTODISCOVER_REQ_MAX 65536

/* Where the clients of one address fetch and submit mail; a port 0 is not offered. */
struct mail_setup {
	const char *hostname; /* the server's name, in every server entry */
	const char *domain;   /* the address's hosted domain */
	const char *email;    /* the address asked about (autodiscover's LoginName) */
	uint16_t pop3s;       /* implicit TLS */
	uint16_t pop3;        /* STARTTLS (STLS) */
	uint16_t submissions; /* implicit TLS */
	uint16_t submission;  /* STARTTLS */
};

/*
 * mail_setup_autoconfig - the clientConfig document for s: POP3 on pop3s (SSL)
 * or else pop3 (STARTTLS), SMTP on submissions (SSL) and submission (STARTTLS),
 * username %EMAILADDRESS%; every value XML-escaped. Appended to out; 0 or -1.
 */
int mail_setup_autoconfig(const struct mail_setup *s, struct buf *out);

/*
 * mail_setup_autodiscover - the Outlook autodiscover response for s (POP3 and
 * SMTP protocol entries, LoginName the address). Appended to out; 0 or -1.
 */
int mail_setup_autodiscover(const struct mail_setup *s, struct buf *out);

/*
 * mail_setup_request_address - the EMailAddress element of an autodiscover
 * request body (its first, with or without a namespace prefix), parsed as an
 * address into mb. At most AUTODISCOVER_REQ_MAX octets are read. Entities,
 * CDATA and anything that is not a plain address are refused. 0, or -1.
 */
int mail_setup_request_address(const char *body, size_t len, struct mailbox *mb);

/* mail_setup_xml_escape - text with &, <, >, " and ' as entities, appended to out; 0 or -1. */
int mail_setup_xml_escape(struct buf *out, const char *text);

#endif
