/*
 * policy.h - who may do what on the SMTP listeners: AUTH, MAIL without a login,
 * the sender address of a login, relaying. Pure decisions (no I/O, no lookups):
 * the session gathers the facts (the listener, TLS, trusted_networks, the login,
 * what the account store said) and sends the reply decided here.
 */
#ifndef MAILROOM_POLICY_H
#define MAILROOM_POLICY_H

#include <stdbool.h>

#include "accounts.h"
#include "address.h"
#include "config.h"

/* What the session knows about its client. */
struct policy_facts {
	enum service svc;  /* the listener */
	bool tls;          /* the connection is encrypted */
	bool trusted;      /* the client is in trusted_networks */
	const char *login; /* the authenticated user (canonical address), or NULL */
};

enum policy_reason {
	POLICY_OK,                  /* go ahead */
	POLICY_AUTH_NOT_ENABLED,    /* 503 5.5.1: AUTH on port 25 */
	POLICY_ENCRYPTION_REQUIRED, /* 538 5.7.11: AUTH in the clear from outside */
	POLICY_AUTH_REQUIRED,       /* 530 5.7.0: MAIL on submission without a login */
	POLICY_SENDER_NOT_OWNED,    /* 553 5.7.1: a login's sender that is not its own */
	POLICY_STORE_FAILURE,       /* 451 4.3.0: the store could not say whose a sender is */
	POLICY_UNKNOWN_USER,        /* 550 5.1.1: a hosted domain without that mailbox */
	POLICY_LOOKUP_TEMPFAIL,     /* 451 4.3.0: the store could not resolve a recipient */
	POLICY_RELAY_DENIED,        /* 554 5.7.1: another domain, no login, not trusted on 25 */
	POLICY_GREYLISTED,          /* 451 4.7.1: a new triplet, or retried too soon */
};

/* Sender and recipient texts hold an address and a login: room for both. */
#define POLICY_TEXT_MAX (2 * ADDR_MAX + 64)

struct policy_decision {
	enum policy_reason reason;
	int code;           /* the reply: 0 for POLICY_OK */
	const char *status; /* enhanced status code, "5.7.1" */
	char text[POLICY_TEXT_MAX];
};

/* policy_refused - whether d refuses; a 5xx counts as the client's error, a 4xx does not. */
bool policy_refused(const struct policy_decision *d);

/* policy_auth - may the client use AUTH here (the listener, TLS or trusted_networks)? */
void policy_auth(const struct policy_facts *f, struct policy_decision *d);

/* policy_mail - may the client start a transaction (submission wants a login)? */
void policy_mail(const struct policy_facts *f, struct policy_decision *d);

/* policy_sender_checked - whether the sender must be the login's own (a login, not <>). */
bool policy_sender_checked(const struct policy_facts *f, bool null_sender);

/*
 * policy_sender - the sender address (formatted) of MAIL, owned as the store
 * answered: 1 the login's own (or not checked), 0 not, -1 the store failed.
 */
void policy_sender(const struct policy_facts *f, const char *sender, int owned,
    struct policy_decision *d);

/*
 * policy_rcpt - the recipient address (formatted) of RCPT, resolved as st:
 * local mailboxes are accepted, others relayed only for a login, or for
 * trusted_networks on port 25.
 */
void policy_rcpt(const struct policy_facts *f, const char *rcpt, enum resolve_status st,
    struct policy_decision *d);

/*
 * policy_greylist_applies - whether a RCPT is greylisted at all (with [inbound]
 * greylist on): only on the smtp listener, for a client neither in
 * trusted_networks nor logged in.
 */
bool policy_greylist_applies(const struct policy_facts *f, bool greylist_on);

/* policy_greylist - the reply to the store's answer for rcpt (formatted). */
void policy_greylist(const char *rcpt, enum grey_answer answer, struct policy_decision *d);

#endif
