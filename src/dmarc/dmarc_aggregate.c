/*
 * dmarc_aggregate.c - rows keyed by their own text (the line without the time and
 * the policy record's tags), so a period of many messages from few sources costs
 * few rows; the XML of RFC 9990 appendix A, element order as its tables give it.
 */
#include "dmarc/dmarc_aggregate.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static struct dmarc_agg_domain *
domain_of(struct dmarc_agg *a, const char *name)
{
	char key[256];
	size_t i = 0;

	for (; name[i] && i + 1 < sizeof key; i++)
		key[i] = (char)tolower((unsigned char)name[i]);
	key[i] = '\0';
	struct dmarc_agg_domain *d = strmap_get(&a->index, key);
	if (d != NULL)
		return d;
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 8;
		void *v = realloc(a->domains, cap * sizeof *a->domains);
		if (v == NULL)
			return NULL;
		a->domains = v;
		a->cap = cap;
	}
	if ((d = calloc(1, sizeof *d)) == NULL)
		return NULL;
	if (strmap_put(&a->index, key, d) < 0) {
		free(d);
		return NULL;
	}
	a->domains[a->n++] = d;
	return d;
}

/* row_key - the fields that make a row, as a line. */
static int
row_key(const struct dmarc_obs *o, struct buf *key)
{
	struct dmarc_obs *r = malloc(sizeof *r);
	if (r == NULL)
		return -1;
	*r = *o;
	r->when = 0;
	r->org_domain[0] = '\0';
	r->p = r->sp = r->np = DMARC_POLICY_UNSET;
	r->adkim_strict = r->aspf_strict = r->testing = false;
	r->rua[0] = '\0';
	int rc = dmarc_obs_format(r, key);
	free(r);
	return rc;
}

int
dmarc_agg_add(struct dmarc_agg *a, const char *line, size_t len)
{
	struct dmarc_obs *o = malloc(sizeof *o);
	struct buf key = { 0 };
	int rc = -1;

	if (o == NULL)
		return -1;
	a->lines++;
	if (dmarc_obs_parse(line, len, o) < 0) {
		a->malformed++;
		free(o);
		return 0;
	}
	struct dmarc_agg_domain *d = domain_of(a, o->policy_domain);
	if (d == NULL || row_key(o, &key) < 0 || buf_putc(&key, '\0') < 0)
		goto out;
	uintptr_t at = (uintptr_t)strmap_get(&d->index, key.data);
	if (at == 0) {
		if (d->nrows == d->cap) {
			size_t cap = d->cap ? d->cap * 2 : 16;
			void *v = realloc(d->rows, cap * sizeof *d->rows);
			if (v == NULL)
				goto out;
			d->rows = v;
			d->cap = cap;
		}
		char *k = strdup(key.data);
		if (k == NULL)
			goto out;
		if (strmap_put(&d->index, k, (void *)(uintptr_t)(d->nrows + 1)) < 0) {
			free(k);
			goto out;
		}
		d->rows[d->nrows] = (struct dmarc_agg_row){ k, 0 };
		at = ++d->nrows;
	}
	d->rows[at - 1].count++;
	d->messages++;
	if (o->when >= d->last.when)
		d->last = *o;
	rc = 0;
out:
	buf_free(&key);
	free(o);
	return rc;
}

int
dmarc_agg_add_text(struct dmarc_agg *a, const char *text, size_t len)
{
	size_t i = 0;

	while (i < len) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t n = nl ? (size_t)(nl - (text + i)) : len - i;
		/* A last line without its "\n" was cut short by a crash or the size limit. */
		if (nl == NULL) {
			a->lines++;
			a->malformed++;
			break;
		}
		if (n > 0 && dmarc_agg_add(a, text + i, n) < 0)
			return -1;
		i += n + 1;
	}
	return 0;
}

static void
domain_free(struct dmarc_agg_domain *d)
{
	for (size_t i = 0; i < d->nrows; i++)
		free(d->rows[i].key);
	free(d->rows);
	strmap_free(&d->index);
	free(d);
}

void
dmarc_agg_free(struct dmarc_agg *a)
{
	for (size_t i = 0; i < a->n; i++)
		domain_free(a->domains[i]);
	free(a->domains);
	strmap_free(&a->index);
	memset(a, 0, sizeof *a);
}

/* xml_text - s as XML character data: the five specials as entities, other octets
 * outside printable ASCII as '?' (XML 1.0 forbids most controls, and the text is
 * not known to be UTF-8). */
static int
xml_text(struct buf *out, const char *s)
{
	int rc = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p && rc == 0; p++) {
		switch (*p) {
		case '&': rc = buf_append(out, "&amp;", 5); break;
		case '<': rc = buf_append(out, "&lt;", 4); break;
		case '>': rc = buf_append(out, "&gt;", 4); break;
		case '"': rc = buf_append(out, "&quot;", 6); break;
		case '\'': rc = buf_append(out, "&apos;", 6); break;
		default:
			rc = buf_putc(out, *p >= 0x20 && *p < 0x7f ? (char)*p : '?');
		}
	}
	return rc;
}

static int
elem(struct buf *out, const char *indent, const char *name, const char *value)
{
	int rc = buf_printf(out, "%s<%s>", indent, name);
	rc |= xml_text(out, value);
	rc |= buf_printf(out, "</%s>\n", name);
	return rc;
}

static const char *
or_none(enum dmarc_policy p, enum dmarc_policy fallback)
{
	if (p == DMARC_POLICY_UNSET)
		p = fallback;
	return p == DMARC_POLICY_UNSET ? "none" : dmarc_policy_name(p);
}

/*
 * dkim_rank - the order of the signatures in a row (RFC 9990 2.1.3): passes in
 * strict alignment first, other passes (relaxed alignment is not told apart: the
 * line keeps no Organizational Domain of d=), then the rest.
 */
static int
dkim_rank(const struct dmarc_obs_dkim *k, const char *hfrom)
{
	if (strcmp(k->result, "pass") != 0)
		return 2;
	return strcasecmp(k->domain, hfrom) == 0 ? 0 : 1;
}

static int
record_xml(struct buf *out, const struct dmarc_obs *o, uint64_t count)
{
	int rc = buf_printf(out, "  <record>\n    <row>\n");

	rc |= elem(out, "      ", "source_ip", o->ip);
	rc |= buf_printf(out, "      <count>%" PRIu64 "</count>\n", count);
	rc |= buf_printf(out, "      <policy_evaluated>\n");
	rc |= elem(out, "        ", "disposition", o->disposition);
	rc |= elem(out, "        ", "dkim", o->dkim_aligned ? "pass" : "fail");
	rc |= elem(out, "        ", "spf", o->spf_aligned ? "pass" : "fail");
	if (strcmp(o->dmarc, "fail") == 0 && o->requested[0] &&
	    strcmp(o->requested, o->disposition) != 0) {
		rc |= buf_printf(out, "        <reason>\n");
		rc |= elem(out, "          ", "type", o->testing ? "policy_test_mode" : "local_policy");
		rc |= buf_printf(out, "        </reason>\n");
	}
	rc |= buf_printf(out, "      </policy_evaluated>\n    </row>\n    <identifiers>\n");
	rc |= elem(out, "      ", "envelope_from", o->envelope_from);
	rc |= elem(out, "      ", "header_from", o->header_from);
	rc |= buf_printf(out, "    </identifiers>\n    <auth_results>\n");
	for (int rank = 0; rank <= 2; rank++) {
		for (size_t i = 0; i < o->ndkim; i++) {
			const struct dmarc_obs_dkim *k = &o->dkim[i];
			if (dkim_rank(k, o->header_from) != rank)
				continue;
			rc |= buf_printf(out, "      <dkim>\n");
			rc |= elem(out, "        ", "domain", k->domain);
			rc |= elem(out, "        ", "selector", k->selector);
			rc |= elem(out, "        ", "result", k->result);
			rc |= buf_printf(out, "      </dkim>\n");
		}
	}
	rc |= buf_printf(out, "      <spf>\n");
	rc |= elem(out, "        ", "domain", o->spf_domain[0] ? o->spf_domain : o->envelope_from);
	rc |= elem(out, "        ", "scope", "mfrom");
	rc |= elem(out, "        ", "result", o->spf_result[0] ? o->spf_result : "none");
	rc |= buf_printf(out, "      </spf>\n    </auth_results>\n  </record>\n");
	return rc;
}

int
dmarc_agg_xml(const struct dmarc_agg_domain *d, const struct dmarc_report_meta *m,
    struct buf *out)
{
	const struct dmarc_obs *p = &d->last;
	char num[32];
	int rc = buf_printf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<feedback xmlns=\"urn:ietf:params:xml:ns:dmarc-2.0\">\n"
	    "  <version>1.0</version>\n"
	    "  <report_metadata>\n");

	rc |= elem(out, "    ", "org_name", m->org_name);
	rc |= elem(out, "    ", "email", m->email);
	rc |= elem(out, "    ", "report_id", m->report_id);
	rc |= buf_printf(out, "    <date_range>\n");
	snprintf(num, sizeof num, "%" PRId64, (int64_t)m->begin);
	rc |= elem(out, "      ", "begin", num);
	snprintf(num, sizeof num, "%" PRId64, (int64_t)m->end);
	rc |= elem(out, "      ", "end", num);
	rc |= buf_printf(out, "    </date_range>\n");
	rc |= elem(out, "    ", "generator", "mailroom");
	rc |= buf_printf(out, "  </report_metadata>\n  <policy_published>\n");
	rc |= elem(out, "    ", "domain", p->policy_domain);
	rc |= elem(out, "    ", "discovery_method", "treewalk");
	rc |= elem(out, "    ", "p", or_none(p->p, DMARC_POLICY_UNSET));
	rc |= elem(out, "    ", "sp", or_none(p->sp, p->p));
	rc |= elem(out, "    ", "np", or_none(p->np, p->sp != DMARC_POLICY_UNSET ? p->sp : p->p));
	rc |= elem(out, "    ", "adkim", p->adkim_strict ? "s" : "r");
	rc |= elem(out, "    ", "aspf", p->aspf_strict ? "s" : "r");
	rc |= elem(out, "    ", "testing", p->testing ? "y" : "n");
	rc |= buf_printf(out, "  </policy_published>\n");
	struct dmarc_obs *o = malloc(sizeof *o);
	if (o == NULL)
		return -1;
	for (size_t i = 0; i < d->nrows && rc == 0; i++) {
		const struct dmarc_agg_row *r = &d->rows[i];
		if (dmarc_obs_parse(r->key, strlen(r->key), o) < 0)
			continue; /* cannot happen: the key was made by dmarc_obs_format */
		o->testing = p->testing;
		rc |= record_xml(out, o, r->count);
	}
	free(o);
	rc |= buf_printf(out, "</feedback>\n");
	return rc ? -1 : 0;
}
