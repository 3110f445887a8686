/*
 * client_reply.h - what the SMTP client does with each reply, as a pure table: for
 * every stage of the conversation (the greeting after connect, EHLO, HELO, STARTTLS,
 * AUTH, MAIL, RCPT, DATA, the end of the text) and every class of reply (2xx, 3xx,
 * 4xx, 5xx), one action; and what a lost connection means at each stage.
 */
#ifndef MAILROOM_CLIENT_REPLY_H
#define MAILROOM_CLIENT_REPLY_H

#include <stdbool.h>
#include <stddef.h>

enum client_stage {
	STAGE_CONNECTING, STAGE_GREETING, STAGE_EHLO, STAGE_HELO, STAGE_STARTTLS, STAGE_TLS,
	STAGE_AUTH, STAGE_MAIL, STAGE_RCPT, STAGE_DATA, STAGE_BODY, STAGE_DOT, STAGE_QUIT,
	STAGE_IDLE,        /* a transaction is over and the connection is kept for another */
	STAGE_RSET,        /* a kept connection whose last transaction ended early: RSET first */
};

enum client_action {
	ACT_PROCEED,       /* the stage succeeded: on to the next one */
	ACT_TRY_NEXT,      /* no transaction began: the next server address */
	ACT_HELO,          /* EHLO refused with 5xx in clear: HELO instead (RFC 5321 3.2) */
	ACT_CLEAR,         /* STARTTLS refused, TLS opportunistic: carry on in clear */
	ACT_TLS_REQUIRED,  /* TLS cannot be had where it is required: every recipient 4.7.x */
	ACT_TLS_RETRY,     /* the handshake failed: the same address again without TLS */
	ACT_AUTH_FAILED,   /* the relayhost refused the login: every recipient 454 4.7.0 */
	ACT_FAIL_ALL,      /* MAIL refused: every recipient gets the reply */
	ACT_RCPT_ACCEPTED, /* this recipient waits for the reply to the text */
	ACT_RCPT_REFUSED,  /* this recipient gets the reply */
	ACT_SEND_TEXT,     /* 354: the message text */
	ACT_EMPTY_TEXT,    /* 354 but no recipient was accepted (pipelined): "." at once */
	ACT_DATA_ODD,      /* neither 354 nor a failure: nothing sent, the accepted 451 4.5.0 */
	ACT_ANSWER_ACCEPTED, /* DATA refused, or the reply to the text: the accepted get it */
	ACT_DEFER_ALL,     /* the connection is lost inside the transaction: 451 4.4.2 */
	ACT_CLOSE,         /* the conversation is over: close */
	ACT_STALE,         /* a kept connection failed before its new transaction began:
			    * nothing was sent, a new connection to the same server may do */
	ACT_IGNORE,        /* no reply is awaited now (a handshake, the text going out) */
};

struct reply_ctx {
	bool tls;          /* the connection is encrypted already */
	bool tls_required; /* relayhost_tls = verify: no mail in clear */
	size_t rcpt_ok;    /* recipients accepted so far */
	bool reused;       /* the connection carried a transaction before this one */
};

/* client_reply_action - the action for reply code at stage st. */
enum client_action client_reply_action(enum client_stage st, int code, const struct reply_ctx *c);

/* client_lost_action - the action when the connection closes, fails or times out at st. */
enum client_action client_lost_action(enum client_stage st, const struct reply_ctx *c);

/* client_stage_name - "EHLO", "message text", ... for logs and texts. */
const char *client_stage_name(enum client_stage st);

#endif
