/*
 * report_days.h - the day-by-day walk that queued's daily reporters share (the
 * DMARC aggregate reports, dmarc_reports.c; the TLS reports, tls_reports.c): a
 * timer that fires soon after start and then just after each 00:00 UTC; the day
 * files of one queue subdirectory taken one at a time (inbound/report_log.h: a
 * .work left by a crash first, then each finished day's .log, renamed .work); the
 * file's text handed to the reporter, which ends the day with report_days_done;
 * then the .work file goes and the next day follows. A run asked for while a day
 * is under way comes after it.
 */
#ifndef MAILROOM_REPORT_DAYS_H
#define MAILROOM_REPORT_DAYS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "store/spool.h"

struct queued;
struct event;
struct config;

struct report_days {
	struct queued *q;
	struct event *timer;
	const char *ev_done, *ev_off, *ev_error; /* its events: "dmarc-reports-done", ... */
	bool (*enabled)(const struct config *cfg);
	/* day(arg, text, len): the day's lines; the reporter ends it with report_days_done. */
	void (*day)(void *arg, const char *text, size_t len);
	void *arg;
	char dir[4200];
	bool busy, again, again_today;
	/* The day being reported. */
	char day_name[16];         /* YYYYMMDD */
	char work[4300];           /* its .work file */
	time_t begin, end;         /* 00:00 UTC to 23:59:59, or to now for today */
	/* Its messages written into the queue, not yet flushed. */
	int *fds;
	char (*ids)[QUEUE_ID_LEN + 1];
	size_t nmsgs, cap;
	void (*flushed)(void *arg, bool ok);
};

/* What a reporter gives report_days_init. */
struct report_kind {
	const char *sub;           /* its queue subdirectory */
	const char *ev_done, *ev_off, *ev_error; /* its events (EV_NAME) */
	bool (*enabled)(const struct config *cfg);
	void (*day)(void *arg, const char *text, size_t len);
};

/* report_days_init - d for q and k, day(arg, ...) for each day, its timer armed. 0, or -1. */
int report_days_init(struct report_days *d, struct queued *q, const struct report_kind *k,
    void *arg);
void report_days_fini(struct report_days *d);

/* report_days_run - report the finished days (and today's with today), unless off. */
void report_days_run(struct report_days *d, bool today);

/*
 * report_days_done - the day is over: ok, its file goes and the next day follows;
 * else stop until the next run. Messages not flushed are closed (not removed).
 */
void report_days_done(struct report_days *d, bool ok);

/* report_days_reserve - room for n messages of the day. 0, or -1 (out of memory). */
int report_days_reserve(struct report_days *d, size_t n);
/* report_days_keep - a message written (queue/inject.h: fd to flush, its id). */
void report_days_keep(struct report_days *d, int fd, const char id[QUEUE_ID_LEN + 1]);
/*
 * report_days_flush - the day's messages in one group commit, then handed to the
 * scheduler (or removed when the flush failed); then flushed(arg, ok), which may
 * come before this returns (no message: ok at once).
 */
void report_days_flush(struct report_days *d, void (*flushed)(void *arg, bool ok));

#endif
