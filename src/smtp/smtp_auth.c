/*
 * smtp_auth.c - SMTP AUTH (RFC 4954) with PLAIN (RFC 4616) and LOGIN on the
 * submission listeners: only over TLS or from trusted networks, the login
 * checked by lookupd (which alone sees password hashes and counts failures
 * across connections) from a worker thread, a delay before each refusal, and a
 * hang-up after max_auth_failures or when lookupd blocks the client or account.
 */
#include "smtp/smtp_session_int.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accounts.h"
#include "smtp/sasl.h"
#include "smtp/smtpd.h"
#include "util/log.h"
#include "util/workpool.h"

#define AUTH_FAIL_DELAY 1 /* seconds before a 535: slows down password guessing */

struct auth_job {
	struct smtp_session *s;
	struct accounts *acct;
	char user[ADDR_MAX + 1];
	char password[SASL_FIELD_MAX];
	char ip[64];
	const char *service;
	enum lookup_verdict verdict;
};

bool
session_auth_offered(const struct smtp_session *s)
{
	return (s->svc == SVC_SUBMISSION || s->svc == SVC_SUBMISSIONS) && (s->tls || s->trusted) &&
	    s->srv->auth != NULL;
}

static void
verify_work(void *arg)
{
	struct auth_job *j = arg;
	j->verdict = accounts_verify(j->acct, j->user, j->password, j->ip, j->service);
	explicit_bzero(j->password, sizeof j->password);
}

static void
fail_reply(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_session *s = arg;

	event_free(s->auth_delay);
	s->auth_delay = NULL;
	s->auth_waiting = false;
	if (s->auth_blocked) {
		session_reply(s, "421 4.7.0 %s Error: too many failed logins, try again later",
		    s->srv->cfg->hostname);
		session_close_after_flush(s, "login blocked");
	} else {
		session_reply(s, "535 5.7.8 Error: authentication failed");
	}
	if (!s->closing && s->auth_failures >= s->srv->cfg->max_auth_failures) {
		session_reply(s, "421 4.7.0 %s Error: too many authentication failures",
		    s->srv->cfg->hostname);
		session_close_after_flush(s, "too many authentication failures");
	}
	session_release(s);
	if (!s->closing)
		session_process(s);
}

/* auth_failed - count it, then answer after a delay; s->busy is held until then. */
static void
auth_failed(struct smtp_session *s, const char *user, bool blocked)
{
	s->auth_failures++;
	s->auth_blocked = blocked;
	log_info("login failed: user=%s client=%s%s", user, s->ip, blocked ? " (blocked)" : "");
	s->auth_waiting = true;
	s->busy++;
	struct timeval tv = { AUTH_FAIL_DELAY, 0 };
	s->auth_delay = evtimer_new(s->srv->base, fail_reply, s);
	if (s->auth_delay == NULL || evtimer_add(s->auth_delay, &tv) < 0) {
		if (s->auth_delay)
			event_free(s->auth_delay);
		s->auth_delay = NULL;
		s->busy--;
		s->auth_waiting = false;
		session_reply(s, "535 5.7.8 Error: authentication failed");
	}
}

static void
verify_done(void *arg)
{
	struct auth_job *j = arg;
	struct smtp_session *s = j->s;

	s->srv->auth_pending--;
	if (s->closing) {
		session_release(s);
		free(j);
		return;
	}
	if (j->verdict == VERDICT_BUSY || j->verdict == VERDICT_TEMPFAIL) {
		s->auth_waiting = false;
		log_warn("login of %s from %s not checked: %s", j->user, s->ip,
		    j->verdict == VERDICT_BUSY ? "too many logins waiting" : "lookupd not answering");
		session_reply(s, "454 4.7.0 Temporary authentication failure, try again later");
		session_release(s);
		free(j);
		session_process(s);
		return;
	}
	if (j->verdict == VERDICT_OK && (s->auth_user = strdup(j->user)) != NULL) {
		log_info("login: user=%s client=%s method=%s", j->user, s->ip, s->tls ? "tls" : "plain");
		session_reply(s, "235 2.7.0 Authentication successful");
		s->auth_waiting = false;
		session_release(s);
		free(j);
		session_process(s);
		return;
	}
	s->auth_waiting = false;
	auth_failed(s, j->user, j->verdict == VERDICT_BLOCKED);
	session_release(s);
	free(j);
}

/* start_verify - look the user up, then check the password on a worker thread. */
static void
start_verify(struct smtp_session *s, const char *authzid, const char *authcid,
    const char *password)
{
	struct auth_job *j = calloc(1, sizeof *j);
	char zid[ADDR_MAX + 1];

	if (j == NULL) {
		session_reply(s, "454 4.7.0 Temporary authentication failure");
		return;
	}
	j->s = s;
	/* No proxy authorization: authzid, when given, must name the same user. */
	bool ok = address_canonical(authcid, j->user, sizeof j->user, false) == 0;
	if (ok && authzid[0] != '\0')
		ok = address_canonical(authzid, zid, sizeof zid, false) == 0 &&
		    strcmp(zid, j->user) == 0;
	if (!ok) {
		snprintf(j->user, sizeof j->user, "%.*s", ADDR_MAX, authcid);
		auth_failed(s, j->user, false);
		free(j);
		return;
	}
	if (s->srv->auth_pending >= s->srv->cfg->login_queue) {
		log_warn("login of %s from %s refused: %u checks already waiting", j->user, s->ip,
		    s->srv->auth_pending);
		free(j);
		session_reply(s, "454 4.7.0 Temporary authentication failure, try again later");
		return;
	}
	j->acct = s->srv->acct;
	snprintf(j->ip, sizeof j->ip, "%s", s->ip);
	j->service = service_name(s->svc);
	snprintf(j->password, sizeof j->password, "%s", password);
	s->busy++;
	s->auth_waiting = true;
	s->srv->auth_pending++;
	if (workpool_submit(s->srv->auth, verify_work, verify_done, j) < 0) {
		s->srv->auth_pending--;
		s->busy--;
		s->auth_waiting = false;
		explicit_bzero(j, sizeof *j);
		free(j);
		session_reply(s, "454 4.7.0 Temporary authentication failure");
	}
}

static void
plain_response(struct smtp_session *s, const char *b64, size_t len)
{
	struct sasl_plain p;

	if (sasl_plain_decode(b64, len, &p) < 0) {
		session_error(s, "501 5.5.2 Error: cannot decode the PLAIN response");
		return;
	}
	start_verify(s, p.authzid, p.authcid, p.password);
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
	start_verify(s, "", s->auth_login_user, pw);
	explicit_bzero(pw, sizeof pw);
}

/* auth_permitted - whether this listener and transport allow AUTH; else the refusal is sent. */
static bool
auth_permitted(struct smtp_session *s)
{
	if (s->svc != SVC_SUBMISSION && s->svc != SVC_SUBMISSIONS) {
		session_error(s, "503 5.5.1 Error: authentication not enabled");
		return false;
	}
	if (!s->tls && !s->trusted) {
		session_error(s, "538 5.7.11 Encryption required for requested authentication mechanism");
		return false;
	}
	return true;
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
