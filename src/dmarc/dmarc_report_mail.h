/*
 * dmarc_report_mail.h - the message that carries one aggregate report (RFC 9990
 * 3.x "Email"): the XML gzip'd (RFC 1952, zlib), attached as application/gzip under
 * the file name the RFC prescribes, in a multipart/mixed with a short text part,
 * Subject "Report Domain: ... Submitter: ... Report-ID: ..." (pure).
 */
#ifndef MAILROOM_DMARC_REPORT_MAIL_H
#define MAILROOM_DMARC_REPORT_MAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "util/buf.h"

/* dmarc_gzip - in[0..len) as a gzip file appended to out. 0, or -1. */
int dmarc_gzip(const void *in, size_t len, struct buf *out);

/* report_base64 - in[0..len) in base64 lines of 76 (each with its LF) appended to out. 0, or -1. */
int report_base64(const void *in, size_t len, struct buf *out);

/* report_file_safe - s with every octet but letters, digits, '.', '-', '_' made '_'. */
void report_file_safe(char *out, size_t outlen, const char *s);

struct dmarc_mail {
	const char *hostname;      /* the submitter (the receiver in the file name) */
	const char *from;          /* the reporting address */
	const char *to;            /* the rua destination */
	const char *policy_domain;
	const char *report_id;     /* dot-atom-text@hostname */
	const char *unique;        /* letters and digits: the file name's unique-id */
	time_t begin, end, now;
	const void *gz;            /* the gzip'd XML */
	size_t gzlen;
};

/*
 * dmarc_report_mail - the message (stored form: LF line ends) appended to out. Values
 * from the network (the policy domain, the destination) are escaped in the header
 * and reduced to letters, digits, '.', '-' and '_' in the file name. 0, or -1.
 */
int dmarc_report_mail(const struct dmarc_mail *m, struct buf *out);

/* What tells one kind of report message from another (the TLS reports', deliver/tlsrpt.h). */
struct report_format {
	const char *ext;        /* of the attachment's file name: "xml.gz" */
	const char *top_type;   /* the message's Content-Type without its boundary */
	const char *part_type;  /* the attachment's: "application/gzip" */
	const char *what;       /* for the text part: "a DMARC aggregate report (RFC 9990)" */
	bool tls_fields;        /* TLS-Report-Domain and TLS-Report-Submitter (RFC 8460 5.3) */
};

/* report_mail - dmarc_report_mail in the format f. 0, or -1. */
int report_mail(const struct dmarc_mail *m, const struct report_format *f, struct buf *out);

#endif
