/*
 * smtp_txn.c - the mail transaction of an SMTP session: MAIL (sender policy),
 * RCPT (recipient lookup and relay control), DATA and BDAT (the message text,
 * written to the spool as it arrives), and the commit that precedes the 250.
 */
#include "smtp/smtp_session_int.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "accounts.h"
#include "store/deliver_local.h"
#include "store/maildir_batch.h"
#include "ipc/frame_stream.h"
#include "store/commit.h"
#include "queue/notify.h"
#include "inbound/inbound_check.h"
#include "smtp/received.h"
#include "store/maildir.h"
#include "smtp/smtpd.h"
#include "util/fdio.h"
#include "metrics/metrics.h"
#include "util/log.h"
#include "store/wire.h"

/*
 * The stored form held in memory before it is written out: to the queue file, or
 * for direct delivery to the spill file (copied into each Maildir file at the end),
 * so a session holds about this much whatever the size of its message.
 */
#define OUT_MAX (64 * 1024)
#define DIRECT_MAX (4 * 1024 * 1024) /* larger messages for local mailboxes go through the queue */

static bool
submission(const struct smtp_session *s)
{
	return s->svc == SVC_SUBMISSION || s->svc == SVC_SUBMISSIONS;
}

void
txn_free(struct smtp_session *s)
{
	struct smtp_txn *t = s->txn;
	if (t == NULL)
		return;
	if (t->writer_open)
		spool_writer_abort(&t->w);
	if (t->commit_fd >= 0)
		close(t->commit_fd);
	if (t->spill_fd >= 0)
		close(t->spill_fd);
	md_batch_free(t->md);
	milter_txn_free(t);
	inbound_check_free(t->ic);
	if (t->ic_timer != NULL)
		event_free(t->ic_timer);
	buf_free(&t->ar);
	envelope_free(&t->env);
	buf_free(&t->out);
	buf_free(&t->prefix);
	free(t);
	s->txn = NULL;
}

/* txn_new - an empty transaction (no files open). */
static struct smtp_txn *
txn_new(void)
{
	struct smtp_txn *t = calloc(1, sizeof *t);

	if (t != NULL) {
		t->commit_fd = -1;
		t->spill_fd = -1;
		t->hold_fd = t->hold_dirfd = -1;
	}
	return t;
}

void
txn_reset(struct smtp_session *s)
{
	txn_free(s);
	if (s->state == S_MAIL || s->state == S_RCPT)
		session_enter(s, S_READY);
}

void
txn_mail(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	struct mailbox from;
	struct mail_params params;
	struct smtp_error err;
	bool null_sender;
	const struct config *cfg = s->srv->cfg;

	if (smtp_parse_mail(cmd->args, cmd->argslen, &from, &null_sender, &params, &err) < 0) {
		session_error(s, "%d %s %s", err.code, err.status, err.text);
		return;
	}
	if (params.body == BODY_BINARYMIME) {
		session_error(s, "504 5.5.4 BODY=BINARYMIME is not supported");
		return;
	}
	if (params.has_size && params.size > cfg->max_message_size) {
		metrics_refused(MX_REFUSE_TOO_BIG);
		session_error(s, "552 5.3.4 Message size exceeds fixed limit");
		return;
	}
	char sender[ADDR_MAX + 1] = "";
	if (!null_sender)
		address_format(&from, sender, sizeof sender);
	/* Too many messages a minute from one network (Postfix's client_message_rate_limit). */
	if (!s->trusted && !rate_limit_take(&s->srv->message_rates, s->net, cfg->message_rate_limit,
	    time(NULL))) {
		ev_info("reject", KS("client", s->ip), KS("stage", "mail"), KA("from", sender),
		    KS("reason", "message-rate-limit"), KN("limit", cfg->message_rate_limit),
		    KS("net", s->net));
		metrics_refused(MX_REFUSE_RATE_LIMIT);
		session_reply(s, "450 4.7.1 Error: too much mail from %s; try again later", s->ip);
		return;
	}
	struct policy_facts f = session_facts(s);
	struct policy_decision d;
	int owned = policy_sender_checked(&f, null_sender) ?
	    accounts_owns_address(s->srv->acct, s->auth_user, sender) : 1;
	policy_sender(&f, sender, owned, &d);
	if (d.reason == POLICY_STORE_FAILURE)
		ev_warn("sender-check-failed", KS("client", s->ip), KA("from", sender),
		    KS("user", s->auth_user));
	else if (d.reason == POLICY_SENDER_NOT_OWNED)
		ev_info("reject", KS("client", s->ip), KS("stage", "mail"), KA("from", sender),
		    KS("reason", "sender-not-owned"), KS("user", s->auth_user));
	if (!session_allowed(s, &d))
		return;
	struct smtp_txn *t = txn_new();
	if (t == NULL || (t->env.sender = strdup(sender)) == NULL) {
		free(t);
		session_reply(s, "451 4.3.0 Error: out of memory");
		return;
	}
	t->env.body = params.body;
	t->env.smtputf8 = t->smtputf8 = params.smtputf8;
	s->txn = t;
	session_enter(s, S_MAIL);
	session_reply(s, "250 2.1.0 Ok");
}

/* add_target - a resolved target, once per transaction. */
static int
add_target(struct smtp_txn *t, const struct target *tg, const char *orig)
{
	for (size_t i = 0; i < t->env.nrcpts; i++)
		if (t->env.rcpts[i].kind == tg->kind && strcmp(t->env.rcpts[i].addr, tg->addr) == 0)
			return 0;
	/* Known from the resolve: no second question to the store at DATA. A mailbox
	 * with a vacation goes through the queue: queued's local delivery replies. */
	if (tg->kind != TARGET_LOCAL || !tg->unlimited || tg->vacation)
		t->queue_only = true;
	return envelope_add_rcpt(&t->env, tg->kind, tg->addr, orig);
}

/*
 * postmaster_address - where "<postmaster>" (no domain, RFC 5321 4.5.1) goes: the
 * postmaster of the host name's domain when it is hosted, else of the first
 * hosted domain that has one.
 */
static void
postmaster_address(struct smtp_session *s, char *out, size_t outlen)
{
	struct strlist domains = { 0 };
	struct target_list tl = { 0 };
	char err[256];
	const char *host = s->srv->cfg->hostname;

	snprintf(out, outlen, "postmaster@%s", host);
	if (accounts_resolve(s->srv->acct, out, &tl) == RESOLVE_OK)
		goto out;
	const char *dot = strchr(host, '.');
	if (dot && dot[1]) {
		snprintf(out, outlen, "postmaster@%s", dot + 1);
		target_list_free(&tl);
		if (accounts_resolve(s->srv->acct, out, &tl) == RESOLVE_OK)
			goto out;
	}
	if (accounts_domain_list(s->srv->acct, &domains, err, sizeof err) == 0) {
		for (size_t i = 0; i < domains.n; i++) {
			snprintf(out, outlen, "postmaster@%s", domains.v[i]);
			target_list_free(&tl);
			if (accounts_resolve(s->srv->acct, out, &tl) == RESOLVE_OK)
				goto out;
		}
	}
	snprintf(out, outlen, "postmaster@%s", host);
out:
	target_list_free(&tl);
	strlist_free(&domains);
}

/*
 * mailbox_full - whether the recipient is one mailbox with a quota that is used up
 * already (RFC 3463's 4.2.2, as Dovecot answers at RCPT): the client keeps the
 * message and tries later. A recipient of several mailboxes is taken; delivery
 * defers the full ones. A lookup that fails is no reason to refuse.
 */
static bool
mailbox_full(struct smtp_session *s, const struct target_list *targets)
{
	uint64_t quota = 0;
	char dir[4096];

	if (targets->n != 1 || targets->v[0].kind != TARGET_LOCAL || targets->v[0].unlimited)
		return false;
	if (accounts_user_quota(s->srv->acct, targets->v[0].addr, &quota) != 1 || quota == 0)
		return false;
	if (maildir_path(s->srv->store.mail_dir, targets->v[0].addr, dir, sizeof dir) < 0)
		return false;
	return maildir_usage(dir) >= quota;
}

/*
 * greylist_passes - greylisting of an accepted recipient (policy_greylist_applies):
 * lookupd decides on the triplet; false when the 451 has been sent.
 */
static bool
greylist_passes(struct smtp_session *s, const char *rcpt)
{
	const struct config *cfg = s->srv->cfg;
	struct policy_facts f = session_facts(s);
	struct policy_decision d;

	if (!policy_greylist_applies(&f, cfg->greylist))
		return true;
	const char *sender = s->txn->env.sender;
	enum grey_answer ans = accounts_greylist(s->srv->acct, s->ip, sender, rcpt,
	    cfg->greylist_delay, time(NULL));
	if (ans == GREY_FAILED)
		ev_warn("greylist-failed", KS("client", s->ip), KA("from", sender), KA("to", rcpt));
	policy_greylist(rcpt, ans, &d);
	if (d.reason == POLICY_GREYLISTED)
		ev_info("reject", KS("client", s->ip), KS("stage", "rcpt"), KA("from", sender),
		    KA("to", rcpt), KS("reason", "greylisted"));
	return session_allowed(s, &d);
}

void
txn_rcpt(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	struct mailbox to;
	struct smtp_error err;
	struct target_list targets = { 0 };
	char addr[ADDR_MAX + 1];
	struct smtp_txn *t = s->txn;
	const struct config *cfg = s->srv->cfg;

	if (smtp_parse_rcpt(cmd->args, cmd->argslen, &to, t->smtputf8, &err) < 0) {
		session_error(s, "%d %s %s", err.code, err.status, err.text);
		return;
	}
	if (t->nrcpt >= cfg->max_recipients) {
		session_reply(s, "452 4.5.3 Error: too many recipients");
		return;
	}
	if (to.domain[0] == '\0')
		postmaster_address(s, addr, sizeof addr);
	else
		address_format(&to, addr, sizeof addr);

	enum resolve_status st = accounts_resolve(s->srv->acct, addr, &targets);
	struct policy_facts f = session_facts(s);
	struct policy_decision d;
	policy_rcpt(&f, addr, st, &d);
	if (d.reason == POLICY_UNKNOWN_USER || d.reason == POLICY_RELAY_DENIED)
		ev_info("reject", KS("client", s->ip), KS("stage", "rcpt"), KA("from", s->txn->env.sender),
		    KA("to", addr), KS("reason", d.reason == POLICY_UNKNOWN_USER ? "user-unknown" :
		    "relay-denied"));
	if (!session_allowed(s, &d) || !greylist_passes(s, addr)) {
		target_list_free(&targets);
		return;
	}
	if (st == RESOLVE_NOT_LOCAL && (targets.v = calloc(1, sizeof *targets.v)) != NULL) {
		/* Relayed: the address itself is the target. */
		targets.n = targets.cap = 1;
		targets.v[0].kind = TARGET_REMOTE;
		snprintf(targets.v[0].addr, sizeof targets.v[0].addr, "%s", addr);
	}
	if (mailbox_full(s, &targets)) {
		ev_info("reject", KS("client", s->ip), KS("stage", "rcpt"), KA("from", s->txn->env.sender),
		    KA("to", addr), KS("reason", "mailbox-full"));
		metrics_refused(MX_REFUSE_OVER_QUOTA);
		target_list_free(&targets);
		session_reply(s, "452 4.2.2 <%s>: Mailbox full", addr);
		return;
	}
	for (size_t i = 0; i < targets.n; i++) {
		if (add_target(t, &targets.v[i], addr) < 0) {
			target_list_free(&targets);
			session_reply(s, "451 4.3.0 Error: out of memory");
			return;
		}
	}
	target_list_free(&targets);
	if (t->nrcpt++ == 0)
		snprintf(t->first_rcpt, sizeof t->first_rcpt, "%s", addr);
	session_enter(s, S_RCPT);
	session_reply(s, "250 2.1.5 Ok");
}

/* rfc5322_date - "Fri, 27 Nov 2026 22:13:34 +0000". */
static void
rfc5322_date(char *out, size_t len)
{
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(out, len, "%a, %d %b %Y %H:%M:%S +0000", &tm);
}

/*
 * build_prefix - the headers mailroom adds at the top: Received, and on
 * submission a missing Date or Message-ID.
 */
static int
build_prefix(struct smtp_session *s, struct buf *h)
{
	struct smtp_txn *t = s->txn;
	const struct config *cfg = s->srv->cfg;
	char date[64];
	const char *proto;

	rfc5322_date(date, sizeof date);
	if (!s->esmtp)
		proto = s->tls ? "SMTPS" : "SMTP";
	else if (s->auth_user)
		proto = s->tls ? "ESMTPSA" : "ESMTPA";
	else
		proto = s->tls ? "ESMTPS" : "ESMTP";
	struct received_info ri = {
		.helo = s->helo,
		.ip = s->ip,
		.login = s->auth_user,
		.host = cfg->hostname,
		.proto = proto,
		.id = t->env.id,
		.rcpt = t->nrcpt == 1 ? t->first_rcpt : NULL,
		.date = date,
	};
	/* Our verdict on top, then our Received (RFC 8601 5: above the trace it covers). */
	int rc = buf_append(h, t->ar.data, t->ar.len);
	rc |= received_format(h, &ri);
	if (submission(s) && !(t->dr.header_flags & DATA_HDR_DATE))
		rc |= buf_printf(h, "Date: %s\n", date);
	if (submission(s) && !(t->dr.header_flags & DATA_HDR_MESSAGE_ID))
		rc |= buf_printf(h, "Message-ID: <%s@%s>\n", t->env.id, cfg->hostname);
	/* The milters' header block, when it replaces the top of the spill file. */
	rc |= buf_append(h, t->mhead.data, t->mhead.len);
	return rc ? -1 : 0;
}

/* write_prefix - open the queue file and write the added headers. */
static int
write_prefix(struct smtp_session *s)
{
	struct smtp_txn *t = s->txn;
	struct buf h = { 0 };
	int rc = build_prefix(s, &h);

	if (rc == 0 && spool_writer_open(&t->w, s->srv->store.queue_dir, &t->env) == 0) {
		t->writer_open = true;
		rc = spool_writer_write(&t->w, h.data, h.len);
	} else {
		rc = -1;
	}
	buf_free(&h);
	return rc;
}

/* stored_len - the stored form so far: spilled (less what the milters replaced), and in memory. */
static uint64_t
stored_len(const struct smtp_txn *t)
{
	return t->spill_len - t->mskip + t->mhead.len + t->out.len;
}

/* spill_out - direct delivery: the stored form gathered so far to the spill file. */
static int
spill_out(struct smtp_session *s)
{
	struct smtp_txn *t = s->txn;

	inbound_feed(s);
	if (t->out.len == 0)
		return 0;
	if (t->spill_fd < 0 && (t->spill_fd = spool_spill_open(s->srv->store.queue_dir, t->env.id)) < 0)
		return -1;
	if (fd_write_all(t->spill_fd, t->out.data, t->out.len) < 0)
		return -1;
	t->spill_len += t->out.len;
	buf_reset(&t->out);
	t->fed = 0;
	return 0;
}

/*
 * flush_out - write the stored form gathered so far out of memory: to the spill
 * file while the message may still go straight into the Maildirs, else to the
 * queue file (after what was spilled, when it had to change course).
 */
static void
flush_out(struct smtp_session *s)
{
	struct smtp_txn *t = s->txn;

	if (t->failed || t->too_big)
		return;
	inbound_feed(s);
	/* Until the checks and the milters have spoken, nothing goes into the queue file:
	 * its top is not known. */
	if (t->direct || t->ic != NULL || t->milters) {
		if (spill_out(s) < 0) {
			ev_err("store-error", KS("qid", t->env.id), KS("what", "spill"),
			    KS("error", strerror(errno)));
			t->failed = true;
		}
		return;
	}
	if (!t->writer_open && write_prefix(s) < 0) {
		ev_err("store-error", KS("qid", t->env.id), KS("what", "queue-file"),
		    KS("error", strerror(errno)));
		t->failed = true;
		return;
	}
	if (t->spill_fd >= 0) {
		int rc = spool_writer_copy(&t->w, t->spill_fd, t->mskip, t->spill_len - t->mskip);
		close(t->spill_fd);
		t->spill_fd = -1;
		t->spill_len = 0;
		if (rc < 0) {
			ev_err("store-error", KS("qid", t->env.id), KS("what", "queue-file"),
			    KS("error", strerror(errno)));
			t->failed = true;
			return;
		}
	}
	if (t->out.len > 0 && spool_writer_write(&t->w, t->out.data, t->out.len) < 0) {
		ev_err("store-error", KS("qid", t->env.id), KS("what", "queue-file"),
		    KS("error", strerror(errno)));
		t->failed = true;
	}
	buf_reset(&t->out);
	t->fed = 0;
}

static void
start_message(struct smtp_session *s, enum data_mode mode)
{
	struct smtp_txn *t = s->txn;
	const struct config *cfg = s->srv->cfg;

	spool_new_id(t->env.id);
	t->env.arrival = time(NULL);
	t->env.client = strdup(s->ip);
	t->env.helo = strdup(s->helo ? s->helo : "");
	t->env.auth = s->auth_user ? strdup(s->auth_user) : NULL;
	if (t->env.client == NULL || t->env.helo == NULL)
		t->failed = true;
	t->data_started = true;
	t->bdat = mode == DATA_MODE_CHUNK;
	data_reader_init(&t->dr, mode);
	/* Mail only for local mailboxes without a quota skips the queue. */
	t->direct = t->env.nrcpts > 0 && !t->queue_only;
	(void)cfg;
	inbound_start(s);
	milter_begin(s);
}

/* out_full - whether the text gathered in memory must be written out now. */
static bool
out_full(struct smtp_session *s)
{
	struct smtp_txn *t = s->txn;

	if (inbound_holds_output(s))
		return false;
	if (t->direct && stored_len(t) > DIRECT_MAX)
		t->direct = false; /* flush_out moves what was spilled into the queue file */
	return t->out.len >= OUT_MAX;
}

/* log_accepted - the log line of an accepted message (INTERFACE.md "Logs"). */
static void
log_accepted(struct smtp_session *s, uint64_t size)
{
	struct smtp_txn *t = s->txn;
	struct buf to = { 0 };

	for (size_t i = 0; i < t->env.nrcpts; i++)
		buf_printf(&to, "%s<%s>", i ? "," : "", t->env.rcpts[i].addr);
	ev_info("accept", KS("qid", t->env.id), KS("client", s->ip), KS("helo", t->env.helo),
	    KS("user", s->auth_user), KA("from", t->env.sender), KN("size", size),
	    KN("nrcpt", t->env.nrcpts), KS("to", to.data ? to.data : ""));
	buf_free(&to);
}

/*
 * reply_committed - the end of a message's commit, by either path: the final
 * reply (unless the client has gone), then on to what the client pipelined.
 */
static void
reply_committed(struct smtp_session *s, int error)
{
	if (!s->ls.closing) {
		if (error != 0)
			session_reply(s, "451 4.3.0 Error: cannot store the message; try again later");
		else
			session_reply(s, "250 2.0.0 Ok: queued as %s", s->txn->env.id);
		txn_free(s);
		session_enter(s, S_READY);
	}
	bool closing = s->ls.closing;
	session_release(s);
	if (!closing)
		session_process(s);
}

static void
commit_done(void *arg, int error)
{
	struct smtp_session *s = arg;
	struct smtp_txn *t = s->txn;

	if (t->commit_fd >= 0)
		close(t->commit_fd);
	t->commit_fd = -1;
	if (error != 0) {
		ev_err("store-error", KS("qid", t->env.id), KS("what", "queue-sync"),
		    KS("error", strerror(error)));
		spool_remove(s->srv->store.queue_dir, t->env.id);
	} else {
		if (s->srv->queue_bev) {
			queue_note_frame(&s->srv->note, QN_NEW, t->env.id);
			frame_stream_put(bufferevent_get_output(s->srv->queue_bev), &s->srv->note);
		}
		log_accepted(s, t->w.written);
		if (t->hold_reason != NULL)
			ev_warn("held", KS("qid", t->env.id), KS("reason", t->hold_reason));
		MX_INC(received[s->svc]);
		s->messages++;
	}
	reply_committed(s, error);
}

static void end_checked(struct smtp_session *s);

static void
direct_done(struct md_batch *b, int error, void *arg)
{
	struct smtp_session *s = arg;
	struct smtp_txn *t = s->txn;

	if (b->unwritten) {
		/* No file could be written (nothing is in new/): the queue takes the message. */
		for (size_t i = 0; i < b->nfiles; i++)
			if (b->files[i].error != 0)
				ev_warn("direct-failed", KS("qid", t->env.id),
				    KA("to", t->env.rcpts[b->files[i].idx].addr),
				    KS("error", strerror(b->files[i].error)));
		md_batch_free(b);
		t->md = NULL;
		t->direct = false;
		bool closing = s->ls.closing;
		session_release(s);
		if (!closing)
			end_checked(s);
		return;
	}
	if (error == 0) {
		log_accepted(s, stored_len(t));
		for (size_t i = 0; i < b->nfiles; i++)
			ev_info("delivery", KS("qid", t->env.id), KA("to", t->env.rcpts[b->files[i].idx].addr),
			    KA("orig_to", t->env.rcpts[b->files[i].idx].orig), KS("relay", "local"),
			    KS("status", "sent"), KN("delay", time(NULL) - t->env.arrival),
			    KS("reason", "250 delivered to maildir"));
		/* The same last word as queued's, whichever path the message took. */
		ev_info("removed", KS("qid", t->env.id), KS("direct", "yes"));
		MX_INC(received[s->svc]);
		MX_ADD(deliveries[MX_LOCAL][MX_DELIVERED], b->nfiles);
		s->messages++;
	} else {
		ev_err("store-error", KS("qid", t->env.id), KS("what", "mailbox-sync"),
		    KS("error", strerror(error)));
	}
	reply_committed(s, error);
}

/*
 * direct_deliver - the message into each recipient's Maildir, committed together
 * (the files are written on the commit thread); the 250 waits for that. Returns -1
 * (nothing left behind) when the queue must take the message instead; so does
 * direct_done when no file could be written.
 */
static int
direct_deliver(struct smtp_session *s)
{
	struct smtp_txn *t = s->txn;
	struct md_batch *b = md_batch_new();

	buf_reset(&t->prefix);
	if (b == NULL || build_prefix(s, &t->prefix) < 0)
		goto fail;
	/* Spilled: all of it goes to the file, each Maildir copy is made from there. */
	if (t->spill_fd >= 0 && spill_out(s) < 0)
		goto fail;
	/* Both kept in the transaction: the batch writes from them at its commit. */
	struct iovec mem[2] = { { t->prefix.data, t->prefix.len }, { t->out.data, t->out.len } };
	struct local_text text = { mem, 2, t->spill_fd, t->mskip, t->spill_len - t->mskip,
		count_lf(t->prefix.data, t->prefix.len) + t->dr.out_lines };
	for (size_t i = 0; i < t->env.nrcpts; i++) {
		struct local_rcpt rcpt = { t->env.rcpts[i].addr, i, 0, false, s };
		if (store_deliver_local(b, s->srv->store.mail_dir, s->srv->cfg->hostname, &t->env, &text,
		    &rcpt) != LOCAL_ADDED) {
			ev_warn("direct-failed", KS("qid", t->env.id), KA("to", t->env.rcpts[i].addr),
			    KS("error", strerror(errno)));
			goto fail;
		}
	}
	b->all_or_none = true;
	t->md = b;
	session_enter(s, S_COMMIT);
	line_session_hold(&s->ls);
	md_batch_commit(b, s->srv->store.committer, direct_done, s);
	return 0;
fail:
	md_batch_free(b);
	t->direct = false;
	return -1;
}

/* message_ok - not refused already: not too big, no mail loop, nothing failed. */
static bool
message_ok(const struct smtp_session *s)
{
	const struct smtp_txn *t = s->txn;

	return !t->too_big && !t->failed && t->dr.received <= s->srv->cfg->max_hops;
}

/*
 * end_inbound - the checks of mail from outside passed: the milters, with the
 * whole text in one place (the spill file, or memory).
 */
static void
end_inbound(struct smtp_session *s)
{
	struct smtp_txn *t = s->txn;

	if (t->milters && message_ok(s) && t->spill_fd >= 0 && spill_out(s) < 0) {
		ev_err("store-error", KS("qid", t->env.id), KS("what", "spill"),
		    KS("error", strerror(errno)));
		t->failed = true;
	}
	if (t->milters && message_ok(s) && milter_end(s, end_checked) == 1)
		return;
	t->milters = false;
	end_checked(s);
}

/* end_message - the whole message is in: the checks of mail from outside, then the rest. */
static void
end_message(struct smtp_session *s)
{
	struct smtp_txn *t = s->txn;

	if (t->bdat && data_reader_finish(&t->dr, t->too_big ? NULL : &t->out) < 0)
		t->failed = true;
	if (message_ok(s) && inbound_end(s, end_inbound) == 1)
		return;
	end_inbound(s);
}

/* end_checked - refuse the message, or commit it and reply later. */
static void
end_checked(struct smtp_session *s)
{
	struct smtp_txn *t = s->txn;

	/* More hops than max_hops: a mail loop somewhere (RFC 5321 6.3). */
	bool loop = t->dr.received > s->srv->cfg->max_hops;
	if (!t->too_big && !loop && !t->failed && t->direct && !t->writer_open &&
	    direct_deliver(s) == 0)
		return;
	if (!t->too_big && !loop)
		flush_out(s);
	if (t->too_big) {
		ev_info("reject", KS("qid", t->env.id), KS("client", s->ip), KS("stage", "data"),
		    KA("from", t->env.sender), KS("reason", "too-big"));
		metrics_refused(MX_REFUSE_TOO_BIG);
		session_error(s, "552 5.3.4 Error: message too large");
	} else if (loop) {
		ev_info("reject", KS("qid", t->env.id), KS("client", s->ip), KS("stage", "data"),
		    KA("from", t->env.sender), KS("reason", "too-many-hops"),
		    KN("received", t->dr.received), KN("limit", s->srv->cfg->max_hops));
		metrics_refused(MX_REFUSE_TOO_MANY_HOPS);
		session_error(s, "554 5.4.6 Error: too many hops (%u Received headers): mail loop?",
		    (unsigned)t->dr.received);
	} else if (t->failed) {
		session_reply(s, "451 4.3.0 Error: queue file write error");
	} else if (milter_hold_prepare(s) < 0) {
		ev_err("store-error", KS("qid", t->env.id), KS("what", "milter-hold"),
		    KS("error", strerror(errno)));
		milter_hold_undo(s);
		session_reply(s, "451 4.3.0 Error: queue file write error");
	} else if (spool_writer_finish(&t->w, s->srv->store.queue_dir, t->env.id, &t->commit_fd) < 0) {
		t->writer_open = false;
		ev_err("store-error", KS("qid", t->env.id), KS("what", "queue-finish"),
		    KS("error", strerror(errno)));
		milter_hold_undo(s);
		session_reply(s, "451 4.3.0 Error: queue file write error");
	} else {
		t->writer_open = false;
		session_enter(s, S_COMMIT);
		line_session_hold(&s->ls);
		/* The queue file, and a milter's hold in state/ with it. */
		int fds[2] = { t->commit_fd, t->hold_fd };
		int dirs[2] = { s->srv->store.msgdir_fd, t->hold_dirfd };
		size_t n = t->hold_fd >= 0 ? 2 : 1;
		if (committer_submit(s->srv->store.committer, fds, n, dirs, n, commit_done, s) < 0)
			commit_done(s, ENOMEM);
		return;
	}
	txn_free(s);
	session_enter(s, S_READY);
}

void
txn_data(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	start_message(s, DATA_MODE_DOT);
	session_enter(s, S_DATA);
	session_reply(s, "354 End data with <CR><LF>.<CR><LF>");
}

void
txn_bdat(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	struct smtp_txn *t = s->txn;
	struct smtp_error err;
	uint64_t size;
	bool last;

	if (smtp_parse_bdat(cmd->args, cmd->argslen, &size, &last, &err) < 0) {
		/* Without a size we cannot tell text from commands: hang up. */
		session_reply(s, "%d %s %s", err.code, err.status, err.text);
		session_close_after_flush(s, "bad BDAT");
		return;
	}
	if (t == NULL || s->state != S_RCPT) {
		/* The chunk still follows the command: read it, then refuse. */
		if (t == NULL) {
			if ((t = txn_new()) == NULL) {
				session_free(s, "out of memory");
				return;
			}
			s->txn = t;
		}
		t->discard = true;
		t->discard_reply = s->state == S_MAIL ? "554 5.5.1 Error: no valid recipients" :
		    "503 5.5.1 Error: need RCPT command";
		t->resume_state = s->state;
		t->bdat_left = size;
		t->bdat_last = last;
		session_enter(s, S_BDAT);
		return;
	}
	if (!t->data_started)
		start_message(s, DATA_MODE_CHUNK);
	t->bdat_left = size;
	t->bdat_last = last;
	if (t->dr.raw_octets + size > s->srv->cfg->max_message_size)
		t->too_big = true;
	session_enter(s, S_BDAT);
}

/* bdat_chunk_done - the current chunk has been read. */
static void
bdat_chunk_done(struct smtp_session *s)
{
	struct smtp_txn *t = s->txn;

	if (t->discard) {
		/* A refused chunk leaves the session as it was before the BDAT. */
		const char *reply = t->discard_reply; /* static; t may go just below */
		t->discard = false;
		session_enter(s, t->resume_state);
		if (t->env.sender == NULL)
			txn_free(s);
		session_error(s, "%s", reply);
		return;
	}
	if (t->bdat_last) {
		end_message(s);
		return;
	}
	if (t->too_big) {
		/* Refuse now; the client may go on sending chunks, which get the same. */
		session_error(s, "552 5.3.4 Error: message too large");
	} else {
		if (out_full(s))
			flush_out(s);
		session_reply(s, "250 2.0.0 %llu octets received",
		    (unsigned long long)t->dr.raw_octets);
	}
	session_enter(s, S_RCPT);
}

bool
txn_read_data(struct smtp_session *s, struct evbuffer *in)
{
	struct smtp_txn *t = s->txn;
	uint64_t max = s->srv->cfg->max_message_size;
	struct evbuffer_iovec vec[8];
	size_t used = 0;
	bool done = false;

	if (s->state == S_BDAT && t->bdat_left == 0) {
		bdat_chunk_done(s);
		return true;
	}
	size_t avail = evbuffer_get_length(in);
	if (avail == 0)
		return false;
	ssize_t want = s->state == S_BDAT ? (ssize_t)(t->bdat_left < avail ? t->bdat_left : avail) : -1;
	int n = evbuffer_peek(in, want, NULL, vec, 8);
	if (n > 8)
		n = 8;
	for (int i = 0; i < n && !done; i++) {
		size_t len = vec[i].iov_len;
		if (s->state == S_BDAT && used + len > t->bdat_left)
			len = (size_t)(t->bdat_left - used);
		if (t->discard) {
			used += len;
			continue;
		}
		struct buf *out = (t->too_big || t->failed) ? NULL : &t->out;
		size_t c = data_reader_feed(&t->dr, vec[i].iov_base, len, out, &done);
		if (c == (size_t)-1) {
			t->failed = true;
			c = data_reader_feed(&t->dr, vec[i].iov_base, len, NULL, &done);
		}
		used += c;
		/* RFC 1870: the size is of the message with CR LF line ends, without the
		 * doubled dots and the final "." of DATA. */
		uint64_t size = s->state == S_DATA ? t->dr.out_octets + t->dr.out_lines :
		    t->dr.raw_octets;
		if (size > max)
			t->too_big = true;
		inbound_feed(s);
		/* Piece by piece, DATA and BDAT alike: a 25 MB chunk is never held whole. */
		if (out_full(s))
			flush_out(s);
	}
	evbuffer_drain(in, used);
	deadline_progress(&s->ls.dl, used);
	if (s->state == S_BDAT)
		t->bdat_left -= used;
	if (s->state == S_DATA && done) {
		end_message(s);
		return true;
	}
	if (s->state == S_BDAT && t->bdat_left == 0) {
		bdat_chunk_done(s);
		return true;
	}
	return used > 0;
}
