/*
 * fuzz_dkim_keyrec.c - libFuzzer harness for the DKIM key record parser: no crash,
 * a reason for every refusal, the key within its buffer, revoked exactly when p= is
 * empty.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dkim/dkim_keyrec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dkim_keyrec k;
	char why[96] = "";

	if (dkim_keyrec_parse((const char *)data, size, &k, why, sizeof why) < 0) {
		if (why[0] == '\0')
			abort();
		return 0;
	}
	if (k.key_len > sizeof k.key || k.revoked != (k.key_len == 0))
		abort();
	return 0;
}
