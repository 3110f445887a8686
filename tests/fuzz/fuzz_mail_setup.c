/*
 * fuzz_mail_setup.c - libFuzzer harness for the web role's parsers: the address
 * of an autodiscover request (an accepted one is a valid address that the
 * documents built from it carry escaped) and the Host header's name (checked,
 * lower-case, no port).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_host.h"
#include "http/mail_setup.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mailbox mb;
	char email[ADDR_MAX + 1], host[256];

	if (mail_setup_request_address((const char *)data, size, &mb) == 0) {
		struct buf b = { 0 };
		address_format(&mb, email, sizeof email);
		struct mail_setup s = { "mx.example.test", mb.domain, email, 995, 110, 465, 587 };
		if (mail_setup_autodiscover(&s, &b) == 0 && b.data != NULL &&
		    (strstr(b.data, "<LoginName>") == NULL ||
		    (strchr(email, '<') != NULL && strstr(b.data, email) != NULL)))
			abort();
		buf_free(&b);
	}
	char *text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (http_host_name(text, host, sizeof host) == 0) {
		size_t n = strlen(host);
		if (n == 0 || n > 253 || strspn(host, "abcdefghijklmnopqrstuvwxyz0123456789-.") != n)
			abort();
	}
	free(text);
	return 0;
}
