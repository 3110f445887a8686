/*
 * tlsrpt.h - SMTP TLS reporting (RFC 8460) as pure functions: one line of JSON per
 * outbound TLS session outcome (the remote agent appends them to
 * queue/tlsrpt/<day>.log), those lines added up per policy domain and policy, the
 * report of one policy domain in the JSON format of RFC 8460 4, the _smtp._tls
 * record's rua list, and the message that carries a report by mail (RFC 8460 5.3).
 */
#ifndef MAILROOM_TLSRPT_H
#define MAILROOM_TLSRPT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "util/buf.h"

typedef struct json_t json_t;

/* One session, or one MX host not used, as the report counts it. */
struct tlsrpt_result {
	const char *domain;       /* the policy domain (the recipient domain) */
	const char *type;         /* "sts", "tlsa" or "no-policy-found" */
	const char *policy;       /* sts: the policy as served; tlsa: the records, one a line; or NULL */
	const char *mx;           /* sts: the policy's mx patterns, one a line; else the MX host */
	const char *result;       /* NULL: a successful session; else the RFC 8460 4.3 result type */
	const char *host;         /* the MX host of a failure, or NULL */
	const char *ip;           /* its address, or NULL */
	const char *reason;       /* the failure-reason-code: free text, or NULL */
};

/* tlsrpt_line - r as one line of JSON with its LF, appended to out. 0, or -1. */
int tlsrpt_line(const struct tlsrpt_result *r, struct buf *out);

/* The lines of one day added up: per policy domain, per policy. */
struct tlsrpt_agg {
	json_t *domains;          /* domain -> { policy key -> entry } */
	size_t malformed;         /* lines that did not parse (skipped) */
};

/* tlsrpt_agg_add_text - every line of text. 0, or -1 (out of memory). */
int tlsrpt_agg_add_text(struct tlsrpt_agg *a, const char *text, size_t len);
void tlsrpt_agg_free(struct tlsrpt_agg *a);
/* tlsrpt_agg_domains - how many policy domains, and the name of the i-th (in order). */
size_t tlsrpt_agg_count(const struct tlsrpt_agg *a);
const char *tlsrpt_agg_domain(const struct tlsrpt_agg *a, size_t i);

struct tlsrpt_meta {
	const char *organization; /* organization-name */
	const char *contact;      /* contact-info */
	const char *report_id;
	time_t begin, end;        /* the date-range */
};

/* tlsrpt_json - the report (RFC 8460 4) of domain, as compact JSON appended to out. 0, or -1. */
int tlsrpt_json(const struct tlsrpt_agg *a, const char *domain, const struct tlsrpt_meta *m,
    struct buf *out);

#define TLSRPT_RUA_MAX 8
#define TLSRPT_URI_MAX 512

/*
 * tlsrpt_record_parse - a TXT record's text: 1 for "v=TLSRPTv1; rua=..." with its
 * mailto: and https: URIs in uri[0..*n) (others skipped; the mailto: ones without
 * "mailto:" and without any "?..." part), 0 when it is not a TLSRPTv1 record, -1
 * when it is one without a usable rua.
 */
int tlsrpt_record_parse(const char *txt, size_t len, char uri[][TLSRPT_URI_MAX],
    bool *is_mail, size_t max, size_t *n);

struct tlsrpt_mail {
	const char *submitter;    /* our hostname */
	const char *from;         /* the reporting address */
	const char *to;
	const char *domain;       /* the policy domain */
	const char *report_id;
	const char *unique;       /* letters and digits, for the file name */
	time_t begin, end, now;
	const void *gz;           /* the gzip'd JSON */
	size_t gzlen;
};

/*
 * tlsrpt_mail - the message (stored form, LF line ends): multipart/report with
 * report-type tlsrpt, the report as application/tlsrpt+gzip, Subject "Report
 * Domain: ... Submitter: ... Report-ID: <...>", TLS-Report-Domain and
 * TLS-Report-Submitter fields (RFC 8460 5.3). Appended to out; 0, or -1.
 */
int tlsrpt_mail(const struct tlsrpt_mail *m, struct buf *out);

#endif
