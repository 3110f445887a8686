/*
 * pop3_session_int.h - the POP3 session's state, shared by the files that make
 * up the session: pop3_session.c (I/O, replies, the end of a session),
 * pop3_commands.c (the table of verbs), pop3_auth.c (USER, PASS, AUTH),
 * pop3_trans.c (the TRANSACTION and UPDATE states, streaming replies) and
 * pop3_tls.c (implicit TLS, STLS).
 */
#ifndef MAILROOM_POP3_SESSION_INT_H
#define MAILROOM_POP3_SESSION_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "address.h"
#include "config.h"
#include "net/sockaddr.h"
#include "pop3/maildrop.h"
#include "pop3/pop3_cmd.h"
#include "pop3/pop3_session.h"
#include "pop3/pop3_xfer.h"
#include "session/line_session.h"
#include "session/login.h"

/*
 * Output pacing: replies are produced while the output holds less than
 * POP3_OUTPUT_HIGH octets, and again once the client has read it down to
 * POP3_OUTPUT_LOW (the bufferevent's write low-water mark). A client that
 * pipelines without reading therefore stalls itself, in bounded memory.
 */
#define POP3_OUTPUT_HIGH (256 * 1024)
#define POP3_OUTPUT_LOW (64 * 1024)

enum pop3_state {
	P_AUTHORIZATION, /* RFC 1939: greeted, not logged in */
	P_TRANSACTION,   /* logged in, the maildrop locked and listed */
};
/* Then "closing" while the last reply is flushed (line_session_close_after_flush). */

/* A multi-line reply produced as the client reads it (RETR, TOP, LIST, UIDL). */
enum out_kind {
	OUT_NONE,
	OUT_FILE,  /* RETR or TOP: fd through xfer */
	OUT_LIST,  /* "n size" lines from next */
	OUT_UIDL,  /* "n uidl" lines from next */
};

struct pop3_out {
	enum out_kind kind;
	int fd;
	struct pop3_xfer xfer;
	size_t next; /* LIST/UIDL: the next message index */
	size_t msg;  /* OUT_FILE: the message (for the log) */
};

struct pop3_session {
	struct line_session ls; /* the connection (session/line_session.h) */
	struct pop3d *srv;
	enum service svc;
	enum pop3_state state;
	char ip[SOCKADDR_TEXT_MAX];
	bool trusted;     /* the client is in trusted_networks */
	bool tls;         /* the connection is encrypted */

	/* AUTHORIZATION */
	char user[ADDR_MAX + 1]; /* the name USER gave, awaiting PASS; "" when none */
	bool sasl_wait;   /* "+ " sent for AUTH PLAIN, the response line is next */
	const char *login_method; /* "USER" or "PLAIN", for the log */
	struct login auth;  /* the checks (session/login.h) */

	/* TRANSACTION */
	char *login;      /* the authenticated user (canonical address) */
	struct maildrop *md;
	unsigned retrieved;
	unsigned deleted; /* removed at QUIT */
	struct pop3_out out;
};

/* pop3_session.c */
/* pop3_enter - the one way to change s->state (traced: MAILROOM_TRACE). */
void pop3_enter(struct pop3_session *s, enum pop3_state st);
/* pop3_process - go on with a streaming reply, then handle the commands buffered. */
void pop3_process(struct pop3_session *s);

/* pop3_commands.c: pop3_dispatch - one command line, through the table of verbs. */
void pop3_dispatch(struct pop3_session *s, const char *line, size_t len);

/* pop3_auth.c; the table has checked the state (AUTHORIZATION) */
/* pop3_auth_init - the session's logins, at its start. */
void pop3_auth_init(struct pop3_session *s);
bool pop3_login_allowed(const struct pop3_session *s);
/* pop3_cleartext_check - USER and PASS: refused in the clear (RFC 2595) outside trusted networks. */
bool pop3_cleartext_check(struct pop3_session *s, const struct pop3_cmd *cmd);
void pop3_user(struct pop3_session *s, const struct pop3_cmd *cmd);
void pop3_pass(struct pop3_session *s, const struct pop3_cmd *cmd);
void pop3_auth(struct pop3_session *s, const struct pop3_cmd *cmd);
void pop3_sasl_response(struct pop3_session *s, const char *line, size_t len);

/* pop3_trans.c; the table has checked the state (TRANSACTION) */
void trans_stat(struct pop3_session *s, const struct pop3_cmd *cmd);
void trans_list(struct pop3_session *s, const struct pop3_cmd *cmd);
void trans_uidl(struct pop3_session *s, const struct pop3_cmd *cmd);
void trans_retr(struct pop3_session *s, const struct pop3_cmd *cmd);
void trans_top(struct pop3_session *s, const struct pop3_cmd *cmd);
void trans_dele(struct pop3_session *s, const struct pop3_cmd *cmd);
void trans_noop(struct pop3_session *s, const struct pop3_cmd *cmd);
void trans_rset(struct pop3_session *s, const struct pop3_cmd *cmd);
void trans_quit(struct pop3_session *s, const struct pop3_cmd *cmd);
/* pop3_trans_pump - add to a streaming reply; true when none is left under way. */
bool pop3_trans_pump(struct pop3_session *s);
void pop3_trans_free(struct pop3_session *s);

/* pop3_tls.c */
bool pop3_stls_offered(const struct pop3_session *s);
bool pop3_stls_check(struct pop3_session *s, const struct pop3_cmd *cmd);
void pop3_stls(struct pop3_session *s, const struct pop3_cmd *cmd);

#endif
