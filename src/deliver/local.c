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
#include "deliver/maildir.h"
#include "queue/commit.h"
#include "queue/queued.h"
#include "util/buf.h"
#include "util/log.h"

struct local_file {
	struct qmsg *m;
	size_t idx;
	char *tmp; /* tmp/<name> */
	char *dst; /* new/<name> */
};

struct local_batch {
	struct queued *q;
	struct local_file *files;
	size_t nfiles, cap;
	struct qmsg **msgs;
	size_t nmsgs;
};

static void
batch_free(struct local_batch *b)
{
	for (size_t i = 0; i < b->nfiles; i++) {
		free(b->files[i].tmp);
		free(b->files[i].dst);
	}
	free(b->files);
	free(b->msgs);
	free(b);
}

static int
batch_add(struct local_batch *b, struct qmsg *m, size_t idx, const char *tmp, const char *dst)
{
	if (b->nfiles == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16;
		struct local_file *f = realloc(b->files, cap * sizeof *f);
		if (f == NULL)
			return -1;
		b->files = f;
		b->cap = cap;
	}
	struct local_file *f = &b->files[b->nfiles];
	f->m = m;
	f->idx = idx;
	f->tmp = strdup(tmp);
	f->dst = strdup(dst);
	if (f->tmp == NULL || f->dst == NULL) {
		free(f->tmp);
		free(f->dst);
		return -1;
	}
	b->nfiles++;
	return 0;
}

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

static uint64_t
count_lines(const char *p, size_t n)
{
	uint64_t lines = 0;
	const char *end = p + n;
	while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		lines++;
		p++;
	}
	return lines;
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

static int
write_all(int fd, const struct iovec *iov, int n)
{
	struct iovec v[4];
	memcpy(v, iov, (size_t)n * sizeof *v);
	struct iovec *p = v;
	while (n > 0) {
		ssize_t w = writev(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		while (n > 0 && (size_t)w >= p->iov_len) {
			w -= (ssize_t)p->iov_len;
			p++;
			n--;
		}
		if (n > 0) {
			p->iov_base = (char *)p->iov_base + w;
			p->iov_len -= (size_t)w;
		}
	}
	return 0;
}

/*
 * write_rcpt - write recipient idx of m into its Maildir's tmp/. Returns 1 when a
 * file was written (and added to the batch), 0 when the result is already
 * recorded (delivered before a crash, or failed).
 */
static int
write_rcpt(struct local_batch *b, struct qmsg *m, size_t idx, const struct buf *body,
    uint64_t body_lines)
{
	struct queued *q = b->q;
	struct spool_rcpt *r = &m->env.rcpts[idx];
	char dir[4096], name[1024], tmp[8192], dst[8192], text[512];
	struct buf hdr = { 0 };

	int64_t quota = accounts_user_quota(q->acct, r->addr);
	if (quota < 0) {
		queued_rcpt_result(q, m, idx, 550, "local",
		    "550 5.1.1 mailbox unavailable: no such user here");
		return 0;
	}
	if (maildir_path(q->mail_dir, r->addr, dir, sizeof dir) < 0 || maildir_create(dir) < 0) {
		snprintf(text, sizeof text, "451 4.3.0 cannot create mailbox: %s", strerror(errno));
		queued_rcpt_result(q, m, idx, 451, "local", text);
		return 0;
	}
	buf_printf(&hdr, "Return-Path: <%s>\nDelivered-To: %s\n", m->env.sender, r->addr);
	uint64_t size = hdr.len + body->len, vsize = size + body_lines + 2;
	if (quota > 0 && maildir_usage(dir) + size > (uint64_t)quota) {
		buf_free(&hdr);
		queued_rcpt_result(q, m, idx, 452, "local", "452 4.2.2 mailbox full");
		return 0;
	}
	maildir_name(name, sizeof name, m->env.arrival, m->id, idx, q->cfg->hostname, size, vsize);
	if (m->recovering && maildir_has(dir, name)) {
		buf_free(&hdr);
		queued_rcpt_result(q, m, idx, 250, "local", "250 already in the mailbox (recovered)");
		return 0;
	}
	snprintf(tmp, sizeof tmp, "%s/tmp/%s", dir, name);
	snprintf(dst, sizeof dst, "%s/new/%s", dir, name);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	struct iovec iov[2] = { { hdr.data, hdr.len }, { body->data, body->len } };
	if (fd < 0 || write_all(fd, iov, 2) < 0 || close(fd) < 0) {
		int e = errno;
		if (fd >= 0)
			unlink(tmp);
		snprintf(text, sizeof text, "451 4.3.0 cannot write mailbox: %s", strerror(e));
		buf_free(&hdr);
		queued_rcpt_result(q, m, idx, 451, "local", text);
		return 0;
	}
	buf_free(&hdr);
	if (batch_add(b, m, idx, tmp, dst) < 0) {
		unlink(tmp);
		queued_rcpt_result(q, m, idx, 451, "local", "451 4.3.0 out of memory");
		return 0;
	}
	return 1;
}

/* part_done - this message's local part of the round is over. */
static void
part_done(struct queued *q, struct qmsg *m)
{
	if (--m->parts == 0)
		queued_settle(q, m);
}

static void
on_renames_synced(void *arg, int error)
{
	struct local_batch *b = arg;

	for (size_t i = 0; i < b->nfiles; i++) {
		struct local_file *f = &b->files[i];
		if (error == 0) {
			queued_rcpt_result(b->q, f->m, f->idx, 250, "local", "250 delivered to maildir");
		} else {
			/* The file may or may not be in new/: the retry finds it if it is. */
			f->m->recovering = true;
			queued_rcpt_result(b->q, f->m, f->idx, 451, "local", "451 4.3.0 sync failed");
		}
	}
	for (size_t i = 0; i < b->nmsgs; i++)
		part_done(b->q, b->msgs[i]);
	batch_free(b);
}

static void
on_files_synced(void *arg, int error)
{
	struct local_batch *b = arg;

	for (size_t i = 0; i < b->nfiles; i++) {
		struct local_file *f = &b->files[i];
		if (error == 0 && rename(f->tmp, f->dst) == 0)
			continue;
		char text[256];
		snprintf(text, sizeof text, "451 4.3.0 cannot deliver into mailbox: %s",
		    strerror(error ? error : errno));
		unlink(f->tmp);
		queued_rcpt_result(b->q, f->m, f->idx, 451, "local", text);
		/* Drop it from the batch: it is not in new/. */
		free(f->tmp);
		free(f->dst);
		b->files[i--] = b->files[--b->nfiles];
	}
	if (committer_submit(b->q->committer, on_renames_synced, b) < 0)
		on_renames_synced(b, ENOMEM);
}

void
local_deliver(struct queued *q, struct qmsg **msgs, size_t n)
{
	struct local_batch *b = calloc(1, sizeof *b);
	time_t now = time(NULL);
	struct buf body = { 0 };

	if (b == NULL || (b->msgs = calloc(n, sizeof *b->msgs)) == NULL) {
		free(b);
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
	b->q = q;
	for (size_t i = 0; i < n; i++) {
		struct qmsg *m = msgs[i];
		b->msgs[b->nmsgs++] = m;
		buf_reset(&body);
		bool have_body = read_body(q, m, &body) == 0;
		uint64_t lines = have_body ? count_lines(body.data, body.len) : 0;
		for (size_t j = 0; j < m->env.nrcpts; j++) {
			struct spool_rcpt *r = &m->env.rcpts[j];
			if (r->kind != TARGET_LOCAL || r->status != RCPT_PENDING || r->next_try > now)
				continue;
			if (!have_body) {
				queued_rcpt_result(q, m, j, 451, "local", "451 4.3.0 cannot read queue file");
				continue;
			}
			write_rcpt(b, m, j, &body, lines);
		}
	}
	buf_free(&body);
	if (b->nfiles == 0) {
		on_renames_synced(b, 0);
		return;
	}
	if (committer_submit(q->committer, on_files_synced, b) < 0)
		on_files_synced(b, ENOMEM);
}
