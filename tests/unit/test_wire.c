/*
 * test_wire.c - unit tests for store/wire.c, the one wire encoder: CRLF line ends and
 * dot-stuffing in both modes, the same output whatever the chunking, the end of the
 * text, and the sizes (SIZE, POP3 octets, W=).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/wire.h"

/* encode - in, in pieces of step octets (0: whole), with the end; into a new string. */
static char *
encode(const char *in, size_t len, bool keep_crlf, size_t step, size_t *outlen)
{
	struct wire_enc e;
	char *out = malloc(2 * len + 8);
	size_t o = 0;

	wire_init(&e, keep_crlf);
	for (size_t i = 0; i < len;) {
		size_t k = step == 0 || len - i < step ? len - i : step;
		o += wire_encode(&e, in + i, k, out + o);
		i += k;
	}
	o += wire_end(&e, out + o);
	out[o] = '\0';
	*outlen = o;
	return out;
}

static void
check(const char *in, bool keep_crlf, const char *want)
{
	for (size_t step = 0; step <= 4; step++) {
		size_t n;
		char *got = encode(in, strlen(in), keep_crlf, step, &n);
		assert_int_equal(n, strlen(want));
		assert_string_equal(got, want);
		free(got);
	}
}

static void
test_encode(void **state)
{
	check("", false, ".\r\n");
	check("a\n", false, "a\r\n.\r\n");
	check("a", false, "a\r\n.\r\n"); /* no line end at the end: one is added */
	check(".\n..x\nx.\n.", false, "..\r\n...x\r\nx.\r\n..\r\n.\r\n");
	check("\n\n", false, "\r\n\r\n.\r\n");
	/* The queue's own CRs are kept as they are, before an LF too. */
	check("a\r\nb\rc\n", false, "a\r\r\nb\rc\r\n.\r\n");
	/* keep_crlf: a file written with CRLF is sent as it is. */
	check("a\r\nb\rc\n", true, "a\r\nb\rc\r\n.\r\n");
	check(".\r\n\r\n", true, "..\r\n\r\n.\r\n");
}

/* The output is the same however the input is cut, in both modes. */
static void
test_chunking(void **state)
{
	static const char alphabet[] = "ab.\r\n";
	char in[600];
	unsigned seed = 7;

	for (int round = 0; round < 200; round++) {
		size_t len = (size_t)(rand_r(&seed) % (sizeof in));
		for (size_t i = 0; i < len; i++)
			in[i] = alphabet[rand_r(&seed) % 5];
		for (int mode = 0; mode < 2; mode++) {
			size_t n0, n1;
			char *whole = encode(in, len, mode, 0, &n0);
			char *bits = encode(in, len, mode, 1 + (size_t)(rand_r(&seed) % 9), &n1);
			assert_int_equal(n0, n1);
			assert_memory_equal(whole, bits, n0);
			/* Never more than the room the callers give: 2 * len, and 5 for the end. */
			assert_true(n0 <= 2 * len + 5);
			free(whole);
			free(bits);
		}
	}
}

static void
test_sizes(void **state)
{
	bool cr = false;

	assert_int_equal(count_lf("a\nb\n\nc", 6), 3);
	assert_int_equal(count_lf("", 0), 0);
	/* keep_crlf's size: an LF after a CR adds nothing, also across chunks. */
	assert_int_equal(wire_size_crlf("a\nb\r", 4, &cr), 5);
	assert_true(cr);
	assert_int_equal(wire_size_crlf("\nc\n", 3, &cr), 4);
	assert_false(cr);
}

/* A large message streams through a fixed buffer: 25 MB in 64 KiB chunks. */
static void
test_large(void **state)
{
	enum { CHUNK = 64 * 1024, TOTAL = 25 * 1024 * 1024 };
	static char in[CHUNK], out[2 * CHUNK];
	struct wire_enc e;
	uint64_t sent = 0, lines = 0;

	for (size_t i = 0; i < CHUNK; i++)
		in[i] = i % 64 == 63 ? '\n' : i % 64 == 0 ? '.' : 'x';
	wire_init(&e, false);
	for (size_t done = 0; done < TOTAL; done += CHUNK) {
		sent += wire_encode(&e, in, CHUNK, out);
		lines += count_lf(in, CHUNK);
	}
	/* Each line: 63 octets, a '.' doubled, CRLF. */
	assert_int_equal(lines, TOTAL / 64);
	assert_int_equal(sent, (uint64_t)TOTAL + 2 * lines);
	assert_int_equal(wire_end(&e, out), 3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode),
		cmocka_unit_test(test_chunking),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_large),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
