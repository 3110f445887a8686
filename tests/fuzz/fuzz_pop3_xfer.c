/*
 * fuzz_pop3_xfer.c - libFuzzer harness for pop3_xfer.c. The first octet picks
 * a split point and the TOP line count; the rest is a message file. RETR's
 * output, un-stuffed, must be the file with CRLF line ends; fed in one piece or
 * two it must not differ; TOP must be a prefix of RETR that ends at a line; and
 * pop3_wire_size must count what RETR sends.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pop3/pop3_xfer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* run - in[0..at) and in[at..len) through a converter; the output (caller frees). */
static char *
run(const char *in, size_t len, size_t at, bool top, uint64_t n, size_t *outlen)
{
	struct pop3_xfer x;
	char *out = malloc(2 * len + 8);
	size_t o = 0;

	if (out == NULL)
		abort();
	pop3_xfer_init(&x, top, n);
	o += pop3_xfer_feed(&x, in, at, out + o);
	o += pop3_xfer_feed(&x, in + at, len - at, out + o);
	o += pop3_xfer_finish(&x, out + o);
	*outlen = o;
	return out;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	const char *in = (const char *)data + 1;
	size_t len = size - 1, at = len ? data[0] % (len + 1) : 0;
	uint64_t lines = data[0] % 8;
	size_t a, b, t;
	char *whole = run(in, len, 0, false, 0, &a);
	char *split = run(in, len, at, false, 0, &b);

	if (a != b || memcmp(whole, split, a) != 0)
		abort();
	if (a < 3 || memcmp(whole + a - 3, ".\r\n", 3) != 0)
		abort();
	/* Un-stuff and compare with the reference: bare LF becomes CRLF. */
	char *ref = malloc(2 * len + 3), *plain = malloc(a);
	size_t r = 0, p = 0;
	if (ref == NULL || plain == NULL)
		abort();
	for (size_t i = 0; i < len; i++) {
		if (in[i] == '\n' && (i == 0 || in[i - 1] != '\r'))
			ref[r++] = '\r';
		ref[r++] = in[i];
	}
	bool added_crlf = len > 0 && in[len - 1] != '\n';
	if (added_crlf) {
		ref[r++] = '\r';
		ref[r++] = '\n';
	}
	bool sol = true;
	for (size_t i = 0; i + 3 < a; i++) {
		if (sol && whole[i] == '.') {
			if (whole[i + 1] != '.')
				abort(); /* an unstuffed dot at a line start */
			i++;
		}
		plain[p++] = whole[i];
		sol = whole[i] == '\n';
		if (whole[i] == '\n' && (i == 0 || whole[i - 1] != '\r'))
			abort(); /* a bare LF on the wire */
	}
	if (p != r || memcmp(plain, ref, r) != 0)
		abort();
	bool cr = false;
	uint64_t ws = pop3_wire_size(in, at, &cr);
	ws += pop3_wire_size(in + at, len - at, &cr);
	if (ws != r - (added_crlf ? 2 : 0))
		abort();
	/* TOP: a prefix of RETR's lines, then the terminator. */
	char *top = run(in, len, at, true, lines, &t);
	if (t > a || memcmp(top + t - 3, ".\r\n", 3) != 0)
		abort();
	if (t < a) {
		if (memcmp(top, whole, t - 3) != 0 || (t > 3 && top[t - 4] != '\n'))
			abort();
	}
	free(top);
	free(ref);
	free(plain);
	free(whole);
	free(split);
	return 0;
}
