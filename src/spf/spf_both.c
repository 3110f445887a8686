/*
 * spf_both.c - the HELO identity checked, then MAIL FROM (RFC 7208 2.3, 2.4): two
 * checks in turn, either of which may finish before its start returns.
 */
#include "spf/spf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct spf_both {
	struct dns_ops dns;
	char ip[64], helo[256], mailfrom[512], receiver[256];
	struct spf_request req;
	spf_both_fn done;
	void *arg;
	struct spf_result res[2]; /* helo, mailfrom */
	int stage;                /* 0: HELO under way, 1: MAIL FROM, 2: done */
	bool starting;            /* inside spf_check_start */
	struct spf_check *cur;
};

static bool advance(struct spf_both *b);

static void
on_stage(void *arg, const struct spf_result *r)
{
	struct spf_both *b = arg;

	b->res[b->stage] = *r;
	b->cur = NULL;
	b->stage++;
	if (b->stage == 1 && b->mailfrom[0] == '\0') {
		/* <>: the MAIL FROM identity is postmaster@helo, already checked. */
		b->res[1] = b->res[0];
		b->stage = 2;
	}
	if (!b->starting)
		(void)advance(b);
}

/* advance - start the next check; when none is left, report and free b (true). */
static bool
advance(struct spf_both *b)
{
	while (b->stage < 2) {
		b->starting = true;
		struct spf_check *c = b->stage == 0
		    ? spf_check_helo_start(&b->dns, &b->req, on_stage, b)
		    : spf_check_start(&b->dns, &b->req, on_stage, b);
		b->starting = false;
		if (c != NULL) {
			b->cur = c;
			return false;
		}
	}
	b->done(b->arg, &b->res[0], &b->res[1]);
	free(b);
	return true;
}

struct spf_both *
spf_both_start(const struct dns_ops *dns, const struct spf_request *r, spf_both_fn done,
    void *arg)
{
	struct spf_both *b = calloc(1, sizeof *b);

	if (b == NULL) {
		struct spf_result fail = { .result = SPF_TEMPERROR, .problem = "out of memory" };
		fail.identity = "helo";
		struct spf_result fail2 = fail;
		fail2.identity = "mailfrom";
		done(arg, &fail, &fail2);
		return NULL;
	}
	b->dns = *dns;
	b->done = done;
	b->arg = arg;
	snprintf(b->ip, sizeof b->ip, "%s", r->ip ? r->ip : "");
	snprintf(b->helo, sizeof b->helo, "%s", r->helo ? r->helo : "");
	snprintf(b->mailfrom, sizeof b->mailfrom, "%s", r->mailfrom ? r->mailfrom : "");
	if (strcmp(b->mailfrom, "<>") == 0)
		b->mailfrom[0] = '\0';
	snprintf(b->receiver, sizeof b->receiver, "%s", r->receiver ? r->receiver : "");
	b->req = (struct spf_request){ b->ip, b->helo, b->mailfrom,
		r->receiver ? b->receiver : NULL };
	return advance(b) ? NULL : b;
}

void
spf_both_cancel(struct spf_both *b)
{
	if (b == NULL)
		return;
	spf_check_cancel(b->cur);
	free(b);
}
