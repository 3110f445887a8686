/*
 * dmarc_rua.c - mailto: URIs of a rua tag to addresses: "mailto:" in any case,
 * percent-decoding, a "?query" cut off, a "!<digits>[kmgt]" size suffix read.
 */
#include "dmarc/dmarc_rua.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* size_of - "10m" and the like; 0 when malformed (then no limit is known: skip). */
static int
size_of(const char *p, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;

	for (; i < n && isdigit((unsigned char)p[i]); i++) {
		if (v > UINT64_MAX / 10 - 10)
			return -1;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	if (i == 0)
		return -1;
	unsigned shift = 0;
	if (i + 1 == n) {
		switch (tolower((unsigned char)p[i])) {
		case 'k': shift = 10; break;
		case 'm': shift = 20; break;
		case 'g': shift = 30; break;
		case 't': shift = 40; break;
		default: return -1;
		}
	} else if (i != n) {
		return -1;
	}
	if (shift && v > (UINT64_MAX >> shift))
		return -1;
	*out = v << shift;
	return *out ? 0 : -1;
}

static bool
addr_char_ok(unsigned char c)
{
	return c > 0x20 && c < 0x7f && !strchr("<>\"()[]\\,;:", c);
}

static int
one(const char *p, size_t n, struct dmarc_rua_dest *d)
{
	while (n > 0 && isspace((unsigned char)*p))
		p++, n--;
	while (n > 0 && isspace((unsigned char)p[n - 1]))
		n--;
	if (n < 7 || strncasecmp(p, "mailto:", 7) != 0)
		return -1;
	p += 7;
	n -= 7;
	d->max_size = 0;
	const char *bang = memchr(p, '!', n);
	if (bang != NULL) {
		if (size_of(bang + 1, n - (size_t)(bang + 1 - p), &d->max_size) < 0)
			return -1;
		n = (size_t)(bang - p);
	}
	const char *q = memchr(p, '?', n);
	if (q != NULL)
		n = (size_t)(q - p);
	size_t k = 0, at = 0;
	bool seen_at = false;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)p[i];
		if (c == '%') {
			int hi, lo;
			if (i + 2 >= n || (hi = hexval(p[i + 1])) < 0 || (lo = hexval(p[i + 2])) < 0)
				return -1;
			c = hi << 4 | lo;
			i += 2;
		}
		if (c == '@') {
			if (seen_at)
				return -1;
			seen_at = true;
			at = k;
		} else if (!addr_char_ok((unsigned char)c)) {
			return -1;
		}
		if (k + 1 >= sizeof d->addr)
			return -1;
		d->addr[k++] = (char)c;
	}
	d->addr[k] = '\0';
	if (at == 0 || at + 1 >= k || k - at - 1 >= sizeof d->domain)
		return -1;
	for (size_t i = at + 1; i < k; i++)
		d->domain[i - at - 1] = (char)tolower((unsigned char)d->addr[i]);
	d->domain[k - at - 1] = '\0';
	if (strchr(d->domain, '.') == NULL || d->domain[0] == '.' ||
	    d->domain[strlen(d->domain) - 1] == '.' || strstr(d->domain, "..") != NULL)
		return -1;
	return 0;
}

size_t
dmarc_rua_parse(const char *rua, struct dmarc_rua_dest *out, size_t max)
{
	size_t n = 0;

	for (const char *p = rua; p != NULL && *p && n < max;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		if (one(p, len, &out[n]) == 0) {
			bool dup = false;
			for (size_t i = 0; i < n; i++)
				dup = dup || strcasecmp(out[i].addr, out[n].addr) == 0;
			if (!dup)
				n++;
		}
		p = comma ? comma + 1 : NULL;
	}
	return n;
}

bool
dmarc_rua_internal(const char *dest_domain, const char *org)
{
	size_t dl = strlen(dest_domain), ol = strlen(org);

	if (ol == 0 || dl < ol || strcasecmp(dest_domain + dl - ol, org) != 0)
		return false;
	return dl == ol || dest_domain[dl - ol - 1] == '.';
}
