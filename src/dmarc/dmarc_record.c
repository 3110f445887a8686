/*
 * dmarc_record.c - parsing a DMARC policy record: the tag-value list of RFC 9989
 * ("Formal Definition"), each known tag's value checked against its rule.
 */
#include "dmarc/dmarc_record.h"

#include <string.h>
#include <strings.h>

static bool
is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

static bool
is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Whether v[0..n) is word, case-insensitively (ABNF literals are). */
static bool
value_is(const char *v, size_t n, const char *word)
{
	return strlen(word) == n && strncasecmp(v, word, n) == 0;
}

static enum dmarc_policy
parse_request(const char *v, size_t n)
{
	if (value_is(v, n, "none"))
		return DMARC_POLICY_NONE;
	if (value_is(v, n, "quarantine"))
		return DMARC_POLICY_QUARANTINE;
	if (value_is(v, n, "reject"))
		return DMARC_POLICY_REJECT;
	return DMARC_POLICY_UNSET;
}

/*
 * A URI as RFC 3986 starts: scheme ":" and something after it, with no space or
 * comma (RFC 9989: commas in a dmarc-uri are encoded). The obsolete "!size" suffix
 * is allowed and ignored. This is a syntax check only; which schemes a reporter
 * supports is its business.
 */
static bool
uri_valid(const char *u, size_t n)
{
	size_t i = 0;

	if (n == 0 || !is_alpha(u[0]))
		return false;
	while (i < n && (is_alpha(u[i]) || is_digit(u[i]) || u[i] == '+' || u[i] == '-' ||
	    u[i] == '.'))
		i++;
	if (i >= n || u[i] != ':' || i + 1 >= n)
		return false;
	for (size_t k = i + 1; k < n; k++) {
		unsigned char c = (unsigned char)u[k];
		if (c <= 0x20 || c >= 0x7f || c == ',' || c == '"' || c == '<' || c == '>')
			return false;
	}
	return true;
}

/* Whether the list v[0..n) has at least one valid URI (elements split at commas). */
static bool
urilist_has_valid(const char *v, size_t n)
{
	size_t i = 0;

	while (i <= n) {
		size_t e = i;
		while (e < n && v[e] != ',')
			e++;
		size_t a = i, b = e;
		while (a < b && is_wsp(v[a]))
			a++;
		while (b > a && is_wsp(v[b - 1]))
			b--;
		if (uri_valid(v + a, b - a))
			return true;
		i = e + 1;
	}
	return false;
}

/* Keep v[0..n) in out; when too long, only the URIs that fit whole. */
static void
keep_uris(const char *v, size_t n, char *out, size_t outlen)
{
	if (n >= outlen) {
		n = outlen - 1;
		while (n > 0 && v[n] != ',')
			n--;
		while (n > 0 && is_wsp(v[n - 1]))
			n--;
	}
	memcpy(out, v, n);
	out[n] = '\0';
}

/* fo: "0" or "1" (one of them at most), "d", "s", each at most once, ':'-separated. */
static bool
fo_valid(const char *v, size_t n)
{
	bool seen01 = false, seen_d = false, seen_s = false;
	size_t i = 0;

	if (n == 0)
		return false;
	for (;;) {
		if (i >= n)
			return false;
		char c = v[i++];
		if (c == '0' || c == '1') {
			if (seen01)
				return false;
			seen01 = true;
		} else if (c == 'd' || c == 'D') {
			if (seen_d)
				return false;
			seen_d = true;
		} else if (c == 's' || c == 'S') {
			if (seen_s)
				return false;
			seen_s = true;
		} else {
			return false;
		}
		if (i == n)
			return true;
		if (v[i++] != ':')
			return false;
	}
}

/* One tag; the first occurrence of each known tag counts, later ones are ignored. */
static void
take_tag(struct dmarc_record *r, unsigned *seen, const char *name, size_t nl,
    const char *v, size_t n)
{
	static const char *const known[] = { "p", "sp", "np", "adkim", "aspf", "psd", "t",
		"rua", "ruf", "fo" };
	size_t k;

	for (k = 0; k < sizeof known / sizeof known[0]; k++)
		if (value_is(name, nl, known[k]))
			break;
	if (k == sizeof known / sizeof known[0] || (*seen & 1u << k))
		return; /* unknown (pct, rf, ri among them), or a repeat */
	*seen |= 1u << k;
	switch (k) {
	case 0:
	case 1:
	case 2: {
		enum dmarc_policy p = parse_request(v, n);
		if (p == DMARC_POLICY_UNSET)
			r->policy_malformed = true;
		if (k == 0)
			r->p = p;
		else if (k == 1)
			r->sp = p;
		else
			r->np = p;
		break;
	}
	case 3:
		r->adkim_strict = value_is(v, n, "s");
		break;
	case 4:
		r->aspf_strict = value_is(v, n, "s");
		break;
	case 5:
		r->psd = value_is(v, n, "y") ? DMARC_PSD_Y : value_is(v, n, "n") ? DMARC_PSD_N :
		    DMARC_PSD_U;
		break;
	case 6:
		r->testing = value_is(v, n, "y");
		break;
	case 7:
		keep_uris(v, n, r->rua, sizeof r->rua);
		r->rua_valid = urilist_has_valid(v, n);
		break;
	case 8:
		keep_uris(v, n, r->ruf, sizeof r->ruf);
		break;
	case 9:
		if (fo_valid(v, n) && n < sizeof r->fo) {
			memcpy(r->fo, v, n);
			r->fo[n] = '\0';
		}
		break;
	}
}

int
dmarc_record_parse(const char *txt, size_t len, struct dmarc_record *out)
{
	size_t i = 0;
	unsigned seen = 0;

	memset(out, 0, sizeof *out);
	strcpy(out->fo, "0");
	/* dmarc-version = "v" equals %s"DMARC1": the value is case-sensitive. */
	if (len < 1 || (txt[0] != 'v' && txt[0] != 'V'))
		return 0;
	i = 1;
	while (i < len && is_wsp(txt[i]))
		i++;
	if (i >= len || txt[i++] != '=')
		return 0;
	while (i < len && is_wsp(txt[i]))
		i++;
	if (len - i < 6 || memcmp(txt + i, "DMARC1", 6) != 0)
		return 0;
	i += 6;
	while (i < len && is_wsp(txt[i]))
		i++;
	if (i < len && txt[i] != ';')
		return 0; /* "v=DMARC10" or "v=DMARC1 p=none" is not this version */

	/* The rest: dmarc-sep dmarc-tag, each "name = value" up to the next ';'. */
	while (i < len) {
		i++; /* the ';' */
		size_t e = i;
		while (e < len && txt[e] != ';')
			e++;
		size_t a = i, b = e;
		while (a < b && is_wsp(txt[a]))
			a++;
		while (b > a && is_wsp(txt[b - 1]))
			b--;
		i = e;
		if (a == b)
			continue; /* the optional final ';', or an empty element */
		size_t nl = 0;
		while (a + nl < b && is_alpha(txt[a + nl]))
			nl++;
		size_t q = a + nl;
		while (q < b && is_wsp(txt[q]))
			q++;
		if (nl == 0 || q >= b || txt[q] != '=')
			continue; /* a syntax error: ignored outright */
		q++;
		while (q < b && is_wsp(txt[q]))
			q++;
		bool printable = q < b;
		for (size_t k = q; k < b; k++)
			if ((unsigned char)txt[k] < 0x20 || (unsigned char)txt[k] > 0x7e)
				printable = false;
		if (!printable)
			continue;
		take_tag(out, &seen, txt + a, nl, txt + q, b - q);
	}
	return 1;
}

int
dmarc_record_effective(const struct dmarc_record *rec, struct dmarc_record *eff)
{
	*eff = *rec;
	if (rec->policy_malformed) {
		if (!rec->rua_valid)
			return -1;
		eff->p = DMARC_POLICY_NONE;
		eff->sp = eff->np = DMARC_POLICY_UNSET;
		eff->testing = false;
		eff->policy_malformed = false;
		return 0;
	}
	if (eff->p == DMARC_POLICY_UNSET)
		eff->p = DMARC_POLICY_NONE;
	return 0;
}

const char *
dmarc_policy_name(enum dmarc_policy p)
{
	switch (p) {
	case DMARC_POLICY_NONE:
		return "none";
	case DMARC_POLICY_QUARANTINE:
		return "quarantine";
	case DMARC_POLICY_REJECT:
		return "reject";
	default:
		return "";
	}
}
