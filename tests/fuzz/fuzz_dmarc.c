/*
 * fuzz_dmarc.c - libFuzzer harness for the DMARC parsers. The input is read as a
 * DMARC record (a record must start "v=DMARC1", its policies must be known
 * values, its texts terminated within their buffers, rua_valid only with a rua,
 * fo only of 0/1/d/s and ':'), as a From field value and as a header block (a
 * domain found must be lower-case LDH labels, and appear in the input), and as a
 * domain to walk (at most eight targets, each a parent of the one before,
 * ending in the last label). Split at its first NUL, the second
 * part is a list of TXT rdatas at the walk's names, and the walk's decision must
 * name an Organizational Domain that is one of the domain's suffixes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dmarc/dmarc_from.h"
#include "dmarc/dmarc_query.h"
#include "dmarc/dmarc_record.h"
#include "dmarc/dmarc_walk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_record(const char *p, size_t n)
{
	struct dmarc_record r;
	int rc = dmarc_record_parse(p, n, &r);

	if (rc != 0 && rc != 1)
		abort();
	if (rc == 0)
		return;
	if (n < 8 || (p[0] != 'v' && p[0] != 'V') || memmem(p, n, "DMARC1", 6) == NULL)
		abort();
	if (r.p > DMARC_POLICY_REJECT || r.sp > DMARC_POLICY_REJECT || r.np > DMARC_POLICY_REJECT)
		abort();
	if (strnlen(r.rua, sizeof r.rua) >= sizeof r.rua ||
	    strnlen(r.ruf, sizeof r.ruf) >= sizeof r.ruf ||
	    strnlen(r.fo, sizeof r.fo) >= sizeof r.fo)
		abort();
	if (r.rua_valid && r.rua[0] == '\0' && n < DMARC_URIS_MAX)
		abort();
	for (const char *f = r.fo; *f; f++)
		if (strchr("01dDsS:", *f) == NULL)
			abort();
	struct dmarc_record e;
	if (dmarc_record_effective(&r, &e) == 0) {
		if (e.p == DMARC_POLICY_UNSET || e.policy_malformed)
			abort();
	} else if (!r.policy_malformed || r.rua_valid) {
		abort();
	}
}

static void
check_domain(const char *dom)
{
	size_t l = strlen(dom);

	if (l == 0 || l > 255 || dom[0] == '.' || dom[l - 1] == '.')
		abort();
	for (size_t i = 0; i < l; i++) {
		char c = dom[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		    c == '.'))
			abort();
		if (c == '.' && dom[i + 1] == '.')
			abort();
	}
}

/* The walk's answers, one per target, made from the input. */
static const struct dmarc_walk *cur_walk;
static struct dmarc_answer cur_ans[DMARC_WALK_MAX];

static const struct dmarc_answer *
fuzz_answer(void *ctx, const char *name)
{
	for (size_t i = 0; i < cur_walk->n; i++)
		if (strcmp(cur_walk->target[i], name) == 0)
			return &cur_ans[i];
	abort(); /* the walk asked a name that is not one of its targets */
}

static void
check_walk(const char *domain, const uint8_t *rest, size_t rn)
{
	struct dmarc_walk w;

	if (dmarc_walk_init(&w, domain) != 0)
		return;
	if (w.n < 1 || w.n > DMARC_WALK_MAX || strcmp(w.target[0], w.start) != 0)
		abort();
	for (size_t i = 1; i < w.n; i++) {
		size_t a = strlen(w.target[i - 1]), b = strlen(w.target[i]);
		if (b >= a || strcmp(w.target[i - 1] + a - b, w.target[i]) != 0 ||
		    w.target[i - 1][a - b - 1] != '.')
			abort();
	}
	if (dmarc_label_count(w.target[w.n - 1]) != 1)
		abort();

	/* Per target: a length octet and a TXT rdata (0xff alone: a DNS failure). */
	for (size_t i = 0; i < w.n; i++) {
		memset(&cur_ans[i], 0, sizeof cur_ans[i]);
		cur_ans[i].kind = DMARC_ANS_NONE;
		if (rn == 0)
			continue;
		size_t l = rest[0];
		rest++;
		rn--;
		if (l > rn)
			l = rn;
		if (l == 1 && rest[0] == 0xff) {
			cur_ans[i].kind = DMARC_ANS_TEMPFAIL;
		} else {
			const uint8_t *v[1] = { rest };
			int len[1] = { (int)l };
			struct dns_rdata rr = { v, len, 1, 0, false };
			dmarc_answer_from_txt(&rr, &cur_ans[i]);
		}
		rest += l;
		rn -= l;
	}
	cur_walk = &w;
	struct dmarc_walk_result r;
	dmarc_walk_decide(&w, fuzz_answer, NULL, &r);
	if (r.complete) {
		/* The Organizational Domain is the start or one of its parents. */
		size_t a = strlen(w.start), b = strlen(r.org);
		if (b == 0 || b > a || strcmp(w.start + a - b, r.org) != 0 ||
		    (b < a && w.start[a - b - 1] != '.'))
			abort();
	}
	if (r.found && (r.policy_domain[0] == '\0' || r.rec.p > DMARC_POLICY_REJECT))
		abort();
	if (r.at_start && strcmp(r.policy_domain, w.start) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char dom[256], why[256];
	char *text = malloc(size + 1);

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	check_record(text, size);
	int n = dmarc_from_value(text, size, dom, sizeof dom, why, sizeof why);
	if (n > 0)
		check_domain(dom);
	else if (n != -1 || why[0] == '\0')
		abort();
	n = dmarc_from_header(text, size, dom, sizeof dom, why, sizeof why);
	if (n > 0)
		check_domain(dom);
	size_t first = strnlen(text, size);
	if (first < size)
		check_walk(text, data + first + 1, size - first - 1);
	else if (size < 300)
		check_walk(text, NULL, 0);
	free(text);
	return 0;
}
