/*
 * maildir_batch.c - what to write gathered on the loop; on the commit thread,
 * unnamed files (or tmp/ files) made and written, flushed, linked into new/, new/
 * flushed: for many files at once.
 */
#include "store/maildir_batch.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/maildir.h"
#include "store/commit.h"
#include "util/fdio.h"

struct md_batch *
md_batch_new(void)
{
	return calloc(1, sizeof(struct md_batch));
}

static int
write_iov(int fd, const struct iovec *iov, int n)
{
	struct iovec v[8];
	if (n > 8)
		return errno = EINVAL, -1;
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

/* open_newdir - <maildir>/new, creating the Maildir when missing. */
static int
open_newdir(const char *maildir)
{
	char path[4096];

	snprintf(path, sizeof path, "%s/new", maildir);
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && maildir_create(maildir) == 0)
		fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd;
}

/* dir_index - the batch's entry for <maildir>/new: each mailbox once per batch. */
static long
dir_index(struct md_batch *b, const char *maildir)
{
	for (size_t i = 0; i < b->ndirs; i++)
		if (strcmp(b->dirpaths[i], maildir) == 0)
			return (long)i;
	int fd = open_newdir(maildir);
	if (fd < 0)
		return -1;
	int *fds = realloc(b->dirfds, (b->ndirs + 1) * sizeof *fds);
	if (fds)
		b->dirfds = fds;
	char **paths = fds ? realloc(b->dirpaths, (b->ndirs + 1) * sizeof *paths) : NULL;
	if (paths)
		b->dirpaths = paths;
	char *copy = paths ? strdup(maildir) : NULL;
	if (copy == NULL) {
		close(fd);
		return errno = ENOMEM, -1;
	}
	b->dirfds[b->ndirs] = fd;
	b->dirpaths[b->ndirs] = copy;
	return (long)b->ndirs++;
}

int
md_batch_add(struct md_batch *b, const char *maildir, const char *name, struct buf *head,
    const struct iovec *mem, int nmem, int src, uint64_t srcoff,
    uint64_t srclen, void *owner, size_t idx)
{
	if (nmem < 0 || nmem > MD_MEM_MAX)
		return errno = EINVAL, -1;
	if (b->nfiles == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16;
		struct md_file *f = realloc(b->files, cap * sizeof *f);
		if (f == NULL)
			return -1;
		b->files = f;
		b->cap = cap;
	}
	long d = dir_index(b, maildir);
	if (d < 0)
		return -1;
	struct md_file *f = &b->files[b->nfiles];
	memset(f, 0, sizeof *f);
	f->fd = f->src = -1;
	if ((f->name = strdup(name)) == NULL ||
	    (src >= 0 && (f->src = fcntl(src, F_DUPFD_CLOEXEC, 0)) < 0)) {
		int e = errno ? errno : ENOMEM;
		free(f->name);
		return errno = e, -1;
	}
	f->head = *head; /* taken, not copied */
	*head = (struct buf){ 0 };
	if (nmem > 0)
		memcpy(f->mem, mem, (size_t)nmem * sizeof *mem);
	f->nmem = nmem;
	f->srcoff = srcoff;
	f->srclen = srclen;
	f->dir = (size_t)d;
	f->owner = owner;
	f->idx = idx;
	b->nfiles++;
	return 0;
}

/* make_file - on the commit thread: the file, written; its fd, or -1 with errno set. */
static int
make_file(struct md_batch *b, struct md_file *f)
{
	char tmp[4096];

	/* An unnamed file in new/ becomes visible only when linked, after its flush. */
	int fd = openat(b->dirfds[f->dir], ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0660);
	if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
		if (snprintf(tmp, sizeof tmp, "%s/tmp/%s", b->dirpaths[f->dir], f->name) >=
		    (int)sizeof tmp)
			return errno = ENAMETOOLONG, -1;
		fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0660);
		if (fd >= 0 && (f->tmp = strdup(tmp)) == NULL) {
			close(fd);
			unlink(tmp);
			return errno = ENOMEM, -1;
		}
	}
	if (fd < 0)
		return -1;
	struct iovec v[1 + MD_MEM_MAX];
	v[0] = (struct iovec){ f->head.data, f->head.len };
	memcpy(v + 1, f->mem, (size_t)f->nmem * sizeof *v);
	if (write_iov(fd, v, 1 + f->nmem) < 0 ||
	    (f->src >= 0 && fd_copy(f->src, f->srcoff, f->srclen, fd) < 0)) {
		int e = errno ? errno : EIO;
		close(fd);
		if (f->tmp)
			unlink(f->tmp);
		free(f->tmp);
		f->tmp = NULL;
		return errno = e, -1;
	}
	return fd;
}

/* unmake - a file made but not to be delivered: closed, and out of tmp/. */
static void
unmake(struct md_file *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	if (f->tmp)
		unlink(f->tmp);
	f->failed = true;
}

/* make_all - on the commit thread, before the flush: every file of the batch. */
static int
make_all(void *arg, int *fds)
{
	struct md_batch *b = arg;
	int error = 0;

	for (size_t i = 0; i < b->nfiles; i++) {
		struct md_file *f = &b->files[i];
		f->fd = make_file(b, f);
		if (f->fd < 0) {
			f->error = errno ? errno : EIO;
			f->failed = true;
			if (error == 0)
				error = f->error;
		}
		if (f->src >= 0)
			close(f->src);
		f->src = -1;
		fds[i] = f->fd;
	}
	if (error == 0 || !b->all_or_none)
		return 0;
	for (size_t i = 0; i < b->nfiles; i++) {
		unmake(&b->files[i]);
		fds[i] = -1;
	}
	b->unwritten = true;
	return error;
}

/* publish - put a flushed file into new/ under its name. */
static int
publish(struct md_batch *b, struct md_file *f)
{
	int dfd = b->dirfds[f->dir];

	if (f->tmp != NULL) {
		if (renameat(AT_FDCWD, f->tmp, dfd, f->name) < 0) {
			unlink(f->tmp);
			return -1;
		}
		return 0;
	}
	char proc[64];
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", f->fd);
	return linkat(AT_FDCWD, proc, dfd, f->name, AT_SYMLINK_FOLLOW);
}

/* publish_all - on the commit thread, between the files' flush and the directories'. */
static void
publish_all(void *arg)
{
	struct md_batch *b = arg;

	for (size_t i = 0; i < b->nfiles; i++)
		if (!b->files[i].failed && publish(b, &b->files[i]) < 0)
			b->files[i].failed = true;
	b->published = true;
}

static void
on_committed(void *arg, int error)
{
	struct md_batch *b = arg;

	if (error) {
		/* Not published when the files' flush failed: nothing may reach new/. */
		for (size_t i = 0; i < b->nfiles; i++) {
			if (!b->published && b->files[i].tmp && b->files[i].fd >= 0)
				unlink(b->files[i].tmp);
			b->files[i].failed = true;
		}
	}
	b->done(b, error, b->arg);
}

void
md_batch_commit(struct md_batch *b, struct committer *c, md_done_fn done, void *arg)
{
	b->committer = c;
	b->done = done;
	b->arg = arg;
	if (b->nfiles == 0) {
		done(b, 0, arg);
		return;
	}
	if (committer_submit_made(c, b->nfiles, make_all, publish_all, b->dirfds, b->ndirs,
	    on_committed, b) < 0)
		on_committed(b, ENOMEM);
}

void
md_batch_free(struct md_batch *b)
{
	if (b == NULL)
		return;
	for (size_t i = 0; i < b->nfiles; i++) {
		struct md_file *f = &b->files[i];
		if (f->fd >= 0)
			close(f->fd);
		if (f->src >= 0)
			close(f->src);
		free(f->tmp);
		free(f->name);
		buf_free(&f->head);
	}
	for (size_t i = 0; i < b->ndirs; i++) {
		close(b->dirfds[i]);
		free(b->dirpaths[i]);
	}
	free(b->files);
	free(b->dirfds);
	free(b->dirpaths);
	free(b);
}
