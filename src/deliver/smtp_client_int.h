/*
 * smtp_client_int.h - the outbound SMTP conversation's state, shared by its files:
 * smtp_client.c (the connection: connect, reply lines, events, timeouts, the end),
 * smtp_client_cmd.c (the commands, and the action of deliver/client_reply.h for
 * each reply) and smtp_client_body.c (the message text, streamed in the wire form).
 */
#ifndef MAILROOM_SMTP_CLIENT_INT_H
#define MAILROOM_SMTP_CLIENT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "deliver/client_reply.h"
#include "deliver/outform.h"
#include "deliver/smtp_client.h"
#include "net/sockaddr.h"
#include "smtp/smtp_reply.h"
#include "store/wire.h"

struct bufferevent;

/* RFC 5321 4.5.3.2 timeouts, seconds. */
#define T_CONNECT 30
#define T_GREETING 300
#define T_COMMAND 300
#define T_DATA_INIT 120
#define T_DATA_BLOCK 180
#define T_DATA_END 600
/* A kept connection carries transactions for at most this long (Postfix's
 * smtp_connection_reuse_time_limit), so that one server's slot is not held forever. */
#define REUSE_SECS 300

#define REPLY_LINE_MAX 4096
#define BODY_CHUNK (64 * 1024)
#define OUT_HIGH (256 * 1024)

struct smtp_client {
	struct client_params p;
	char helo[256];        /* p.helo points here: a reload frees the config's copy */
	client_done_fn done;
	void *arg;
	struct bufferevent *bev;
	enum client_stage state;
	bool tls;
	bool finished;
	bool reported;         /* done was called for this transaction */
	bool need_rset;        /* kept after a transaction that ended before its text */
	unsigned uses;         /* transactions on this connection so far */
	time_t born;           /* when it was connected */
	void (*idle_gone)(void *arg, struct smtp_client *c); /* kept idle: its keeper */
	void *idle_arg;
	unsigned reading;      /* inside on_read: client_finish leaves the free to it */
	struct ehlo_caps caps;
	struct smtp_reply reply;
	char peer[SOCKADDR_TEXT_MAX + 300]; /* host[ip]:port for logs */
	size_t rcpt_sent;      /* RCPT commands sent (pipelining: all at once) */
	size_t rcpt_replied;   /* RCPT replies read */
	size_t rcpt_ok;        /* recipients the server accepted */
	bool pipelined;        /* MAIL, RCPTs and DATA went out together */
	struct outform text;   /* the message as it leaves (deliver/outform.h), once opened */
	bool text_open;
	bool text_sent;        /* all of it is in the output */
	struct wire_enc enc;
	struct client_result res;
};

/* smtp_client.c */
void cl_set_timeout(struct smtp_client *c, int secs);
void cl_send_line(struct smtp_client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* cl_try_next - no transaction began here: the caller tries the next address. */
void cl_try_next(struct smtp_client *c, enum client_outcome how, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* cl_fail_pending - every recipient without a result gets code and text. */
void cl_fail_pending(struct smtp_client *c, int code, const char *text);
/* cl_server_text - "550 5.1.1 ... (host said)" for results. */
void cl_server_text(struct smtp_client *c, char *out, size_t outlen);
void cl_quit(struct smtp_client *c);
/*
 * cl_transaction_over - every recipient has its result and the connection is clean
 * (need_rset: the server may still hold the transaction's state): report, and keep
 * the connection idle if the caller wants it, else QUIT.
 */
void cl_transaction_over(struct smtp_client *c, bool need_rset);
/* cl_tls_required - whether this conversation may not go on in clear. */
static inline bool
cl_tls_required(const struct smtp_client *c)
{
	return c->p.verify_name != NULL || c->p.dane != NULL || c->p.tls_required;
}

/* cl_reply_ctx - what the reply table (deliver/client_reply.h) needs to know of c. */
static inline struct reply_ctx
cl_reply_ctx(const struct smtp_client *c)
{
	return (struct reply_ctx){ c->tls, cl_tls_required(c), c->rcpt_ok, c->uses > 1 };
}

/*
 * cl_tls_required_fail - TLS is required and cannot be had: with verify_name every
 * recipient is deferred with a 4.7.x text, before anything else is sent; with DANE
 * (or tls_required) the outcome is CLIENT_TRY_NEXT with that status and text.
 */
void cl_tls_required_fail(struct smtp_client *c, const char *status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* cl_finish - close, report once through done, and free c (or leave that to on_read). */
void cl_finish(struct smtp_client *c);
void cl_send_ehlo(struct smtp_client *c);
/* cl_attach - the connection's callbacks on c->bev (again after STARTTLS). */
void cl_attach(struct smtp_client *c);

/* smtp_client_cmd.c */
/* cl_handle_reply - one complete reply, at c->state. */
void cl_handle_reply(struct smtp_client *c);
/* cl_begin_transaction - MAIL, RCPT (and DATA), if this server can take the message at all. */
void cl_begin_transaction(struct smtp_client *c);

/* smtp_client_body.c */
/* cl_wire_size - the size with CRLF line ends (RFC 1870) of the text as it leaves. */
uint64_t cl_wire_size(struct smtp_client *c);
/* cl_start_body - 354: start sending the text (outform.h), from its start. */
void cl_start_body(struct smtp_client *c);
/* cl_fill_body - more of the text, while the output is below its high-water mark. */
void cl_fill_body(struct smtp_client *c);

#endif
