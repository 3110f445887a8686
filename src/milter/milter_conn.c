/*
 * milter_conn.c - one milter conversation on the event loop (see milter_conn.h):
 * a bufferevent for the socket, one timer for whatever is awaited (the connect, a
 * reply, or room in a filter that stopped reading), the stages sent in order.
 */
#include "milter/milter_conn.h"

#include <errno.h>
#include <stdarg.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "milter/milter_proto.h"

#define OUT_HIGH (256 * 1024) /* queued for the filter: no more body until it drains */
#define RAW_CHUNK 32767        /* stored octets per body chunk: CR LF twice that at most */
#define CHANGES_MAX 1000       /* header changes one filter may ask for */
#define CHANGES_OCTETS (512 * 1024) /* and their names and values together */
#define PROGRESS_MAX 1000      /* SMFIR_PROGRESS replies that may push one time limit on */

enum stage {
	ST_CONNECTING, ST_OPTNEG, ST_CONNECT, ST_HELO, ST_MAIL, ST_RCPT, ST_DATA, ST_HEADERS,
	ST_EOH, ST_BODY, ST_EOM,
};

static const char *const stage_names[] = {
	[ST_CONNECTING] = "connecting", [ST_OPTNEG] = "negotiation", [ST_CONNECT] = "connect",
	[ST_HELO] = "helo", [ST_MAIL] = "mail", [ST_RCPT] = "rcpt", [ST_DATA] = "data",
	[ST_HEADERS] = "header", [ST_EOH] = "eoh", [ST_BODY] = "body", [ST_EOM] = "eom",
};

struct milter_conn {
	struct event_base *base;
	struct milter_sock sock;
	struct milter_timeouts to;
	const struct milter_msg *msg;
	void (*done)(void *arg, const struct milter_result *r);
	void *arg;
	struct bufferevent *bev;
	struct event *timer;
	enum stage stage;
	char awaiting;        /* the command whose reply is due; 0: none */
	bool blocked;         /* waiting for the filter to read what is queued */
	bool early_failure;   /* failed inside milter_conn_start: reported from the timer */
	size_t item;          /* the next recipient or header field */
	uint64_t body_pos;
	uint32_t version, actions, protocol; /* as negotiated */
	unsigned progress;
	struct buf pkt;       /* a packet being made */
	struct buf in;        /* a reply being looked at */
	char *raw, *crlf;     /* body chunk buffers */
	size_t changes_cap;
	size_t changes_octets;
	struct milter_result res;
};

static bool advance(struct milter_conn *c);

static void
arm(struct milter_conn *c, uint64_t secs)
{
	struct timeval tv = { (time_t)secs, 0 };
	evtimer_add(c->timer, &tv);
}

/* where - the stage for the logs: the command whose reply is awaited, if any. */
static const char *
where(const struct milter_conn *c)
{
	return c->awaiting != 0 ? milter_cmd_name(c->awaiting) : stage_names[c->stage];
}

static void
free_changes(struct milter_result *r)
{
	for (size_t i = 0; i < r->nchanges; i++) {
		free(r->changes[i].name);
		free(r->changes[i].value);
	}
	free(r->changes);
	r->changes = NULL;
	r->nchanges = 0;
}

void
milter_conn_free(struct milter_conn *c)
{
	if (c == NULL)
		return;
	if (c->bev)
		bufferevent_free(c->bev);
	if (c->timer)
		event_free(c->timer);
	free_changes(&c->res);
	buf_free(&c->pkt);
	buf_free(&c->in);
	free(c->raw);
	free(c->crlf);
	free(c);
}

/*
 * finish - the verdict: a polite SMFIC_QUIT if it goes out at once (never waited
 * for), the socket closed, done told, then the conversation freed.
 */
static void
finish(struct milter_conn *c, enum milter_verdict v)
{
	c->res.verdict = v;
	c->res.stage = where(c);
	c->res.leadspc = (c->protocol & SMFIP_HDR_LEADSPC) != 0;
	evtimer_del(c->timer);
	if (c->bev != NULL && c->stage > ST_OPTNEG &&
	    evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
		static const char quit[5] = { 0, 0, 0, 1, SMFIC_QUIT };
		(void)send(bufferevent_getfd(c->bev), quit, sizeof quit, MSG_DONTWAIT | MSG_NOSIGNAL);
	}
	if (c->bev != NULL) {
		bufferevent_free(c->bev);
		c->bev = NULL;
	}
	c->done(c->arg, &c->res);
	milter_conn_free(c);
}

static void
fail(struct milter_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
fail(struct milter_conn *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->res.why, sizeof c->res.why, fmt, ap);
	va_end(ap);
	finish(c, MILTER_FAILED);
}

/* send_pkt - what was made in c->pkt, queued for the filter. */
static int
send_pkt(struct milter_conn *c)
{
	int rc = evbuffer_add(bufferevent_get_output(c->bev), c->pkt.data, c->pkt.len);
	buf_reset(&c->pkt);
	return rc;
}

/* expect - after sending cmd: its reply is due unless the filter asked for none (nr). */
static void
expect(struct milter_conn *c, char cmd, uint32_t nr)
{
	if ((c->protocol & nr) == 0)
		c->awaiting = cmd;
}

/* asked - whether the filter asked for the protocol flag (SMFIP_NO..., SMFIP_HDR_LEADSPC). */
static bool
asked(const struct milter_conn *c, uint32_t flag)
{
	return (c->protocol & flag) != 0;
}

/* put_body_chunk - the next piece of the body, its LF line ends made CR LF. */
static int
put_body_chunk(struct milter_conn *c)
{
	const struct milter_msg *m = c->msg;
	uint64_t left = m->body_end - c->body_pos;
	size_t want = left < RAW_CHUNK ? (size_t)left : RAW_CHUNK;

	ssize_t got = m->read(m->read_arg, c->body_pos, c->raw, want);
	if (got <= 0)
		return -1;
	size_t o = 0;
	for (ssize_t i = 0; i < got; i++) {
		if (c->raw[i] == '\n')
			c->crlf[o++] = '\r';
		c->crlf[o++] = c->raw[i];
	}
	c->body_pos += (uint64_t)got;
	return milter_put_body(&c->pkt, c->crlf, o);
}

/*
 * send_next - the next command of the conversation (or none, when the filter
 * does without that stage): the stage moves on. Returns 0, or -1 with the
 * conversation failed.
 */
static int
send_next(struct milter_conn *c)
{
	const struct milter_msg *m = c->msg;
	int rc = 0;

	switch (c->stage) {
	case ST_CONNECTING:
	case ST_OPTNEG:
		return 0; /* not reached: the negotiation is awaited */
	case ST_CONNECT:
		if (!asked(c, SMFIP_NOCONNECT)) {
			char name[sizeof "unknown [" + 64];
			snprintf(name, sizeof name, "unknown [%s]", m->client_ip);
			const char *kv[] = { "j", m->hostname, "{daemon_name}", "mailroom", "v",
				"mailroom", "{client_addr}", m->client_ip, "{client_name}", "unknown",
				"_", name };
			char family = strchr(m->client_ip, ':') ? '6' : strchr(m->client_ip, '.') ?
			    '4' : 'U';
			rc |= milter_put_macros(&c->pkt, SMFIC_CONNECT, kv, 6);
			rc |= milter_put_connect(&c->pkt, "unknown", family, m->client_port, m->client_ip);
			expect(c, SMFIC_CONNECT, SMFIP_NR_CONN);
		}
		c->stage = ST_HELO;
		break;
	case ST_HELO:
		if (!asked(c, SMFIP_NOHELO)) {
			rc |= milter_put_strings(&c->pkt, SMFIC_HELO, &m->helo, 1);
			expect(c, SMFIC_HELO, SMFIP_NR_HELO);
		}
		c->stage = ST_MAIL;
		break;
	case ST_MAIL:
		if (!asked(c, SMFIP_NOMAIL)) {
			char from[1024];
			snprintf(from, sizeof from, "<%s>", m->sender);
			const char *kv[] = { "i", m->id, "{mail_addr}", m->sender, "{auth_authen}",
				m->auth ? m->auth : "" };
			rc |= milter_put_macros(&c->pkt, SMFIC_MAIL, kv, m->auth ? 3 : 2);
			const char *args[1 + 8] = { from };
			size_t n = 1;
			for (size_t i = 0; i < m->nmail_args && n < 9; i++)
				args[n++] = m->mail_args[i];
			rc |= milter_put_strings(&c->pkt, SMFIC_MAIL, args, n);
			expect(c, SMFIC_MAIL, SMFIP_NR_MAIL);
		}
		c->stage = ST_RCPT;
		c->item = 0;
		break;
	case ST_RCPT:
		if (asked(c, SMFIP_NORCPT) || c->item >= m->nrcpts) {
			c->stage = ST_DATA;
			break;
		}
		{
			char to[1024];
			const char *rcpt = m->rcpts[c->item++];
			snprintf(to, sizeof to, "<%s>", rcpt);
			const char *kv[] = { "{rcpt_addr}", rcpt };
			const char *args[] = { to };
			rc |= milter_put_macros(&c->pkt, SMFIC_RCPT, kv, 1);
			rc |= milter_put_strings(&c->pkt, SMFIC_RCPT, args, 1);
			expect(c, SMFIC_RCPT, SMFIP_NR_RCPT);
		}
		break;
	case ST_DATA:
		/* DATA came with version 4 of the protocol. */
		if (c->version >= 4 && !asked(c, SMFIP_NODATA)) {
			rc |= milter_put_empty(&c->pkt, SMFIC_DATA);
			expect(c, SMFIC_DATA, SMFIP_NR_DATA);
		}
		c->stage = ST_HEADERS;
		c->item = 0;
		break;
	case ST_HEADERS:
		if (asked(c, SMFIP_NOHDRS) || c->item >= m->hdr->n) {
			c->stage = ST_EOH;
			break;
		}
		{
			const struct mhdr_field *f = &m->hdr->v[c->item++];
			const char *v;
			size_t vlen;
			mhdr_value(f, asked(c, SMFIP_HDR_LEADSPC), &v, &vlen);
			rc |= milter_put_header(&c->pkt, f->text, f->name_len, v, vlen);
			expect(c, SMFIC_HEADER, SMFIP_NR_HDR);
		}
		break;
	case ST_EOH:
		if (!asked(c, SMFIP_NOEOH)) {
			rc |= milter_put_empty(&c->pkt, SMFIC_EOH);
			expect(c, SMFIC_EOH, SMFIP_NR_EOH);
		}
		c->stage = ST_BODY;
		c->body_pos = m->body_off;
		break;
	case ST_BODY:
		if (asked(c, SMFIP_NOBODY) || c->body_pos >= m->body_end) {
			c->stage = ST_EOM;
			break;
		}
		if (put_body_chunk(c) < 0) {
			fail(c, "cannot read the message");
			return -1;
		}
		expect(c, SMFIC_BODY, SMFIP_NR_BODY);
		break;
	case ST_EOM:
		{
			const char *kv[] = { "i", m->id };
			rc |= milter_put_macros(&c->pkt, SMFIC_BODYEOB, kv, 1);
			rc |= milter_put_empty(&c->pkt, SMFIC_BODYEOB);
			c->awaiting = SMFIC_BODYEOB;
		}
		break;
	}
	if (rc != 0 || send_pkt(c) < 0) {
		fail(c, "out of memory");
		return -1;
	}
	return 0;
}

/* timeout_of - the time limit of the reply awaited (Postfix's three). */
static uint64_t
timeout_of(const struct milter_conn *c)
{
	switch (c->awaiting) {
	case SMFIC_OPTNEG:
		return c->to.connect;
	case SMFIC_CONNECT:
	case SMFIC_HELO:
	case SMFIC_MAIL:
	case SMFIC_RCPT:
	case SMFIC_DATA:
		return c->to.command;
	default:
		return c->to.content;
	}
}

/*
 * advance - send until a reply is due or the filter has enough to read for now.
 * Returns false when the conversation failed (c is gone).
 */
static bool
advance(struct milter_conn *c)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);

	c->blocked = false;
	while (c->awaiting == 0) {
		if (evbuffer_get_length(out) >= OUT_HIGH) {
			c->blocked = true;
			break;
		}
		if (send_next(c) < 0)
			return false;
	}
	c->progress = 0;
	arm(c, c->blocked ? c->to.content : timeout_of(c));
	return true;
}

/* clean - printable ASCII of s into out (a reason from a filter, for logs and holds). */
static void
clean(char *out, size_t outlen, const char *s)
{
	size_t o = 0;

	for (; *s != '\0' && o + 1 < outlen; s++)
		out[o++] = (unsigned char)*s >= 0x20 && (unsigned char)*s < 0x7f ? *s : '?';
	out[o] = '\0';
}

static int
add_change(struct milter_conn *c, const struct milter_reply *r)
{
	struct milter_result *res = &c->res;
	size_t octets = strlen(r->name) + strlen(r->value);

	/* Each change makes one field; what could never be stored is not kept either. */
	if (octets > MHDR_FIELD_MAX || c->changes_octets + octets > CHANGES_OCTETS)
		return -1;
	if (res->nchanges == c->changes_cap) {
		if (res->nchanges >= CHANGES_MAX)
			return -1;
		size_t cap = c->changes_cap ? 2 * c->changes_cap : 8;
		struct milter_change *v = realloc(res->changes, cap * sizeof *v);
		if (v == NULL)
			return -1;
		res->changes = v;
		c->changes_cap = cap;
	}
	struct milter_change *ch = &res->changes[res->nchanges];
	ch->cmd = r->cmd;
	ch->index = r->index;
	ch->name = strdup(r->name);
	ch->value = strdup(r->value);
	if (ch->name == NULL || ch->value == NULL) {
		free(ch->name);
		free(ch->value);
		return -1;
	}
	res->nchanges++;
	c->changes_octets += octets;
	return 0;
}

/* negotiated - the filter's options. Returns false when c is gone. */
static bool
negotiated(struct milter_conn *c, const struct milter_reply *r)
{
	if (r->cmd != SMFIR_OPTNEG) {
		fail(c, "reply '%c' instead of the option negotiation", r->cmd);
		return false;
	}
	if (r->version < 2 || r->version > MILTER_VERSION) {
		fail(c, "protocol version %u (mailroom speaks 2 to %d)", r->version, MILTER_VERSION);
		return false;
	}
	c->version = r->version;
	/* What it may do is what both sides know; anything else it tries is an error. */
	c->actions = r->actions & MILTER_OUR_ACTIONS;
	c->protocol = r->protocol & MILTER_OUR_PROTOCOL;
	c->awaiting = 0;
	c->stage = ST_CONNECT;
	return advance(c);
}

/*
 * on_reply - one reply from the filter. Returns false when the conversation is
 * over (c is gone).
 */
static bool
on_reply(struct milter_conn *c, const char *p, size_t n)
{
	struct milter_reply r;
	const char *why;
	int code;

	if (milter_parse_reply(p, n, &r, &why) < 0) {
		fail(c, "protocol error at %s: %s (0x%02x)", where(c), why,
		    (unsigned char)p[0]);
		return false;
	}
	if (c->awaiting == 0) {
		fail(c, "reply '%c' at %s when none was due", r.cmd, where(c));
		return false;
	}
	if (c->stage == ST_OPTNEG)
		return negotiated(c, &r);
	bool eom = c->awaiting == SMFIC_BODYEOB;
	switch (r.cmd) {
	case SMFIR_PROGRESS:
		if (++c->progress > PROGRESS_MAX) {
			fail(c, "too many progress replies at %s", where(c));
			return false;
		}
		arm(c, timeout_of(c));
		return true;
	case SMFIR_CONTINUE:
		if (eom) {
			finish(c, MILTER_CONTINUE);
			return false;
		}
		c->awaiting = 0;
		return advance(c);
	case SMFIR_SKIP:
		if (c->awaiting != SMFIC_BODY) {
			fail(c, "skip at %s", where(c));
			return false;
		}
		c->awaiting = 0;
		c->stage = ST_EOM;
		return advance(c);
	case SMFIR_ACCEPT:
		finish(c, MILTER_ACCEPT);
		return false;
	case SMFIR_REJECT:
		finish(c, MILTER_REJECT);
		return false;
	case SMFIR_TEMPFAIL:
	case SMFIR_CONN_FAIL:
	case SMFIR_SHUTDOWN:
		finish(c, MILTER_TEMPFAIL);
		return false;
	case SMFIR_DISCARD:
		finish(c, MILTER_DISCARD);
		return false;
	case SMFIR_REPLYCODE:
		code = milter_reply_line(r.text, c->res.reply, sizeof c->res.reply);
		if (code < 0) {
			fail(c, "reply code that is no 4xx or 5xx at %s", where(c));
			return false;
		}
		finish(c, code >= 500 ? MILTER_REJECT : MILTER_TEMPFAIL);
		return false;
	case SMFIR_ADDHEADER:
	case SMFIR_INSHEADER:
	case SMFIR_CHGHEADER: {
		uint32_t need = r.cmd == SMFIR_CHGHEADER ? SMFIF_CHGHDRS : SMFIF_ADDHDRS;
		if (!eom || (c->actions & need) == 0) {
			fail(c, "header change '%c' %s", r.cmd, eom ? "not negotiated" :
			    "before the end of the message");
			return false;
		}
		if (!mhdr_name_ok(r.name) || add_change(c, &r) < 0) {
			fail(c, "header change refused (a bad name, too many or too long, or out of memory)");
			return false;
		}
		return true;
	}
	case SMFIR_QUARANTINE:
		if (!eom || (c->actions & SMFIF_QUARANTINE) == 0) {
			fail(c, "quarantine %s", eom ? "not negotiated" : "before the end of the message");
			return false;
		}
		c->res.quarantine = true;
		clean(c->res.quarantine_reason, sizeof c->res.quarantine_reason, r.text);
		return true;
	default:
		fail(c, "reply '%c' (an action mailroom does not offer) at %s", r.cmd,
		    where(c));
		return false;
	}
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	struct milter_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	unsigned char head[4];
	size_t len = 0;

	for (;;) {
		size_t avail = evbuffer_get_length(in);
		if (avail < 4)
			return;
		evbuffer_copyout(in, head, 4);
		if (milter_frame(head, 4, &len) < 0) {
			fail(c, "protocol error at %s: a packet length of %u", where(c),
			    (unsigned)head[0] << 24 | (unsigned)head[1] << 16 | (unsigned)head[2] << 8 |
			    head[3]);
			return;
		}
		if (avail - 4 < len)
			return;
		/* A copy: handling the reply may free the bufferevent. */
		buf_reset(&c->in);
		if (buf_reserve(&c->in, len) < 0) {
			fail(c, "out of memory");
			return;
		}
		evbuffer_drain(in, 4);
		evbuffer_remove(in, c->in.data, len);
		c->in.len = len;
		if (!on_reply(c, c->in.data, c->in.len))
			return;
	}
}

static void
on_write(struct bufferevent *bev, void *arg)
{
	struct milter_conn *c = arg;

	if (c->blocked)
		(void)advance(c);
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	struct milter_conn *c = arg;

	if (what & BEV_EVENT_CONNECTED) {
		c->stage = ST_OPTNEG;
		if (milter_put_optneg(&c->pkt, MILTER_VERSION, MILTER_OUR_ACTIONS,
		    MILTER_OUR_PROTOCOL) < 0 || send_pkt(c) < 0) {
			fail(c, "out of memory");
			return;
		}
		c->awaiting = SMFIC_OPTNEG;
		arm(c, c->to.connect);
		return;
	}
	int err = EVUTIL_SOCKET_ERROR();
	if (c->stage == ST_CONNECTING)
		fail(c, "cannot connect: %s", strerror(err ? err : ECONNREFUSED));
	else if (what & BEV_EVENT_EOF)
		fail(c, "the milter closed the connection at %s", where(c));
	else
		fail(c, "%s at %s", strerror(err ? err : EIO), where(c));
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct milter_conn *c = arg;

	if (c->early_failure)
		finish(c, MILTER_FAILED);
	else if (c->stage == ST_CONNECTING)
		fail(c, "cannot connect: no answer in %llu s", (unsigned long long)c->to.connect);
	else if (c->blocked)
		fail(c, "the milter read nothing for %llu s at %s",
		    (unsigned long long)c->to.content, where(c));
	else
		fail(c, "no reply in %llu s at %s", (unsigned long long)timeout_of(c),
		    where(c));
}

struct milter_conn *
milter_conn_start(struct event_base *base, const struct milter_sock *sock,
    const struct milter_timeouts *to, const struct milter_msg *msg,
    void (*done)(void *arg, const struct milter_result *r), void *arg)
{
	struct milter_conn *c = calloc(1, sizeof *c);

	if (c == NULL)
		return NULL;
	c->base = base;
	c->sock = *sock;
	c->to = *to;
	c->msg = msg;
	c->done = done;
	c->arg = arg;
	c->stage = ST_CONNECTING;
	c->raw = malloc(RAW_CHUNK);
	c->crlf = malloc(2 * RAW_CHUNK);
	c->timer = evtimer_new(base, on_timer, c);
	c->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (c->raw == NULL || c->crlf == NULL || c->timer == NULL || c->bev == NULL) {
		milter_conn_free(c);
		return NULL;
	}
	bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
	/* on_write when the queue for the filter is down to a quarter; no more read
	 * than the largest reply and a bit, whatever the filter sends */
	bufferevent_setwatermark(c->bev, EV_WRITE, OUT_HIGH / 4, 0);
	bufferevent_setwatermark(c->bev, EV_READ, 0, 2 * MILTER_REPLY_MAX);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&c->sock.ss, (int)c->sock.sslen) < 0) {
		/* Told from the loop, as any other outcome: the caller is not re-entered. */
		snprintf(c->res.why, sizeof c->res.why, "cannot connect: %s", strerror(errno));
		bufferevent_free(c->bev);
		c->bev = NULL;
		c->early_failure = true;
		arm(c, 0);
		return c;
	}
	arm(c, c->to.connect);
	return c;
}
