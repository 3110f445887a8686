/*
 * schedule.h - the queue's decisions as pure functions (no I/O, no clock: the time
 * is an argument): what a delivery result means for a recipient, when it is tried
 * again, when a message is finished, and whether its failures are bounced.
 */
#ifndef MAILROOM_SCHEDULE_H
#define MAILROOM_SCHEDULE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "store/envelope.h"

struct retry_policy {
	uint64_t retry_min;      /* seconds before the first retry */
	uint64_t retry_max;      /* the longest wait between two tries */
	uint64_t lifetime;       /* max_queue_lifetime: then a temporary failure is final */
};

/* retry_delay - retry_min, doubling with each attempt after the first, at most retry_max. */
time_t retry_delay(const struct retry_policy *p, unsigned attempts);

enum result_class {
	RESULT_DELIVERED, /* 2xx */
	RESULT_DEFERRED,  /* 4xx, or 0 (no answer): tried again */
	RESULT_BOUNCED,   /* 5xx, or a temporary failure past the queue lifetime */
};

/* result_class - what reply code means for a recipient of a message age seconds old. */
enum result_class result_class(int code, time_t age, const struct retry_policy *p);

/*
 * schedule_result - record one delivery result in r: its status, attempts, next
 * try, error text (none when out of memory for it), and for a failure the bounce
 * owed. Returns its class.
 */
enum result_class schedule_result(struct spool_rcpt *r, int code, const char *text,
    time_t now, time_t arrival, const struct retry_policy *p);

/* rcpt_due - whether r is to be delivered at now. */
bool rcpt_due(const struct spool_rcpt *r, time_t now);

/* rcpt_waiting - whether r keeps its message in the queue: a delivery or a bounce to make. */
bool rcpt_waiting(const struct spool_rcpt *r);

/* msg_finished - nothing is left to do: every recipient final and every bounce made. */
bool msg_finished(const struct envelope *env);

/* msg_next_try - the earliest next_try of what waits in env; 0 when nothing does. */
time_t msg_next_try(const struct envelope *env);

enum bounce_decision {
	BOUNCE_NONE, /* no bounce is owed */
	BOUNCE_SEND, /* write one bounce naming each recipient that owes one */
	BOUNCE_DROP, /* owed, but to nobody: the null sender, or the message is a bounce */
};

/* bounce_decision - what to do about the bounces env owes (RFC 5321 6.1: never bounce a bounce). */
enum bounce_decision bounce_decision(const struct envelope *env);

/*
 * bounce_settled - the bounce was made (made true) or dropped: nothing is owed any
 * more; or it could not be made (made false): it is owed still, tried again at retry.
 */
void bounce_settled(struct envelope *env, bool made, time_t retry);

#endif
