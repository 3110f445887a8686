/*
 * dmarc_query.h - the DNS questions of one DMARC check, asked over struct dns_ops:
 * the TXT records at _dmarc.<name> (each name asked once, the answers kept for
 * every walk of the check), and whether the Author Domain exists (for np=).
 * Questions are asked in batches, in parallel; a batch ends when every answer
 * is in, which may happen before the call that started it returns.
 */
#ifndef MAILROOM_DMARC_QUERY_H
#define MAILROOM_DMARC_QUERY_H

#include <stdbool.h>
#include <stddef.h>

#include "deliver/dns_ops.h"
#include "dmarc/dmarc_walk.h"

#define DMARC_QUERY_NAMES 48 /* distinct _dmarc names one check may ask */

enum dmarc_exists {
	DMARC_EXISTS_UNKNOWN = 0, /* not asked, or a DNS failure */
	DMARC_EXISTS_YES,
	DMARC_EXISTS_NO,          /* NXDOMAIN (RFC 8020: nothing below it either) */
};

struct dmarc_query;
typedef void (*dmarc_query_done_fn)(void *arg);

/* dmarc_query_new - NULL when out of memory. ops is copied. */
struct dmarc_query *dmarc_query_new(const struct dns_ops *ops);

/* dmarc_query_free - cancels what is pending (the batch's done is not called). */
void dmarc_query_free(struct dmarc_query *q);

/*
 * dmarc_query_ask - ask _dmarc.<name> TXT for each of names[0..n) not asked yet;
 * ask_exists also asks whether exists_name exists (an MX query: only NXDOMAIN
 * says no). done(arg) is called once, when nothing is pending any more (at once,
 * before this returns, when everything was known). One batch at a time.
 * Names beyond DMARC_QUERY_NAMES are answered DMARC_ANS_TEMPFAIL.
 */
void dmarc_query_ask(struct dmarc_query *q, const char *const *names, size_t n,
    const char *exists_name, dmarc_query_done_fn done, void *arg);

/* dmarc_query_answer - the answer for name (a dmarc_answer_fn); NULL if not asked. */
const struct dmarc_answer *dmarc_query_answer(void *q, const char *name);

/* dmarc_query_exists - what the existence question said. */
enum dmarc_exists dmarc_query_exists(const struct dmarc_query *q);

/* dmarc_query_count - the DNS questions asked so far (for tests and logs). */
size_t dmarc_query_count(const struct dmarc_query *q);

/* dmarc_answer_from_txt - what the TXT records at a _dmarc name say (pure). */
void dmarc_answer_from_txt(const struct dns_rdata *rr, struct dmarc_answer *out);

#endif
