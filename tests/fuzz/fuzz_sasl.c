/*
 * fuzz_sasl.c - libFuzzer harness for sasl.c. The input is decoded as base64,
 * as a PLAIN response and as a LOGIN step, into buffers of several sizes. What
 * decodes must re-encode to the same text (strict, canonical base64), PLAIN
 * fields must be NUL-free, within SASL_FIELD_MAX and rebuild the decoded octets,
 * and encoding arbitrary octets must decode back to them.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/sasl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* check_roundtrip - the decoded octets re-encode to the input (but the bits under padding). */
static void
check_roundtrip(const char *in, size_t len, const char *dec, long n)
{
	char *enc = malloc((size_t)n / 3 * 4 + 8);
	if (enc == NULL)
		return;
	long e = base64_encode(dec, (size_t)n, enc, (size_t)n / 3 * 4 + 8);
	if (e < 0)
		abort();
	/* RFC 4648 3.5 lets non-zero pad bits through: the last quantum may differ. */
	if ((size_t)e != len || (len >= 4 && memcmp(enc, in, len - 4) != 0))
		abort();
	free(enc);
}

static void
check_plain(const char *in, size_t len)
{
	struct sasl_plain p;
	char raw[3 * SASL_FIELD_MAX + 8];

	if (sasl_plain_decode(in, len, &p) != 0)
		return;
	size_t lz = strnlen(p.authzid, SASL_FIELD_MAX), lc = strnlen(p.authcid, SASL_FIELD_MAX),
	       lp = strnlen(p.password, SASL_FIELD_MAX);
	if (lz >= SASL_FIELD_MAX || lc == 0 || lc >= SASL_FIELD_MAX || lp == 0 ||
	    lp >= SASL_FIELD_MAX)
		abort();
	/* authzid NUL authcid NUL password is exactly what the input decodes to. */
	long n = base64_decode(in, len, raw, sizeof raw);
	if (n < 0 || (size_t)n != lz + lc + lp + 2 || memcmp(raw, p.authzid, lz) != 0 ||
	    raw[lz] != '\0' || memcmp(raw + lz + 1, p.authcid, lc) != 0 || raw[lz + 1 + lc] != '\0' ||
	    memcmp(raw + lz + lc + 2, p.password, lp) != 0)
		abort();
}

static void
check_login(const char *in, size_t len)
{
	static const size_t sizes[] = { 1, 2, 8, 65, 256, 513 };

	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		char *out = malloc(sizes[i]);
		if (out == NULL)
			return;
		if (sasl_login_decode(in, len, out, sizes[i]) == 0) {
			size_t l = strnlen(out, sizes[i]);
			if (l == 0 || l >= sizes[i])
				abort();
		}
		free(out);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;

	/* Exact-size output buffers: ASan catches a write past the end. */
	for (size_t outlen = 0; outlen <= 4; outlen++) {
		char *o = malloc(outlen ? outlen : 1);
		if (o == NULL)
			return 0;
		long n = base64_decode(in, size, o, outlen);
		if (n >= 0 && (size_t)n >= outlen)
			abort();
		free(o);
	}
	size_t cap = size / 4 * 3 + 1;
	char *dec = malloc(cap);
	if (dec == NULL)
		return 0;
	long n = base64_decode(in, size, dec, cap);
	if (n >= 0) {
		if ((size_t)n >= cap || dec[n] != '\0')
			abort();
		check_roundtrip(in, size, dec, n);
	}
	free(dec);

	check_plain(in, size);
	check_login(in, size);

	/* Any octets encode, and decode back to themselves. */
	size_t ecap = (size + 2) / 3 * 4 + 1;
	char *enc = malloc(ecap);
	char *back = malloc(size + 1);
	if (enc != NULL && back != NULL) {
		long e = base64_encode(data, size, enc, ecap);
		if (e < 0 || (size_t)e != ecap - 1)
			abort();
		if (base64_decode(enc, (size_t)e, back, size + 1) != (long)size ||
		    memcmp(back, data, size) != 0)
			abort();
	}
	free(enc);
	free(back);
	return 0;
}
