/*
 * dmarc_query.c - the _dmarc TXT questions and the existence question of one
 * DMARC check, with their answers kept for the check's walks.
 */
#include "dmarc/dmarc_query.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RR_TXT 16
#define RR_MX 15

struct dmarc_query;

struct entry {
	struct dmarc_query *q;
	char name[DNS_NAME_MAX];
	bool is_exists;     /* the existence question, not a _dmarc name */
	bool pending;
	struct dmarc_answer ans;
};

struct dmarc_query {
	struct dns_ops ops;
	struct entry *v[DMARC_QUERY_NAMES];
	size_t n;
	struct entry *exists;
	enum dmarc_exists exists_answer;
	struct dmarc_answer overflow; /* the answer for names past the cap */
	size_t pending, asked;
	bool starting;                /* inside dmarc_query_ask: done waits */
	dmarc_query_done_fn done;
	void *done_arg;
};

struct dmarc_query *
dmarc_query_new(const struct dns_ops *ops)
{
	struct dmarc_query *q = calloc(1, sizeof *q);

	if (q == NULL)
		return NULL;
	q->ops = *ops;
	q->overflow.kind = DMARC_ANS_TEMPFAIL;
	return q;
}

static void
entry_cancel_free(struct dmarc_query *q, struct entry *e)
{
	if (e == NULL)
		return;
	if (e->pending && q->ops.cancel != NULL)
		q->ops.cancel(q->ops.ctx, e);
	free(e);
}

void
dmarc_query_free(struct dmarc_query *q)
{
	if (q == NULL)
		return;
	for (size_t i = 0; i < q->n; i++)
		entry_cancel_free(q, q->v[i]);
	entry_cancel_free(q, q->exists);
	free(q);
}

void
dmarc_answer_from_txt(const struct dns_rdata *rr, struct dmarc_answer *out)
{
	char txt[4096];
	struct dmarc_record rec;
	size_t found = 0;

	memset(out, 0, sizeof *out);
	for (size_t i = 0; rr != NULL && i < rr->n; i++) {
		long n = dns_parse_txt(rr->v[i], (size_t)rr->len[i], txt, sizeof txt);
		if (n < 0 || dmarc_record_parse(txt, (size_t)n, &rec) == 0)
			continue; /* not a DMARC record: discarded (step 2) */
		if (found++ == 0)
			out->rec = rec;
	}
	out->kind = found == 0 ? DMARC_ANS_NONE : found == 1 ? DMARC_ANS_RECORD :
	    DMARC_ANS_SEVERAL;
	if (found != 1)
		memset(&out->rec, 0, sizeof out->rec);
}

static void
maybe_done(struct dmarc_query *q)
{
	if (q->pending > 0 || q->starting || q->done == NULL)
		return;
	dmarc_query_done_fn fn = q->done;
	q->done = NULL;
	fn(q->done_arg); /* may free q */
}

static void
on_answer(void *arg, enum dns_status st, const struct dns_rdata *rr, const char *why)
{
	struct entry *e = arg;
	struct dmarc_query *q = e->q;

	e->pending = false;
	q->pending--;
	if (e->is_exists) {
		q->exists_answer = st == DNS_NXDOMAIN ? DMARC_EXISTS_NO :
		    st == DNS_TEMPFAIL ? DMARC_EXISTS_UNKNOWN : DMARC_EXISTS_YES;
	} else if (st == DNS_OK) {
		dmarc_answer_from_txt(rr, &e->ans);
	} else {
		memset(&e->ans, 0, sizeof e->ans);
		e->ans.kind = st == DNS_TEMPFAIL ? DMARC_ANS_TEMPFAIL : DMARC_ANS_NONE;
	}
	maybe_done(q);
}

/* Start one question; a refused start is a DNS failure at once. */
static void
start(struct dmarc_query *q, struct entry *e, const char *qname, int rrtype)
{
	e->pending = true;
	q->pending++;
	q->asked++;
	if (q->ops.rr(q->ops.ctx, qname, rrtype, on_answer, e) != 0)
		on_answer(e, DNS_TEMPFAIL, NULL, "the query could not be started");
}

static struct entry *
find(const struct dmarc_query *q, const char *name)
{
	for (size_t i = 0; i < q->n; i++)
		if (strcmp(q->v[i]->name, name) == 0)
			return q->v[i];
	return NULL;
}

void
dmarc_query_ask(struct dmarc_query *q, const char *const *names, size_t n,
    const char *exists_name, dmarc_query_done_fn done, void *arg)
{
	char qname[DNS_NAME_MAX + 8];

	q->done = done;
	q->done_arg = arg;
	q->starting = true;
	for (size_t i = 0; i < n; i++) {
		if (find(q, names[i]) != NULL || q->n >= DMARC_QUERY_NAMES ||
		    strlen(names[i]) >= DNS_NAME_MAX)
			continue;
		struct entry *e = calloc(1, sizeof *e);
		if (e == NULL)
			continue; /* answered as the overflow: a DNS failure */
		e->q = q;
		strcpy(e->name, names[i]);
		q->v[q->n++] = e;
		snprintf(qname, sizeof qname, "_dmarc.%s", names[i]);
		start(q, e, qname, RR_TXT);
	}
	if (exists_name != NULL && q->exists == NULL) {
		q->exists = calloc(1, sizeof *q->exists);
		if (q->exists != NULL) {
			q->exists->q = q;
			q->exists->is_exists = true;
			snprintf(q->exists->name, sizeof q->exists->name, "%s", exists_name);
			start(q, q->exists, q->exists->name, RR_MX);
		}
	}
	q->starting = false;
	maybe_done(q);
}

const struct dmarc_answer *
dmarc_query_answer(void *ctx, const char *name)
{
	struct dmarc_query *q = ctx;
	struct entry *e = find(q, name);

	if (e != NULL)
		return &e->ans;
	return q->n >= DMARC_QUERY_NAMES ? &q->overflow : NULL;
}

enum dmarc_exists
dmarc_query_exists(const struct dmarc_query *q)
{
	return q->exists_answer;
}

size_t
dmarc_query_count(const struct dmarc_query *q)
{
	return q->asked;
}
