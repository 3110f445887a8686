/*
 * smtp_tls.c - the session's transport: plain or implicit TLS at connect, and
 * the STARTTLS upgrade (RFC 3207), which forgets everything said before it and
 * drops whatever the client pipelined behind the command (CVE-2011-0411).
 */
#include "smtp/smtp_session_int.h"

#include <event2/bufferevent.h>
#include <stdlib.h>
#include <string.h>

#include "net/tls.h"
#include "net/tls_bev.h"
#include "smtp/smtpd.h"
#include "util/log.h"

int
session_start_io(struct smtp_session *s, int fd)
{
	struct event_base *base = s->srv->base;

	if (s->svc == SVC_SUBMISSIONS) {
		if ((s->bev = tls_bev_accept(base, fd, s->srv->tls_ctx)) == NULL)
			return -1;
		s->tls = true;
		session_set_bev(s);
		/* The greeting waits in the buffer until the handshake is done. */
		session_greet(s);
		return 0;
	}
	s->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (s->bev == NULL)
		return -1;
	session_set_bev(s);
	session_greet(s);
	return 0;
}

bool
session_starttls_offered(const struct smtp_session *s)
{
	return !s->tls && s->srv->tls_ctx != NULL &&
	    (s->svc == SVC_SMTP || s->svc == SVC_SUBMISSION);
}

bool
session_starttls_check(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	if (s->tls) {
		session_error(s, "554 5.5.1 Error: TLS already active");
		return false;
	}
	if (!session_starttls_offered(s)) {
		session_error(s, "502 5.5.1 Error: STARTTLS is not available here");
		return false;
	}
	return true;
}

void
session_starttls(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	/* The 220 goes out in the clear ahead of the handshake, in the plain buffer. */
	session_reply(s, "220 2.0.0 Ready to start TLS");
	size_t injected;
	struct bufferevent *tls = tls_bev_upgrade(s->srv->base, s->bev, s->srv->tls_ctx, &injected);
	if (tls == NULL) {
		session_close_after_flush(s, "TLS setup failed");
		return;
	}
	if (injected > 0)
		log_info("discarded %zu octets pipelined after STARTTLS from %s", injected, s->ip);
	s->bev = tls;
	s->tls = true;
	txn_free(s);
	free(s->helo);
	s->helo = NULL;
	s->esmtp = false;
	/* A login made in cleartext (trusted networks may) is knowledge from before, too. */
	free(s->auth_user);
	s->auth_user = NULL;
	s->auth_step = AUTH_NONE;
	session_enter(s, S_CONNECTED);
	session_set_bev(s);
	session_deadline(s); /* the handshake's */
}

void
session_tls_established(struct smtp_session *s)
{
	tls_bev_log_established(s->bev, s->ip);
	session_deadline(s); /* now the first command's */
}

void
session_tls_log_error(struct smtp_session *s)
{
	if (s->bev != NULL && s->tls)
		tls_bev_log_errors(s->bev, s->ip);
}
