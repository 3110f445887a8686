/*
 * fuzz_spool.c - libFuzzer harness for the queue file header parser: any bytes
 * must parse or be refused without reading past their end, and what parses must
 * format and parse back to the same envelope; the same bytes as state lines must
 * apply to it without harm.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/spool_format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct envelope env, back;
	struct buf b = { 0 };
	char err[128];

	if (spool_parse_header((const char *)data, size, data[0] & 1, &env, err, sizeof err) < 0)
		return 0;
	if (spool_format_header(&env, &b) < 0)
		abort();
	if (spool_parse_header(b.data, b.len, false, &back, err, sizeof err) < 0)
		abort();
	if (strcmp(env.id, back.id) != 0 || strcmp(env.sender, back.sender) != 0 ||
	    env.nrcpts != back.nrcpts || env.body_size != back.body_size ||
	    env.body != back.body || env.smtputf8 != back.smtputf8)
		abort();
	for (size_t i = 0; i < env.nrcpts; i++)
		if (env.rcpts[i].kind != back.rcpts[i].kind ||
		    strcmp(env.rcpts[i].addr, back.rcpts[i].addr) != 0 ||
		    strcmp(env.rcpts[i].orig, back.rcpts[i].orig) != 0)
			abort();
	spool_parse_state((const char *)data, size, &env);
	envelope_free(&back);
	envelope_free(&env);
	buf_free(&b);
	return 0;
}
