/* mkdir_p.c - a directory and its missing parents (data_dir, init's DIR, Maildirs). */
#include "util/mkdir_p.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>

int
mkdir_p(const char *dir, mode_t mode)
{
	return mkdir_p_mode(dir, mode, 0755);
}

int
mkdir_p_mode(const char *dir, mode_t mode, mode_t parent_mode)
{
	char tmp[PATH_MAX];
	int n = snprintf(tmp, sizeof tmp, "%s", dir);

	if (n < 0 || n >= (int)sizeof tmp) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (char *p = tmp + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, parent_mode) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(tmp, mode) < 0 && errno != EEXIST)
		return -1;
	struct stat st;
	if (stat(tmp, &st) < 0)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}
