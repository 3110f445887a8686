/*
 * tlsrpt.c - the TLS-RPT lines, their sums and the RFC 8460 report, all through
 * jansson; the record parser; the report's message (made as the DMARC reports'
 * are, dmarc/dmarc_report_mail.h, in its own format).
 */
#include "deliver/tlsrpt.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dmarc/dmarc_report_mail.h"

#define FAILURES_MAX 200 /* failure-details kept per policy; the rest count in the summary only */

static int
set_str(json_t *o, const char *k, const char *v)
{
	return v != NULL && json_object_set_new(o, k, json_string(v)) < 0 ? -1 : 0;
}

int
tlsrpt_line(const struct tlsrpt_result *r, struct buf *out)
{
	json_t *o = json_object();
	int rc = -1;

	if (o == NULL)
		return -1;
	if (set_str(o, "domain", r->domain) < 0 || set_str(o, "type", r->type) < 0 ||
	    set_str(o, "policy", r->policy) < 0 || set_str(o, "mx", r->mx) < 0 ||
	    set_str(o, "result", r->result) < 0 || set_str(o, "host", r->host) < 0 ||
	    set_str(o, "ip", r->ip) < 0 || set_str(o, "reason", r->reason) < 0)
		goto out;
	char *s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
	if (s == NULL)
		goto out;
	rc = buf_printf(out, "%s\n", s) < 0 ? -1 : 0;
	free(s);
out:
	json_decref(o);
	return rc;
}

/* lines_array - text split at its line ends, empty lines left out. */
static json_t *
lines_array(const char *text)
{
	json_t *a = json_array();

	/* Bounded by the text: each turn takes one line. */
	while (a != NULL && text != NULL && *text != '\0') {
		size_t n = strcspn(text, "\r\n");
		if (n > 0 && json_array_append_new(a, json_stringn(text, n)) < 0) {
			json_decref(a);
			return NULL;
		}
		text += n;
		text += strspn(text, "\r\n");
	}
	return a;
}

/* policy_object - the "policy" member of a policies[] entry (RFC 8460 4.4). */
static json_t *
policy_object(const char *domain, const char *type, const char *policy, const char *mx)
{
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	int rc = json_object_set_new(o, "policy-type", json_string(type));
	if (policy != NULL)
		rc |= json_object_set_new(o, "policy-string", lines_array(policy));
	rc |= json_object_set_new(o, "policy-domain", json_string(domain));
	if (mx != NULL)
		rc |= json_object_set_new(o, "mx-host", lines_array(mx));
	if (rc != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int
count_up(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	json_int_t n = v != NULL ? json_integer_value(v) : 0;
	return json_object_set_new(o, k, json_integer(n + 1));
}

static const char *
str_of(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* add_line - one parsed line into a. 0; 1 malformed; -1 out of memory. */
static int
add_line(struct tlsrpt_agg *a, json_t *l)
{
	const char *domain = str_of(l, "domain"), *type = str_of(l, "type");
	const char *policy = str_of(l, "policy"), *mx = str_of(l, "mx");
	const char *result = str_of(l, "result");

	if (domain == NULL || domain[0] == '\0' || type == NULL ||
	    (strcmp(type, "sts") != 0 && strcmp(type, "tlsa") != 0 &&
	    strcmp(type, "no-policy-found") != 0))
		return 1;
	json_t *d = json_object_get(a->domains, domain);
	if (d == NULL) {
		if ((d = json_object()) == NULL || json_object_set_new(a->domains, domain, d) < 0)
			return -1;
	}
	/* One entry per policy: its type, text and hosts (NUL cannot be in any of them). */
	struct buf key = { 0 };
	if (buf_printf(&key, "%s%c%s%c%s", type, 1, policy ? policy : "", 1, mx ? mx : "") < 0)
		return -1;
	json_t *e = json_object_get(d, key.data);
	if (e == NULL) {
		json_t *p = policy_object(domain, type, policy, mx);
		json_t *summary = json_pack("{s:I,s:I}", "total-successful-session-count",
		    (json_int_t)0, "total-failure-session-count", (json_int_t)0);
		if (p == NULL || summary == NULL || (e = json_object()) == NULL ||
		    json_object_set_new(e, "policy", p) < 0 ||
		    json_object_set_new(e, "summary", summary) < 0 ||
		    json_object_set_new(e, "failures", json_object()) < 0 ||
		    json_object_set_new(d, key.data, e) < 0) {
			if (e == NULL) {
				json_decref(p);
				json_decref(summary);
			}
			buf_free(&key);
			return -1;
		}
	}
	buf_free(&key);
	json_t *summary = json_object_get(e, "summary");
	if (result == NULL)
		return count_up(summary, "total-successful-session-count") < 0 ? -1 : 0;
	if (count_up(summary, "total-failure-session-count") < 0)
		return -1;
	json_t *fails = json_object_get(e, "failures");
	const char *host = str_of(l, "host"), *ip = str_of(l, "ip"), *reason = str_of(l, "reason");
	struct buf fk = { 0 };
	if (buf_printf(&fk, "%s%c%s%c%s%c%s", result, 1, host ? host : "", 1, ip ? ip : "", 1,
	    reason ? reason : "") < 0)
		return -1;
	json_t *f = json_object_get(fails, fk.data);
	if (f == NULL) {
		if (json_object_size(fails) >= FAILURES_MAX) {
			buf_free(&fk);
			return 0;
		}
		f = json_object();
		if (f == NULL || set_str(f, "result-type", result) < 0 ||
		    set_str(f, "receiving-mx-hostname", host) < 0 ||
		    set_str(f, "receiving-ip", ip) < 0 ||
		    set_str(f, "failure-reason-code", reason) < 0 ||
		    json_object_set_new(fails, fk.data, f) < 0) {
			json_decref(f);
			buf_free(&fk);
			return -1;
		}
	}
	buf_free(&fk);
	return count_up(f, "failed-session-count") < 0 ? -1 : 0;
}

int
tlsrpt_agg_add_text(struct tlsrpt_agg *a, const char *text, size_t len)
{
	if (a->domains == NULL && (a->domains = json_object()) == NULL)
		return -1;
	size_t i = 0;
	/* Bounded by len: each turn takes one line. */
	while (i < len) {
		const char *line = text + i;
		const char *nl = memchr(line, '\n', len - i);
		size_t n = nl ? (size_t)(nl - line) : len - i;
		i += n + (nl ? 1 : 0);
		if (n == 0)
			continue;
		json_t *l = json_loadb(line, n, JSON_REJECT_DUPLICATES, NULL);
		int rc = l != NULL && json_is_object(l) ? add_line(a, l) : 1;
		json_decref(l);
		if (rc < 0)
			return -1;
		a->malformed += (size_t)rc;
	}
	return 0;
}

void
tlsrpt_agg_free(struct tlsrpt_agg *a)
{
	json_decref(a->domains);
	a->domains = NULL;
	a->malformed = 0;
}

size_t
tlsrpt_agg_count(const struct tlsrpt_agg *a)
{
	return a->domains != NULL ? json_object_size(a->domains) : 0;
}

const char *
tlsrpt_agg_domain(const struct tlsrpt_agg *a, size_t i)
{
	const char *k;
	json_t *v;
	size_t n = 0;

	json_object_foreach(a->domains, k, v) {
		if (n++ == i)
			return k;
	}
	return NULL;
}

static void
iso_time(time_t t, char out[32])
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int
tlsrpt_json(const struct tlsrpt_agg *a, const char *domain, const struct tlsrpt_meta *m,
    struct buf *out)
{
	json_t *d = a->domains != NULL ? json_object_get(a->domains, domain) : NULL;
	char b[32], e[32];
	const char *k;
	json_t *v;
	int rc = -1;

	if (d == NULL)
		return -1;
	iso_time(m->begin, b);
	iso_time(m->end, e);
	json_t *policies = json_array();
	json_t *r = json_pack("{s:s,s:{s:s,s:s},s:s,s:s}", "organization-name", m->organization,
	    "date-range", "start-datetime", b, "end-datetime", e, "contact-info", m->contact,
	    "report-id", m->report_id);
	if (policies == NULL || r == NULL)
		goto out;
	json_object_foreach(d, k, v) {
		json_t *p = json_pack("{s:O,s:O}", "policy", json_object_get(v, "policy"), "summary",
		    json_object_get(v, "summary"));
		json_t *fails = json_object_get(v, "failures"), *fa = json_array();
		const char *fk;
		json_t *f;
		if (p == NULL || fa == NULL) {
			json_decref(p);
			json_decref(fa);
			goto out;
		}
		json_object_foreach(fails, fk, f)
			json_array_append(fa, f);
		if (json_array_size(fa) > 0)
			json_object_set_new(p, "failure-details", fa);
		else
			json_decref(fa);
		if (json_array_append_new(policies, p) < 0)
			goto out;
	}
	if (json_object_set(r, "policies", policies) < 0)
		goto out;
	char *s = json_dumps(r, JSON_COMPACT | JSON_ENSURE_ASCII);
	if (s == NULL)
		goto out;
	rc = buf_append(out, s, strlen(s)) < 0 ? -1 : 0;
	free(s);
out:
	json_decref(policies);
	json_decref(r);
	return rc;
}

int
tlsrpt_record_parse(const char *txt, size_t len, char uri[][TLSRPT_URI_MAX], bool *is_mail,
    size_t max, size_t *n)
{
	static const char ver[] = "v=TLSRPTv1";
	size_t vl = sizeof ver - 1, i;

	*n = 0;
	if (len < vl || memcmp(txt, ver, vl) != 0)
		return 0;
	i = vl;
	while (i < len && (txt[i] == ' ' || txt[i] == '\t'))
		i++;
	if (i < len && txt[i] != ';')
		return 0;
	/* Bounded by len: each turn takes one field. */
	while (i < len) {
		i++; /* the ';' */
		while (i < len && (txt[i] == ' ' || txt[i] == '\t'))
			i++;
		const char *f = txt + i;
		const char *semi = memchr(f, ';', len - i);
		size_t flen = semi ? (size_t)(semi - f) : len - i;
		i += flen;
		if (flen < 4 || memcmp(f, "rua=", 4) != 0)
			continue;
		f += 4;
		flen -= 4;
		/* The URIs, comma-separated (RFC 8460 3). */
		size_t j = 0;
		while (j < flen && *n < max) {
			const char *u = f + j;
			const char *comma = memchr(u, ',', flen - j);
			size_t ul = comma ? (size_t)(comma - u) : flen - j;
			j += ul + (comma ? 1 : 0);
			while (ul > 0 && (*u == ' ' || *u == '\t')) {
				u++;
				ul--;
			}
			while (ul > 0 && (u[ul - 1] == ' ' || u[ul - 1] == '\t'))
				ul--;
			bool mail = ul > 7 && strncasecmp(u, "mailto:", 7) == 0;
			bool web = ul > 8 && strncasecmp(u, "https://", 8) == 0;
			if (!mail && !web)
				continue;
			if (mail) {
				u += 7;
				ul -= 7;
				const char *q = memchr(u, '?', ul);
				if (q != NULL)
					ul = (size_t)(q - u);
			}
			if (ul == 0 || ul >= TLSRPT_URI_MAX)
				continue;
			bool ok = true;
			for (size_t k = 0; k < ul; k++)
				if ((unsigned char)u[k] <= 0x20 || (unsigned char)u[k] >= 0x7f)
					ok = false;
			if (mail && (memchr(u, '@', ul) == NULL || memchr(u, '%', ul) != NULL))
				ok = false;
			if (!ok)
				continue;
			memcpy(uri[*n], u, ul);
			uri[*n][ul] = '\0';
			is_mail[*n] = mail;
			(*n)++;
		}
	}
	return *n > 0 ? 1 : -1;
}

int
tlsrpt_mail(const struct tlsrpt_mail *m, struct buf *out)
{
	static const struct report_format tls = { "json.gz",
		"multipart/report; report-type=\"tlsrpt\"", "application/tlsrpt+gzip",
		"an aggregate TLS report (RFC 8460)", true };
	struct dmarc_mail d = { m->submitter, m->from, m->to, m->domain, m->report_id,
		m->unique, m->begin, m->end, m->now, m->gz, m->gzlen };

	return report_mail(&d, &tls, out);
}
