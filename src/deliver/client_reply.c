/* client_reply.c - the SMTP client's reply table: stage and reply class to action. */
#include "deliver/client_reply.h"

enum client_action
client_reply_action(enum client_stage st, int code, const struct reply_ctx *c)
{
	int class = code / 100;

	switch (st) {
	case STAGE_GREETING:
		return code == 220 ? ACT_PROCEED : ACT_TRY_NEXT;
	case STAGE_EHLO:
		if (class == 2)
			return ACT_PROCEED;
		/* After STARTTLS a refused EHLO is no old server: try elsewhere. */
		return class == 5 && !c->tls ? ACT_HELO : ACT_TRY_NEXT;
	case STAGE_HELO:
		return class == 2 ? ACT_PROCEED : ACT_TRY_NEXT;
	case STAGE_STARTTLS:
		if (code == 220)
			return ACT_PROCEED;
		return c->tls_required ? ACT_TLS_REQUIRED : ACT_CLEAR;
	case STAGE_AUTH:
		return code == 235 ? ACT_PROCEED : ACT_AUTH_FAILED;
	case STAGE_MAIL:
		/* A kept connection the server is closing on us (its idle timeout): not the mail's fault. */
		if (code == 421 && c->reused)
			return ACT_STALE;
		return class == 2 ? ACT_PROCEED : ACT_FAIL_ALL;
	case STAGE_RSET:
		return class == 2 ? ACT_PROCEED : ACT_STALE;
	case STAGE_RCPT:
		return class == 2 ? ACT_RCPT_ACCEPTED : ACT_RCPT_REFUSED;
	case STAGE_DATA:
		if (code == 354)
			return c->rcpt_ok > 0 ? ACT_SEND_TEXT : ACT_EMPTY_TEXT;
		return class < 4 ? ACT_DATA_ODD : ACT_ANSWER_ACCEPTED;
	case STAGE_DOT:
		return ACT_ANSWER_ACCEPTED;
	case STAGE_QUIT:
	case STAGE_IDLE: /* unasked for, while kept (a 421 on the server's timeout): done with it */
		return ACT_CLOSE;
	case STAGE_CONNECTING:
	case STAGE_TLS:
	case STAGE_BODY:
		break;
	}
	/* A reply where none is awaited (before the greeting, in a handshake, during the text). */
	return ACT_IGNORE;
}

enum client_action
client_lost_action(enum client_stage st, const struct reply_ctx *c)
{
	if (st == STAGE_QUIT || st == STAGE_IDLE)
		return ACT_CLOSE;
	/* Nothing of the new transaction was answered yet: the kept connection had gone. */
	if (st == STAGE_RSET || (st == STAGE_MAIL && c->reused))
		return ACT_STALE;
	if (st == STAGE_TLS)
		return c->tls_required ? ACT_TLS_REQUIRED : ACT_TLS_RETRY;
	if (st <= STAGE_STARTTLS)
		return ACT_TRY_NEXT;
	return ACT_DEFER_ALL;
}

const char *
client_stage_name(enum client_stage st)
{
	static const char *const names[] = {
		"connecting", "greeting", "EHLO", "HELO", "STARTTLS", "TLS handshake", "AUTH",
		"MAIL FROM", "RCPT TO", "DATA", "message text", "end of data", "QUIT", "idle",
		"RSET",
	};
	return st <= STAGE_RSET ? names[st] : "?";
}
