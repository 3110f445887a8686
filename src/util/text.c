/* text.c - counting lines of stored message text. */
#include "util/text.h"

#include <string.h>

uint64_t
count_lf(const char *p, size_t n)
{
	uint64_t lines = 0;
	const char *end = p + n;

	while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		lines++;
		p++;
	}
	return lines;
}
