/*
 * lookupd.c - the lookup role: the only process of `serve` that opens the
 * account store. It answers the other roles' queries (lookupd_mail.c) and checks
 * logins (lookupd_login.c). This file is its loop: the connections, whose
 * requests go to the store's workers (lookupd_int.h), the sweep of what expires,
 * and the start and the end.
 * Clients are accepted only from root, our own uid or the mail group (SO_PEERCRED).
 * With [accounts] backend = postgresql each worker has its own connection; one
 * that cannot reach the server answers tempfail at once (db/db_pg.c tries again
 * with backoff), and lookupd starts and serves whether the server answers or not.
 */
#include <errno.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "accounts.h"
#include "accounts_vacation.h"
#include "accounts_web.h"
#include "ipc/frame.h"
#include "lookup/lookup_proto.h"
#include "lookup/lookupd_int.h"
#include "role.h"
#include "util/log.h"
#include "util/workpool.h"

#define VERIFY_THREADS 2
#define SWEEP_INTERVAL 60
#define GREY_EXPIRE_SWEEPS 60  /* greylisting's old rows go once an hour */
#define CONNS_MAX 512          /* a role holds one, plus one per login being checked */

struct lk_conn {
	struct lookupd *d;
	int fd;
	struct event *ev;
	unsigned refs;           /* the connection, and its request under way */
	uid_t uid;               /* of the peer */
	bool dead;
	struct lk_conn *prev, *next;
};

static void
conn_unref(struct lk_conn *c)
{
	if (--c->refs > 0)
		return;
	struct lookupd *d = c->d;
	if (c->prev)
		c->prev->next = c->next;
	else
		d->conns = c->next;
	d->nconns--;
	if (c->next)
		c->next->prev = c->prev;
	free(c);
}

static void
conn_close(struct lk_conn *c)
{
	if (c->dead)
		return;
	c->dead = true;
	event_free(c->ev);
	close(c->fd);
	conn_unref(c);
}

static void
send_frame(struct lk_conn *c, const struct frame *f)
{
	if (c->dead)
		return;
	if (f->bad || send(c->fd, f->buf, f->len, MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t)f->len)
		conn_close(c); /* a client that cannot take its answer starts afresh */
}

void
reply_u64(struct lk_req *r, uint64_t v)
{
	frame_init(&r->out, LK_REPLY);
	frame_put_u64(&r->out, v);
	r->act = ACT_SEND;
}

void
refused(struct lk_req *r)
{
	frame_init(&r->out, LK_ERROR);
	r->act = ACT_SEND;
}

bool
lim_blocked(struct lookupd *d, const char *key, time_t now)
{
	pthread_mutex_lock(&d->mu);
	bool b = authlimit_blocked(&d->limits, key, now);
	pthread_mutex_unlock(&d->mu);
	return b;
}

bool
lim_failed(struct lookupd *d, const char *key, time_t now, unsigned max, time_t window)
{
	pthread_mutex_lock(&d->mu);
	bool b = authlimit_failed(&d->limits, key, now, max, window);
	pthread_mutex_unlock(&d->mu);
	return b;
}

void
lim_reset(struct lookupd *d, const char *key)
{
	pthread_mutex_lock(&d->mu);
	authlimit_reset(&d->limits, key);
	pthread_mutex_unlock(&d->mu);
}

/* ---- the store's workers ---- */

struct store_job {
	struct lookupd *d;
	void (*run)(struct lk_ctx *x, void *arg);
	void (*done)(void *arg);
	void *arg;
};

/* slot_take - a free store handle: there are as many as workers, so one always is. */
static struct lk_slot *
slot_take(struct lookupd *d)
{
	struct lk_slot *s = NULL;

	pthread_mutex_lock(&d->mu);
	for (size_t i = 0; i < STORE_THREADS && s == NULL; i++)
		if (!d->slots[i].busy)
			s = &d->slots[i];
	s->busy = true;
	pthread_mutex_unlock(&d->mu);
	return s;
}

static void
slot_give(struct lookupd *d, struct lk_slot *s)
{
	pthread_mutex_lock(&d->mu);
	s->busy = false;
	pthread_mutex_unlock(&d->mu);
}

static void
store_work(void *arg)
{
	struct store_job *j = arg;
	struct lookupd *d = j->d;

	pthread_rwlock_rdlock(&d->cfg_lock);
	struct lk_slot *s = slot_take(d);
	struct lk_ctx x = { d, s->acct, s };
	j->run(&x, j->arg);
	slot_give(d, s);
	pthread_rwlock_unlock(&d->cfg_lock);
}

static void
store_done(void *arg)
{
	struct store_job *j = arg;

	j->done(j->arg);
	free(j);
}

int
store_submit(struct lookupd *d, void (*run)(struct lk_ctx *x, void *arg),
    void (*done)(void *arg), void *arg)
{
	struct store_job *j;

	if (d->store == NULL || (j = calloc(1, sizeof *j)) == NULL)
		return -1; /* at the end: what comes now is answered at once */
	*j = (struct store_job){ d, run, done, arg };
	if (workpool_submit(d->store, store_work, store_done, j) < 0) {
		free(j);
		return -1;
	}
	return 0;
}

/* ---- requests ---- */

static void
dispatch(struct lk_ctx *x, void *arg)
{
	struct lk_req *r = arg;

	r->act = ACT_CLOSE;
	switch (r->type) {
	case LK_RESOLVE:
		do_resolve(x, r);
		break;
	case LK_OWNS:
		do_owns(x, r);
		break;
	case LK_QUOTA:
		do_quota(x, r);
		break;
	case LK_DOMAINS:
		do_domains(x, r);
		break;
	case LK_VERIFY:
		do_verify(x, r);
		break;
	case LK_DKIM_KEYS:
		do_dkim_keys(x, r);
		break;
	case LK_DKIM_SIGN:
		do_dkim_sign(x, r);
		break;
	case LK_DKIM_SIGN_MANY:
		do_dkim_sign_many(x, r);
		break;
	case LK_SRS_FORWARD:
		do_srs_forward(x, r);
		break;
	case LK_GREYLIST:
		do_greylist(x, r);
		break;
	case LK_GREYLIST_TRUST:
		do_greylist_trust(x, r);
		break;
	case LK_SENDS_COUNT:
		do_sends_count(x, r);
		break;
	case LK_VACATION_GET:
		do_vacation_get(x, r);
		break;
	case LK_VACATION_REPLY:
		do_vacation_reply(x, r);
		break;
	case LK_WEB_LOGIN:
		do_web_login(x, r);
		break;
	case LK_WEB_WHO:
		do_web_who(x, r);
		break;
	case LK_WEB_LOGOUT:
		do_web_logout(x, r);
		break;
	case LK_WEB_OP:
		do_web_op(x, r);
		break;
	default:
		ev_warn("lookup-malformed", KN("type", r->type));
	}
	explicit_bzero(r->in.buf, r->in.len);
}

void
req_finish(struct lk_req *r)
{
	struct lk_conn *c = r->c;

	if (r->act == ACT_LATER)
		return; /* the password check's end calls again */
	if (r->act == ACT_SEND)
		send_frame(c, &r->out);
	else
		conn_close(c);
	/* The connection is read again: its next request may come. */
	if (!c->dead && event_add(c->ev, NULL) < 0)
		conn_close(c);
	conn_unref(c);
	explicit_bzero(r->out.buf, r->out.len);
	free(r);
}

static void
req_done(void *arg)
{
	req_finish(arg);
}

static void
on_request(evutil_socket_t fd, short what, void *arg)
{
	struct lk_conn *c = arg;
	struct lookupd *d = c->d;
	struct lk_req *r = malloc(sizeof *r);

	if (r == NULL) {
		conn_close(c);
		return;
	}
	/* Straight into the frame; MSG_TRUNC tells a longer one, which no request is. */
	ssize_t n = recv(fd, r->in.buf, sizeof r->in.buf, MSG_DONTWAIT | MSG_TRUNC);
	if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
		free(r);
		return;
	}
	if (n <= 0 || (size_t)n > sizeof r->in.buf ||
	    frame_parse(&r->in, r->in.buf, (size_t)n, &r->type) < 0) {
		explicit_bzero(r->in.buf, sizeof r->in.buf);
		free(r);
		conn_close(c);
		return;
	}
	r->d = d;
	r->c = c;
	r->uid = c->uid;
	r->act = ACT_CLOSE;
	r->out.len = 0;
	/* One request of a connection at a time: its answers come in order. */
	event_del(c->ev);
	c->refs++;
	if (store_submit(d, dispatch, req_done, r) < 0) {
		r->act = ACT_CLOSE;
		req_finish(r);
	}
}

/* peer_allowed - root, our own uid, or a role in the mail group. */
static bool
peer_allowed(int fd, gid_t mail_gid, uid_t *uid)
{
	struct ucred cr;
	socklen_t len = sizeof cr;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return false;
	*uid = cr.uid;
	return cr.uid == 0 || cr.uid == geteuid() || cr.gid == mail_gid;
}

static void
on_accept(struct evconnlistener *el, evutil_socket_t fd, struct sockaddr *sa, int salen,
    void *arg)
{
	struct lookupd *d = arg;
	uid_t uid = (uid_t)-1;

	if (!peer_allowed(fd, d->mail_gid, &uid)) {
		ev_warn("lookup-refused", KN("uid", uid == (uid_t)-1 ? -1L : (long)uid),
		    KS("reason", "not a mail role"));
		close(fd);
		return;
	}
	if (d->nconns >= CONNS_MAX) {
		ev_warn("lookup-refused", KN("uid", uid), KS("reason", "too many connections"),
		    KN("open", d->nconns));
		close(fd);
		return;
	}
	struct lk_conn *c = calloc(1, sizeof *c);
	if (c == NULL) {
		close(fd);
		return;
	}
	c->d = d;
	c->fd = fd;
	c->uid = uid;
	c->refs = 1;
	c->ev = event_new(d->base, fd, EV_READ | EV_PERSIST, on_request, c);
	if (c->ev == NULL || event_add(c->ev, NULL) < 0) {
		if (c->ev)
			event_free(c->ev);
		close(fd);
		free(c);
		return;
	}
	c->next = d->conns;
	if (d->conns)
		d->conns->prev = c;
	d->conns = c;
	d->nconns++;
}

/* ---- what expires ---- */

struct sweep {
	struct lookupd *d;
	bool grey; /* greylisting's and vacations' rows too */
};

/*
 * sweep_run - web sessions that are over; with grey, greylisting rows past their
 * time and the senders that vacations answered longer than vacation_interval ago.
 */
static void
sweep_run(struct lk_ctx *x, void *arg)
{
	struct sweep *s = arg;
	const struct config *cfg = x->d->cfg;
	time_t now = time(NULL);

	if (accounts_sessions_expire(x->acct, now) < 0)
		ev_err("store-error", KS("what", "web-sessions-expiry"));
	if (!s->grey)
		return;
	int n = accounts_greylist_expire(x->acct, cfg->greylist_delay, now);
	if (n > 0)
		ev_info("greylist-expired", KN("removed", n));
	n = accounts_vacation_expire(x->acct, cfg->vacation_interval, now);
	if (n > 0)
		ev_info("vacation-expired", KN("removed", n));
}

static void
sweep_done(void *arg)
{
	struct sweep *s = arg;

	s->d->sweeping = false;
	free(s);
}

/* sweep - a sweep on a worker, unless one is under way still (a slow store). */
static void
sweep(struct lookupd *d, bool grey)
{
	struct sweep *s;

	if (d->sweeping || (s = calloc(1, sizeof *s)) == NULL)
		return;
	s->d = d;
	s->grey = grey;
	d->sweeping = true;
	if (store_submit(d, sweep_run, sweep_done, s) < 0)
		sweep_done(s);
}

static void
on_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct lookupd *d = arg;

	pthread_mutex_lock(&d->mu);
	authlimit_expire(&d->limits, time(NULL), (time_t)d->cfg->login_block_time);
	pthread_mutex_unlock(&d->mu);
	bool grey = ++d->sweeps >= GREY_EXPIRE_SWEEPS;
	if (grey)
		d->sweeps = 0;
	sweep(d, grey);
}

/* ---- start and end ---- */

/*
 * open_slots - a store handle per worker. SQLite's are opened (and the schema
 * made) now; PostgreSQL's connect at their first use, so a server that is down
 * delays nothing but the answers. 0, or -1 (logged).
 */
static int
open_slots(struct lookupd *d)
{
	const char *dsn = config_accounts_dsn(d->cfg);
	char err[512];

	for (size_t i = 0; i < STORE_THREADS; i++) {
		struct lk_slot *s = &d->slots[i];
		s->acct = dsn != NULL ? accounts_open_lazy(dsn, err, sizeof err) :
		    accounts_open(d->cfg->data_dir, true, err, sizeof err);
		if (s->acct == NULL) {
			ev_err("start-failed", KS("error", err));
			return -1;
		}
		if ((s->dkim_data = malloc(LK_DKIM_DATA_MAX + 1)) == NULL ||
		    (s->web_arg = malloc(FRAME_MAX)) == NULL)
			return -1;
	}
	return 0;
}

static void
close_slots(struct lookupd *d)
{
	for (size_t i = 0; i < STORE_THREADS; i++) {
		struct lk_slot *s = &d->slots[i];
		accounts_close(s->acct);
		if (s->dkim_data != NULL)
			explicit_bzero(s->dkim_data, LK_DKIM_DATA_MAX + 1);
		free(s->dkim_data);
		free(s->web_arg);
	}
}

static int
locks_init(struct lookupd *d)
{
	pthread_rwlockattr_t attr;

	/* A reload must not wait behind a stream of readers. */
	if (pthread_rwlockattr_init(&attr) != 0)
		return -1;
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	int rc = pthread_rwlock_init(&d->cfg_lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	if (rc != 0)
		return -1;
	if (pthread_mutex_init(&d->mu, NULL) != 0) {
		pthread_rwlock_destroy(&d->cfg_lock);
		return -1;
	}
	return 0;
}

/*
 * on_started - the first thing the loop runs, inside the role's walls: the
 * threads made now are walled too (seccomp and Landlock hold for the threads a
 * walled thread makes, not for those made before), and only then are clients taken.
 */
static void
on_started(evutil_socket_t fd, short what, void *arg)
{
	struct lookupd *d = arg;
	struct timeval tv = { SWEEP_INTERVAL, 0 };

	if ((d->work = workpool_new(d->base, VERIFY_THREADS)) == NULL ||
	    (d->store = workpool_new(d->base, STORE_THREADS)) == NULL) {
		ev_err("start-failed", KS("error", "cannot start the worker threads"));
		event_base_loopexit(d->base, NULL);
		return;
	}
	sweep(d, true);
	/* Backlog 0: already listening. Listening again would make lookupd, not root,
	 * the credentials that clients check. */
	d->listener = evconnlistener_new(d->base, on_accept, d, LEV_OPT_CLOSE_ON_FREE, 0,
	    d->lookup_fd);
	if (d->listener == NULL ||
	    (d->sweep = event_new(d->base, -1, EV_PERSIST, on_sweep, d)) == NULL ||
	    event_add(d->sweep, &tv) < 0) {
		ev_err("start-failed", KS("error", "cannot take lookup connections"));
		event_base_loopexit(d->base, NULL);
	}
}

int
lookupd_main(const struct role_env *env)
{
	struct lookupd *d = calloc(1, sizeof *d);
	struct role_control control = { 0 };
	int rc = 1;

	if (d == NULL)
		return 1;
	if (locks_init(d) < 0) {
		free(d);
		return 1;
	}
	d->cfg = env->cfg;
	d->mail_gid = env->mail_gid;
	d->mail_uid = env->mail_uid;
	d->httpd_uid = env->httpd_uid;
	if (role_begin("lookupd", env, &d->base, NULL) < 0)
		goto out;
	if (open_slots(d) < 0)
		goto out;
	role_dummy_hash(d->dummy_hash, sizeof d->dummy_hash);
	if (role_control_start(&control, d->base, env->ctl_fd, &d->cfg, NULL) < 0)
		goto out;
	control.cfg_lock = &d->cfg_lock;
	d->lookup_fd = env->lookup_fd;
	evutil_make_socket_nonblocking(env->lookup_fd);
	struct timeval now = { 0, 0 };
	if (event_base_once(d->base, -1, EV_TIMEOUT, on_started, d, &now) < 0)
		goto out;
	role_run(d->base, SANDBOX_LOOKUPD, "lookupd", d->cfg);
	rc = d->listener != NULL ? 0 : 1;
out:
	if (d->listener)
		evconnlistener_free(d->listener);
	pthread_mutex_lock(&d->mu);
	d->stopping = true; /* no new password checks: the pools end in order */
	pthread_mutex_unlock(&d->mu);
	/* The store's jobs first (they may start password checks no more), then the
	 * checks, whose ends answer at once now; both still use the connections. */
	workpool_free(d->store);
	d->store = NULL;
	workpool_free(d->work);
	while (d->conns) {
		struct lk_conn *c = d->conns;
		c->refs = 1;
		if (c->dead) {
			conn_unref(c);
		} else {
			conn_close(c);
		}
	}
	if (d->sweep)
		event_free(d->sweep);
	role_control_free(&control);
	authlimit_free(&d->limits);
	close_slots(d);
	role_end(d->base, NULL, d->cfg);
	pthread_mutex_destroy(&d->mu);
	pthread_rwlock_destroy(&d->cfg_lock);
	free(d);
	return rc;
}
