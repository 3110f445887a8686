/*
 * fuzz_address.c - libFuzzer harness for address.c: address_parse and
 * address_parse_path with and without ADDR_UTF8, address_canonical with and
 * without tag stripping, and the round trips between them.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_mailbox(const struct mailbox *mb, unsigned flags)
{
	char text[ADDR_MAX + 1];
	struct mailbox again;

	if (strlen(mb->local) == 0 || strlen(mb->local) > ADDR_LOCAL_MAX ||
	    strlen(mb->domain) == 0 || strlen(mb->domain) > ADDR_DOMAIN_MAX)
		abort();
	/* what we print parses back to the same mailbox */
	address_format(mb, text, sizeof text);
	if (address_parse(text, strlen(text), &again, flags) != 0)
		abort();
	if (strcmp(again.local, mb->local) != 0 || strcmp(again.domain, mb->domain) != 0)
		abort();
	if (strcmp(address_domain(text), mb->domain) != 0)
		abort();
}

static void
check_canonical(const char *s, bool strip)
{
	char out[ADDR_MAX + 1], again[ADDR_MAX + 1];

	if (address_canonical(s, out, sizeof out, strip) != 0)
		return;
	/* the canonical form is an address, and its own canonical form */
	if (address_canonical(out, again, sizeof again, strip) != 0)
		abort();
	if (strcmp(out, again) != 0)
		abort();
	/* no upper-case ASCII, except the "IPv6:" tag of an address literal */
	const char *domain = address_domain(out);
	if (domain == NULL)
		abort();
	const char *stop = domain[0] == '[' ? domain : domain + strlen(domain);
	for (const char *p = out; p < stop; p++) {
		if (*p >= 'A' && *p <= 'Z')
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct mailbox ascii, utf8;

	int rc_ascii = address_parse(s, size, &ascii, 0);
	int rc_utf8 = address_parse(s, size, &utf8, ADDR_UTF8);
	if (rc_ascii == 0) {
		/* UTF-8 only widens what is accepted */
		if (rc_utf8 != 0 || strcmp(ascii.local, utf8.local) != 0 ||
		    strcmp(ascii.domain, utf8.domain) != 0)
			abort();
		check_mailbox(&ascii, 0);
	}
	if (rc_utf8 == 0)
		check_mailbox(&utf8, ADDR_UTF8);

	for (unsigned flags = 0; flags <= ADDR_UTF8; flags++) {
		for (int null_ok = 0; null_ok <= 1; null_ok++) {
			struct mailbox mb;
			bool is_null = false;
			size_t used = 0;
			if (address_parse_path(s, size, &mb, null_ok, &is_null, &used, flags) != 0)
				continue;
			if (used < 2 || used > size || s[0] != '<' || s[used - 1] != '>')
				abort();
			if (is_null && (!null_ok || used != 2))
				abort();
			if (!is_null)
				check_mailbox(&mb, flags);
		}
	}

	/* address_canonical takes a C string */
	char *z = malloc(size + 1);
	if (z == NULL)
		return 0;
	memcpy(z, data, size);
	z[size] = '\0';
	check_canonical(z, false);
	check_canonical(z, true);
	(void)domain_valid(z);
	(void)address_domain(z);
	free(z);
	return 0;
}
