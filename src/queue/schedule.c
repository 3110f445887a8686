/* schedule.c - the queue's decisions: result classes, retry times, finished messages, bounces. */
#include "queue/schedule.h"

#include <stdlib.h>
#include <string.h>

time_t
retry_delay(const struct retry_policy *p, unsigned attempts)
{
	uint64_t d = p->retry_min ? p->retry_min : 1;

	for (unsigned i = 1; i < attempts && d < p->retry_max; i++)
		d *= 2;
	if (d > p->retry_max)
		d = p->retry_max;
	return (time_t)d;
}

enum result_class
result_class(int code, time_t age, const struct retry_policy *p)
{
	if (code >= 200 && code < 300)
		return RESULT_DELIVERED;
	if (code >= 500 || (age >= 0 && (uint64_t)age >= p->lifetime))
		return RESULT_BOUNCED;
	return RESULT_DEFERRED;
}

enum result_class
schedule_result(struct spool_rcpt *r, int code, const char *text, time_t now, time_t arrival,
    const struct retry_policy *p)
{
	enum result_class c = result_class(code, now - arrival, p);

	r->attempts++;
	free(r->error);
	r->error = NULL;
	switch (c) {
	case RESULT_DELIVERED:
		r->status = RCPT_DELIVERED;
		return c;
	case RESULT_BOUNCED:
		r->status = RCPT_BOUNCED;
		r->dsn_due = true;
		break;
	case RESULT_DEFERRED:
		r->next_try = now + retry_delay(p, r->attempts);
		break;
	}
	r->error = strdup(text);
	return c;
}

bool
rcpt_due(const struct spool_rcpt *r, time_t now)
{
	return r->status == RCPT_PENDING && r->next_try <= now;
}

bool
rcpt_waiting(const struct spool_rcpt *r)
{
	return r->status == RCPT_PENDING || r->dsn_due;
}

bool
msg_finished(const struct envelope *env)
{
	for (size_t i = 0; i < env->nrcpts; i++)
		if (rcpt_waiting(&env->rcpts[i]))
			return false;
	return true;
}

time_t
msg_next_try(const struct envelope *env)
{
	time_t earliest = 0;
	bool any = false;

	for (size_t i = 0; i < env->nrcpts; i++) {
		const struct spool_rcpt *r = &env->rcpts[i];
		if (rcpt_waiting(r) && (!any || r->next_try < earliest)) {
			earliest = r->next_try;
			any = true;
		}
	}
	return earliest;
}

enum bounce_decision
bounce_decision(const struct envelope *env)
{
	bool owed = false;

	for (size_t i = 0; i < env->nrcpts && !owed; i++)
		owed = env->rcpts[i].dsn_due;
	if (!owed)
		return BOUNCE_NONE;
	return env->sender[0] == '\0' || env->is_bounce ? BOUNCE_DROP : BOUNCE_SEND;
}

void
bounce_settled(struct envelope *env, bool made, time_t retry)
{
	for (size_t i = 0; i < env->nrcpts; i++) {
		struct spool_rcpt *r = &env->rcpts[i];
		if (!r->dsn_due)
			continue;
		if (made)
			r->dsn_due = false;
		else
			r->next_try = retry;
	}
}
