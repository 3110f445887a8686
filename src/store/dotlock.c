/*
 * dotlock.c - a lock file that works on NFS (dotlock.h): a unique file written
 * first, then link(2)ed to the lock's name, which succeeds for one holder only;
 * a stale lock (its holder gone) is broken once and the link tried again.
 */
#include "store/dotlock.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/rand.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool
pid_alive(long pid)
{
	/* EPERM: it is there, another user's */
	return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno != ESRCH);
}

bool
dotlock_stale(const char *id, time_t mtime, time_t now, time_t stale_after,
    const char *host, bool (*alive)(long pid))
{
	char holder[256];
	long pid = 0;

	/* Not touched for so long: whoever held it is gone, on whatever host. */
	if (now - mtime >= stale_after)
		return true;
	/* Half written (or not ours to read): only time breaks it. */
	if (sscanf(id, "%255s %ld", holder, &pid) != 2 || pid <= 0)
		return false;
	return strcmp(holder, host) == 0 && !alive(pid);
}

/* read_id - the content of the lock file at path into out (without its newline). 0 or -1. */
static int
read_id(const char *path, char *out, size_t outlen, time_t *mtime)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;

	if (fd < 0)
		return -1;
	ssize_t n = read(fd, out, outlen - 1);
	int rc = n >= 0 && fstat(fd, &st) == 0 ? 0 : -1;
	close(fd);
	if (rc < 0)
		return -1;
	out[n] = '\0';
	out[strcspn(out, "\n")] = '\0';
	*mtime = st.st_mtime;
	return 0;
}

/* make_own - our unique file beside path, holding l->id, into own. 0 or -1. */
static int
make_own(struct dotlock *l, char *own, size_t ownlen)
{
	char host[256] = "localhost";
	unsigned char rnd[8];

	if (gethostname(host, sizeof host - 1) < 0 || host[0] == '\0')
		snprintf(host, sizeof host, "localhost");
	host[strcspn(host, " \t\n")] = '\0';
	if (RAND_bytes(rnd, sizeof rnd) != 1) {
		errno = EIO;
		return -1;
	}
	char token[17];
	for (size_t i = 0; i < sizeof rnd; i++)
		snprintf(token + 2 * i, 3, "%02x", rnd[i]);
	snprintf(l->id, sizeof l->id, "%s %ld %s", host, (long)getpid(), token);
	int n = snprintf(own, ownlen, "%s.%s.%ld.%s", l->path, host, (long)getpid(), token);
	if (n < 0 || (size_t)n >= ownlen) {
		errno = ENAMETOOLONG;
		return -1;
	}
	int fd = open(own, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -1;
	char line[DOTLOCK_ID_MAX + 2];
	int len = snprintf(line, sizeof line, "%s\n", l->id);
	bool ok = write(fd, line, (size_t)len) == len;
	if (close(fd) < 0 || !ok) {
		unlink(own);
		errno = errno ? errno : EIO;
		return -1;
	}
	return 0;
}

/* linked - link own to the lock: true when the lock is ours (its link count says so). */
static bool
linked(const char *own, const char *path)
{
	struct stat st;

	/* NFS: the server may have made the link and its answer been lost; the count tells. */
	if (link(own, path) < 0 && errno != EEXIST && errno != EIO && errno != ETIMEDOUT)
		return false;
	return stat(own, &st) == 0 && st.st_nlink == 2;
}

enum dotlock_status
dotlock_take(struct dotlock *l, const char *path, time_t stale_after)
{
	char own[DOTLOCK_PATH_MAX + 64], other[DOTLOCK_ID_MAX];
	enum dotlock_status st = DOTLOCK_HELD;

	memset(l, 0, sizeof *l);
	if (strlen(path) >= sizeof l->path) {
		errno = ENAMETOOLONG;
		return DOTLOCK_ERROR;
	}
	snprintf(l->path, sizeof l->path, "%s", path);
	if (make_own(l, own, sizeof own) < 0)
		return DOTLOCK_ERROR;
	for (int tries = 0; tries < 2; tries++) {
		if (linked(own, path)) {
			st = DOTLOCK_OK;
			break;
		}
		time_t mtime;
		char host[256];
		if (read_id(path, other, sizeof other, &mtime) < 0) {
			if (errno == ENOENT)
				continue; /* released meanwhile: try again */
			st = DOTLOCK_ERROR;
			break;
		}
		snprintf(host, sizeof host, "%s", l->id);
		host[strcspn(host, " ")] = '\0';
		if (tries > 0 || !dotlock_stale(other, mtime, time(NULL), stale_after, host, pid_alive))
			break;
		/* Stale: broken once; a holder that races us for it wins or loses the link. */
		if (unlink(path) < 0 && errno != ENOENT) {
			st = DOTLOCK_ERROR;
			break;
		}
	}
	int saved = errno;
	unlink(own);
	errno = saved;
	if (st == DOTLOCK_OK) {
		l->held = true;
		l->touched = time(NULL);
	}
	return st;
}

int
dotlock_touch(struct dotlock *l, time_t interval)
{
	time_t now = time(NULL);

	if (!l->held || (now - l->touched < interval && now >= l->touched))
		return 0;
	l->touched = now;
	return utimensat(AT_FDCWD, l->path, NULL, AT_SYMLINK_NOFOLLOW);
}

void
dotlock_release(struct dotlock *l)
{
	char id[DOTLOCK_ID_MAX];
	time_t mtime;

	/* Only ours: a lock broken as stale and taken by another is theirs now. */
	if (l->held && read_id(l->path, id, sizeof id, &mtime) == 0 && strcmp(id, l->id) == 0)
		unlink(l->path);
	l->held = false;
}
