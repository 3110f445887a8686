/* abstract_name.c - one name per data dir and role for the abstract sockets (lookupd, queued). */
#include "util/abstract_name.h"

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
abstract_name(const char *data_dir, const char *role, struct sockaddr_un *sun, socklen_t *len)
{
	char real[PATH_MAX];
	uint64_t h = 1469598103934665603ull;

	if (realpath(data_dir, real) == NULL)
		snprintf(real, sizeof real, "%s", data_dir);
	for (const char *p = real; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	memset(sun, 0, sizeof *sun);
	sun->sun_family = AF_UNIX;
	int n = snprintf(sun->sun_path + 1, sizeof sun->sun_path - 1, "mailroom-%s-%016llx", role,
	    (unsigned long long)h);
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
}
