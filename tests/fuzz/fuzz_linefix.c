/*
 * fuzz_linefix.c - libFuzzer harness for deliver/linefix.c. The first octet picks
 * a chunk size; the rest is a message's stored text. Scanned and transformed whole
 * and in chunks: no output line may be over the limit, both chunkings must give
 * the same output, and a text the scan leaves alone must come out octet for octet.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "deliver/linefix.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* run - the output of the two passes, fed in pieces of step octets. */
static struct buf
run(const char *in, size_t len, size_t step, bool *changed)
{
	struct linefix *lf = malloc(sizeof *lf);
	struct linefix_plan plan = { 0 };
	struct buf out = { 0 };

	if (lf == NULL)
		abort();
	linefix_scan_init(lf, &plan);
	for (size_t i = 0; i < len; i += step)
		if (linefix_feed(lf, in + i, len - i < step ? len - i : step, NULL) < 0)
			abort();
	if (linefix_finish(lf, NULL) < 0)
		abort();
	*changed = linefix_plan_changes(&plan);
	linefix_init(lf, &plan);
	for (size_t i = 0; i < len; i += step)
		if (linefix_feed(lf, in + i, len - i < step ? len - i : step, &out) < 0)
			abort();
	if (linefix_finish(lf, &out) < 0)
		abort();
	linefix_plan_free(&plan);
	free(lf);
	return out;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t step = 1 + data[0] % 64;
	const char *in = (const char *)data + 1;
	size_t len = size - 1;
	bool c1, c2;

	struct buf whole = run(in, len, len ? len : 1, &c1);
	struct buf chunked = run(in, len, step, &c2);
	if (c1 != c2 || whole.len != chunked.len ||
	    (whole.len && memcmp(whole.data, chunked.data, whole.len) != 0))
		abort();
	if (!c1 && (whole.len != len || (len && memcmp(whole.data, in, len) != 0)))
		abort();
	size_t line = 0;
	for (size_t i = 0; i < whole.len; i++) {
		line = whole.data[i] == '\n' ? 0 : line + 1;
		if (line > LINEFIX_LIMIT)
			abort();
	}
	buf_free(&whole);
	buf_free(&chunked);
	return 0;
}
