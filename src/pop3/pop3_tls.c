/*
 * pop3_tls.c - the session's transport: plain or implicit TLS (pop3s) at
 * connect, and the STLS upgrade (RFC 2595), which forgets the USER said before
 * it and drops whatever the client pipelined behind the command.
 */
#include "pop3/pop3_session_int.h"

#include <event2/bufferevent.h>

#include "net/tls.h"
#include "net/tls_bev.h"
#include "pop3/pop3d.h"
#include "util/log.h"

int
pop3_start_io(struct pop3_session *s, int fd)
{
	struct event_base *base = s->srv->base;

	if (s->svc == SVC_POP3S) {
		if ((s->bev = tls_bev_accept(base, fd, s->srv->tls_ctx)) == NULL)
			return -1;
		s->tls = true;
		pop3_set_bev(s);
		/* The greeting waits in the buffer until the handshake is done. */
		pop3_greet(s);
		return 0;
	}
	s->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (s->bev == NULL)
		return -1;
	pop3_set_bev(s);
	pop3_greet(s);
	return 0;
}

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
		pop3_error(s, "-ERR TLS is already active");
		return false;
	}
	if (!pop3_stls_offered(s)) {
		pop3_error(s, "-ERR STLS is not available");
		return false;
	}
	return true;
}

void
pop3_stls(struct pop3_session *s, const struct pop3_cmd *cmd)
{
	pop3_reply(s, "+OK Begin TLS negotiation");
	size_t injected;
	struct bufferevent *tls = tls_bev_upgrade(s->srv->base, s->bev, s->srv->tls_ctx, &injected);
	if (tls == NULL) {
		pop3_close_after_flush(s, "TLS setup failed");
		return;
	}
	if (injected > 0)
		log_info("discarded %zu octets pipelined after STLS from %s", injected, s->ip);
	s->bev = tls;
	s->tls = true;
	s->user[0] = '\0';
	s->sasl_wait = false;
	pop3_set_bev(s); /* and the handshake's deadline */
}

void
pop3_tls_established(struct pop3_session *s)
{
	tls_bev_log_established(s->bev, s->ip);
	pop3_timeouts(s);
}

void
pop3_tls_log_error(struct pop3_session *s)
{
	if (s->bev != NULL && s->tls)
		tls_bev_log_errors(s->bev, s->ip);
}
