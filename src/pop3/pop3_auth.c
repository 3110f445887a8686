/*
 * pop3_auth.c - the AUTHORIZATION state: USER/PASS (RFC 1939) and AUTH PLAIN
 * (RFC 5034), refused in the clear outside trusted_networks (RFC 2595). The
 * login (checked by lookupd, which alone sees password hashes and counts
 * failures across connections) and the maildrop snapshot run together on a
 * worker thread (yescrypt costs milliseconds, a large Maildir as many); a
 * refusal comes after a delay, and max_auth_failures, or a block by lookupd,
 * end the connection.
 */
#include "pop3/pop3_session_int.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "accounts.h"
#include "deliver/maildir.h"
#include "pop3/pop3d.h"
#include "smtp/sasl.h"
#include "util/log.h"
#include "util/workpool.h"

#define AUTH_FAIL_DELAY 1 /* seconds before -ERR [AUTH]: slows down password guessing */

struct login_job {
	struct pop3_session *s;
	const char *method;
	struct accounts *acct;
	char user[ADDR_MAX + 1];
	char password[SASL_FIELD_MAX];
	char ip[64];
	const char *service;
	char path[4096];
	enum lookup_verdict verdict;
	bool ok;                 /* the password matched */
	enum maildrop_status st; /* the maildrop, when it did */
	char err[256];
	struct maildrop md;
};

bool
pop3_login_allowed(const struct pop3_session *s)
{
	return s->tls || s->trusted;
}

static void
login_work(void *arg)
{
	struct login_job *j = arg;

	j->verdict = accounts_verify(j->acct, j->user, j->password, j->ip, j->service);
	j->ok = j->verdict == VERDICT_OK;
	explicit_bzero(j->password, sizeof j->password);
	if (j->ok)
		j->st = maildrop_open(&j->md, j->path, j->err, sizeof j->err);
}

static void
fail_reply(evutil_socket_t fd, short what, void *arg)
{
	struct pop3_session *s = arg;

	event_free(s->auth_delay);
	s->auth_delay = NULL;
	s->waiting = false;
	if (s->auth_blocked) {
		pop3_reply(s, "-ERR [AUTH] Too many failed logins, try again later");
		pop3_close_after_flush(s, "login blocked");
	} else if (s->auth_failures >= s->srv->cfg->max_auth_failures) {
		pop3_reply(s, "-ERR [AUTH] Authentication failed; too many failures, closing");
		pop3_close_after_flush(s, "too many authentication failures");
	} else {
		pop3_reply(s, "-ERR [AUTH] Authentication failed");
	}
	pop3_release(s);
	if (!s->closing)
		pop3_process(s);
}

/* auth_failed - count it, then answer after a delay; s->busy is held until then. */
static void
auth_failed(struct pop3_session *s, const char *user, bool blocked)
{
	s->auth_failures++;
	s->auth_blocked = blocked;
	log_info("login failed: user=%s client=%s%s", user, s->ip, blocked ? " (blocked)" : "");
	s->waiting = true;
	s->busy++;
	struct timeval tv = { AUTH_FAIL_DELAY, 0 };
	s->auth_delay = evtimer_new(s->srv->base, fail_reply, s);
	if (s->auth_delay == NULL || evtimer_add(s->auth_delay, &tv) < 0) {
		if (s->auth_delay)
			event_free(s->auth_delay);
		s->auth_delay = NULL;
		s->busy--;
		s->waiting = false;
		pop3_reply(s, "-ERR [AUTH] Authentication failed");
	}
}

static void
login_done(void *arg)
{
	struct login_job *j = arg;
	struct pop3_session *s = j->s;

	s->waiting = false;
	s->srv->login_pending--;
	if (s->closing) {
		if (j->ok && j->st == MAILDROP_OK)
			maildrop_close(&j->md);
		goto out;
	}
	if (j->verdict == VERDICT_BUSY || j->verdict == VERDICT_TEMPFAIL) {
		log_warn("login of %s from %s not checked: %s", j->user, s->ip,
		    j->verdict == VERDICT_BUSY ? "too many logins waiting" : "lookupd not answering");
		pop3_reply(s, "-ERR [SYS/TEMP] Temporary authentication failure, try again later");
		goto out;
	}
	if (!j->ok) {
		auth_failed(s, j->user, j->verdict == VERDICT_BLOCKED);
		goto out;
	}
	if (j->st == MAILDROP_IN_USE) {
		log_info("mailbox in use: user=%s client=%s", j->user, s->ip);
		pop3_reply(s, "-ERR [IN-USE] Mailbox is open in another session");
		goto out;
	}
	if (j->st != MAILDROP_OK) {
		log_err("cannot open the mailbox of %s: %s", j->user, j->err);
		pop3_reply(s, "-ERR [SYS/TEMP] Cannot open the mailbox, try again later");
		goto out;
	}
	s->md = malloc(sizeof *s->md);
	s->login = strdup(j->user);
	if (s->md == NULL || s->login == NULL) {
		maildrop_close(&j->md);
		free(s->md);
		free(s->login);
		s->md = NULL;
		s->login = NULL;
		pop3_reply(s, "-ERR [SYS/TEMP] Out of memory, try again later");
		goto out;
	}
	*s->md = j->md;
	pop3_enter(s, P_TRANSACTION);
	log_info("login: user=%s client=%s method=%s%s messages=%zu size=%llu", j->user, s->ip,
	    j->method, s->tls ? " tls" : "", s->md->n, (unsigned long long)s->md->total_size);
	pop3_reply(s, "+OK Logged in, %zu messages (%llu octets)", s->md->n,
	    (unsigned long long)s->md->total_size);
out:
	pop3_release(s);
	explicit_bzero(j, sizeof *j);
	free(j);
	if (!s->closing)
		pop3_process(s);
}

/* start_login - look the user up, then check the password and open the maildrop on a thread. */
static void
start_login(struct pop3_session *s, const char *method, const char *authzid,
    const char *authcid, const char *password)
{
	struct login_job *j = calloc(1, sizeof *j);
	char zid[ADDR_MAX + 1];

	if (j == NULL) {
		pop3_reply(s, "-ERR [SYS/TEMP] Temporary authentication failure");
		return;
	}
	j->s = s;
	j->method = method;
	/* No proxy authorization: authzid, when given, must name the same user. */
	bool ok = address_canonical(authcid, j->user, sizeof j->user, false) == 0;
	if (ok && authzid[0] != '\0')
		ok = address_canonical(authzid, zid, sizeof zid, false) == 0 &&
		    strcmp(zid, j->user) == 0;
	if (ok && maildir_path(s->srv->mail_dir, j->user, j->path, sizeof j->path) < 0)
		ok = false;
	if (!ok) {
		snprintf(j->user, sizeof j->user, "%.*s", ADDR_MAX, authcid);
		auth_failed(s, j->user, false);
		free(j);
		return;
	}
	if (s->srv->login_pending >= s->srv->cfg->login_queue) {
		log_warn("login of %s from %s refused: %u checks already waiting", j->user, s->ip,
		    s->srv->login_pending);
		free(j);
		pop3_reply(s, "-ERR [SYS/TEMP] Temporary authentication failure, try again later");
		return;
	}
	j->acct = s->srv->acct;
	snprintf(j->ip, sizeof j->ip, "%s", s->ip);
	j->service = service_name(s->svc);
	snprintf(j->password, sizeof j->password, "%s", password);
	s->busy++;
	s->waiting = true;
	s->srv->login_pending++;
	if (workpool_submit(s->srv->work, login_work, login_done, j) < 0) {
		s->srv->login_pending--;
		s->busy--;
		s->waiting = false;
		explicit_bzero(j, sizeof *j);
		free(j);
		pop3_reply(s, "-ERR [SYS/TEMP] Temporary authentication failure");
	}
}

static bool
refuse_cleartext(struct pop3_session *s)
{
	if (pop3_login_allowed(s))
		return false;
	pop3_error(s, "-ERR [AUTH] Plaintext authentication is not allowed without TLS%s",
	    pop3_stls_offered(s) ? " (use STLS)" : "");
	return true;
}

bool
pop3_cleartext_check(struct pop3_session *s, const struct pop3_cmd *cmd)
{
	return !refuse_cleartext(s);
}

void
pop3_user(struct pop3_session *s, const struct pop3_cmd *cmd)
{
	s->user[0] = '\0';
	if (cmd->arglen > ADDR_MAX) {
		pop3_error(s, "-ERR [AUTH] Invalid user name");
		return;
	}
	memcpy(s->user, cmd->arg, cmd->arglen);
	s->user[cmd->arglen] = '\0';
	/* The same answer whether the user exists or not. */
	pop3_reply(s, "+OK Send PASS");
}

void
pop3_pass(struct pop3_session *s, const struct pop3_cmd *cmd)
{
	char pw[SASL_FIELD_MAX];

	if (s->user[0] == '\0') {
		pop3_error(s, "-ERR Send USER first");
		return;
	}
	if (cmd->arglen >= sizeof pw) {
		auth_failed(s, s->user, false);
		s->user[0] = '\0';
		return;
	}
	memcpy(pw, cmd->arg, cmd->arglen);
	pw[cmd->arglen] = '\0';
	/* RFC 1939: after PASS, right or wrong, a new login starts with USER. */
	char user[ADDR_MAX + 1];
	memcpy(user, s->user, sizeof user);
	s->user[0] = '\0';
	start_login(s, "USER", "", user, pw);
	explicit_bzero(pw, sizeof pw);
}

static void
plain_response(struct pop3_session *s, const char *b64, size_t len)
{
	struct sasl_plain p;

	if (sasl_plain_decode(b64, len, &p) < 0) {
		pop3_error(s, "-ERR Cannot decode the PLAIN response");
		return;
	}
	start_login(s, "PLAIN", p.authzid, p.authcid, p.password);
	explicit_bzero(&p, sizeof p);
}

void
pop3_auth(struct pop3_session *s, const struct pop3_cmd *cmd)
{
	s->user[0] = '\0';
	if (cmd->arglen == 0) {
		/* The mechanism list of RFC 1734, which some clients still ask for. */
		pop3_reply(s, "+OK Methods follow");
		pop3_reply(s, "PLAIN");
		pop3_reply(s, ".");
		return;
	}
	if (cmd->arglen != 5 || strncasecmp(cmd->arg, "PLAIN", 5) != 0) {
		pop3_error(s, "-ERR Unsupported authentication mechanism");
		return;
	}
	if (refuse_cleartext(s))
		return;
	if (!cmd->has_arg2) {
		s->sasl_wait = true;
		pop3_reply(s, "+ ");
		return;
	}
	/* RFC 5034: "=" is the empty initial response (which PLAIN cannot use). */
	plain_response(s, cmd->arg2, cmd->arg2len);
}

void
pop3_sasl_response(struct pop3_session *s, const char *line, size_t len)
{
	if (len == 1 && line[0] == '*') {
		pop3_error(s, "-ERR Authentication cancelled");
		return;
	}
	plain_response(s, line, len);
}
