/*
 * dmarc_walk.c - the DNS Tree Walk's names and the reading of its answers.
 */
#include "dmarc/dmarc_walk.h"

#include <string.h>

size_t
dmarc_label_count(const char *name)
{
	size_t n = 0;

	if (*name == '\0')
		return 0;
	for (n = 1; *name; name++)
		n += *name == '.';
	return n;
}

const char *
dmarc_last_labels(const char *name, size_t k)
{
	size_t have = dmarc_label_count(name);

	while (have > k) {
		const char *dot = strchr(name, '.');
		if (dot == NULL)
			break;
		name = dot + 1;
		have--;
	}
	return name;
}

int
dmarc_walk_init(struct dmarc_walk *w, const char *domain)
{
	size_t len = strlen(domain);

	memset(w, 0, sizeof *w);
	if (len > 0 && domain[len - 1] == '.')
		len--;
	/* "_dmarc." is put in front of every target: it must still be a DNS name. */
	if (len == 0 || len + 7 >= DNS_NAME_MAX)
		return -1;
	for (size_t i = 0; i < len; i++) {
		char c = domain[i];
		if ((unsigned char)c <= 0x20 || (unsigned char)c >= 0x7f)
			return -1;
		if (c == '.' && (i == 0 || domain[i - 1] == '.'))
			return -1;
		w->start[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
	}
	w->start[len] = '\0';
	for (const char *lab = w->start; *lab; ) {
		const char *dot = strchr(lab, '.');
		size_t l = dot ? (size_t)(dot - lab) : strlen(lab);
		if (l == 0 || l > 63)
			return -1;
		lab += l + (dot != NULL);
		if (dot != NULL && *lab == '\0')
			return -1;
	}

	size_t x = dmarc_label_count(w->start);
	strcpy(w->target[w->n++], w->start);
	/* Step 4: one label off, or, from 8 labels up, down to 7 at once. */
	size_t next = x < 8 ? x - 1 : 7;
	for (size_t k = next; k >= 1 && w->n < DMARC_WALK_MAX; k--)
		strcpy(w->target[w->n++], dmarc_last_labels(w->start, k));
	return 0;
}

static bool
stops(const struct dmarc_answer *a)
{
	return a != NULL && a->kind == DMARC_ANS_RECORD && a->rec.psd != DMARC_PSD_U;
}

size_t
dmarc_walk_needed(const struct dmarc_walk *w, dmarc_answer_fn answer, void *ctx)
{
	for (size_t i = 0; i < w->n; i++)
		if (stops(answer(ctx, w->target[i])))
			return i + 1;
	return w->n;
}

void
dmarc_walk_decide(const struct dmarc_walk *w, dmarc_answer_fn answer, void *ctx,
    struct dmarc_walk_result *out)
{
	size_t needed = dmarc_walk_needed(w, answer, ctx);
	const struct dmarc_answer *a;

	memset(out, 0, sizeof *out);
	out->complete = true;
	for (size_t i = 0; i < needed; i++) {
		a = answer(ctx, w->target[i]);
		if (a == NULL || a->kind == DMARC_ANS_PENDING || a->kind == DMARC_ANS_TEMPFAIL)
			out->complete = false;
	}
	a = answer(ctx, w->target[0]);
	out->start_tempfail = a == NULL || a->kind == DMARC_ANS_TEMPFAIL ||
	    a->kind == DMARC_ANS_PENDING;
	if (a != NULL && a->kind == DMARC_ANS_RECORD) {
		out->found = out->at_start = true;
		strcpy(out->policy_domain, w->start);
		out->rec = a->rec;
	}
	if (!out->complete)
		return;

	/* The Organizational Domain: names with a record, longest first. */
	const char *org = NULL;
	size_t fewest = w->n; /* index of the record with the fewest labels */
	for (size_t i = 0; i < needed && org == NULL; i++) {
		a = answer(ctx, w->target[i]);
		if (a->kind != DMARC_ANS_RECORD)
			continue;
		if (a->rec.psd == DMARC_PSD_N)
			org = w->target[i];
		else if (a->rec.psd == DMARC_PSD_Y && i > 0)
			org = dmarc_last_labels(w->start, dmarc_label_count(w->target[i]) + 1);
		fewest = i;
	}
	if (org == NULL)
		org = fewest < w->n ? w->target[fewest] : w->start;
	strcpy(out->org, org);
	if (out->found)
		return;

	/* The policy: the Organizational Domain's record, else the PSD's. */
	for (size_t i = 0; i < needed; i++) {
		a = answer(ctx, w->target[i]);
		if (a->kind == DMARC_ANS_RECORD && strcmp(w->target[i], org) == 0) {
			out->found = true;
			strcpy(out->policy_domain, org);
			out->rec = a->rec;
			return;
		}
	}
	a = answer(ctx, w->target[needed - 1]);
	if (needed > 1 && a->kind == DMARC_ANS_RECORD && a->rec.psd == DMARC_PSD_Y) {
		out->found = out->from_psd = true;
		strcpy(out->policy_domain, w->target[needed - 1]);
		out->rec = a->rec;
	}
}
