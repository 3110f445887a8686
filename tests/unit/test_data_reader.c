/*
 * test_data_reader.c - unit tests for data_reader.c: dot-unstuffing, the end of
 * DATA and nothing else (SMTP smuggling probes), newline normalisation, input
 * split anywhere, header flags, counters, BDAT chunks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smtp/data_reader.h"

/* What one run of the reader produced. */
struct result {
	struct buf out;
	size_t consumed;
	bool done;
	struct data_reader r;
};

static void
result_free(struct result *res)
{
	buf_free(&res->out);
}

/*
 * feed_pieces - feed in[0..len) in pieces of at most `step` octets (0: all at
 * once), each from an exact-size heap copy so ASan sees over-reads; stop feeding
 * once done. finish: call data_reader_finish at the end.
 */
static void
feed_pieces(enum data_mode mode, const char *in, size_t len, size_t step, bool finish,
    bool store, struct result *res)
{
	memset(res, 0, sizeof *res);
	data_reader_init(&res->r, mode);
	size_t off = 0;
	do {
		size_t n = step == 0 ? len - off : (len - off < step ? len - off : step);
		char *piece = malloc(n ? n : 1);
		assert_non_null(piece);
		memcpy(piece, in + off, n);
		bool done = false;
		size_t used = data_reader_feed(&res->r, piece, n, store ? &res->out : NULL, &done);
		free(piece);
		assert_true(used != (size_t)-1);
		assert_true(used <= n);
		if (mode == DATA_MODE_CHUNK)
			assert_int_equal(used, n);
		if (!done)
			assert_int_equal(used, n);
		off += used;
		res->done = done;
		if (done)
			break;
	} while (off < len);
	res->consumed = off;
	if (finish)
		assert_int_equal(data_reader_finish(&res->r, store ? &res->out : NULL), 0);
}

/* feed_split - two calls: in[0..at) then the rest (unless done already). */
static void
feed_split(enum data_mode mode, const char *in, size_t len, size_t at, bool finish,
    struct result *res)
{
	memset(res, 0, sizeof *res);
	data_reader_init(&res->r, mode);
	bool done = false;
	size_t used = data_reader_feed(&res->r, in, at, &res->out, &done);
	assert_true(used != (size_t)-1);
	if (!done) {
		assert_int_equal(used, at);
		size_t more = data_reader_feed(&res->r, in + at, len - at, &res->out, &done);
		assert_true(more != (size_t)-1);
		used += more;
	}
	res->consumed = used;
	res->done = done;
	if (finish)
		assert_int_equal(data_reader_finish(&res->r, &res->out), 0);
}

static const char *
out_str(const struct result *res)
{
	return res->out.len ? res->out.data : "";
}

static void
assert_same(const struct result *a, const struct result *b, bool compare_out)
{
	assert_int_equal(a->consumed, b->consumed);
	assert_int_equal(a->done, b->done);
	if (compare_out) {
		assert_int_equal(a->out.len, b->out.len);
		if (a->out.len)
			assert_memory_equal(a->out.data, b->out.data, a->out.len);
	}
	assert_int_equal(a->r.raw_octets, b->r.raw_octets);
	assert_int_equal(a->r.out_octets, b->r.out_octets);
	assert_int_equal(a->r.out_lines, b->r.out_lines);
	assert_int_equal(a->r.in_header, b->r.in_header);
	assert_int_equal(a->r.header_flags, b->r.header_flags);
	assert_int_equal(a->r.received, b->r.received);
}

/* check_counters - the counters agree with the stored octets. */
static void
check_counters(const struct result *res)
{
	uint64_t lines = 0;

	for (size_t i = 0; i < res->out.len; i++) {
		assert_true(res->out.data[i] != '\r');
		lines += res->out.data[i] == '\n';
	}
	assert_int_equal(res->r.out_octets, res->out.len);
	assert_int_equal(res->r.out_lines, lines);
	assert_int_equal(res->r.raw_octets, res->consumed);
	if (res->out.data != NULL)
		assert_int_equal(res->out.data[res->out.len], '\0');
}

/*
 * reference - the rules written the slow, obvious way, on the whole input, with
 * finish: the oracle for the state machine.
 */
static void
reference(enum data_mode mode, const char *in, size_t len, struct buf *out, size_t *consumed,
    bool *done)
{
	bool dot = mode == DATA_MODE_DOT;
	bool line_start = dot;
	size_t i = 0;

	*done = false;
	while (i < len) {
		char c = in[i];
		if (dot && line_start && c == '.') {
			if (len - i >= 3 && in[i + 1] == '\r' && in[i + 2] == '\n') {
				i += 3;
				*done = true;
				break;
			}
			i++; /* the dot goes; what follows is not at a line start */
			line_start = false;
			continue;
		}
		if (c == '\r') {
			assert_int_equal(buf_putc(out, '\n'), 0);
			if (i + 1 < len && in[i + 1] == '\n') {
				i += 2;
				line_start = dot;
			} else {
				i++;
				line_start = false;
			}
			continue;
		}
		assert_int_equal(buf_putc(out, c), 0);
		i++;
		line_start = false;
	}
	*consumed = i;
	if (out->len > 0 && out->data[out->len - 1] != '\n')
		assert_int_equal(buf_putc(out, '\n'), 0);
}

/*
 * reference_headers - the DATA_HDR_* flags, the Received: fields and in_header of
 * a stored message.
 */
static unsigned
reference_headers(const char *s, size_t len, bool *in_header, unsigned *received)
{
	unsigned flags = 0;
	size_t i = 0;

	*in_header = true;
	*received = 0;
	while (i < len) {
		const char *nl = memchr(s + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - s) : len;
		if (end == i && nl != NULL) {
			*in_header = false;
			break;
		}
		if (s[i] != ' ' && s[i] != '\t') {
			const char *colon = memchr(s + i, ':', end - i);
			if (colon != NULL && (size_t)(colon - (s + i)) <= 16) {
				size_t n = (size_t)(colon - (s + i));
				while (n > 0 && (s[i + n - 1] == ' ' || s[i + n - 1] == '\t'))
					n--;
				if (n == 4 && strncasecmp(s + i, "date", 4) == 0)
					flags |= DATA_HDR_DATE;
				if (n == 10 && strncasecmp(s + i, "message-id", 10) == 0)
					flags |= DATA_HDR_MESSAGE_ID;
				if (n == 8 && strncasecmp(s + i, "received", 8) == 0)
					(*received)++;
			}
		}
		if (nl == NULL)
			break;
		i = end + 1;
	}
	return flags;
}

/*
 * check_all_ways - one call, one octet at a time, every two-way split, without
 * storing, and the reference must all agree.
 */
static void
check_all_ways(enum data_mode mode, const char *in, size_t len)
{
	struct result whole, piece, nostore;

	feed_pieces(mode, in, len, 0, true, true, &whole);
	check_counters(&whole);

	feed_pieces(mode, in, len, 1, true, true, &piece);
	assert_same(&whole, &piece, true);
	result_free(&piece);
	feed_pieces(mode, in, len, 3, true, true, &piece);
	assert_same(&whole, &piece, true);
	result_free(&piece);
	for (size_t at = 0; at <= len; at++) {
		feed_split(mode, in, len, at, true, &piece);
		assert_same(&whole, &piece, true);
		result_free(&piece);
	}
	feed_pieces(mode, in, len, 0, true, false, &nostore);
	assert_same(&whole, &nostore, false);
	assert_int_equal(nostore.out.len, 0);
	result_free(&nostore);

	struct buf ref = { 0 };
	size_t consumed;
	bool done;
	reference(mode, in, len, &ref, &consumed, &done);
	assert_int_equal(consumed, whole.consumed);
	assert_int_equal(done, whole.done);
	assert_int_equal(ref.len, whole.out.len);
	if (ref.len)
		assert_memory_equal(ref.data, whole.out.data, ref.len);
	bool in_header;
	unsigned received;
	assert_int_equal(reference_headers(ref.data, ref.len, &in_header, &received),
	    whole.r.header_flags);
	assert_int_equal(in_header, whole.r.in_header);
	assert_int_equal(received, whole.r.received);
	buf_free(&ref);

	/* DATA ends exactly after the first CR LF "." CR LF, or ".\r\n" at the very start */
	if (mode == DATA_MODE_DOT) {
		size_t end = 0;
		if (len >= 3 && memcmp(in, ".\r\n", 3) == 0) {
			end = 3;
		} else {
			for (size_t i = 0; i + 5 <= len; i++) {
				if (memcmp(in + i, "\r\n.\r\n", 5) == 0) {
					end = i + 5;
					break;
				}
			}
		}
		assert_int_equal(whole.done, end != 0);
		assert_int_equal(whole.consumed, end != 0 ? end : len);
	}
	result_free(&whole);
}

/* run - DATA or BDAT over a C string in one call, with finish. */
static void
run(enum data_mode mode, const char *in, struct result *res)
{
	feed_pieces(mode, in, strlen(in), 0, true, true, res);
	check_all_ways(mode, in, strlen(in));
}

static void
expect_data(const char *in, bool done, size_t consumed, const char *out)
{
	struct result res;

	run(DATA_MODE_DOT, in, &res);
	if (res.done != done || res.consumed != consumed || strcmp(out_str(&res), out) != 0)
		fail_msg("DATA: done %d consumed %zu out \"%s\"", res.done, res.consumed,
		    out_str(&res));
	result_free(&res);
}

static void
test_basic(void **state)
{
	const char *m = "Subject: x\r\n\r\nHello\r\n.\r\n";

	(void)state;
	expect_data(m, true, strlen(m), "Subject: x\n\nHello\n");
	expect_data(".\r\n", true, 3, "");
	expect_data("a\r\n.\r\n", true, 6, "a\n");
	expect_data("\r\n.\r\n", true, 5, "\n");
	expect_data("", false, 0, "");
	expect_data("Hello", false, 5, "Hello\n");
	expect_data("Hello\r\n", false, 7, "Hello\n");
}

static void
test_dot_unstuffing(void **state)
{
	(void)state;
	expect_data("..foo\r\n.bar\r\n..\r\n...\r\n.\r\n", true, 25, ".foo\nbar\n.\n..\n");
	expect_data("a.b\r\n a\r\n.\r\n", true, 12, "a.b\n a\n");
	/* a dot in the middle of a line or after a bare newline stays */
	expect_data("a\n.b\r\n.\r\n", true, 9, "a\n.b\n");
	expect_data("a\r.b\r\n.\r\n", true, 9, "a\n.b\n");
	/* at the very start of the message too */
	expect_data(".x\r\n.\r\n", true, 7, "x\n");
	expect_data("..\r\n.\r\n", true, 7, ".\n");
}

static void
test_rest_not_consumed(void **state)
{
	const char *in = "a\r\n.\r\nQUIT\r\n";
	struct result res;

	(void)state;
	run(DATA_MODE_DOT, in, &res);
	assert_true(res.done);
	assert_int_equal(res.consumed, 6);
	assert_string_equal(out_str(&res), "a\n");
	assert_int_equal(res.r.raw_octets, 6);
	/* after the end nothing more is taken */
	bool done = false;
	assert_int_equal(data_reader_feed(&res.r, "MAIL", 4, &res.out, &done), 0);
	assert_true(done);
	assert_int_equal(res.r.raw_octets, 6);
	assert_string_equal(out_str(&res), "a\n");
	result_free(&res);

	expect_data(".\r\n.\r\n", true, 3, "");
	expect_data("x\r\n.\r\n\r\n.\r\n", true, 6, "x\n");
}

/*
 * test_smuggling - the probes of the 2023 SMTP smuggling research: only
 * CR LF "." CR LF ends DATA, so the "second message" stays inside the first.
 */
static void
test_smuggling(void **state)
{
#define PROBE(sep, stored) { sep, sizeof sep - 1, stored, sizeof stored - 1 }
	static const struct {
		const char *sep;
		size_t seplen;
		const char *stored; /* how the separator is stored */
		size_t storedlen;
	} probes[] = {
		PROBE("\n.\n", "\n.\n"),
		PROBE("\n.\r\n", "\n.\n"),
		PROBE("\r.\r", "\n.\n"),
		PROBE("\r.\n", "\n.\n"),
		PROBE("\r.\r\n", "\n.\n"),
		PROBE("\r\n.\n", "\n\n"), /* CR LF, then "." LF: the dot is unstuffed */
		PROBE("\r\n.\r", "\n\n"),
		PROBE("\n.\r", "\n.\n"),
		PROBE("\r\n\x00.\r\n", "\n\x00.\n"),
		PROBE("\r\n.\x00\r\n", "\n\x00\n"),
		PROBE("\r\n .\r\n", "\n .\n"),
		PROBE("\r\n.\r\r\n", "\n\n\n"),
		PROBE("\n\n.\n\n", "\n\n.\n\n"),
		PROBE("\r\r\n.\n", "\n\n\n"),
	};
#undef PROBE
	const char *smuggled = "MAIL FROM:<evil@x>\r\nRCPT TO:<victim@y>\r\nDATA\r\nforged\r\n";
	char in[256], want[256];

	(void)state;
	for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
		size_t seplen = probes[i].seplen, storedlen = probes[i].storedlen;
		size_t n = 0;
		memcpy(in + n, "text", 4);
		n += 4;
		memcpy(in + n, probes[i].sep, seplen);
		n += seplen;
		memcpy(in + n, smuggled, strlen(smuggled));
		n += strlen(smuggled);

		struct result res;
		feed_pieces(DATA_MODE_DOT, in, n, 0, false, true, &res);
		if (res.done)
			fail_msg("probe %zu ended the message", i);
		assert_int_equal(res.consumed, n);
		check_all_ways(DATA_MODE_DOT, in, n);
		result_free(&res);

		/* the real end follows: everything before it is one message */
		memcpy(in + n, ".\r\n", 3);
		n += 3;
		feed_pieces(DATA_MODE_DOT, in, n, 0, true, true, &res);
		assert_true(res.done);
		assert_int_equal(res.consumed, n);
		size_t w = 0;
		memcpy(want + w, "text", 4);
		w += 4;
		memcpy(want + w, probes[i].stored, storedlen);
		w += storedlen;
		const char *rest = "MAIL FROM:<evil@x>\nRCPT TO:<victim@y>\nDATA\nforged\n";
		memcpy(want + w, rest, strlen(rest));
		w += strlen(rest);
		assert_int_equal(res.out.len, w);
		assert_memory_equal(res.out.data, want, w);
		check_all_ways(DATA_MODE_DOT, in, n);
		result_free(&res);
	}
	/* probes at the very start of the message */
	expect_data("\n.\n", false, 3, "\n.\n");
	expect_data("\r.\r\n", false, 4, "\n.\n");
	expect_data(".\n", false, 2, "\n");
	expect_data(".\r", false, 2, "\n");
	expect_data(".\rX", false, 3, "\nX\n");
}

static void
test_bare_newlines(void **state)
{
	(void)state;
	expect_data("a\rb\nc\r\nd\r\n.\r\n", true, 13, "a\nb\nc\nd\n");
	expect_data("a\r\rb\r\n.\r\n", true, 9, "a\n\nb\n");
	expect_data("a\n\rb\r\n.\r\n", true, 9, "a\n\nb\n");
	expect_data("a\r\r\n.\r\n", true, 7, "a\n\n");  /* bare CR, then the end */
	expect_data("a\n\r\n.\r\n", true, 7, "a\n\n");
	expect_data("a\r", false, 2, "a\n");
}

static void
test_split_crlf(void **state)
{
	struct data_reader r;
	struct buf out = { 0 };
	bool done = true;

	(void)state;
	/* CR at the end of one call, LF at the start of the next: still CR LF */
	data_reader_init(&r, DATA_MODE_DOT);
	assert_int_equal(data_reader_feed(&r, "a\r", 2, &out, &done), 2);
	assert_false(done);
	assert_int_equal(data_reader_feed(&r, "\n.", 2, &out, &done), 2);
	assert_false(done);
	assert_int_equal(data_reader_feed(&r, "\r", 1, &out, &done), 1);
	assert_false(done);
	assert_int_equal(data_reader_feed(&r, "\nNOOP\r\n", 7, &out, &done), 1);
	assert_true(done);
	assert_string_equal(out.data, "a\n");
	assert_int_equal(r.raw_octets, 6);
	buf_free(&out);

	/* empty feeds change nothing */
	data_reader_init(&r, DATA_MODE_DOT);
	assert_int_equal(data_reader_feed(&r, "x\r", 2, &out, &done), 2);
	assert_int_equal(data_reader_feed(&r, "", 0, &out, &done), 0);
	assert_false(done);
	assert_int_equal(data_reader_feed(&r, "\n.\r\n", 4, &out, &done), 4);
	assert_true(done);
	assert_string_equal(out.data, "x\n");
	buf_free(&out);
}

/* a small deterministic generator, so a failure can be replayed */
static uint32_t
next_rand(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void
test_split_anywhere(void **state)
{
	static const char *const fixed[] = {
		"Date: x\r\nMessage-ID: <y@z>\r\n\r\nbody\r\n..dot\r\n.\r\nQUIT\r\n",
		"\r\r\n\n.\r\n.\r\r\n.\n\r\n.\r\n",
		"a\r\n.", "a\r\n.\r", "a\r\n.\rb", ".", ".\r", "\r", "\n", "\r\n", "\r\n.",
		"...\r\n..\r\n.\r\n",
	};
	static const char *const tokens[] = {
		"\r", "\n", ".", "\r\n", "a", "b", ":", " ", "\t", "Date", "Message-ID", "date:",
		"MESSAGE-id :", "\r\n.", "X-Long-Header-Name", "\x00", "\xff", "..", "\r\n.\r\n",
	};
	/* the terminator is rare in the mix, so most inputs run to their end */
	static const unsigned weights[] = {
		8, 8, 8, 8, 6, 4, 5, 4, 2, 3, 3, 2, 2, 3, 1, 1, 1, 2, 1,
	};
	unsigned total = 0;
	char in[512];
	uint32_t seed = 0x9e3779b9;

	(void)state;
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
		check_all_ways(DATA_MODE_DOT, fixed[i], strlen(fixed[i]));
		check_all_ways(DATA_MODE_CHUNK, fixed[i], strlen(fixed[i]));
	}
	for (size_t i = 0; i < sizeof weights / sizeof weights[0]; i++)
		total += weights[i];
	for (int iter = 0; iter < 3000; iter++) {
		size_t n = 0, ntok = next_rand(&seed) % 40;
		for (size_t t = 0; t < ntok; t++) {
			unsigned pick = next_rand(&seed) % total, k = 0;
			while (pick >= weights[k])
				pick -= weights[k++];
			/* tokens may hold a NUL: "\x00" is one octet */
			size_t tl = tokens[k][0] == '\0' ? 1 : strlen(tokens[k]);
			if (n + tl > sizeof in)
				break;
			memcpy(in + n, tokens[k], tl);
			n += tl;
		}
		check_all_ways(iter % 4 == 0 ? DATA_MODE_CHUNK : DATA_MODE_DOT, in, n);
	}
}

static void
expect_headers(enum data_mode mode, const char *in, unsigned flags, bool in_header)
{
	struct result res;

	run(mode, in, &res);
	if (res.r.header_flags != flags || res.r.in_header != in_header)
		fail_msg("\"%s\": flags %u in_header %d, want %u %d", in, res.r.header_flags,
		    res.r.in_header, flags, in_header);
	result_free(&res);
}

static void
test_headers(void **state)
{
	const unsigned both = DATA_HDR_DATE | DATA_HDR_MESSAGE_ID;

	(void)state;
	expect_headers(DATA_MODE_DOT, "Date: x\r\nMessage-ID: <y>\r\n\r\nbody\r\n.\r\n", both,
	    false);
	expect_headers(DATA_MODE_DOT, "DATE: x\r\nmessage-id: <y>\r\n\r\n.\r\n", both, false);
	expect_headers(DATA_MODE_DOT, "Subject: s\r\nDate: x\r\n.\r\n", DATA_HDR_DATE, true);
	expect_headers(DATA_MODE_DOT, "Date : x\r\n\r\n.\r\n", DATA_HDR_DATE, false);
	expect_headers(DATA_MODE_DOT, "Message-Id:<y>\r\n\r\n.\r\n", DATA_HDR_MESSAGE_ID, false);
	expect_headers(DATA_MODE_DOT, "X-Date: x\r\nDates: y\r\nMessage-IDs: z\r\n\r\n.\r\n", 0,
	    false);
	expect_headers(DATA_MODE_DOT, "Subject: a\r\n Date: b\r\n\tMessage-ID: c\r\n\r\n.\r\n", 0,
	    false);
	/* in the body they do not count */
	expect_headers(DATA_MODE_DOT, "Subject: x\r\n\r\nDate: y\r\nMessage-ID: z\r\n.\r\n", 0,
	    false);
	expect_headers(DATA_MODE_DOT, "\r\nDate: y\r\n.\r\n", 0, false);
	/* a line without a colon before a long name does not confuse the tracking */
	expect_headers(DATA_MODE_DOT,
	    "X-A-Very-Long-Header-Name-Indeed: x\r\nno colon here\r\nDate: y\r\n\r\n.\r\n",
	    DATA_HDR_DATE, false);
	expect_headers(DATA_MODE_DOT, "Subject: Date: x\r\n\r\n.\r\n", 0, false);
	/* the field name is in the stored form: unstuffed, bare newlines count */
	expect_headers(DATA_MODE_DOT, ".Date: x\r\n\r\n.\r\n", DATA_HDR_DATE, false);
	expect_headers(DATA_MODE_DOT, "Subject: s\nDate: x\rMessage-ID: y\n\nb\r\n.\r\n", both,
	    false);
	/* a dot-only line in the header is not an empty line */
	expect_headers(DATA_MODE_DOT, "Subject: s\r\n..\r\nDate: x\r\n.\r\n", DATA_HDR_DATE,
	    true);
	expect_headers(DATA_MODE_CHUNK, "Date: x\r\nMessage-ID: y\r\n\r\nbody", both, false);
	expect_headers(DATA_MODE_CHUNK, "Subject: x\r\n\r\nDate: y\r\n", 0, false);

	/* a name split across feeds */
	struct data_reader r;
	struct buf out = { 0 };
	bool done;
	data_reader_init(&r, DATA_MODE_DOT);
	assert_true(r.in_header);
	assert_int_equal(r.header_flags, 0);
	data_reader_feed(&r, "Da", 2, &out, &done);
	data_reader_feed(&r, "te", 2, &out, &done);
	assert_int_equal(r.header_flags, 0);
	data_reader_feed(&r, ": now\r\nMess", 11, &out, &done);
	assert_int_equal(r.header_flags, DATA_HDR_DATE);
	data_reader_feed(&r, "age-ID: <x>\r\n\r", 14, &out, &done);
	assert_int_equal(r.header_flags, both);
	assert_true(r.in_header);
	data_reader_feed(&r, "\n", 1, &out, &done);
	assert_false(r.in_header);
	buf_free(&out);
}

static unsigned
received_of(enum data_mode mode, const char *in)
{
	struct result res;

	run(mode, in, &res);
	unsigned n = res.r.received;
	result_free(&res);
	return n;
}

/* Received: fields are counted in the header section only (the hops of max_hops). */
static void
test_received(void **state)
{
	(void)state;
	assert_int_equal(received_of(DATA_MODE_DOT, "Subject: s\r\n\r\nbody\r\n.\r\n"), 0);
	assert_int_equal(received_of(DATA_MODE_DOT,
	    "Received: from a\r\n\tby b; date\r\nreceived:x\r\nRECEIVED : y\r\n"
	    "Subject: s\r\n\r\nReceived: in the body\r\n.\r\n"), 3);
	/* not Received: other names, a continuation line, a name inside a value */
	assert_int_equal(received_of(DATA_MODE_DOT,
	    "X-Received: a\r\nReceived-SPF: b\r\nReceive: c\r\nSubject: x\r\n"
	    " Received: d\r\nComment: Received: e\r\n\r\n.\r\n"), 0);
	/* dot-stuffed and bare newlines: the stored form counts */
	assert_int_equal(received_of(DATA_MODE_DOT, ".Received: a\r\nReceived: b\nReceived: c\r"
	    "Received: d\r\n\r\n.\r\n"), 4);
	assert_int_equal(received_of(DATA_MODE_CHUNK, "Received: a\nReceived: b\n\nReceived: c\n"),
	    2);
	/* a header section that never ends still counts */
	assert_int_equal(received_of(DATA_MODE_CHUNK, "Received: a\r\nReceived: b"), 2);

	/* split anywhere, stored or not: the same count */
	char msg[4096];
	size_t n = 0;
	for (int i = 0; i < 51; i++)
		n += (size_t)snprintf(msg + n, sizeof msg - n, "Received: from h%d by r%d\r\n", i, i);
	n += (size_t)snprintf(msg + n, sizeof msg - n, "\r\nReceived: body\r\n.\r\n");
	struct result res;
	for (size_t step = 1; step < 40; step += 7) {
		feed_pieces(DATA_MODE_DOT, msg, n, step, true, step % 2 == 0, &res);
		assert_int_equal(res.r.received, 51);
		result_free(&res);
	}
}

static void
test_counters(void **state)
{
	struct result res;

	(void)state;
	run(DATA_MODE_DOT, "a\r\nbb\r\n..\r\n.\r\nNEXT", &res);
	assert_string_equal(out_str(&res), "a\nbb\n.\n");
	assert_int_equal(res.r.raw_octets, 14);
	assert_int_equal(res.r.out_octets, 7);
	assert_int_equal(res.r.out_lines, 3);
	result_free(&res);

	/* out NULL: counted and the end found, nothing stored */
	feed_pieces(DATA_MODE_DOT, "a\r\nbb\r\n..\r\n.\r\nNEXT", 18, 0, true, false, &res);
	assert_true(res.done);
	assert_int_equal(res.consumed, 14);
	assert_int_equal(res.r.raw_octets, 14);
	assert_int_equal(res.r.out_octets, 7);
	assert_int_equal(res.r.out_lines, 3);
	assert_null(res.out.data);
	result_free(&res);

	/* storing can stop midway (size limit reached) and counting goes on */
	struct data_reader r;
	struct buf out = { 0 };
	bool done;
	data_reader_init(&r, DATA_MODE_DOT);
	assert_int_equal(data_reader_feed(&r, "abc\r\n", 5, &out, &done), 5);
	assert_int_equal(data_reader_feed(&r, "def\r\n.\r\n", 8, NULL, &done), 8);
	assert_true(done);
	assert_string_equal(out.data, "abc\n");
	assert_int_equal(r.raw_octets, 13);
	assert_int_equal(r.out_octets, 8);
	assert_int_equal(r.out_lines, 2);
	buf_free(&out);
}

static void
expect_chunks(const char *const *chunks, size_t n, const char *want)
{
	struct data_reader r;
	struct buf out = { 0 };
	size_t raw = 0;

	data_reader_init(&r, DATA_MODE_CHUNK);
	for (size_t i = 0; i < n; i++) {
		bool done = true;
		size_t len = strlen(chunks[i]);
		assert_int_equal(data_reader_feed(&r, chunks[i], len, &out, &done), len);
		assert_false(done);
		raw += len;
	}
	assert_int_equal(data_reader_finish(&r, &out), 0);
	assert_string_equal(out.len ? out.data : "", want);
	assert_int_equal(r.raw_octets, raw);
	assert_int_equal(r.out_octets, out.len);
	buf_free(&out);
}

static void
test_chunk(void **state)
{
	(void)state;
	const char *a[] = { "a\r\n.\r\nb" };
	expect_chunks(a, 1, "a\n.\nb\n");
	const char *b[] = { "a\r", "\nb\r\n" };
	expect_chunks(b, 2, "a\nb\n");
	const char *c[] = { "a\r" };
	expect_chunks(c, 1, "a\n");
	const char *d[] = { "a\r", "b" };
	expect_chunks(d, 2, "a\nb\n");
	const char *e[] = { "" };
	expect_chunks(e, 1, "");
	const char *f[] = { "..x", "\r\n", "..\r\n" };
	expect_chunks(f, 3, "..x\n..\n");
	const char *g[] = { "x\n", "\r", "\r", "\n" };
	expect_chunks(g, 4, "x\n\n\n");
	const char *h[] = { "\r\n" };
	expect_chunks(h, 1, "\n");
	const char *i[] = { "Date: x\r\n", "\r\n", "body", "", "\r" };
	expect_chunks(i, 5, "Date: x\n\nbody\n");
}

static void
test_finish(void **state)
{
	struct data_reader r;
	struct buf out = { 0 };
	bool done;

	(void)state;
	/* after the end of DATA nothing is added */
	data_reader_init(&r, DATA_MODE_DOT);
	data_reader_feed(&r, "a\r\n.\r\n", 6, &out, &done);
	assert_true(done);
	assert_int_equal(data_reader_finish(&r, &out), 0);
	assert_string_equal(out.data, "a\n");
	buf_free(&out);

	data_reader_init(&r, DATA_MODE_DOT);
	data_reader_feed(&r, ".\r\n", 3, &out, &done);
	assert_true(done);
	assert_int_equal(data_reader_finish(&r, &out), 0);
	assert_int_equal(out.len, 0);
	assert_int_equal(r.out_octets, 0);
	buf_free(&out);

	/* counting only */
	data_reader_init(&r, DATA_MODE_CHUNK);
	data_reader_feed(&r, "ab\r", 3, NULL, &done);
	assert_int_equal(data_reader_finish(&r, NULL), 0);
	assert_int_equal(r.out_octets, 3);
	assert_int_equal(r.out_lines, 1);
	data_reader_init(&r, DATA_MODE_CHUNK);
	data_reader_feed(&r, "ab", 2, NULL, &done);
	assert_int_equal(data_reader_finish(&r, NULL), 0);
	assert_int_equal(r.out_octets, 3);
	assert_int_equal(r.out_lines, 1);
}

static void
test_large(void **state)
{
	/* a long message in big and odd pieces: runs are copied whole and correctly */
	(void)state;
	size_t len = 1 << 20;
	char *in = malloc(len + 5);
	assert_non_null(in);
	uint32_t seed = 12345;
	for (size_t i = 0; i < len; i++) {
		uint32_t v = next_rand(&seed) % 100;
		in[i] = v == 0 ? '\r' : v == 1 ? '\n' : v == 2 ? '.' : (char)('a' + v % 26);
	}
	memcpy(in + len, "\r\n.\r\n", 5);
	for (size_t k = 0; k + 5 <= len; k++) {
		if (memcmp(in + k, "\r\n.\r\n", 5) == 0)
			in[k + 2] = 'x'; /* only the end we put there */
	}
	struct result whole, pieces;
	feed_pieces(DATA_MODE_DOT, in, len + 5, 0, true, true, &whole);
	assert_true(whole.done);
	assert_int_equal(whole.consumed, len + 5);
	check_counters(&whole);
	feed_pieces(DATA_MODE_DOT, in, len + 5, 4093, true, true, &pieces);
	assert_same(&whole, &pieces, true);
	result_free(&pieces);
	struct buf ref = { 0 };
	size_t consumed;
	bool done;
	reference(DATA_MODE_DOT, in, len + 5, &ref, &consumed, &done);
	assert_int_equal(ref.len, whole.out.len);
	assert_memory_equal(ref.data, whole.out.data, ref.len);
	buf_free(&ref);
	result_free(&whole);
	free(in);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_dot_unstuffing),
		cmocka_unit_test(test_rest_not_consumed),
		cmocka_unit_test(test_smuggling),
		cmocka_unit_test(test_bare_newlines),
		cmocka_unit_test(test_split_crlf),
		cmocka_unit_test(test_split_anywhere),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_received),
		cmocka_unit_test(test_counters),
		cmocka_unit_test(test_chunk),
		cmocka_unit_test(test_finish),
		cmocka_unit_test(test_large),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
