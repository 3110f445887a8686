/* spool.c - the queue directory: ids, paths, loading, state files, listing, removal. */
#include "store/spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "store/spool_format.h"
#include "util/buf.h"
#include "util/fdio.h"

#define HEADER_MAX (1024 * 1024) /* an envelope of many recipients, with room */
#define STATE_MAX (4 * 1024 * 1024) /* state lines of as many, with their errors */
#define SPOOL_SIG_MAX (64 * 1024)   /* a few signature fields; a longer file is not ours */

void
spool_new_id(char id[QUEUE_ID_LEN + 1])
{
	struct timeval tv;
	uint16_t rnd = 0;

	gettimeofday(&tv, NULL);
	if (getrandom(&rnd, sizeof rnd, GRND_NONBLOCK) != sizeof rnd)
		rnd = (uint16_t)(getpid() ^ tv.tv_usec);
	/* 8 digits of seconds, 5 of microseconds, 3 random: sorts by arrival. */
	snprintf(id, QUEUE_ID_LEN + 1, "%08" PRIX32 "%05" PRIX32 "%03X",
	    (uint32_t)tv.tv_sec, (uint32_t)tv.tv_usec, rnd & 0xfffu);
}

bool
spool_id_valid(const char *id)
{
	size_t i;

	for (i = 0; id[i]; i++) {
		if (i >= QUEUE_ID_LEN || !((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'A' && id[i] <= 'F')))
			return false;
	}
	return i == QUEUE_ID_LEN;
}

int
spool_path(char *out, size_t outlen, const char *queue_dir, enum spool_area area,
    const char *id)
{
	static const char *const dirs[] = { "tmp", "msg", "state", "state", "sig", "sig" };
	int n;

	if (id == NULL)
		n = snprintf(out, outlen, "%s/%s", queue_dir, dirs[area]);
	else if (area == SPOOL_STATE_TMP || area == SPOOL_SIG_TMP)
		n = snprintf(out, outlen, "%s/%s/.%s.tmp", queue_dir, dirs[area], id);
	else
		n = snprintf(out, outlen, "%s/%s/%s", queue_dir, dirs[area], id);
	if (n < 0 || (size_t)n >= outlen)
		return errno = ENAMETOOLONG, -1;
	return 0;
}

int
spool_init(const char *data_dir)
{
	static const char *const sub[] = { "queue", "queue/tmp", "queue/msg", "queue/state",
		"queue/sig", "queue/dmarc" };
	char path[4096];

	for (size_t i = 0; i < sizeof sub / sizeof sub[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", data_dir, sub[i]);
		if (mkdir(path, 0770) < 0 && errno != EEXIST)
			return -1;
	}
	return 0;
}

/* read_head - up to max octets from the start of path; the file's size in *filesize. */
static int
read_head(const char *path, size_t max, struct buf *b, uint64_t *filesize)
{
	struct stat st;

	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		return errno = e, -1;
	}
	*filesize = (uint64_t)st.st_size;
	size_t want = (uint64_t)st.st_size < max ? (size_t)st.st_size : max;
	if (buf_reserve(b, want + 1) < 0) {
		close(fd);
		return errno = ENOMEM, -1;
	}
	ssize_t got = fd_pread_full(fd, b->data, want, 0);
	int e = errno;
	close(fd);
	if (got < 0)
		return errno = e, -1;
	b->len = (size_t)got;
	return 0;
}

/* apply_state - state/<id>, when there is one, onto env. */
static int
apply_state(const char *queue_dir, struct envelope *env)
{
	char path[4096];
	struct buf b = { 0 };
	uint64_t size;

	if (spool_path(path, sizeof path, queue_dir, SPOOL_STATE, env->id) < 0)
		return -1;
	if (read_head(path, STATE_MAX, &b, &size) < 0) {
		buf_free(&b);
		return errno == ENOENT ? 0 : -1;
	}
	spool_parse_state(b.data ? b.data : "", b.len, env);
	buf_free(&b);
	return 0;
}

int
spool_load(const char *queue_dir, const char *id, struct envelope *env)
{
	char path[4096], err[128];
	struct buf b = { 0 };
	uint64_t filesize;

	if (spool_path(path, sizeof path, queue_dir, SPOOL_MSG, id) < 0)
		return -1;
	if (read_head(path, HEADER_MAX, &b, &filesize) < 0) {
		buf_free(&b);
		return -1;
	}
	int rc = spool_parse_header(b.data ? b.data : "", b.len, false, env, err, sizeof err);
	buf_free(&b);
	if (rc < 0 || env->body_offset + env->body_size != filesize || strcmp(env->id, id) != 0) {
		if (rc == 0)
			envelope_free(env);
		errno = EINVAL;
		return -1;
	}
	if (apply_state(queue_dir, env) < 0) {
		envelope_free(env);
		return -1;
	}
	return 0;
}

/* replace - data as the file path, written as tmp first and renamed over it. */
static int
replace(const char *path, const char *tmp, const void *data, size_t len)
{
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0660);
	if (fd < 0)
		return -1;
	int rc = fd_write_all(fd, data, len);
	int e = errno;
	/* Closed once whatever happens: other threads (queued's signers) open files too. */
	if (close(fd) < 0 && rc == 0)
		rc = -1, e = errno;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -1, e = errno;
	if (rc < 0) {
		unlink(tmp);
		errno = e;
	}
	return rc;
}

int
spool_write_state(const char *queue_dir, const struct envelope *env)
{
	char path[4096], tmp[4096];
	struct buf b = { 0 };
	int rc = -1;

	if (spool_format_state(env, &b) == 0 &&
	    spool_path(path, sizeof path, queue_dir, SPOOL_STATE, env->id) == 0 &&
	    spool_path(tmp, sizeof tmp, queue_dir, SPOOL_STATE_TMP, env->id) == 0)
		rc = replace(path, tmp, b.data, b.len);
	buf_free(&b);
	return rc;
}

int
spool_write_sig(const char *queue_dir, const char *id, const void *data, size_t len)
{
	char path[4096], tmp[4096];

	if (spool_path(path, sizeof path, queue_dir, SPOOL_SIG, id) < 0 ||
	    spool_path(tmp, sizeof tmp, queue_dir, SPOOL_SIG_TMP, id) < 0)
		return -1;
	return replace(path, tmp, data, len);
}

int
spool_read_sig(const char *queue_dir, const char *id, struct buf *b)
{
	char path[4096];
	uint64_t size;

	if (spool_path(path, sizeof path, queue_dir, SPOOL_SIG, id) < 0)
		return -1;
	if (read_head(path, SPOOL_SIG_MAX, b, &size) < 0)
		return -1;
	if (size > SPOOL_SIG_MAX)
		return errno = EFBIG, -1;
	return 0;
}

void
spool_remove(const char *queue_dir, const char *id)
{
	char path[4096];

	if (spool_path(path, sizeof path, queue_dir, SPOOL_MSG, id) == 0)
		unlink(path);
	if (spool_path(path, sizeof path, queue_dir, SPOOL_STATE, id) == 0)
		unlink(path);
	if (spool_path(path, sizeof path, queue_dir, SPOOL_SIG, id) == 0)
		unlink(path);
}

/* orphan - whether entry name of the area's directory d is left over from a crash. */
static bool
orphan(const char *queue_dir, enum spool_area area, const char *name)
{
	char path[4096];

	if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0')))
		return false;
	if (area == SPOOL_TMP)
		return true;
	if (name[0] == '.')
		return strlen(name) > 4 && strcmp(name + strlen(name) - 4, ".tmp") == 0;
	return spool_id_valid(name) &&
	    spool_path(path, sizeof path, queue_dir, SPOOL_MSG, name) == 0 &&
	    access(path, F_OK) < 0 && errno == ENOENT;
}

unsigned
spool_recover(const char *queue_dir)
{
	static const enum spool_area areas[] = { SPOOL_TMP, SPOOL_STATE, SPOOL_SIG };
	char path[4096];
	unsigned removed = 0;

	for (size_t i = 0; i < sizeof areas / sizeof areas[0]; i++) {
		if (spool_path(path, sizeof path, queue_dir, areas[i], NULL) < 0)
			continue;
		DIR *d = opendir(path);
		if (d == NULL)
			continue;
		struct dirent *de;
		while ((de = readdir(d)) != NULL)
			if (orphan(queue_dir, areas[i], de->d_name) &&
			    unlinkat(dirfd(d), de->d_name, 0) == 0)
				removed++;
		closedir(d);
	}
	return removed;
}

static int
cmp_id(const void *a, const void *b)
{
	return strcmp(a, b);
}

static int
ids_add(struct spool_ids *ids, const char *id)
{
	if (ids->n == ids->cap) {
		size_t cap = ids->cap ? ids->cap * 2 : 64;
		char (*v)[QUEUE_ID_LEN + 1] = reallocarray(ids->v, cap, sizeof *v);
		if (v == NULL)
			return -1;
		ids->v = v;
		ids->cap = cap;
	}
	memcpy(ids->v[ids->n++], id, QUEUE_ID_LEN + 1);
	return 0;
}

int
spool_list(const char *queue_dir, struct spool_ids *out)
{
	char path[4096];

	if (spool_path(path, sizeof path, queue_dir, SPOOL_MSG, NULL) < 0)
		return -1;
	DIR *d = opendir(path);
	if (d == NULL)
		return -1;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (spool_id_valid(de->d_name) && ids_add(out, de->d_name) < 0) {
			closedir(d);
			return errno = ENOMEM, -1;
		}
	}
	closedir(d);
	if (out->n > 1)
		qsort(out->v, out->n, sizeof out->v[0], cmp_id);
	return 0;
}

void
spool_ids_free(struct spool_ids *ids)
{
	free(ids->v);
	memset(ids, 0, sizeof *ids);
}
