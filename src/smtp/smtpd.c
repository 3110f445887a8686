/*
 * smtpd.c - the SMTP role: accepts connections on the smtp, submission and
 * submissions listeners (with the connection limits), owns what the sessions
 * share (accounts, spool committer, TLS context, password workers), reloads on
 * the supervisor's word, and stops on SIGTERM.
 */
#include "smtp/smtpd.h"

#include <errno.h>
#include <fcntl.h>
#include <event2/bufferevent.h>
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
#include "queue/commit.h"
#include "role.h"
#include "sandbox/sandbox.h"
#include "session/line_session.h"
#include "smtp/smtp_session.h"
#include "util/evbase.h"
#include "util/log.h"
#include "util/workpool.h"

#define AUTH_THREADS 2

static void
refusal(void *arg, char *line, size_t len)
{
	struct smtpd *srv = arg;
	snprintf(line, len, "421 4.7.0 %s Error: too many connections\r\n", srv->cfg->hostname);
}

static int
admit(void *arg, const struct role_client *c)
{
	return smtp_session_new(arg, c);
}

static void
on_reload(void *arg, const struct tls_pem *pem)
{
	struct smtpd *srv = arg;

	/* Sessions read srv->cfg afresh at each use. */
	role_reload_config(&srv->cfg);
	role_reload_tls(&srv->tls_ctx, pem);
}

static void
on_gone(void *arg)
{
	struct smtpd *srv = arg;
	log_info("supervisor gone, stopping");
	event_base_loopexit(srv->base, NULL);
}

int
smtpd_main(const struct role_env *env)
{
	struct smtpd srv = { .msgdir_fd = -1 };
	struct event *sigs[2] = { 0 };
	struct ctl *ctl = NULL;
	char err[512];
	int rc = 1;

	log_init("smtpd", env->cfg->log_syslog);
	srv.cfg = env->cfg;
	snprintf(srv.queue_dir, sizeof srv.queue_dir, "%s/queue", srv.cfg->data_dir);
	if ((srv.base = evbase_new()) == NULL)
		goto out;
	if ((srv.acct = accounts_open_remote(srv.cfg->data_dir, err, sizeof err)) == NULL) {
		log_err("%s", err);
		goto out;
	}
	snprintf(srv.mail_dir, sizeof srv.mail_dir, "%s/mail", srv.cfg->data_dir);
	char msgdir[4200];
	snprintf(msgdir, sizeof msgdir, "%s/msg", srv.queue_dir);
	if ((srv.msgdir_fd = open(msgdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		log_err("cannot open %s: %s", msgdir, strerror(errno));
		goto out;
	}
	if ((srv.committer = committer_new(srv.base)) == NULL) {
		log_err("cannot start the commit thread: %s", strerror(errno));
		goto out;
	}
	/* queued reads the ids as it can; they wait in our buffer meanwhile (a lost
	 * one is found by queued's rescan of the spool). */
	if (env->queue_fd >= 0 &&
	    (srv.queue_bev = bufferevent_socket_new(srv.base, env->queue_fd, BEV_OPT_CLOSE_ON_FREE)) != NULL)
		bufferevent_enable(srv.queue_bev, EV_WRITE);
	if (env->pem->cert != NULL &&
	    (srv.tls_ctx = tls_server_ctx(env->pem, err, sizeof err)) == NULL) {
		log_err("%s", err);
		goto out;
	}
	srv.logins = (struct login_pool){ .acct = srv.acct, .cfg = &srv.cfg };
	if ((srv.logins.work = workpool_new(srv.base, AUTH_THREADS)) == NULL)
		goto out;
	if ((ctl = ctl_new(srv.base, env->ctl_fd, on_reload, on_gone, &srv)) == NULL)
		goto out;
	srv.listeners = (struct role_listeners){ .srv = &srv, .cfg = &srv.cfg,
		.refusal = refusal, .accept = admit };
	if (role_listen(&srv.listeners, srv.base, env) < 0)
		goto out;
	if (role_signals(srv.base, sigs) < 0)
		goto out;
	sandbox_enter(SANDBOX_SMTPD, srv.cfg);
	sandbox_probe("smtpd", srv.cfg);
	log_info("started");
	event_base_dispatch(srv.base);
	rc = 0;
out:
	role_listeners_free(&srv.listeners);
	/* Finish what threads still hold (their callbacks touch sessions), then the sessions. */
	committer_free(srv.committer);
	workpool_free(srv.logins.work);
	while (srv.sessions)
		line_session_destroy(srv.sessions);
	ctl_free(ctl);
	for (int i = 0; i < 2; i++)
		if (sigs[i])
			event_free(sigs[i]);
	SSL_CTX_free(srv.tls_ctx);
	if (srv.msgdir_fd >= 0)
		close(srv.msgdir_fd);
	if (srv.queue_bev)
		bufferevent_free(srv.queue_bev);
	role_pools_free(&srv.listeners);
	accounts_close(srv.acct);
	if (srv.base)
		event_base_free(srv.base);
	config_free(srv.cfg);
	free(srv.cfg);
	return rc;
}
