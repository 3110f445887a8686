/*
 * smtp_tls.c - STARTTLS (RFC 3207): offered on smtp and submission when a
 * certificate is configured; the upgrade forgets everything said before it, and
 * drops whatever the client pipelined behind the command (CVE-2011-0411).
 */
#include "smtp/smtp_session_int.h"

#include <stdlib.h>

#include "smtp/smtpd.h"

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
	if (line_session_upgrade(&s->ls, s->srv->tls_ctx, "STARTTLS") < 0) {
		session_close_after_flush(s, "TLS setup failed");
		return;
	}
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
}
