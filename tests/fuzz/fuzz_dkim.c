/*
 * fuzz_dkim.c - libFuzzer harness for the DKIM pieces that read message text: the
 * header block cut into fields, each field canonicalized, the signature field built
 * over them (its lines stay short; a verifier's view of it matches what was signed),
 * and the body hash, relaxed and simple, fed whole and in two pieces (the same hash).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dkim/dkim_canon.h"
#include "dkim/dkim_fields.h"
#include "dkim/dkim_sign.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
hash(const char *p, size_t n, size_t split, bool simple, char *out)
{
	struct dkim_body b;

	if (dkim_body_init_c(&b, simple, DKIM_BODY_ALL) < 0)
		abort();
	dkim_body_update(&b, p, split);
	dkim_body_update(&b, p + split, n - split);
	if (dkim_body_final(&b, out, 64) < 0)
		abort();
	dkim_body_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct dkim_fields f = { 0 };
	size_t body_at, end = dkim_header_end(text, size, &body_at);

	if (end > size || body_at > size || body_at < end)
		abort();
	if (dkim_fields_parse(text, end, &f) < 0)
		abort();
	for (size_t i = 0; i < f.n; i++) {
		struct buf c = { 0 };
		if (f.v[i].p < text || f.v[i].p + f.v[i].len > text + end)
			abort();
		if (dkim_canon_header(f.v[i].p, f.v[i].len, true, &c) < 0 ||
		    dkim_canon_header_c(f.v[i].p, f.v[i].len, true, false, &c) < 0)
			abort();
		buf_free(&c);
	}
	struct dkim_sign_req r = { "DKIM-Signature", "v=1", "rsa-sha256", "example.test", "s",
		1, 2, "bh" };
	struct buf field = { 0 }, signed_data = { 0 };
	if (dkim_sign_build(&f, &r, &field, &signed_data) == 0) {
		if (dkim_sign_finish(&field, "c2lnbmF0dXJl") < 0)
			abort();
		size_t col = 0;
		for (size_t i = 0; i < field.len; i++, col++) {
			if (field.data[i] == '\n')
				col = 0;
			if (col > 998)
				abort();
		}
	}
	buf_free(&field);
	buf_free(&signed_data);
	dkim_fields_free(&f);

	char a[64], b[64];
	for (int simple = 0; simple < 2; simple++) {
		hash(text + body_at, size - body_at, 0, simple, a);
		hash(text + body_at, size - body_at, (size - body_at) / 2, simple, b);
		if (strcmp(a, b) != 0)
			abort();
	}
	return 0;
}
