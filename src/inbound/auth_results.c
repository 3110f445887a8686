/*
 * auth_results.c - building Authentication-Results (RFC 8601 2.2) and removing
 * forged ones. Values from the network (addresses, domains, selectors) go out as
 * tokens when they are plain, else as quoted strings with anything unprintable
 * replaced, so nothing a sender chose can break the field.
 */
#include "inbound/auth_results.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "dkim/dkim_fields.h"

/* plain - a value that needs no quoting: RFC 2045 token characters, and '@'. */
static bool
plain(const char *v)
{
	if (*v == '\0')
		return false;
	for (; *v; v++) {
		unsigned char c = (unsigned char)*v;
		if (c <= ' ' || c >= 0x7f || strchr("()<>,;:\\\"/[]?=", c) != NULL)
			return false;
	}
	return true;
}

static int
put_value(struct buf *out, const char *v)
{
	if (plain(v))
		return buf_append(out, v, strlen(v));
	if (buf_putc(out, '"') < 0)
		return -1;
	for (; *v; v++) {
		unsigned char c = (unsigned char)*v;
		if (c == '"' || c == '\\') {
			if (buf_putc(out, '\\') < 0 || buf_putc(out, (char)c) < 0)
				return -1;
		} else if (buf_putc(out, c < ' ' || c >= 0x7f ? '?' : (char)c) < 0) {
			return -1;
		}
	}
	return buf_putc(out, '"');
}

/* put_comment - " (text)", with parentheses and unprintable octets made harmless. */
static int
put_comment(struct buf *out, const char *why)
{
	if (why == NULL || *why == '\0')
		return 0;
	if (buf_append(out, " (", 2) < 0)
		return -1;
	for (size_t n = 0; *why && n < 200; why++, n++) {
		unsigned char c = (unsigned char)*why;
		char o = (c < ' ' || c >= 0x7f || c == '(' || c == ')' || c == '\\') ? '?' : (char)c;
		if (buf_putc(out, o) < 0)
			return -1;
	}
	return buf_putc(out, ')');
}

static int
put_prop(struct buf *out, const char *name, const char *v)
{
	if (v == NULL || *v == '\0')
		return 0;
	if (buf_printf(out, " %s=", name) < 0)
		return -1;
	return put_value(out, v);
}

/* results - sep, then each method's "method=result props..." after a further sep. */
static int
results(const struct ar_input *in, struct buf *out, const char *sep)
{
	int rc = 0;

	if (in->spf != NULL) {
		rc |= buf_printf(out, "%sspf=%s", sep, in->spf);
		rc |= put_comment(out, in->spf_reason);
		if (in->spf_mailfrom != NULL)
			rc |= put_prop(out, "smtp.mailfrom", in->spf_mailfrom);
		else
			rc |= put_prop(out, "smtp.helo", in->spf_helo);
	}
	if (in->ndkim == 0)
		rc |= buf_printf(out, "%sdkim=none", sep);
	for (size_t i = 0; i < in->ndkim; i++) {
		const struct ar_dkim *k = &in->dkim[i];
		char b8[9] = "";
		size_t n = 0;
		for (const char *p = k->b; p != NULL && *p && n < 8; p++)
			if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
				b8[n++] = *p;
		b8[n] = '\0';
		rc |= buf_printf(out, "%sdkim=%s", sep, k->result);
		rc |= put_comment(out, k->reason);
		rc |= put_prop(out, "header.d", k->d);
		rc |= put_prop(out, "header.s", k->s);
		rc |= put_prop(out, "header.a", k->a);
		rc |= put_prop(out, "header.b", b8);
	}
	if (in->dmarc != NULL) {
		rc |= buf_printf(out, "%sdmarc=%s", sep, in->dmarc);
		rc |= put_comment(out, in->dmarc_reason);
		rc |= put_prop(out, "policy.dmarc", in->dmarc_policy);
		rc |= put_prop(out, "header.from", in->dmarc_from);
	}
	if (in->arc != NULL) {
		rc |= buf_printf(out, "%sarc=%s", sep, in->arc);
		rc |= put_comment(out, in->arc_reason);
		rc |= put_prop(out, "smtp.remote-ip", in->arc_ip);
	}
	return rc ? -1 : 0;
}

int
ar_build(const struct ar_input *in, struct buf *out)
{
	if (buf_printf(out, "Authentication-Results: ") < 0 || put_value(out, in->authserv_id) < 0 ||
	    results(in, out, ";\n\t") < 0)
		return -1;
	return buf_putc(out, '\n');
}

int
ar_payload(const struct ar_input *in, struct buf *out)
{
	if (put_value(out, in->authserv_id) < 0 || results(in, out, "; ") < 0)
		return -1;
	return 0;
}

/* names_host - whether the value of an Authentication-Results field starts with host. */
static bool
names_host(const char *v, size_t len, const char *host)
{
	size_t i = 0, hl = strlen(host);

	/* Whitespace and comments may come first (RFC 8601 2.2: CFWS). */
	while (i < len) {
		if (v[i] == ' ' || v[i] == '\t' || v[i] == '\r' || v[i] == '\n') {
			i++;
		} else if (v[i] == '(') {
			int depth = 0;
			for (; i < len; i++) {
				if (v[i] == '(')
					depth++;
				else if (v[i] == ')' && --depth == 0)
					break;
			}
			i++;
		} else {
			break;
		}
	}
	if (i < len && v[i] == '"')
		i++;
	if (i > len || len - i < hl || strncasecmp(v + i, host, hl) != 0)
		return false;
	i += hl;
	return i == len || strchr(" \t\r\n;(\"", v[i]) != NULL;
}

size_t
ar_strip(char *hdr, size_t len, const char *host, unsigned *removed)
{
	struct dkim_fields f = { 0 };
	size_t w = 0, r = 0;

	*removed = 0;
	if (dkim_fields_parse(hdr, len, &f) < 0)
		return len;
	for (size_t i = 0; i < f.n; i++) {
		if (!dkim_field_is(&f.v[i], "Authentication-Results"))
			continue;
		const char *colon = memchr(f.v[i].p, ':', f.v[i].len);
		size_t vlen = f.v[i].len - (size_t)(colon + 1 - f.v[i].p);
		if (!names_host(colon + 1, vlen, host))
			continue;
		size_t start = (size_t)(f.v[i].p - hdr);
		memmove(hdr + w, hdr + r, start - r);
		w += start - r;
		r = start + f.v[i].len;
		(*removed)++;
	}
	memmove(hdr + w, hdr + r, len - r);
	w += len - r;
	dkim_fields_free(&f);
	return w;
}
