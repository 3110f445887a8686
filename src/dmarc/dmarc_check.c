/*
 * dmarc_check.c - the phases of one DMARC check: (1) the Author Domain's walk,
 * (2) the identifiers' walks if alignment still depends on them, (3) whether the
 * Author Domain exists if np= could decide the disposition; then the result.
 */
#include "dmarc/dmarc_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmarc/dmarc_from.h"

struct dmarc_check {
	struct dmarc_query *q;
	dmarc_done_fn done;
	void *arg;
	bool starting, finished;

	/* The input, copied. */
	struct dmarc_input in;
	char spf_domain[DNS_NAME_MAX];
	char dkim_domain[DMARC_DKIM_MAX][DNS_NAME_MAX];
	struct dmarc_dkim dkim[DMARC_DKIM_MAX];

	struct dmarc_walk walks[1 + DMARC_DKIM_MAX]; /* [0]: the Author Domain's */
	size_t nwalks;
	void (*then)(struct dmarc_check *);
	size_t asked_at_step;
	struct dmarc_walk_result aw;
	struct dmarc_record eff;
	bool walks_missing;            /* an identifier's walk was wanted but not asked */
	char org_tmp[DNS_NAME_MAX];    /* id_org's answer */
	struct dmarc_result r;
};

static void
finish(struct dmarc_check *c)
{
	c->finished = true;
	c->done(c->arg, &c->r);
	if (!c->starting) {
		dmarc_query_free(c->q);
		free(c);
	}
}

/*
 * Walks go one name at a time, as the RFC has them stop at the first psd= tag;
 * the walks of one phase go side by side. step asks the next name of each walk
 * not yet finished and calls c->then when none is left.
 */
static void
step(void *arg)
{
	struct dmarc_check *c = arg;
	const char *names[1 + DMARC_DKIM_MAX];
	size_t n = 0;

	for (size_t k = 0; k < c->nwalks; k++) {
		const struct dmarc_walk *w = &c->walks[k];
		for (size_t i = 0; i < w->n; i++) {
			const struct dmarc_answer *a = dmarc_query_answer(c->q, w->target[i]);
			if (a == NULL) {
				names[n++] = w->target[i];
				break;
			}
			if (a->kind == DMARC_ANS_TEMPFAIL || (a->kind == DMARC_ANS_RECORD &&
			    a->rec.psd != DMARC_PSD_U))
				break; /* the walk is over: stopped, or it cannot go on */
		}
	}
	/* A batch that asked nothing new (out of memory) ends the walks. */
	size_t now = dmarc_query_count(c->q);
	if (n == 0 || now == c->asked_at_step) {
		c->then(c);
		return;
	}
	c->asked_at_step = now;
	dmarc_query_ask(c->q, names, n, NULL, step, c);
}

static void
walk(struct dmarc_check *c, void (*then)(struct dmarc_check *))
{
	c->then = then;
	c->asked_at_step = (size_t)-1;
	step(c);
}

/* dmarc_org_fn over the answers so far; notes walks not asked yet. */
static const char *
id_org(void *ctx, const char *domain)
{
	struct dmarc_check *c = ctx;
	struct dmarc_walk w;
	struct dmarc_walk_result wr;

	if (dmarc_walk_init(&w, domain) != 0)
		return ""; /* not a domain name: aligned with nothing */
	size_t needed = dmarc_walk_needed(&w, dmarc_query_answer, c->q);
	for (size_t i = 0; i < needed; i++) {
		if (dmarc_query_answer(c->q, w.target[i]) == NULL) {
			c->walks_missing = true;
			return NULL;
		}
	}
	dmarc_walk_decide(&w, dmarc_query_answer, c->q, &wr);
	if (!wr.complete)
		return NULL;
	strcpy(c->org_tmp, wr.org);
	return c->org_tmp;
}

static void after_identifiers(struct dmarc_check *c);
static void on_exists(void *arg);

static void
add_walk(struct dmarc_check *c, const char *id, bool strict)
{
	if (c->nwalks < sizeof c->walks / sizeof c->walks[0] &&
	    dmarc_identifier_wants_org(c->r.header_from, id, strict) &&
	    dmarc_walk_init(&c->walks[c->nwalks], id) == 0)
		c->nwalks++;
}

static void
decide_policy(struct dmarc_check *c)
{
	enum dmarc_exists ex = dmarc_query_exists(c->q);

	dmarc_disposition(&c->eff, c->aw.at_start, ex, &c->r);
	if (!c->aw.at_start && c->eff.np != DMARC_POLICY_UNSET && ex == DMARC_EXISTS_UNKNOWN) {
		/* A DNS failure: the domain is taken to exist (sp or p). */
		size_t l = strlen(c->r.why);
		snprintf(c->r.why + l, sizeof c->r.why - l, "; existence of %s unknown",
		    c->r.header_from);
	}
	finish(c);
}

static void
evaluate(struct dmarc_check *c, bool may_ask)
{
	const char *author_org = c->aw.complete ? c->aw.org : NULL;

	c->walks_missing = false;
	dmarc_evaluate(&c->in, c->r.header_from, author_org, &c->eff, id_org, c, &c->r);
	if (c->r.result == DMARC_RESULT_TEMPERROR && c->walks_missing && may_ask &&
	    author_org != NULL) {
		/* Phase 2: the walks of the identifiers that alignment depends on. */
		c->nwalks = 0;
		if (c->in.spf_result == DMARC_SPF_PASS)
			add_walk(c, c->in.spf_domain, c->eff.aspf_strict);
		for (size_t i = 0; i < c->in.ndkim; i++)
			add_walk(c, c->in.dkim[i].domain, c->eff.adkim_strict);
		walk(c, after_identifiers);
		return;
	}
	if (c->r.result != DMARC_RESULT_FAIL) {
		finish(c);
		return;
	}
	if (!c->aw.at_start && c->eff.np != DMARC_POLICY_UNSET) {
		/* Phase 3: np applies only if the Author Domain does not exist. */
		dmarc_query_ask(c->q, NULL, 0, c->r.header_from, on_exists, c);
		return;
	}
	decide_policy(c);
}

static void
on_exists(void *arg)
{
	decide_policy(arg);
}

static void
after_identifiers(struct dmarc_check *c)
{
	evaluate(c, false);
}

static void
after_author(struct dmarc_check *c)
{

	dmarc_walk_decide(&c->walks[0], dmarc_query_answer, c->q, &c->aw);
	if (c->aw.complete)
		strcpy(c->r.org_domain, c->aw.org);
	if (!c->aw.found) {
		if (c->aw.start_tempfail || !c->aw.complete) {
			c->r.result = DMARC_RESULT_TEMPERROR;
			snprintf(c->r.why, sizeof c->r.why,
			    "DNS failure looking for the DMARC record of %s", c->r.header_from);
		} else {
			c->r.result = DMARC_RESULT_NONE;
			snprintf(c->r.why, sizeof c->r.why, "no DMARC record for %s",
			    c->r.header_from);
		}
		finish(c);
		return;
	}
	strcpy(c->r.policy_domain, c->aw.policy_domain);
	c->r.record_found = true;
	c->r.record = c->aw.rec;
	if (dmarc_record_effective(&c->aw.rec, &c->eff) != 0) {
		c->r.result = DMARC_RESULT_PERMERROR;
		snprintf(c->r.why, sizeof c->r.why,
		    "the DMARC record at _dmarc.%s has a bad p, sp or np and no valid rua",
		    c->aw.policy_domain);
		finish(c);
		return;
	}
	evaluate(c, true);
}

static void
copy_input(struct dmarc_check *c, const struct dmarc_input *in)
{
	c->in.spf_result = in->spf_result;
	if (in->spf_domain != NULL)
		snprintf(c->spf_domain, sizeof c->spf_domain, "%s", in->spf_domain);
	c->in.spf_domain = c->spf_domain;
	for (size_t i = 0; i < in->ndkim && c->in.ndkim < DMARC_DKIM_MAX; i++) {
		const char *d = in->dkim[i].domain;
		if (!in->dkim[i].pass || d == NULL || strlen(d) >= DNS_NAME_MAX)
			continue; /* failed signatures cannot align */
		bool dup = false;
		for (size_t k = 0; k < c->in.ndkim; k++)
			dup = dup || strcmp(c->dkim_domain[k], d) == 0;
		if (dup)
			continue;
		strcpy(c->dkim_domain[c->in.ndkim], d);
		c->dkim[c->in.ndkim].domain = c->dkim_domain[c->in.ndkim];
		c->dkim[c->in.ndkim].pass = true;
		c->in.ndkim++;
	}
	c->in.dkim = c->dkim;
}

struct dmarc_check *
dmarc_check_start(const struct dns_ops *ops, const struct dmarc_input *in,
    dmarc_done_fn done, void *arg)
{
	struct dmarc_check *c = calloc(1, sizeof *c);
	struct dmarc_result oom = { .result = DMARC_RESULT_TEMPERROR };

	if (c != NULL)
		c->q = dmarc_query_new(ops);
	if (c == NULL || c->q == NULL) {
		free(c);
		snprintf(oom.why, sizeof oom.why, "out of memory");
		done(arg, &oom);
		return NULL;
	}
	c->done = done;
	c->arg = arg;
	c->starting = true;
	copy_input(c, in);

	if (dmarc_from_header(in->header, in->header_len, c->r.header_from,
	    sizeof c->r.header_from, c->r.why, sizeof c->r.why) < 0) {
		c->r.header_from[0] = '\0';
		c->r.result = DMARC_RESULT_PERMERROR;
		c->r.from_unusable = true;
		finish(c);
	} else if (dmarc_walk_init(&c->walks[0], c->r.header_from) != 0) {
		c->r.result = DMARC_RESULT_PERMERROR;
		c->r.from_unusable = true;
		snprintf(c->r.why, sizeof c->r.why, "From: the domain is not a DNS name");
		finish(c);
	} else {
		c->nwalks = 1;
		walk(c, after_author);
	}
	c->starting = false;
	if (c->finished) {
		dmarc_query_free(c->q);
		free(c);
		return NULL;
	}
	return c;
}

void
dmarc_check_cancel(struct dmarc_check *c)
{
	if (c == NULL)
		return;
	dmarc_query_free(c->q);
	free(c);
}
