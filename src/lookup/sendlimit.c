/*
 * sendlimit.c - outbound limit windows and the decision on one message (pure).
 * Minute counters rather than one row per message: a user who sends a great deal
 * costs at most a day's worth of minutes in the store.
 */
#include "lookup/sendlimit.h"

int64_t
sendlimit_bucket(time_t now)
{
	int64_t t = (int64_t)now;
	int64_t r = t % SENDLIMIT_BUCKET;
	return t - (r < 0 ? r + SENDLIMIT_BUCKET : r);
}

int
sendlimit_in_window(int64_t start, time_t now, time_t span)
{
	int64_t cur = sendlimit_bucket(now);
	return start <= cur && start > cur - (int64_t)span;
}

uint64_t
sendlimit_sum(const struct send_bucket *v, size_t n, time_t now, time_t span)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < n; i++)
		if (sendlimit_in_window(v[i].start, now, span))
			sum += v[i].n;
	return sum;
}

enum send_verdict
sendlimit_decide(const struct send_limits *l, const struct send_usage *u, uint64_t *limit)
{
	*limit = 0;
	if (l->per_day != 0 && u->day + 1 > l->per_day) {
		*limit = l->per_day;
		return SEND_OVER_DAY;
	}
	if (l->per_hour != 0 && u->hour + 1 > l->per_hour) {
		*limit = l->per_hour;
		return SEND_OVER_HOUR;
	}
	if (l->first_time_per_day != 0 && u->new_rcpts != 0 &&
	    u->first_time_day + u->new_rcpts > l->first_time_per_day) {
		*limit = l->first_time_per_day;
		return SEND_OVER_FIRST_TIME;
	}
	return SEND_OK;
}

const char *
sendlimit_key(enum send_verdict v)
{
	switch (v) {
	case SEND_OVER_DAY:
		return "sends_per_day";
	case SEND_OVER_HOUR:
		return "sends_per_hour";
	case SEND_OVER_FIRST_TIME:
		return "first_time_recipients_per_day";
	default:
		return "";
	}
}
