/*
 * notify.h - wake queued: smtpd after each committed message, the CLI for
 * "queue flush". Datagrams on an abstract Unix socket named after the data dir,
 * so no path length limit and nothing left on disk. Best effort: queued also
 * rescans the spool, so a lost datagram only delays delivery.
 *
 * Messages: "new <id>", "flush", "delete <id>". queued obeys only root and the
 * mail user's uid or group (INTERFACE.md "Loops and trust"); see notifier_recv.
 */
#ifndef MAILROOM_NOTIFY_H
#define MAILROOM_NOTIFY_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

struct notifier {
	int fd;
	struct sockaddr_un addr;
	socklen_t addrlen;
};

/* notifier_open - a socket to send to the queued of data_dir. Returns 0 or -1. */
int notifier_open(struct notifier *n, const char *data_dir);
/* notifier_bind - queued's receiving socket (non-blocking). Returns the fd or -1. */
int notifier_bind(const char *data_dir);
/*
 * notifier_recv - one datagram from queued's socket into buf (NUL-terminated, at
 * most len-1 octets kept) and the sender's credentials as the kernel reports them
 * (uid and gid -1 when it reported none). Returns its length, or -1 (errno EAGAIN:
 * none waiting).
 */
ssize_t notifier_recv(int fd, char *buf, size_t len, struct ucred *cred);
/* notifier_send - send one message; 0, or -1 when queued is not listening. */
int notifier_send(struct notifier *n, const char *msg);
void notifier_close(struct notifier *n);

#endif
