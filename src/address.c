/*
 * address.c - RFC 5321 mailboxes and paths (4.1.2, 4.5.3.1): parsing, formatting
 * and the canonical lookup form. Pure functions; inputs are not NUL-terminated
 * unless a prototype says so.
 */
#include "address.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util/utf8.h"

#define LABEL_MAX 63

static bool
is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static unsigned char
to_lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + ('a' - 'A')) : c;
}

/* atext of RFC 5322 3.2.3, which RFC 5321 uses for Atom. */
static bool
is_atext(unsigned char c)
{
	if (is_alpha(c) || is_digit(c))
		return true;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* utf8_len - the length of the well-formed UTF-8 sequence at p, or 0 (util/utf8.h). */
static size_t
utf8_len(const unsigned char *p, size_t n)
{
	uint32_t cp;
	return utf8_decode(p, n, &cp);
}

/*
 * dot_string_len - how many octets of s[0..len) form a Dot-string (RFC 5321
 * 4.1.2): atoms separated by single dots. Returns 0 when there is none or when it
 * ends in a dot or holds malformed UTF-8.
 */
static size_t
dot_string_len(const unsigned char *s, size_t len, unsigned flags)
{
	size_t i = 0;
	bool need_atext = true; /* at the start or after a dot */

	while (i < len) {
		unsigned char c = s[i];
		if (c == '.') {
			if (need_atext)
				return 0;
			need_atext = true;
			i++;
		} else if (c < 0x80 && is_atext(c)) {
			need_atext = false;
			i++;
		} else if (c >= 0x80 && (flags & ADDR_UTF8)) {
			size_t n = utf8_len(s + i, len - i);
			if (n == 0)
				return 0;
			need_atext = false;
			i += n;
		} else {
			break;
		}
	}
	return need_atext ? 0 : i;
}

/*
 * quoted_string_len - the length of the Quoted-string (RFC 5321 4.1.2, with
 * RFC 6531's UTF-8) at s[0] == '"', closing quote included, or 0 when malformed.
 */
static size_t
quoted_string_len(const unsigned char *s, size_t len, unsigned flags)
{
	size_t i = 1;

	while (i < len) {
		unsigned char c = s[i];
		if (c == '"')
			return i + 1;
		if (c == '\\') {
			/* quoted-pairSMTP: only printable ASCII may follow */
			if (i + 1 >= len || s[i + 1] < 32 || s[i + 1] > 126)
				return 0;
			i += 2;
		} else if (c >= 32 && c <= 126) {
			i++;
		} else if (c >= 0x80 && (flags & ADDR_UTF8)) {
			size_t n = utf8_len(s + i, len - i);
			if (n == 0)
				return 0;
			i += n;
		} else {
			return 0;
		}
	}
	return 0;
}

/*
 * parse_domain_name - validate dot-separated labels in s[0..len) and copy them
 * lower-cased into out (ADDR_DOMAIN_MAX+1 octets) when out is not NULL.
 */
static bool
parse_domain_name(const unsigned char *s, size_t len, char *out, unsigned flags)
{
	if (len == 0 || len > ADDR_DOMAIN_MAX)
		return false;
	size_t i = 0;
	while (i < len) {
		size_t start = i;
		/* a label: letters, digits, hyphens (and UTF-8), no hyphen at either end */
		while (i < len && s[i] != '.') {
			unsigned char c = s[i];
			if (is_alpha(c) || is_digit(c) || c == '-') {
				i++;
			} else if (c >= 0x80 && (flags & ADDR_UTF8)) {
				size_t n = utf8_len(s + i, len - i);
				if (n == 0)
					return false;
				i += n;
			} else {
				return false;
			}
		}
		size_t llen = i - start;
		if (llen == 0 || llen > LABEL_MAX || s[start] == '-' || s[i - 1] == '-')
			return false;
		if (i < len) {
			i++; /* the dot */
			if (i == len)
				return false; /* no trailing dot in SMTP */
		}
	}
	if (out != NULL) {
		for (i = 0; i < len; i++)
			out[i] = (char)to_lower(s[i]);
		out[len] = '\0';
	}
	return true;
}

/*
 * parse_address_literal - "[IPv4]" or "[IPv6:...]" in s[0..len) (brackets
 * included), into out as "[a.b.c.d]" or "[IPv6:...]" with the address as written,
 * hex digits lower-cased. General address literals (other tags) are refused.
 */
static bool
parse_address_literal(const unsigned char *s, size_t len, char *out)
{
	char tmp[64];
	unsigned char bin[16];

	if (len < 2 || s[0] != '[' || s[len - 1] != ']')
		return false;
	const unsigned char *a = s + 1;
	size_t alen = len - 2;
	bool v6 = false;
	if (alen >= 5 && strncasecmp((const char *)a, "IPv6:", 5) == 0) {
		v6 = true;
		a += 5;
		alen -= 5;
	}
	if (alen == 0 || alen >= sizeof tmp)
		return false;
	for (size_t i = 0; i < alen; i++)
		tmp[i] = (char)to_lower(a[i]);
	tmp[alen] = '\0';
	if (memchr(tmp, '\0', alen) != NULL)
		return false;
	if (inet_pton(v6 ? AF_INET6 : AF_INET, tmp, bin) != 1)
		return false;
	snprintf(out, ADDR_DOMAIN_MAX + 1, "[%s%s]", v6 ? "IPv6:" : "", tmp);
	return true;
}

int
address_parse(const char *s, size_t len, struct mailbox *mb, unsigned flags)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t llen;

	if (len == 0)
		return -1;
	if (u[0] == '"') {
		llen = quoted_string_len(u, len, flags);
		/* "" would be an empty mailbox name: refused, nothing real uses it */
		if (llen <= 2)
			return -1;
	} else {
		llen = dot_string_len(u, len, flags);
		if (llen == 0)
			return -1;
	}
	if (llen > ADDR_LOCAL_MAX || llen >= len || u[llen] != '@')
		return -1;

	const unsigned char *d = u + llen + 1;
	size_t dlen = len - llen - 1;
	char domain[ADDR_DOMAIN_MAX + 1];
	if (dlen > 0 && d[0] == '[') {
		if (!parse_address_literal(d, dlen, domain))
			return -1;
	} else if (!parse_domain_name(d, dlen, domain, flags)) {
		return -1;
	}
	memcpy(mb->local, s, llen);
	mb->local[llen] = '\0';
	memcpy(mb->domain, domain, strlen(domain) + 1);
	return 0;
}

/*
 * path_end - the index of the '>' that closes the path begun at s[0] == '<',
 * skipping a '>' inside a quoted local part, or len when there is none.
 */
static size_t
path_end(const char *s, size_t len)
{
	bool quoted = false;

	for (size_t i = 1; i < len; i++) {
		if (quoted) {
			if (s[i] == '\\')
				i++;
			else if (s[i] == '"')
				quoted = false;
		} else if (s[i] == '"') {
			quoted = true;
		} else if (s[i] == '>') {
			return i;
		}
	}
	return len;
}

/*
 * skip_source_route - past "@a,@b:" at s (A-d-l of RFC 5321 4.1.2), checking each
 * domain's syntax. Returns the octets used, or 0 when malformed.
 */
static size_t
skip_source_route(const char *s, size_t len, unsigned flags)
{
	size_t i = 0;

	for (;;) {
		if (i >= len || s[i] != '@')
			return 0;
		size_t start = ++i;
		while (i < len && s[i] != ',' && s[i] != ':')
			i++;
		if (i >= len || !parse_domain_name((const unsigned char *)s + start, i - start,
		    NULL, flags))
			return 0;
		if (s[i++] == ':')
			return i;
	}
}

int
address_parse_path(const char *s, size_t len, struct mailbox *mb, bool null_ok,
    bool *is_null, size_t *consumed, unsigned flags)
{
	if (len < 2 || s[0] != '<')
		return -1;
	if (s[1] == '>') {
		if (!null_ok)
			return -1;
		mb->local[0] = '\0';
		mb->domain[0] = '\0';
		*is_null = true;
		*consumed = 2;
		return 0;
	}
	size_t end = path_end(s, len);
	if (end >= len)
		return -1;
	size_t start = 1;
	if (s[1] == '@') {
		size_t n = skip_source_route(s + 1, end - 1, flags);
		if (n == 0)
			return -1;
		start += n;
	}
	if (address_parse(s + start, end - start, mb, flags) < 0)
		return -1;
	*is_null = false;
	*consumed = end + 1;
	return 0;
}

void
address_format(const struct mailbox *mb, char *out, size_t outlen)
{
	if (outlen == 0)
		return;
	/* "<postmaster>" of RCPT has no domain: no dangling '@' */
	if (mb->domain[0] == '\0')
		snprintf(out, outlen, "%s", mb->local);
	else
		snprintf(out, outlen, "%s@%s", mb->local, mb->domain);
}

/*
 * unquote_local - when the quoted local part q (with its quotes) names the same
 * mailbox as a Dot-string, write that Dot-string to out (ADDR_LOCAL_MAX+1) and
 * return true: "user"@d and user@d must find the same account.
 */
static bool
unquote_local(const char *q, char *out)
{
	size_t n = 0, qlen = strlen(q);

	for (size_t i = 1; i + 1 < qlen; i++) {
		if (q[i] == '\\')
			i++;
		out[n++] = q[i];
	}
	out[n] = '\0';
	return n > 0 && dot_string_len((const unsigned char *)out, n, ADDR_UTF8) == n;
}

int
address_canonical(const char *in, char *out, size_t outlen, bool strip_tag)
{
	struct mailbox mb;
	char local[ADDR_LOCAL_MAX + 1];

	if (address_parse(in, strlen(in), &mb, ADDR_UTF8) < 0)
		return -1;
	bool quoted = mb.local[0] == '"';
	if (quoted && unquote_local(mb.local, local))
		quoted = false;
	else
		memcpy(local, mb.local, sizeof local);
	for (char *p = local; *p != '\0'; p++)
		*p = (char)to_lower((unsigned char)*p);
	/*
	 * The tag is what follows the first '+', never the whole local part, and
	 * what is left must still be a local part ("a.+b" keeps its tag).
	 */
	if (strip_tag && !quoted) {
		char *plus = strchr(local + 1, '+');
		if (plus != NULL && plus[-1] != '.')
			*plus = '\0';
	}
	int n = snprintf(out, outlen, "%s@%s", local, mb.domain);
	if (n < 0 || (size_t)n >= outlen)
		return -1;
	return 0;
}

const char *
address_domain(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at != NULL ? at + 1 : NULL;
}

bool
address_literal_valid(const char *s)
{
	char out[ADDR_DOMAIN_MAX + 1];

	return parse_address_literal((const unsigned char *)s, strlen(s), out);
}

bool
domain_valid(const char *s)
{
	return parse_domain_name((const unsigned char *)s, strlen(s), NULL, 0);
}
