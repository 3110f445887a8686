/*
 * login.c - the login check both servers make (login.h): the job on a worker
 * thread, the bounded count of checks waiting, the verdicts of lookupd, and the
 * delay before each refusal.
 */
#include "session/login.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accounts.h"
#include "session/line_session.h"
#include "metrics/metrics.h"
#include "util/log.h"
#include "util/workpool.h"

#define LOGIN_FAIL_DELAY 1 /* seconds before a refusal: slows down password guessing */

int
login_pool_start(struct login_pool *p, struct event_base *base, struct accounts *acct,
    struct config *const *cfg, unsigned nthreads)
{
	*p = (struct login_pool){ .acct = acct, .cfg = cfg };
	p->work = workpool_new(base, nthreads);
	return p->work != NULL ? 0 : -1;
}

void
login_pool_stop(struct login_pool *p)
{
	workpool_free(p->work);
	p->work = NULL;
}

void
login_init(struct login *l, struct line_session *ls, const struct login_ops *ops,
    struct login_pool *pool, const char *service)
{
	l->ls = ls;
	l->ops = ops;
	l->pool = pool;
	l->service = service;
}

static void
refusal_due(void *arg)
{
	struct login *l = arg;
	enum login_refusal why = LOGIN_REFUSED;

	if (l->blocked)
		why = LOGIN_BLOCKED;
	else if (l->failures >= (*l->pool->cfg)->max_auth_failures)
		why = LOGIN_TOO_MANY;
	l->ops->refused(l->ls->owner, why);
}

/*
 * refuse - count the failure, then answer after a delay (the session is held until
 * then). A suspended user is told no more than a wrong password would tell it.
 */
static void
refuse(struct login *l, const char *user, enum lookup_verdict v)
{
	bool blocked = v == VERDICT_BLOCKED;

	l->failures++;
	l->blocked = blocked;
	metrics_auth_failed(l->service);
	ev_info("login-failed", KS("user", user), KS("client", l->ls->ip), KS("service", l->service),
	    KS("reason", blocked ? "blocked" : v == VERDICT_SUSPENDED ? "suspended" : "credentials"));
	if (line_session_delay(l->ls, LOGIN_FAIL_DELAY, refusal_due, l) < 0)
		l->ops->refused(l->ls->owner, LOGIN_REFUSED);
}

void
login_failed(struct login *l, const char *user)
{
	refuse(l, user, VERDICT_FAIL);
}

static void
free_job(struct login_job *j)
{
	explicit_bzero(j, sizeof *j + j->l->ops->data_size);
	free(j);
}

static void
verify_work(void *arg)
{
	struct login_job *j = arg;

	j->verdict = accounts_verify(j->acct, j->user, j->password, j->ip, j->service);
	explicit_bzero(j->password, sizeof j->password);
	if (j->verdict == VERDICT_OK && j->l->ops->work != NULL)
		j->l->ops->work(j);
}

static void
verify_done(void *arg)
{
	struct login_job *j = arg;
	struct login *l = j->l;
	struct line_session *ls = l->ls;

	l->pool->pending--;
	ls->waiting = false;
	if (ls->closing) {
		if (j->verdict == VERDICT_OK && l->ops->discard != NULL)
			l->ops->discard(j);
	} else if (j->verdict == VERDICT_BUSY || j->verdict == VERDICT_TEMPFAIL) {
		ev_warn("login-unchecked", KS("user", j->user), KS("client", ls->ip),
		    KS("service", l->service), KS("reason", j->verdict == VERDICT_BUSY ?
		    "too many logins waiting" : "lookupd not answering"));
		l->ops->tempfail(ls->owner, true);
	} else if (j->verdict == VERDICT_OK) {
		l->ops->accepted(ls->owner, j);
	} else {
		refuse(l, j->user, j->verdict);
	}
	free_job(j);
	line_session_release(ls);
	if (!ls->closing)
		ls->proto->process(ls->owner);
}

void
login_start(struct login *l, const char *authzid, const char *authcid, const char *password)
{
	struct login_job *j = calloc(1, sizeof *j + l->ops->data_size);
	char zid[ADDR_MAX + 1];
	void *owner = l->ls->owner;

	if (j == NULL) {
		l->ops->tempfail(owner, false);
		return;
	}
	j->l = l;
	bool ok = address_canonical(authcid, j->user, sizeof j->user, false) == 0;
	if (ok && authzid[0] != '\0')
		ok = address_canonical(authzid, zid, sizeof zid, false) == 0 &&
		    strcmp(zid, j->user) == 0;
	if (ok && l->ops->prepare != NULL)
		ok = l->ops->prepare(owner, j);
	if (!ok) {
		snprintf(j->user, sizeof j->user, "%.*s", ADDR_MAX, authcid);
		refuse(l, j->user, VERDICT_FAIL);
		free_job(j);
		return;
	}
	if (l->pool->pending >= (*l->pool->cfg)->login_queue) {
		ev_warn("login-queue-full", KS("user", j->user), KS("client", l->ls->ip),
		    KS("service", l->service), KN("waiting", l->pool->pending));
		free_job(j);
		l->ops->tempfail(owner, true);
		return;
	}
	j->acct = l->pool->acct;
	snprintf(j->ip, sizeof j->ip, "%s", l->ls->ip);
	j->service = l->service;
	snprintf(j->password, sizeof j->password, "%s", password);
	line_session_hold(l->ls);
	l->ls->waiting = true;
	l->pool->pending++;
	if (workpool_submit(l->pool->work, verify_work, verify_done, j) < 0) {
		l->pool->pending--;
		l->ls->busy--;
		l->ls->waiting = false;
		free_job(j);
		l->ops->tempfail(owner, false);
	}
}
