/*
 * report_log.h - smtpd's notes for the DMARC aggregate reports: one line per
 * evaluated message appended to queue/dmarc/<UTC day>.log (docs/spool.md), which
 * queued reads once the day is over. Best effort: no fsync, and a day's file stops
 * growing at REPORT_LOG_MAX (logged once a day).
 */
#ifndef MAILROOM_REPORT_LOG_H
#define MAILROOM_REPORT_LOG_H

#include <stddef.h>
#include <time.h>

#define REPORT_LOG_MAX (64ull * 1024 * 1024)

struct report_log {
	char dir[4096];  /* <queue>/dmarc */
	char full_day[16]; /* the day whose file was found full (logged once) */
	unsigned long long max; /* REPORT_LOG_MAX; smaller in tests */
};

/* report_log_init - for the queue directory queue_dir. */
void report_log_init(struct report_log *l, const char *queue_dir);

/* report_log_day - "YYYYMMDD" of t (UTC) into out[9]. */
void report_log_day(time_t t, char out[16]);

/*
 * report_log_append - line[0..len) (one whole line, "\n" included) to the file of
 * the day of now, with one write of O_APPEND. Returns 0, or -1 (not written: the
 * reason was logged).
 */
int report_log_append(struct report_log *l, time_t now, const char *line, size_t len);

#endif
