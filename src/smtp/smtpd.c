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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deliver/dns.h"
#include "deliver/dns_ops.h"
#include "dkim/dkim_vkeycache.h"
#include "dkim/dkim_vpool.h"
#include "net/sockaddr.h"
#include "role.h"
#include "smtp/smtp_session.h"
#include "util/log.h"

#define AUTH_THREADS 2
#define DKIM_THREADS 2  /* the public-key checks, the larger part of verifying a message */

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

int
smtpd_main(const struct role_env *env)
{
	struct smtpd srv = { .store.msgdir_fd = -1 };
	struct role_control control = { 0 };
	char err[512];
	int rc = 1;

	srv.cfg = env->cfg;
	if (role_begin("smtpd", env, &srv.base, &srv.acct) < 0)
		goto out;
	if (store_open(&srv.store, srv.cfg->data_dir, srv.base, err, sizeof err) < 0) {
		ev_err("start-failed", KS("error", err));
		goto out;
	}
	report_log_init(&srv.dmarc_log, srv.store.queue_dir);
	/* queued reads the ids as it can; they wait in our buffer meanwhile (a lost
	 * one is found by queued's rescan of the spool). */
	if (env->queue_fd >= 0 &&
	    (srv.queue_bev = bufferevent_socket_new(srv.base, env->queue_fd, BEV_OPT_CLOSE_ON_FREE)) != NULL)
		bufferevent_enable(srv.queue_bev, EV_WRITE);
	if (login_pool_start(&srv.logins, srv.base, srv.acct, &srv.cfg, AUTH_THREADS) < 0)
		goto out;
	/*
	 * DNS for the checks of mail from outside and the DNSBLs (made at start: turning
	 * them on later needs a restart); without it mail is accepted unchecked.
	 */
	if (srv.cfg->inbound_verify || srv.cfg->ndnsbl > 0) {
		if ((srv.dns = dns_new(srv.base, srv.cfg->resolver, err, sizeof err)) == NULL)
			ev_err("checks-off", KS("error", err));
		else
			srv.dns_ops = dns_ops_of(srv.dns);
		/* The loop's own keys (ARC's, and DKIM's without threads); the threads keep theirs. */
		srv.dkim_keys = dkim_vkeycache_new();
		if ((srv.dkim_pool = dkim_vpool_new(srv.base, DKIM_THREADS)) == NULL)
			ev_warn("dkim-threads-off", KS("error", "cannot start threads"),
			    KS("action", "checking signatures on the loop"));
	}
	srv.listeners = (struct role_listeners){ .srv = &srv, .cfg = &srv.cfg,
		.refusal = refusal, .accept = admit };
	if (role_serve_start(&control, &srv.listeners, srv.base, env, &srv.cfg, &srv.tls_ctx) < 0)
		goto out;
	role_run(srv.base, SANDBOX_SMTPD, "smtpd", srv.cfg);
	rc = 0;
out:
	/* Finish what threads still hold (their callbacks touch sessions), then the sessions;
	 * a finished check may still commit a message, so before the store. */
	dkim_vpool_free(srv.dkim_pool);
	store_close(&srv.store);
	login_pool_stop(&srv.logins);
	role_serve_stop(&control, &srv.listeners, &srv.sessions, srv.tls_ctx);
	dns_free(srv.dns);
	dkim_vkeycache_free(srv.dkim_keys);
	screen_free(&srv.screen);
	rate_limit_free(&srv.message_rates);
	if (srv.queue_bev)
		bufferevent_free(srv.queue_bev);
	role_end(srv.base, srv.acct, srv.cfg);
	return rc;
}
