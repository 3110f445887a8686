/*
 * smtp_session_int.h - the SMTP session's state, shared by the files that make up
 * the session: smtp_session.c (I/O, replies, the end), smtp_commands.c (the table
 * of verbs), smtp_txn.c (MAIL, RCPT, DATA, BDAT), smtp_tls.c (TLS, STARTTLS) and
 * smtp_auth.c (AUTH).
 */
#ifndef MAILROOM_SMTP_SESSION_INT_H
#define MAILROOM_SMTP_SESSION_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "deliver/dns_ops.h"
#include "net/conn_limit.h"
#include "net/sockaddr.h"
#include "store/spool_writer.h"
#include "session/line_session.h"
#include "session/login.h"
#include "smtp/data_reader.h"
#include "smtp/policy.h"
#include "smtp/smtp_cmd.h"
#include "smtp/smtp_session.h"
#include "util/buf.h"

struct evbuffer;
struct dnsbl_check;
struct event;
struct inbound_check;
struct smtp_milters;
struct smtp_session;

enum smtp_state {
	S_CONNECTED, /* greeted; no HELO/EHLO yet (also after STARTTLS) */
	S_READY,     /* HELO/EHLO done, no transaction */
	S_MAIL,      /* MAIL accepted */
	S_RCPT,      /* at least one RCPT accepted */
	S_DATA,      /* reading DATA text */
	S_BDAT,      /* reading a BDAT chunk */
	S_COMMIT,    /* the message is being made durable; replies wait */
	S_PREGREET,  /* "220-" sent: the client must stay silent until the 220 (pregreet_wait) */
};
/* Then "closing" while the last reply is flushed (line_session_close_after_flush). */

enum auth_step {
	AUTH_NONE,
	AUTH_PLAIN_RESPONSE,   /* "334 " sent, waiting for the PLAIN response */
	AUTH_LOGIN_USER,       /* "334 VXNlcm5hbWU6" sent */
	AUTH_LOGIN_PASSWORD,   /* "334 UGFzc3dvcmQ6" sent */
};

/* The mail transaction: from MAIL to the end of the message. */
struct smtp_txn {
	struct envelope env;   /* id, sender, recipients (resolved targets) */
	unsigned nrcpt;        /* RCPT commands accepted, for max_recipients */
	char first_rcpt[ADDR_MAX + 1]; /* for the Received header's "for" clause */
	bool smtputf8;
	bool data_started;     /* DATA or the first BDAT seen */
	bool bdat;             /* the message is coming in BDAT chunks */
	bool too_big;
	bool failed;           /* a write failed: refuse at the end */
	bool discard;          /* this BDAT chunk is read only to stay in sync */
	const char *discard_reply; /* the reply after a discarded chunk */
	enum smtp_state resume_state; /* the state to go back to after it */
	uint64_t bdat_left;    /* octets of the current chunk still to read */
	bool bdat_last;
	struct data_reader dr;
	struct buf out;        /* stored form not yet written out (at most about OUT_MAX) */
	struct buf prefix;     /* direct delivery: the added headers, until the Maildir files are written */
	int spill_fd;          /* direct delivery: the stored form so far, or -1 */
	uint64_t spill_len;    /* octets in it */
	bool writer_open;
	struct spool_writer w;
	int commit_fd;         /* the queue file being flushed, or -1 */
	bool queue_only;       /* a recipient is remote or has a quota: no direct delivery */
	bool direct;           /* every recipient a local mailbox without quota: deliver
				* straight into the Maildirs (one durable write, not two) */
	struct md_batch *md;   /* the direct delivery being committed */
	/* The checks of mail from outside on the smtp listener (smtp_inbound.c). */
	struct inbound_check *ic; /* NULL: not checked */
	bool header_seen;      /* the header block went to ic (then out holds only body) */
	size_t fed;            /* octets of out that ic has */
	size_t header_scanned; /* out up to here holds whole header lines, none of them empty */
	struct buf ar;         /* the Authentication-Results field, once decided */
	void (*ic_cont)(struct smtp_session *s); /* what follows the verdict */
	struct event *ic_timer; /* the checks' time limit */
	/* The milters (smtp_milter.c). */
	bool milters;          /* still to be asked: nothing goes into the queue file yet */
	struct smtp_milters *mil; /* asking them */
	struct buf mhead;      /* spilled text: the header block as they changed it, stored */
	uint64_t mskip;        /* instead of the spill file's first mskip octets */
	char *hold_reason;     /* a milter's quarantine: queued on hold */
	int hold_fd, hold_dirfd; /* state/<id> with the hold, and state/, for the commit */
};

struct smtp_session {
	struct line_session ls; /* the connection (session/line_session.h) */
	struct smtpd *srv;
	enum service svc;
	enum smtp_state state;
	char ip[SOCKADDR_TEXT_MAX];
	char net[CONN_KEY_MAX]; /* the client network (net/conn_limit.h), for the rate limits */
	bool trusted;      /* the client is in trusted_networks */
	bool tls;          /* the connection is encrypted */
	bool esmtp;        /* EHLO, not HELO */
	char *helo;
	unsigned messages;
	/* Screening before the greeting (smtp_screen.c). */
	unsigned screen_waits;     /* SCREEN_WAIT_* still under way */
	struct event *pregreet_ev; /* the end of the pregreet wait */
	struct event *dnsbl_ev;    /* the DNSBL answers' time limit */
	struct dnsbl_check *dnsbl;
	int dnsbl_score;
	char dnsbl_listed[512];

	/* AUTH */
	char *auth_user;   /* the authenticated login (canonical address), or NULL */
	enum auth_step auth_step;
	char auth_login_user[ADDR_MAX + 1]; /* LOGIN: the user name, between the steps */
	struct login auth; /* the checks (session/login.h) */

	struct smtp_txn *txn; /* NULL outside a transaction */
};

/* smtp_session.c */
void session_reply(struct smtp_session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* session_error - a refusal caused by the client; too many of them end the session. */
void session_error(struct smtp_session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* session_facts - what policy.c decides on: the listener, TLS, trusted_networks, the login. */
struct policy_facts session_facts(const struct smtp_session *s);
/*
 * session_allowed - whether the policy decision d lets it go ahead; if not, its
 * refusal is sent (a 5xx counts as the client's error, as session_error).
 */
bool session_allowed(struct smtp_session *s, const struct policy_decision *d);
/* session_enter - the one way to change s->state (traced: MAILROOM_TRACE). */
void session_enter(struct smtp_session *s, enum smtp_state st);
/* session_free - end the session (every exit path ends here); freed when nothing holds it. */
void session_free(struct smtp_session *s, const char *reason);
/* session_close_after_flush - the last reply is given: end once it is out. */
void session_close_after_flush(struct smtp_session *s, const char *reason);
/* session_process - handle everything that is buffered, as far as the state allows. */
void session_process(struct smtp_session *s);
/* session_release - an asynchronous operation on s is over; frees a closed session. */
void session_release(struct smtp_session *s);

/*
 * smtp_inbound.c: the checks of mail from outside (SPF, DKIM, DMARC) on the smtp
 * listener. inbound_start at the start of the text; inbound_feed after text was
 * added to txn->out (before it is written out: it takes the header block first,
 * removes forged Authentication-Results from it, and passes the body on);
 * inbound_end at its end: the session is held until the verdict, then cont(s) goes
 * on with the message (txn->ar and env.junk set), or the refusal is sent.
 */
void inbound_start(struct smtp_session *s);
void inbound_feed(struct smtp_session *s);
/* inbound_holds_output - whether out must stay in memory (the header block is not whole yet). */
bool inbound_holds_output(const struct smtp_session *s);
/* inbound_end - 1: checks under way (cont follows); 0: nothing to wait for. */
int inbound_end(struct smtp_session *s, void (*cont)(struct smtp_session *s));

/*
 * smtp_milter.c: the milters. milter_begin at the start of the text (whether they
 * apply: txn->milters); milter_end once the message is in (all of it in the spill
 * file, or all in out) and the checks passed: 1, the session is held until the
 * milters have spoken, then cont(s) goes on (header changes made, hold_reason set)
 * or the reply is sent; 0, nothing to ask (or out of memory: txn->failed).
 * milter_hold_prepare - before the queue file is renamed into msg/: state/<id>
 * with the hold written, and opened for the commit (hold_fd, hold_dirfd). Returns
 * 0 (also when there is no hold) or -1. milter_hold_undo - the queue file did not
 * make it: its state file goes. milter_txn_free - from txn_free.
 */
void milter_begin(struct smtp_session *s);
int milter_end(struct smtp_session *s, void (*cont)(struct smtp_session *s));
int milter_hold_prepare(struct smtp_session *s);
void milter_hold_undo(struct smtp_session *s);
void milter_txn_free(struct smtp_txn *t);

/*
 * smtp_screen.c: the screening before the 220 on the smtp listener (pregreet,
 * DNSBL). screen_greet_later - start it (line_proto.greet_later); true: the
 * greeting waits for it. screen_input - input came while screening. screen_end -
 * the session ends: its timers and queries go.
 */
bool screen_greet_later(struct smtp_session *s);
void screen_input(struct smtp_session *s);
void screen_end(struct smtp_session *s);

/* smtp_commands.c: session_dispatch - one command line, through the table of verbs. */
void session_dispatch(struct smtp_session *s, const char *line, size_t len);

/* smtp_txn.c; the table has checked the state (MAIL: ready, RCPT: mail or rcpt, DATA: rcpt) */
void txn_mail(struct smtp_session *s, const struct smtp_cmd *cmd);
void txn_rcpt(struct smtp_session *s, const struct smtp_cmd *cmd);
void txn_data(struct smtp_session *s, const struct smtp_cmd *cmd);
void txn_bdat(struct smtp_session *s, const struct smtp_cmd *cmd);
/* txn_read_data - consume message text; false when more input is needed. */
bool txn_read_data(struct smtp_session *s, struct evbuffer *in);
void txn_reset(struct smtp_session *s);
void txn_free(struct smtp_session *s);

/* smtp_tls.c */
bool session_starttls_offered(const struct smtp_session *s);
bool session_starttls_check(struct smtp_session *s, const struct smtp_cmd *cmd);
void session_starttls(struct smtp_session *s, const struct smtp_cmd *cmd);

/* smtp_auth.c */
/* session_auth_init - the session's logins, at its start. */
void session_auth_init(struct smtp_session *s);
bool session_auth_offered(const struct smtp_session *s);
/* session_auth_refuse - AUTH outside the ready state: the refusal. */
void session_auth_refuse(struct smtp_session *s);
bool session_auth_check(struct smtp_session *s, const struct smtp_cmd *cmd);
void session_auth(struct smtp_session *s, const struct smtp_cmd *cmd);
void session_auth_continue(struct smtp_session *s, const char *line, size_t len);

#endif
