/*
 * smtp_auth.c - SMTP AUTH (RFC 4954) with PLAIN (RFC 4616) and LOGIN on the
 * submission listeners: only over TLS or from trusted networks. The check, the
 * delay before a refusal and the hang-up after max_auth_failures (or a block by
 * lookupd) are session/login.c's; the replies are SMTP's.
 */
#include "smtp/smtp_session_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "smtp/sasl.h"
#include "smtp/smtpd.h"
#include "util/log.h"

bool
session_auth_offered(const struct smtp_session *s)
{
	struct policy_facts f = session_facts(s);
	struct policy_decision d;

	policy_auth(&f, &d);
	return !policy_refused(&d) && s->srv->logins.work != NULL;
}

static void
accepted(void *owner, struct login_job *j)
{
	struct smtp_session *s = owner;

	if ((s->auth_user = strdup(j->user)) == NULL) {
		session_reply(s, "454 4.7.0 Temporary authentication failure");
		return;
	}
	ev_info("login", KS("user", j->user), KS("client", s->ip), KS("service", service_name(s->svc)),
	    KS("tls", s->tls ? "yes" : "no"));
	session_reply(s, "235 2.7.0 Authentication successful");
}

static void
refused(void *owner, enum login_refusal why)
{
	struct smtp_session *s = owner;
	const char *host = s->srv->cfg->hostname;

	if (why == LOGIN_BLOCKED) {
		session_reply(s, "421 4.7.0 %s Error: too many failed logins, try again later", host);
		session_close_after_flush(s, "login blocked");
		return;
	}
	session_reply(s, "535 5.7.8 Error: authentication failed");
	if (why == LOGIN_TOO_MANY) {
		session_reply(s, "421 4.7.0 %s Error: too many authentication failures", host);
		session_close_after_flush(s, "too many authentication failures");
	}
}

static void
tempfail(void *owner, bool later)
{
	session_reply(owner, "454 4.7.0 Temporary authentication failure%s",
	    later ? ", try again later" : "");
}

static const struct login_ops smtp_login = {
	.accepted = accepted,
	.refused = refused,
	.tempfail = tempfail,
};

void
session_auth_init(struct smtp_session *s)
{
	login_init(&s->auth, &s->ls, &smtp_login, &s->srv->logins, service_name(s->svc));
}

static void
plain_response(struct smtp_session *s, const char *b64, size_t len)
{
	struct sasl_plain p;

	if (sasl_plain_decode(b64, len, &p) < 0) {
		session_error(s, "501 5.5.2 Error: cannot decode the PLAIN response");
		return;
	}
	login_start(&s->auth, p.authzid, p.authcid, p.password);
	explicit_bzero(&p, sizeof p);
}

static void
login_password(struct smtp_session *s, const char *b64, size_t len)
{
	char pw[SASL_FIELD_MAX] = "";

	/* An empty response is an empty password: refused as a wrong one. */
	if (len > 0 && sasl_login_decode(b64, len, pw, sizeof pw) < 0) {
		session_error(s, "501 5.5.2 Error: cannot decode the LOGIN response");
		return;
	}
	login_start(&s->auth, "", s->auth_login_user, pw);
	explicit_bzero(pw, sizeof pw);
}

/* auth_permitted - whether this listener and transport allow AUTH; else the refusal is sent. */
static bool
auth_permitted(struct smtp_session *s)
{
	struct policy_facts f = session_facts(s);
	struct policy_decision d;

	policy_auth(&f, &d);
	return session_allowed(s, &d);
}

void
session_auth_refuse(struct smtp_session *s)
{
	if (!auth_permitted(s))
		return;
	if (s->state == S_CONNECTED)
		session_error(s, "503 5.5.1 Error: send HELO/EHLO first");
	else if (s->auth_user != NULL)
		session_error(s, "503 5.5.1 Error: already authenticated");
	else
		session_error(s, "503 5.5.1 Error: MAIL transaction in progress");
}

bool
session_auth_check(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	if (!auth_permitted(s))
		return false;
	if (s->auth_user != NULL) {
		session_error(s, "503 5.5.1 Error: already authenticated");
		return false;
	}
	return true;
}

void
session_auth(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	const char *a = cmd->args, *end = cmd->args + cmd->argslen;
	const char *sp = memchr(a, ' ', cmd->argslen);
	size_t mlen = sp ? (size_t)(sp - a) : cmd->argslen;
	const char *ir = sp ? sp + 1 : NULL; /* the initial response */
	size_t irlen = ir ? (size_t)(end - ir) : 0;

	if (mlen == 5 && strncasecmp(a, "PLAIN", 5) == 0) {
		if (ir == NULL) {
			s->auth_step = AUTH_PLAIN_RESPONSE;
			session_reply(s, "334 ");
		} else {
			plain_response(s, ir, irlen);
		}
	} else if (mlen == 5 && strncasecmp(a, "LOGIN", 5) == 0) {
		if (ir == NULL) {
			s->auth_step = AUTH_LOGIN_USER;
			session_reply(s, "334 VXNlcm5hbWU6");
		} else if (sasl_login_decode(ir, irlen, s->auth_login_user,
		    sizeof s->auth_login_user) < 0) {
			session_error(s, "501 5.5.2 Error: cannot decode the LOGIN response");
		} else {
			s->auth_step = AUTH_LOGIN_PASSWORD;
			session_reply(s, "334 UGFzc3dvcmQ6");
		}
	} else {
		session_error(s, "504 5.5.4 Error: unsupported authentication mechanism");
	}
}

void
session_auth_continue(struct smtp_session *s, const char *line, size_t len)
{
	enum auth_step step = s->auth_step;

	s->auth_step = AUTH_NONE;
	if (len == 1 && line[0] == '*') {
		session_error(s, "501 5.7.0 Error: authentication aborted");
		return;
	}
	switch (step) {
	case AUTH_PLAIN_RESPONSE:
		plain_response(s, line, len);
		break;
	case AUTH_LOGIN_USER:
		if (sasl_login_decode(line, len, s->auth_login_user, sizeof s->auth_login_user) < 0) {
			session_error(s, "501 5.5.2 Error: cannot decode the LOGIN response");
			return;
		}
		s->auth_step = AUTH_LOGIN_PASSWORD;
		session_reply(s, "334 UGFzc3dvcmQ6");
		break;
	case AUTH_LOGIN_PASSWORD:
		login_password(s, line, len);
		break;
	case AUTH_NONE:
		break;
	}
}
