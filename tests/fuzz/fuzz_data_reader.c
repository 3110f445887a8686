/*
 * fuzz_data_reader.c - libFuzzer harness for data_reader.c. The first input
 * octet picks a split point; the rest is fed in one call and in two calls, in
 * DATA and in BDAT mode, stored and counted only: every way must agree, and the
 * end of DATA must be exactly the first CR LF "." CR LF.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/data_reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct run {
	struct data_reader r;
	struct buf out;
	size_t consumed;
	bool done;
};

/* feed - in[0..at) then in[at..len) (unless done), then finish. */
static void
feed(enum data_mode mode, const char *in, size_t len, size_t at, bool store, struct run *run)
{
	struct buf *out = store ? &run->out : NULL;
	bool done = false;

	memset(run, 0, sizeof *run);
	data_reader_init(&run->r, mode);
	size_t used = data_reader_feed(&run->r, in, at, out, &done);
	if (used == (size_t)-1 || used > at || (!done && used != at))
		abort();
	if (!done) {
		size_t more = data_reader_feed(&run->r, in + at, len - at, out, &done);
		if (more == (size_t)-1 || more > len - at || (!done && more != len - at))
			abort();
		used += more;
	}
	if (mode == DATA_MODE_CHUNK && (done || used != len))
		abort();
	run->consumed = used;
	run->done = done;
	if (data_reader_finish(&run->r, out) != 0)
		abort();
}

static void
same(const struct run *a, const struct run *b, bool compare_out)
{
	if (a->consumed != b->consumed || a->done != b->done ||
	    a->r.raw_octets != b->r.raw_octets || a->r.out_octets != b->r.out_octets ||
	    a->r.out_lines != b->r.out_lines || a->r.in_header != b->r.in_header ||
	    a->r.header_flags != b->r.header_flags)
		abort();
	if (compare_out && (a->out.len != b->out.len ||
	    (a->out.len > 0 && memcmp(a->out.data, b->out.data, a->out.len) != 0)))
		abort();
}

static void
check_stored(const struct run *run)
{
	uint64_t lines = 0;

	for (size_t i = 0; i < run->out.len; i++) {
		if (run->out.data[i] == '\r')
			abort(); /* never a lone CR in the stored form */
		lines += run->out.data[i] == '\n';
	}
	if (run->r.out_octets != run->out.len || run->r.out_lines != lines ||
	    run->r.raw_octets != run->consumed)
		abort();
	if (run->out.len > 0 && run->out.data[run->out.len - 1] != '\n')
		abort();
}

static void
check_mode(enum data_mode mode, const char *in, size_t len, size_t at)
{
	struct run whole, split, counted;

	feed(mode, in, len, len, true, &whole);
	feed(mode, in, len, at, true, &split);
	feed(mode, in, len, at, false, &counted);
	check_stored(&whole);
	same(&whole, &split, true);
	same(&whole, &counted, false);

	if (mode == DATA_MODE_DOT) {
		size_t end = 0;
		if (len >= 3 && memcmp(in, ".\r\n", 3) == 0) {
			end = 3;
		} else {
			const char *p = memmem(in, len, "\r\n.\r\n", 5);
			if (p != NULL)
				end = (size_t)(p - in) + 5;
		}
		if (whole.done != (end != 0) || whole.consumed != (end ? end : len))
			abort();
	}
	buf_free(&whole.out);
	buf_free(&split.out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	const char *in = (const char *)data + 1;
	size_t len = size - 1;
	size_t at = len == 0 ? 0 : data[0] % (len + 1);

	check_mode(DATA_MODE_DOT, in, len, at);
	check_mode(DATA_MODE_CHUNK, in, len, at);
	return 0;
}
