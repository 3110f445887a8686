/*
 * fuzz_spf.c - libFuzzer harness for dns_spf.c. The input, up to a NUL, is an SPF
 * record as a TXT lookup could return it; the rest gives the address to check
 * and the addresses the a and mx lookups answer with. A parsed record has at
 * most SPF_TERMS_MAX terms with valid qualifiers and CIDR lengths, and
 * evaluating it ends with a verdict without asking for more lookups than it has
 * a and mx mechanisms.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cli/dns_spf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct feed {
	const uint8_t *p;
	size_t n;
	size_t lookups;
};

static void
take_addr(struct feed *f, struct spf_addr *a)
{
	memset(a, 0, sizeof *a);
	a->family = f->n > 0 && (f->p[0] & 1) ? AF_INET6 : AF_INET;
	size_t want = a->family == AF_INET6 ? 16 : 4;
	for (size_t i = 0; i < want; i++)
		a->addr[i] = i + 1 < f->n ? f->p[i + 1] : 0;
	size_t used = want + 1 < f->n ? want + 1 : f->n;
	f->p += used;
	f->n -= used;
}

static int
feed_lookup(void *arg, bool mx, const char *name, struct spf_addrs *out)
{
	struct feed *f = arg;
	f->lookups++;
	if (name == NULL || name[0] == '\0')
		abort();
	if (f->n > 0 && f->p[0] == 0xff)
		return -1;
	size_t n = f->n > 0 ? f->p[0] % 4 : 0;
	for (size_t i = 0; i < n && out->n < SPF_ADDRS_MAX; i++)
		take_addr(f, &out->v[out->n++]);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	size_t textlen = nul ? (size_t)(nul - data) : size;
	char *text = malloc(textlen + 1);
	struct spf_record *r = malloc(sizeof *r);
	char why[128];

	if (text == NULL || r == NULL)
		abort();
	memcpy(text, data, textlen);
	text[textlen] = '\0';
	(void)spf_is_record(text);
	if (spf_parse(text, r, why, sizeof why) == 0) {
		size_t lookups_max = 0;
		if (r->n > SPF_TERMS_MAX)
			abort();
		for (size_t i = 0; i < r->n; i++) {
			const struct spf_term *t = &r->v[i];
			if (strchr("+-~?", t->qual) == NULL || t->prefix4 > 32 || t->prefix6 > 128)
				abort();
			lookups_max += t->mech == SPF_A || t->mech == SPF_MX;
		}
		struct feed f = { nul ? nul + 1 : data + size, nul ? size - textlen - 1 : 0, 0 };
		struct spf_addr a;
		take_addr(&f, &a);
		enum spf_verdict v = spf_allows(r, "example.test", &a, feed_lookup, &f);
		if ((v != SPF_PASS && v != SPF_NOT_PASS && v != SPF_TEMPFAIL) || f.lookups > lookups_max)
			abort();
	} else if (why[0] == '\0') {
		abort();
	}
	free(r);
	free(text);
	return 0;
}
