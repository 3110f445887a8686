/* abstract_name.h - the abstract Unix socket names of a data dir's roles (no path, nothing on disk). */
#ifndef MAILROOM_ABSTRACT_NAME_H
#define MAILROOM_ABSTRACT_NAME_H

#include <sys/socket.h>
#include <sys/un.h>

/* abstract_name - "\0mailroom-<role>-<FNV-1a of the data dir's real path>" into *sun. */
void abstract_name(const char *data_dir, const char *role, struct sockaddr_un *sun,
    socklen_t *len);

#endif
