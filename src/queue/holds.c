/*
 * holds.c - messages kept in the queue but not delivered: held by the operator
 * (`queue hold`) or because their sender passed an outbound limit (counted here,
 * through lookupd, before a message's first remote delivery), and released again
 * (`queue release`). A hold is a line of state/<id> (docs/spool.md "Holds"), so it
 * outlives restarts; while held a message is neither tried nor bounced.
 */
#include "queue/holds.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "accounts.h"
#include "util/log.h"

/* write_now - record m's state at once when no round will (it is not busy). */
static void
write_now(struct queued *q, struct qmsg *m)
{
	if (m->busy) {
		m->dirty = true; /* its round's end writes it */
		return;
	}
	if (spool_write_state(q->store.queue_dir, m->env) < 0)
		ev_err("store-error", KS("qid", m->id), KS("what", "queue-state"),
		    KS("error", strerror(errno)));
	else
		m->dirty = false;
}

static void
hold(struct queued *q, struct qmsg *m, const char *reason)
{
	free(m->env->hold_reason);
	m->env->hold_reason = strdup(reason);
	m->env->held = true;
	m->env->held_since = time(NULL);
	write_now(q, m);
}

bool
holds_limits(struct queued *q, struct qmsg *m)
{
	const struct envelope *env = m->env;
	const char **rcpts;
	size_t n = 0;
	char reason[ADDR_MAX + 128];

	if (env->limits_done || env->held || env->auth == NULL || env->auth[0] == '\0' ||
	    env->is_bounce)
		return false;
	if ((rcpts = calloc(env->nrcpts + 1, sizeof *rcpts)) == NULL)
		return false;
	for (size_t i = 0; i < env->nrcpts; i++)
		if (env->rcpts[i].kind == TARGET_REMOTE && env->rcpts[i].status == RCPT_PENDING)
			rcpts[n++] = env->rcpts[i].addr;
	if (n == 0) { /* only local mailboxes: nothing leaves */
		free(rcpts);
		return false;
	}
	struct send_limits defaults = { q->cfg->sends_per_day, q->cfg->sends_per_hour,
		q->cfg->first_time_recipients_per_day };
	uint64_t limit = 0;
	enum send_verdict v = accounts_sends_count(q->acct, env->auth, rcpts, n, 0, time(NULL),
	    &defaults, &limit);
	free(rcpts);
	if (v == SEND_TEMPFAIL) {
		/* A brake, not a wall: the mail goes; it is counted at its next round if any. */
		ev_err("limits-unchecked", KS("qid", m->id), KS("user", env->auth),
		    KS("reason", "lookupd did not answer"));
		return false;
	}
	m->env->limits_done = true; /* counted, or held: a release sends it uncounted */
	m->dirty = true;
	if (v == SEND_OK)
		return false;
	snprintf(reason, sizeof reason, "%s over %s (%llu)", env->auth, sendlimit_key(v),
	    (unsigned long long)limit);
	ev_warn("held", KS("qid", m->id), KS("user", env->auth), KS("reason", sendlimit_key(v)),
	    KN("limit", limit));
	hold(q, m, reason);
	return true;
}

/* known - the message id, loaded; NULL when it is not in the queue. */
static struct qmsg *
known(struct queued *q, const char *id)
{
	struct qmsg *m = idtable_get(&q->msgs, id);

	if (m == NULL && (m = msg_add(q, id, false)) == NULL)
		return NULL;
	if (msg_load(q, m) < 0) {
		ev_warn("hold-unknown", KS("qid", id));
		if (!m->busy)
			msg_forget(q, m);
		return NULL;
	}
	return m;
}

bool
holds_note(struct queued *q, const char *id, bool on)
{
	struct qmsg *m = known(q, id);

	if (m == NULL || m->deleted)
		return false;
	if (on) {
		if (m->env->held) {
			msg_unload(q, m);
			return true;
		}
		ev_warn("held", KS("qid", m->id), KS("reason", "queue hold"),
		    KS("after", m->busy ? "the delivery under way" : NULL));
		hold(q, m, "queue hold");
		msg_unload(q, m); /* not while busy: its round's end does */
		return true;
	}
	if (!m->env->held) {
		msg_unload(q, m);
		return true;
	}
	ev_info("released", KS("qid", m->id), KN("held_since", m->env->held_since),
	    KS("held_reason", m->env->hold_reason));
	m->env->held = false;
	free(m->env->hold_reason);
	m->env->hold_reason = NULL;
	m->env->held_since = 0;
	m->env->released = time(NULL);
	m->env->limits_done = true; /* the operator let it go: not counted again */
	for (size_t i = 0; i < m->env->nrcpts; i++)
		if (m->env->rcpts[i].status == RCPT_PENDING)
			m->env->rcpts[i].next_try = 0;
	write_now(q, m);
	if (m->busy)
		m->dirty = true;
	else
		ready_push(q, m);
	return true;
}
