/* arc_sets.c - finding the ARC sets of a header block (see arc_sets.h). */
#include "dkim/arc_sets.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "dkim/dkim_tags.h"

const char *
arc_field_value(const struct dkim_field *f, size_t *len)
{
	const char *colon = memchr(f->p, ':', f->len);

	*len = f->len - (size_t)(colon + 1 - f->p);
	return colon + 1;
}

static bool
fws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* number - 1 or 2 digits from v[*i]: an instance in range, else 0. */
static unsigned
number(const char *v, size_t len, size_t *i)
{
	unsigned n = 0, digits = 0;

	while (*i < len && v[*i] >= '0' && v[*i] <= '9') {
		if (++digits > 2)
			return 0;
		n = n * 10 + (unsigned)(v[*i] - '0');
		(*i)++;
	}
	return n >= 1 && n <= ARC_INSTANCE_MAX ? n : 0;
}

unsigned
arc_aar_instance(const char *v, size_t len)
{
	size_t i = 0;
	unsigned n;

	/* "i" "=" instance ";" with FWS allowed around each part (RFC 8617 4.1.1). */
	while (i < len && fws(v[i]))
		i++;
	if (i >= len || v[i++] != 'i')
		return 0;
	while (i < len && fws(v[i]))
		i++;
	if (i >= len || v[i++] != '=')
		return 0;
	while (i < len && fws(v[i]))
		i++;
	if ((n = number(v, len, &i)) == 0)
		return 0;
	while (i < len && fws(v[i]))
		i++;
	return i < len && v[i] == ';' ? n : 0;
}

/* sig_instance - the i= tag of an AMS or AS value, or 0. */
static unsigned
sig_instance(const char *v, size_t len)
{
	struct dkim_tags t;
	const struct dkim_tag *tag;
	char why[8];

	if (dkim_tags_parse(v, len, &t, why, sizeof why) < 0 ||
	    (tag = dkim_tags_find(&t, "i")) == NULL)
		return 0;
	size_t i = tag->val, end = tag->val + tag->val_len;
	unsigned n = number(v, end, &i);
	return i == end ? n : 0;
}

int
arc_sets_find(const struct dkim_fields *hdr, struct arc_sets *s)
{
	static const char *const names[] = { "ARC-Authentication-Results",
		"ARC-Message-Signature", "ARC-Seal" };
	bool bad = false;

	memset(s, 0, sizeof *s);
	for (size_t k = 0; k < hdr->n; k++) {
		const struct dkim_field *f = &hdr->v[k];
		int which = -1;
		for (int w = 0; w < 3; w++)
			if (dkim_field_is(f, names[w]))
				which = w;
		if (which < 0)
			continue;
		s->fields++;
		size_t len;
		const char *v = arc_field_value(f, &len);
		unsigned i = which == 0 ? arc_aar_instance(v, len) : sig_instance(v, len);
		if (i == 0) {
			if (!bad)
				snprintf(s->why, sizeof s->why, "%s without a good i=", names[which]);
			bad = true;
			continue;
		}
		const struct dkim_field **slot = which == 0 ? &s->v[i].aar :
		    which == 1 ? &s->v[i].ams : &s->v[i].as;
		if (*slot != NULL) {
			if (!bad)
				snprintf(s->why, sizeof s->why, "two %s with i=%u", names[which], i);
			bad = true;
		}
		*slot = f;
		if (i > s->n)
			s->n = i;
	}
	for (unsigned i = 1; i <= s->n && !bad; i++) {
		const struct arc_set *set = &s->v[i];
		if (set->aar == NULL || set->ams == NULL || set->as == NULL) {
			snprintf(s->why, sizeof s->why, "ARC set i=%u incomplete", i);
			bad = true;
		}
	}
	return bad ? -1 : 0;
}
