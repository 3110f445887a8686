/* spf_record.c - parsing one SPF record into mechanisms and modifiers (RFC 7208 12). */
#include "spf/spf_record.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "spf/spf_macro.h"

#define SPF_RECORD_TERMS_MAX 512 /* far beyond any record that fits DNS limits sanely */

static const char *const mech_names[] = {
	[SPF_MECH_ALL] = "all", [SPF_MECH_INCLUDE] = "include", [SPF_MECH_A] = "a",
	[SPF_MECH_MX] = "mx", [SPF_MECH_PTR] = "ptr", [SPF_MECH_IP4] = "ip4",
	[SPF_MECH_IP6] = "ip6", [SPF_MECH_EXISTS] = "exists",
};

const char *
spf_mech_name(enum spf_mech m)
{
	return mech_names[m];
}

bool
spf_is_record(const char *txt, size_t len)
{
	return len >= 6 && strncasecmp(txt, "v=spf1", 6) == 0 && (len == 6 || txt[6] == ' ');
}

void
spf_record_free(struct spf_record *r)
{
	free(r->text);
	free(r->v);
	memset(r, 0, sizeof *r);
}

/* cidr_value - "0" or a decimal without leading zeros, at most max. */
static int
cidr_value(const char *s, size_t len, unsigned max, unsigned *out)
{
	unsigned v = 0;

	if (len == 0 || len > 3 || (len > 1 && s[0] == '0'))
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

/* digits_before - how many decimal digits end s[0..end). */
static size_t
digits_before(const char *s, size_t end)
{
	size_t n = 0;
	while (n < end && isdigit((unsigned char)s[end - 1 - n]))
		n++;
	return n;
}

/*
 * cut_dual_cidr - a dual-cidr-length ("/n4", "//n6", "/n4//n6") at the end of
 * s (len octets) is parsed into t and cut off: returns the length left, or -1.
 */
static long
cut_dual_cidr(char *s, size_t len, struct spf_term *t)
{
	t->cidr4 = 32;
	t->cidr6 = 128;
	size_t d = digits_before(s, len);
	if (d == 0 || d >= len || s[len - d - 1] != '/')
		return (long)len;
	size_t slash = len - d - 1;
	if (slash > 0 && s[slash - 1] == '/') {
		if (cidr_value(s + slash + 1, d, 128, &t->cidr6) < 0)
			return -1;
		len = slash - 1;
		d = digits_before(s, len);
		if (d == 0 || d >= len || s[len - d - 1] != '/')
			return (long)len;
		slash = len - d - 1;
	}
	if (cidr_value(s + slash + 1, d, 32, &t->cidr4) < 0)
		return -1;
	return (long)slash;
}

/* modifier_name_ok - name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." ) */
static bool
modifier_name_ok(const char *s, size_t len)
{
	if (len == 0 || !isalpha((unsigned char)s[0]))
		return false;
	for (size_t i = 1; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!isalnum(c) && c != '-' && c != '_' && c != '.')
			return false;
	}
	return true;
}

static int
parse_modifier(char *term, size_t namelen, struct spf_record *out, char *why, size_t whylen)
{
	char *value = term + namelen + 1;

	if (!modifier_name_ok(term, namelen)) {
		snprintf(why, whylen, "bad modifier name in \"%.60s\"", term);
		return -1;
	}
	const char **slot = NULL;
	if (namelen == 8 && strncasecmp(term, "redirect", 8) == 0)
		slot = &out->redirect;
	else if (namelen == 3 && strncasecmp(term, "exp", 3) == 0)
		slot = &out->exp;
	if (slot == NULL) {
		/* Unknown modifiers are ignored (6), but must still be macro-strings. */
		if (spf_macro_expand(value, strlen(value), NULL, false, NULL, 0) < 0) {
			snprintf(why, whylen, "bad macro in \"%.60s\"", term);
			return -1;
		}
		return 0;
	}
	if (*slot != NULL) {
		snprintf(why, whylen, "%.*s= given twice", (int)namelen, term);
		return -1;
	}
	if (!spf_domain_spec_ok(value, strlen(value))) {
		snprintf(why, whylen, "bad domain in \"%.60s\"", term);
		return -1;
	}
	*slot = value;
	return 0;
}

/* lookup_mech - the mechanism named by s (len octets), or -1. */
static int
lookup_mech(const char *s, size_t len)
{
	for (size_t m = 0; m < sizeof mech_names / sizeof mech_names[0]; m++)
		if (strlen(mech_names[m]) == len && strncasecmp(s, mech_names[m], len) == 0)
			return (int)m;
	return -1;
}

static int
parse_mechanism(char *term, struct spf_term *t)
{
	char *p = term;

	t->qual = '+';
	if (strchr("+-~?", *p) != NULL && *p != '\0')
		t->qual = *p++;
	size_t namelen = strcspn(p, ":/");
	int m = lookup_mech(p, namelen);
	if (m < 0)
		return -1;
	t->mech = (enum spf_mech)m;
	char *arg = p + namelen;
	size_t arglen = strlen(arg);

	switch (t->mech) {
	case SPF_MECH_ALL:
		return arglen == 0 ? 0 : -1;
	case SPF_MECH_IP4:
	case SPF_MECH_IP6: {
		bool v6 = t->mech == SPF_MECH_IP6;
		if (arg[0] != ':')
			return -1;
		arg++;
		char *slash = strchr(arg, '/');
		t->cidr4 = 32;
		t->cidr6 = 128;
		if (slash != NULL) {
			*slash = '\0';
			if (cidr_value(slash + 1, strlen(slash + 1), v6 ? 128 : 32,
			    v6 ? &t->cidr6 : &t->cidr4) < 0)
				return -1;
		}
		return inet_pton(v6 ? AF_INET6 : AF_INET, arg, t->net) == 1 ? 0 : -1;
	}
	case SPF_MECH_A:
	case SPF_MECH_MX:
	case SPF_MECH_PTR:
	case SPF_MECH_INCLUDE:
	case SPF_MECH_EXISTS: {
		bool cidr = t->mech == SPF_MECH_A || t->mech == SPF_MECH_MX;
		bool required = t->mech == SPF_MECH_INCLUDE || t->mech == SPF_MECH_EXISTS;
		long left = (long)arglen;
		if (cidr && (left = cut_dual_cidr(arg, arglen, t)) < 0)
			return -1;
		if (left == 0)
			return required ? -1 : 0;
		if (arg[0] != ':' || !spf_domain_spec_ok(arg + 1, (size_t)left - 1))
			return -1;
		arg[left] = '\0';
		t->spec = arg + 1;
		return 0;
	}
	}
	return -1;
}

int
spf_record_parse(const char *txt, struct spf_record *out, char *why, size_t whylen)
{
	size_t cap = 0;

	memset(out, 0, sizeof *out);
	why[0] = '\0';
	if (!spf_is_record(txt, strlen(txt))) {
		snprintf(why, whylen, "not an SPF record");
		return -1;
	}
	if ((out->text = strdup(txt + 6)) == NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	char *p = out->text;
	for (;;) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		char *term = p;
		p += strcspn(p, " ");
		if (*p != '\0')
			*p++ = '\0';
		/* A modifier has '=' right after its name, before any ':' or '/' (4.6.1). */
		size_t namelen = strcspn(term, "=:/");
		if (term[namelen] == '=') {
			if (parse_modifier(term, namelen, out, why, whylen) < 0)
				return -1;
			continue;
		}
		if (out->n == cap) {
			if (cap >= SPF_RECORD_TERMS_MAX) {
				snprintf(why, whylen, "more than %d terms", SPF_RECORD_TERMS_MAX);
				return -1;
			}
			size_t ncap = cap ? cap * 2 : 16;
			struct spf_term *nv = realloc(out->v, ncap * sizeof *nv);
			if (nv == NULL) {
				snprintf(why, whylen, "out of memory");
				return -1;
			}
			out->v = nv;
			cap = ncap;
		}
		struct spf_term *t = &out->v[out->n];
		memset(t, 0, sizeof *t);
		char shown[64];
		snprintf(shown, sizeof shown, "%s", term);
		if (parse_mechanism(term, t) < 0) {
			for (char *s = shown; *s; s++)
				if (!isprint((unsigned char)*s))
					*s = '?';
			snprintf(why, whylen, "syntax error in \"%s\"", shown);
			return -1;
		}
		out->n++;
	}
	return 0;
}
