/*
 * lookupd_int.h - what the files of the lookup role share (lookupd.c: the loop,
 * connections and the store's workers; lookupd_mail.c: the mail roles' queries;
 * lookupd_login.c: logins and the web's requests).
 *
 * A request is read on the loop and answered on one of STORE_THREADS workers,
 * each with a store handle of its own (a PostgreSQL connection, or an SQLite
 * one), so a slow query holds one worker, not every session. While a request is
 * under way its connection is not read: each role's requests are answered in
 * order. Workers hold cfg_lock for reading (a reload takes it for writing), and
 * mu for what the loop and the workers share (the login failure counters, the
 * logins waiting, the handles).
 */
#ifndef MAILROOM_LOOKUPD_INT_H
#define MAILROOM_LOOKUPD_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

#include "config.h"
#include "ipc/frame.h"
#include "lookup/authlimit.h"
#include "password.h"

#define STORE_THREADS 4

struct accounts;
struct lk_conn;
struct workpool;

/* One store handle, for one job at a time, with the scratch its requests need. */
struct lk_slot {
	struct accounts *acct;
	bool busy;
	char *dkim_data; /* LK_DKIM_SIGN's data, LK_DKIM_DATA_MAX + 1 */
	char *web_arg;   /* one argument of LK_WEB_OP as read, FRAME_MAX */
};

struct lookupd {
	struct event_base *base;
	struct config *cfg;
	pthread_rwlock_t cfg_lock;
	pthread_mutex_t mu;
	struct workpool *work;   /* password checks */
	struct workpool *store;  /* requests, on STORE_THREADS workers */
	struct lk_slot slots[STORE_THREADS];
	unsigned pending;        /* logins submitted and not done (mu) */
	bool stopping;           /* no new password checks (mu) */
	struct authlimit limits; /* (mu) */
	char dummy_hash[PASSWORD_HASH_MAX];
	int lookup_fd;           /* the listening socket the supervisor bound */
	struct evconnlistener *listener;
	struct lk_conn *conns;
	unsigned nconns;
	struct event *sweep;
	bool sweeping;           /* a sweep's store job is under way */
	unsigned sweeps;         /* since greylisting's rows were last expired */
	gid_t mail_gid;
	uid_t mail_uid;
	uid_t httpd_uid;
};

enum lk_act {
	ACT_SEND,  /* out is the answer */
	ACT_CLOSE, /* a malformed request: the connection is closed */
	ACT_LATER, /* a password check goes on: its end answers */
};

/* One request, from its frame to its answer. Only the loop touches c. */
struct lk_req {
	struct lookupd *d;
	struct lk_conn *c;
	uid_t uid;        /* of the peer */
	uint16_t type;
	enum lk_act act;
	struct frame in, out;
};

/* What a request's handler has on its worker. */
struct lk_ctx {
	struct lookupd *d;
	struct accounts *acct;
	struct lk_slot *slot;
};

/*
 * store_submit - run(x, arg) on a store worker, then done(arg) on the loop.
 * 0, or -1 (nothing runs).
 */
int store_submit(struct lookupd *d, void (*run)(struct lk_ctx *x, void *arg),
    void (*done)(void *arg), void *arg);
/* req_finish - on the loop: r's answer sent (or its connection closed), r freed. */
void req_finish(struct lk_req *r);

/* reply_u64 - an answer of one number. */
void reply_u64(struct lk_req *r, uint64_t v);
/* refused - LK_ERROR: the peer may not ask this. */
void refused(struct lk_req *r);

/* The login failure counters (authlimit.h), under d->mu. */
bool lim_blocked(struct lookupd *d, const char *key, time_t now);
bool lim_failed(struct lookupd *d, const char *key, time_t now, unsigned max, time_t window);
void lim_reset(struct lookupd *d, const char *key);

/*
 * The handlers, on a worker: each reads its request from r->in and leaves
 * its answer in r->out with r->act set.
 */
void do_resolve(struct lk_ctx *x, struct lk_req *r);
void do_owns(struct lk_ctx *x, struct lk_req *r);
void do_quota(struct lk_ctx *x, struct lk_req *r);
void do_domains(struct lk_ctx *x, struct lk_req *r);
void do_greylist(struct lk_ctx *x, struct lk_req *r);
void do_greylist_trust(struct lk_ctx *x, struct lk_req *r);
void do_srs_forward(struct lk_ctx *x, struct lk_req *r);
void do_dkim_keys(struct lk_ctx *x, struct lk_req *r);
void do_dkim_sign(struct lk_ctx *x, struct lk_req *r);
void do_dkim_sign_many(struct lk_ctx *x, struct lk_req *r);
void do_sends_count(struct lk_ctx *x, struct lk_req *r);
void do_vacation_get(struct lk_ctx *x, struct lk_req *r);
void do_vacation_reply(struct lk_ctx *x, struct lk_req *r);
void do_verify(struct lk_ctx *x, struct lk_req *r);
void do_web_login(struct lk_ctx *x, struct lk_req *r);
void do_web_who(struct lk_ctx *x, struct lk_req *r);
void do_web_logout(struct lk_ctx *x, struct lk_req *r);
void do_web_op(struct lk_ctx *x, struct lk_req *r);

#endif
