/*
 * deadline.h - time limits that the client's bytes do not reset, as Postfix's
 * smtpd_per_request_deadline and smtpd_min_data_rate: a whole command line, or a
 * whole TLS handshake, must arrive within its limit, however it is trickled; while
 * message text arrives the limit grows with the octets received (by 1/min_rate
 * second each), up to the full limit again, so only a client below the rate runs
 * out. An idle timer reset by every read would let a byte every few seconds hold a
 * session open for ever.
 */
#ifndef MAILROOM_DEADLINE_H
#define MAILROOM_DEADLINE_H

#include <stddef.h>
#include <stdint.h>

struct event;
struct event_base;

enum deadline_kind {
	DEADLINE_NONE,      /* not armed: the server is the one working (or closing) */
	DEADLINE_REQUEST,   /* a command line, from the previous reply */
	DEADLINE_HANDSHAKE, /* a TLS handshake, from its start */
	DEADLINE_DATA,      /* message text: grows with the octets received */
};

/*
 * deadline_credit - the deadline (microseconds) after n octets arrived at now with
 * the deadline at due: due + n/rate seconds, but never more than limit after now.
 * Pure, for the unit tests.
 */
uint64_t deadline_credit(uint64_t due, uint64_t now, uint64_t n, uint64_t limit,
    uint64_t rate);

/* deadline_now - the monotonic clock in microseconds. */
uint64_t deadline_now(void);

struct deadline {
	enum deadline_kind kind;
	uint64_t due;   /* microseconds, deadline_now()'s clock */
	uint64_t limit; /* microseconds */
	uint64_t rate;  /* octets a second, for DEADLINE_DATA */
	struct event *ev;
	void (*expired)(void *arg);
	void *arg;
};

/* deadline_init - expired(arg) runs on base when a started deadline passes. Returns 0 or -1. */
int deadline_init(struct deadline *d, struct event_base *base, void (*expired)(void *arg),
    void *arg);

/* deadline_start - a new phase of kind with limit_s seconds from now (rate for DATA). */
void deadline_start(struct deadline *d, enum deadline_kind kind, uint64_t limit_s,
    uint64_t rate);

/* deadline_progress - n octets of message text arrived (DEADLINE_DATA: more time). */
void deadline_progress(struct deadline *d, size_t n);

/* deadline_stop - disarm (kind becomes DEADLINE_NONE). */
void deadline_stop(struct deadline *d);

void deadline_free(struct deadline *d);

#endif
