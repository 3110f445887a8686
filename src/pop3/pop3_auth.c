/*
 * pop3_auth.c - the AUTHORIZATION state: USER/PASS (RFC 1939) and AUTH PLAIN
 * (RFC 5034), refused in the clear outside trusted_networks (RFC 2595). The
 * check (session/login.c: lookupd, the delay before a refusal, the hang-up after
 * max_auth_failures or a block) and the maildrop snapshot run together on a
 * worker thread (yescrypt costs milliseconds, a large Maildir as many).
 */
#include "pop3/pop3_session_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store/maildir.h"
#include "pop3/pop3d.h"
#include "smtp/sasl.h"
#include "util/log.h"

/* What a POP3 login does besides the password: the maildrop, locked and listed. */
struct maildrop_job {
	char path[4096];
	time_t stale_after;     /* of another host's lock: its session cannot be idle longer */
	enum maildrop_status st;
	char err[256];
	struct maildrop md;
};

bool
pop3_login_allowed(const struct pop3_session *s)
{
	return s->tls || s->trusted;
}

static bool
prepare(void *owner, struct login_job *j)
{
	struct pop3_session *s = owner;
	struct maildrop_job *d = (void *)j->data;

	d->stale_after = (time_t)s->srv->cfg->command_timeout + 2 * MAILDROP_TOUCH_INTERVAL;
	return maildir_path(s->srv->mail_dir, j->user, d->path, sizeof d->path) == 0;
}

/* open_maildrop - on the worker thread: a large Maildir costs as much time as yescrypt. */
static void
open_maildrop(struct login_job *j)
{
	struct maildrop_job *d = (void *)j->data;

	d->st = maildrop_open(&d->md, d->path, d->stale_after, d->err, sizeof d->err);
}

static void
discard(struct login_job *j)
{
	struct maildrop_job *d = (void *)j->data;

	if (d->st == MAILDROP_OK)
		maildrop_close(&d->md);
}

static void
accepted(void *owner, struct login_job *j)
{
	struct pop3_session *s = owner;
	struct maildrop_job *d = (void *)j->data;

	if (d->st == MAILDROP_IN_USE) {
		ev_info("mailbox-in-use", KS("user", j->user), KS("client", s->ip));
		line_session_reply(&s->ls, "-ERR [IN-USE] Mailbox is open in another session");
		return;
	}
	if (d->st != MAILDROP_OK) {
		ev_err("mailbox-error", KS("user", j->user), KS("client", s->ip), KS("what", "open"),
		    KS("error", d->err));
		line_session_reply(&s->ls, "-ERR [SYS/TEMP] Cannot open the mailbox, try again later");
		return;
	}
	s->md = malloc(sizeof *s->md);
	s->login = strdup(j->user);
	if (s->md == NULL || s->login == NULL) {
		maildrop_close(&d->md);
		free(s->md);
		free(s->login);
		s->md = NULL;
		s->login = NULL;
		line_session_reply(&s->ls, "-ERR [SYS/TEMP] Out of memory, try again later");
		return;
	}
	*s->md = d->md;
	pop3_enter(s, P_TRANSACTION);
	ev_info("login", KS("user", j->user), KS("client", s->ip), KS("service", service_name(s->svc)),
	    KS("tls", s->tls ? "yes" : "no"), KS("method", s->login_method), KN("messages", s->md->n),
	    KN("size", s->md->total_size));
	line_session_reply(&s->ls, "+OK Logged in, %zu messages (%llu octets)", s->md->n,
	    (unsigned long long)s->md->total_size);
}

static void
refused(void *owner, enum login_refusal why)
{
	struct pop3_session *s = owner;

	if (why == LOGIN_BLOCKED) {
		line_session_reply(&s->ls, "-ERR [AUTH] Too many failed logins, try again later");
		line_session_close_after_flush(&s->ls, "login blocked");
	} else if (why == LOGIN_TOO_MANY) {
		line_session_reply(&s->ls, "-ERR [AUTH] Authentication failed; too many failures, closing");
		line_session_close_after_flush(&s->ls, "too many authentication failures");
	} else {
		line_session_reply(&s->ls, "-ERR [AUTH] Authentication failed");
	}
}

static void
tempfail(void *owner, bool later)
{
	struct pop3_session *s = owner;

	line_session_reply(&s->ls, "-ERR [SYS/TEMP] Temporary authentication failure%s",
	    later ? ", try again later" : "");
}

static const struct login_ops pop3_login = {
	.data_size = sizeof(struct maildrop_job),
	.prepare = prepare,
	.work = open_maildrop,
	.accepted = accepted,
	.discard = discard,
	.refused = refused,
	.tempfail = tempfail,
};

void
pop3_auth_init(struct pop3_session *s)
{
	login_init(&s->auth, &s->ls, &pop3_login, &s->srv->logins, service_name(s->svc));
}

/* start_login - the password check and the maildrop snapshot, on a worker thread. */
static void
start_login(struct pop3_session *s, const char *method, const char *authzid,
    const char *authcid, const char *password)
{
	s->login_method = method;
	login_start(&s->auth, authzid, authcid, password);
}

static bool
refuse_cleartext(struct pop3_session *s)
{
	if (pop3_login_allowed(s))
		return false;
	line_session_refuse(&s->ls, "-ERR [AUTH] Plaintext authentication is not allowed without TLS%s",
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
		line_session_refuse(&s->ls, "-ERR [AUTH] Invalid user name");
		return;
	}
	memcpy(s->user, cmd->arg, cmd->arglen);
	s->user[cmd->arglen] = '\0';
	/* The same answer whether the user exists or not. */
	line_session_reply(&s->ls, "+OK Send PASS");
}

void
pop3_pass(struct pop3_session *s, const struct pop3_cmd *cmd)
{
	char pw[SASL_FIELD_MAX];

	if (s->user[0] == '\0') {
		line_session_refuse(&s->ls, "-ERR Send USER first");
		return;
	}
	if (cmd->arglen >= sizeof pw) {
		login_failed(&s->auth, s->user);
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
		line_session_refuse(&s->ls, "-ERR Cannot decode the PLAIN response");
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
		line_session_reply(&s->ls, "+OK Methods follow");
		line_session_reply(&s->ls, "PLAIN");
		line_session_reply(&s->ls, ".");
		return;
	}
	if (cmd->arglen != 5 || strncasecmp(cmd->arg, "PLAIN", 5) != 0) {
		line_session_refuse(&s->ls, "-ERR Unsupported authentication mechanism");
		return;
	}
	if (refuse_cleartext(s))
		return;
	if (!cmd->has_arg2) {
		s->sasl_wait = true;
		line_session_reply(&s->ls, "+ ");
		return;
	}
	/* RFC 5034: "=" is the empty initial response (which PLAIN cannot use). */
	plain_response(s, cmd->arg2, cmd->arg2len);
}

void
pop3_sasl_response(struct pop3_session *s, const char *line, size_t len)
{
	if (len == 1 && line[0] == '*') {
		line_session_refuse(&s->ls, "-ERR Authentication cancelled");
		return;
	}
	plain_response(s, line, len);
}
