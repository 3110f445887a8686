/* acme_state.c - the files of data_dir/acme/, through a directory descriptor (see acme_state.h). */
#include "acme/acme_state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/crypto.h>

#define STATE_MAX (1024 * 1024)

int
acme_state_read(int dfd, const char *name, char **data, size_t *len, char *err,
    size_t errlen)
{
	struct stat st;
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	*data = NULL;
	*len = 0;
	if (fd < 0) {
		if (errno == ENOENT)
			return 1;
		snprintf(err, errlen, "acme/%s: %s", name, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1 ||
	    st.st_size > STATE_MAX) {
		snprintf(err, errlen, "acme/%s: not a plain file of at most 1 MiB: refusing it", name);
		close(fd);
		return -1;
	}
	char *buf = malloc((size_t)st.st_size + 1);
	size_t got = 0;
	while (buf != NULL && got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	if (buf == NULL || got != (size_t)st.st_size) {
		snprintf(err, errlen, "acme/%s: cannot read it", name);
		if (buf != NULL)
			OPENSSL_cleanse(buf, got);
		free(buf);
		return -1;
	}
	buf[got] = '\0';
	*data = buf;
	*len = got;
	return 0;
}

int
acme_state_write(int dfd, const char *name, const void *data, size_t len, mode_t mode,
    char *err, size_t errlen)
{
	char tmp[128];

	snprintf(tmp, sizeof tmp, ".%s.new", name);
	unlinkat(dfd, tmp, 0);
	int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0) {
		snprintf(err, errlen, "acme/%s: %s", tmp, strerror(errno));
		return -1;
	}
	size_t put = 0;
	while (put < len) {
		ssize_t w = write(fd, (const char *)data + put, len - put);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		put += (size_t)w;
	}
	bool ok = put == len && fsync(fd) == 0;
	int saved = errno;
	if (close(fd) < 0)
		ok = false;
	if (!ok || renameat(dfd, tmp, dfd, name) < 0) {
		snprintf(err, errlen, "acme/%s: %s", name, strerror(ok ? errno : saved));
		unlinkat(dfd, tmp, 0);
		return -1;
	}
	fsync(dfd);
	return 0;
}

int
acme_state_load_pem(int dfd, struct tls_pem *p, char *err, size_t errlen)
{
	memset(p, 0, sizeof *p);
	int rc = acme_state_read(dfd, ACME_CERT, &p->cert, &p->certlen, err, errlen);
	if (rc != 0)
		return rc;
	rc = acme_state_read(dfd, ACME_KEY, &p->key, &p->keylen, err, errlen);
	if (rc != 0) {
		if (rc > 0)
			snprintf(err, errlen, "acme/%s without acme/%s", ACME_CERT, ACME_KEY);
		tls_pem_free(p);
		return -1;
	}
	return 0;
}
