/*
 * dmarc_aggregate.h - a reporting period's lines (dmarc_report_line.h) gathered
 * per Policy Domain, and each domain's aggregate report as RFC 9990 XML (pure).
 * Messages count together when they share the source IP, the disposition, the
 * DMARC-aligned DKIM and SPF results, the identifiers and the authentication
 * results; policy_published and the rua are the last configuration seen (RFC 9990
 * 2.1: "the final configuration observed during the period").
 */
#ifndef MAILROOM_DMARC_AGGREGATE_H
#define MAILROOM_DMARC_AGGREGATE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "dmarc/dmarc_report_line.h"
#include "util/buf.h"
#include "util/strmap.h"

struct dmarc_agg_row {
	char *key;      /* the row's fields as a line (dmarc_obs_format), parsed again for XML */
	uint64_t count;
};

struct dmarc_agg_domain {
	struct dmarc_obs last;   /* the latest line: policy_published and the rua */
	struct dmarc_agg_row *rows;
	size_t nrows, cap;
	struct strmap index;     /* key -> row number + 1 */
	uint64_t messages;
};

struct dmarc_agg {
	struct dmarc_agg_domain **domains; /* in the order first seen */
	size_t n, cap;
	struct strmap index;               /* policy domain (lower case) -> domain */
	uint64_t lines, malformed;
};

struct dmarc_report_meta {
	const char *org_name;  /* our hostname */
	const char *email;     /* the reporting address */
	const char *report_id; /* unique among our reports to the domain */
	time_t begin, end;     /* the reporting period */
};

/* dmarc_agg_add - one line; a malformed one is counted and skipped. 0, or -1 (memory). */
int dmarc_agg_add(struct dmarc_agg *a, const char *line, size_t len);

/* dmarc_agg_add_text - every line of text[0..len). 0, or -1 (memory). */
int dmarc_agg_add_text(struct dmarc_agg *a, const char *text, size_t len);

/*
 * dmarc_agg_xml - the aggregate report of d, appended to out. Every value from the
 * network is escaped (XML special characters; octets outside printable ASCII
 * become '?'). 0, or -1 (memory).
 */
int dmarc_agg_xml(const struct dmarc_agg_domain *d, const struct dmarc_report_meta *m,
    struct buf *out);

void dmarc_agg_free(struct dmarc_agg *a);

#endif
