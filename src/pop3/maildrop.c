/*
 * maildrop.c - the Maildir behind a POP3 session. The lock is flock() on a file
 * of its own, so a crashed process cannot leave it behind, and a dot lock that
 * other hosts sharing the mail tree see (store/dotlock.h); the snapshot lists
 * cur/ once, after moving new/ there, and never stats a file whose name carries
 * its POP3 size (",W="). Files are found by name, and found again by base name
 * when another program (Dovecot setting a flag) renamed them meanwhile.
 */
#include "pop3/maildrop.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "store/maildir.h"
#include "pop3/pop3_xfer.h"
#include "util/strmap.h"

#define READ_CHUNK 65536

static size_t
base_len(const char *name)
{
	const char *colon = strchr(name, ':');
	return colon ? (size_t)(colon - name) : strlen(name);
}

void
maildrop_uidl_for(const char *name, char *out, size_t outlen)
{
	size_t len = base_len(name);
	bool ok = len >= 1 && len <= MAILDROP_UIDL_MAX && len < outlen;

	for (size_t i = 0; ok && i < len; i++)
		ok = (unsigned char)name[i] >= 0x21 && (unsigned char)name[i] <= 0x7e;
	if (ok) {
		memcpy(out, name, len);
		out[len] = '\0';
		return;
	}
	/* 'H' + 64 hex digits: 65 octets, and no mailroom name starts with a letter. */
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	static const char hex[] = "0123456789abcdef";
	if (EVP_Digest(name, len, md, &mdlen, EVP_sha256(), NULL) != 1)
		mdlen = 0;
	size_t o = 0;
	if (o + 1 < outlen)
		out[o++] = 'H';
	for (unsigned i = 0; i < mdlen && o + 2 < outlen; i++) {
		out[o++] = hex[md[i] >> 4];
		out[o++] = hex[md[i] & 15];
	}
	out[o] = '\0';
}

const char *
maildrop_name(const struct maildrop *md, size_t i)
{
	return md->names.data + md->msgs[i].name;
}

const char *
maildrop_uidl(const struct maildrop *md, size_t i)
{
	return md->names.data + md->msgs[i].uidl;
}

/* pool_add - s (with its NUL) into the name pool; its offset, or -1. */
static int
pool_add(struct maildrop *md, const char *s, size_t len, size_t *off)
{
	*off = md->names.len;
	if (buf_append(&md->names, s, len) < 0 || buf_putc(&md->names, '\0') < 0)
		return -1;
	return 0;
}

static int
set_err(char *err, size_t errlen, const char *what, int e)
{
	snprintf(err, errlen, "%s: %s", what, strerror(e));
	return -1;
}

/* wire_size_of - read the file once for the size POP3 reports. */
static int
wire_size_of(int dirfd, const char *name, uint64_t *size)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	char *chunk = malloc(READ_CHUNK);
	if (chunk == NULL) {
		close(fd);
		return -1;
	}
	uint64_t n = 0;
	bool cr = false;
	ssize_t r;
	while ((r = read(fd, chunk, READ_CHUNK)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		n += pop3_wire_size(chunk, (size_t)r, &cr);
	}
	int e = errno;
	free(chunk);
	close(fd);
	if (r < 0) {
		errno = e;
		return -1;
	}
	*size = n;
	return 0;
}

/* move_new - rename new/<name> to cur/<name>:2, (what Dovecot does on seeing new mail). */
static int
move_new(struct maildrop *md, char *err, size_t errlen)
{
	char path[4096], target[1024];

	snprintf(path, sizeof path, "%s/new", md->path);
	DIR *d = opendir(path);
	if (d == NULL)
		return set_err(err, errlen, "cannot read new/", errno);
	int nfd = dirfd(d);
	struct dirent *de;
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || de->d_type == DT_DIR)
			continue;
		/* A name with flags already (rare in new/) keeps them. */
		const char *colon = strchr(de->d_name, ':');
		int n = colon ? snprintf(target, sizeof target, "%s", de->d_name)
		              : snprintf(target, sizeof target, "%s:2,", de->d_name);
		if (n < 0 || (size_t)n >= sizeof target)
			continue;
		/* ENOENT: another reader moved it first; the scan of cur/ finds it. */
		if (renameat(nfd, de->d_name, md->cur_fd, target) < 0 && errno != ENOENT) {
			int e = errno;
			closedir(d);
			return set_err(err, errlen, "cannot move a message from new/ to cur/", e);
		}
	}
	int e = errno;
	closedir(d);
	return e ? set_err(err, errlen, "cannot read new/", e) : 0;
}

static uint64_t
name_stamp(const char *name)
{
	uint64_t v = 0;
	for (const char *p = name; *p >= '0' && *p <= '9'; p++)
		if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, *p - '0', &v))
			return UINT64_MAX;
	return v;
}

static int
add_msg(struct maildrop *md, const char *name, size_t *cap)
{
	uint64_t size, vsize;
	char uidl[MAILDROP_UIDL_MAX + 1];

	maildir_parse_sizes(name, &size, &vsize);
	if (vsize == 0 && wire_size_of(md->cur_fd, name, &vsize) < 0)
		return errno == ENOENT ? 0 : -1; /* gone since readdir: not in the snapshot */
	if (md->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		struct maildrop_msg *v = reallocarray(md->msgs, ncap, sizeof *v);
		if (v == NULL)
			return -1;
		md->msgs = v;
		*cap = ncap;
	}
	struct maildrop_msg *m = &md->msgs[md->n];
	memset(m, 0, sizeof *m);
	maildrop_uidl_for(name, uidl, sizeof uidl);
	if (pool_add(md, name, strlen(name), &m->name) < 0 ||
	    pool_add(md, uidl, strlen(uidl), &m->uidl) < 0)
		return -1;
	m->size = vsize;
	m->stamp = name_stamp(name);
	md->total_size += vsize;
	md->n++;
	return 0;
}

static int
scan_cur(struct maildrop *md, char *err, size_t errlen)
{
	int fd = dup(md->cur_fd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	size_t cap = 0;

	if (d == NULL) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return set_err(err, errlen, "cannot read cur/", e);
	}
	struct dirent *de;
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || de->d_type == DT_DIR)
			continue;
		if (add_msg(md, de->d_name, &cap) < 0) {
			int e = errno;
			closedir(d);
			return set_err(err, errlen, "cannot list cur/", e);
		}
	}
	int e = errno;
	closedir(d);
	return e ? set_err(err, errlen, "cannot read cur/", e) : 0;
}

static int
cmp_msg(const void *a, const void *b, void *arg)
{
	const struct maildrop_msg *x = a, *y = b;
	const struct maildrop *md = arg;

	if (x->stamp != y->stamp)
		return x->stamp < y->stamp ? -1 : 1;
	return strcmp(md->names.data + x->name, md->names.data + y->name);
}

enum maildrop_status
maildrop_open(struct maildrop *md, const char *path, time_t stale_after, char *err,
    size_t errlen)
{
	char p[4096];

	memset(md, 0, sizeof *md);
	md->lock_fd = md->cur_fd = -1;
	if ((md->path = strdup(path)) == NULL) {
		set_err(err, errlen, "cannot open the mailbox", errno);
		return MAILDROP_ERROR;
	}
	if (maildir_create(path) < 0) {
		set_err(err, errlen, "cannot create the mailbox", errno);
		goto fail;
	}
	snprintf(p, sizeof p, "%s/" MAILDROP_LOCK_NAME, path);
	md->lock_fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0660);
	if (md->lock_fd < 0) {
		set_err(err, errlen, "cannot open the lock file", errno);
		goto fail;
	}
	/* Per open file, not per process: two sessions of this process exclude each other. */
	if (flock(md->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK) {
			maildrop_close(md);
			return MAILDROP_IN_USE;
		}
		set_err(err, errlen, "cannot lock the mailbox", errno);
		goto fail;
	}
	/* flock() holds on this host; a session of another host sharing mail/ sees the file. */
	snprintf(p, sizeof p, "%s/" MAILDROP_DOTLOCK_NAME, path);
	switch (dotlock_take(&md->dot, p, stale_after)) {
	case DOTLOCK_OK:
		break;
	case DOTLOCK_HELD:
		maildrop_close(md);
		return MAILDROP_IN_USE;
	case DOTLOCK_ERROR:
		set_err(err, errlen, "cannot make the lock file", errno);
		goto fail;
	}
	snprintf(p, sizeof p, "%s/cur", path);
	md->cur_fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (md->cur_fd < 0) {
		set_err(err, errlen, "cannot open cur/", errno);
		goto fail;
	}
	if (move_new(md, err, errlen) < 0 || scan_cur(md, err, errlen) < 0)
		goto fail;
	if (md->n > 1)
		qsort_r(md->msgs, md->n, sizeof *md->msgs, cmp_msg, md);
	return MAILDROP_OK;
fail:
	maildrop_close(md);
	return MAILDROP_ERROR;
}

void
maildrop_touch(struct maildrop *md)
{
	dotlock_touch(&md->dot, MAILDROP_TOUCH_INTERVAL);
}

void
maildrop_close(struct maildrop *md)
{
	if (md->cur_fd >= 0)
		close(md->cur_fd);
	dotlock_release(&md->dot);
	if (md->lock_fd >= 0)
		close(md->lock_fd); /* releases the flock */
	free(md->msgs);
	buf_free(&md->names);
	free(md->path);
	memset(md, 0, sizeof *md);
	md->lock_fd = md->cur_fd = -1;
}

/*
 * refresh - read cur/ again and point each message whose file was renamed
 * (same base name, other flags) at its new name. Returns 0 or -1.
 */
static int
refresh(struct maildrop *md)
{
	struct strmap bybase = { 0 };
	char base[1024];
	int rc = -1;

	for (size_t i = 0; i < md->n; i++) {
		const char *name = maildrop_name(md, i);
		size_t bl = base_len(name);
		if (bl >= sizeof base)
			continue;
		memcpy(base, name, bl);
		base[bl] = '\0';
		if (strmap_put(&bybase, base, (void *)(i + 1)) < 0)
			goto out;
	}
	int fd = dup(md->cur_fd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		goto out;
	}
	rewinddir(d);
	struct dirent *de;
	rc = 0;
	while ((de = readdir(d)) != NULL) {
		size_t bl = base_len(de->d_name);
		if (de->d_name[0] == '.' || bl >= sizeof base)
			continue;
		memcpy(base, de->d_name, bl);
		base[bl] = '\0';
		uintptr_t idx = (uintptr_t)strmap_get(&bybase, base);
		if (idx == 0 || strcmp(maildrop_name(md, idx - 1), de->d_name) == 0)
			continue;
		size_t off;
		if (pool_add(md, de->d_name, strlen(de->d_name), &off) < 0) {
			rc = -1;
			break;
		}
		md->msgs[idx - 1].name = off;
	}
	closedir(d);
out:
	strmap_free(&bybase);
	return rc;
}

int
maildrop_open_msg(struct maildrop *md, size_t i)
{
	int fd = openat(md->cur_fd, maildrop_name(md, i), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd >= 0 || errno != ENOENT)
		return fd;
	if (refresh(md) < 0) {
		errno = ENOENT;
		return -1;
	}
	return openat(md->cur_fd, maildrop_name(md, i), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
}

void
maildrop_dele(struct maildrop *md, size_t i)
{
	if (md->msgs[i].deleted)
		return;
	md->msgs[i].deleted = true;
	md->ndeleted++;
	md->deleted_size += md->msgs[i].size;
}

void
maildrop_rset(struct maildrop *md)
{
	for (size_t i = 0; i < md->n; i++)
		md->msgs[i].deleted = false;
	md->ndeleted = 0;
	md->deleted_size = 0;
}

size_t
maildrop_commit(struct maildrop *md)
{
	size_t failed = 0, missing = 0;

	for (size_t i = 0; i < md->n; i++) {
		struct maildrop_msg *m = &md->msgs[i];
		if (!m->deleted)
			continue;
		if (unlinkat(md->cur_fd, maildrop_name(md, i), 0) == 0)
			m->removed = true;
		else if (errno == ENOENT)
			missing++;
		else
			failed++;
	}
	/* Renamed meanwhile? Find the new names once, and try those. */
	if (missing > 0 && refresh(md) == 0) {
		for (size_t i = 0; i < md->n; i++) {
			struct maildrop_msg *m = &md->msgs[i];
			if (!m->deleted || m->removed)
				continue;
			if (unlinkat(md->cur_fd, maildrop_name(md, i), 0) == 0 || errno == ENOENT)
				m->removed = true;
			else
				failed++;
		}
	}
	if (md->ndeleted > 0)
		fsync(md->cur_fd);
	return failed;
}
