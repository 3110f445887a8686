/*
 * inject.c - writing a message queued made itself into the queue (inject.h):
 * the one place bounces, vacation replies and TLS reports get an envelope and a
 * queue file; and the sender address of the reports.
 */
#include "queue/inject.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "accounts.h"
#include "deliver/linefix.h"
#include "queue/queued.h"
#include "store/spool_writer.h"
#include "util/buf.h"
#include "util/log.h"

int
queue_inject(struct queued *q, const struct inject *m, char id[QUEUE_ID_LEN + 1], int *fd)
{
	struct envelope env = { 0 };
	struct target_list targets = { 0 };
	struct buf folded = { 0 };
	struct spool_writer w;
	int rc = -1;

	*fd = -1;
	switch (accounts_resolve(q->acct, m->to, &targets)) {
	case RESOLVE_OK:
		break;
	case RESOLVE_NOT_LOCAL:
		targets.v = calloc(1, sizeof *targets.v);
		if (targets.v == NULL)
			goto out;
		targets.n = targets.cap = 1;
		targets.v[0].kind = TARGET_REMOTE;
		snprintf(targets.v[0].addr, sizeof targets.v[0].addr, "%s", m->to);
		break;
	case RESOLVE_NO_SUCH_USER:
		/* Nobody to tell: the (local) address does not exist. */
		rc = 0;
		goto out;
	case RESOLVE_TEMPFAIL:
		errno = EAGAIN;
		goto out;
	}
	memcpy(env.id, id, QUEUE_ID_LEN + 1);
	env.arrival = time(NULL);
	env.sender = strdup(m->sender);
	env.client = strdup("local");
	env.helo = strdup(q->cfg->hostname);
	env.is_bounce = m->is_bounce;
	env.auto_reply = m->auto_reply;
	env.body = m->body;
	if (!env.sender || !env.client || !env.helo)
		goto out;
	for (size_t i = 0; i < targets.n; i++)
		if (envelope_add_rcpt(&env, targets.v[i].kind, targets.v[i].addr, m->to) < 0)
			goto out;
	/* What a bounce quotes came from the network: its lines may be of any length. */
	if (linefix_fold_lines(m->text, m->len, &folded) < 0)
		goto out;
	if (spool_writer_open(&w, q->store.queue_dir, &env) < 0)
		goto out;
	if (spool_writer_write(&w, folded.data, folded.len) < 0) {
		spool_writer_abort(&w);
		goto out;
	}
	if (spool_writer_finish(&w, q->store.queue_dir, env.id, fd) < 0)
		goto out;
	rc = 1;
out:
	if (rc != 1)
		id[0] = '\0';
	buf_free(&folded);
	target_list_free(&targets);
	envelope_free(&env);
	return rc;
}

void
queue_report_sender(struct queued *q, const char *local, char *out, size_t len)
{
	const char *host = q->cfg->hostname;
	struct dkim_signer s[2];

	for (const char *d = host; d != NULL && strchr(d, '.') != NULL;) {
		if (accounts_dkim_signers(q->acct, d, time(NULL), s) > 0) {
			snprintf(out, len, "%s@%s", local, d);
			return;
		}
		d = strchr(d, '.');
		if (d != NULL)
			d++;
	}
	snprintf(out, len, "%s@%s", local, host);
}
