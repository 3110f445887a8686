/*
 * smtp_milter.c - the milters of [inbound] milters (smtp listener) and
 * submission_milters (submission, submissions), asked once the whole message is
 * in and the checks of mail from outside have passed, before the 250: the text
 * stays in memory or in the spill file until they have spoken, so their header
 * changes are made before anything is stored. Reject and tempfail are the reply;
 * discard is a 250 with nothing stored; quarantine is Postfix's: the message is
 * queued on hold (docs/spool.md "Holds") until `mailroom queue release`.
 */
#include "smtp/smtp_session_int.h"

#include <errno.h>
#include <event2/bufferevent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "metrics/metrics.h"
#include "milter/milter_chain.h"
#include "smtp/smtpd.h"
#include "store/spool.h"
#include "store/wire.h"
#include "util/fdio.h"
#include "util/log.h"

/* The header block the milters are shown is read from at most this much text. */
#define HEAD_READ (256 * 1024)

/* What the milters of one message are asked and told. */
struct smtp_milters {
	struct milter_chain *chain;
	struct milter_msg msg;
	struct mhdr hdr;      /* the fields they see and change */
	uint64_t hdr_end;     /* where those fields end in the stored text */
	const char **rcpts;
	const char *mail_args[2];
	char *hostname;       /* a copy: a reload frees the config while they are asked */
	void (*cont)(struct smtp_session *s);
};

static const struct milter_list *
list_of(const struct smtp_session *s)
{
	const struct config *cfg = s->srv->cfg;

	return s->svc == SVC_SMTP ? &cfg->milters : &cfg->submission_milters;
}

void
milter_begin(struct smtp_session *s)
{
	s->txn->milters = list_of(s)->n > 0;
}

void
milter_txn_free(struct smtp_txn *t)
{
	struct smtp_milters *m = t->mil;

	if (m != NULL) {
		milter_chain_free(m->chain);
		mhdr_free(&m->hdr);
		free(m->rcpts);
		free(m->hostname);
		free(m);
		t->mil = NULL;
	}
	buf_free(&t->mhead);
	free(t->hold_reason);
	t->hold_reason = NULL;
	if (t->hold_fd >= 0)
		close(t->hold_fd);
	if (t->hold_dirfd >= 0)
		close(t->hold_dirfd);
	t->hold_fd = t->hold_dirfd = -1;
}

/* text_read - the stored text so far (spilled, or in memory), for the milters' body. */
static ssize_t
text_read(void *arg, uint64_t off, void *p, size_t n)
{
	struct smtp_txn *t = ((struct smtp_session *)arg)->txn;

	if (t->spill_fd >= 0)
		return fd_pread_full(t->spill_fd, p, n, off);
	if (off >= t->out.len)
		return 0;
	if (n > t->out.len - off)
		n = (size_t)(t->out.len - off);
	memcpy(p, t->out.data + off, n);
	return (ssize_t)n;
}

/*
 * put_changed_header - the header block as the milters left it takes the place of
 * text[0..hdr_end): in memory at once; in the spill file it is kept aside for the
 * writers (txn->mhead, txn->mskip). The stored sizes follow. Returns 0 or -1.
 */
static int
put_changed_header(struct smtp_session *s, struct smtp_milters *m)
{
	struct smtp_txn *t = s->txn;
	struct buf head = { 0 };

	if (mhdr_write(&m->hdr, &head) < 0)
		return -1;
	uint64_t old_lines;
	if (t->spill_fd < 0) {
		old_lines = count_lf(t->out.data, (size_t)m->hdr_end);
		if (buf_append(&head, t->out.data + m->hdr_end, t->out.len - m->hdr_end) < 0) {
			buf_free(&head);
			return -1;
		}
		uint64_t added = count_lf(head.data, head.len) -
		    count_lf(t->out.data + m->hdr_end, t->out.len - m->hdr_end);
		t->dr.out_octets = t->dr.out_octets - t->out.len + head.len;
		t->dr.out_lines = t->dr.out_lines - old_lines + added;
		buf_free(&t->out);
		t->out = head;
		return 0;
	}
	char *old = malloc(m->hdr_end + 1);
	if (old == NULL || fd_pread_full(t->spill_fd, old, m->hdr_end, 0) != (ssize_t)m->hdr_end) {
		free(old);
		buf_free(&head);
		return -1;
	}
	old_lines = count_lf(old, m->hdr_end);
	free(old);
	/* mhead goes out with our own header fields: counted there. */
	t->dr.out_octets -= m->hdr_end;
	t->dr.out_lines -= old_lines;
	buf_free(&t->mhead);
	t->mhead = head;
	t->mskip = m->hdr_end;
	return 0;
}

/* finish_txn - the milters refused or discarded it: the transaction goes, the session goes on. */
static void
finish_txn(struct smtp_session *s)
{
	txn_free(s);
	session_enter(s, S_READY);
	session_release(s);
	session_process(s);
}

static void
on_outcome(void *arg, const struct milter_outcome *o)
{
	struct smtp_session *s = arg;
	struct smtp_txn *t = s->txn;
	struct smtp_milters *m = t->mil;
	void (*cont)(struct smtp_session *) = m->cont;

	m->chain = NULL; /* it frees itself once this returns */
	if (s->ls.closing) {
		session_release(s);
		return;
	}
	switch (o->verdict) {
	case MILTER_REJECT:
	case MILTER_TEMPFAIL:
		ev_info("reject", KS("qid", t->env.id), KS("client", s->ip), KS("stage", "data"),
		    KA("from", t->env.sender), KS("reason", "milter"), KS("milter", o->milter),
		    KS("detail", o->reply));
		metrics_refused(MX_REFUSE_MILTER);
		if (o->verdict == MILTER_REJECT)
			session_error(s, "%s", o->reply);
		else
			session_reply(s, "%s", o->reply);
		finish_txn(s);
		return;
	case MILTER_DISCARD:
		/* As Postfix: the client is told what it would be told of any message. */
		ev_info("discarded", KS("qid", t->env.id), KS("client", s->ip), KS("milter", o->milter));
		session_reply(s, "250 2.0.0 Ok: queued as %s", t->env.id);
		finish_txn(s);
		return;
	default:
		break;
	}
	if (m->hdr.changed && put_changed_header(s, m) < 0) {
		ev_err("milter-error", KS("qid", t->env.id), KS("what", "header changes"),
		    KS("error", strerror(errno)));
		t->failed = true;
	}
	if (o->quarantine) {
		if ((t->hold_reason = strdup(o->quarantine_reason)) == NULL)
			t->failed = true;
		t->direct = false; /* a hold lives in the queue */
	}
	t->milters = false;
	mhdr_free(&m->hdr);
	session_release(s);
	cont(s);
}

/* client_port - the client's TCP port, for the milters' connect stage; 0: unknown. */
static uint16_t
client_port(const struct smtp_session *s)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;

	if (s->ls.bev == NULL || getpeername(bufferevent_getfd(s->ls.bev), (struct sockaddr *)&ss,
	    &len) < 0)
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}

/* read_header - the header fields at the top of the text into m->hdr; where the body starts. */
static int
read_header(struct smtp_session *s, struct smtp_milters *m, uint64_t total, uint64_t *body)
{
	struct smtp_txn *t = s->txn;
	const char *text = t->out.data;
	char *copy = NULL;
	size_t n = t->out.len;

	if (t->spill_fd >= 0) {
		n = total < HEAD_READ ? (size_t)total : HEAD_READ;
		if ((copy = malloc(n + 1)) == NULL)
			return -1;
		ssize_t got = fd_pread_full(t->spill_fd, copy, n, 0);
		if (got < 0) {
			free(copy);
			return -1;
		}
		n = (size_t)got;
		text = copy;
	}
	size_t end = 0;
	int rc = mhdr_parse(&m->hdr, text ? text : "", n, n == total, &end);
	m->hdr_end = end;
	/* The empty line between the fields and the body is no part of either for them. */
	*body = end < n && text[end] == '\n' ? end + 1 : end;
	free(copy);
	return rc;
}

int
milter_end(struct smtp_session *s, void (*cont)(struct smtp_session *s))
{
	struct smtp_txn *t = s->txn;
	const struct config *cfg = s->srv->cfg;
	const struct milter_list *list = list_of(s);
	struct smtp_milters *m;

	if (!t->milters || list->n == 0)
		return 0;
	if ((m = calloc(1, sizeof *m)) == NULL)
		goto oom;
	t->mil = m;
	if ((m->rcpts = calloc(t->env.nrcpts + 1, sizeof *m->rcpts)) == NULL ||
	    (m->hostname = strdup(cfg->hostname)) == NULL)
		goto oom;
	m->cont = cont;
	uint64_t total = t->spill_len + t->out.len, body = 0;
	if (read_header(s, m, total, &body) < 0)
		goto oom;
	/* One RCPT's targets are consecutive: its address once, as the client gave it. */
	size_t nr = 0;
	for (size_t i = 0; i < t->env.nrcpts; i++)
		if (nr == 0 || strcmp(m->rcpts[nr - 1], t->env.rcpts[i].orig) != 0)
			m->rcpts[nr++] = t->env.rcpts[i].orig;
	size_t na = 0;
	if (t->env.body == BODY_8BITMIME)
		m->mail_args[na++] = "BODY=8BITMIME";
	if (t->smtputf8)
		m->mail_args[na++] = "SMTPUTF8";
	m->msg = (struct milter_msg){
		.id = t->env.id,
		.hostname = m->hostname,
		.client_ip = s->ip,
		.client_port = client_port(s),
		.helo = s->helo ? s->helo : "",
		.sender = t->env.sender ? t->env.sender : "",
		.mail_args = m->mail_args,
		.nmail_args = na,
		.auth = s->auth_user,
		.rcpts = m->rcpts,
		.nrcpts = nr,
		.body_off = body,
		.body_end = total,
		.read = text_read,
		.read_arg = s,
	};
	struct milter_timeouts to = { cfg->milter_connect_timeout, cfg->milter_command_timeout,
		cfg->milter_content_timeout };
	m->chain = milter_chain_start(s->srv->base, list->v, list->n, &to, cfg->milter_default_accept,
	    &m->msg, &m->hdr, on_outcome, s);
	if (m->chain == NULL)
		goto oom;
	session_enter(s, S_COMMIT);
	line_session_hold(&s->ls);
	return 1;
oom:
	/* Never unasked: as a milter that is down would be, only worse. */
	ev_err("milter-error", KS("qid", t->env.id), KS("error", "out of memory"));
	t->failed = true;
	return 0;
}

int
milter_hold_prepare(struct smtp_session *s)
{
	struct smtp_txn *t = s->txn;
	char path[4200];

	if (t->hold_reason == NULL)
		return 0;
	/* Written before msg/<id> exists, so queued never meets the message unheld. */
	t->env.held = true;
	t->env.held_since = time(NULL);
	free(t->env.hold_reason);
	if ((t->env.hold_reason = strdup(t->hold_reason)) == NULL)
		return -1;
	if (spool_write_state(s->srv->store.queue_dir, &t->env) < 0)
		return -1;
	/* Made durable with the message: the 250 promises the hold as well. */
	if (spool_path(path, sizeof path, s->srv->store.queue_dir, SPOOL_STATE, t->env.id) < 0 ||
	    (t->hold_fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	if (spool_path(path, sizeof path, s->srv->store.queue_dir, SPOOL_STATE, NULL) < 0 ||
	    (t->hold_dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	return 0;
}

void
milter_hold_undo(struct smtp_session *s)
{
	struct smtp_txn *t = s->txn;
	char path[4200];

	if (t->hold_reason != NULL &&
	    spool_path(path, sizeof path, s->srv->store.queue_dir, SPOOL_STATE, t->env.id) == 0)
		unlink(path);
}
