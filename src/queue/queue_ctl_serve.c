/*
 * queue_ctl_serve.c - queued's end of the queue control channel (see
 * queue_ctl_serve.h and queue_ctl_proto.h). A request is answered at once, on the
 * loop; its reply waits in a short queue of its own when the socket is full, and
 * is dropped once its caller has stopped waiting, so a slow or restarted httpd
 * costs queued a bounded amount of memory and nothing else.
 */
#include "queue/queue_ctl_serve.h"

#include <errno.h>
#include <event2/event.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "accounts.h"
#include "address.h"
#include "ipc/frame.h"
#include "queue/holds.h"
#include "queue/queue_view.h"
#include "queue/queued.h"
#include "store/maildir.h"
#include "store/spool.h"
#include "util/log.h"

#define READS_PER_TURN 64  /* requests read per callback; the rest next turn */
#define PENDING_MAX 4      /* replies waiting to be sent; more drops the oldest */

/* A reply not sent whole yet. */
struct pending {
	struct pending *next;
	uint64_t req;
	int status;
	uint64_t deadline; /* the caller's: past it, nobody waits for this */
	char *text;        /* the JSON text (jansson's allocation, or malloc'd) */
	size_t len, off;   /* its length, and how much has been sent */
	uint64_t part;     /* the next part's number */
};

struct qctl_server {
	struct queued *q;
	int fd;
	struct event *read_ev, *write_ev;
	struct frame *f;
	struct pending *head, *tail;
	size_t npending;
};

static uint64_t
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- the answers ---- */

struct answer {
	int status;
	json_t *body; /* the reply's object, or NULL with error set */
	const char *error;
};

static void
fail(struct answer *a, int status, const char *error)
{
	json_decref(a->body);
	a->body = NULL;
	a->status = status;
	a->error = error;
}

/* cached - queued's own loaded copy of id (the newest state), for queue_each. */
static const struct envelope *
cached(void *arg, const char *id)
{
	struct queued *q = arg;
	struct qmsg *m = idtable_get(&q->msgs, id);

	return m != NULL && !m->deleted ? m->env : NULL;
}

struct listing {
	json_t *messages;
	time_t now;
};

static int
list_one(void *arg, const struct envelope *env)
{
	struct listing *l = arg;
	return json_array_append_new(l->messages, queue_msg_json(env, l->now,
	    QUEUE_LIST_RCPTS_MAX)) < 0 ? -1 : 0;
}

static void
answer_list(struct queued *q, struct answer *a)
{
	struct listing l = { json_array(), time(NULL) };
	size_t total = 0;

	if (l.messages == NULL) {
		fail(a, 500, "out of memory");
		return;
	}
	if (queue_each(q->store.queue_dir, QUEUE_LIST_MAX, cached, q, list_one, &l, &total) < 0 &&
	    errno != ENOENT) {
		ev_err("store-error", KS("what", "queue-list"), KS("error", strerror(errno)));
		json_decref(l.messages);
		fail(a, 500, "cannot read the queue");
		return;
	}
	a->body = json_object();
	if (a->body == NULL || json_object_set_new(a->body, "total", json_integer((json_int_t)total)) < 0 ||
	    json_object_set_new(a->body, "messages", l.messages) < 0)
		fail(a, 500, "out of memory");
}

static void
answer_show(struct queued *q, const char *id, struct answer *a)
{
	const struct envelope *mine = cached(q, id);
	struct envelope env;
	struct buf head = { 0 };
	struct qmsg *m = idtable_get(&q->msgs, id);

	if (m != NULL && m->deleted) {
		fail(a, 404, "no such message in the queue");
		return;
	}
	if (mine == NULL) {
		if (spool_load(q->store.queue_dir, id, &env) < 0) {
			fail(a, 404, "no such message in the queue");
			return;
		}
	}
	const struct envelope *e = mine != NULL ? mine : &env;
	a->body = queue_msg_json(e, time(NULL), 0);
	if (a->body == NULL) {
		fail(a, 500, "out of memory");
	} else if (queue_headers(q->store.queue_dir, e, QUEUE_HEADERS_MAX, &head) < 0) {
		if (errno == ENOENT)
			fail(a, 404, "no such message in the queue");
		else
			fail(a, 500, "cannot read the message");
	} else if (json_object_set_new(a->body, "headers", queue_json_text(head.data,
	    head.len)) < 0) {
		fail(a, 500, "out of memory");
	}
	buf_free(&head);
	if (mine == NULL)
		envelope_free(&env);
}

static void
answer_usage(struct queued *q, const char *address, struct answer *a)
{
	char canon[ADDR_MAX + 1], dir[4096];
	uint64_t quota = 0;

	if (address_canonical(address, canon, sizeof canon, false) < 0) {
		fail(a, 400, "malformed address");
		return;
	}
	switch (accounts_user_quota(q->acct, canon, &quota)) {
	case 1:
		break;
	case 0:
		fail(a, 404, "no such user");
		return;
	default:
		fail(a, 503, "the account store did not answer");
		return;
	}
	if (maildir_path(q->store.mail_dir, canon, dir, sizeof dir) < 0) {
		fail(a, 400, "address too long for a mailbox path");
		return;
	}
	/* A user who never received mail has no Maildir yet: that is 0 octets. */
	a->body = json_pack("{s:s,s:I,s:I}", "address", canon, "bytes",
	    (json_int_t)maildir_usage(dir), "quota", (json_int_t)quota);
	if (a->body == NULL)
		fail(a, 500, "out of memory");
}

static json_t *
id_object(const char *id)
{
	return json_pack("{s:s}", "id", id);
}

/* answer - what queued says to r. */
static void
answer(struct queued *q, const struct qctl_request *r, struct answer *a)
{
	*a = (struct answer){ 200, NULL, NULL };
	if (qctl_request_check(r) != 0) {
		fail(a, 400, r->op == QC_USAGE ? "malformed address" : "malformed queue id");
		return;
	}
	switch (r->op) {
	case QC_LIST:
		answer_list(q, a);
		return;
	case QC_SHOW:
		answer_show(q, r->arg, a);
		return;
	case QC_HOLD:
	case QC_RELEASE:
		if (!holds_note(q, r->arg, r->op == QC_HOLD))
			fail(a, 404, "no such message in the queue");
		else
			a->body = id_object(r->arg);
		break;
	case QC_DELETE:
		if (!queued_delete(q, r->arg))
			fail(a, 404, "no such message in the queue");
		else
			a->body = id_object(r->arg);
		break;
	case QC_FLUSH:
		queued_flush(q);
		a->body = json_object();
		break;
	case QC_USAGE:
		answer_usage(q, r->arg, a);
		return;
	default:
		fail(a, 400, "unknown request");
		return;
	}
	if (a->body == NULL && a->error == NULL)
		fail(a, 500, "out of memory");
}

/* ---- the replies ---- */

static void
pending_free(struct pending *p)
{
	free(p->text);
	free(p);
}

static void
pop(struct qctl_server *s)
{
	struct pending *p = s->head;

	s->head = p->next;
	if (s->head == NULL)
		s->tail = NULL;
	s->npending--;
	pending_free(p);
}

/* flush_out - send what the socket takes; wait for room for the rest. */
static void
flush_out(struct qctl_server *s)
{
	while (s->head != NULL) {
		struct pending *p = s->head;
		size_t used;
		if (now_ms() > p->deadline) {
			ev_warn("control-reply-dropped", KN("req", p->req),
			    KS("reason", "the caller stopped waiting"));
			pop(s);
			continue;
		}
		if (qctl_reply_part(s->f, p->req, p->status, p->part, p->text, p->len, p->off,
		    &used) < 0) {
			ev_err("control-reply-dropped", KN("req", p->req), KS("reason", "cannot be framed"));
			pop(s);
			continue;
		}
		ssize_t n = send(s->fd, s->f->buf, s->f->len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
			event_add(s->write_ev, NULL);
			return;
		}
		if (n < 0) {
			ev_warn("control-error", KS("error", strerror(errno)));
			while (s->head != NULL)
				pop(s);
			break;
		}
		p->off += used;
		p->part++;
		if (p->off >= p->len)
			pop(s);
	}
	event_del(s->write_ev);
}

/* queue_reply - the answer to r, made text, behind the replies still waiting. */
static void
queue_reply(struct qctl_server *s, const struct qctl_request *r, struct answer *a)
{
	struct pending *p = calloc(1, sizeof *p);

	if (p == NULL) {
		json_decref(a->body);
		return;
	}
	p->req = r->req;
	p->deadline = r->deadline;
	p->status = a->status;
	if (a->body != NULL) {
		p->text = json_dumps(a->body, JSON_COMPACT);
		json_decref(a->body);
		if (p->text == NULL) {
			p->status = 500;
			a->error = "out of memory";
		}
	}
	if (p->text == NULL) {
		struct buf b = { 0 };
		if (qctl_error_json(&b, a->error != NULL ? a->error : "error") < 0) {
			buf_free(&b);
			free(p);
			return;
		}
		p->text = b.data; /* the buffer's memory is malloc's */
	}
	p->len = strlen(p->text);
	if (p->len > QCTL_REPLY_MAX) {
		/* No caller takes it: say so instead (a listing's recipients are bounded). */
		free(p->text);
		struct buf b = { 0 };
		p->status = 500;
		if (qctl_error_json(&b, "reply too long") < 0) {
			buf_free(&b);
			free(p);
			return;
		}
		p->text = b.data;
		p->len = b.len;
	}
	if (s->npending >= PENDING_MAX) {
		ev_warn("control-reply-dropped", KS("reason", "too many replies unread"),
		    KN("limit", PENDING_MAX));
		pop(s);
	}
	if (s->tail != NULL)
		s->tail->next = p;
	else
		s->head = p;
	s->tail = p;
	s->npending++;
	flush_out(s);
}

static const char *
op_name(enum qctl_type t)
{
	static const char *const names[] = { "?", "list", "show", "hold", "release", "delete",
		"flush", "usage" };
	return t >= QC_LIST && t <= QC_USAGE ? names[t] : names[0];
}

/* peer_gone - a read of 0 octets: the end of the channel, or an empty message. */
static bool
peer_gone(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	return poll(&p, 1, 0) == 1 && (p.revents & POLLHUP);
}

static void
on_read(evutil_socket_t fd, short what, void *arg)
{
	struct qctl_server *s = arg;
	struct qctl_request r;
	struct answer a;

	for (int i = 0; i < READS_PER_TURN; i++) {
		/* Straight into the frame; MSG_TRUNC tells a longer one, which no request is. */
		ssize_t n = recv(fd, s->f->buf, sizeof s->f->buf, MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				ev_warn("control-error", KS("error", strerror(errno)));
			return;
		}
		if (n == 0 && peer_gone(fd)) {
			/* httpd's end is held by the supervisor too: only when it is gone. */
			ev_warn("channel-closed", KS("peer", "httpd"));
			event_del(s->read_ev);
			return;
		}
		if ((size_t)n > sizeof s->f->buf ||
		    qctl_request_decode(s->f, s->f->buf, (size_t)n, &r) < 0) {
			ev_warn("control-malformed", KS("peer", "httpd"), KN("size", n));
			continue;
		}
		if (now_ms() > r.deadline) {
			ev_warn("control-late", KN("req", r.req), KS("command", op_name(r.op)));
			continue;
		}
		answer(s->q, &r, &a);
		if (r.op != QC_LIST && r.op != QC_SHOW && r.op != QC_USAGE)
			ev_info("control", KS("command", op_name(r.op)),
			    KS("arg", r.arg[0] && a.status != 400 ? r.arg : NULL), KN("status", a.status));
		queue_reply(s, &r, &a);
	}
}

static void
on_write(evutil_socket_t fd, short what, void *arg)
{
	flush_out(arg);
}

struct qctl_server *
qctl_server_new(struct queued *q, int fd)
{
	struct qctl_server *s = calloc(1, sizeof *s);

	if (s == NULL) {
		close(fd);
		return NULL;
	}
	s->q = q;
	s->fd = fd;
	evutil_make_socket_nonblocking(fd);
	s->f = malloc(sizeof *s->f);
	s->read_ev = event_new(q->base, fd, EV_READ | EV_PERSIST, on_read, s);
	s->write_ev = event_new(q->base, fd, EV_WRITE | EV_PERSIST, on_write, s);
	if (s->f == NULL || s->read_ev == NULL || s->write_ev == NULL ||
	    event_add(s->read_ev, NULL) < 0) {
		qctl_server_free(s);
		return NULL;
	}
	return s;
}

void
qctl_server_free(struct qctl_server *s)
{
	if (s == NULL)
		return;
	while (s->head != NULL)
		pop(s);
	if (s->read_ev)
		event_free(s->read_ev);
	if (s->write_ev)
		event_free(s->write_ev);
	free(s->f);
	if (s->fd >= 0)
		close(s->fd);
	free(s);
}
