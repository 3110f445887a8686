/*
 * round.c - the queue's delivery rounds: the due recipients of a message are routed
 * (deliver/route.h) and handed to the local or the remote agent as one job each
 * (deliver/agent.h); each result is recorded by the schedule (queue/schedule.h);
 * when the message's jobs are done it is settled: its bounce written, then removed,
 * or its state recorded and the wake timer set for its next try.
 */
#include "queue/queued.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deliver/bounce.h"
#include "deliver/route.h"
#include "metrics/metrics.h"
#include "queue/holds.h"
#include "queue/hops.h"
#include "queue/schedule.h"
#include "queue/vacation.h"
#include "store/commit.h"
#include "util/log.h"

#define LOAD_RETRY 60 /* seconds before a message that could not be read is read again */

static struct retry_policy
policy_of(const struct config *cfg)
{
	return (struct retry_policy){ cfg->retry_min, cfg->retry_max, cfg->max_queue_lifetime };
}

/*
 * rcpt_result - record the outcome of one recipient: code 2xx delivered, 4xx (or 0:
 * no answer) deferred or, past max_queue_lifetime, bounced; 5xx bounced. text is
 * the reply or the reason, for the log, the state and the bounce.
 */
static void
rcpt_result(struct queued *q, struct qmsg *m, size_t idx, int code, const char *relay,
    const char *text, const char *dane, const char *sts, unsigned conn_use)
{
	char use[16];
	static const char *const status[] = { "sent", "deferred", "bounced" };
	struct spool_rcpt *r = &m->env->rcpts[idx];
	struct retry_policy p = policy_of(q->cfg);

	/* A released message's lifetime counts from its release, not its arrival. */
	time_t since = m->env->released > m->env->arrival ? m->env->released : m->env->arrival;
	enum result_class c = schedule_result(r, code, text, time(NULL), since, &p);
	static const enum mx_result counted[] = { [RESULT_DELIVERED] = MX_DELIVERED,
		[RESULT_DEFERRED] = MX_DEFERRED, [RESULT_BOUNCED] = MX_BOUNCED };
	metrics_delivery(r->kind == TARGET_LOCAL ? MX_LOCAL : MX_REMOTE, counted[c]);
	m->dirty = true;
	if (conn_use > 1) /* logged only for a kept connection's later transactions */
		snprintf(use, sizeof use, "%u", conn_use);
	ev_info("delivery", KS("qid", m->id), KA("to", r->addr), KA("orig_to", r->orig),
	    KS("relay", relay != NULL && relay[0] ? relay : "none"), KS("dane", dane),
	    KS("status", status[c]), KN("delay", time(NULL) - m->env->arrival), KS("reason", text),
	    KS("sts", sts), KS("conn_use", conn_use > 1 ? use : NULL));
}

/*
 * settle_state - after a round and its bounce: remove the message when nothing is
 * left to do for it, else record its state and wake for its next try.
 */
static void
settle_state(struct queued *q, struct qmsg *m)
{
	msg_busy(q, m, false);
	if (msg_finished(m->env)) {
		spool_remove(q->store.queue_dir, m->id);
		ev_info("removed", KS("qid", m->id));
		msg_forget(q, m);
		return;
	}
	if (m->dirty && spool_write_state(q->store.queue_dir, m->env) < 0)
		ev_err("store-error", KS("qid", m->id), KS("what", "queue-state"),
		    KS("error", strerror(errno)));
	else
		m->dirty = false;
	msg_unload(q, m);
	arm_wake(q, m->next_try);
}

/*
 * settle_after_dsn - the bounce is on stable storage (error 0): now the original may
 * go. Else the recipients stay bounced, and the bounce is what is tried again.
 */
static void
settle_after_dsn(void *arg, int error)
{
	struct qmsg *m = arg;
	struct queued *q = m->q;
	struct retry_policy p = policy_of(q->cfg);

	if (m->dsn_fd >= 0)
		close(m->dsn_fd);
	m->dsn_fd = -1;
	if (m->deleted) {
		msg_forget(q, m);
		return;
	}
	if (error != 0)
		ev_err("bounce-error", KS("qid", m->id), KS("error", strerror(error)));
	bounce_settled(m->env, error == 0, time(NULL) + retry_delay(&p, 1));
	m->dirty = true;
	settle_state(q, m);
}

/* settle - every job of the round is done: bounce what failed, then settle_state. */
static void
settle(struct queued *q, struct qmsg *m)
{
	char bid[QUEUE_ID_LEN + 1];

	if (m->deleted) {
		msg_forget(q, m);
		return;
	}
	switch (bounce_decision(m->env)) {
	case BOUNCE_NONE:
		settle_state(q, m);
		return;
	case BOUNCE_DROP:
		/* RFC 5321 6.1: never bounce a bounce. */
		ev_info("bounce-dropped", KS("qid", m->id), KS("reason", "null sender"));
		bounce_settled(m->env, true, 0);
		m->dirty = true;
		settle_state(q, m);
		return;
	case BOUNCE_SEND:
		break;
	}
	if (bounce_write(q, m->env, bid, &m->dsn_fd) < 0) {
		ev_err("bounce-error", KS("qid", m->id), KS("error", "cannot write it"));
		settle_after_dsn(m, EIO);
		return;
	}
	if (bid[0] != '\0') {
		struct qmsg *b = msg_add(q, bid, false);
		ev_info("bounce", KS("qid", m->id), KS("bounce_qid", bid), KA("to", m->env->sender));
		MX_INC(bounces);
		if (b)
			ready_push(q, b);
	}
	int nfd = m->dsn_fd >= 0 ? 1 : 0;
	if (committer_submit(q->store.committer, &m->dsn_fd, (size_t)nfd, &q->store.msgdir_fd, 1,
	    settle_after_dsn, m) < 0)
		settle_after_dsn(m, ENOMEM);
}

/*
 * too_many_hops - whether m carries more Received: fields than max_hops allows (it
 * came by a path that did not check, or under an older limit); if so, every pending
 * recipient is bounced with 5.4.6 instead of delivered. smtpd took at most max_hops
 * and added its own on top, so one more is allowed here.
 */
static bool
too_many_hops(struct queued *q, struct qmsg *m)
{
	char text[128];

	if (!m->hops_known) {
		if (queue_hops(q->store.queue_dir, m->env, &m->hops) < 0) {
			ev_err("store-error", KS("qid", m->id), KS("what", "hops"),
			    KS("error", strerror(errno)));
			return false; /* delivery reads the file too, and fails as it should */
		}
		m->hops_known = true;
	}
	if (m->hops <= q->cfg->max_hops + 1)
		return false;
	snprintf(text, sizeof text, "554 5.4.6 too many hops (%u Received headers): mail loop",
	    m->hops);
	for (size_t i = 0; i < m->env->nrcpts; i++)
		if (m->env->rcpts[i].status == RCPT_PENDING)
			rcpt_result(q, m, i, 554, "none", text, NULL, NULL, 0);
	return true;
}

static void
on_result(void *arg, const struct agent_result *res)
{
	struct qmsg *m = arg;

	if (res->unsure)
		m->recovering = true;
	rcpt_result(m->q, m, res->idx, res->code, res->relay, res->text, res->dane,
	    res->sts, res->conn_use);
	/* In the user's mailbox now: a vacation may answer it. */
	if (res->code >= 200 && res->code < 300 && m->env->rcpts[res->idx].kind == TARGET_LOCAL)
		vacation_delivered(m->q, m->env, res->idx);
}

static void
on_done(void *arg)
{
	struct qmsg *m = arg;

	if (--m->parts == 0)
		settle(m->q, m);
}

/* hand_out - the due recipients of m to their agents, one job each. */
static void
hand_out(struct queued *q, struct qmsg *m, time_t now)
{
	struct route_cfg rc = { q->cfg->relayhost, q->cfg->remote_port };
	size_t *idx[AGENT_COUNT] = { 0 }, n[AGENT_COUNT] = { 0 };

	for (int a = 0; a < AGENT_COUNT; a++)
		idx[a] = calloc(m->env->nrcpts, sizeof *idx[a]);
	for (size_t i = 0; i < m->env->nrcpts; i++) {
		const struct spool_rcpt *r = &m->env->rcpts[i];
		struct route route;
		if (!rcpt_due(r, now))
			continue;
		if (route_rcpt(r->kind, r->addr, &rc, &route) < 0) {
			rcpt_result(q, m, i, 553, "none", "553 5.1.3 malformed recipient address", NULL,
			    NULL, 0);
			continue;
		}
		int a = route.kind == ROUTE_LOCAL ? AGENT_LOCAL : AGENT_REMOTE;
		if (idx[a] == NULL)
			rcpt_result(q, m, i, 451, "none", "451 4.3.0 out of memory", NULL, NULL, 0);
		else
			idx[a][n[a]++] = i;
	}
	for (int a = 0; a < AGENT_COUNT; a++) {
		if (n[a] == 0)
			continue;
		struct agent *ag = &q->agents[a];
		struct agent_job job = { m->env, q->store.queue_dir, idx[a], n[a], m->recovering,
			on_result, on_done, m };
		if (a == AGENT_LOCAL)
			m->recovering = false; /* it looks now; a failure it reports sets it again */
		m->parts++;
		if (ag->ops->submit(ag->self, &job) < 0) {
			m->parts--;
			for (size_t k = 0; k < n[a]; k++)
				rcpt_result(q, m, idx[a][k], 451, "none", "451 4.3.0 out of memory", NULL,
				    NULL, 0);
		}
	}
	for (int a = 0; a < AGENT_COUNT; a++)
		free(idx[a]);
}

/* round_start - load m when needed, then begin delivering its due recipients. */
static void
round_start(struct queued *q, struct qmsg *m, time_t now)
{
	if (msg_load(q, m) < 0) {
		if (errno == EINVAL) {
			/* Only a crash before the 250 leaves a file like this. */
			ev_warn("incomplete-removed", KS("qid", m->id));
			spool_remove(q->store.queue_dir, m->id);
		} else if (errno != ENOENT) {
			ev_err("store-error", KS("qid", m->id), KS("what", "queue-read"),
			    KS("error", strerror(errno)));
			/* Read again after a while; out of memory for that, forgotten
			 * until the next rescan of the spool finds it. */
			m->next_try = now + LOAD_RETRY;
			if (wait_heap_add(&q->waiting, m) == 0)
				arm_wake(q, m->next_try);
			else
				msg_forget(q, m);
			return;
		}
		msg_forget(q, m);
		return;
	}
	/* Held: kept as it is, tried only after a release (which pushes it again). */
	if (m->env->held || holds_limits(q, m)) {
		msg_unload(q, m);
		return;
	}
	msg_busy(q, m, true);
	m->flushed = false; /* applied by msg_load; written with the round's state */
	m->parts = 1; /* the hold: released below, once every job is handed out */
	if (!too_many_hops(q, m))
		hand_out(q, m, now);
	on_done(m);
}

void
queued_round(struct queued *q, unsigned max)
{
	time_t now = time(NULL);
	unsigned started = 0;
	struct qmsg *m;

	/* The rest wait in the ready list: msg_busy wakes the rounds as these end. */
	while (started < max && q->busy < q->cfg->active_limit && (m = ready_pop(q)) != NULL) {
		if (m->busy)
			continue;
		round_start(q, m, now);
		started++;
	}
	for (int a = 0; a < AGENT_COUNT; a++)
		if (q->agents[a].ops != NULL && q->agents[a].ops->flush != NULL)
			q->agents[a].ops->flush(q->agents[a].self);
}
