/* http_host.c - the Host header's name, checked before it goes into a reply (see http_host.h). */
#include "http/http_host.h"

#include <string.h>

int
http_host_name(const char *value, char *out, size_t outlen)
{
	size_t n = 0;
	const char *p = value;

	if (value == NULL)
		return -1;
	for (; *p != '\0' && *p != ':'; p++) {
		char c = *p;
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
			return -1;
		if (n + 1 >= outlen || n >= 253)
			return -1;
		out[n++] = c;
	}
	if (*p == ':') {
		const char *port = p + 1;
		size_t digits = strspn(port, "0123456789");
		if (digits == 0 || digits > 5 || port[digits] != '\0')
			return -1;
	}
	/* No empty labels: "", ".", "a..b" and a leading dot are not names. */
	if (n == 0 || out[0] == '.' || memmem(out, n, "..", 2) != NULL)
		return -1;
	if (out[n - 1] == '.')
		n--;
	if (n == 0)
		return -1;
	out[n] = '\0';
	return 0;
}
