/*
 * envelope.h - what the spool keeps about a message besides its text: the queue id,
 * the sender and where it came from, and each recipient with its delivery state.
 * It knows neither SMTP nor accounts (store/kinds.h has the two enums it shares).
 */
#ifndef MAILROOM_STORE_ENVELOPE_H
#define MAILROOM_STORE_ENVELOPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "store/kinds.h"

#define QUEUE_ID_LEN 16

enum rcpt_status {
	RCPT_PENDING,   /* not yet delivered: first attempt or retry due at next_try */
	RCPT_DELIVERED, /* in the mailbox, or accepted by the remote server */
	RCPT_BOUNCED,   /* failed for good; a bounce was queued (or the sender was <>) */
};

struct spool_rcpt {
	enum target_kind kind;
	char *addr;  /* where it goes: a mailbox, or a remote address */
	char *orig;  /* the address the client gave in RCPT TO */
	enum rcpt_status status;
	unsigned attempts;
	time_t next_try; /* 0: now */
	char *error;     /* the last failure, or NULL */
	bool dsn_due;    /* bounced, and no bounce message made durable for it yet: the
			  * bounce is retried (at next_try after a failure), never the
			  * delivery; stored as 'N' in state/<id> */
};

struct envelope {
	char id[QUEUE_ID_LEN + 1];
	time_t arrival;
	char *sender; /* "" for the null sender */
	char *client; /* client IP address, or "local" */
	char *helo;
	char *auth;   /* authenticated login, or NULL */
	enum body_type body;
	bool smtputf8;
	bool is_bounce; /* a DSN we made: never bounced itself */
	bool junk;      /* DMARC quarantine: local copies go to the mailbox's .Junk folder */
	bool auto_reply; /* a vacation reply we made (from <>): signed as the user's own mail */
	/* Kept in state/<id> (docs/spool.md "Holds"), not in the header: */
	bool held;         /* kept, never delivered nor bounced, until released */
	time_t held_since; /* when it was held */
	char *hold_reason; /* why ("queue hold", "<user> over sends_per_day (1000)"), or NULL */
	time_t released;   /* the last release (0: never); max_queue_lifetime counts from it */
	bool limits_done;  /* counted against its sender's limits (or released): not again */
	struct spool_rcpt *rcpts;
	size_t nrcpts;
	uint64_t body_offset; /* where the message starts in msg/<id> */
	uint64_t body_size;   /* its length (stored form) */
};

void envelope_free(struct envelope *env);
/* envelope_add_rcpt - append a recipient (strings copied). Returns 0 or -1. */
int envelope_add_rcpt(struct envelope *env, enum target_kind kind, const char *addr,
    const char *orig);

#endif
