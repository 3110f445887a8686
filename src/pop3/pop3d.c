/*
 * pop3d.c - the POP3 role: accepts connections on the pop3 and pop3s listeners
 * (with the connection limits, a pool for each listener), owns what
 * the sessions share (accounts, TLS context, the workers that check passwords
 * and list maildrops), reloads on the supervisor's word, and stops on SIGTERM
 * or when the supervisor is gone.
 */
#include "pop3/pop3d.h"

#include <event2/event.h>
#include <event2/listener.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "accounts.h"
#include "net/ctl.h"
#include "net/sockaddr.h"
#include "pop3/pop3_session.h"
#include "role.h"
#include "sandbox/sandbox.h"
#include "session/line_session.h"
#include "util/evbase.h"
#include "util/log.h"
#include "util/workpool.h"

#define WORK_THREADS 2

static void
refusal(void *arg, char *line, size_t len)
{
	snprintf(line, len, "-ERR [SYS/TEMP] Too many connections, try again later\r\n");
}

static int
admit(void *arg, const struct role_client *c)
{
	return pop3_session_new(arg, c);
}

static void
on_reload(void *arg, const struct tls_pem *pem)
{
	struct pop3d *srv = arg;

	/* Sessions read srv->cfg afresh at each use. */
	role_reload_config(&srv->cfg);
	role_reload_tls(&srv->tls_ctx, pem);
}

static void
on_gone(void *arg)
{
	struct pop3d *srv = arg;
	log_info("supervisor gone, stopping");
	event_base_loopexit(srv->base, NULL);
}

int
pop3d_main(const struct role_env *env)
{
	struct pop3d srv = { 0 };
	struct event *sigs[2] = { 0 };
	struct ctl *ctl = NULL;
	char err[512];
	int rc = 1;

	log_init("pop3d", env->cfg->log_syslog);
	srv.cfg = env->cfg;
	snprintf(srv.mail_dir, sizeof srv.mail_dir, "%s/mail", srv.cfg->data_dir);
	if ((srv.base = evbase_new()) == NULL)
		goto out;
	if ((srv.acct = accounts_open_remote(srv.cfg->data_dir, err, sizeof err)) == NULL) {
		log_err("%s", err);
		goto out;
	}
	if (env->pem->cert != NULL &&
	    (srv.tls_ctx = tls_server_ctx(env->pem, err, sizeof err)) == NULL) {
		log_err("%s", err);
		goto out;
	}
	srv.logins = (struct login_pool){ .acct = srv.acct, .cfg = &srv.cfg };
	if ((srv.logins.work = workpool_new(srv.base, WORK_THREADS)) == NULL)
		goto out;
	if ((ctl = ctl_new(srv.base, env->ctl_fd, on_reload, on_gone, &srv)) == NULL)
		goto out;
	srv.listeners = (struct role_listeners){ .srv = &srv, .cfg = &srv.cfg,
		.refusal = refusal, .accept = admit };
	if (role_listen(&srv.listeners, srv.base, env) < 0)
		goto out;
	if (role_signals(srv.base, sigs) < 0)
		goto out;
	sandbox_enter(SANDBOX_POP3D, srv.cfg);
	sandbox_probe("pop3d", srv.cfg);
	log_info("started");
	event_base_dispatch(srv.base);
	rc = 0;
out:
	role_listeners_free(&srv.listeners);
	/* Finish what the workers hold (their completions touch sessions), then the sessions. */
	workpool_free(srv.logins.work);
	while (srv.sessions)
		line_session_destroy(srv.sessions);
	ctl_free(ctl);
	for (int i = 0; i < 2; i++)
		if (sigs[i])
			event_free(sigs[i]);
	SSL_CTX_free(srv.tls_ctx);
	role_pools_free(&srv.listeners);
	accounts_close(srv.acct);
	if (srv.base)
		event_base_free(srv.base);
	config_free(srv.cfg);
	free(srv.cfg);
	return rc;
}
