/*
 * line_session.h - what a line-protocol server session (SMTP, POP3) is made of
 * apart from its protocol: the connection (a bufferevent, plain or TLS, replaced
 * by a STARTTLS/STLS upgrade), command lines read with a bound, replies and the
 * count of bad commands, the deadline for what the client owes, output
 * backpressure, references held by work under way (a commit, a password check)
 * and the delay before a refusal, the close after the last reply is flushed, and
 * the one end (line_session_free) that every exit path takes.
 *
 * A protocol session embeds a struct line_session and describes itself with a
 * struct line_proto; the shared code calls those hooks with the protocol's
 * session (owner).
 */
#ifndef MAILROOM_LINE_SESSION_H
#define MAILROOM_LINE_SESSION_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "net/conn_limit.h"
#include "net/deadline.h"
#include "role.h"

typedef struct ssl_ctx_st SSL_CTX;
struct bufferevent;
struct event;
struct event_base;
struct evbuffer_cb_entry;

/*
 * A reply of the protocol's that names this host: text[0], the host name
 * (hostname), text[1]; or only text[0] when text[1] is NULL.
 */
struct line_text {
	const char *text[2];
};

struct line_proto {
	size_t input_high;  /* input buffered at most (the read high-water mark) */
	/*
	 * Output backpressure: no input is taken while more than output_high octets
	 * of replies wait for the client, and it goes on once the client has read
	 * them down to output_low (the write low-water mark). 0: no limit.
	 */
	size_t output_high;
	size_t output_low;
	struct line_text greeting;
	struct line_text line_too_long;   /* the refusal of an over-long command line */
	struct line_text too_many_errors; /* the last reply after one bad command too many */
	struct line_text timeout;         /* the last reply after a deadline passed */
	/* handle what is buffered, as far as the state allows (input came, output
	 * drained, a hold ended) */
	void (*process)(void *owner);
	/* the deadline of the protocol's phase: DEADLINE_REQUEST, DEADLINE_DATA (with
	 * *rate) or DEADLINE_NONE (the server is working) */
	enum deadline_kind (*deadline)(void *owner, uint64_t *rate);
	/* the session ends (once, from line_session_free): log it, let go of what it holds */
	void (*end)(void *owner, const char *reason);
	/* nothing holds the session any more: free the owner (the shared part is gone) */
	void (*destroy)(void *owner);
	/*
	 * NULL, or whether the owner greets later (line_session_greet), after a
	 * screening wait of its own; called once the connection is set up.
	 */
	bool (*greet_later)(void *owner);
};

struct line_session {
	const struct line_proto *proto;
	void *owner;
	struct event_base *base;
	struct config *const *cfg;  /* the role's config (replaced on reload) */
	struct line_session **head, *prev, *next; /* the role's open sessions */
	const char *ip;             /* the client, as the owner names it in logs */
	const char *state_name;     /* the owner's state (line_session_enter), "closing" at the end */
	struct bufferevent *bev;
	struct conn_slot slot;      /* the place in the listener's pool */
	bool skip_line;    /* discarding the rest of an over-long command line */
	bool closing;      /* line_session_free done: nothing more may happen */
	bool flushing;     /* closing after the last reply is flushed */
	bool waiting;      /* a login is checked or its refusal delayed: commands wait */
	bool dl_restart;   /* a command was taken: the next one gets a new deadline */
	unsigned busy;     /* holds of work under way (line_session_hold) */
	unsigned errors;   /* bad commands so far */
	const char *close_reason;
	struct deadline dl; /* for the command line, handshake or text awaited now */
	struct evbuffer_cb_entry *drain_cb; /* flushing after STARTTLS: the socket's buffer */
	struct event *linger;  /* flushing: the most a client gets to read its last reply */
	struct event *delay;   /* line_session_delay's timer */
	void (*delay_fn)(void *arg);
	void *delay_arg;
};

/*
 * line_session_start - the shared part of a new session for the client c
 * (role.h; its socket, plain or with implicit TLS through ctx, and its place in
 * the pool, taken over): the owner's hooks, the role's list (*head) it joins,
 * the client's address ip as the owner keeps it, the first state's name. Logs
 * the connection and greets. On failure the session has ended (line_session_free).
 */
void line_session_start(struct line_session *ls, const struct line_proto *proto, void *owner,
    struct event_base *base, struct config *const *cfg, struct line_session **head,
    const struct role_client *c, const char *ip, bool implicit_tls, SSL_CTX *ctx,
    const char *state_name);

/*
 * line_session_enter - the owner enters the state called name (a static string):
 * traced "session <ip>: <old> -> <new>" when MAILROOM_TRACE is set.
 */
void line_session_enter(struct line_session *ls, const char *name);

/*
 * line_session_upgrade - STARTTLS/STLS: start the handshake over the connection,
 * dropping what the client pipelined behind verb (CVE-2011-0411). The reply
 * already given goes out first, in the clear. Returns 0, or -1 (connection as it was).
 */
int line_session_upgrade(struct line_session *ls, SSL_CTX *ctx, const char *verb);

/* line_session_greet - the protocol's greeting (for an owner that greets later). */
void line_session_greet(struct line_session *ls);

/* line_session_reply - one reply line; CRLF is added. */
void line_session_reply(struct line_session *ls, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void line_session_vreply(struct line_session *ls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/*
 * line_session_refuse - a reply refusing a bad command, counted: after one too
 * many (20, as Postfix) the session says proto->too_many_errors and ends.
 */
void line_session_refuse(struct line_session *ls, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void line_session_vrefuse(struct line_session *ls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

enum line_read { LINE_NONE, LINE_OK, LINE_TOO_LONG };

/*
 * line_session_read - one command line (at most max octets with its CRLF) into
 * line (room for max), its length in *len. LINE_NONE: no whole line yet;
 * LINE_TOO_LONG: one was over max, skipped without being held whole in memory,
 * and refused (proto->line_too_long).
 */
enum line_read line_session_read(struct line_session *ls, size_t max, char *line, size_t *len);

/* line_session_may_read - whether input may be taken now (open, not waiting, output not full). */
bool line_session_may_read(const struct line_session *ls);

/* line_session_deadline - the time limit for what the session waits for now (restarted when that changed). */
void line_session_deadline(struct line_session *ls);

/* line_session_hold - work under way (a commit, a password check) keeps ls from being freed. */
void line_session_hold(struct line_session *ls);
/* line_session_release - that work is over; frees a session that ended meanwhile. */
void line_session_release(struct line_session *ls);

/*
 * line_session_delay - a pause (a refusal's), then fn(arg) and more of what is
 * buffered; commands wait, and ls is held, until then. A session that ends first
 * drops it. Returns 0, or -1 (no pause: act at once).
 */
int line_session_delay(struct line_session *ls, unsigned seconds, void (*fn)(void *arg), void *arg);

/*
 * line_session_close_after_flush - the last reply is given: take no more input,
 * enter "closing", and end the session (reason) once the replies are out or the
 * client had 10 s to read them. Nothing when the session is closing already.
 */
void line_session_close_after_flush(struct line_session *ls, const char *reason);

/*
 * line_session_free - end the session: the owner's end hook, the connection cut
 * off, the pool's place given back. The memory goes on the next loop turn, once
 * nothing holds the session, so callers up the stack may still look at ls->closing.
 */
void line_session_free(struct line_session *ls, const char *reason);

/* line_session_destroy - free at once, whatever the state (the role is stopping). */
void line_session_destroy(struct line_session *ls);

#endif
