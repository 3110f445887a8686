/*
 * mta_sts.c - the MTA-STS TXT record and policy parsers and the MX matcher
 * (RFC 8461 3.1, 3.2, 4.1). Everything here comes from the network: every length
 * is checked, nothing is trusted to be terminated.
 */
#include "deliver/mta_sts.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static bool
is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

int
sts_txt_parse(const char *txt, size_t len, char id[STS_ID_MAX + 1])
{
	static const char ver[] = "v=STSv1";
	size_t i = sizeof ver - 1;
	bool have_id = false;

	id[0] = '\0';
	if (len < i || memcmp(txt, ver, i) != 0)
		return 0;
	/* "v=STSv1" must be a whole field: what follows is a delimiter, maybe after spaces. */
	size_t j = i;
	while (j < len && is_wsp(txt[j]))
		j++;
	if (j < len && txt[j] != ';')
		return 0;
	/* Bounded by len: each turn moves past one field. */
	while (j < len) {
		if (txt[j] != ';')
			return -1;
		j++;
		while (j < len && is_wsp(txt[j]))
			j++;
		if (j == len)
			break; /* a final delimiter */
		size_t start = j;
		while (j < len && txt[j] != ';' && !is_wsp(txt[j]))
			j++;
		const char *f = txt + start;
		size_t flen = j - start;
		while (j < len && is_wsp(txt[j]))
			j++;
		const char *eq = memchr(f, '=', flen);
		if (eq == NULL || eq == f)
			return -1;
		size_t nlen = (size_t)(eq - f), vlen = flen - nlen - 1;
		if (vlen == 0)
			return -1;
		if (nlen == 2 && memcmp(f, "id", 2) == 0) {
			if (have_id || vlen > STS_ID_MAX)
				return -1;
			for (size_t k = 0; k < vlen; k++)
				if (!isalnum((unsigned char)eq[1 + k]))
					return -1;
			memcpy(id, eq + 1, vlen);
			id[vlen] = '\0';
			have_id = true;
			continue;
		}
		/* An extension: its name of letters, digits, '_', '-', '.'; its value printable. */
		if (nlen > 32 || !isalnum((unsigned char)f[0]))
			return -1;
		for (size_t k = 1; k < nlen; k++)
			if (!isalnum((unsigned char)f[k]) && f[k] != '_' && f[k] != '-' && f[k] != '.')
				return -1;
		for (size_t k = 0; k < vlen; k++) {
			unsigned char c = (unsigned char)eq[1 + k];
			if (c < 0x21 || c > 0x7e || c == '=')
				return -1;
		}
	}
	if (!have_id) {
		id[0] = '\0';
		return -1;
	}
	return 1;
}

/* valid_domain - LDH labels of 1 to 63 octets, at most 253 in all (a final dot allowed). */
static bool
valid_domain(const char *s, size_t n)
{
	if (n > 0 && s[n - 1] == '.')
		n--;
	if (n == 0 || n > 253)
		return false;
	size_t label = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!isalnum(c) && c != '-' && c != '_')
			return false;
		if (label == 0 && c == '-')
			return false;
		if (++label > 63)
			return false;
	}
	return s[n - 1] != '-';
}

static int
fail(char *why, size_t whylen, const char *msg)
{
	snprintf(why, whylen, "%s", msg);
	return -1;
}

/* field - one "key: value" line into p; the flags say which keys were seen. */
static int
field(const char *k, size_t klen, const char *v, size_t vlen, struct sts_policy *p,
    unsigned *seen, char *why, size_t whylen)
{
	enum { SEEN_VERSION = 1, SEEN_MODE = 2, SEEN_MAX_AGE = 4 };

	if (klen == 7 && memcmp(k, "version", 7) == 0) {
		if (*seen & SEEN_VERSION)
			return 0; /* the first one counts */
		if (vlen != 5 || memcmp(v, "STSv1", 5) != 0)
			return fail(why, whylen, "version is not STSv1");
		*seen |= SEEN_VERSION;
	} else if (klen == 4 && memcmp(k, "mode", 4) == 0) {
		if (*seen & SEEN_MODE)
			return 0;
		if (vlen == 7 && memcmp(v, "enforce", 7) == 0)
			p->mode = STS_ENFORCE;
		else if (vlen == 7 && memcmp(v, "testing", 7) == 0)
			p->mode = STS_TESTING;
		else if (vlen == 4 && memcmp(v, "none", 4) == 0)
			p->mode = STS_NONE;
		else
			return fail(why, whylen, "mode is not enforce, testing or none");
		*seen |= SEEN_MODE;
	} else if (klen == 7 && memcmp(k, "max_age", 7) == 0) {
		if (*seen & SEEN_MAX_AGE)
			return 0;
		if (vlen == 0 || vlen > 10)
			return fail(why, whylen, "max_age is not 1 to 10 digits");
		uint64_t n = 0;
		for (size_t i = 0; i < vlen; i++) {
			if (!isdigit((unsigned char)v[i]))
				return fail(why, whylen, "max_age is not a number");
			n = n * 10 + (uint64_t)(v[i] - '0');
		}
		p->max_age = n > STS_MAX_AGE_MAX ? STS_MAX_AGE_MAX : (uint32_t)n;
		*seen |= SEEN_MAX_AGE;
	} else if (klen == 2 && memcmp(k, "mx", 2) == 0) {
		const char *d = v;
		size_t dlen = vlen;
		if (dlen >= 2 && d[0] == '*' && d[1] == '.') {
			d += 2;
			dlen -= 2;
		}
		if (!valid_domain(d, dlen) || vlen >= STS_NAME_MAX)
			return fail(why, whylen, "an mx pattern is not a domain name");
		if (p->nmx == STS_MX_MAX)
			return 0;
		char *o = p->mx[p->nmx++];
		for (size_t i = 0; i < vlen; i++)
			o[i] = (char)tolower((unsigned char)v[i]);
		o[vlen] = '\0';
		if (vlen > 0 && o[vlen - 1] == '.')
			o[vlen - 1] = '\0';
	}
	return 0;
}

int
sts_policy_parse(const char *text, size_t len, struct sts_policy *p, char *why,
    size_t whylen)
{
	unsigned seen = 0;
	size_t i = 0;

	memset(p, 0, sizeof *p);
	if (len > STS_POLICY_MAX)
		return fail(why, whylen, "larger than 64 KiB");
	/* Bounded by len: each turn takes one line. */
	while (i < len) {
		const char *line = text + i;
		const char *nl = memchr(line, '\n', len - i);
		size_t n = nl ? (size_t)(nl - line) : len - i;
		i += n + (nl ? 1 : 0);
		if (n > 0 && line[n - 1] == '\r')
			n--;
		while (n > 0 && is_wsp(line[n - 1]))
			n--;
		if (n == 0)
			continue;
		if (memchr(line, '\0', n) != NULL)
			return fail(why, whylen, "a NUL in the policy");
		const char *colon = memchr(line, ':', n);
		if (colon == NULL || colon == line)
			return fail(why, whylen, "a line is not \"key: value\"");
		size_t klen = (size_t)(colon - line);
		for (size_t k = 0; k < klen; k++) {
			unsigned char c = (unsigned char)line[k];
			if (!isalnum(c) && c != '_' && c != '-' && c != '.')
				return fail(why, whylen, "a key is not letters, digits, '_', '-', '.'");
		}
		const char *v = colon + 1;
		size_t vlen = n - klen - 1;
		while (vlen > 0 && is_wsp(*v)) {
			v++;
			vlen--;
		}
		if (field(line, klen, v, vlen, p, &seen, why, whylen) < 0)
			return -1;
	}
	if (!(seen & 1))
		return fail(why, whylen, "no version");
	if (!(seen & 2))
		return fail(why, whylen, "no mode");
	if (!(seen & 4))
		return fail(why, whylen, "no max_age");
	if (p->mode != STS_NONE && p->nmx == 0)
		return fail(why, whylen, "no mx pattern");
	return 0;
}

bool
sts_mx_match(const char *pattern, const char *host)
{
	size_t hl = strlen(host), pl = strlen(pattern);

	if (hl > 0 && host[hl - 1] == '.')
		hl--;
	if (pl > 0 && pattern[pl - 1] == '.')
		pl--;
	if (hl == 0 || pl == 0)
		return false;
	if (pl >= 2 && pattern[0] == '*' && pattern[1] == '.') {
		/* One label, not empty and without a dot, in place of the star. */
		const char *dot = memchr(host, '.', hl);
		if (dot == NULL || dot == host)
			return false;
		size_t rest = hl - (size_t)(dot - host);
		return rest == pl - 1 && strncasecmp(dot, pattern + 1, rest) == 0;
	}
	return hl == pl && strncasecmp(host, pattern, hl) == 0;
}

bool
sts_host_allowed(const struct sts_policy *p, const char *host)
{
	for (size_t i = 0; i < p->nmx; i++)
		if (sts_mx_match(p->mx[i], host))
			return true;
	return false;
}

const char *
sts_mode_name(enum sts_mode m)
{
	static const char *const names[] = { "none", "testing", "enforce" };
	return (size_t)m < sizeof names / sizeof names[0] ? names[m] : "?";
}
