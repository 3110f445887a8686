/*
 * srs.c - SRS0/SRS1 addresses made and checked (see srs.h): parsing, the day
 * stamp, and the hash (HMAC-SHA256 through OpenSSL's EVP_Q_mac). No I/O.
 */
#include "srs/srs.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "address.h"

#define DAY_SECONDS 86400
#define STAMP_CYCLE 1024 /* two base32 characters: 10 bits of days */
#define FIELDS_MAX 512   /* the hashed fields of one address, NULs included */

static const char base32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
static const char base64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

const char *
srs_status_text(enum srs_status st)
{
	switch (st) {
	case SRS_OK:
		return "ok";
	case SRS_NOT_SRS:
		return "not an SRS address";
	case SRS_MALFORMED:
		return "malformed SRS address";
	case SRS_BAD_HASH:
		return "bad SRS hash";
	case SRS_EXPIRED:
		return "SRS address expired";
	case SRS_TOO_LONG:
		return "SRS address too long";
	case SRS_FAILED:
		return "SRS hash failed";
	}
	return "unknown";
}

/* A piece of a string: not NUL-terminated. */
struct span {
	const char *p;
	size_t n;
};

static struct span
span_of(const char *s)
{
	return (struct span){ s, strlen(s) };
}

/*
 * hash - the first SRS_HASH_LEN base64 characters of the HMAC of the fields
 * (lower-cased, each followed by a NUL) into out (SRS_HASH_LEN + 1).
 */
static enum srs_status
hash(const uint8_t *secret, size_t secretlen, const struct span *fields, size_t nfields,
    char out[SRS_HASH_LEN + 1])
{
	unsigned char data[FIELDS_MAX], md[EVP_MAX_MD_SIZE];
	size_t len = 0, mdlen = 0;

	for (size_t f = 0; f < nfields; f++) {
		if (fields[f].n + 1 > sizeof data - len)
			return SRS_TOO_LONG;
		for (size_t i = 0; i < fields[f].n; i++)
			data[len++] = (unsigned char)tolower((unsigned char)fields[f].p[i]);
		data[len++] = '\0';
	}
	if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, secret, secretlen, data, len, md,
	    sizeof md, &mdlen) == NULL || mdlen < 3)
		return SRS_FAILED;
	/* 4 base64 characters are the first 3 octets */
	unsigned v = (unsigned)md[0] << 16 | (unsigned)md[1] << 8 | md[2];
	out[0] = base64[(v >> 18) & 63];
	out[1] = base64[(v >> 12) & 63];
	out[2] = base64[(v >> 6) & 63];
	out[3] = base64[v & 63];
	out[4] = '\0';
	return SRS_OK;
}

/* hash_check - whether given is the hash of the fields, in any case. */
static enum srs_status
hash_check(const uint8_t *secret, size_t secretlen, struct span given,
    const struct span *fields, size_t nfields)
{
	char want[SRS_HASH_LEN + 1];
	enum srs_status st = hash(secret, secretlen, fields, nfields, want);

	if (st != SRS_OK)
		return st;
	if (given.n != SRS_HASH_LEN || strncasecmp(given.p, want, SRS_HASH_LEN) != 0)
		return SRS_BAD_HASH;
	return SRS_OK;
}

static unsigned
day_stamp(time_t now)
{
	long long days = (long long)now / DAY_SECONDS;
	if (days < 0)
		days = 0;
	return (unsigned)(days % STAMP_CYCLE);
}

/* stamp_decode - two base32 characters (any case) into *out (0..1023). */
static bool
stamp_decode(struct span s, unsigned *out)
{
	unsigned v = 0;

	if (s.n != 2)
		return false;
	for (size_t i = 0; i < 2; i++) {
		const char *c = s.p[i] ? strchr(base32, toupper((unsigned char)s.p[i])) : NULL;
		if (c == NULL)
			return false;
		v = v << 5 | (unsigned)(c - base32);
	}
	*out = v;
	return true;
}

/* stamp_fresh - made at most SRS_MAX_AGE_DAYS ago, or at most a day ahead (clock skew). */
static bool
stamp_fresh(unsigned then, time_t now)
{
	unsigned age = (day_stamp(now) + STAMP_CYCLE - then) % STAMP_CYCLE;
	return age <= SRS_MAX_AGE_DAYS || age == STAMP_CYCLE - 1;
}

/* atext - RFC 5322 atext, and UTF-8 octets (RFC 6531), which the parser checked. */
static bool
atext(unsigned char c)
{
	return isalnum(c) || c >= 0x80 || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* dot_atom - whether s[0..n) may stand unquoted as a local part. */
static bool
dot_atom(const char *s, size_t n)
{
	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '.' ? s[i + 1] == '.' : !atext((unsigned char)s[i]))
			return false;
	}
	return true;
}

/* split - "local@domain" at its last '@'; false when either side is empty. */
static bool
split(const char *addr, struct span *local, struct span *domain)
{
	const char *at = strrchr(addr, '@');

	if (at == NULL || at == addr || at[1] == '\0')
		return false;
	*local = (struct span){ addr, (size_t)(at - addr) };
	*domain = span_of(at + 1);
	return true;
}

/* tagged - whether local starts with tag ("SRS0" or "SRS1") and '=', in any case. */
static bool
tagged(struct span local, const char *tag)
{
	return local.n > 5 && strncasecmp(local.p, tag, 4) == 0 && local.p[4] == '=';
}

/* field - the text up to the next '=' from *pos in s, which moves past that '='. */
static bool
field(struct span s, size_t *pos, struct span *out)
{
	const char *eq = memchr(s.p + *pos, '=', s.n - *pos);

	if (eq == NULL)
		return false;
	*out = (struct span){ s.p + *pos, (size_t)(eq - (s.p + *pos)) };
	*pos += out->n + 1;
	return out->n > 0;
}

/* finish - local part + "@" + domain into out, when the local part is a usable one. */
static enum srs_status
finish(char *local, size_t llen, const char *domain, char *out, size_t outlen)
{
	if (llen > ADDR_LOCAL_MAX)
		return SRS_TOO_LONG;
	if (!dot_atom(local, llen))
		return SRS_MALFORMED;
	int n = snprintf(out, outlen, "%.*s@%s", (int)llen, local, domain);
	return n < 0 || (size_t)n >= outlen ? SRS_TOO_LONG : SRS_OK;
}

enum srs_status
srs_forward(const uint8_t *secret, size_t secretlen, time_t now, const char *sender,
    const char *srs_domain, char *out, size_t outlen)
{
	struct span local, domain;
	char h[SRS_HASH_LEN + 1], res[FIELDS_MAX];
	enum srs_status st;
	int n;

	if (!split(sender, &local, &domain) || srs_domain[0] == '\0')
		return SRS_MALFORMED;
	if (strcasecmp(domain.p, srs_domain) == 0) {
		/* ours already: a bounce to it comes here anyway */
		n = snprintf(out, outlen, "%s", sender);
		return n < 0 || (size_t)n >= outlen ? SRS_TOO_LONG : SRS_OK;
	}
	if (tagged(local, "SRS0") || tagged(local, "SRS1")) {
		/* SRS1=HHHH=first=rest, where rest is "=HHHH=TT=domain=local" */
		struct span first = domain, rest = { local.p + 4, local.n - 4 };
		if (tagged(local, "SRS1")) {
			struct span old_hash;
			size_t pos = 5;
			if (!field(local, &pos, &old_hash) || !field(local, &pos, &first))
				return SRS_MALFORMED;
			/* rest: from the second '=' of "==" after the first forwarder */
			rest = (struct span){ local.p + pos, local.n - pos };
		}
		if (rest.n < 2)
			return SRS_MALFORMED;
		struct span fields[2] = { first, rest };
		if ((st = hash(secret, secretlen, fields, 2, h)) != SRS_OK)
			return st;
		n = snprintf(res, sizeof res, "SRS1=%s=%.*s=%.*s", h, (int)first.n, first.p,
		    (int)rest.n, rest.p);
	} else {
		unsigned day = day_stamp(now);
		char tt[3] = { base32[(day >> 5) & 31], base32[day & 31], '\0' };
		struct span fields[3] = { span_of(tt), domain, local };
		if ((st = hash(secret, secretlen, fields, 3, h)) != SRS_OK)
			return st;
		n = snprintf(res, sizeof res, "SRS0=%s=%s=%.*s=%.*s", h, tt, (int)domain.n,
		    domain.p, (int)local.n, local.p);
	}
	if (n < 0 || (size_t)n >= sizeof res)
		return SRS_TOO_LONG;
	return finish(res, (size_t)n, srs_domain, out, outlen);
}

/* reverse0 - SRS0=HHHH=TT=domain=local: the original sender. */
static enum srs_status
reverse0(const uint8_t *secret, size_t secretlen, time_t now, struct span local,
    char *out, size_t outlen)
{
	struct span given, tt, domain, orig;
	size_t pos = 5;
	unsigned then;
	char d[ADDR_DOMAIN_MAX + 1];

	if (!field(local, &pos, &given) || !field(local, &pos, &tt) ||
	    !field(local, &pos, &domain) || pos >= local.n)
		return SRS_MALFORMED;
	orig = (struct span){ local.p + pos, local.n - pos };
	if (!stamp_decode(tt, &then) || domain.n > ADDR_DOMAIN_MAX)
		return SRS_MALFORMED;
	memcpy(d, domain.p, domain.n);
	d[domain.n] = '\0';
	if (!domain_valid(d))
		return SRS_MALFORMED;
	struct span fields[3] = { tt, domain, orig };
	enum srs_status st = hash_check(secret, secretlen, given, fields, 3);
	if (st != SRS_OK)
		return st;
	if (!stamp_fresh(then, now))
		return SRS_EXPIRED;
	int n = snprintf(out, outlen, "%.*s@%s", (int)orig.n, orig.p, d);
	return n < 0 || (size_t)n >= outlen ? SRS_TOO_LONG : SRS_OK;
}

/* reverse1 - SRS1=HHHH=first==HHHH=TT=domain=local: SRS0=HHHH=...@first. */
static enum srs_status
reverse1(const uint8_t *secret, size_t secretlen, struct span local, char *out,
    size_t outlen)
{
	struct span given, first;
	size_t pos = 5;
	char d[ADDR_DOMAIN_MAX + 1];

	if (!field(local, &pos, &given) || !field(local, &pos, &first))
		return SRS_MALFORMED;
	struct span rest = { local.p + pos, local.n - pos };
	/* rest is "=HHHH=...": a separator and something after it */
	if (rest.n < 2 || rest.p[1] == '=' || first.n > ADDR_DOMAIN_MAX)
		return SRS_MALFORMED;
	memcpy(d, first.p, first.n);
	d[first.n] = '\0';
	if (!domain_valid(d))
		return SRS_MALFORMED;
	struct span fields[2] = { first, rest };
	enum srs_status st = hash_check(secret, secretlen, given, fields, 2);
	if (st != SRS_OK)
		return st;
	int n = snprintf(out, outlen, "SRS0%.*s@%s", (int)rest.n, rest.p, d);
	return n < 0 || (size_t)n >= outlen ? SRS_TOO_LONG : SRS_OK;
}

enum srs_status
srs_reverse(const uint8_t *secret, size_t secretlen, time_t now, const char *address,
    char *out, size_t outlen)
{
	struct span local, domain;

	if (!split(address, &local, &domain))
		return SRS_NOT_SRS;
	if (tagged(local, "SRS0"))
		return reverse0(secret, secretlen, now, local, out, outlen);
	if (tagged(local, "SRS1"))
		return reverse1(secret, secretlen, local, out, outlen);
	/* "SRS0=" alone, or an SRS tag with nothing after it */
	if (local.n >= 5 && (strncasecmp(local.p, "SRS0=", 5) == 0 ||
	    strncasecmp(local.p, "SRS1=", 5) == 0))
		return SRS_MALFORMED;
	return SRS_NOT_SRS;
}
