/*
 * queued.c - the queue manager role: learns of messages (smtpd's notifications, a
 * rescan of the spool), runs delivery rounds, records per-recipient results with
 * retry backoff, bounces, and removes finished messages.
 */
#include "queue/queued.h"

#include <errno.h>
#include <fcntl.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "accounts.h"
#include "deliver/bounce.h"
#include "deliver/local.h"
#include "deliver/remote.h"
#include "net/ctl.h"
#include "store/commit.h"
#include "queue/hops.h"
#include "ipc/frame.h"
#include "ipc/frame_stream.h"
#include "queue/notify.h"
#include "role.h"
#include "sandbox/sandbox.h"
#include "util/evbase.h"
#include "util/log.h"

#define ROUND_MAX 256        /* messages started per loop turn */
#define RESCAN_INTERVAL 60   /* seconds between spool rescans */

static void
ready_push(struct queued *q, struct qmsg *m)
{
	if (m->in_ready || m->busy)
		return;
	m->in_ready = true;
	m->ready_next = NULL;
	if (q->ready_tail)
		q->ready_tail->ready_next = m;
	else
		q->ready_head = m;
	q->ready_tail = m;
	queued_wake(q);
}

static struct qmsg *
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

/* arm_wake - make the wake timer fire at or before when. */
static void
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

static struct qmsg *
msg_add(struct queued *q, const char *id, bool recovering)
{
	struct qmsg *m = strmap_get(&q->msgs, id);
	if (m != NULL)
		return m;
	if ((m = calloc(1, sizeof *m)) == NULL)
		return NULL;
	m->q = q;
	m->dsn_fd = -1;
	snprintf(m->id, sizeof m->id, "%s", id);
	m->recovering = recovering;
	if (strmap_put(&q->msgs, id, m) < 0) {
		free(m);
		return NULL;
	}
	return m;
}

/* msg_forget - drop a message from memory (its files are already gone or kept). */
static void
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
	strmap_del(&q->msgs, m->id);
	envelope_free(&m->env);
	free(m);
}

/* retry_delay - retry_min, doubling with each attempt, at most retry_max. */
static time_t
retry_delay(const struct config *cfg, unsigned attempts)
{
	uint64_t d = cfg->retry_min ? cfg->retry_min : 1;
	for (unsigned i = 1; i < attempts && d < cfg->retry_max; i++)
		d *= 2;
	if (d > cfg->retry_max)
		d = cfg->retry_max;
	return (time_t)d;
}

void
queued_rcpt_result(struct queued *q, struct qmsg *m, size_t idx, int code, const char *relay,
    const char *text)
{
	struct spool_rcpt *r = &m->env.rcpts[idx];
	time_t now = time(NULL);
	const char *status;

	r->attempts++;
	free(r->error);
	r->error = NULL;
	if (code >= 200 && code < 300) {
		r->status = RCPT_DELIVERED;
		status = "sent";
	} else if (code >= 500 ||
	    (uint64_t)(now - m->env.arrival) >= q->cfg->max_queue_lifetime) {
		r->status = RCPT_BOUNCED;
		r->dsn_due = true;
		r->error = strdup(text);
		status = "bounced";
	} else {
		r->next_try = now + retry_delay(q->cfg, r->attempts);
		r->error = strdup(text);
		status = "deferred";
	}
	m->dirty = true;
	log_info("%s: to=<%s> orig_to=<%s> relay=%s status=%s (%s)", m->id, r->addr, r->orig,
	    relay, status, text);
}

/* waiting - whether r still keeps its message in the queue: a delivery or a bounce to make. */
static bool
waiting(const struct spool_rcpt *r)
{
	return r->status == RCPT_PENDING || r->dsn_due;
}

/*
 * settle_state - after a round and its bounce: remove the message when nothing is
 * left to do for it, else record its state and wake for the earliest retry.
 */
static void
settle_state(struct queued *q, struct qmsg *m)
{
	bool all_final = true;

	m->busy = false;
	m->recovering = false;
	for (size_t i = 0; i < m->env.nrcpts; i++)
		all_final &= !waiting(&m->env.rcpts[i]);
	if (all_final) {
		spool_remove(q->queue_dir, m->id);
		log_info("%s: removed", m->id);
		msg_forget(q, m);
		return;
	}
	if (m->dirty && spool_write_state(q->queue_dir, &m->env) < 0)
		log_err("%s: cannot write queue state: %s", m->id, strerror(errno));
	m->dirty = false;
	time_t earliest = 0;
	for (size_t i = 0; i < m->env.nrcpts; i++) {
		const struct spool_rcpt *r = &m->env.rcpts[i];
		if (waiting(r) && (earliest == 0 || r->next_try < earliest))
			earliest = r->next_try;
	}
	arm_wake(q, earliest);
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
	time_t retry = time(NULL) + retry_delay(q->cfg, 1);

	if (m->dsn_fd >= 0)
		close(m->dsn_fd);
	m->dsn_fd = -1;
	if (m->deleted) {
		msg_forget(q, m);
		return;
	}
	if (error != 0)
		log_err("%s: the bounce could not be made durable; will retry", m->id);
	for (size_t i = 0; i < m->env.nrcpts; i++) {
		struct spool_rcpt *r = &m->env.rcpts[i];
		if (r->dsn_due && error != 0)
			r->next_try = retry;
		else
			r->dsn_due = false;
	}
	m->dirty = true;
	settle_state(q, m);
}

void
queued_settle(struct queued *q, struct qmsg *m)
{
	bool dsn = false;

	if (m->deleted) {
		msg_forget(q, m);
		return;
	}
	for (size_t i = 0; i < m->env.nrcpts; i++)
		dsn |= m->env.rcpts[i].dsn_due;
	if (dsn && (m->env.sender[0] == '\0' || m->env.is_bounce)) {
		/* RFC 5321 6.1: never bounce a bounce. */
		for (size_t i = 0; i < m->env.nrcpts; i++)
			m->env.rcpts[i].dsn_due = false;
		log_info("%s: no bounce for the null sender", m->id);
		m->dirty = true;
		dsn = false;
	}
	if (dsn) {
		char bid[QUEUE_ID_LEN + 1];
		if (bounce_write(q, &m->env, bid, &m->dsn_fd) == 0) {
			if (bid[0] != '\0') {
				struct qmsg *b = msg_add(q, bid, false);
				log_info("%s: sender non-delivery notification: %s", m->id, bid);
				if (b)
					ready_push(q, b);
			}
			m->busy = true;
			int nfd = m->dsn_fd >= 0 ? 1 : 0;
			if (committer_submit(q->committer, &m->dsn_fd, (size_t)nfd, &q->msgdir_fd, 1,
			    settle_after_dsn, m) < 0)
				settle_after_dsn(m, ENOMEM);
			return;
		}
		log_err("%s: cannot write a bounce; will retry", m->id);
		settle_after_dsn(m, EIO);
		return;
	}
	settle_state(q, m);
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
		if (queue_hops(q->queue_dir, &m->env, &m->hops) < 0) {
			log_err("%s: cannot count the Received headers: %s", m->id, strerror(errno));
			return false; /* delivery reads the file too, and fails as it should */
		}
		m->hops_known = true;
	}
	if (m->hops <= q->cfg->max_hops + 1)
		return false;
	snprintf(text, sizeof text, "554 5.4.6 too many hops (%u Received headers): mail loop",
	    m->hops);
	for (size_t i = 0; i < m->env.nrcpts; i++)
		if (m->env.rcpts[i].status == RCPT_PENDING)
			queued_rcpt_result(q, m, i, 554, "none", text);
	return true;
}

/* round_start - begin delivering the due recipients of m. */
static void
round_start(struct queued *q, struct qmsg *m, time_t now, struct qmsg **local, size_t *nlocal)
{
	if (!m->loaded) {
		if (spool_load(q->queue_dir, m->id, &m->env) < 0) {
			if (errno == EINVAL) {
				/* Only a crash before the 250 leaves a file like this. */
				log_warn("%s: incomplete queue file, removed", m->id);
				spool_remove(q->queue_dir, m->id);
			} else if (errno != ENOENT) {
				log_err("%s: cannot read: %s", m->id, strerror(errno));
				return;
			}
			msg_forget(q, m);
			return;
		}
		m->loaded = true;
	}
	bool any_local = false;
	m->busy = true;
	m->parts = 0;
	if (too_many_hops(q, m)) {
		queued_settle(q, m);
		return;
	}
	for (size_t i = 0; i < m->env.nrcpts; i++) {
		const struct spool_rcpt *r = &m->env.rcpts[i];
		if (r->status == RCPT_PENDING && r->next_try <= now && r->kind == TARGET_LOCAL)
			any_local = true;
	}
	if (any_local) {
		m->parts++;
		local[(*nlocal)++] = m;
	}
	m->parts += remote_start(q, m, now);
	if (m->parts == 0)
		queued_settle(q, m);
}

static void
on_work(evutil_socket_t fd, short what, void *arg)
{
	struct queued *q = arg;
	struct qmsg *local[ROUND_MAX];
	size_t nlocal = 0, started = 0;
	time_t now = time(NULL);
	struct qmsg *m;

	while (started < ROUND_MAX && (m = ready_pop(q)) != NULL) {
		if (m->busy)
			continue;
		round_start(q, m, now, local, &nlocal);
		started++;
	}
	if (nlocal > 0)
		local_deliver(q, local, nlocal);
	if (q->ready_head != NULL)
		queued_wake(q);
}

/* scan_spool - learn of every message in msg/ not yet known. */
static void
scan_spool(struct queued *q, bool recovering)
{
	struct spool_ids ids = { 0 };

	if (spool_list(q->queue_dir, &ids) < 0) {
		log_err("cannot list the queue: %s", strerror(errno));
		return;
	}
	for (size_t i = 0; i < ids.n; i++) {
		if (strmap_get(&q->msgs, ids.v[i]) == NULL) {
			struct qmsg *m = msg_add(q, ids.v[i], recovering);
			if (m)
				ready_push(q, m);
		}
	}
	spool_ids_free(&ids);
	q->last_scan = time(NULL);
}

struct due_scan {
	struct queued *q;
	time_t now, earliest;
	bool flush;
};

static void
check_due(const char *key, void *value, void *arg)
{
	struct due_scan *d = arg;
	struct qmsg *m = value;

	if (m->busy || m->in_ready)
		return;
	if (!m->loaded) {
		ready_push(d->q, m);
		return;
	}
	for (size_t i = 0; i < m->env.nrcpts; i++) {
		struct spool_rcpt *r = &m->env.rcpts[i];
		if (!waiting(r))
			continue;
		if (d->flush)
			r->next_try = 0;
		if (r->next_try <= d->now) {
			ready_push(d->q, m);
			return;
		}
		if (d->earliest == 0 || r->next_try < d->earliest)
			d->earliest = r->next_try;
	}
}

/* reschedule - queue what is due; arm the wake timer for the earliest retry. */
static void
reschedule(struct queued *q, bool flush)
{
	struct due_scan d = { q, time(NULL), 0, flush };

	strmap_each(&q->msgs, check_due, &d);
	time_t next = q->last_scan + RESCAN_INTERVAL;
	if (d.earliest != 0 && d.earliest < next)
		next = d.earliest;
	q->wake_at = 0;
	arm_wake(q, next);
}

static void
on_wake(evutil_socket_t fd, short what, void *arg)
{
	struct queued *q = arg;
	if (time(NULL) >= q->last_scan + RESCAN_INTERVAL)
		scan_spool(q, false);
	reschedule(q, false);
}

/* note_id - the queue id of a QN_NEW or QN_DELETE frame; NULL when malformed. */
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
		log_warn("malformed notice from smtpd: dropped what was buffered");
}

static void
on_queue_event(struct bufferevent *bev, short what, void *arg)
{
	/* smtpd's end is held by the supervisor too: EOF only when it is gone. */
	struct queued *q = arg;
	log_warn("the channel from smtpd closed");
	bufferevent_disable(q->queue_bev, EV_READ);
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
			log_warn("control datagram from uid %ld gid %ld pid %ld ignored: only root and "
			    "the mail user may control the queue", cred.uid == (uid_t)-1 ? -1L :
			    (long)cred.uid, cred.gid == (gid_t)-1 ? -1L : (long)cred.gid, (long)cred.pid);
			continue;
		}
		if (r == 0) {
			log_warn("malformed control datagram from uid %ld ignored", (long)cred.uid);
			continue;
		}
		if (type == QN_NEW && note_id(&q->note, id) != NULL) {
			struct qmsg *m = msg_add(q, id, false);
			if (m)
				ready_push(q, m);
		} else if (type == QN_FLUSH && frame_end(&q->note)) {
			log_info("queue flush requested");
			scan_spool(q, false);
			reschedule(q, true);
		} else if (type == QN_DELETE && note_id(&q->note, id) != NULL) {
			struct qmsg *m = strmap_get(&q->msgs, id);
			if (m && m->busy)
				m->deleted = true;
			else if (m)
				msg_forget(q, m);
		} else {
			log_warn("malformed control datagram (type %u) ignored", type);
		}
	}
}

static void
on_reload(void *arg, const struct tls_pem *pem)
{
	struct queued *q = arg;
	role_reload_config(&q->cfg);
}

static void
on_gone(void *arg)
{
	struct queued *q = arg;
	log_info("supervisor gone, stopping");
	event_base_loopexit(q->base, NULL);
}

static void
free_msg(const char *key, void *value, void *arg)
{
	struct qmsg *m = value;
	envelope_free(&m->env);
	free(m);
}

int
queued_main(const struct role_env *env)
{
	struct queued q = { 0 };
	struct event *sigs[2] = { 0 };
	struct config *cfg = env->cfg;
	struct ctl *ctl = NULL;
	char err[512];
	int rc = 1, nfd = -1;

	log_init("queued", cfg->log_syslog);
	q.cfg = cfg;
	snprintf(q.data_dir, sizeof q.data_dir, "%s", cfg->data_dir);
	snprintf(q.queue_dir, sizeof q.queue_dir, "%s/queue", cfg->data_dir);
	snprintf(q.mail_dir, sizeof q.mail_dir, "%s/mail", cfg->data_dir);
	if ((q.base = evbase_new()) == NULL)
		goto out;
	if ((q.acct = accounts_open_remote(cfg->data_dir, err, sizeof err)) == NULL) {
		log_err("%s", err);
		goto out;
	}
	char msgdir[4200];
	snprintf(msgdir, sizeof msgdir, "%s/msg", q.queue_dir);
	if ((q.msgdir_fd = open(msgdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		log_err("cannot open %s: %s", msgdir, strerror(errno));
		goto out;
	}
	if ((q.committer = committer_new(q.base)) == NULL) {
		log_err("cannot start the commit thread: %s", strerror(errno));
		goto out;
	}
	if ((nfd = notifier_bind(cfg->data_dir)) < 0) {
		log_err("cannot bind the notification socket: %s", strerror(errno));
		goto out;
	}
	q.notify_ev = event_new(q.base, nfd, EV_READ | EV_PERSIST, on_notify, &q);
	q.wake_ev = evtimer_new(q.base, on_wake, &q);
	q.work_ev = event_new(q.base, -1, 0, on_work, &q);
	if (!q.notify_ev || !q.wake_ev || !q.work_ev || event_add(q.notify_ev, NULL) < 0)
		goto out;
	if (env->queue_fd >= 0) {
		q.queue_bev = bufferevent_socket_new(q.base, env->queue_fd, BEV_OPT_CLOSE_ON_FREE);
		if (q.queue_bev == NULL)
			goto out;
		bufferevent_setcb(q.queue_bev, on_new_ids, NULL, on_queue_event, &q);
		bufferevent_enable(q.queue_bev, EV_READ);
	}
	if (role_signals(q.base, sigs) < 0)
		goto out;
	if ((ctl = ctl_new(q.base, env->ctl_fd, on_reload, on_gone, &q)) == NULL)
		goto out;
	if ((q.remote = remote_new(&q)) == NULL)
		goto out;
	sandbox_enter(SANDBOX_QUEUED, q.cfg);
	sandbox_probe("queued", q.cfg);
	scan_spool(&q, true);
	reschedule(&q, false);
	log_info("started, %zu messages in the queue", q.msgs.n);
	event_base_dispatch(q.base);
	rc = 0;
out:
	remote_free(q.remote);
	committer_free(q.committer);
	if (q.msgdir_fd > 0)
		close(q.msgdir_fd);
	if (q.queue_bev)
		bufferevent_free(q.queue_bev);
	ctl_free(ctl);
	for (int i = 0; i < 2; i++)
		if (sigs[i])
			event_free(sigs[i]);
	if (q.notify_ev)
		event_free(q.notify_ev);
	if (q.wake_ev)
		event_free(q.wake_ev);
	if (q.work_ev)
		event_free(q.work_ev);
	if (nfd >= 0)
		close(nfd);
	strmap_each(&q.msgs, free_msg, NULL);
	strmap_free(&q.msgs);
	accounts_close(q.acct);
	if (q.base)
		event_base_free(q.base);
	config_free(q.cfg);
	free(q.cfg);
	return rc;
}
