/*
 * milter_conn.h - one conversation with one milter about one message, on the
 * event loop: a non-blocking connect, the option negotiation (version 6), then
 * each stage in order as the filter asked for them (connect, helo, mail, rcpt,
 * data, the header fields, end of headers, the body in chunks, end of message),
 * a reply awaited within its time limit where one is due, and the filter's
 * verdict and changes handed back. Nothing in it blocks: a slow filter holds only
 * the message it is asked about.
 */
#ifndef MAILROOM_MILTER_CONN_H
#define MAILROOM_MILTER_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "milter/milter_hdr.h"

struct event_base;
struct milter_conn;

/* What the filters are told of a message; the caller keeps it until done. */
struct milter_msg {
	const char *id;          /* the queue id (macro i) */
	const char *hostname;    /* ours (macro j) */
	const char *client_ip;   /* as text */
	uint16_t client_port;    /* 0: unknown */
	const char *helo;
	const char *sender;      /* "" for <> */
	const char *const *mail_args; /* ESMTP parameters of MAIL ("BODY=8BITMIME") */
	size_t nmail_args;
	const char *auth;        /* the login, or NULL (macro {auth_authen}) */
	const char *const *rcpts;
	size_t nrcpts;
	const struct mhdr *hdr;  /* the header fields, as the filters before left them */
	uint64_t body_off, body_end; /* the body's place in the stored text */
	/* read - up to n octets of the stored text from off; the count, or -1. */
	ssize_t (*read)(void *arg, uint64_t off, void *p, size_t n);
	void *read_arg;
};

struct milter_timeouts {
	uint64_t connect; /* seconds: connect, and the option negotiation */
	uint64_t command; /* each reply to connect, helo, mail, rcpt, data */
	uint64_t content; /* each reply to a header, end of headers, body chunk, end of message */
};

enum milter_verdict {
	MILTER_CONTINUE, /* no objection: its changes apply */
	MILTER_ACCEPT,   /* accepted (at end of message: its changes apply) */
	MILTER_REJECT,
	MILTER_TEMPFAIL,
	MILTER_DISCARD,
	MILTER_FAILED,   /* down, too slow, or not speaking the protocol */
};

/* A header change asked for at the end of the message (SMFIR_ADDHEADER, ...). */
struct milter_change {
	char cmd;        /* SMFIR_ADDHEADER, SMFIR_INSHEADER or SMFIR_CHGHEADER */
	uint32_t index;
	char *name, *value;
};

struct milter_result {
	enum milter_verdict verdict;
	const char *stage;       /* where it was decided: "connect", "rcpt", "eom", ... */
	char reply[320];         /* REJECT, TEMPFAIL: the filter's own reply line, or "" */
	char why[200];           /* FAILED: what went wrong */
	bool quarantine;         /* SMFIR_QUARANTINE came (with CONTINUE or ACCEPT) */
	char quarantine_reason[200];
	bool leadspc;            /* the values of the changes bring their own leading blank */
	struct milter_change *changes;
	size_t nchanges;
};

/*
 * milter_conn_start - talk to the filter at sock about msg. done(arg, r) follows
 * once, never from inside this call; r is valid during the call only, and the
 * conversation is freed right after it (done must not free it). NULL: out of
 * memory (done will not be called).
 */
struct milter_conn *milter_conn_start(struct event_base *base, const struct milter_sock *sock,
    const struct milter_timeouts *to, const struct milter_msg *msg,
    void (*done)(void *arg, const struct milter_result *r), void *arg);

/* milter_conn_free - give up on a conversation before its done (which is then not called). */
void milter_conn_free(struct milter_conn *c);

#endif
