/*
 * vacation.c - replying for a user on vacation once its mail is delivered
 * (vacation.h). The reply is best effort: a failure is logged, never a reason
 * to defer the delivery it follows.
 */
#include "queue/vacation.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "accounts.h"
#include "accounts_vacation.h"
#include "deliver/vacation_msg.h"
#include "deliver/vacation_rules.h"
#include "dkim/dkim_fields.h"
#include "queue/inject.h"
#include "queue/queued.h"
#include "store/commit.h"
#include "store/msg_reader.h"
#include "util/buf.h"
#include "util/log.h"

#define HEADERS_MAX (64 * 1024) /* of the original read for the rules; the rest unread */

struct pending_flush {
	int fd;
};

static void
on_flushed(void *arg, int error)
{
	struct pending_flush *p = arg;

	if (error != 0)
		ev_err("store-error", KS("what", "vacation-sync"), KS("error", strerror(error)));
	close(p->fd);
	free(p);
}

/*
 * send_reply - the reply to env's sender, queued: 0, 1 nobody to send it to (a
 * hosted address without a mailbox), or -1 (errno).
 */
static int
send_reply(struct queued *q, const struct envelope *env, const struct vacation_info *v,
    const char *parent, char id[QUEUE_ID_LEN + 1])
{
	struct buf text = { 0 };
	struct pending_flush *p = NULL;
	int fd = -1, rc = -1;

	spool_new_id(id);
	struct vacation_reply r = { v->address, env->sender, v->subject, v->body,
		parent[0] ? parent : NULL, q->cfg->hostname, id, time(NULL) };
	if (vacation_msg_build(&r, &text) < 0)
		goto out;
	struct inject m = { "", env->sender, BODY_7BIT, false, true, text.data, text.len };
	int got = queue_inject(q, &m, id, &fd);
	if (got != 1) {
		rc = got == 0 ? 1 : -1;
		goto out;
	}
	struct qmsg *nm = msg_add(q, id, false);
	if (nm != NULL)
		ready_push(q, nm);
	/* Flushed on its own: nothing waits for it, and a crash before loses a courtesy. */
	if ((p = malloc(sizeof *p)) == NULL) {
		close(fd);
	} else {
		p->fd = fd;
		if (committer_submit(q->store.committer, &p->fd, 1, &q->store.msgdir_fd, 1,
		    on_flushed, p) < 0)
			on_flushed(p, ENOMEM);
	}
	rc = 0;
out:
	buf_free(&text);
	return rc;
}

/* header_block - the original's header block (as stored) into out; 0 or -1. */
static int
header_block(struct queued *q, const struct envelope *env, struct buf *out)
{
	size_t body_at;

	if (msg_read_head(q->store.queue_dir, env, HEADERS_MAX, out) < 0)
		return -1;
	out->len = dkim_header_end(out->data ? out->data : "", out->len, &body_at);
	return 0;
}

void
vacation_delivered(struct queued *q, const struct envelope *env, size_t idx)
{
	const struct spool_rcpt *rc = &env->rcpts[idx];
	struct vacation_info *v = malloc(sizeof *v);
	struct buf hdr = { 0 };
	char err[512], parent[VACATION_MSGID_MAX + 1] = "", id[QUEUE_ID_LEN + 1];

	if (rc->kind != TARGET_LOCAL || v == NULL)
		goto out;
	if (accounts_vacation_get(q->acct, rc->addr, v, err, sizeof err) < 0) {
		ev_warn("vacation-error", KS("qid", env->id), KS("user", rc->addr), KS("error", err));
		goto out;
	}
	if (!vacation_active(v, time(NULL)))
		goto out;
	if (env->sender[0] != '\0' && header_block(q, env, &hdr) < 0) {
		ev_warn("vacation-error", KS("qid", env->id), KS("user", rc->addr), KA("to", env->sender),
		    KS("error", strerror(errno)));
		goto out;
	}
	struct vacation_facts f = { env->sender, rc->addr, rc->orig, hdr.data ? hdr.data : "",
		hdr.len };
	enum vacation_reason reason = vacation_decide(&f);
	/* An alias of the user's own is the user too (RFC 5230 4.5). */
	if (reason == VACATION_REPLY && accounts_owns_address(q->acct, rc->addr, env->sender) == 1)
		reason = VACATION_OWN_SENDER;
	if (reason != VACATION_REPLY) {
		ev_info("vacation", KS("qid", env->id), KS("user", rc->addr), KA("to", env->sender),
		    KS("action", "none"), KS("reason", vacation_reason_name(reason)));
		goto out;
	}
	switch (accounts_vacation_reply(q->acct, rc->addr, env->sender, q->cfg->vacation_interval,
	    time(NULL))) {
	case VACATION_SEND:
		break;
	case VACATION_RECENT:
		ev_info("vacation", KS("qid", env->id), KS("user", rc->addr), KA("to", env->sender),
		    KS("action", "none"), KS("reason", "answered within vacation_interval"));
		goto out;
	case VACATION_FAILED:
		ev_warn("vacation-error", KS("qid", env->id), KS("user", rc->addr), KA("to", env->sender),
		    KS("error", "lookupd did not answer"));
		goto out;
	}
	vacation_parent_id(f.headers, f.len, parent, sizeof parent);
	errno = 0;
	int sent = send_reply(q, env, v, parent, id);
	if (sent != 0) {
		ev_err("vacation-error", KS("qid", env->id), KS("user", rc->addr), KA("to", env->sender),
		    KS("error", sent > 0 ? "no such user" : errno ? strerror(errno) : "failed"));
		goto out;
	}
	ev_info("vacation", KS("qid", env->id), KS("user", rc->addr), KA("to", env->sender),
	    KS("action", "reply"), KS("reply_qid", id));
out:
	buf_free(&hdr);
	free(v);
}
