/*
 * pop3_trans.c - the TRANSACTION and UPDATE states of RFC 1939 over the
 * session's maildrop: STAT, LIST, UIDL, RETR, TOP, DELE, NOOP, RSET and QUIT.
 * Multi-line replies are produced as the client reads them: the bufferevent's
 * write low-water mark calls pop3_trans_pump, which reads the next chunk of the file
 * (or the next listing lines) until the output holds POP3_OUTPUT_HIGH octets again,
 * so a 25 MB message never sits in memory.
 */
#include "pop3/pop3_session_int.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pop3/pop3d.h"
#include "util/log.h"

#define READ_CHUNK (32 * 1024)
#define LIST_BATCH 256 /* listing lines added per round */

void
pop3_trans_free(struct pop3_session *s)
{
	if (s->out.fd >= 0)
		close(s->out.fd);
	s->out.fd = -1;
	s->out.kind = OUT_NONE;
	if (s->md != NULL) {
		maildrop_close(s->md); /* unlocks; deletes nothing */
		free(s->md);
		s->md = NULL;
	}
}

/* msg_index - message number n as an index, or reply -ERR and return false. */
static bool
msg_index(struct pop3_session *s, uint64_t n, size_t *idx)
{
	if (n == 0 || n > s->md->n) {
		line_session_refuse(&s->ls, "-ERR No such message");
		return false;
	}
	if (s->md->msgs[n - 1].deleted) {
		line_session_refuse(&s->ls, "-ERR Message %" PRIu64 " is deleted", n);
		return false;
	}
	*idx = (size_t)(n - 1);
	return true;
}

/* out_done - the streaming reply is complete; commands may be read again. */
static void
out_done(struct pop3_session *s)
{
	if (s->out.fd >= 0)
		close(s->out.fd);
	s->out.fd = -1;
	s->out.kind = OUT_NONE;
	line_session_deadline(&s->ls);
}

/* pump_file - one chunk of the message; false when it failed (the session is closed). */
static bool
pump_file(struct pop3_session *s, struct evbuffer *out)
{
	char chunk[READ_CHUNK];
	struct evbuffer_iovec vec;
	ssize_t r;

	/* When TOP has its lines, the rest of the file is not read. */
	r = 0;
	while (!s->out.xfer.done && (r = read(s->out.fd, chunk, sizeof chunk)) < 0 &&
	    errno == EINTR)
		continue;
	if (r < 0) {
		/* The +OK is out: only a cut connection tells the client it is incomplete. */
		ev_err("mailbox-error", KS("user", s->login), KS("client", s->ip), KS("what", "read"),
		    KN("msg", s->out.msg + 1), KS("error", strerror(errno)));
		line_session_free(&s->ls, "read error");
		return false;
	}
	if (r == 0) {
		char end[8];
		evbuffer_add(out, end, pop3_xfer_finish(&s->out.xfer, end));
		out_done(s);
		return true;
	}
	if (evbuffer_reserve_space(out, 2 * (ev_ssize_t)r, &vec, 1) < 1) {
		line_session_free(&s->ls, "out of memory");
		return false;
	}
	vec.iov_len = pop3_xfer_feed(&s->out.xfer, chunk, (size_t)r, vec.iov_base);
	evbuffer_commit_space(out, &vec, 1);
	return true;
}

static void
pump_listing(struct pop3_session *s, struct evbuffer *out)
{
	const struct maildrop *md = s->md;

	for (unsigned k = 0; k < LIST_BATCH && s->out.next < md->n; s->out.next++) {
		size_t i = s->out.next;
		if (md->msgs[i].deleted)
			continue;
		if (s->out.kind == OUT_LIST)
			evbuffer_add_printf(out, "%zu %" PRIu64 "\r\n", i + 1, md->msgs[i].size);
		else
			evbuffer_add_printf(out, "%zu %s\r\n", i + 1, maildrop_uidl(md, i));
		k++;
	}
	if (s->out.next == md->n) {
		evbuffer_add(out, ".\r\n", 3);
		out_done(s);
	}
}

bool
pop3_trans_pump(struct pop3_session *s)
{
	struct evbuffer *out = bufferevent_get_output(s->ls.bev);

	while (s->out.kind != OUT_NONE && evbuffer_get_length(out) < POP3_OUTPUT_HIGH) {
		if (s->out.kind == OUT_FILE) {
			if (!pump_file(s, out))
				return false;
		} else {
			pump_listing(s, out);
		}
	}
	return s->out.kind == OUT_NONE;
}

/* start_out - begin a streaming reply; the first part goes out at once. */
static void
start_out(struct pop3_session *s, enum out_kind kind)
{
	s->out.kind = kind;
	s->out.next = 0;
	line_session_deadline(&s->ls);
	pop3_trans_pump(s);
}

static void
list(struct pop3_session *s, const struct pop3_cmd *cmd, bool uidl)
{
	size_t i;
	const struct maildrop *md = s->md;

	if (cmd->has_msg) {
		if (!msg_index(s, cmd->msg, &i))
			return;
		if (uidl)
			line_session_reply(&s->ls, "+OK %zu %s", i + 1, maildrop_uidl(md, i));
		else
			line_session_reply(&s->ls, "+OK %zu %" PRIu64, i + 1, md->msgs[i].size);
		return;
	}
	if (uidl)
		line_session_reply(&s->ls, "+OK Unique-ID listing follows");
	else
		line_session_reply(&s->ls, "+OK %zu messages (%" PRIu64 " octets)", md->n - md->ndeleted,
		    md->total_size - md->deleted_size);
	start_out(s, uidl ? OUT_UIDL : OUT_LIST);
}

static void
retr(struct pop3_session *s, const struct pop3_cmd *cmd, bool top)
{
	size_t i;

	if (!msg_index(s, cmd->msg, &i))
		return;
	int fd = maildrop_open_msg(s->md, i);
	if (fd < 0) {
		if (errno == ENOENT) {
			line_session_reply(&s->ls, "-ERR Message %zu was removed by another program", i + 1);
		} else {
			ev_err("mailbox-error", KS("user", s->login), KS("client", s->ip),
			    KS("what", "open-message"), KN("msg", i + 1), KS("error", strerror(errno)));
			line_session_reply(&s->ls, "-ERR [SYS/TEMP] Cannot read message %zu", i + 1);
		}
		return;
	}
	if (top) {
		line_session_reply(&s->ls, "+OK Top of message follows");
	} else {
		line_session_reply(&s->ls, "+OK %" PRIu64 " octets", s->md->msgs[i].size);
		s->retrieved++;
	}
	s->out.fd = fd;
	s->out.msg = i;
	pop3_xfer_init(&s->out.xfer, top, cmd->lines);
	start_out(s, OUT_FILE);
}

void
trans_stat(struct pop3_session *s, const struct pop3_cmd *cmd)
{
	const struct maildrop *md = s->md;

	line_session_reply(&s->ls, "+OK %zu %" PRIu64, md->n - md->ndeleted, md->total_size - md->deleted_size);
}

void
trans_list(struct pop3_session *s, const struct pop3_cmd *cmd)
{
	list(s, cmd, false);
}

void
trans_uidl(struct pop3_session *s, const struct pop3_cmd *cmd)
{
	list(s, cmd, true);
}

void
trans_retr(struct pop3_session *s, const struct pop3_cmd *cmd)
{
	retr(s, cmd, false);
}

void
trans_top(struct pop3_session *s, const struct pop3_cmd *cmd)
{
	retr(s, cmd, true);
}

void
trans_dele(struct pop3_session *s, const struct pop3_cmd *cmd)
{
	size_t i;

	if (!msg_index(s, cmd->msg, &i))
		return;
	maildrop_dele(s->md, i);
	line_session_reply(&s->ls, "+OK Message %zu deleted", i + 1);
}

void
trans_noop(struct pop3_session *s, const struct pop3_cmd *cmd)
{
	line_session_reply(&s->ls, "+OK");
}

void
trans_rset(struct pop3_session *s, const struct pop3_cmd *cmd)
{
	maildrop_rset(s->md);
	line_session_reply(&s->ls, "+OK %zu messages (%" PRIu64 " octets)", s->md->n, s->md->total_size);
}

/* trans_quit - the UPDATE state: the deletions happen now, and only now. */
void
trans_quit(struct pop3_session *s, const struct pop3_cmd *cmd)
{
	struct maildrop *md = s->md;
	size_t ndel = md->ndeleted;
	size_t failed = ndel > 0 ? maildrop_commit(md) : 0;

	if (failed > 0) {
		ev_err("mailbox-error", KS("user", s->login), KS("client", s->ip), KS("what", "remove"),
		    KN("failed", failed), KN("deleted", ndel));
		line_session_reply(&s->ls, "-ERR [SYS/TEMP] Some deleted messages were not removed");
	} else {
		line_session_reply(&s->ls, "+OK Bye, %zu messages deleted, %zu left", ndel, md->n - ndel);
	}
	s->deleted = (unsigned)(ndel - failed);
	ev_info("update", KS("user", s->login), KS("client", s->ip), KN("deleted", ndel - failed),
	    KN("left", md->n - ndel + failed));
	line_session_close_after_flush(&s->ls, "quit");
}
