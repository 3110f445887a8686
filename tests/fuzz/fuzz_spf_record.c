/*
 * fuzz_spf_record.c - libFuzzer harness for spf_record.c: the input is an SPF
 * record as a TXT lookup could return it. A parsed record has valid qualifiers,
 * CIDR lengths within range and domain-specs that pass spf_domain_spec_ok; a
 * refused one says why.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spf/spf_macro.h"
#include "spf/spf_record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	struct spf_record r;
	char why[160];

	if (text == NULL)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	(void)spf_is_record(text, size);
	if (spf_record_parse(text, &r, why, sizeof why) == 0) {
		for (size_t i = 0; i < r.n; i++) {
			const struct spf_term *t = &r.v[i];
			if (strchr("+-~?", t->qual) == NULL || t->qual == '\0' || t->cidr4 > 32 ||
			    t->cidr6 > 128)
				abort();
			if (t->spec != NULL && !spf_domain_spec_ok(t->spec, strlen(t->spec)))
				abort();
		}
		if (r.redirect && !spf_domain_spec_ok(r.redirect, strlen(r.redirect)))
			abort();
	} else if (why[0] == '\0') {
		abort();
	}
	spf_record_free(&r);
	free(text);
	return 0;
}
