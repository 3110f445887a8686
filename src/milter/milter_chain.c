/* milter_chain.c - the configured milters asked in turn (see milter_chain.h). */
#include "milter/milter_chain.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/metrics.h"
#include "milter/milter_proto.h"
#include "util/log.h"

/* Postfix's words for a filter's reject and tempfail without a reply of its own. */
#define REJECT_REPLY "550 5.7.1 Command rejected"
#define TEMPFAIL_REPLY "451 4.7.1 Service unavailable - try again later"

struct milter_chain {
	struct event_base *base;
	struct milter_sock *v;
	size_t n, i;            /* the milters, and the one being asked */
	struct milter_timeouts to;
	bool default_accept;
	struct milter_msg *msg;
	struct mhdr *hdr;
	struct milter_conn *conn;
	void (*done)(void *arg, const struct milter_outcome *o);
	void *arg;
	struct milter_outcome out;
};

void
milter_chain_free(struct milter_chain *ch)
{
	if (ch == NULL)
		return;
	milter_conn_free(ch->conn);
	free(ch->v);
	free(ch);
}

static const char *
verdict_name(enum milter_verdict v)
{
	switch (v) {
	case MILTER_CONTINUE: return "continue";
	case MILTER_ACCEPT: return "accept";
	case MILTER_REJECT: return "reject";
	case MILTER_TEMPFAIL: return "tempfail";
	case MILTER_DISCARD: return "discard";
	case MILTER_FAILED: return "failed";
	}
	return "?";
}

/* apply - the milter's header changes, all or none. Returns 0 or -1. */
static int
apply(struct milter_chain *ch, const struct milter_result *r)
{
	struct mhdr next;

	if (r->nchanges == 0)
		return 0;
	if (mhdr_copy(&next, ch->hdr) < 0)
		return -1;
	for (size_t i = 0; i < r->nchanges; i++) {
		const struct milter_change *c = &r->changes[i];
		int rc = c->cmd == SMFIR_ADDHEADER ? mhdr_add(&next, c->name, c->value, r->leadspc) :
		    c->cmd == SMFIR_INSHEADER ?
		    mhdr_insert(&next, c->index, c->name, c->value, r->leadspc) :
		    mhdr_change(&next, c->index, c->name, c->value, r->leadspc);
		if (rc < 0) {
			mhdr_free(&next);
			return -1;
		}
	}
	mhdr_free(ch->hdr);
	*ch->hdr = next;
	return 0;
}

/* end - the round is over: done told, the chain freed. */
static void
end(struct milter_chain *ch, enum milter_verdict v, const char *reply)
{
	ch->out.verdict = v;
	if (reply != NULL)
		snprintf(ch->out.reply, sizeof ch->out.reply, "%s", reply);
	ch->out.milter = ch->i < ch->n ? ch->v[ch->i].text : NULL;
	ch->done(ch->arg, &ch->out);
	milter_chain_free(ch);
}

static void on_result(void *arg, const struct milter_result *r);

/*
 * failed - the milter could not be asked (why): milter_default_action. Returns
 * true when the round goes on with the next milter.
 */
static bool
failed(struct milter_chain *ch, const char *stage, const char *why)
{
	const char *milter = ch->v[ch->i].text;

	ev_warn("milter", KS("qid", ch->msg->id), KS("milter", milter),
	    KS("action", ch->default_accept ? "accept" : "tempfail"), KS("client", ch->msg->client_ip),
	    KS("stage", stage), KS("default", "yes"), KS("reason", why));
	MX_INC(milter_results[MX_MILTER_FAILED]);
	if (!ch->default_accept) {
		end(ch, MILTER_TEMPFAIL, TEMPFAIL_REPLY);
		return false;
	}
	return true;
}

/* next - ask the milters from ch->i on; the round may end here. */
static void
next(struct milter_chain *ch)
{
	for (; ch->i < ch->n; ch->i++) {
		ch->conn = milter_conn_start(ch->base, &ch->v[ch->i], &ch->to, ch->msg, on_result, ch);
		if (ch->conn != NULL)
			return;
		if (!failed(ch, "connecting", "out of memory"))
			return;
	}
	end(ch, MILTER_CONTINUE, NULL);
}

static void
on_result(void *arg, const struct milter_result *r)
{
	struct milter_chain *ch = arg;
	const char *milter = ch->v[ch->i].text;
	const struct milter_msg *m = ch->msg;

	ch->conn = NULL; /* it frees itself once this returns */
	if (r->verdict == MILTER_FAILED) {
		if (failed(ch, r->stage, r->why)) {
			ch->i++;
			next(ch);
		}
		return;
	}
	if (r->verdict == MILTER_REJECT || r->verdict == MILTER_TEMPFAIL) {
		bool rej = r->verdict == MILTER_REJECT;
		const char *reply = r->reply[0] ? r->reply : rej ? REJECT_REPLY : TEMPFAIL_REPLY;
		ev_info("milter", KS("qid", m->id), KS("milter", milter),
		    KS("action", verdict_name(r->verdict)), KS("client", m->client_ip),
		    KS("stage", r->stage), KS("reason", reply));
		MX_INC(milter_results[rej ? MX_MILTER_REJECT : MX_MILTER_TEMPFAIL]);
		end(ch, r->verdict, reply);
		return;
	}
	if (r->verdict == MILTER_DISCARD) {
		ev_info("milter", KS("qid", m->id), KS("milter", milter), KS("action", "discard"),
		    KS("client", m->client_ip), KS("stage", r->stage),
		    KS("reason", "discarded by the milter"));
		MX_INC(milter_results[MX_MILTER_DISCARD]);
		end(ch, MILTER_DISCARD, NULL);
		return;
	}
	if (apply(ch, r) < 0) {
		if (failed(ch, r->stage, "its header changes could not be made (over the limits, "
		    "or out of memory)")) {
			ch->i++;
			next(ch);
		}
		return;
	}
	if (r->quarantine && !ch->out.quarantine) {
		ch->out.quarantine = true;
		snprintf(ch->out.quarantine_reason, sizeof ch->out.quarantine_reason, "milter %s: %s",
		    milter, r->quarantine_reason[0] ? r->quarantine_reason : "quarantined");
	}
	ev_info("milter", KS("qid", m->id), KS("milter", milter),
	    KS("action", r->quarantine ? "quarantine" : verdict_name(r->verdict)),
	    KS("client", m->client_ip), KS("stage", r->stage), KN("changes", r->nchanges),
	    KS("reason", r->quarantine ? r->quarantine_reason : NULL));
	MX_INC(milter_results[r->quarantine ? MX_MILTER_QUARANTINE : MX_MILTER_ACCEPT]);
	ch->i++;
	next(ch);
}

struct milter_chain *
milter_chain_start(struct event_base *base, const struct milter_sock *v, size_t n,
    const struct milter_timeouts *to, bool default_accept, struct milter_msg *msg,
    struct mhdr *hdr, void (*done)(void *arg, const struct milter_outcome *o), void *arg)
{
	struct milter_chain *ch = calloc(1, sizeof *ch);

	if (ch == NULL || n == 0 || (ch->v = calloc(n, sizeof *ch->v)) == NULL) {
		free(ch);
		return NULL;
	}
	memcpy(ch->v, v, n * sizeof *v);
	ch->base = base;
	ch->n = n;
	ch->to = *to;
	ch->default_accept = default_accept;
	ch->msg = msg;
	ch->hdr = hdr;
	ch->done = done;
	ch->arg = arg;
	msg->hdr = hdr;
	/* The first must start here: a chain that would end at once is not one to hand back. */
	if ((ch->conn = milter_conn_start(base, &v[0], to, msg, on_result, ch)) == NULL) {
		milter_chain_free(ch);
		return NULL;
	}
	return ch;
}
