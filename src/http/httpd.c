/*
 * httpd.c - the web role: evhttp on the https listeners (TLS through
 * libevent_openssl, a fresh SSL from the current context for each connection, so
 * a reloaded certificate applies to the next one), on the http listeners
 * (redirects, and ACME's http-01 answers: http_acme.c) and on the metrics listeners (http_metrics.c), with bounded
 * headers, bodies and time, and at most max_connections TLS connections per
 * listener (counted by their SSL objects: the listener pauses at the limit and
 * resumes as one closes; evhttp 2.1 has no hook at a plain connection's end, so
 * http and metrics are bounded by the timeout only, and their open connections
 * are not counted in the metrics).
 * Reloads and stops like the other roles.
 */
#include "http/httpd.h"

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <stdlib.h>
#include <unistd.h>

#include "http/http_acme.h"
#include "http/web_dns_check.h"
#include "metrics/metrics.h"
#include "role.h"
#include "util/log.h"

#define MAX_HEADERS_SIZE (16 * 1024)
#define MAX_BODY_SIZE (64 * 1024)
#define REQUEST_TIMEOUT 30 /* seconds */

/* opened - one more connection on hl: at max_connections, stop accepting. */
static void
opened(struct http_listener *hl)
{
	struct httpd *srv = hl->srv;

	hl->active++;
	MX_INC(conn_accepted[hl->svc]);
	MX_SET(conn_open[hl->svc], hl->active);
	if (hl->active >= srv->cfg->max_connections && !hl->paused && hl->el != NULL) {
		evconnlistener_disable(hl->el);
		hl->paused = true;
		ev_info("listener-paused", KS("service", service_name(hl->svc)),
		    KN("limit", srv->cfg->max_connections));
	}
}

/* closed - a connection of hl is gone: accept again when under the limit. */
static void
closed(struct http_listener *hl)
{
	hl->active--;
	MX_SET(conn_open[hl->svc], hl->active);
	/* Stopping: the listener is gone (and the loop may be freeing what is left). */
	if (hl->el == NULL)
		return;
	if (hl->paused && hl->active < hl->srv->cfg->max_connections) {
		evconnlistener_enable(hl->el);
		hl->paused = false;
	}
}

/* A TLS connection's SSL is freed with it: its listener counts one less. */
static void
on_ssl_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	if (ptr != NULL)
		closed(ptr);
}

static struct bufferevent *
tls_bufferevent(struct event_base *base, void *arg)
{
	struct http_listener *hl = arg;
	struct httpd *srv = hl->srv;
	struct bufferevent *bev = NULL;

	/* The context may be new since the last connection (a reload): hook it again. */
	http_acme_hook(srv->acme, srv->tls_ctx);
	SSL *ssl = srv->tls_ctx != NULL ? SSL_new(srv->tls_ctx) : NULL;

	if (ssl != NULL) {
		/* Counted from here: whoever frees the SSL counts it out. */
		if (SSL_set_ex_data(ssl, srv->ssl_index, hl) == 1)
			opened(hl);
		bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
		    BEV_OPT_CLOSE_ON_FREE);
		if (bev == NULL)
			SSL_free(ssl);
	}
	if (bev == NULL) {
		/* evhttp would fall back to plain text on the TLS port: stop instead. */
		ev_err("tls-setup-error", KS("error", "out of memory"));
		_exit(1);
	}
	/* Clients that close without close_notify are common and harmless here. */
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

/* plain_bufferevent - a connection to a plain listener: counted in, as evhttp would make it. */
static struct bufferevent *
plain_bufferevent(struct event_base *base, void *arg)
{
	struct http_listener *hl = arg;

	MX_INC(conn_accepted[hl->svc]);
	return bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
}

static int
listen_one(struct httpd *srv, struct http_listener *hl, const struct listener_fd *lf)
{
	hl->srv = srv;
	hl->svc = lf->svc;
	/* This process counts them now: an earlier httpd's connections went with it. */
	MX_SET(conn_open[hl->svc], 0);
	if ((hl->http = evhttp_new(srv->base)) == NULL)
		return -1;
	evutil_make_socket_nonblocking(lf->fd);
	hl->el = evconnlistener_new(srv->base, NULL, NULL, LEV_OPT_CLOSE_ON_FREE, -1, lf->fd);
	if (hl->el == NULL || evhttp_bind_listener(hl->http, hl->el) == NULL) {
		if (hl->el != NULL)
			evconnlistener_free(hl->el);
		hl->el = NULL;
		return -1;
	}
	evhttp_set_max_headers_size(hl->http, MAX_HEADERS_SIZE);
	evhttp_set_max_body_size(hl->http, MAX_BODY_SIZE);
	evhttp_set_timeout(hl->http, REQUEST_TIMEOUT);
	/* Every method reaches the handlers, so a refusal carries the security headers too. */
	evhttp_set_allowed_methods(hl->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
	    EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
	    EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	evhttp_set_default_content_type(hl->http, "text/plain; charset=utf-8");
	if (lf->svc == SVC_HTTPS) {
		evhttp_set_bevcb(hl->http, tls_bufferevent, hl);
		evhttp_set_gencb(hl->http, http_serve_https, hl);
	} else {
		evhttp_set_bevcb(hl->http, plain_bufferevent, hl);
		evhttp_set_gencb(hl->http, lf->svc == SVC_METRICS ? http_serve_metrics :
		    http_serve_redirect, hl);
	}
	return 0;
}

static void
listeners_free(struct httpd *srv)
{
	for (size_t i = 0; i < srv->nlisteners; i++) {
		struct http_listener *hl = &srv->listeners[i];
		/* evhttp frees its listener before its connections, whose SSLs call back. */
		hl->el = NULL;
		if (hl->http != NULL)
			evhttp_free(hl->http);
		hl->http = NULL;
	}
	/* The array stays: connections' frees finish in the loop's end (role_end) and count on it. */
}

int
httpd_main(const struct role_env *env)
{
	struct httpd srv = { 0 };
	struct role_control control = { 0 };
	char err[512];
	int rc = 1;

	srv.cfg = env->cfg;
	srv.qctl_fd = env->qctl_fd;
	srv.ssl_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, on_ssl_free);
	if (role_begin("httpd", env, &srv.base, &srv.acct) < 0 || srv.ssl_index < 0)
		goto out;
	if (env->certs->main.cert != NULL &&
	    (srv.tls_ctx = tls_server_ctx(env->certs, env->cfg, err, sizeof err)) == NULL) {
		ev_err("start-failed", KS("error", err));
		goto out;
	}
	if (role_control_start(&control, srv.base, env->ctl_fd, &srv.cfg, &srv.tls_ctx) < 0)
		goto out;
	if (env->acme_fd >= 0 && (srv.acme = http_acme_new(srv.base, env->acme_fd)) == NULL)
		goto out;
	srv.listeners = calloc(env->nfds ? env->nfds : 1, sizeof *srv.listeners);
	if (srv.listeners == NULL)
		goto out;
	for (size_t i = 0; i < env->nfds; i++) {
		if (env->fds[i].svc == SVC_HTTPS && srv.tls_ctx == NULL) {
			ev_err("start-failed", KS("error", "https needs [tls] cert and key"));
			goto out;
		}
		srv.nlisteners++;
		if (listen_one(&srv, &srv.listeners[i], &env->fds[i]) < 0) {
			ev_err("start-failed", KS("service", service_name(env->fds[i].svc)),
			    KS("error", "out of memory"));
			goto out;
		}
	}
	role_run(srv.base, SANDBOX_HTTPD, "httpd", srv.cfg);
	rc = 0;
out:
	web_dns_check_cancel_all(&srv);
	listeners_free(&srv);
	http_acme_free(srv.acme);
	role_control_free(&control);
	SSL_CTX_free(srv.tls_ctx);
	role_end(srv.base, srv.acct, srv.cfg);
	free(srv.listeners);
	if (srv.qctl_fd >= 0)
		close(srv.qctl_fd);
	return rc;
}
