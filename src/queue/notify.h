/*
 * notify.h - wake queued: smtpd after each committed message, the CLI for
 * "queue flush". Datagrams on an abstract Unix socket named after the data dir,
 * so no path length limit and nothing left on disk. Best effort: queued also
 * rescans the spool, so a lost datagram only delays delivery.
 *
 * Each datagram is one frame (ipc/frame.h): QN_NEW (str id), QN_FLUSH, QN_DELETE
 * (str id), QN_DMARC_REPORT (send the DMARC aggregate reports now, today's too),
 * QN_TLSRPT_REPORT (the same for the TLS reports),
 * QN_HOLD and QN_RELEASE (str id: keep the message undelivered, or let it go). The
 * same QN_NEW frames, length-prefixed (ipc/frame_stream.h), go from
 * smtpd to queued over the stream the supervisor keeps open. queued obeys only
 * root and the mail user's uid or group (INTERFACE.md "Loops and trust"); see
 * notifier_recv.
 */
#ifndef MAILROOM_NOTIFY_H
#define MAILROOM_NOTIFY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

enum queue_note { QN_NEW = 1, QN_FLUSH = 2, QN_DELETE = 3, QN_DMARC_REPORT = 4, QN_HOLD = 5,
	QN_RELEASE = 6, QN_TLSRPT_REPORT = 7 };

struct frame;

/* queue_note_frame - f made into the note type for the queue id (NULL for QN_FLUSH). */
void queue_note_frame(struct frame *f, enum queue_note type, const char *id);

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
 * notifier_recv - one datagram from queued's socket into f, parsed (*type set), and
 * the sender's credentials as the kernel reports them (uid and gid -1 when it
 * reported none). Returns 1 (a frame), 0 (a datagram that is no frame: ignore it),
 * or -1 (errno EAGAIN: none waiting).
 */
int notifier_recv(int fd, struct frame *f, uint16_t *type, struct ucred *cred);
/* notifier_send - send one note (id NULL for QN_FLUSH); 0, or -1 when queued is not listening. */
int notifier_send(struct notifier *n, enum queue_note type, const char *id);
void notifier_close(struct notifier *n);

#endif
