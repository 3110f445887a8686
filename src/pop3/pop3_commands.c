/*
 * pop3_commands.c - the POP3 verbs as data: commands[] says for each verb in
 * which state it may run (RFC 1939's AUTHORIZATION or TRANSACTION), what else
 * must hold (check, which sends the refusal) and what does it (proceed).
 * pop3_dispatch looks a command line up in the table. CAPA and QUIT before login
 * are here; logging in is in pop3_auth.c, the maildrop commands in pop3_trans.c.
 */
#include "pop3/pop3_session_int.h"

#include <stddef.h>

#define IN(st) (1u << (st))

struct pop3_command {
	enum pop3_verb verb;
	unsigned states; /* IN() of each state this row is for */
	/* in no row's states: send the refusal for the state the session is in */
	void (*refuse)(struct pop3_session *s);
	/* may it run now? If not it has sent the refusal. NULL: yes. */
	bool (*check)(struct pop3_session *s, const struct pop3_cmd *cmd);
	void (*proceed)(struct pop3_session *s, const struct pop3_cmd *cmd);
};

static void
cmd_capa(struct pop3_session *s, const struct pop3_cmd *cmd)
{
	line_session_reply(&s->ls, "+OK Capability list follows");
	line_session_reply(&s->ls, "TOP");
	line_session_reply(&s->ls, "UIDL");
	line_session_reply(&s->ls, "RESP-CODES");
	line_session_reply(&s->ls, "AUTH-RESP-CODE");
	line_session_reply(&s->ls, "PIPELINING");
	if (s->state == P_AUTHORIZATION) {
		/* RFC 2595 section 4: no USER where it would send the password in the clear. */
		if (pop3_login_allowed(s))
			line_session_reply(&s->ls, "USER");
		line_session_reply(&s->ls, "SASL PLAIN");
		if (pop3_stls_offered(s))
			line_session_reply(&s->ls, "STLS");
	}
	line_session_reply(&s->ls, "IMPLEMENTATION mailroom");
	line_session_reply(&s->ls, ".");
}

static void
cmd_quit(struct pop3_session *s, const struct pop3_cmd *cmd)
{
	line_session_reply(&s->ls, "+OK Bye");
	line_session_close_after_flush(&s->ls, "quit");
}

static void
refuse_logged_in(struct pop3_session *s)
{
	line_session_refuse(&s->ls, "-ERR Already logged in");
}

static void
refuse_log_in_first(struct pop3_session *s)
{
	line_session_refuse(&s->ls, "-ERR Log in first");
}

static const struct pop3_command commands[] = {
	{ POP3_CMD_CAPA, IN(P_AUTHORIZATION) | IN(P_TRANSACTION), NULL, NULL, cmd_capa },
	{ POP3_CMD_QUIT, IN(P_AUTHORIZATION), NULL, NULL, cmd_quit },
	{ POP3_CMD_QUIT, IN(P_TRANSACTION), NULL, NULL, trans_quit }, /* the UPDATE state */
	{ POP3_CMD_USER, IN(P_AUTHORIZATION), refuse_logged_in, pop3_cleartext_check, pop3_user },
	{ POP3_CMD_PASS, IN(P_AUTHORIZATION), refuse_logged_in, pop3_cleartext_check, pop3_pass },
	{ POP3_CMD_AUTH, IN(P_AUTHORIZATION), refuse_logged_in, NULL, pop3_auth },
	{ POP3_CMD_STLS, IN(P_AUTHORIZATION), refuse_logged_in, pop3_stls_check, pop3_stls },
	{ POP3_CMD_STAT, IN(P_TRANSACTION), refuse_log_in_first, NULL, trans_stat },
	{ POP3_CMD_LIST, IN(P_TRANSACTION), refuse_log_in_first, NULL, trans_list },
	{ POP3_CMD_UIDL, IN(P_TRANSACTION), refuse_log_in_first, NULL, trans_uidl },
	{ POP3_CMD_RETR, IN(P_TRANSACTION), refuse_log_in_first, NULL, trans_retr },
	{ POP3_CMD_TOP, IN(P_TRANSACTION), refuse_log_in_first, NULL, trans_top },
	{ POP3_CMD_DELE, IN(P_TRANSACTION), refuse_log_in_first, NULL, trans_dele },
	{ POP3_CMD_NOOP, IN(P_TRANSACTION), refuse_log_in_first, NULL, trans_noop },
	{ POP3_CMD_RSET, IN(P_TRANSACTION), refuse_log_in_first, NULL, trans_rset },
};

static void
parse_error(struct pop3_session *s, enum pop3_parse_error err)
{
	switch (err) {
	case POP3_ERR_SYNTAX:
		line_session_refuse(&s->ls, "-ERR Syntax error in arguments");
		break;
	case POP3_ERR_CONTROL:
		line_session_refuse(&s->ls, "-ERR Control characters are not allowed in commands");
		break;
	case POP3_ERR_EMPTY:
		line_session_refuse(&s->ls, "-ERR Empty command");
		break;
	default:
		line_session_refuse(&s->ls, "-ERR Unknown command");
		break;
	}
}

void
pop3_dispatch(struct pop3_session *s, const char *line, size_t len)
{
	struct pop3_cmd cmd;
	enum pop3_parse_error err;
	const struct pop3_command *other = NULL; /* the verb's row for another state */

	if (s->sasl_wait) {
		s->sasl_wait = false;
		pop3_sasl_response(s, line, len);
		return;
	}
	if (s->md != NULL)
		maildrop_touch(s->md); /* its lock is alive for other hosts too */
	if (pop3_cmd_parse(line, len, &cmd, &err) < 0) {
		parse_error(s, err);
		return;
	}
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
		const struct pop3_command *c = &commands[i];
		if (c->verb != cmd.verb)
			continue;
		if (!(c->states & IN(s->state))) {
			other = c;
			continue;
		}
		if (c->check == NULL || c->check(s, &cmd))
			c->proceed(s, &cmd);
		return;
	}
	if (other != NULL)
		other->refuse(s);
	else
		parse_error(s, POP3_ERR_UNKNOWN);
}
