/*
 * notify.c - datagrams to queued on an abstract Unix socket named after the data dir.
 * Any local process can send to an abstract socket, so queued's end asks the kernel
 * for each sender's credentials (SO_PASSCRED) and decides whom to obey.
 */
#include "queue/notify.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "ipc/frame.h"
#include "util/abstract_name.h"

static void
socket_name(const char *data_dir, struct sockaddr_un *sun, socklen_t *len)
{
	abstract_name(data_dir, "queued", sun, len);
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
	int on = 1;
	if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof on) < 0 ||
	    bind(fd, (struct sockaddr *)&sun, len) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

void
queue_note_frame(struct frame *f, enum queue_note type, const char *id)
{
	frame_init(f, (uint16_t)type);
	if (id != NULL)
		frame_put_str(f, id);
}

int
notifier_recv(int fd, struct frame *f, uint16_t *type, struct ucred *cred)
{
	union {
		struct cmsghdr align;
		char space[CMSG_SPACE(sizeof(struct ucred))];
	} ctl;
	struct iovec iov = { f->buf, sizeof f->buf };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.space,
		.msg_controllen = sizeof ctl.space };

	/* Unknown until the kernel says: such a datagram is nobody's to obey. */
	cred->pid = 0;
	cred->uid = (uid_t)-1;
	cred->gid = (gid_t)-1;
	ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0)
		return -1;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS &&
		    c->cmsg_len == CMSG_LEN(sizeof *cred))
			memcpy(cred, CMSG_DATA(c), sizeof *cred);
	}
	if ((mh.msg_flags & MSG_TRUNC) || frame_parse(f, f->buf, (size_t)n, type) < 0)
		return 0;
	return 1;
}

int
notifier_send(struct notifier *n, enum queue_note type, const char *id)
{
	struct frame *f = malloc(sizeof *f);
	ssize_t r = -1;

	if (n->fd >= 0 && f != NULL) {
		queue_note_frame(f, type, id);
		if (!f->bad)
			r = sendto(n->fd, f->buf, f->len, MSG_DONTWAIT | MSG_NOSIGNAL,
			    (struct sockaddr *)&n->addr, n->addrlen);
	}
	free(f);
	return r < 0 ? -1 : 0;
}

void
notifier_close(struct notifier *n)
{
	if (n->fd >= 0)
		close(n->fd);
	n->fd = -1;
}
