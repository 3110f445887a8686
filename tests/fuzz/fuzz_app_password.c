/*
 * fuzz_app_password.c - libFuzzer harness for app_password.c on what a client
 * sends as a password: app_password_normalize, app_password_digest and
 * app_password_match, with the invariants that tie them together.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "app_password.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char pw[512], norm[APP_PASSWORD_CHARS + 1], again[APP_PASSWORD_CHARS + 1];
	char digests[2][APP_DIGEST_SIZE];

	if (size >= sizeof pw)
		return 0;
	memcpy(pw, data, size);
	pw[size] = '\0';
	bool is_app = app_password_normalize(pw, norm);
	int drc = app_password_digest(pw, digests[0]);
	if (is_app != (drc == 0))
		abort();
	int m = app_password_match(pw, (const char (*)[APP_DIGEST_SIZE])digests, is_app ? 1 : 0);
	if (!is_app) {
		if (m != -1)
			abort();
		return 0;
	}
	/* the normal form is 24 base32 characters, and its own normal form */
	if (strlen(norm) != APP_PASSWORD_CHARS || !app_password_normalize(norm, again) ||
	    strcmp(norm, again) != 0)
		abort();
	if (m != 0 || strlen(digests[0]) != APP_DIGEST_SIZE - 1)
		abort();
	/* the normal form matches the same digest, and only that one */
	memcpy(digests[1], digests[0], sizeof digests[1]);
	digests[0][APP_DIGEST_SIZE - 2] ^= 1;
	if (app_password_match(norm, (const char (*)[APP_DIGEST_SIZE])digests, 2) != 1)
		abort();
	return 0;
}
