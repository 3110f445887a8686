/*
 * sendlimit.h - the outbound limits of one user as pure functions (no I/O, no
 * clock: the time is an argument): the minute counters the account store keeps,
 * their sums over the last hour and day, and whether one more message (with its
 * first-time recipients) stays within sends_per_day, sends_per_hour and
 * first_time_recipients_per_day. accounts_limits.c keeps the counters.
 */
#ifndef MAILROOM_SENDLIMIT_H
#define MAILROOM_SENDLIMIT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define SENDLIMIT_BUCKET 60     /* seconds each counter covers */
#define SENDLIMIT_HOUR 3600
#define SENDLIMIT_DAY 86400

/* One counter: the messages sent in [start, start + SENDLIMIT_BUCKET). */
struct send_bucket {
	int64_t start;
	uint64_t n;
};

/* The limits that apply to a user; 0: none. */
struct send_limits {
	uint64_t per_day;
	uint64_t per_hour;
	uint64_t first_time_per_day; /* distinct recipients never written to before */
};

/* What the user has done in the windows, and what the message adds. */
struct send_usage {
	uint64_t day, hour;       /* messages counted in the last day, hour */
	uint64_t first_time_day;  /* first-time recipients of the last day */
	uint64_t new_rcpts;       /* of this message, not written to before */
};

enum send_verdict {
	SEND_OK = 0,             /* within every limit: counted */
	SEND_OVER_DAY = 1,       /* held: over sends_per_day */
	SEND_OVER_HOUR = 2,      /* held: over sends_per_hour */
	SEND_OVER_FIRST_TIME = 3, /* held: over first_time_recipients_per_day */
	SEND_TEMPFAIL = 4,       /* the store or lookupd failed: not counted */
};

/* sendlimit_bucket - the start of the counter that time now falls in. */
int64_t sendlimit_bucket(time_t now);

/*
 * sendlimit_in_window - whether the counter starting at start counts in the span
 * seconds up to now: the current minute and the span/SENDLIMIT_BUCKET - 1 before it.
 */
int sendlimit_in_window(int64_t start, time_t now, time_t span);

/* sendlimit_sum - the messages of the n counters of v inside the window of span up to now. */
uint64_t sendlimit_sum(const struct send_bucket *v, size_t n, time_t now, time_t span);

/*
 * sendlimit_decide - whether one more message of usage u stays within l; when not,
 * *limit is the limit it would pass (day first, then hour, then first-time).
 */
enum send_verdict sendlimit_decide(const struct send_limits *l, const struct send_usage *u,
    uint64_t *limit);

/* sendlimit_key - the config key a verdict names ("sends_per_day", ...), or "". */
const char *sendlimit_key(enum send_verdict v);

#endif
