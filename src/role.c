/* role.c - what the role processes (smtpd, queued, pop3d) do alike: reloads, signals. */
#include "role.h"

#include <event2/event.h>
#include <event2/listener.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/conn_limit.h"
#include "net/sockaddr.h"
#include "password.h"
#include "util/log.h"

void
role_reload_config(struct config **cfg)
{
	char err[512] = "out of memory";
	struct config *ncfg = calloc(1, sizeof *ncfg);

	if (ncfg && config_load((*cfg)->path, ncfg, err, sizeof err) == 0) {
		/* Nothing keeps pointers into the config across a callback: the old one can go. */
		config_free(*cfg);
		free(*cfg);
		*cfg = ncfg;
		log_info("configuration reloaded");
	} else {
		free(ncfg);
		log_err("reload failed, keeping the old configuration: %s", err);
	}
}

void
role_reload_tls(SSL_CTX **ctx, const struct tls_pem *pem)
{
	char err[512];

	if (pem->cert == NULL)
		return;
	SSL_CTX *n = tls_server_ctx(pem, err, sizeof err);
	if (n == NULL) {
		log_err("TLS reload failed, keeping the old certificate: %s", err);
		return;
	}
	/* Live sessions hold their own reference to the old context. */
	SSL_CTX_free(*ctx);
	*ctx = n;
	log_info("TLS certificate reloaded");
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
	log_info("stopping");
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
	if (!conn_limit_enter(&l->pools[lc->svc], key, cfg->max_connections,
	    cfg->max_connections_per_ip, &slot)) {
		/* Said in the clear even on an implicit-TLS port: a client learns why, or fails its handshake. */
		l->refusal(l->srv, line, sizeof line);
		ssize_t w = send(fd, line, strlen(line), MSG_DONTWAIT | MSG_NOSIGNAL);
		(void)w;
		close(fd);
		log_info("refused connection from %s on %s: too many connections", ip,
		    service_name(lc->svc));
		return;
	}
	struct role_client c = { fd, lc->svc, ip, config_is_trusted(cfg, sa), slot };
	if (l->accept(l->srv, &c) < 0) {
		close(fd);
		conn_slot_leave(&c.slot);
		log_err("cannot set up the connection from %s: out of memory", ip);
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
	for (int i = 0; i < SVC_COUNT; i++)
		conn_limit_free(&l->pools[i]);
}
