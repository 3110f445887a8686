/*
 * dir_files.h - for the unit tests that write into directories (spool, Maildirs):
 * how many files a directory holds.
 */
#ifndef MAILROOM_TEST_DIR_FILES_H
#define MAILROOM_TEST_DIR_FILES_H

#include <dirent.h>

/* files_in - the entries of dir but "." and ".." and other dot files; 0 if it is missing. */
static inline unsigned
files_in(const char *dir)
{
	unsigned n = 0;
	DIR *d = opendir(dir);
	struct dirent *de;

	while (d && (de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

#endif
