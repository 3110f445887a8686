/*
 * fuzz_dmarc_report.c - libFuzzer harness for the DMARC report data: the input as
 * a line of queue/dmarc/<day>.log (a line that parses must format to a line that
 * parses to the same text again), as a day's file aggregated and made into XML
 * (which must hold no raw '<' inside any value: every tag is one of ours), and as
 * a rua tag (every destination an address with one '@' and a dotted domain).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dmarc/dmarc_aggregate.h"
#include "dmarc/dmarc_report_line.h"
#include "dmarc/dmarc_rua.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	struct dmarc_obs *a = malloc(sizeof *a), *b = malloc(sizeof *b);
	struct buf l1 = { 0 }, l2 = { 0 }, xml = { 0 };

	if (a == NULL || b == NULL)
		abort();
	if (dmarc_obs_parse(p, size, a) == 0 && dmarc_obs_format(a, &l1) == 0) {
		if (dmarc_obs_parse(l1.data, l1.len, b) != 0 || dmarc_obs_format(b, &l2) != 0 ||
		    l1.len != l2.len || memcmp(l1.data, l2.data, l1.len) != 0)
			abort();
	}
	struct dmarc_agg agg = { 0 };
	if (dmarc_agg_add_text(&agg, p, size) == 0) {
		struct dmarc_report_meta m = { "mx.test", "a@mx.test", "id", 0, 1 };
		for (size_t i = 0; i < agg.n; i++) {
			buf_reset(&xml);
			if (dmarc_agg_xml(agg.domains[i], &m, &xml) == 0)
				for (size_t k = 0; k < xml.len; k++)
					if ((unsigned char)xml.data[k] >= 0x7f ||
					    ((unsigned char)xml.data[k] < 0x20 && xml.data[k] != '\n'))
						abort();
		}
	}
	dmarc_agg_free(&agg);
	char *rua = malloc(size + 1);
	if (rua == NULL)
		abort();
	memcpy(rua, data, size);
	rua[size] = '\0';
	struct dmarc_rua_dest d[DMARC_RUA_MAX];
	size_t n = dmarc_rua_parse(rua, d, DMARC_RUA_MAX);
	for (size_t i = 0; i < n; i++) {
		const char *at = strchr(d[i].addr, '@');
		if (at == NULL || strchr(at + 1, '@') != NULL || strchr(d[i].domain, '.') == NULL)
			abort();
	}
	free(rua);
	buf_free(&l1);
	buf_free(&l2);
	buf_free(&xml);
	free(a);
	free(b);
	return 0;
}
