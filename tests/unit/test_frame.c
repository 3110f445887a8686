/* test_frame.c - unit tests for ipc/frame.c: typed fields, and frames refused whole. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ipc/frame.h"

static struct frame *
new_frame(void)
{
	struct frame *f = malloc(sizeof *f);
	assert_non_null(f);
	return f;
}

/* reparse - what a receiver makes of f's octets. */
static uint16_t
reparse(const struct frame *f, struct frame *in)
{
	uint16_t type = 0;
	assert_int_equal(frame_parse(in, f->buf, f->len, &type), 0);
	return type;
}

static void
test_roundtrip(void **state)
{
	struct frame *f = new_frame(), *in = new_frame();
	char s[64];
	uint64_t v;

	frame_init(f, 0x1234);
	frame_put_str(f, "demo@example.test");
	frame_put_u64(f, 0);
	frame_put_u64(f, UINT64_MAX);
	frame_put_str(f, "");
	assert_false(f->bad);
	assert_int_equal(reparse(f, in), 0x1234);
	assert_true(frame_get_str(in, s, sizeof s));
	assert_string_equal(s, "demo@example.test");
	assert_true(frame_get_u64(in, &v));
	assert_int_equal(v, 0);
	assert_true(frame_get_u64(in, &v));
	assert_true(v == UINT64_MAX);
	assert_false(frame_end(in)); /* one field left */
	assert_true(frame_get_str(in, s, sizeof s));
	assert_string_equal(s, "");
	assert_true(frame_end(in));
	free(f);
	free(in);
}

static void
test_wrong_kind_and_trailing(void **state)
{
	struct frame *f = new_frame(), *in = new_frame();
	char s[64];
	uint64_t v;

	frame_init(f, 1);
	frame_put_u64(f, 7);
	reparse(f, in);
	assert_false(frame_get_str(in, s, sizeof s)); /* a number where a string was expected */
	assert_string_equal(s, "");
	assert_false(frame_end(in));
	/* once bad, always bad: a later matching get does not repair it */
	assert_false(frame_get_u64(in, &v));

	frame_init(f, 1);
	frame_put_str(f, "x");
	reparse(f, in);
	assert_false(frame_get_u64(in, &v));

	frame_init(f, 1);
	reparse(f, in);
	assert_false(frame_get_u64(in, &v)); /* nothing there */
	free(f);
	free(in);
}

static void
test_string_bounds(void **state)
{
	struct frame *f = new_frame(), *in = new_frame();
	char small[4];

	frame_init(f, 1);
	frame_put_str(f, "abcd"); /* needs 5 octets with its NUL */
	reparse(f, in);
	assert_false(frame_get_str(in, small, sizeof small));
	frame_init(f, 1);
	frame_put_str(f, "abc");
	reparse(f, in);
	assert_true(frame_get_str(in, small, sizeof small));
	assert_string_equal(small, "abc");
	assert_true(frame_end(in));
	free(f);
	free(in);
}

static void
test_hostile_octets(void **state)
{
	struct frame *in = new_frame();
	uint16_t type;
	char s[64];

	assert_int_equal(frame_parse(in, "\x01\x00\x00", 3, &type), -1);      /* short header */
	assert_int_equal(frame_parse(in, "\x02\x00\x00\x01", 4, &type), -1);  /* version */
	assert_int_equal(frame_parse(in, "\x01\x01\x00\x01", 4, &type), -1);  /* reserved */
	/* a string whose length runs past the frame */
	static const uint8_t overlong[] = { 1, 0, 0, 1, 's', 0, 0, 0, 9, 'a', 'b' };
	assert_int_equal(frame_parse(in, overlong, sizeof overlong, &type), 0);
	assert_false(frame_get_str(in, s, sizeof s));
	/* a NUL inside a string would cut it short on the other side: refused */
	static const uint8_t nul[] = { 1, 0, 0, 1, 's', 0, 0, 0, 3, 'a', 0, 'b' };
	assert_int_equal(frame_parse(in, nul, sizeof nul, &type), 0);
	assert_false(frame_get_str(in, s, sizeof s));
	/* a truncated number */
	static const uint8_t shortnum[] = { 1, 0, 0, 1, 'u', 0, 0, 0 };
	uint64_t v;
	assert_int_equal(frame_parse(in, shortnum, sizeof shortnum, &type), 0);
	assert_false(frame_get_u64(in, &v));
	free(in);
}

static void
test_full_frame(void **state)
{
	struct frame *f = new_frame();
	char *big = malloc(FRAME_MAX);
	assert_non_null(big);
	memset(big, 'x', FRAME_MAX - 1);
	big[FRAME_MAX - 1] = '\0';
	frame_init(f, 1);
	frame_put_str(f, big); /* does not fit with the header */
	assert_true(f->bad);
	frame_put_u64(f, 1);
	assert_true(f->bad);
	big[FRAME_MAX - 4 - 5] = '\0';
	frame_init(f, 1);
	frame_put_str(f, big); /* exactly fills it */
	assert_false(f->bad);
	assert_int_equal(f->len, FRAME_MAX);
	frame_put_u64(f, 1);
	assert_true(f->bad);
	free(big);
	free(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_wrong_kind_and_trailing),
		cmocka_unit_test(test_string_bounds),
		cmocka_unit_test(test_hostile_octets),
		cmocka_unit_test(test_full_frame),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
