/*
 * status_server.c - the supervisor's status socket (status_server.h): accept,
 * check the peer, read one request, send one reply, close. Every step is
 * non-blocking; a reply is one SOCK_SEQPACKET message of at most FRAME_MAX
 * octets, which a fresh connection's send buffer takes whole.
 */
#include "status/status_server.h"

#include <errno.h>
#include <event2/event.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ipc/frame.h"
#include "net/peer.h"
#include "status/status_proto.h"
#include "util/log.h"

#define CONNS_MAX 8      /* clients served at a time; more are turned away */
#define BACKLOG 16

struct st_conn {
	struct status_server *s;
	int fd;              /* -1: a free slot */
	struct event *ev;
};

struct status_server {
	struct event_base *base;
	int fd;
	struct event *ev;
	uid_t mail_uid;
	status_fill_fn fill;
	void *arg;
	struct st_conn conns[CONNS_MAX];
	struct frame f;      /* the loop serves one message at a time */
};

/* reply - one reply to fd, without waiting; a client that cannot take it loses it. */
static void
reply(struct status_server *s, int fd, enum status_code code, const char *text)
{
	if (status_reply_frame(&s->f, code, text) < 0 &&
	    status_reply_frame(&s->f, ST_FAILED, "the status is too large to send") < 0)
		return;
	ssize_t w;
	do
		w = send(fd, s->f.buf, s->f.len, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (w < 0 && errno == EINTR);
}

static void
conn_close(struct st_conn *c)
{
	if (c->ev != NULL)
		event_free(c->ev);
	c->ev = NULL;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static void
on_request(evutil_socket_t fd, short what, void *arg)
{
	struct st_conn *c = arg;
	struct status_server *s = c->s;

	if (what & EV_TIMEOUT) {
		conn_close(c);
		return;
	}
	ssize_t n = recv(fd, s->f.buf, sizeof s->f.buf, MSG_DONTWAIT | MSG_TRUNC);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_close(c);
		return;
	}
	if ((size_t)n > sizeof s->f.buf || !status_request_parse(&s->f, s->f.buf, (size_t)n)) {
		reply(s, fd, ST_FAILED, "malformed status request");
	} else {
		char *json = s->fill(s->arg);
		if (json == NULL)
			reply(s, fd, ST_FAILED, "cannot make the status (out of memory)");
		else
			reply(s, fd, ST_OK, json);
		free(json);
	}
	conn_close(c);
}

/* peer_allowed - root, the mail user, or whoever runs the supervisor. */
static bool
peer_allowed(const struct status_server *s, int fd, long *uid)
{
	struct ucred cr;

	*uid = -1;
	if (!peer_cred(fd, &cr))
		return false;
	*uid = (long)cr.uid;
	return cr.uid == 0 || cr.uid == s->mail_uid || cr.uid == geteuid();
}

static void
on_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct status_server *s = arg;
	long uid;

	/* Bounded: the loop has other work than clients arriving. */
	for (int i = 0; i < 2 * CONNS_MAX; i++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if (!peer_allowed(s, fd, &uid)) {
			ev_warn("status-refused", KN("uid", uid),
			    KS("reason", "only root and the mail user may ask"));
			reply(s, fd, ST_REFUSED, "only root and the mail user may ask for the status");
			close(fd);
			continue;
		}
		struct st_conn *c = NULL;
		for (int k = 0; k < CONNS_MAX && c == NULL; k++)
			if (s->conns[k].fd < 0)
				c = &s->conns[k];
		struct timeval tv = { STATUS_TIMEOUT_MS / 1000, STATUS_TIMEOUT_MS % 1000 * 1000 };
		if (c == NULL) {
			reply(s, fd, ST_FAILED, "too many status requests at once: try again");
			close(fd);
			continue;
		}
		c->fd = fd;
		c->ev = event_new(s->base, fd, EV_READ | EV_PERSIST, on_request, c);
		if (c->ev == NULL || event_add(c->ev, &tv) < 0)
			conn_close(c);
	}
}

struct status_server *
status_server_new(struct event_base *base, const char *data_dir, uid_t mail_uid,
    status_fill_fn fill, void *arg, char *err, size_t errlen)
{
	struct status_server *s = calloc(1, sizeof *s);
	struct sockaddr_un sun;
	socklen_t len;

	if (s == NULL) {
		snprintf(err, errlen, "cannot make the status socket: %s", strerror(errno));
		return NULL;
	}
	s->base = base;
	s->mail_uid = mail_uid;
	s->fill = fill;
	s->arg = arg;
	for (int k = 0; k < CONNS_MAX; k++) {
		s->conns[k].s = s;
		s->conns[k].fd = -1;
	}
	status_socket_name(data_dir, &sun, &len);
	s->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&sun, len) < 0 || listen(s->fd, BACKLOG) < 0) {
		snprintf(err, errlen, "cannot make the status socket: %s%s", strerror(errno),
		    errno == EADDRINUSE ? " (is another mailroom serving this data dir?)" : "");
		goto fail;
	}
	s->ev = event_new(base, s->fd, EV_READ | EV_PERSIST, on_accept, s);
	if (s->ev == NULL || event_add(s->ev, NULL) < 0) {
		snprintf(err, errlen, "cannot make the status socket: out of memory");
		goto fail;
	}
	return s;
fail:
	status_server_free(s);
	return NULL;
}

void
status_server_close_fds(struct status_server *s)
{
	if (s == NULL)
		return;
	for (int k = 0; k < CONNS_MAX; k++)
		if (s->conns[k].fd >= 0) {
			close(s->conns[k].fd);
			s->conns[k].fd = -1;
		}
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

void
status_server_free(struct status_server *s)
{
	if (s == NULL)
		return;
	for (int k = 0; k < CONNS_MAX; k++)
		conn_close(&s->conns[k]);
	if (s->ev != NULL)
		event_free(s->ev);
	if (s->fd >= 0)
		close(s->fd);
	free(s);
}
