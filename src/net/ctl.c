/*
 * ctl.c - the control channel from the supervisor to a role: reload frames (and
 * the config text and SNI frames before them), EOF.
 */
#include "net/ctl.h"

#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ipc/frame.h"
#include "util/buf.h"
#include "util/log.h"

struct ctl {
	struct event *ev;
	int fd;
	ctl_reload_fn reload;
	ctl_gone_fn gone;
	void *arg;
	struct tls_certs pending; /* the CTL_SNI frames since the last CTL_RELOAD */
	struct buf config;        /* the CTL_CONFIG pieces since the last CTL_RELOAD */
	bool config_bad;          /* one of them was malformed or too long */
	struct frame f;
};

/* Pieces of the config text: each fits a frame with room to spare. */
#define CONFIG_PIECE 60000
#define CONFIG_TEXT_MAX (1024 * 1024)

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

/* take_sni - a CTL_SNI frame's certificate into c->pending. */
static void
take_sni(struct ctl *c)
{
	char *name = pem_field(&c->f, &(size_t){ 0 });
	struct tls_pem pem = { 0 };

	pem.cert = pem_field(&c->f, &pem.certlen);
	pem.key = pem_field(&c->f, &pem.keylen);
	if (!frame_end(&c->f) || name == NULL || pem.cert == NULL || pem.key == NULL ||
	    c->pending.nsni >= CONFIG_SNI_MAX)
		ev_warn("control-malformed", KS("peer", "supervisor"), KS("what", "sni"));
	else if (tls_certs_add_sni(&c->pending, name, &pem) < 0)
		ev_err("reload-error", KS("sni", name), KS("error", "out of memory"));
	tls_pem_free(&pem);
	free(name);
}

/* take_config - a CTL_CONFIG frame's piece appended to c->config. */
static void
take_config(struct ctl *c)
{
	char *piece = malloc(FRAME_MAX);

	if (piece == NULL || !frame_get_str(&c->f, piece, FRAME_MAX) || !frame_end(&c->f) ||
	    c->config.len + strlen(piece) > CONFIG_TEXT_MAX ||
	    buf_append(&c->config, piece, strlen(piece)) < 0)
		c->config_bad = true;
	free(piece);
}

static void
take_reload(struct ctl *c)
{
	struct tls_certs certs = c->pending;
	uint64_t n;

	memset(&c->pending, 0, sizeof c->pending);
	certs.main.cert = pem_field(&c->f, &certs.main.certlen);
	certs.main.key = pem_field(&c->f, &certs.main.keylen);
	if (!frame_get_u64(&c->f, &n) || !frame_end(&c->f) ||
	    (certs.main.cert == NULL) != (certs.main.key == NULL) || n != certs.nsni ||
	    (certs.main.cert == NULL && n > 0) || c->config_bad)
		ev_warn("control-malformed", KS("peer", "supervisor"), KS("what", "reload"));
	else if (c->config.len > 0 && buf_putc(&c->config, '\0') < 0)
		ev_err("reload-error", KS("error", "out of memory"));
	else
		c->reload(c->arg, c->config.len > 0 ? c->config.data : NULL,
		    c->config.len > 0 ? c->config.len - 1 : 0, &certs);
	tls_certs_free(&certs);
	buf_reset(&c->config);
	c->config_bad = false;
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
	    (type != CTL_RELOAD && type != CTL_SNI && type != CTL_CONFIG)) {
		ev_warn("control-malformed", KS("peer", "supervisor"));
		return;
	}
	if (type == CTL_SNI)
		take_sni(c);
	else if (type == CTL_CONFIG)
		take_config(c);
	else
		take_reload(c);
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
	tls_certs_free(&c->pending);
	buf_free(&c->config);
	free(c);
}

/* send_frame - f as one message, then wiped. Returns 0 or -1. */
static int
send_frame(int fd, struct frame *f)
{
	int rc = -1;

	if (f->bad) {
		ev_err("reload-error", KS("error", "a certificate and key are too large"),
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
	return rc;
}

/* put_sni - the CTL_SNI frame of certs' i-th name into f. */
static void
put_sni(struct frame *f, const struct tls_certs *certs, size_t i)
{
	frame_init(f, CTL_SNI);
	frame_put_str(f, certs->sni[i].name);
	frame_put_str(f, certs->sni[i].pem.cert);
	frame_put_str(f, certs->sni[i].pem.key);
}

/* put_reload - the CTL_RELOAD frame into f (tls: with the certificates). */
static void
put_reload(struct frame *f, const struct tls_certs *certs, bool tls)
{
	frame_init(f, CTL_RELOAD);
	frame_put_str(f, tls ? certs->main.cert : "");
	frame_put_str(f, tls ? certs->main.key : "");
	frame_put_u64(f, tls ? certs->nsni : 0);
}

int
ctl_send_reload(int fd, const char *config_text, size_t config_len,
    const struct tls_certs *certs)
{
	struct frame *f = malloc(sizeof *f);
	bool tls = certs != NULL && certs->main.cert != NULL;
	int rc = 0;

	if (f == NULL)
		return -1;
	/*
	 * Every frame must fit before the first goes: the role keeps the text's pieces
	 * until CTL_RELOAD, and pieces whose reload never came would run into the next
	 * reload's text.
	 */
	for (size_t i = 0; tls && rc == 0 && i <= certs->nsni; i++) {
		if (i < certs->nsni)
			put_sni(f, certs, i);
		else
			put_reload(f, certs, tls);
		if (f->bad)
			rc = send_frame(fd, f); /* says why, sends nothing */
		OPENSSL_cleanse(f->buf, f->len);
	}
	for (size_t off = 0; rc == 0 && config_text != NULL && off < config_len;
	    off += CONFIG_PIECE) {
		size_t n = config_len - off < CONFIG_PIECE ? config_len - off : CONFIG_PIECE;
		frame_init(f, CTL_CONFIG);
		frame_put_strn(f, config_text + off, n);
		rc = send_frame(fd, f);
	}
	for (size_t i = 0; tls && rc == 0 && i < certs->nsni; i++) {
		put_sni(f, certs, i);
		rc = send_frame(fd, f);
	}
	if (rc == 0) {
		put_reload(f, certs, tls);
		rc = send_frame(fd, f);
	}
	free(f);
	return rc;
}

int
ctl_send_issued(int fd)
{
	struct frame *f = malloc(sizeof *f);

	if (f == NULL)
		return -1;
	frame_init(f, CTL_ISSUED);
	int rc = send_frame(fd, f);
	free(f);
	return rc;
}

int
ctl_recv_type(int fd, uint16_t *type)
{
	uint8_t buf[64];
	struct frame *f;

	ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT | MSG_TRUNC);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0)
		return -1;
	/* A frame with fields is none we know: its type is refused by the caller. */
	if ((size_t)n > sizeof buf || (f = malloc(sizeof *f)) == NULL) {
		*type = 0;
		return 1;
	}
	if (frame_parse(f, buf, (size_t)n, type) < 0 || !frame_end(f))
		*type = 0;
	free(f);
	return 1;
}
