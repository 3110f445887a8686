/*
 * smtp_commands.c - the SMTP verbs as data: commands[] says for each verb in which
 * states it may run, what else must hold (check, which sends the refusal), and what
 * does it (proceed). session_dispatch looks a command line up in the table. The
 * verbs outside the mail transaction (smtp_txn.c), STARTTLS (smtp_tls.c) and AUTH
 * (smtp_auth.c) are here.
 */
#include "smtp/smtp_session_int.h"

#include <stdlib.h>
#include <string.h>

#include "smtp/smtpd.h"

/* The states a command may be read in (never while text or a commit is under way). */
#define IN(st) (1u << (st))
#define ANY_STATE (IN(S_CONNECTED) | IN(S_READY) | IN(S_MAIL) | IN(S_RCPT))

#define CMD_NO_ARGS 0x1 /* arguments are a syntax error (501), whatever the state */

struct smtp_command {
	const char *name;
	enum smtp_verb verb;
	unsigned states; /* IN() of each state it may run in */
	unsigned flags;
	/* outside states: send the right refusal for the state the session is in */
	void (*refuse)(struct smtp_session *s);
	/* in states: may it run now? If not it has sent the refusal. NULL: yes. */
	bool (*check)(struct smtp_session *s, const struct smtp_cmd *cmd);
	void (*proceed)(struct smtp_session *s, const struct smtp_cmd *cmd);
};

static void
helo(struct smtp_session *s, const struct smtp_cmd *cmd, bool ehlo)
{
	char name[ADDR_DOMAIN_MAX + 1];
	struct smtp_error err;
	const struct config *cfg = s->srv->cfg;

	if (smtp_parse_helo(cmd->args, cmd->argslen, name, sizeof name, &err) < 0) {
		session_error(s, "%d %s %s", err.code, err.status, err.text);
		return;
	}
	txn_reset(s);
	free(s->helo);
	s->helo = strdup(name);
	s->esmtp = ehlo;
	session_enter(s, S_READY);
	if (!ehlo) {
		session_reply(s, "250 %s", cfg->hostname);
		return;
	}
	session_reply(s, "250-%s", cfg->hostname);
	session_reply(s, "250-PIPELINING");
	session_reply(s, "250-SIZE %llu", (unsigned long long)cfg->max_message_size);
	if (session_starttls_offered(s))
		session_reply(s, "250-STARTTLS");
	if (session_auth_offered(s))
		session_reply(s, "250-AUTH PLAIN LOGIN");
	session_reply(s, "250-ENHANCEDSTATUSCODES");
	session_reply(s, "250-8BITMIME");
	session_reply(s, "250-SMTPUTF8");
	session_reply(s, "250 CHUNKING");
}

static void
cmd_helo(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	helo(s, cmd, false);
}

static void
cmd_ehlo(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	helo(s, cmd, true);
}

static void
cmd_rset(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	txn_reset(s);
	if (s->state != S_CONNECTED)
		session_enter(s, S_READY);
	session_reply(s, "250 2.0.0 Ok");
}

static void
cmd_noop(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	session_reply(s, "250 2.0.0 Ok");
}

static void
cmd_help(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	session_reply(s, "214 2.0.0 See RFC 5321; this is mailroom");
}

static void
cmd_vrfy(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	/* RFC 5321 3.5.3: neither confirm nor deny (no address harvesting). */
	session_reply(s, "252 2.5.2 Cannot VRFY user, but will accept message and attempt delivery");
}

static void
cmd_expn(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	session_error(s, "502 5.5.1 Error: EXPN is not supported");
}

static void
cmd_quit(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	session_reply(s, "221 2.0.0 Bye");
	session_close_after_flush(s, "quit");
}

static void
cmd_unknown(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	/* RFC 5321 4.2.4: 500 for an unrecognized command, 502 only for a known one. */
	session_error(s, "500 5.5.2 Error: command not recognized");
}

static void
refuse_mail(struct smtp_session *s)
{
	if (s->state == S_CONNECTED)
		session_error(s, "503 5.5.1 Error: send HELO/EHLO first");
	else
		session_error(s, "503 5.5.1 Error: nested MAIL command");
}

static bool
check_mail(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	struct policy_facts f = session_facts(s);
	struct policy_decision d;

	policy_mail(&f, &d);
	return session_allowed(s, &d);
}

static void
refuse_rcpt(struct smtp_session *s)
{
	session_error(s, "503 5.5.1 Error: need MAIL command");
}

static void
refuse_data(struct smtp_session *s)
{
	if (s->state == S_MAIL)
		session_error(s, "554 5.5.1 Error: no valid recipients");
	else
		session_error(s, "503 5.5.1 Error: need RCPT command");
}

static bool
check_data(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	if (s->txn->bdat) {
		session_error(s, "503 5.5.1 Error: DATA after BDAT");
		return false;
	}
	return true;
}

static const struct smtp_command commands[] = {
	{ "HELO", SMTP_CMD_HELO, ANY_STATE, 0, NULL, NULL, cmd_helo },
	{ "EHLO", SMTP_CMD_EHLO, ANY_STATE, 0, NULL, NULL, cmd_ehlo },
	{ "MAIL", SMTP_CMD_MAIL, IN(S_READY), 0, refuse_mail, check_mail, txn_mail },
	{ "RCPT", SMTP_CMD_RCPT, IN(S_MAIL) | IN(S_RCPT), 0, refuse_rcpt, NULL, txn_rcpt },
	{ "DATA", SMTP_CMD_DATA, IN(S_RCPT), CMD_NO_ARGS, refuse_data, check_data, txn_data },
	/* The chunk follows the command whatever the state: txn_bdat reads it, then refuses. */
	{ "BDAT", SMTP_CMD_BDAT, ANY_STATE, 0, NULL, NULL, txn_bdat },
	{ "RSET", SMTP_CMD_RSET, ANY_STATE, 0, NULL, NULL, cmd_rset },
	{ "NOOP", SMTP_CMD_NOOP, ANY_STATE, 0, NULL, NULL, cmd_noop },
	{ "HELP", SMTP_CMD_HELP, ANY_STATE, 0, NULL, NULL, cmd_help },
	{ "VRFY", SMTP_CMD_VRFY, ANY_STATE, 0, NULL, NULL, cmd_vrfy },
	{ "EXPN", SMTP_CMD_EXPN, ANY_STATE, 0, NULL, NULL, cmd_expn },
	{ "QUIT", SMTP_CMD_QUIT, ANY_STATE, 0, NULL, NULL, cmd_quit },
	{ "STARTTLS", SMTP_CMD_STARTTLS, ANY_STATE, CMD_NO_ARGS, NULL, session_starttls_check,
	    session_starttls },
	/* Whether AUTH may be used here at all is said before the state (session_auth_check). */
	{ "AUTH", SMTP_CMD_AUTH, IN(S_READY), 0, session_auth_refuse, session_auth_check,
	    session_auth },
	{ "", SMTP_CMD_UNKNOWN, ANY_STATE, 0, NULL, NULL, cmd_unknown },
};

/* lookup - the table's row for verb (every verb the parser returns has one). */
static const struct smtp_command *
lookup(enum smtp_verb verb)
{
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (commands[i].verb == verb)
			return &commands[i];
	return &commands[sizeof commands / sizeof commands[0] - 1];
}

void
session_dispatch(struct smtp_session *s, const char *line, size_t len)
{
	struct smtp_cmd cmd;
	struct smtp_error err;

	if (s->auth_step != AUTH_NONE) {
		/* An AUTH response, not a command: whatever it holds ends the exchange. */
		session_auth_continue(s, line, len);
		return;
	}
	if (smtp_cmd_parse(line, len, &cmd, &err) < 0) {
		session_error(s, "%d %s %s", err.code, err.status, err.text);
		return;
	}
	const struct smtp_command *c = lookup(cmd.verb);
	if ((c->flags & CMD_NO_ARGS) && cmd.argslen > 0) {
		session_error(s, "501 5.5.4 Syntax: %s", c->name);
		return;
	}
	if (!(c->states & IN(s->state))) {
		c->refuse(s);
		return;
	}
	if (c->check != NULL && !c->check(s, &cmd))
		return;
	c->proceed(s, &cmd);
}
