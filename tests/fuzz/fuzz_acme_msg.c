/*
 * fuzz_acme_msg.c - libFuzzer harness for what acmed reads from an ACME server
 * (acme/acme_msg.c): any octets parsed as a directory, an order, an authorization
 * and a problem document. Whatever parses must hold only bounded, NUL-terminated
 * strings, https URLs, and challenge tokens that are base64url.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "acme/acme_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct acme_order order;
static struct acme_authz authz;

static void
https(const char *url)
{
	if (strlen(url) >= ACME_URL_MAX || strncasecmp(url, "https://", 8) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct acme_directory d;
	char err[256], problem[512];

	if (acme_parse_directory(text, size, &d, err, sizeof err) == 0) {
		https(d.new_nonce);
		https(d.new_account);
		https(d.new_order);
	}
	if (acme_parse_order(text, size, &order, err, sizeof err) == 0) {
		https(order.finalize);
		if (order.certificate[0] != '\0')
			https(order.certificate);
		if (order.nauthz == 0 || order.nauthz > ACME_MAX_AUTHZ)
			abort();
		for (size_t i = 0; i < order.nauthz; i++)
			https(order.authz[i]);
	}
	if (acme_parse_authz(text, size, &authz, err, sizeof err) == 0) {
		if (authz.nchal > ACME_MAX_CHALLENGES || strlen(authz.name) >= sizeof authz.name)
			abort();
		for (size_t i = 0; i < authz.nchal; i++) {
			https(authz.chal[i].url);
			if (!acme_token_ok(authz.chal[i].token))
				abort();
		}
	}
	acme_parse_problem(text, size, problem, sizeof problem);
	if (strlen(problem) >= sizeof problem)
		abort();
	return 0;
}
