/*
 * dmarc_walk.h - the DNS Tree Walk of RFC 9989 (pure): which names a walk asks
 * (at most eight, labels skipped for long names), and what the answers say: the
 * Organizational Domain of the starting domain, and the DMARC policy record that
 * applies to it (Author Domain, else Organizational Domain, else Public Suffix
 * Domain). The queries themselves are dmarc_query's.
 */
#ifndef MAILROOM_DMARC_WALK_H
#define MAILROOM_DMARC_WALK_H

#include <stdbool.h>
#include <stddef.h>

#include "deliver/dns_parse.h"
#include "dmarc/dmarc_record.h"

#define DMARC_WALK_MAX 8 /* queries of one walk */

/* What one query for _dmarc.<name> said. */
enum dmarc_answer_kind {
	DMARC_ANS_PENDING = 0, /* not asked or not answered yet */
	DMARC_ANS_NONE,        /* no DMARC record (NXDOMAIN, no TXT, none of them DMARC) */
	DMARC_ANS_SEVERAL,     /* more than one DMARC record: all discarded, as none */
	DMARC_ANS_RECORD,      /* exactly one */
	DMARC_ANS_TEMPFAIL,    /* a DNS failure */
};

struct dmarc_answer {
	enum dmarc_answer_kind kind;
	struct dmarc_record rec; /* DMARC_ANS_RECORD */
};

struct dmarc_walk {
	char start[DNS_NAME_MAX]; /* lower-case, without a final dot */
	size_t n;                 /* targets */
	char target[DMARC_WALK_MAX][DNS_NAME_MAX]; /* longest first; "_dmarc." not included */
};

/*
 * dmarc_walk_init - the targets for domain (RFC 9989 "DNS Tree Walk" steps 3-7):
 * the domain, then, if it has 8 or more labels, its last 7 labels, then one label
 * fewer each time, down to one label. domain is lower-cased; a final dot is
 * dropped. Returns 0, or -1 (empty, an empty label, or too long).
 */
int dmarc_walk_init(struct dmarc_walk *w, const char *domain);

/* How the answer to a target is found (the query cache). NULL: not asked. */
typedef const struct dmarc_answer *(*dmarc_answer_fn)(void *ctx, const char *name);

/*
 * dmarc_walk_needed - how many of w's targets are needed, in order, given the
 * answers so far: up to the first single record with psd=y or psd=n (the walk
 * stops there), else all. Answers still pending count as no stop.
 */
size_t dmarc_walk_needed(const struct dmarc_walk *w, dmarc_answer_fn answer, void *ctx);

struct dmarc_walk_result {
	bool complete;                 /* false: a DNS failure among the needed answers */
	char org[DNS_NAME_MAX];        /* the Organizational Domain (when complete) */
	/* The policy record for the starting domain: */
	bool found;                    /* a record applies (when complete, or at start) */
	char policy_domain[DNS_NAME_MAX];
	struct dmarc_record rec;
	bool at_start;                 /* the record is the starting domain's own */
	bool from_psd;                 /* ... a Public Suffix Domain's (psd=y) */
	bool start_tempfail;           /* the first query failed */
};

/*
 * dmarc_walk_decide - the Organizational Domain and policy record from the
 * answers (all of the needed ones must be there: none DMARC_ANS_PENDING).
 * Organizational Domain (RFC 9989 "Identifier Alignment Evaluation"): among the
 * names with a record, longest first: psd=n -> that name; psd=y (not at the
 * start) -> the name one label below it; else the name with fewest labels; none
 * -> the starting domain. Policy ("DMARC Policy Discovery"): the start's own
 * record, else the Organizational Domain's, else the PSD's.
 */
void dmarc_walk_decide(const struct dmarc_walk *w, dmarc_answer_fn answer, void *ctx,
    struct dmarc_walk_result *out);

/* dmarc_label_count - the labels of a dotted name ("" has none). */
size_t dmarc_label_count(const char *name);

/* dmarc_last_labels - the suffix of name made of its last k labels (name itself if fewer). */
const char *dmarc_last_labels(const char *name, size_t k);

#endif
