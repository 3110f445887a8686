/* maildir_batch.c - write to tmp/, flush, rename into new/, flush new/: for many files at once. */
#include "deliver/maildir_batch.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deliver/maildir.h"
#include "queue/commit.h"

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

/* dir_index - the batch's entry for <maildir>/new, opened once. */
static long
dir_index(struct md_batch *b, const char *maildir)
{
	for (size_t i = 0; i < b->ndirs; i++)
		if (strcmp(b->dirpaths[i], maildir) == 0)
			return (long)i;
	char path[4096];
	snprintf(path, sizeof path, "%s/new", maildir);
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int *fds = realloc(b->dirfds, (b->ndirs + 1) * sizeof *fds);
	char **paths = fds ? realloc(b->dirpaths, (b->ndirs + 1) * sizeof *paths) : NULL;
	char *copy = paths ? strdup(maildir) : NULL;
	if (fds)
		b->dirfds = fds;
	if (paths)
		b->dirpaths = paths;
	if (copy == NULL) {
		close(fd);
		return errno = ENOMEM, -1;
	}
	b->dirfds[b->ndirs] = fd;
	b->dirpaths[b->ndirs] = copy;
	return (long)b->ndirs++;
}

int
md_batch_add(struct md_batch *b, const char *maildir, const char *name,
    const struct iovec *iov, int iovcnt, void *owner, size_t idx)
{
	char tmp[4096], dst[4096];

	if (snprintf(tmp, sizeof tmp, "%s/tmp/%s", maildir, name) >= (int)sizeof tmp ||
	    snprintf(dst, sizeof dst, "%s/new/%s", maildir, name) >= (int)sizeof dst)
		return errno = ENAMETOOLONG, -1;
	if (b->nfiles == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16;
		struct md_file *f = realloc(b->files, cap * sizeof *f);
		if (f == NULL)
			return -1;
		b->files = f;
		b->cap = cap;
	}
	/* Most deliveries go to an existing mailbox: try first, create when missing. */
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 && errno == ENOENT && maildir_create(maildir) == 0)
		fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	long d = write_iov(fd, iov, iovcnt) < 0 ? -1 : dir_index(b, maildir);
	struct md_file *f = &b->files[b->nfiles];
	if (d < 0 || (f->tmp = strdup(tmp)) == NULL || (f->dst = strdup(dst)) == NULL) {
		int e = errno;
		if (d >= 0)
			free(f->tmp);
		close(fd);
		unlink(tmp);
		return errno = e, -1;
	}
	f->fd = fd;
	f->dir = (size_t)d;
	f->failed = false;
	f->owner = owner;
	f->idx = idx;
	b->nfiles++;
	return 0;
}

static void
fail_all(struct md_batch *b)
{
	for (size_t i = 0; i < b->nfiles; i++)
		b->files[i].failed = true;
}

static void
on_dirs_flushed(void *arg, int error)
{
	struct md_batch *b = arg;
	if (error)
		fail_all(b);
	b->done(b, error, b->arg);
}

static void
on_files_flushed(void *arg, int error)
{
	struct md_batch *b = arg;

	if (error) {
		for (size_t i = 0; i < b->nfiles; i++)
			unlink(b->files[i].tmp);
		fail_all(b);
		b->done(b, error, b->arg);
		return;
	}
	for (size_t i = 0; i < b->nfiles; i++) {
		struct md_file *f = &b->files[i];
		if (rename(f->tmp, f->dst) < 0) {
			unlink(f->tmp);
			f->failed = true;
		}
	}
	if (committer_submit(b->committer, NULL, 0, b->dirfds, b->ndirs, on_dirs_flushed, b) < 0)
		on_dirs_flushed(b, ENOMEM);
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
	int *fds = malloc(b->nfiles * sizeof *fds);
	if (fds == NULL) {
		on_files_flushed(b, ENOMEM);
		return;
	}
	for (size_t i = 0; i < b->nfiles; i++)
		fds[i] = b->files[i].fd;
	int rc = committer_submit(c, fds, b->nfiles, NULL, 0, on_files_flushed, b);
	free(fds);
	if (rc < 0)
		on_files_flushed(b, ENOMEM);
}

void
md_batch_abort(struct md_batch *b)
{
	for (size_t i = 0; b && i < b->nfiles; i++)
		unlink(b->files[i].tmp);
	md_batch_free(b);
}

void
md_batch_free(struct md_batch *b)
{
	if (b == NULL)
		return;
	for (size_t i = 0; i < b->nfiles; i++) {
		close(b->files[i].fd);
		free(b->files[i].tmp);
		free(b->files[i].dst);
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
