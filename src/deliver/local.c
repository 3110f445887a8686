/*
 * local.c - the local delivery agent (deliver/agent.h): the jobs of a scheduling
 * round are gathered, then at the round's end each recipient's file joins one batch
 * (store_deliver_local()), which the commit thread writes, makes durable by one
 * shared sync, links into new/, and syncs once more before any recipient counts as
 * delivered (docs/spool.md).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accounts.h"
#include "config.h"
#include "deliver/agent.h"
#include "store/deliver_local.h"
#include "store/maildir_batch.h"
#include "store/msg_reader.h"

struct local_job {
	struct agent_job job;
	size_t *rcpts; /* job.rcpts points here */
};

/* Jobs in a list: gathered for the next round, or in a round being committed. */
struct job_list {
	struct local_job *v;
	size_t n, cap;
};

struct local {
	struct agent_env env;
	struct job_list pending;
};

/* A batch on its way to stable storage, with the jobs it carries files of. */
struct local_round {
	struct job_list jobs;
};

static void
result(struct local_job *j, size_t idx, int code, const char *text, bool unsure)
{
	struct agent_result res = { idx, code, "local", text, unsure, NULL, NULL, 0 };
	j->job.result(j->job.arg, &res);
}

/* round_end - every job of the list is over: done for each, then the list goes. */
static void
round_end(struct job_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		struct agent_job job = l->v[i].job;
		free(l->v[i].rcpts);
		job.done(job.arg);
	}
	free(l->v);
	memset(l, 0, sizeof *l);
}

/*
 * write_rcpt - recipient idx of j's message into its Maildir as part of batch b, or
 * its result at once (already there, no such user, full, an error).
 */
static void
write_rcpt(struct local *lo, struct md_batch *b, struct local_job *j, size_t idx,
    const struct local_text *text)
{
	const struct envelope *env = j->job.env;
	const char *addr = env->rcpts[idx].addr;
	char err[512];
	uint64_t quota;

	int found = accounts_user_quota(lo->env.acct, addr, &quota);
	if (found < 0) {
		/* The database is busy or broken for now: never a reason to bounce. */
		result(j, idx, 451, "451 4.3.0 temporary failure looking up the mailbox", false);
		return;
	}
	if (found == 0) {
		result(j, idx, 550, "550 5.1.1 mailbox unavailable: no such user here", false);
		return;
	}
	struct local_rcpt lr = { addr, idx, quota, j->job.recovering, j };
	switch (store_deliver_local(b, lo->env.mail_dir, (*lo->env.cfg)->hostname, env, text, &lr)) {
	case LOCAL_ADDED:
		break;
	case LOCAL_PRESENT:
		result(j, idx, 250, "250 already in the mailbox (recovered)", false);
		break;
	case LOCAL_FULL:
		result(j, idx, 452, "452 4.2.2 mailbox full", false);
		break;
	case LOCAL_BAD_NAME:
		result(j, idx, 550, "550 5.1.1 mailbox name not usable", false);
		break;
	case LOCAL_FAILED:
		snprintf(err, sizeof err, "451 4.3.0 cannot write mailbox: %s", strerror(errno));
		result(j, idx, 451, err, false);
		break;
	}
}

/* write_job - the files of one job, each copied from its queue file. */
static void
write_job(struct local *lo, struct md_batch *b, struct local_job *j)
{
	struct msg_reader rd;
	const struct envelope *env = j->job.env;
	/* Each file is copied from the queue file: the text never passes through memory. */
	struct local_text text = { NULL, 0, -1, env->body_offset, env->body_size, 0 };

	bool have_body = msg_open(&rd, j->job.queue_dir, env) == 0 &&
	    msg_count_lf(&rd, &text.lines) == 0;
	text.fd = rd.fd;
	for (size_t k = 0; k < j->job.nrcpts; k++) {
		if (have_body)
			write_rcpt(lo, b, j, j->rcpts[k], &text);
		else
			result(j, j->rcpts[k], 451, "451 4.3.0 cannot read queue file", false);
	}
	msg_close(&rd);
}

static void
on_committed(struct md_batch *b, int error, void *arg)
{
	struct local_round *lr = arg;

	for (size_t i = 0; i < b->nfiles; i++) {
		struct md_file *f = &b->files[i];
		char err[512];
		if (!f->failed) {
			result(f->owner, f->idx, 250, "250 delivered to maildir", false);
		} else if (f->error != 0) { /* never written: certainly not in new/ */
			snprintf(err, sizeof err, "451 4.3.0 cannot write mailbox: %s", strerror(f->error));
			result(f->owner, f->idx, 451, err, false);
		} else /* It may be in new/ all the same: the retry looks before it writes. */
			result(f->owner, f->idx, 451, "451 4.3.0 cannot make the mailbox file durable",
			    true);
	}
	md_batch_free(b);
	round_end(&lr->jobs);
	free(lr);
}

static int
local_submit(void *self, const struct agent_job *job)
{
	struct local *lo = self;
	struct job_list *l = &lo->pending;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct local_job *v = reallocarray(l->v, cap, sizeof *v);
		if (v == NULL)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	struct local_job *j = &l->v[l->n];
	if (agent_job_copy(&j->job, &j->rcpts, job) < 0)
		return -1;
	l->n++;
	return 0;
}

/* local_flush - the gathered jobs in one batch, committed together. */
static void
local_flush(void *self)
{
	struct local *lo = self;
	struct local_round *lr = calloc(1, sizeof *lr);
	struct md_batch *b = md_batch_new();

	if (lo->pending.n == 0) {
		free(lr);
		free(b);
		return;
	}
	if (lr == NULL || b == NULL) {
		for (size_t i = 0; i < lo->pending.n; i++)
			for (size_t k = 0; k < lo->pending.v[i].job.nrcpts; k++)
				result(&lo->pending.v[i], lo->pending.v[i].rcpts[k], 451,
				    "451 4.3.0 out of memory", false);
		free(lr);
		free(b);
		round_end(&lo->pending);
		return;
	}
	/* The batch's files point at these jobs: the round owns the list from here. */
	lr->jobs = lo->pending;
	memset(&lo->pending, 0, sizeof lo->pending);
	for (size_t i = 0; i < lr->jobs.n; i++)
		write_job(lo, b, &lr->jobs.v[i]);
	md_batch_commit(b, lo->env.committer, on_committed, lr);
}

static void
local_free(void *self)
{
	struct local *lo = self;

	/* Gathered but never written: they stay pending in the spool. */
	for (size_t i = 0; i < lo->pending.n; i++)
		free(lo->pending.v[i].rcpts);
	free(lo->pending.v);
	free(lo);
}

static const struct agent_ops local_ops = { "local", local_submit, local_flush, local_free };

int
local_agent_new(struct agent *a, const struct agent_env *env)
{
	struct local *lo = calloc(1, sizeof *lo);

	if (lo == NULL)
		return -1;
	lo->env = *env;
	a->ops = &local_ops;
	a->self = lo;
	return 0;
}
