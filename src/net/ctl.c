/* ctl.c - the control channel from the supervisor to a role: reload frames, EOF. */
#include "net/ctl.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FRAME_MAX (2 * 1024 * 1024 + 64)

struct ctl {
	struct bufferevent *bev;
	ctl_reload_fn reload;
	ctl_gone_fn gone;
	void *arg;
};

static void
on_read(struct bufferevent *bev, void *arg)
{
	struct ctl *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	for (;;) {
		size_t eol_len;
		struct evbuffer_ptr p = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_LF);
		if (p.pos < 0 || p.pos > 64)
			return;
		char head[72];
		evbuffer_copyout(in, head, (size_t)p.pos);
		head[p.pos] = '\0';
		unsigned long certlen, keylen;
		if (sscanf(head, "reload %lu %lu", &certlen, &keylen) != 2 ||
		    certlen + keylen > FRAME_MAX) {
			evbuffer_drain(in, (size_t)p.pos + eol_len);
			continue;
		}
		if (evbuffer_get_length(in) < (size_t)p.pos + eol_len + certlen + keylen)
			return;
		evbuffer_drain(in, (size_t)p.pos + eol_len);
		struct tls_pem pem = { 0 };
		if (certlen > 0) {
			pem.cert = malloc(certlen + 1);
			pem.key = malloc(keylen + 1);
			if (pem.cert == NULL || pem.key == NULL) {
				tls_pem_free(&pem);
				evbuffer_drain(in, certlen + keylen);
				continue;
			}
			evbuffer_remove(in, pem.cert, certlen);
			evbuffer_remove(in, pem.key, keylen);
			pem.cert[certlen] = pem.key[keylen] = '\0';
			pem.certlen = certlen;
			pem.keylen = keylen;
		}
		c->reload(c->arg, &pem);
		tls_pem_free(&pem);
	}
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	struct ctl *c = arg;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		c->gone(c->arg);
}

struct ctl *
ctl_new(struct event_base *base, int fd, ctl_reload_fn reload, ctl_gone_fn gone, void *arg)
{
	struct ctl *c = calloc(1, sizeof *c);
	if (c == NULL)
		return NULL;
	evutil_make_socket_nonblocking(fd);
	c->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		free(c);
		return NULL;
	}
	c->reload = reload;
	c->gone = gone;
	c->arg = arg;
	bufferevent_setcb(c->bev, on_read, NULL, on_event, c);
	bufferevent_enable(c->bev, EV_READ);
	return c;
}

void
ctl_free(struct ctl *c)
{
	if (c == NULL)
		return;
	bufferevent_free(c->bev);
	free(c);
}

static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int
ctl_send_reload(int fd, const struct tls_pem *pem)
{
	char head[64];
	size_t cl = pem && pem->cert ? pem->certlen : 0, kl = pem && pem->cert ? pem->keylen : 0;
	int n = snprintf(head, sizeof head, "reload %zu %zu\n", cl, kl);
	if (write_all(fd, head, (size_t)n) < 0)
		return -1;
	if (cl > 0 && (write_all(fd, pem->cert, cl) < 0 || write_all(fd, pem->key, kl) < 0))
		return -1;
	return 0;
}
