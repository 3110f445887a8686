/*
 * report_log.c - the append of one line: open with O_APPEND, check the size, one
 * write(2), close. Opened for every line so that queued can rename the file away
 * at any moment (the next line makes a new one).
 */
#include "inbound/report_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/log.h"

void
report_log_init(struct report_log *l, const char *queue_dir)
{
	snprintf(l->dir, sizeof l->dir, "%s/dmarc", queue_dir);
	l->full_day[0] = '\0';
	l->max = REPORT_LOG_MAX;
}

void
report_log_day(time_t t, char out[16])
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 16, "%Y%m%d", &tm);
}

int
report_log_append(struct report_log *l, time_t now, const char *line, size_t len)
{
	char day[16], path[4200];
	struct stat st;

	report_log_day(now, day);
	snprintf(path, sizeof path, "%s/%s.log", l->dir, day);
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0660);
	if (fd < 0 && errno == ENOENT && mkdir(l->dir, 0770) == 0)
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0660);
	if (fd < 0) {
		ev_warn("dmarc-data-error", KS("file", path), KS("error", strerror(errno)));
		return -1;
	}
	int rc = -1;
	if (fstat(fd, &st) < 0) {
		ev_warn("dmarc-data-error", KS("file", path), KS("error", strerror(errno)));
	} else if ((unsigned long long)st.st_size + len > l->max) {
		if (strcmp(l->full_day, day) != 0) {
			ev_warn("dmarc-data-full", KS("file", path), KN("limit", l->max));
			snprintf(l->full_day, sizeof l->full_day, "%s", day);
		}
	} else if (write(fd, line, len) != (ssize_t)len) {
		ev_warn("dmarc-data-error", KS("file", path), KS("error", strerror(errno ? errno : EIO)));
	} else {
		rc = 0;
	}
	close(fd);
	return rc;
}
