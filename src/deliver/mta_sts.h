/*
 * mta_sts.h - MTA-STS (RFC 8461) as pure functions: the _mta-sts TXT record, the
 * policy file served at https://mta-sts.<domain>/.well-known/mta-sts.txt, and
 * whether an MX host name is one the policy allows. Fetching and caching the
 * policy is deliver/sts_cache.h's; enforcing it, remote_try.c's.
 */
#ifndef MAILROOM_MTA_STS_H
#define MAILROOM_MTA_STS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STS_ID_MAX 32          /* RFC 8461 3.1: 1 to 32 letters and digits */
#define STS_MX_MAX 32          /* mx patterns kept; more are ignored */
#define STS_NAME_MAX 256
#define STS_POLICY_MAX (64 * 1024) /* RFC 8461 3.3: a larger policy is a fetch failure */
#define STS_MAX_AGE_MAX 31557600u  /* RFC 8461 3.2: about a year */

enum sts_mode { STS_NONE, STS_TESTING, STS_ENFORCE };

struct sts_policy {
	enum sts_mode mode;
	uint32_t max_age;                   /* seconds */
	char mx[STS_MX_MAX][STS_NAME_MAX];  /* patterns, lower case, without a final dot */
	size_t nmx;
};

/*
 * sts_txt_parse - one TXT record's text (RFC 8461 3.1: "v=STSv1; id=..."): 1 with
 * the id in id, 0 when it is not an STSv1 record, -1 when it is one with bad syntax.
 */
int sts_txt_parse(const char *txt, size_t len, char id[STS_ID_MAX + 1]);

/*
 * sts_policy_parse - the policy text (RFC 8461 3.2: "key: value" lines, CRLF or LF).
 * version must be STSv1, mode and max_age must be there and valid, and unless the
 * mode is none at least one mx pattern; unknown keys are ignored. Returns 0, or -1
 * with a short reason in why.
 */
int sts_policy_parse(const char *text, size_t len, struct sts_policy *p, char *why,
    size_t whylen);

/*
 * sts_mx_match - whether host (an MX name, any case, a final dot allowed) matches
 * pattern: equal, or for "*.example.com" exactly one more label in front.
 */
bool sts_mx_match(const char *pattern, const char *host);

/* sts_host_allowed - whether host matches one of p's mx patterns. */
bool sts_host_allowed(const struct sts_policy *p, const char *host);

/* sts_mode_name - "none", "testing", "enforce". */
const char *sts_mode_name(enum sts_mode m);

#endif
