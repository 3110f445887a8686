/* notify.c - datagrams to queued on an abstract Unix socket named after the data dir. */
#include "queue/notify.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* socket_name - "\0mailroom-queued-<hash of the data dir's real path>". */
static void
socket_name(const char *data_dir, struct sockaddr_un *sun, socklen_t *len)
{
	char real[PATH_MAX];
	uint64_t h = 1469598103934665603ull;

	if (realpath(data_dir, real) == NULL)
		snprintf(real, sizeof real, "%s", data_dir);
	for (const char *p = real; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	memset(sun, 0, sizeof *sun);
	sun->sun_family = AF_UNIX;
	int n = snprintf(sun->sun_path + 1, sizeof sun->sun_path - 1, "mailroom-queued-%016llx",
	    (unsigned long long)h);
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
}

int
notifier_open(struct notifier *n, const char *data_dir)
{
	socket_name(data_dir, &n->addr, &n->addrlen);
	n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	return n->fd < 0 ? -1 : 0;
}

int
notifier_bind(const char *data_dir)
{
	struct sockaddr_un sun;
	socklen_t len;

	socket_name(data_dir, &sun, &len);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sun, len) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int
notifier_send(struct notifier *n, const char *msg)
{
	if (n->fd < 0)
		return -1;
	ssize_t r = sendto(n->fd, msg, strlen(msg), MSG_DONTWAIT | MSG_NOSIGNAL,
	    (struct sockaddr *)&n->addr, n->addrlen);
	return r < 0 ? -1 : 0;
}

void
notifier_close(struct notifier *n)
{
	if (n->fd >= 0)
		close(n->fd);
	n->fd = -1;
}
