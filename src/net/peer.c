/* peer.c - the credentials of a Unix socket's peer (peer.h). */
#include "net/peer.h"

#include <unistd.h>

bool
peer_cred(int fd, struct ucred *cr)
{
	socklen_t len = sizeof *cr;

	return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cr, &len) == 0 && len == sizeof *cr;
}

bool
peer_is_server(int fd, long *uid)
{
	struct ucred cr;

	*uid = -1;
	if (!peer_cred(fd, &cr))
		return false;
	*uid = (long)cr.uid;
	return cr.uid == 0 || cr.uid == geteuid();
}
