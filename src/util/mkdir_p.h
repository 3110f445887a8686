/* mkdir_p.h - a directory and its missing parents. */
#ifndef MAILROOM_MKDIR_P_H
#define MAILROOM_MKDIR_P_H

#include <sys/types.h>

/* mkdir_p - dir (mode) and its missing parents (0755); 0, or -1 with errno set. */
int mkdir_p(const char *dir, mode_t mode);
/* mkdir_p_mode - the same with the missing parents made with parent_mode. */
int mkdir_p_mode(const char *dir, mode_t mode, mode_t parent_mode);

#endif
