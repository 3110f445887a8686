/*
 * dmarc_report_line.c - the line format of queue/dmarc/<day>.log: "dmarc1" and
 * then space-separated key=value fields. A value is escaped as %XX for every
 * octet outside printable ASCII and for ' ', '%', '=' and '/' ('/' separates the
 * parts of a dkim= value); an empty value is "-", and a value that is a lone "-"
 * is written "%2D".
 */
#include "dmarc/dmarc_report_line.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool
plain(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != '%' && c != '=' && c != '/';
}

static int
put_value(struct buf *out, const char *v)
{
	static const char hex[] = "0123456789ABCDEF";
	int rc = 0;

	if (v[0] == '\0')
		return buf_putc(out, '-');
	if (strcmp(v, "-") == 0)
		return buf_append(out, "%2D", 3);
	for (const unsigned char *p = (const unsigned char *)v; *p && rc == 0; p++) {
		if (plain(*p)) {
			rc = buf_putc(out, (char)*p);
		} else {
			char e[3] = { '%', hex[*p >> 4], hex[*p & 15] };
			rc = buf_append(out, e, 3);
		}
	}
	return rc;
}

static int
put_field(struct buf *out, const char *key, const char *v)
{
	if (buf_printf(out, " %s=", key) < 0)
		return -1;
	return put_value(out, v);
}

static const char *
policy_text(enum dmarc_policy p)
{
	return p == DMARC_POLICY_UNSET ? "" : dmarc_policy_name(p);
}

int
dmarc_obs_format(const struct dmarc_obs *o, struct buf *out)
{
	size_t start = out->len;
	int rc = buf_printf(out, "dmarc1 when=%" PRId64, (int64_t)o->when);

	rc |= put_field(out, "pd", o->policy_domain);
	rc |= put_field(out, "od", o->org_domain);
	rc |= put_field(out, "p", policy_text(o->p));
	rc |= put_field(out, "sp", policy_text(o->sp));
	rc |= put_field(out, "np", policy_text(o->np));
	rc |= put_field(out, "adkim", o->adkim_strict ? "s" : "r");
	rc |= put_field(out, "aspf", o->aspf_strict ? "s" : "r");
	rc |= put_field(out, "test", o->testing ? "y" : "n");
	rc |= put_field(out, "ip", o->ip);
	rc |= put_field(out, "hfrom", o->header_from);
	rc |= put_field(out, "efrom", o->envelope_from);
	rc |= put_field(out, "spf", o->spf_result);
	rc |= put_field(out, "spfd", o->spf_domain);
	rc |= put_field(out, "dmarc", o->dmarc);
	rc |= put_field(out, "dkima", o->dkim_aligned ? "1" : "0");
	rc |= put_field(out, "spfa", o->spf_aligned ? "1" : "0");
	rc |= put_field(out, "req", o->requested);
	rc |= put_field(out, "disp", o->disposition);
	rc |= put_field(out, "rua", o->rua);
	for (size_t i = 0; i < o->ndkim && i < DMARC_OBS_DKIM_MAX; i++) {
		rc |= put_field(out, "dkim", o->dkim[i].domain);
		rc |= buf_putc(out, '/');
		rc |= put_value(out, o->dkim[i].selector);
		rc |= buf_putc(out, '/');
		rc |= put_value(out, o->dkim[i].result);
	}
	rc |= buf_putc(out, '\n');
	if (rc != 0 || out->len - start > DMARC_OBS_LINE_MAX) {
		out->len = start;
		return -1;
	}
	return 0;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* unescape - p[0..n) into out[outlen]; -1 when malformed or too long. */
static int
unescape(const char *p, size_t n, char *out, size_t outlen)
{
	size_t k = 0;

	if (n == 1 && p[0] == '-') {
		out[0] = '\0';
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '%') {
			int hi, lo;
			if (i + 2 >= n || (hi = hexval(p[i + 1])) < 0 || (lo = hexval(p[i + 2])) < 0)
				return -1;
			c = (unsigned char)(hi << 4 | lo);
			if (c == '\0')
				return -1;
			i += 2;
		} else if (!plain(c)) {
			return -1;
		}
		if (k + 1 >= outlen)
			return -1;
		out[k++] = (char)c;
	}
	out[k] = '\0';
	return 0;
}

static int
parse_policy(const char *v, enum dmarc_policy *p)
{
	if (v[0] == '\0')
		*p = DMARC_POLICY_UNSET;
	else if (strcmp(v, "none") == 0)
		*p = DMARC_POLICY_NONE;
	else if (strcmp(v, "quarantine") == 0)
		*p = DMARC_POLICY_QUARANTINE;
	else if (strcmp(v, "reject") == 0)
		*p = DMARC_POLICY_REJECT;
	else
		return -1;
	return 0;
}

static int
parse_flag(const char *v, const char *yes, const char *no, bool *out)
{
	if (strcmp(v, yes) == 0)
		*out = true;
	else if (strcmp(v, no) == 0)
		*out = false;
	else
		return -1;
	return 0;
}

/* parse_dkim - "d/s/result" (each part escaped). */
static int
parse_dkim(const char *p, size_t n, struct dmarc_obs_dkim *d)
{
	const char *s1 = memchr(p, '/', n);
	if (s1 == NULL)
		return -1;
	const char *s2 = memchr(s1 + 1, '/', n - (size_t)(s1 + 1 - p));
	if (s2 == NULL)
		return -1;
	if (unescape(p, (size_t)(s1 - p), d->domain, sizeof d->domain) < 0 ||
	    unescape(s1 + 1, (size_t)(s2 - s1 - 1), d->selector, sizeof d->selector) < 0 ||
	    unescape(s2 + 1, n - (size_t)(s2 + 1 - p), d->result, sizeof d->result) < 0)
		return -1;
	return d->result[0] != '\0' ? 0 : -1;
}

/* The fields every line must have, as bits. */
enum { F_WHEN = 1, F_PD = 2, F_IP = 4, F_HFROM = 8, F_DMARC = 16, F_DISP = 32, F_RUA = 64,
	F_ALL = 127 };

int
dmarc_obs_parse(const char *line, size_t len, struct dmarc_obs *o)
{
	char v[DMARC_URIS_MAX];
	unsigned have = 0;

	memset(o, 0, sizeof *o);
	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (len > DMARC_OBS_LINE_MAX || len < 6 || memcmp(line, "dmarc1", 6) != 0 ||
	    (len > 6 && line[6] != ' '))
		return -1;
	size_t i = 6;
	while (i < len) {
		if (line[i] == ' ') {
			i++;
			continue;
		}
		const char *f = line + i;
		const char *sp = memchr(f, ' ', len - i);
		size_t flen = sp ? (size_t)(sp - f) : len - i;
		i += flen;
		const char *eq = memchr(f, '=', flen);
		if (eq == NULL)
			return -1;
		size_t klen = (size_t)(eq - f);
		const char *val = eq + 1;
		size_t vlen = flen - klen - 1;
#define KEY(k) (klen == sizeof(k) - 1 && memcmp(f, k, klen) == 0)
		if (KEY("dkim")) {
			if (o->ndkim < DMARC_OBS_DKIM_MAX && parse_dkim(val, vlen, &o->dkim[o->ndkim]) < 0)
				return -1;
			if (o->ndkim < DMARC_OBS_DKIM_MAX)
				o->ndkim++;
			continue;
		}
		if (unescape(val, vlen, v, sizeof v) < 0)
			return -1;
		int bad = 0;
		if (KEY("when")) {
			char *end;
			long long t = strtoll(v, &end, 10);
			bad = *end != '\0' || v[0] == '\0' || t < 0;
			o->when = (time_t)t;
			have |= F_WHEN;
		}
#define STR(k, field, bit) else if (KEY(k)) { \
			bad = strlen(v) >= sizeof o->field; \
			if (!bad) \
				strcpy(o->field, v); \
			have |= (bit); \
		}
		STR("pd", policy_domain, F_PD)
		STR("od", org_domain, 0)
		STR("ip", ip, F_IP)
		STR("hfrom", header_from, F_HFROM)
		STR("efrom", envelope_from, 0)
		STR("spf", spf_result, 0)
		STR("spfd", spf_domain, 0)
		STR("dmarc", dmarc, F_DMARC)
		STR("req", requested, 0)
		STR("disp", disposition, F_DISP)
		STR("rua", rua, F_RUA)
#undef STR
		else if (KEY("p"))
			bad = parse_policy(v, &o->p);
		else if (KEY("sp"))
			bad = parse_policy(v, &o->sp);
		else if (KEY("np"))
			bad = parse_policy(v, &o->np);
		else if (KEY("adkim"))
			bad = parse_flag(v, "s", "r", &o->adkim_strict);
		else if (KEY("aspf"))
			bad = parse_flag(v, "s", "r", &o->aspf_strict);
		else if (KEY("test"))
			bad = parse_flag(v, "y", "n", &o->testing);
		else if (KEY("dkima"))
			bad = parse_flag(v, "1", "0", &o->dkim_aligned);
		else if (KEY("spfa"))
			bad = parse_flag(v, "1", "0", &o->spf_aligned);
#undef KEY
		if (bad)
			return -1;
	}
	if ((have & F_ALL) != F_ALL || o->policy_domain[0] == '\0')
		return -1;
	return 0;
}
