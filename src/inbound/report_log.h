/*
 * report_log.h - the notes for the daily reports: smtpd's for the DMARC aggregate
 * reports, one line per evaluated message appended to queue/dmarc/<UTC day>.log
 * (docs/spool.md), and the remote agent's for the TLS reports in queue/tlsrpt/;
 * queued reads a day's file once the day is over. Best effort: no fsync, and a
 * day's file stops growing at REPORT_LOG_MAX (logged once a day).
 */
#ifndef MAILROOM_REPORT_LOG_H
#define MAILROOM_REPORT_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define REPORT_LOG_MAX (64ull * 1024 * 1024)

struct report_log {
	char dir[4096];  /* <queue>/dmarc */
	char full_day[16]; /* the day whose file was found full (logged once) */
	unsigned long long max; /* REPORT_LOG_MAX; smaller in tests */
	const char *ev_error, *ev_full; /* its events: "dmarc-data-error", "dmarc-data-full" */
};

/* report_log_init - the DMARC notes of the queue directory queue_dir. */
void report_log_init(struct report_log *l, const char *queue_dir);
/* report_log_init_in - notes in queue_dir/sub (made at the first line), with these events. */
void report_log_init_in(struct report_log *l, const char *queue_dir, const char *sub,
    const char *ev_error, const char *ev_full);

/* report_log_day - "YYYYMMDD" of t (UTC) into out[9]. */
void report_log_day(time_t t, char out[16]);

/*
 * report_log_append - line[0..len) (one whole line, "\n" included) to the file of
 * the day of now, with one write of O_APPEND. Returns 0, or -1 (not written: the
 * reason was logged).
 */
int report_log_append(struct report_log *l, time_t now, const char *line, size_t len);

/* report_log_day_start - 00:00 UTC of "YYYYMMDD". */
time_t report_log_day_start(const char *day);

/*
 * report_log_pick - the next file of dir to report: a <day>.work left by a crash
 * first, else the earliest <day>.log before today (today's too with today). Its
 * day into day; returns 1 (.work), 2 (.log), 0 (nothing to do).
 */
int report_log_pick(const char *dir, bool today, char day[16]);

#endif
