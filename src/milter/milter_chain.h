/*
 * milter_chain.h - the milters of a listener asked about one message one after
 * the other, in the order configured, as Postfix does: each sees the header fields
 * as those before it left them; a reject, tempfail or discard ends the round; a
 * milter that is down, too slow or talks nonsense counts as milter_default_action
 * (tempfail ends the round, accept goes on as if it were not configured). Each
 * milter's result is one log line ("<id>: milter=... action=... reason=...") and a
 * count in the metrics.
 */
#ifndef MAILROOM_MILTER_CHAIN_H
#define MAILROOM_MILTER_CHAIN_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "milter/milter_conn.h"
#include "milter/milter_hdr.h"

struct event_base;
struct milter_chain;

struct milter_outcome {
	enum milter_verdict verdict; /* CONTINUE (the changes are in hdr), REJECT, TEMPFAIL, DISCARD */
	char reply[320];             /* REJECT, TEMPFAIL: the reply line for the client */
	bool quarantine;             /* a milter asked for the message to be held */
	char quarantine_reason[400]; /* "milter <socket>: <its reason>" */
	const char *milter;          /* the socket text of the milter that decided, or NULL */
};

/*
 * milter_chain_start - ask the n milters of v (copied) about msg; their header
 * changes are made to hdr (the caller's, which msg->hdr must name). done(arg, o)
 * follows once, never from inside this call; the chain is freed right after it.
 * NULL: out of memory (done will not be called).
 */
struct milter_chain *milter_chain_start(struct event_base *base, const struct milter_sock *v,
    size_t n, const struct milter_timeouts *to, bool default_accept, struct milter_msg *msg,
    struct mhdr *hdr, void (*done)(void *arg, const struct milter_outcome *o), void *arg);

/* milter_chain_free - give up before done (which is then not called). */
void milter_chain_free(struct milter_chain *ch);

#endif
