/*
 * fuzz_dkim_sig.c - libFuzzer harness for the DKIM-Signature value parser (and the
 * tag lists under it): no crash, and what it gives back lies inside the input (h=,
 * the b= value), names are NUL-terminated and within their arrays, decoded lengths
 * within their buffers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dkim/dkim_sig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dkim_sig s;
	char why[96];

	int rc = dkim_sig_parse((const char *)data, size, &s, why, sizeof why);
	if (memchr(why, '\0', sizeof why) == NULL || memchr(s.d, '\0', sizeof s.d) == NULL ||
	    memchr(s.s, '\0', sizeof s.s) == NULL)
		abort();
	if (rc == 0) {
		if (s.h + s.h_len > size || s.b_val > s.b_end || s.b_end > size)
			abort();
		if (s.b_len > sizeof s.b || s.bh_len > sizeof s.bh || s.b_len == 0)
			abort();
		if (memchr(s.i, '@', strlen(s.i)) == NULL || s.d[0] == '\0' || s.s[0] == '\0')
			abort();
		if (why[0] != '\0')
			abort();
	} else if (why[0] == '\0') {
		abort();
	}
	return 0;
}
