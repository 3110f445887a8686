/* ctl.c - the control channel from the supervisor to a role: reload frames, EOF. */
#include "net/ctl.h"

#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ipc/frame.h"
#include "util/log.h"

struct ctl {
	struct event *ev;
	int fd;
	ctl_reload_fn reload;
	ctl_gone_fn gone;
	void *arg;
	struct frame f;
};

/* pem_field - the next string of f into a new buffer; NULL when absent or empty. */
static char *
pem_field(struct frame *f, size_t *len)
{
	char *s = malloc(FRAME_MAX);
	if (s == NULL || !frame_get_str(f, s, FRAME_MAX) || s[0] == '\0') {
		free(s);
		*len = 0;
		return NULL;
	}
	*len = strlen(s);
	return s;
}

static void
on_read(evutil_socket_t fd, short what, void *arg)
{
	struct ctl *c = arg;
	uint16_t type;

	ssize_t n = recv(fd, c->f.buf, sizeof c->f.buf, MSG_DONTWAIT | MSG_TRUNC);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		c->gone(c->arg);
		return;
	}
	if ((size_t)n > sizeof c->f.buf || frame_parse(&c->f, c->f.buf, (size_t)n, &type) < 0 ||
	    type != CTL_RELOAD) {
		ev_warn("control-malformed", KS("peer", "supervisor"));
		return;
	}
	struct tls_pem pem = { 0 };
	pem.cert = pem_field(&c->f, &pem.certlen);
	pem.key = pem_field(&c->f, &pem.keylen);
	if (!frame_end(&c->f) || (pem.cert == NULL) != (pem.key == NULL)) {
		ev_warn("control-malformed", KS("peer", "supervisor"));
	} else {
		c->reload(c->arg, &pem);
	}
	tls_pem_free(&pem);
	OPENSSL_cleanse(c->f.buf, (size_t)n);
}

struct ctl *
ctl_new(struct event_base *base, int fd, ctl_reload_fn reload, ctl_gone_fn gone, void *arg)
{
	struct ctl *c = calloc(1, sizeof *c);
	if (c == NULL)
		return NULL;
	evutil_make_socket_nonblocking(fd);
	c->fd = fd;
	c->reload = reload;
	c->gone = gone;
	c->arg = arg;
	c->ev = event_new(base, fd, EV_READ | EV_PERSIST, on_read, c);
	if (c->ev == NULL || event_add(c->ev, NULL) < 0) {
		if (c->ev)
			event_free(c->ev);
		free(c);
		return NULL;
	}
	return c;
}

void
ctl_free(struct ctl *c)
{
	if (c == NULL)
		return;
	event_free(c->ev);
	close(c->fd);
	free(c);
}

int
ctl_send_reload(int fd, const struct tls_pem *pem)
{
	struct frame *f = malloc(sizeof *f);
	int rc = -1;

	if (f == NULL)
		return -1;
	frame_init(f, CTL_RELOAD);
	frame_put_str(f, pem && pem->cert ? pem->cert : "");
	frame_put_str(f, pem && pem->cert ? pem->key : "");
	if (f->bad) {
		ev_err("reload-error", KS("error", "the certificate and key are too large"),
		    KN("limit", FRAME_MAX));
		errno = EMSGSIZE;
	} else {
		ssize_t w;
		do
			w = send(fd, f->buf, f->len, MSG_NOSIGNAL);
		while (w < 0 && errno == EINTR);
		rc = w == (ssize_t)f->len ? 0 : -1;
	}
	OPENSSL_cleanse(f->buf, f->len);
	free(f);
	return rc;
}
