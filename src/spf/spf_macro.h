/*
 * spf_macro.h - SPF macros (RFC 7208 7), pure: expanding a domain-spec or an
 * explanation string, checking a domain-spec's syntax, and making a name fit a
 * DNS query (7.3: at most 253 octets, labels dropped from the left).
 */
#ifndef MAILROOM_SPF_MACRO_H
#define MAILROOM_SPF_MACRO_H

#include <stdbool.h>
#include <stddef.h>

#include "spf/spf_addr.h"

/* What the macro letters stand for during one evaluation. */
struct spf_macro_env {
	const char *sender;        /* s: local-part@domain */
	const char *local;         /* l */
	const char *sender_domain; /* o */
	const char *domain;        /* d: the domain being evaluated */
	const struct spf_ip *ip;   /* i, c, v */
	const char *validated;     /* p; NULL: "unknown" (not validated) */
	const char *helo;          /* h */
	const char *receiver;      /* r; NULL: "unknown" */
	long long now;             /* t */
};

/*
 * spf_macro_expand - expand in (len octets): a macro-string, or with exp_text an
 * explanation string (spaces allowed; c, r and t allowed). env NULL checks the
 * syntax only. The output is cut at outlen - 1 octets and NUL-terminated.
 * Returns 0, or -1 on a syntax error (a permerror where it appears in a record).
 */
int spf_macro_expand(const char *in, size_t len, const struct spf_macro_env *env, bool exp_text,
    char *out, size_t outlen);

/*
 * spf_domain_spec_ok - in (len octets) is a domain-spec: a macro-string ending in
 * a macro-expand or in "." toplabel with an optional final dot (RFC 7208 7.1).
 */
bool spf_domain_spec_ok(const char *in, size_t len);

/* spf_name_fit - drop a final dot, then whole labels from the left until at most 253 octets. */
void spf_name_fit(char *name);

/*
 * spf_name_ok - name can be asked of DNS: labels of 1 to 63 octets, at most 253
 * in all (a final dot allowed), and with multi_label, more than one label.
 */
bool spf_name_ok(const char *name, bool multi_label);

#endif
