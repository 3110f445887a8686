/*
 * dmarc_report_line.h - one evaluated message as smtpd notes it for the DMARC
 * aggregate reports (RFC 9990): the policy record found, the identifiers and the
 * results, as one text line of queue/dmarc/<day>.log (docs/spool.md), and back
 * (pure). Every value came from the network or DNS: it is escaped so that no value
 * can end the line or pass for another field.
 */
#ifndef MAILROOM_DMARC_REPORT_LINE_H
#define MAILROOM_DMARC_REPORT_LINE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "dmarc/dmarc_record.h"
#include "util/buf.h"

#define DMARC_OBS_DKIM_MAX 10 /* signatures per message (DKIM_VERIFY_MAX) */
#define DMARC_OBS_LINE_MAX 16384 /* a longer line is not written, nor read */

struct dmarc_obs_dkim {
	char domain[256];
	char selector[256];
	char result[16];      /* RFC 8601 2.7.1: pass, fail, neutral, policy, temperror, permerror */
};

struct dmarc_obs {
	time_t when;
	char policy_domain[256];
	char org_domain[256];     /* of the Author Domain ("" if unknown) */
	enum dmarc_policy p, sp, np; /* as published; UNSET when absent */
	bool adkim_strict, aspf_strict, testing;
	char ip[64];
	char header_from[256];
	char envelope_from[256];  /* the MAIL FROM domain, or the HELO name for <> */
	char spf_result[16];      /* RFC 8601 2.7.2 */
	char spf_domain[256];
	char dmarc[16];           /* pass, fail, temperror, permerror */
	bool dkim_aligned, spf_aligned;
	char requested[16];       /* fail: the policy the record asked for (p, sp or np) */
	char disposition[16];     /* what was done: none, quarantine, reject */
	char rua[DMARC_URIS_MAX];
	struct dmarc_obs_dkim dkim[DMARC_OBS_DKIM_MAX];
	size_t ndkim;
};

/* dmarc_obs_format - o as one line, "\n" included, appended to out. 0, or -1 (memory). */
int dmarc_obs_format(const struct dmarc_obs *o, struct buf *out);

/*
 * dmarc_obs_parse - one line (without or with its "\n") into o. Unknown fields are
 * skipped (a newer version's). Returns 0, or -1 (not a line of this format, or a
 * required field missing or malformed).
 */
int dmarc_obs_parse(const char *line, size_t len, struct dmarc_obs *o);

#endif
