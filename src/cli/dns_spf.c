/* dns_spf.c - parsing SPF records and matching an address against their mechanisms. */
#include "cli/dns_spf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool
spf_is_record(const char *txt)
{
	return strncasecmp(txt, "v=spf1", 6) == 0 && (txt[6] == '\0' || txt[6] == ' ');
}

int
spf_addr_parse(const char *text, struct spf_addr *a)
{
	memset(a, 0, sizeof *a);
	if (inet_pton(AF_INET, text, a->addr) == 1)
		a->family = AF_INET;
	else if (inet_pton(AF_INET6, text, a->addr) == 1)
		a->family = AF_INET6;
	else
		return -1;
	return 0;
}

/* parse_prefix - decimal bits at most max, all of s. */
static int
parse_prefix(const char *s, size_t len, unsigned max, unsigned *out)
{
	unsigned v = 0;
	if (len == 0 || len > 3)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > max || (len > 1 && s[0] == '0'))
		return -1;
	*out = v;
	return 0;
}

/* parse_dual_cidr - "", "/n4", "//n6" or "/n4//n6" (RFC 7208 5.6). */
static int
parse_dual_cidr(const char *s, struct spf_term *t)
{
	t->prefix4 = 32;
	t->prefix6 = 128;
	if (*s == '\0')
		return 0;
	if (s[0] != '/')
		return -1;
	const char *v6 = strstr(s, "//");
	if (v6 != s) {
		size_t l = v6 ? (size_t)(v6 - s - 1) : strlen(s + 1);
		if (parse_prefix(s + 1, l, 32, &t->prefix4) < 0)
			return -1;
	}
	if (v6 != NULL && parse_prefix(v6 + 2, strlen(v6 + 2), 128, &t->prefix6) < 0)
		return -1;
	return 0;
}

/* parse_term - one mechanism or modifier (term is NUL-terminated). */
static int
parse_term(char *term, struct spf_record *out, char *why, size_t whylen)
{
	struct spf_term t = { .qual = '+' };
	char *p = term;

	/* A modifier: name=value, the name before any ':' or '/'. */
	size_t namelen = strcspn(p, "=:/");
	if (p[namelen] == '=') {
		if (namelen == 8 && strncasecmp(p, "redirect", 8) == 0)
			out->unfollowed = true;
		return 0;
	}
	if (strchr("+-~?", *p) != NULL)
		t.qual = *p++;
	namelen = strcspn(p, ":/");
	char *rest = p + namelen;
	if ((namelen == 3 && strncasecmp(p, "all", 3) == 0)) {
		if (*rest != '\0')
			goto bad;
		t.mech = SPF_ALL;
	} else if ((namelen == 3 && strncasecmp(p, "ip4", 3) == 0) ||
	    (namelen == 3 && strncasecmp(p, "ip6", 3) == 0)) {
		bool v6 = p[2] == '6';
		if (*rest != ':')
			goto bad;
		char *slash = strchr(rest + 1, '/');
		char ip[64];
		size_t l = slash ? (size_t)(slash - rest - 1) : strlen(rest + 1);
		if (l >= sizeof ip)
			goto bad;
		memcpy(ip, rest + 1, l);
		ip[l] = '\0';
		if (inet_pton(v6 ? AF_INET6 : AF_INET, ip, t.addr) != 1)
			goto bad;
		t.mech = v6 ? SPF_IP6 : SPF_IP4;
		unsigned *pre = v6 ? &t.prefix6 : &t.prefix4;
		*pre = v6 ? 128 : 32;
		if (slash && parse_prefix(slash + 1, strlen(slash + 1), v6 ? 128 : 32, pre) < 0)
			goto bad;
	} else if ((namelen == 1 && strncasecmp(p, "a", 1) == 0) ||
	    (namelen == 2 && strncasecmp(p, "mx", 2) == 0)) {
		t.mech = namelen == 1 ? SPF_A : SPF_MX;
		if (*rest == ':') {
			char *slash = strchr(rest + 1, '/');
			size_t l = slash ? (size_t)(slash - rest - 1) : strlen(rest + 1);
			if (l == 0 || l >= sizeof t.domain)
				goto bad;
			memcpy(t.domain, rest + 1, l);
			t.domain[l] = '\0';
			rest = slash ? slash : rest + 1 + l;
			/* A macro names something only a real evaluation can expand. */
			if (strchr(t.domain, '%') != NULL)
				t.mech = SPF_UNFOLLOWED;
		}
		if (parse_dual_cidr(rest, &t) < 0)
			goto bad;
	} else if ((namelen == 7 && strncasecmp(p, "include", 7) == 0) ||
	    (namelen == 6 && strncasecmp(p, "exists", 6) == 0) ||
	    (namelen == 3 && strncasecmp(p, "ptr", 3) == 0)) {
		t.mech = SPF_UNFOLLOWED;
	} else {
		goto bad;
	}
	if (t.mech == SPF_UNFOLLOWED)
		out->unfollowed = true;
	if (out->n == SPF_TERMS_MAX) {
		snprintf(why, whylen, "more than %d terms", SPF_TERMS_MAX);
		return -1;
	}
	out->v[out->n++] = t;
	return 0;
bad:
	snprintf(why, whylen, "malformed term \"%.60s\"", term);
	return -1;
}

int
spf_parse(const char *txt, struct spf_record *out, char *why, size_t whylen)
{
	memset(out, 0, sizeof *out);
	if (!spf_is_record(txt)) {
		snprintf(why, whylen, "not an SPF record");
		return -1;
	}
	char *copy = strdup(txt + 6);
	if (copy == NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	int rc = 0;
	char *save = NULL;
	for (char *term = strtok_r(copy, " ", &save); term && rc == 0;
	    term = strtok_r(NULL, " ", &save))
		rc = parse_term(term, out, why, whylen);
	free(copy);
	return rc;
}

/* in_prefix - the first bits of a and b agree. */
static bool
in_prefix(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	size_t whole = bits / 8;
	if (memcmp(a, b, whole) != 0)
		return false;
	if (bits % 8 == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - bits % 8));
	return (a[whole] & mask) == (b[whole] & mask);
}

static bool
addr_matches(const struct spf_addr *a, int family, const uint8_t *net, const struct spf_term *t)
{
	if (a->family != family)
		return false;
	return in_prefix(a->addr, net, family == AF_INET ? t->prefix4 : t->prefix6);
}

enum spf_verdict
spf_allows(const struct spf_record *r, const char *domain, const struct spf_addr *addr,
    spf_lookup_fn lookup, void *arg)
{
	for (size_t i = 0; i < r->n; i++) {
		const struct spf_term *t = &r->v[i];
		bool match = false;
		switch (t->mech) {
		case SPF_ALL:
			match = true;
			break;
		case SPF_IP4:
			match = addr_matches(addr, AF_INET, t->addr, t);
			break;
		case SPF_IP6:
			match = addr_matches(addr, AF_INET6, t->addr, t);
			break;
		case SPF_A:
		case SPF_MX: {
			struct spf_addrs found = { .n = 0 };
			if (lookup(arg, t->mech == SPF_MX, t->domain[0] ? t->domain : domain, &found) < 0)
				return SPF_TEMPFAIL;
			for (size_t k = 0; k < found.n && k < SPF_ADDRS_MAX && !match; k++)
				match = addr_matches(addr, found.v[k].family, found.v[k].addr, t);
			break;
		}
		case SPF_UNFOLLOWED:
			break;
		}
		if (match)
			return t->qual == '+' ? SPF_PASS : SPF_NOT_PASS;
	}
	return SPF_NOT_PASS;
}
