/*
 * remote.c - delivery to other domains. Until the SMTP client lands, remote
 * recipients wait in the queue: each round defers them with a clear reason.
 */
#include "deliver/remote.h"

#include <stdlib.h>

#include "queue/queued.h"

struct remote {
	struct queued *q;
};

struct remote *
remote_new(struct queued *q)
{
	struct remote *r = calloc(1, sizeof *r);
	if (r)
		r->q = q;
	return r;
}

void
remote_free(struct remote *r)
{
	free(r);
}

unsigned
remote_start(struct queued *q, struct qmsg *m, time_t now)
{
	for (size_t i = 0; i < m->env.nrcpts; i++) {
		struct spool_rcpt *r = &m->env.rcpts[i];
		if (r->kind == TARGET_REMOTE && r->status == RCPT_PENDING && r->next_try <= now)
			queued_rcpt_result(q, m, i, 451, "none",
			    "451 4.4.0 remote delivery is not available in this version");
	}
	return 0;
}
