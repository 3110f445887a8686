/*
 * queued.c - the queue manager role: learns of messages (smtpd's notifications, a
 * rescan of the spool, the CLI's control datagrams), keeps them in memory with a
 * ready list, and wakes for retries; the delivery rounds are round.c's, httpd's
 * requests queue_ctl_serve.c's.
 */
#include "queue/queued.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "accounts.h"
#include "ipc/frame.h"
#include "ipc/frame_stream.h"
#include "queue/dmarc_reports.h"
#include "queue/tls_reports.h"
#include "queue/holds.h"
#include "queue/notify.h"
#include "queue/queue_ctl_serve.h"
#include "queue/schedule.h"
#include "metrics/metrics.h"
#include "role.h"
#include "sandbox/sandbox.h"
#include "util/log.h"

#define ROUND_MAX 256        /* messages started per loop turn */
#define RESCAN_INTERVAL 60   /* seconds between spool rescans */
#define TRIM_DELAY 1         /* seconds after the last round before malloc_trim */

void
ready_push(struct queued *q, struct qmsg *m)
{
	if (m->in_ready || m->busy)
		return;
	wait_heap_del(&q->waiting, m);
	m->in_ready = true;
	m->ready_next = NULL;
	if (q->ready_tail)
		q->ready_tail->ready_next = m;
	else
		q->ready_head = m;
	q->ready_tail = m;
	queued_wake(q);
}

struct qmsg *
ready_pop(struct queued *q)
{
	struct qmsg *m = q->ready_head;
	if (m == NULL)
		return NULL;
	q->ready_head = m->ready_next;
	if (q->ready_head == NULL)
		q->ready_tail = NULL;
	m->in_ready = false;
	return m;
}

void
arm_wake(struct queued *q, time_t when)
{
	time_t now = time(NULL);
	if (q->wake_at != 0 && q->wake_at <= when && event_pending(q->wake_ev, EV_TIMEOUT, NULL))
		return;
	q->wake_at = when > now ? when : now + 1;
	struct timeval tv = { q->wake_at - now, 0 };
	event_add(q->wake_ev, &tv);
}

void
queued_wake(struct queued *q)
{
	if (!event_pending(q->work_ev, EV_TIMEOUT, NULL))
		event_active(q->work_ev, EV_TIMEOUT, 0);
}

/* id_arrival - the arrival time an id begins with (spool_new_id: 8 hex digits of seconds). */
static time_t
id_arrival(const char *id)
{
	uint64_t t = 0;

	for (int i = 0; i < 8 && id[i] != '\0'; i++)
		t = t << 4 | (uint64_t)(id[i] <= '9' ? id[i] - '0' : id[i] - 'A' + 10);
	return (time_t)t;
}

/* set_oldest - id is the oldest message now ("" for none). */
static void
set_oldest(struct queued *q, const char *id)
{
	snprintf(q->oldest, sizeof q->oldest, "%s", id);
	MX_SET(queue_oldest, id[0] != '\0' ? id_arrival(id) : 0);
}

/* walk_oldest - the oldest message, from a walk of the table. */
static void
walk_oldest(struct queued *q)
{
	const char *least = NULL;

	for (size_t i = 0; i < q->msgs.cap; i++) {
		const struct qmsg *m = q->msgs.v[i];
		if (m != NULL && (least == NULL || strcmp(m->id, least) < 0))
			least = m->id;
	}
	set_oldest(q, least != NULL ? least : "");
	q->oldest_stale = false;
	q->oldest_walked = time(NULL);
}

static void
on_oldest(evutil_socket_t fd, short what, void *arg)
{
	struct queued *q = arg;
	if (q->oldest_stale)
		walk_oldest(q);
}

/*
 * oldest_gone - the oldest message has left: walk the table for the next one,
 * at most once a second (a queue draining from its oldest end would walk it for
 * every message); meanwhile the gauge shows the one that left.
 */
static void
oldest_gone(struct queued *q)
{
	struct timeval tv = { 1, 0 };

	if (q->msgs.n == 0) {
		set_oldest(q, "");
		q->oldest_stale = false;
	} else if (q->oldest_walked != time(NULL) || q->oldest_ev == NULL) {
		walk_oldest(q);
	} else if (!q->oldest_stale) {
		q->oldest_stale = true;
		evtimer_add(q->oldest_ev, &tv);
	}
}

struct qmsg *
msg_add(struct queued *q, const char *id, bool recovering)
{
	struct qmsg *m = idtable_get(&q->msgs, id);
	if (m != NULL)
		return m;
	if ((m = slab_alloc(&q->msg_slab)) == NULL)
		return NULL;
	m->q = q;
	m->dsn_fd = -1;
	snprintf(m->id, sizeof m->id, "%s", id);
	m->recovering = recovering;
	if (idtable_put(&q->msgs, m) < 0) {
		slab_free(&q->msg_slab, m);
		return NULL;
	}
	MX_SET(queue_messages, q->msgs.n);
	if (q->oldest[0] == '\0' || strcmp(id, q->oldest) < 0)
		set_oldest(q, id);
	return m;
}

int
msg_load(struct queued *q, struct qmsg *m)
{
	struct envelope *env;

	if (m->env != NULL)
		return 0;
	if ((env = calloc(1, sizeof *env)) == NULL)
		return -1;
	if (spool_load(q->store.queue_dir, m->id, env) < 0) {
		int e = errno;
		free(env);
		errno = e;
		return -1;
	}
	m->env = env;
	if (m->flushed)
		for (size_t i = 0; i < env->nrcpts; i++)
			if (rcpt_waiting(&env->rcpts[i]))
				env->rcpts[i].next_try = 0;
	return 0;
}

/* env_drop - m's envelope, when it has one, freed. */
static void
env_drop(struct qmsg *m)
{
	if (m->env != NULL)
		envelope_free(m->env);
	free(m->env);
	m->env = NULL;
}

void
msg_unload(struct queued *q, struct qmsg *m)
{
	if (m->env == NULL)
		return;
	m->next_try = msg_next_try(m->env);
	m->held = m->env->held;
	wait_heap_del(&q->waiting, m);
	/* Out of memory for its place in the heap: due at once instead. */
	if (!m->held && !m->busy && !m->in_ready && wait_heap_add(&q->waiting, m) < 0)
		ready_push(q, m);
	if (m->dirty || m->busy)
		return; /* its state is not on disk yet: kept, and written again next round */
	env_drop(m);
}

static void
on_trim(evutil_socket_t fd, short what, void *arg)
{
	struct queued *q = arg;

	/*
	 * A round's envelopes, replies and buffers are freed by now, in among what
	 * stays; glibc gives back only the top of the heap by itself.
	 */
	if (q->busy == 0)
		malloc_trim(0);
}

void
msg_busy(struct queued *q, struct qmsg *m, bool on)
{
	struct timeval tv = { TRIM_DELAY, 0 };

	if (m->busy == on)
		return;
	m->busy = on;
	if (on) {
		q->busy++;
		return;
	}
	if (--q->busy == 0 && q->trim_ev != NULL && !evtimer_pending(q->trim_ev, NULL))
		evtimer_add(q->trim_ev, &tv);
	if (q->ready_head != NULL && q->busy < q->cfg->active_limit)
		queued_wake(q); /* at active_limit, the ready list waited for this */
}

void
msg_forget(struct queued *q, struct qmsg *m)
{
	if (m->in_ready) {
		struct qmsg **pp = &q->ready_head, *prev = NULL;
		while (*pp && *pp != m) {
			prev = *pp;
			pp = &(*pp)->ready_next;
		}
		if (*pp) {
			*pp = m->ready_next;
			if (q->ready_tail == m)
				q->ready_tail = prev;
		}
	}
	msg_busy(q, m, false);
	wait_heap_del(&q->waiting, m);
	idtable_del(&q->msgs, m->id);
	MX_SET(queue_messages, q->msgs.n);
	if (strcmp(m->id, q->oldest) == 0)
		oldest_gone(q);
	env_drop(m);
	slab_free(&q->msg_slab, m);
}

static void
on_work(evutil_socket_t fd, short what, void *arg)
{
	struct queued *q = arg;

	queued_round(q, ROUND_MAX);
	if (q->ready_head != NULL && q->busy < q->cfg->active_limit)
		queued_wake(q);
}

/* scan_spool - learn of every message in msg/ not yet known. */
static void
scan_spool(struct queued *q, bool recovering)
{
	struct spool_ids ids = { 0 };

	if (spool_list(q->store.queue_dir, &ids) < 0) {
		ev_err("store-error", KS("what", "queue-list"), KS("error", strerror(errno)));
		return;
	}
	for (size_t i = 0; i < ids.n; i++) {
		if (idtable_get(&q->msgs, ids.v[i]) == NULL) {
			struct qmsg *m = msg_add(q, ids.v[i], recovering);
			if (m)
				ready_push(q, m);
		}
	}
	spool_ids_free(&ids);
	q->last_scan = time(NULL);
}

/* flush_all - `queue flush`: every message that waits is due now. */
static void
flush_all(struct queued *q)
{
	for (size_t i = 0; i < q->msgs.cap; i++) {
		struct qmsg *m = q->msgs.v[i];
		if (m == NULL || m->busy || m->in_ready || m->held)
			continue;
		if (m->next_try != 0)
			m->flushed = true; /* msg_load makes its recipients due too */
		m->next_try = 0;
		ready_push(q, m);
	}
}

/* reschedule - queue what is due; arm the wake timer for the earliest retry. */
static void
reschedule(struct queued *q)
{
	time_t now = time(NULL), next = q->last_scan + RESCAN_INTERVAL;
	struct qmsg *m;

	while ((m = wait_heap_top(&q->waiting)) != NULL && m->next_try <= now)
		ready_push(q, m);
	if (m != NULL && m->next_try < next)
		next = m->next_try;
	q->wake_at = 0;
	arm_wake(q, next);
}

static void
on_wake(evutil_socket_t fd, short what, void *arg)
{
	struct queued *q = arg;
	if (time(NULL) >= q->last_scan + RESCAN_INTERVAL)
		scan_spool(q, false);
	reschedule(q);
}

/* note_id - the queue id of a QN_NEW, QN_DELETE, QN_HOLD or QN_RELEASE frame; NULL when malformed. */
static const char *
note_id(struct frame *f, char id[QUEUE_ID_LEN + 1])
{
	if (!frame_get_str(f, id, QUEUE_ID_LEN + 1) || !frame_end(f) || !spool_id_valid(id))
		return NULL;
	return id;
}

/* on_new_ids - smtpd's QN_NEW frames: messages just committed. */
static void
on_new_ids(struct bufferevent *bev, void *arg)
{
	struct queued *q = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	char id[QUEUE_ID_LEN + 1];
	uint16_t type;
	int r;

	while ((r = frame_stream_get(in, &q->note, &type)) == 1) {
		if (type == QN_NEW && note_id(&q->note, id) != NULL) {
			struct qmsg *m = msg_add(q, id, false);
			if (m)
				ready_push(q, m);
		}
	}
	/* A stream out of step is dropped; the rescan finds what it carried. */
	if (r < 0)
		ev_warn("notice-malformed", KS("peer", "smtpd"));
}

static void
on_queue_event(struct bufferevent *bev, short what, void *arg)
{
	/* smtpd's end is held by the supervisor too: EOF only when it is gone. */
	struct queued *q = arg;
	ev_warn("channel-closed", KS("peer", "smtpd"));
	bufferevent_disable(q->queue_bev, EV_READ);
}

void
queued_flush(struct queued *q)
{
	ev_info("flush");
	scan_spool(q, false);
	flush_all(q);
	reschedule(q);
}

void
queued_forget_deleted(struct queued *q, const char *id)
{
	struct qmsg *m = idtable_get(&q->msgs, id);

	if (m && m->busy)
		m->deleted = true; /* its round's end forgets it */
	else if (m)
		msg_forget(q, m);
}

bool
queued_delete(struct queued *q, const char *id)
{
	char path[4096];
	struct qmsg *m = idtable_get(&q->msgs, id);

	if ((m != NULL && m->deleted) ||
	    spool_path(path, sizeof path, q->store.queue_dir, SPOOL_MSG, id) < 0 ||
	    access(path, F_OK) < 0)
		return false;
	spool_remove(q->store.queue_dir, id);
	ev_info("deleted", KS("qid", id));
	queued_forget_deleted(q, id);
	return true;
}

/*
 * control_sender_ok - whether queued obeys a datagram from cred: root, its own uid,
 * or a process in its group (the roles' shared mail group). Anyone else on the host
 * can reach the abstract socket too.
 */
static bool
control_sender_ok(const struct ucred *cred)
{
	if (cred->uid == (uid_t)-1)
		return false;
	return cred->uid == 0 || cred->uid == getuid() || cred->gid == getgid();
}

static void
on_notify(evutil_socket_t fd, short what, void *arg)
{
	struct queued *q = arg;
	char id[QUEUE_ID_LEN + 1];
	struct ucred cred;
	uint16_t type;
	int r;

	/* Bounded: at most this many datagrams per callback, the rest next turn. */
	for (int i = 0; i < 1024 && (r = notifier_recv(fd, &q->note, &type, &cred)) >= 0; i++) {
		if (!control_sender_ok(&cred)) {
			ev_warn("control-refused", KN("uid", cred.uid == (uid_t)-1 ? -1L : (long)cred.uid),
			    KN("gid", cred.gid == (gid_t)-1 ? -1L : (long)cred.gid), KN("pid", cred.pid),
			    KS("reason", "only root and the mail user may control the queue"));
			continue;
		}
		if (r == 0) {
			ev_warn("control-malformed", KN("uid", cred.uid));
			continue;
		}
		if (type == QN_NEW && note_id(&q->note, id) != NULL) {
			struct qmsg *m = msg_add(q, id, false);
			if (m)
				ready_push(q, m);
		} else if (type == QN_FLUSH && frame_end(&q->note)) {
			queued_flush(q);
		} else if (type == QN_DMARC_REPORT && frame_end(&q->note)) {
			ev_info("dmarc-reports-requested");
			dmarc_reporter_run(q->dmarc, true);
		} else if (type == QN_TLSRPT_REPORT && frame_end(&q->note)) {
			ev_info("tls-reports-requested");
			tls_reporter_run(q->tlsrpt, true);
		} else if ((type == QN_HOLD || type == QN_RELEASE) && note_id(&q->note, id) != NULL) {
			holds_note(q, id, type == QN_HOLD);
		} else if (type == QN_DELETE && note_id(&q->note, id) != NULL) {
			queued_forget_deleted(q, id);
		} else {
			ev_warn("control-malformed", KN("uid", cred.uid), KN("type", type));
		}
	}
}

int
queued_main(const struct role_env *env)
{
	struct queued q = { 0 };
	struct role_control control = { 0 };
	struct config *cfg = env->cfg;
	char err[512];
	int rc = 1, nfd = -1;

	q.cfg = cfg;
	idtable_init(&q.msgs, offsetof(struct qmsg, id));
	slab_init(&q.msg_slab, sizeof(struct qmsg));
	snprintf(q.data_dir, sizeof q.data_dir, "%s", cfg->data_dir);
	q.store.msgdir_fd = -1;
	if (role_begin("queued", env, &q.base, &q.acct) < 0)
		goto out;
	if (store_open(&q.store, cfg->data_dir, q.base, err, sizeof err) < 0) {
		ev_err("start-failed", KS("error", err));
		goto out;
	}
	if ((nfd = notifier_bind(cfg->data_dir)) < 0) {
		ev_err("start-failed", KS("what", "notification socket"), KS("error", strerror(errno)));
		goto out;
	}
	q.notify_ev = event_new(q.base, nfd, EV_READ | EV_PERSIST, on_notify, &q);
	q.wake_ev = evtimer_new(q.base, on_wake, &q);
	q.work_ev = event_new(q.base, -1, 0, on_work, &q);
	q.oldest_ev = evtimer_new(q.base, on_oldest, &q);
	q.trim_ev = evtimer_new(q.base, on_trim, &q);
	/* The gauges are this process's from now on: an earlier queued's are stale. */
	MX_SET(queue_messages, 0);
	MX_SET(queue_oldest, 0);
	if (!q.notify_ev || !q.wake_ev || !q.work_ev || !q.oldest_ev || !q.trim_ev ||
	    event_add(q.notify_ev, NULL) < 0)
		goto out;
	if (env->queue_fd >= 0) {
		q.queue_bev = bufferevent_socket_new(q.base, env->queue_fd, BEV_OPT_CLOSE_ON_FREE);
		if (q.queue_bev == NULL)
			goto out;
		bufferevent_setcb(q.queue_bev, on_new_ids, NULL, on_queue_event, &q);
		bufferevent_enable(q.queue_bev, EV_READ);
	}
	if (env->qctl_fd >= 0 && (q.qctl = qctl_server_new(&q, env->qctl_fd)) == NULL)
		goto out;
	if (role_control_start(&control, q.base, env->ctl_fd, &q.cfg, NULL) < 0)
		goto out;
	q.aenv = (struct agent_env){ q.base, &q.cfg, q.acct, q.store.committer, q.store.mail_dir,
		q.store.queue_dir };
	if (local_agent_new(&q.agents[AGENT_LOCAL], &q.aenv) < 0 ||
	    remote_agent_new(&q.agents[AGENT_REMOTE], &q.aenv) < 0)
		goto out;
	q.dmarc = dmarc_reporter_new(&q);
	q.tlsrpt = tls_reporter_new(&q);
	sandbox_enter(SANDBOX_QUEUED, q.cfg);
	sandbox_probe("queued", q.cfg);
	scan_spool(&q, true);
	reschedule(&q);
	ev_info("started", KN("messages", q.msgs.n));
	event_base_dispatch(q.base);
	rc = 0;
out:
	/*
	 * The remote agent's jobs end without results; then the last flushes finish
	 * (the local agent's batches report theirs, bounces still commit), and the
	 * messages they reported to go last.
	 */
	if (q.agents[AGENT_REMOTE].ops)
		q.agents[AGENT_REMOTE].ops->free(q.agents[AGENT_REMOTE].self);
	store_close(&q.store);
	dmarc_reporter_free(q.dmarc); /* after the flushes: one may be its own */
	tls_reporter_free(q.tlsrpt);
	if (q.agents[AGENT_LOCAL].ops)
		q.agents[AGENT_LOCAL].ops->free(q.agents[AGENT_LOCAL].self);
	if (q.queue_bev)
		bufferevent_free(q.queue_bev);
	qctl_server_free(q.qctl);
	role_control_free(&control);
	if (q.notify_ev)
		event_free(q.notify_ev);
	if (q.wake_ev)
		event_free(q.wake_ev);
	if (q.work_ev)
		event_free(q.work_ev);
	if (q.oldest_ev)
		event_free(q.oldest_ev);
	if (q.trim_ev)
		event_free(q.trim_ev);
	if (nfd >= 0)
		close(nfd);
	for (size_t i = 0; i < q.msgs.cap; i++) {
		struct qmsg *m = q.msgs.v[i];
		if (m != NULL) {
			env_drop(m);
			slab_free(&q.msg_slab, m);
		}
	}
	idtable_free(&q.msgs);
	wait_heap_free(&q.waiting);
	slab_destroy(&q.msg_slab);
	role_end(q.base, q.acct, q.cfg);
	return rc;
}
