/*
 * report_log.c - the append of one line: open with O_APPEND, check the size, one
 * write(2), close. Opened for every line so that queued can rename the file away
 * at any moment (the next line makes a new one).
 */
#include "inbound/report_log.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/log.h"

void
report_log_init_in(struct report_log *l, const char *queue_dir, const char *sub,
    const char *ev_error, const char *ev_full)
{
	snprintf(l->dir, sizeof l->dir, "%s/%s", queue_dir, sub);
	l->full_day[0] = '\0';
	l->max = REPORT_LOG_MAX;
	l->ev_error = ev_error;
	l->ev_full = ev_full;
}

void
report_log_init(struct report_log *l, const char *queue_dir)
{
	report_log_init_in(l, queue_dir, "dmarc", EV_NAME("dmarc-data-error"),
	    EV_NAME("dmarc-data-full"));
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
		ev_warn(l->ev_error, KS("file", path), KS("error", strerror(errno)));
		return -1;
	}
	int rc = -1;
	if (fstat(fd, &st) < 0) {
		ev_warn(l->ev_error, KS("file", path), KS("error", strerror(errno)));
	} else if ((unsigned long long)st.st_size + len > l->max) {
		if (strcmp(l->full_day, day) != 0) {
			ev_warn(l->ev_full, KS("file", path), KN("limit", l->max));
			snprintf(l->full_day, sizeof l->full_day, "%s", day);
		}
	} else if (write(fd, line, len) != (ssize_t)len) {
		ev_warn(l->ev_error, KS("file", path), KS("error", strerror(errno ? errno : EIO)));
	} else {
		rc = 0;
	}
	close(fd);
	return rc;
}

time_t
report_log_day_start(const char *day)
{
	struct tm tm = { 0 };
	tm.tm_year = (day[0] - '0') * 1000 + (day[1] - '0') * 100 + (day[2] - '0') * 10 +
	    (day[3] - '0') - 1900;
	tm.tm_mon = (day[4] - '0') * 10 + (day[5] - '0') - 1;
	tm.tm_mday = (day[6] - '0') * 10 + (day[7] - '0');
	return timegm(&tm);
}

static bool
is_day(const char *s, size_t n)
{
	if (n != 8)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

int
report_log_pick(const char *dir, bool today, char day[16])
{
	char now_day[16], best[16] = "";
	int kind = 0;

	report_log_day(time(NULL), now_day);
	DIR *d = opendir(dir);
	if (d == NULL)
		return 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		const char *dot = strchr(e->d_name, '.');
		if (dot == NULL || !is_day(e->d_name, (size_t)(dot - e->d_name)))
			continue;
		int k = strcmp(dot, ".work") == 0 ? 1 : strcmp(dot, ".log") == 0 ? 2 : 0;
		if (k == 0 || (k == 2 && !today && strncmp(e->d_name, now_day, 8) >= 0))
			continue;
		if (kind == 0 || k < kind || (k == kind && strncmp(e->d_name, best, 8) < 0)) {
			memcpy(best, e->d_name, 8);
			best[8] = '\0';
			kind = k;
		}
	}
	closedir(d);
	if (kind != 0)
		snprintf(day, 16, "%s", best);
	return kind;
}
