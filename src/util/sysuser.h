/* sysuser.h - system users for the services: looked up, and made with useradd when missing. */
#ifndef MAILROOM_SYSUSER_H
#define MAILROOM_SYSUSER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * sysuser_ensure - the uid and primary gid of the system user name; when it is
 * missing, useradd --system makes it (no home, nologin shell), in the group
 * `group` when given (else a group of its own). *created says which. Returns 0,
 * or -1 with a reason in err. A user that turns out to be root is refused.
 */
int sysuser_ensure(const char *name, const char *group, uid_t *uid, gid_t *gid, bool *created,
    char *err, size_t errlen);

#endif
