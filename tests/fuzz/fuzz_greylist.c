/*
 * fuzz_greylist.c - libFuzzer harness for grey_key, which lookupd builds from the
 * strings of an LK_GREYLIST request: the input is split at NUL octets into client
 * ip, sender and recipient; any key made must fit, hold exactly two tabs and no
 * upper-case ASCII letter.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lookup/greylist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char in[3 * ADDR_MAX + 3], key[GREY_KEY_MAX + 1];

	if (size + 3 > sizeof in)
		return 0;
	memcpy(in, data, size);
	memset(in + size, 0, 3);
	const char *ip = in;
	const char *sender = ip + strlen(ip) + 1;
	if (sender > in + size)
		sender = in + size + 1;
	const char *rcpt = sender + strlen(sender) + 1;
	if (rcpt > in + size + 2)
		rcpt = in + size + 2;
	if (grey_key(ip, sender, rcpt, key, sizeof key) < 0)
		return 0;
	size_t tabs = 0;
	for (const char *p = key; *p != '\0'; p++) {
		if (*p == '\t')
			tabs++;
		if (*p >= 'A' && *p <= 'Z')
			abort();
	}
	if (tabs != 2 || strlen(key) > GREY_KEY_MAX)
		abort();
	return 0;
}
