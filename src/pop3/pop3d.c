/*
 * pop3d.c - the POP3 role: accepts connections on the pop3 and pop3s listeners
 * (with the connection limits, a pool for each listener), owns what
 * the sessions share (accounts, TLS context, the workers that check passwords
 * and list maildrops), reloads on the supervisor's word, and stops on SIGTERM
 * or when the supervisor is gone.
 */
#include "pop3/pop3d.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pop3/pop3_session.h"
#include "role.h"
#include "util/log.h"

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

int
pop3d_main(const struct role_env *env)
{
	struct pop3d srv = { 0 };
	struct role_control control = { 0 };
	int rc = 1;

	srv.cfg = env->cfg;
	snprintf(srv.mail_dir, sizeof srv.mail_dir, "%s/mail", srv.cfg->data_dir);
	if (role_begin("pop3d", env, &srv.base, &srv.acct) < 0)
		goto out;
	if (login_pool_start(&srv.logins, srv.base, srv.acct, &srv.cfg, WORK_THREADS) < 0)
		goto out;
	srv.listeners = (struct role_listeners){ .srv = &srv, .cfg = &srv.cfg,
		.refusal = refusal, .accept = admit };
	if (role_serve_start(&control, &srv.listeners, srv.base, env, &srv.cfg, &srv.tls_ctx) < 0)
		goto out;
	role_run(srv.base, SANDBOX_POP3D, "pop3d", srv.cfg);
	rc = 0;
out:
	/* Finish what the workers hold (their completions touch sessions), then the sessions. */
	login_pool_stop(&srv.logins);
	role_serve_stop(&control, &srv.listeners, &srv.sessions, srv.tls_ctx);
	role_end(srv.base, srv.acct, srv.cfg);
	return rc;
}
