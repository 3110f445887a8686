/*
 * smtp_screen.c - what happens before the 220 on the smtp listener, for clients
 * that are not trusted: the pregreet test (Postfix's postscreen: the first line of
 * a multi-line greeting, then silence is asked for pregreet_wait; bots talk) and
 * the DNSBL/DNSWL score, both at once. The greeting comes when both are done:
 * "220 ..." to a client that passed, 554 to one that did not.
 */
#include "smtp/smtp_session_int.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <time.h>

#include "smtp/dnsbl.h"
#include "smtp/smtpd.h"
#include "metrics/metrics.h"
#include "util/log.h"

#define SCREEN_WAIT_PREGREET 1u
#define SCREEN_WAIT_DNSBL 2u
#define DNSBL_TIMEOUT 5 /* seconds for every list to answer */

static void
free_event(struct event **ev)
{
	if (*ev != NULL)
		event_free(*ev);
	*ev = NULL;
}

/* step - one screening part is over; when none is left, greet or refuse. */
static void
step(struct smtp_session *s, unsigned done)
{
	const struct config *cfg = s->srv->cfg;

	s->screen_waits &= ~done;
	if (s->screen_waits != 0 || s->ls.closing)
		return;
	if (cfg->ndnsbl > 0 && s->dnsbl_score >= (int)cfg->dnsbl_threshold) {
		ev_info("reject", KS("client", s->ip), KS("stage", "connect"), KS("reason", "dnsbl"),
		    KS("listed", s->dnsbl_listed), KN("score", s->dnsbl_score),
		    KN("threshold", cfg->dnsbl_threshold));
		metrics_refused(MX_REFUSE_DNSBL);
		line_session_reply(&s->ls, "554 5.7.1 Service unavailable; client [%s] blocked using %s",
		    s->ip, s->dnsbl_listed);
		session_close_after_flush(s, "dnsbl");
		return;
	}
	session_enter(s, S_CONNECTED);
	line_session_greet(&s->ls);
	session_process(s);
}

static void
on_pregreet_done(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_session *s = arg;

	free_event(&s->pregreet_ev);
	if (s->ls.closing)
		return;
	/* Silent for the whole wait: greeted at once for a day. */
	screen_remember(&s->srv->screen, s->ip, SCREEN_GOOD, time(NULL));
	step(s, SCREEN_WAIT_PREGREET);
}

/* on_dnsbl - every list answered (or the time is up); the check may be freed here. */
static void
on_dnsbl(void *arg, const struct dnsbl_result *r)
{
	struct smtp_session *s = arg;

	free_event(&s->dnsbl_ev);
	s->dnsbl_score = r->score;
	snprintf(s->dnsbl_listed, sizeof s->dnsbl_listed, "%s", r->listed);
	if (r->failed[0] != '\0')
		ev_warn("dnsbl-failed", KS("client", s->ip), KS("lists", r->failed));
	if (s->dnsbl != NULL) {
		dnsbl_check_free(s->dnsbl);
		s->dnsbl = NULL;
	}
	step(s, SCREEN_WAIT_DNSBL);
}

static void
on_dnsbl_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_session *s = arg;

	free_event(&s->dnsbl_ev);
	if (s->dnsbl != NULL)
		dnsbl_check_expire(s->dnsbl); /* calls on_dnsbl */
}

/* start_pregreet - 1 waiting, 0 not needed, -1 refused (remembered as a talker). */
static int
start_pregreet(struct smtp_session *s)
{
	const struct config *cfg = s->srv->cfg;

	if (cfg->pregreet_wait == 0)
		return 0;
	switch (screen_lookup(&s->srv->screen, s->ip, time(NULL))) {
	case SCREEN_GOOD:
		return 0;
	case SCREEN_BAD:
		ev_info("reject", KS("client", s->ip), KS("stage", "connect"),
		    KS("reason", "pregreet-remembered"));
		metrics_refused(MX_REFUSE_PREGREET);
		line_session_reply(&s->ls, "554 5.7.1 %s Error: talked before the greeting before",
		    cfg->hostname);
		session_close_after_flush(s, "pregreet (remembered)");
		return -1;
	case SCREEN_UNKNOWN:
		break;
	}
	struct timeval tv = { (time_t)cfg->pregreet_wait, 0 };
	if ((s->pregreet_ev = evtimer_new(s->srv->base, on_pregreet_done, s)) == NULL ||
	    evtimer_add(s->pregreet_ev, &tv) < 0) {
		free_event(&s->pregreet_ev);
		return 0;
	}
	s->screen_waits |= SCREEN_WAIT_PREGREET;
	line_session_reply(&s->ls, "220-%s ESMTP mailroom", cfg->hostname);
	return 1;
}

static void
start_dnsbl(struct smtp_session *s)
{
	const struct config *cfg = s->srv->cfg;
	struct timeval tv = { DNSBL_TIMEOUT, 0 };

	if (cfg->ndnsbl == 0 || s->srv->dns == NULL)
		return;
	if ((s->dnsbl_ev = evtimer_new(s->srv->base, on_dnsbl_timeout, s)) == NULL ||
	    evtimer_add(s->dnsbl_ev, &tv) < 0) {
		free_event(&s->dnsbl_ev);
		return;
	}
	s->screen_waits |= SCREEN_WAIT_DNSBL;
	/* Answered at once (nothing could be asked): on_dnsbl has run, NULL comes back. */
	struct dnsbl_check *c = dnsbl_check_start(&s->srv->dns_ops, s->ip, cfg->dnsbl,
	    cfg->ndnsbl, on_dnsbl, s);
	if (s->screen_waits & SCREEN_WAIT_DNSBL)
		s->dnsbl = c;
}

bool
screen_greet_later(struct smtp_session *s)
{
	if (s->svc != SVC_SMTP || s->trusted || s->ls.closing)
		return false;
	if (start_pregreet(s) < 0)
		return true;
	session_enter(s, S_PREGREET);
	start_dnsbl(s);
	/* Nothing was started: the usual greeting. (A check that ended at once has greeted or refused.) */
	if (s->screen_waits == 0 && s->state == S_PREGREET && !s->ls.closing) {
		session_enter(s, S_CONNECTED);
		return false;
	}
	return true;
}

void
screen_input(struct smtp_session *s)
{
	if (!(s->screen_waits & SCREEN_WAIT_PREGREET) || !line_session_may_read(&s->ls) ||
	    evbuffer_get_length(bufferevent_get_input(s->ls.bev)) == 0)
		return; /* the DNSBL answers alone: the input waits for the greeting */
	/* Talked before the 220: a bot that does not wait for the server. */
	ev_info("reject", KS("client", s->ip), KS("stage", "connect"), KS("reason", "pregreet"));
	metrics_refused(MX_REFUSE_PREGREET);
	screen_remember(&s->srv->screen, s->ip, SCREEN_BAD, time(NULL));
	free_event(&s->pregreet_ev);
	line_session_reply(&s->ls, "554 5.5.1 Error: talked before the greeting");
	session_close_after_flush(s, "pregreet");
}

void
screen_end(struct smtp_session *s)
{
	free_event(&s->pregreet_ev);
	free_event(&s->dnsbl_ev);
	dnsbl_check_free(s->dnsbl);
	s->dnsbl = NULL;
}
