/*
 * notify.h - wake queued: smtpd after each committed message, the CLI for
 * "queue flush". Datagrams on an abstract Unix socket named after the data dir,
 * so no path length limit and nothing left on disk. Best effort: queued also
 * rescans the spool, so a lost datagram only delays delivery.
 *
 * Messages: "new <id>", "flush", "delete <id>".
 */
#ifndef MAILROOM_NOTIFY_H
#define MAILROOM_NOTIFY_H

#include <stddef.h>
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
/* notifier_send - send one message; 0, or -1 when queued is not listening. */
int notifier_send(struct notifier *n, const char *msg);
void notifier_close(struct notifier *n);

#endif
