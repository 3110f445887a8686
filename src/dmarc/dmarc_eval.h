/*
 * dmarc_eval.h - the DMARC decision (pure): Identifier Alignment of the SPF and
 * DKIM results with the Author Domain (relaxed or strict, RFC 9989), pass or
 * fail, and the disposition the policy record asks for (p, sp or np; t=y one
 * level lower). The inputs and the result are what the lead's caller sees.
 */
#ifndef MAILROOM_DMARC_EVAL_H
#define MAILROOM_DMARC_EVAL_H

#include <stdbool.h>
#include <stddef.h>

#include "dmarc/dmarc_query.h"
#include "dmarc/dmarc_record.h"
#include "dmarc/dmarc_walk.h"

/* The SPF result (RFC 7208 2.6), mapped by the caller from its SPF verifier. */
enum dmarc_spf_result {
	DMARC_SPF_NONE = 0,
	DMARC_SPF_NEUTRAL,
	DMARC_SPF_PASS,
	DMARC_SPF_FAIL,
	DMARC_SPF_SOFTFAIL,
	DMARC_SPF_TEMPERROR,
	DMARC_SPF_PERMERROR,
};

/* One verified DKIM signature: its d= and whether it verified. */
struct dmarc_dkim {
	const char *domain;
	bool pass;
};

struct dmarc_input {
	/* The message's header block (without the empty line), for its From field. */
	const char *header;
	size_t header_len;
	enum dmarc_spf_result spf_result;
	const char *spf_domain; /* the MAIL FROM domain, or the HELO name for <> */
	const struct dmarc_dkim *dkim;
	size_t ndkim;
};

enum dmarc_outcome {
	DMARC_RESULT_NONE = 0,  /* no DMARC policy record applies */
	DMARC_RESULT_PASS,
	DMARC_RESULT_FAIL,
	DMARC_RESULT_TEMPERROR, /* a DNS failure: neither pass nor fail */
	DMARC_RESULT_PERMERROR, /* not evaluable: the From field, or an unusable record */
};

struct dmarc_result {
	enum dmarc_outcome result;
	enum dmarc_policy policy_applied;   /* what to do: UNSET unless fail (none included) */
	enum dmarc_policy policy_published; /* p, sp or np as chosen, before t=y */
	bool testing;                       /* t=y lowered policy_applied */
	bool from_unusable;                 /* permerror because of the From field */
	bool spf_aligned, dkim_aligned;     /* an aligned pass of each */
	char policy_domain[256];            /* where the record was found ("" if none) */
	char header_from[256];              /* the Author Domain ("" if none) */
	char org_domain[256];               /* its Organizational Domain ("" if unknown) */
	char why[256];
	/* The policy record found (for aggregate reports): valid when record_found. */
	bool record_found;
	struct dmarc_record record;
};

const char *dmarc_outcome_name(enum dmarc_outcome r);

/*
 * dmarc_identifier_wants_org - whether id (a passing SPF or DKIM domain) needs its
 * Organizational Domain for alignment with author: relaxed mode and the two differ.
 */
bool dmarc_identifier_wants_org(const char *author, const char *id, bool strict);

/*
 * dmarc_aligned - author and id in alignment: identical (any case), or, relaxed,
 * with the same Organizational Domain. author_org/id_org NULL: not known.
 * Returns 1, 0, or -1 (it depends on an Organizational Domain not known).
 */
int dmarc_aligned(const char *author, const char *author_org, const char *id,
    const char *id_org, bool strict);

/*
 * dmarc_disposition - the policy for a failing message: at_author -> p; else, for
 * a subdomain of the policy domain, np when it does not exist, else sp, else p
 * (np absent -> sp, else p). eff is dmarc_record_effective's. t=y lowers reject to
 * quarantine and quarantine to none. Fills r's policy fields.
 */
void dmarc_disposition(const struct dmarc_record *eff, bool at_author, enum dmarc_exists exists,
    struct dmarc_result *r);

/* The Organizational Domain of an identifier, or NULL if not known (a DNS failure). */
typedef const char *(*dmarc_org_fn)(void *ctx, const char *domain);

/*
 * dmarc_evaluate - pass, fail or temperror for a message whose Author Domain
 * author has the policy record eff and the Organizational Domain author_org
 * (NULL if not known), given the SPF and DKIM results; org gives identifiers'
 * Organizational Domains. Fills result, spf_aligned and dkim_aligned.
 */
void dmarc_evaluate(const struct dmarc_input *in, const char *author, const char *author_org,
    const struct dmarc_record *eff, dmarc_org_fn org, void *ctx, struct dmarc_result *r);

#endif
