/*
 * login.h - a login checked the way SMTP AUTH and POP3 USER/PASS/AUTH both check
 * it: the password goes to lookupd (accounts_verify; lookupd alone sees the hashes
 * and counts failures across connections) from a worker thread, with at most
 * login_queue checks waiting in the role; a refusal comes after a delay (it slows
 * down guessing), and max_auth_failures, or a block by lookupd, end the session.
 * The protocol says the replies (struct login_ops).
 */
#ifndef MAILROOM_LOGIN_H
#define MAILROOM_LOGIN_H

#include <stdbool.h>
#include <stddef.h>

#include "address.h"
#include "config.h"
#include "lookup/lookup_proto.h"
#include "smtp/sasl.h"

struct accounts;
struct event_base;
struct line_session;
struct workpool;

/* What the logins of a role share. */
struct login_pool {
	struct workpool *work;     /* the threads that wait for lookupd */
	struct accounts *acct;
	struct config *const *cfg; /* login_queue, max_auth_failures */
	unsigned pending;          /* checks submitted and not done: at most login_queue */
};

/* login_pool_start - nthreads worker threads on base for the logins. Returns 0 or -1. */
int login_pool_start(struct login_pool *p, struct event_base *base, struct accounts *acct,
    struct config *const *cfg, unsigned nthreads);
/* login_pool_stop - finish the checks under way (their completions run), stop the threads. */
void login_pool_stop(struct login_pool *p);

enum login_refusal {
	LOGIN_REFUSED,  /* wrong user or password */
	LOGIN_TOO_MANY, /* the same, and that was the session's max_auth_failures'th */
	LOGIN_BLOCKED,  /* lookupd blocks this client or account for now */
};

/* A login under way. */
struct login_job {
	struct login *l;
	struct accounts *acct;
	char user[ADDR_MAX + 1]; /* the canonical address */
	char password[SASL_FIELD_MAX];
	char ip[64];
	const char *service;
	enum lookup_verdict verdict;
	max_align_t data[];      /* the protocol's, ops->data_size octets (zeroed) */
};

struct login_ops {
	size_t data_size;
	/* on the loop, before the check: ready j->data; false refuses the login */
	bool (*prepare)(void *owner, struct login_job *j);
	/* on the worker thread, after a right password: more of the protocol's work */
	void (*work)(struct login_job *j);
	/* on the loop: the password was right */
	void (*accepted)(void *owner, struct login_job *j);
	/* on the loop: the session ended while the job ran, after a right password */
	void (*discard)(struct login_job *j);
	/* the refusal, once its delay is over */
	void (*refused)(void *owner, enum login_refusal why);
	/* no check now: later says whether trying again soon may work (queue full,
	 * lookupd not answering) or not (out of memory) */
	void (*tempfail)(void *owner, bool later);
};

/* The logins of one session. */
struct login {
	struct line_session *ls;
	const struct login_ops *ops;
	struct login_pool *pool;
	const char *service;     /* the listener, for lookupd's counts */
	unsigned failures;
	bool blocked;
};

void login_init(struct login *l, struct line_session *ls, const struct login_ops *ops,
    struct login_pool *pool, const char *service);

/*
 * login_start - check authcid's password. No proxy authorization: authzid, when
 * not "", must name the same user. Then accepted, refused (after the delay) or
 * tempfail answers, and the session takes no commands until it has.
 */
void login_start(struct login *l, const char *authzid, const char *authcid,
    const char *password);

/* login_failed - a login refused without a check (user as given): counted and delayed the same. */
void login_failed(struct login *l, const char *user);

#endif
