/* mkdir_p.h - a directory and its missing parents. */
#ifndef MAILROOM_MKDIR_P_H
#define MAILROOM_MKDIR_P_H

#include <sys/types.h>

/* mkdir_p - dir (mode) and its missing parents (0755); 0, or -1 with errno set. */
int mkdir_p(const char *dir, mode_t mode);

#endif
