/* http_acme.c - the ACME challenge responses httpd gives (see http_acme.h). */
#include "http/http_acme.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "acme/acme_chan.h"
#include "acme/acme_msg.h"
#include "http/http_reply.h"
#include "ipc/frame.h"
#include "net/tls_server.h"
#include "util/log.h"
#include "util/strmap.h"

#define CHALLENGE_PATH "/.well-known/acme-challenge/"
#define ALPN_PROTO "acme-tls/1"

struct alpn_cert {
	char name[254];
	X509 *x;
	EVP_PKEY *key;
};

struct http_acme {
	int fd;
	struct event *ev;
	struct strmap tokens;             /* token -> key authorization (malloc'ed) */
	struct alpn_cert alpn[ACME_CHAN_MAX];
	size_t nalpn;
	struct frame f;
};

static void
free_value(const char *key, void *value, void *arg)
{
	free(value);
}

static void
clear_all(struct http_acme *a)
{
	strmap_each(&a->tokens, free_value, NULL);
	strmap_free(&a->tokens);
	memset(&a->tokens, 0, sizeof a->tokens);
	for (size_t i = 0; i < a->nalpn; i++) {
		X509_free(a->alpn[i].x);
		EVP_PKEY_free(a->alpn[i].key);
	}
	a->nalpn = 0;
}

static void
add_http01(struct http_acme *a)
{
	char token[ACME_TOKEN_MAX], keyauth[ACME_TOKEN_MAX + 64];

	if (!frame_get_str(&a->f, token, sizeof token) ||
	    !frame_get_str(&a->f, keyauth, sizeof keyauth) || !frame_end(&a->f) ||
	    !acme_token_ok(token)) {
		ev_warn("control-malformed", KS("peer", "acmed"), KS("what", "http-01"));
		return;
	}
	if (strmap_get(&a->tokens, token) == NULL && a->tokens.n >= ACME_CHAN_MAX) {
		ev_warn("acme-challenge-refused", KS("type", "http-01"), KS("reason", "too many tokens"),
		    KN("limit", ACME_CHAN_MAX));
		return;
	}
	char *v = strdup(keyauth);
	free(strmap_get(&a->tokens, token));
	if (v == NULL || strmap_put(&a->tokens, token, v) < 0) {
		strmap_del(&a->tokens, token);
		free(v);
		ev_err("acme-error", KS("what", "channel"), KS("error", "out of memory"));
	}
}

static void
add_alpn(struct http_acme *a)
{
	char name[254];
	char *cert = malloc(FRAME_MAX), *key = malloc(FRAME_MAX);
	X509 *x = NULL;
	EVP_PKEY *k = NULL;

	if (cert == NULL || key == NULL || !frame_get_str(&a->f, name, sizeof name) ||
	    !frame_get_str(&a->f, cert, FRAME_MAX) || !frame_get_str(&a->f, key, FRAME_MAX) ||
	    !frame_end(&a->f)) {
		ev_warn("control-malformed", KS("peer", "acmed"), KS("what", "tls-alpn-01"));
		goto out;
	}
	BIO *b = BIO_new_mem_buf(cert, -1);
	x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	b = BIO_new_mem_buf(key, -1);
	k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	ERR_clear_error();
	if (x == NULL || k == NULL) {
		ev_warn("acme-challenge-refused", KS("type", "tls-alpn-01"), KS("name", name),
		    KS("reason", "unreadable certificate"));
		goto out;
	}
	size_t i;
	for (i = 0; i < a->nalpn && strcasecmp(a->alpn[i].name, name) != 0; i++)
		;
	if (i == ACME_CHAN_MAX) {
		ev_warn("acme-challenge-refused", KS("type", "tls-alpn-01"), KS("name", name),
		    KS("reason", "too many names"), KN("limit", ACME_CHAN_MAX));
		goto out;
	}
	if (i < a->nalpn) {
		X509_free(a->alpn[i].x);
		EVP_PKEY_free(a->alpn[i].key);
	} else {
		a->nalpn++;
	}
	snprintf(a->alpn[i].name, sizeof a->alpn[i].name, "%s", name);
	a->alpn[i].x = x;
	a->alpn[i].key = k;
	x = NULL;
	k = NULL;
out:
	X509_free(x);
	EVP_PKEY_free(k);
	if (key != NULL)
		OPENSSL_cleanse(key, FRAME_MAX);
	free(cert);
	free(key);
}

static void
on_read(evutil_socket_t fd, short what, void *arg)
{
	struct http_acme *a = arg;
	uint16_t type;
	uint64_t seq;

	ssize_t n = recv(fd, a->f.buf, sizeof a->f.buf, MSG_DONTWAIT | MSG_TRUNC);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		event_del(a->ev);
		return;
	}
	if ((size_t)n > sizeof a->f.buf || frame_parse(&a->f, a->f.buf, (size_t)n, &type) < 0) {
		ev_warn("control-malformed", KS("peer", "acmed"));
		return;
	}
	switch (type) {
	case ACH_HTTP01:
		add_http01(a);
		break;
	case ACH_ALPN:
		add_alpn(a);
		OPENSSL_cleanse(a->f.buf, (size_t)n);
		break;
	case ACH_CLEAR:
		clear_all(a);
		break;
	case ACH_SYNC:
		if (frame_get_u64(&a->f, &seq) && frame_end(&a->f) &&
		    acme_chan_sync(a->fd, ACH_SYNCED, seq) < 0)
			ev_warn("acme-error", KS("what", "channel"), KS("error", strerror(errno)));
		break;
	default:
		ev_warn("control-malformed", KS("peer", "acmed"), KN("type", type));
	}
}

struct http_acme *
http_acme_new(struct event_base *base, int fd)
{
	if (fd < 0)
		return NULL;
	struct http_acme *a = calloc(1, sizeof *a);
	if (a == NULL)
		return NULL;
	a->fd = fd;
	evutil_make_socket_nonblocking(fd);
	a->ev = event_new(base, fd, EV_READ | EV_PERSIST, on_read, a);
	if (a->ev == NULL || event_add(a->ev, NULL) < 0) {
		if (a->ev != NULL)
			event_free(a->ev);
		free(a);
		return NULL;
	}
	return a;
}

void
http_acme_free(struct http_acme *a)
{
	if (a == NULL)
		return;
	clear_all(a);
	event_free(a->ev);
	close(a->fd);
	free(a);
}

/*
 * alpn_select - a client offering acme-tls/1 is the CA checking a name: it gets
 * that name's challenge certificate, or the handshake fails (RFC 8737 3). Others
 * negotiate no protocol, as without this hook.
 */
static int
alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
    unsigned int inlen, void *arg)
{
	struct http_acme *a = arg;
	bool offered = false;

	for (unsigned i = 0; i < inlen; i += 1u + in[i]) {
		unsigned l = in[i];
		if (i + 1 + l > inlen)
			break;
		if (l == strlen(ALPN_PROTO) && memcmp(in + i + 1, ALPN_PROTO, l) == 0) {
			*out = in + i + 1;
			*outlen = (unsigned char)l;
			offered = true;
		}
	}
	if (!offered)
		return SSL_TLSEXT_ERR_NOACK;
	const char *sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	for (size_t i = 0; sni != NULL && i < a->nalpn; i++) {
		if (strcasecmp(a->alpn[i].name, sni) != 0)
			continue;
		/* Only the challenge certificate: no chain, no other key type to pick. */
		SSL_certs_clear(ssl);
		if (SSL_use_certificate(ssl, a->alpn[i].x) != 1 ||
		    SSL_use_PrivateKey(ssl, a->alpn[i].key) != 1) {
			ERR_clear_error();
			return SSL_TLSEXT_ERR_ALERT_FATAL;
		}
		ev_info("acme-challenge", KS("type", "tls-alpn-01"), KS("name", sni));
		return SSL_TLSEXT_ERR_OK;
	}
	ev_info("acme-challenge-refused", KS("type", "tls-alpn-01"), KS("name", sni),
	    KS("reason", "no challenge under way"));
	return SSL_TLSEXT_ERR_ALERT_FATAL;
}

static void
hook_one(SSL_CTX *ctx, void *a)
{
	SSL_CTX_set_alpn_select_cb(ctx, alpn_select, a);
}

void
http_acme_hook(struct http_acme *a, SSL_CTX *ctx)
{
	if (a != NULL && ctx != NULL)
		tls_server_each_ctx(ctx, hook_one, a);
}

bool
http_acme_serve(struct http_acme *a, struct evhttp_request *req)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);

	if (path == NULL || strncmp(path, CHALLENGE_PATH, strlen(CHALLENGE_PATH)) != 0)
		return false;
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		http_reply_text(req, false, HTTP_BADMETHOD);
		return true;
	}
	const char *token = path + strlen(CHALLENGE_PATH);
	const char *keyauth = a != NULL && acme_token_ok(token) ? strmap_get(&a->tokens, token) :
	    NULL;
	if (keyauth == NULL) {
		http_reply_text(req, false, HTTP_NOTFOUND);
		return true;
	}
	struct buf body = { .data = (char *)keyauth, .len = strlen(keyauth), .cap = 0 };
	http_reply(req, false, HTTP_OK, "application/octet-stream", &body);
	ev_info("acme-challenge", KS("type", "http-01"), KS("token", token));
	return true;
}
