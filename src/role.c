/*
 * role.c - what the role processes (lookupd, smtpd, queued, pop3d) do alike:
 * reloads, signals and the control channel, TLS contexts, the walls and the loop,
 * and for the servers their listeners with the connection limits.
 */
#include "role.h"

#include <event2/event.h>
#include <event2/listener.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "accounts.h"
#include "metrics/metrics.h"
#include "net/conn_limit.h"
#include "net/ctl.h"
#include "net/sockaddr.h"
#include "password.h"
#include "session/line_session.h"
#include "util/evbase.h"
#include "util/log.h"

void
role_reload_config(struct config **cfg, const char *text, size_t len)
{
	char err[512] = "out of memory";
	struct config *ncfg = calloc(1, sizeof *ncfg);

	if (ncfg && (text != NULL ? config_load_text((*cfg)->path, text, len, ncfg, err, sizeof err) :
	    config_load((*cfg)->path, ncfg, err, sizeof err)) == 0) {
		/* Nothing keeps pointers into the config across a callback: the old one can go. */
		config_free(*cfg);
		free(*cfg);
		*cfg = ncfg;
		ev_info("config-reloaded");
	} else {
		free(ncfg);
		ev_err("config-reload-failed", KS("error", err));
	}
}

void
role_reload_tls(SSL_CTX **ctx, const struct tls_certs *certs, const struct config *cfg)
{
	char err[512];

	if (certs->main.cert == NULL)
		return;
	SSL_CTX *n = tls_server_ctx(certs, cfg, err, sizeof err);
	if (n == NULL) {
		ev_err("tls-reload-failed", KS("error", err));
		return;
	}
	/* Live sessions hold their own reference to the old context. */
	SSL_CTX_free(*ctx);
	*ctx = n;
	ev_info("tls-reloaded", KN("sni", certs->nsni));
}

void
role_dummy_hash(char *out, size_t outlen)
{
	unsigned char rnd[16];
	char pw[40];

	if (getrandom(rnd, sizeof rnd, 0) != sizeof rnd)
		memset(rnd, 0x5a, sizeof rnd);
	for (size_t i = 0; i < sizeof rnd; i++)
		snprintf(pw + 2 * i, 3, "%02x", rnd[i]);
	if (password_hash(pw, out, outlen) < 0)
		snprintf(out, outlen, "*");
}

static void
on_stop(evutil_socket_t sig, short what, void *arg)
{
	ev_info("stopping", KN("signal", sig));
	event_base_loopexit(arg, NULL);
}

int
role_signals(struct event_base *base, struct event *sigs[2])
{
	static const int signums[2] = { SIGTERM, SIGINT };

	/* Reloads come through the control channel, not SIGHUP. */
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	for (int i = 0; i < 2; i++) {
		sigs[i] = evsignal_new(base, signums[i], on_stop, base);
		if (sigs[i] == NULL || event_add(sigs[i], NULL) < 0)
			return -1;
	}
	return 0;
}

static void
on_reload(void *arg, const char *config_text, size_t config_len, const struct tls_certs *certs)
{
	struct role_control *rc = arg;

	/* Sessions read the config afresh at each use; the new one has the [tls] policy. */
	if (config_text != NULL) {
		if (rc->cfg_lock != NULL)
			pthread_rwlock_wrlock(rc->cfg_lock);
		role_reload_config(rc->cfg, config_text, config_len);
		if (rc->cfg_lock != NULL)
			pthread_rwlock_unlock(rc->cfg_lock);
	}
	if (rc->tls != NULL)
		role_reload_tls(rc->tls, certs, *rc->cfg);
}

static void
on_gone(void *arg)
{
	struct role_control *rc = arg;

	ev_info("stopping", KS("reason", "supervisor gone"));
	event_base_loopexit(rc->base, NULL);
}

int
role_control_start(struct role_control *rc, struct event_base *base, int ctl_fd,
    struct config **cfg, SSL_CTX **tls)
{
	rc->base = base;
	rc->cfg = cfg;
	rc->tls = tls;
	if (role_signals(base, rc->sigs) < 0)
		return -1;
	rc->ctl = ctl_new(base, ctl_fd, on_reload, on_gone, rc);
	return rc->ctl != NULL ? 0 : -1;
}

void
role_control_free(struct role_control *rc)
{
	ctl_free(rc->ctl);
	rc->ctl = NULL;
	for (int i = 0; i < 2; i++) {
		if (rc->sigs[i])
			event_free(rc->sigs[i]);
		rc->sigs[i] = NULL;
	}
}

int
role_serve_start(struct role_control *rc, struct role_listeners *l, struct event_base *base,
    const struct role_env *env, struct config **cfg, SSL_CTX **tls)
{
	char err[512];

	*tls = NULL;
	if (env->certs->main.cert != NULL &&
	    (*tls = tls_server_ctx(env->certs, env->cfg, err, sizeof err)) == NULL) {
		ev_err("start-failed", KS("error", err));
		return -1;
	}
	if (role_control_start(rc, base, env->ctl_fd, cfg, tls) < 0)
		return -1;
	return role_listen(l, base, env);
}

int
role_begin(const char *role, const struct role_env *env, struct event_base **base,
    struct accounts **acct)
{
	char err[512];

	log_init(role, env->cfg->log_dest);
	if ((*base = evbase_new()) == NULL)
		return -1;
	if (acct != NULL && (*acct = accounts_open_remote(env->cfg->data_dir, err, sizeof err)) == NULL) {
		ev_err("start-failed", KS("error", err));
		return -1;
	}
	return 0;
}

void
role_serve_stop(struct role_control *rc, struct role_listeners *l,
    struct line_session **sessions, SSL_CTX *tls)
{
	role_listeners_free(l);
	while (*sessions)
		line_session_destroy(*sessions);
	role_control_free(rc);
	SSL_CTX_free(tls);
	role_pools_free(l);
}

void
role_end(struct event_base *base, struct accounts *acct, struct config *cfg)
{
	accounts_close(acct);
	if (base)
		event_base_free(base);
	if (cfg) {
		config_free(cfg);
		free(cfg);
	}
}

void
role_run(struct event_base *base, enum sandbox_profile profile, const char *role,
    const struct config *cfg)
{
	sandbox_enter(profile, cfg);
	sandbox_probe(role, cfg);
	ev_info("started");
	event_base_dispatch(base);
}

static void
on_accept(struct evconnlistener *el, evutil_socket_t fd, struct sockaddr *sa, int salen,
    void *arg)
{
	struct role_listen_ctx *lc = arg;
	struct role_listeners *l = lc->l;
	const struct config *cfg = *l->cfg;
	char ip[SOCKADDR_TEXT_MAX], key[CONN_KEY_MAX], line[512];
	struct conn_slot slot;

	sockaddr_ip(sa, ip, sizeof ip, NULL);
	conn_limit_key(sa, cfg->connection_prefix_v4, cfg->connection_prefix_v6, key, sizeof key);
	bool trusted = config_is_trusted(cfg, sa);
	/* Too many new connections a minute from one network (trusted ones are exempt). */
	if (!trusted && !rate_limit_take(&l->rates[lc->svc], key, cfg->connection_rate_limit,
	    time(NULL))) {
		l->refusal(l->srv, line, sizeof line);
		ssize_t w = send(fd, line, strlen(line), MSG_DONTWAIT | MSG_NOSIGNAL);
		(void)w;
		close(fd);
		metrics_refused(MX_REFUSE_RATE_LIMIT);
		ev_info("reject", KS("client", ip), KS("service", service_name(lc->svc)),
		    KS("stage", "connect"), KS("reason", "connection-rate-limit"),
		    KN("limit", cfg->connection_rate_limit), KS("net", key));
		return;
	}
	if (!conn_limit_enter(&l->pools[lc->svc], key, cfg->max_connections,
	    cfg->max_connections_per_ip, &slot)) {
		/* Said in the clear even on an implicit-TLS port: a client learns why, or fails its handshake. */
		l->refusal(l->srv, line, sizeof line);
		ssize_t w = send(fd, line, strlen(line), MSG_DONTWAIT | MSG_NOSIGNAL);
		(void)w;
		close(fd);
		metrics_refused(MX_REFUSE_TOO_MANY_CONNECTIONS);
		ev_info("reject", KS("client", ip), KS("service", service_name(lc->svc)),
		    KS("stage", "connect"), KS("reason", "too-many-connections"));
		return;
	}
	MX_INC(conn_accepted[lc->svc]);
	struct role_client c = { fd, lc->svc, ip, trusted, slot };
	if (l->accept(l->srv, &c) < 0) {
		close(fd);
		conn_slot_leave(&c.slot);
		ev_err("connect-failed", KS("client", ip), KS("error", "out of memory"));
	}
}

int
role_listen(struct role_listeners *l, struct event_base *base, const struct role_env *env)
{
	l->n = 0;
	l->ctx = calloc(env->nfds ? env->nfds : 1, sizeof *l->ctx);
	l->v = calloc(env->nfds ? env->nfds : 1, sizeof *l->v);
	if (l->ctx == NULL || l->v == NULL)
		return -1;
	for (size_t i = 0; i < env->nfds; i++) {
		l->ctx[i].l = l;
		l->ctx[i].svc = env->fds[i].svc;
		/* This process owns the gauge now: what an earlier one had open is gone with it. */
		l->pools[env->fds[i].svc].published = &metrics->conn_open[env->fds[i].svc];
		MX_SET(conn_open[env->fds[i].svc], l->pools[env->fds[i].svc].total);
		evutil_make_socket_nonblocking(env->fds[i].fd);
		l->v[i] = evconnlistener_new(base, on_accept, &l->ctx[i], LEV_OPT_CLOSE_ON_FREE, -1,
		    env->fds[i].fd);
		if (l->v[i] == NULL)
			return -1;
		l->n++;
	}
	return 0;
}

void
role_listeners_free(struct role_listeners *l)
{
	for (size_t i = 0; i < l->n; i++)
		evconnlistener_free(l->v[i]);
	free(l->v);
	free(l->ctx);
	l->v = NULL;
	l->ctx = NULL;
	l->n = 0;
}

void
role_pools_free(struct role_listeners *l)
{
	for (int i = 0; i < SVC_COUNT; i++) {
		conn_limit_free(&l->pools[i]);
		rate_limit_free(&l->rates[i]);
	}
}
