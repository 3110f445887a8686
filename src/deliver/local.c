/*
 * local.c - delivery into local Maildirs. Each recipient's file is written by
 * store_deliver_local() into one batch for all the messages of a round, made
 * durable by one shared sync, linked into new/, and synced once more before any
 * recipient counts as delivered (docs/spool.md).
 */
#include "deliver/local.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accounts.h"
#include "queue/queued.h"
#include "store/deliver_local.h"
#include "store/maildir_batch.h"
#include "store/msg_reader.h"
#include "util/log.h"

/*
 * write_rcpt - write recipient idx of m into its Maildir as part of batch b, or
 * record its result at once (delivered before a crash, no such user, full, error).
 */
static void
write_rcpt(struct queued *q, struct md_batch *b, struct qmsg *m, size_t idx,
    const struct local_text *text)
{
	struct spool_rcpt *r = &m->env.rcpts[idx];
	char err[512];

	uint64_t quota;
	int found = accounts_user_quota(q->acct, r->addr, &quota);
	if (found < 0) {
		/* The database is busy or broken for now: never a reason to bounce. */
		queued_rcpt_result(q, m, idx, 451, "local",
		    "451 4.3.0 temporary failure looking up the mailbox");
		return;
	}
	if (found == 0) {
		queued_rcpt_result(q, m, idx, 550, "local",
		    "550 5.1.1 mailbox unavailable: no such user here");
		return;
	}
	struct local_rcpt lr = { r->addr, idx, quota, m->recovering, m };
	switch (store_deliver_local(b, q->mail_dir, q->cfg->hostname, &m->env, text, &lr)) {
	case LOCAL_ADDED:
		break;
	case LOCAL_PRESENT:
		queued_rcpt_result(q, m, idx, 250, "local", "250 already in the mailbox (recovered)");
		break;
	case LOCAL_FULL:
		queued_rcpt_result(q, m, idx, 452, "local", "452 4.2.2 mailbox full");
		break;
	case LOCAL_BAD_NAME:
		queued_rcpt_result(q, m, idx, 550, "local", "550 5.1.1 mailbox name not usable");
		break;
	case LOCAL_FAILED:
		snprintf(err, sizeof err, "451 4.3.0 cannot write mailbox: %s", strerror(errno));
		queued_rcpt_result(q, m, idx, 451, "local", err);
		break;
	}
}

/* part_done - this message's local part of the round is over. */
static void
part_done(struct queued *q, struct qmsg *m)
{
	if (--m->parts == 0)
		queued_settle(q, m);
}

struct local_round {
	struct queued *q;
	struct qmsg **msgs;
	size_t n;
};

static void
on_committed(struct md_batch *b, int error, void *arg)
{
	struct local_round *lr = arg;

	for (size_t i = 0; i < b->nfiles; i++) {
		struct md_file *f = &b->files[i];
		struct qmsg *m = f->owner;
		if (!f->failed) {
			queued_rcpt_result(lr->q, m, f->idx, 250, "local", "250 delivered to maildir");
		} else {
			/* It may be in new/ all the same: the retry looks before it writes. */
			m->recovering = true;
			queued_rcpt_result(lr->q, m, f->idx, 451, "local",
			    "451 4.3.0 cannot make the mailbox file durable");
		}
	}
	md_batch_free(b);
	for (size_t i = 0; i < lr->n; i++)
		part_done(lr->q, lr->msgs[i]);
	free(lr->msgs);
	free(lr);
}

void
local_deliver(struct queued *q, struct qmsg **msgs, size_t n)
{
	struct md_batch *b = md_batch_new();
	struct local_round *lr = calloc(1, sizeof *lr);
	time_t now = time(NULL);

	if (lr)
		lr->msgs = calloc(n, sizeof *lr->msgs);
	if (b == NULL || lr == NULL || lr->msgs == NULL) {
		free(b);
		if (lr)
			free(lr->msgs);
		free(lr);
		for (size_t i = 0; i < n; i++) {
			for (size_t j = 0; j < msgs[i]->env.nrcpts; j++) {
				struct spool_rcpt *r = &msgs[i]->env.rcpts[j];
				if (r->kind == TARGET_LOCAL && r->status == RCPT_PENDING && r->next_try <= now)
					queued_rcpt_result(q, msgs[i], j, 451, "local", "451 4.3.0 out of memory");
			}
			part_done(q, msgs[i]);
		}
		return;
	}
	lr->q = q;
	for (size_t i = 0; i < n; i++) {
		struct qmsg *m = msgs[i];
		struct msg_reader rd;
		lr->msgs[lr->n++] = m;
		/* Each file is copied from the queue file: the text never passes through memory. */
		struct local_text text = { NULL, 0, -1, m->env.body_offset, m->env.body_size, 0 };
		bool have_body = msg_open(&rd, q->queue_dir, &m->env) == 0 &&
		    msg_count_lf(&rd, &text.lines) == 0;
		text.fd = rd.fd;
		for (size_t j = 0; j < m->env.nrcpts; j++) {
			struct spool_rcpt *r = &m->env.rcpts[j];
			if (r->kind != TARGET_LOCAL || r->status != RCPT_PENDING || r->next_try > now)
				continue;
			if (!have_body) {
				queued_rcpt_result(q, m, j, 451, "local", "451 4.3.0 cannot read queue file");
				continue;
			}
			write_rcpt(q, b, m, j, &text);
		}
		msg_close(&rd);
	}
	md_batch_commit(b, q->committer, on_committed, lr);
}
