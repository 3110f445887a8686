/*
 * dmarc_eval.c - Identifier Alignment, DMARC pass or fail, and the disposition.
 */
#include "dmarc/dmarc_eval.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

const char *
dmarc_outcome_name(enum dmarc_outcome r)
{
	switch (r) {
	case DMARC_RESULT_PASS:
		return "pass";
	case DMARC_RESULT_FAIL:
		return "fail";
	case DMARC_RESULT_TEMPERROR:
		return "temperror";
	case DMARC_RESULT_PERMERROR:
		return "permerror";
	default:
		return "none";
	}
}

/* Domain names compare without case (RFC 4343) and without a final dot. */
static bool
same_domain(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la > 0 && a[la - 1] == '.')
		la--;
	if (lb > 0 && b[lb - 1] == '.')
		lb--;
	return la == lb && la > 0 && strncasecmp(a, b, la) == 0;
}

bool
dmarc_identifier_wants_org(const char *author, const char *id, bool strict)
{
	return !strict && !same_domain(author, id);
}

int
dmarc_aligned(const char *author, const char *author_org, const char *id,
    const char *id_org, bool strict)
{
	if (same_domain(author, id))
		return 1;
	if (strict)
		return 0;
	if (author_org == NULL || id_org == NULL)
		return -1;
	return same_domain(author_org, id_org) ? 1 : 0;
}

static enum dmarc_policy
lower(enum dmarc_policy p)
{
	switch (p) {
	case DMARC_POLICY_REJECT:
		return DMARC_POLICY_QUARANTINE;
	case DMARC_POLICY_QUARANTINE:
		return DMARC_POLICY_NONE;
	default:
		return p;
	}
}

void
dmarc_disposition(const struct dmarc_record *eff, bool at_author, enum dmarc_exists exists,
    struct dmarc_result *r)
{
	enum dmarc_policy p = eff->p != DMARC_POLICY_UNSET ? eff->p : DMARC_POLICY_NONE;

	if (!at_author) {
		if (exists == DMARC_EXISTS_NO && eff->np != DMARC_POLICY_UNSET)
			p = eff->np;
		else if (eff->sp != DMARC_POLICY_UNSET)
			p = eff->sp;
	}
	r->policy_published = p;
	r->policy_applied = p;
	r->testing = false;
	/* t=y has no effect on a policy of none (RFC 9989, the "t" tag). */
	if (eff->testing && p != DMARC_POLICY_NONE) {
		r->policy_applied = lower(p);
		r->testing = true;
	}
}

/* One identifier: 1 aligned, 0 not, -1 not known. */
static int
check_one(const char *author, const char *author_org, const char *id, bool strict,
    dmarc_org_fn org, void *ctx)
{
	if (id == NULL || *id == '\0')
		return 0;
	const char *id_org = NULL;
	if (dmarc_identifier_wants_org(author, id, strict))
		id_org = org(ctx, id);
	return dmarc_aligned(author, author_org, id, id_org, strict);
}

void
dmarc_evaluate(const struct dmarc_input *in, const char *author, const char *author_org,
    const struct dmarc_record *eff, dmarc_org_fn org, void *ctx, struct dmarc_result *r)
{
	bool unknown = false;
	const char *unknown_id = NULL;
	int a;

	r->spf_aligned = r->dkim_aligned = false;
	if (in->spf_result == DMARC_SPF_PASS) {
		a = check_one(author, author_org, in->spf_domain, eff->aspf_strict, org, ctx);
		r->spf_aligned = a == 1;
		if (a < 0) {
			unknown = true;
			unknown_id = in->spf_domain;
		}
	}
	for (size_t i = 0; i < in->ndkim; i++) {
		if (!in->dkim[i].pass)
			continue;
		a = check_one(author, author_org, in->dkim[i].domain, eff->adkim_strict, org, ctx);
		if (a == 1)
			r->dkim_aligned = true;
		if (a < 0 && !unknown) {
			unknown = true;
			unknown_id = in->dkim[i].domain;
		}
	}
	if (r->spf_aligned || r->dkim_aligned) {
		r->result = DMARC_RESULT_PASS;
		snprintf(r->why, sizeof r->why, "%s aligned with %s",
		    r->spf_aligned && r->dkim_aligned ? "SPF and DKIM" :
		    r->spf_aligned ? "SPF" : "DKIM", author);
	} else if (unknown) {
		r->result = DMARC_RESULT_TEMPERROR;
		snprintf(r->why, sizeof r->why,
		    "the Organizational Domain of %s is not known (DNS failure)",
		    author_org == NULL ? author : unknown_id);
	} else {
		r->result = DMARC_RESULT_FAIL;
		snprintf(r->why, sizeof r->why, "no aligned SPF or DKIM pass for %s", author);
	}
}
