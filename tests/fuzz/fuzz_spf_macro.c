/*
 * fuzz_spf_macro.c - libFuzzer harness for spf_macro.c. The first octet picks
 * the client address family and whether the text is an explanation; the rest is
 * the macro string, expanded into a small buffer (cut, never overrun, always
 * NUL-terminated) and checked as a domain-spec; a successful expansion then
 * fits a DNS name.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spf/spf_macro.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	struct spf_ip ip;
	spf_ip_parse(data[0] & 1 ? "2001:db8::cb01" : "192.0.2.3", &ip);
	bool exp = (data[0] & 2) != 0;
	struct spf_macro_env env = {
		.sender = "strong-bad@email.example.com", .local = "strong-bad",
		.sender_domain = "email.example.com", .domain = "email.example.com", .ip = &ip,
		.helo = "mx.example.org", .receiver = NULL, .now = 1,
	};
	char *in = malloc(size - 1 ? size - 1 : 1);
	char out[300];

	if (in == NULL)
		abort();
	memcpy(in, data + 1, size - 1);
	memset(out, 'x', sizeof out);
	int rc = spf_macro_expand(in, size - 1, &env, exp, out, sizeof out);
	if (rc == 0) {
		if (memchr(out, '\0', sizeof out) == NULL)
			abort();
		spf_name_fit(out);
		if (strlen(out) > 253 && strchr(out, '.') != NULL && strlen(strrchr(out, '.')) < 200)
			abort();
		(void)spf_name_ok(out, true);
	}
	(void)spf_domain_spec_ok(in, size - 1);
	free(in);
	return 0;
}
