/*
 * local.c - delivery into local Maildirs. A batch of messages is written to the
 * mailboxes' tmp/ directories, made durable by one shared sync, renamed into new/,
 * and synced once more before any recipient counts as delivered (docs/spool.md).
 */
#include "deliver/local.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "accounts.h"
#include "store/maildir.h"
#include "store/maildir_batch.h"
#include "store/commit.h"
#include "queue/queued.h"
#include "util/buf.h"
#include "util/log.h"
#include "store/wire.h"

/* read_body - the message text of m from its queue file. */
static int
read_body(struct queued *q, struct qmsg *m, struct buf *body)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/msg/%s", q->queue_dir, m->id);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (buf_reserve(body, m->env.body_size) < 0) {
		close(fd);
		return -1;
	}
	uint64_t got = 0;
	while (got < m->env.body_size) {
		ssize_t n = pread(fd, body->data + got, m->env.body_size - got,
		    (off_t)(m->env.body_offset + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (uint64_t)n;
	}
	close(fd);
	if (got != m->env.body_size) {
		errno = EIO;
		return -1;
	}
	body->len = got;
	body->data[got] = '\0';
	return 0;
}

/* maildir_usage - octets in new/ and cur/, from the S= of the file names. */
static uint64_t
maildir_usage(const char *path)
{
	static const char *const sub[] = { "new", "cur" };
	uint64_t total = 0;
	char p[4096];

	for (int i = 0; i < 2; i++) {
		snprintf(p, sizeof p, "%s/%s", path, sub[i]);
		DIR *d = opendir(p);
		if (d == NULL)
			continue;
		struct dirent *de;
		while ((de = readdir(d)) != NULL) {
			uint64_t s, w;
			if (de->d_name[0] == '.')
				continue;
			maildir_parse_sizes(de->d_name, &s, &w);
			if (s == 0) {
				struct stat st;
				char f[4096];
				snprintf(f, sizeof f, "%s/%s", p, de->d_name);
				if (stat(f, &st) == 0)
					s = (uint64_t)st.st_size;
			}
			total += s;
		}
		closedir(d);
	}
	return total;
}

/*
 * write_rcpt - write recipient idx of m into its Maildir's tmp/ as part of batch b,
 * or record its result at once (delivered before a crash, no such user, full, error).
 */
static void
write_rcpt(struct queued *q, struct md_batch *b, struct qmsg *m, size_t idx,
    const struct buf *body, uint64_t body_lines)
{
	struct spool_rcpt *r = &m->env.rcpts[idx];
	char dir[4096], name[1024], text[512];
	struct buf hdr = { 0 };

	uint64_t quota;
	int found = accounts_user_quota(q->acct, r->addr, &quota);
	if (found < 0) {
		/* The database is busy or broken for now: never a reason to bounce. */
		queued_rcpt_result(q, m, idx, 451, "local",
		    "451 4.3.0 temporary failure looking up the mailbox");
		return;
	}
	if (found == 0) {
		queued_rcpt_result(q, m, idx, 550, "local",
		    "550 5.1.1 mailbox unavailable: no such user here");
		return;
	}
	if (maildir_path(q->mail_dir, r->addr, dir, sizeof dir) < 0) {
		queued_rcpt_result(q, m, idx, 550, "local", "550 5.1.1 mailbox name not usable");
		return;
	}
	if (maildir_trace_headers(&hdr, m->env.sender, r->addr) < 0) {
		queued_rcpt_result(q, m, idx, 451, "local", "451 4.3.0 out of memory");
		return;
	}
	uint64_t size = hdr.len + body->len, vsize = size + body_lines + 2;
	if (quota > 0 && maildir_usage(dir) + size > quota) {
		buf_free(&hdr);
		queued_rcpt_result(q, m, idx, 452, "local", "452 4.2.2 mailbox full");
		return;
	}
	maildir_name(name, sizeof name, m->env.arrival, m->id, idx, q->cfg->hostname, size, vsize);
	if (m->recovering && maildir_has(dir, name)) {
		buf_free(&hdr);
		queued_rcpt_result(q, m, idx, 250, "local", "250 already in the mailbox (recovered)");
		return;
	}
	struct iovec iov[2] = { { hdr.data, hdr.len }, { body->data, body->len } };
	if (md_batch_add(b, dir, name, iov, 2, -1, 0, m, idx) < 0) {
		snprintf(text, sizeof text, "451 4.3.0 cannot write mailbox: %s", strerror(errno));
		queued_rcpt_result(q, m, idx, 451, "local", text);
	}
	buf_free(&hdr);
}

/* part_done - this message's local part of the round is over. */
static void
part_done(struct queued *q, struct qmsg *m)
{
	if (--m->parts == 0)
		queued_settle(q, m);
}

struct local_round {
	struct queued *q;
	struct qmsg **msgs;
	size_t n;
};

static void
on_committed(struct md_batch *b, int error, void *arg)
{
	struct local_round *lr = arg;

	for (size_t i = 0; i < b->nfiles; i++) {
		struct md_file *f = &b->files[i];
		struct qmsg *m = f->owner;
		if (!f->failed) {
			queued_rcpt_result(lr->q, m, f->idx, 250, "local", "250 delivered to maildir");
		} else {
			/* It may be in new/ all the same: the retry looks before it writes. */
			m->recovering = true;
			queued_rcpt_result(lr->q, m, f->idx, 451, "local",
			    "451 4.3.0 cannot make the mailbox file durable");
		}
	}
	md_batch_free(b);
	for (size_t i = 0; i < lr->n; i++)
		part_done(lr->q, lr->msgs[i]);
	free(lr->msgs);
	free(lr);
}

void
local_deliver(struct queued *q, struct qmsg **msgs, size_t n)
{
	struct md_batch *b = md_batch_new();
	struct local_round *lr = calloc(1, sizeof *lr);
	time_t now = time(NULL);
	struct buf body = { 0 };

	if (lr)
		lr->msgs = calloc(n, sizeof *lr->msgs);
	if (b == NULL || lr == NULL || lr->msgs == NULL) {
		free(b);
		if (lr)
			free(lr->msgs);
		free(lr);
		for (size_t i = 0; i < n; i++) {
			for (size_t j = 0; j < msgs[i]->env.nrcpts; j++) {
				struct spool_rcpt *r = &msgs[i]->env.rcpts[j];
				if (r->kind == TARGET_LOCAL && r->status == RCPT_PENDING && r->next_try <= now)
					queued_rcpt_result(q, msgs[i], j, 451, "local", "451 4.3.0 out of memory");
			}
			part_done(q, msgs[i]);
		}
		return;
	}
	lr->q = q;
	for (size_t i = 0; i < n; i++) {
		struct qmsg *m = msgs[i];
		lr->msgs[lr->n++] = m;
		buf_reset(&body);
		bool have_body = read_body(q, m, &body) == 0;
		uint64_t lines = have_body ? count_lf(body.data, body.len) : 0;
		for (size_t j = 0; j < m->env.nrcpts; j++) {
			struct spool_rcpt *r = &m->env.rcpts[j];
			if (r->kind != TARGET_LOCAL || r->status != RCPT_PENDING || r->next_try > now)
				continue;
			if (!have_body) {
				queued_rcpt_result(q, m, j, 451, "local", "451 4.3.0 cannot read queue file");
				continue;
			}
			write_rcpt(q, b, m, j, &body, lines);
		}
	}
	buf_free(&body);
	md_batch_commit(b, q->committer, on_committed, lr);
}
