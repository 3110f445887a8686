/* maildir_retire.c - move the mailboxes of deleted users and domains under deleted/ (maildir_retire.h). */
#include "store/maildir_retire.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/maildir.h"

#define RENAME_TRIES 100 /* same address deleted this often in one second */

/* sync_dir - make a rename in dir durable. */
static void
sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

static int
mkdir_mode(const char *path, mode_t mode)
{
	return mkdir(path, mode) < 0 && errno != EEXIST ? -1 : 0;
}

/* rename_new - rename src to dst, never over something that is there already. */
static int
rename_new(const char *src, const char *dst)
{
	if (renameat2(AT_FDCWD, src, AT_FDCWD, dst, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	/* A file system without RENAME_NOREPLACE: check, then rename. */
	struct stat st;
	if (lstat(dst, &st) == 0) {
		errno = EEXIST;
		return -1;
	}
	return rename(src, dst);
}

/*
 * move_aside - rename src to <dst_dir>/<name>.<stamp>, or .<stamp>.<n> when that is
 * taken, creating dst_dir (and its parent, deleted/) when missing.
 */
static int
move_aside(const char *src, const char *deleted, const char *dst_dir, const char *name,
    time_t now, char *out, size_t outlen)
{
	char stamp[32];
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
	/* Old mail: only the owner of the data dir may look. */
	if (mkdir_mode(deleted, 0700) < 0 || mkdir_mode(dst_dir, 0700) < 0)
		return -1;
	for (int n = 0; n < RENAME_TRIES; n++) {
		int len = n == 0 ? snprintf(out, outlen, "%s/%s.%s", dst_dir, name, stamp) :
		    snprintf(out, outlen, "%s/%s.%s.%d", dst_dir, name, stamp, n);
		if (len < 0 || (size_t)len >= outlen) {
			errno = ENAMETOOLONG;
			return -1;
		}
		if (rename_new(src, out) == 0) {
			sync_dir(dst_dir);
			return 0;
		}
		if (errno != EEXIST && errno != ENOTEMPTY)
			return -1;
	}
	errno = EEXIST;
	return -1;
}

/*
 * aside - move_aside into <data_dir>/deleted/<domain>, or, when mail/ is a file
 * system of its own (a shared one: rename cannot leave it), into
 * <mail_dir>/.deleted/<domain>; where it went into out.
 */
static int
aside(const char *data_dir, const char *mail_dir, const char *src, const char *domain,
    const char *name, time_t now, char *out, size_t outlen)
{
	char deleted[4096], dst_dir[4400];

	for (int i = 0; i < 2; i++) {
		if (i == 0)
			snprintf(deleted, sizeof deleted, "%s/deleted", data_dir);
		else
			snprintf(deleted, sizeof deleted, "%s/.deleted", mail_dir);
		if (snprintf(dst_dir, sizeof dst_dir, "%s/%s", deleted, domain) >=
		    (int)sizeof dst_dir) {
			errno = ENAMETOOLONG;
			return -1;
		}
		if (move_aside(src, deleted, dst_dir, name, now, out, outlen) == 0)
			return 0;
		if (errno != EXDEV)
			return -1;
	}
	return -1;
}

/* split - the "<domain>" and "<local>" components at the end of a Maildir path. */
static int
split(char *path, char **domain_dir, char **local)
{
	char *slash = strrchr(path, '/');
	if (slash == NULL)
		return -1;
	*slash = '\0';
	*local = slash + 1;
	*domain_dir = path;
	return 0;
}

int
maildir_retire_user(const char *data_dir, const char *address, time_t now, char *moved,
    size_t movedlen)
{
	char mail_dir[4096], src[4096], parts[4096];
	char *domain_dir, *local;
	struct stat st;

	if (snprintf(mail_dir, sizeof mail_dir, "%s/mail", data_dir) >= (int)sizeof mail_dir ||
	    maildir_path(mail_dir, address, src, sizeof src) < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (lstat(src, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	snprintf(parts, sizeof parts, "%s", src);
	if (split(parts, &domain_dir, &local) < 0) {
		errno = EINVAL;
		return -1;
	}
	const char *domain = strrchr(domain_dir, '/') + 1;
	if (aside(data_dir, mail_dir, src, domain, local, now, moved, movedlen) < 0)
		return -1;
	sync_dir(domain_dir);
	return 1;
}

int
maildir_retire_domain(const char *data_dir, const char *domain, time_t now, char *where,
    size_t wherelen)
{
	char mail_dir[4096], probe[4096], src[8192], out[8192];
	char *domain_dir, *local;
	int moved = 0;

	/* The path of any mailbox of the domain gives the domain's directory. */
	char addr[512];
	if (snprintf(mail_dir, sizeof mail_dir, "%s/mail", data_dir) >= (int)sizeof mail_dir ||
	    snprintf(addr, sizeof addr, "x@%s", domain) >= (int)sizeof addr ||
	    maildir_path(mail_dir, addr, probe, sizeof probe) < 0 ||
	    split(probe, &domain_dir, &local) < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	const char *dname = strrchr(domain_dir, '/') + 1;
	DIR *d = opendir(domain_dir);
	if (d == NULL)
		return errno == ENOENT ? 0 : -1;
	struct dirent *de;
	int rc = 0;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(src, sizeof src, "%s/%s", domain_dir, de->d_name);
		if (aside(data_dir, mail_dir, src, dname, de->d_name, now, out, sizeof out) == 0) {
			/* the directory it went to, for the caller's message */
			char *slash = strrchr(out, '/');
			if (slash != NULL)
				*slash = '\0';
			snprintf(where, wherelen, "%s", out);
			moved++;
		} else if (errno != ENOENT) { /* ENOENT: an entry readdir saw before it moved */
			rc = -1;
			break;
		}
	}
	int saved = errno;
	closedir(d);
	if (rc < 0) {
		errno = saved;
		return -1;
	}
	if (rmdir(domain_dir) < 0 && errno != ENOENT)
		return -1;
	sync_dir(mail_dir);
	return moved;
}
