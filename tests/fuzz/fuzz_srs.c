/*
 * fuzz_srs.c - libFuzzer harness for srs_reverse, which reads the local part of
 * any RCPT TO in a hosted domain: any bytes must be reversed or refused without
 * reading past their end; what reverses is an address, and forwarding the SRS
 * address made from it again must reverse to it again.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "srs/srs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t secret[SRS_SECRET_LEN] = "a fuzzing secret of 32 octets..";
#define NOW ((time_t)1700000000)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char in[2 * ADDR_MAX], out[ADDR_MAX + 1], srs[ADDR_MAX + 1], back[ADDR_MAX + 1];

	if (size >= sizeof in)
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	enum srs_status st = srs_reverse(secret, sizeof secret, NOW, in, out, sizeof out);
	if (st != SRS_OK)
		return 0;
	if (strchr(out, '@') == NULL || strlen(out) >= size + 1)
		abort();
	/* an address that reverses made of our secret forwards and reverses back */
	if (srs_forward(secret, sizeof secret, NOW, out, "fwd.test", srs, sizeof srs) == SRS_OK &&
	    strcmp(srs, out) != 0 &&
	    srs_reverse(secret, sizeof secret, NOW, srs, back, sizeof back) != SRS_OK)
		abort();
	return 0;
}
