/*
 * pop3_tls.c - STLS (RFC 2595): offered on pop3 when a certificate is
 * configured; the upgrade forgets the USER said before it and drops whatever the
 * client pipelined behind the command.
 */
#include "pop3/pop3_session_int.h"

#include "pop3/pop3d.h"

bool
pop3_stls_offered(const struct pop3_session *s)
{
	return !s->tls && s->srv->tls_ctx != NULL && s->svc == SVC_POP3 &&
	    s->state == P_AUTHORIZATION;
}

bool
pop3_stls_check(struct pop3_session *s, const struct pop3_cmd *cmd)
{
	if (s->tls) {
		line_session_refuse(&s->ls, "-ERR TLS is already active");
		return false;
	}
	if (!pop3_stls_offered(s)) {
		line_session_refuse(&s->ls, "-ERR STLS is not available");
		return false;
	}
	return true;
}

void
pop3_stls(struct pop3_session *s, const struct pop3_cmd *cmd)
{
	line_session_reply(&s->ls, "+OK Begin TLS negotiation");
	if (line_session_upgrade(&s->ls, s->srv->tls_ctx, "STLS") < 0) {
		line_session_close_after_flush(&s->ls, "TLS setup failed");
		return;
	}
	s->tls = true;
	s->user[0] = '\0';
	s->sasl_wait = false;
}
