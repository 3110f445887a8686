/*
 * spf.h - SPF (RFC 7208) checks of the HELO and MAIL FROM identities, asked of
 * DNS through struct dns_ops: asynchronous in the servers' loops, synchronous in
 * the CLI, canned in the unit tests. The evaluator keeps every limit of 4.6.4
 * (10 DNS terms, 2 void lookups, 10 MX or PTR names per mechanism) and bounds its
 * own work besides, so hostile DNS gives temperror or permerror, never a hang.
 * There is no cache of its own: libunbound keeps answers for their TTL.
 */
#ifndef MAILROOM_SPF_H
#define MAILROOM_SPF_H

#include "deliver/dns_ops.h"

enum spf_outcome {
	SPF_NONE,
	SPF_NEUTRAL,
	SPF_PASS,
	SPF_FAIL,
	SPF_SOFTFAIL,
	SPF_TEMPERROR,
	SPF_PERMERROR,
};

/* spf_outcome_name - "none", "neutral", "pass", ... (RFC 7208 2.6, 8). */
const char *spf_outcome_name(enum spf_outcome o);

struct spf_request {
	const char *ip;       /* the SMTP client, numeric; ::ffff:a.b.c.d counts as IPv4 */
	const char *helo;     /* the HELO/EHLO argument */
	const char *mailfrom; /* the reverse-path without <>; "" for <>: the HELO identity */
	const char *receiver; /* this host's name, for the r macro of explanations; may be NULL */
};

struct spf_result {
	enum spf_outcome result;
	char explanation[512]; /* fail with an exp= explanation: its expanded text; else "" */
	char problem[256];     /* why a temperror/permerror (or none), for logs and comments */
	const char *identity;  /* "mailfrom" or "helo" */
	char domain[256];      /* the domain checked: the sender's, or the HELO name */
	char sender[512];      /* the sender as checked: local@domain, postmaster@helo */
};

typedef void (*spf_done_fn)(void *arg, const struct spf_result *r);

struct spf_check;

/*
 * spf_check_start - check_host() for the MAIL FROM identity of r (for "" the HELO
 * identity, postmaster@helo). done is called once, maybe before this returns
 * (synchronous DNS): then the return is NULL. Otherwise the return is the check
 * under way, to pass to spf_check_cancel until done has been called. The strings
 * of r are copied.
 */
struct spf_check *spf_check_start(const struct dns_ops *dns, const struct spf_request *r,
    spf_done_fn done, void *arg);

/* spf_check_helo_start - as spf_check_start, for the HELO identity. */
struct spf_check *spf_check_helo_start(const struct dns_ops *dns, const struct spf_request *r,
    spf_done_fn done, void *arg);

/* spf_check_cancel - stop a check before done was called (done will not be). */
void spf_check_cancel(struct spf_check *c);

/*
 * Both identities as RFC 7208 2.3 and 2.4 recommend: HELO first, then MAIL FROM
 * (for <> the MAIL FROM result is the HELO one). done gets both; the same
 * calling rules as spf_check_start.
 */
typedef void (*spf_both_fn)(void *arg, const struct spf_result *helo,
    const struct spf_result *mailfrom);

struct spf_both;

struct spf_both *spf_both_start(const struct dns_ops *dns, const struct spf_request *r,
    spf_both_fn done, void *arg);
void spf_both_cancel(struct spf_both *b);

#endif
