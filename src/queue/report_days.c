/* report_days.c - the timer, the day picked, its file renamed and read (report_days.h). */
#include "queue/report_days.h"

#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "inbound/report_log.h"
#include "queue/queued.h"
#include "store/commit.h"
#include "util/buf.h"
#include "util/fdio.h"
#include "util/log.h"

#define START_DELAY 30     /* seconds after start before the days left over are reported */
#define MIDNIGHT_DELAY 300 /* seconds after 00:00 UTC: the last lines of the day are in */

static void next_day(struct report_days *d);

static void
arm(struct report_days *d, time_t secs)
{
	struct timeval tv = { secs, 0 };
	evtimer_add(d->timer, &tv);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct report_days *d = arg;

	report_days_run(d, false);
	arm(d, 86400 - time(NULL) % 86400 + MIDNIGHT_DELAY);
}

int
report_days_init(struct report_days *d, struct queued *q, const struct report_kind *k,
    void *arg)
{
	memset(d, 0, sizeof *d);
	d->q = q;
	d->ev_done = k->ev_done;
	d->ev_off = k->ev_off;
	d->ev_error = k->ev_error;
	d->enabled = k->enabled;
	d->day = k->day;
	d->arg = arg;
	snprintf(d->dir, sizeof d->dir, "%s/%s", q->store.queue_dir, k->sub);
	if ((d->timer = evtimer_new(q->base, on_timer, d)) == NULL)
		return -1;
	arm(d, START_DELAY);
	return 0;
}

static void
msgs_clear(struct report_days *d)
{
	for (size_t i = 0; i < d->nmsgs; i++)
		if (d->fds[i] >= 0)
			close(d->fds[i]);
	free(d->fds);
	free(d->ids);
	d->fds = NULL;
	d->ids = NULL;
	d->nmsgs = d->cap = 0;
}

void
report_days_fini(struct report_days *d)
{
	msgs_clear(d);
	if (d->timer != NULL)
		event_free(d->timer);
	d->timer = NULL;
}

int
report_days_reserve(struct report_days *d, size_t n)
{
	msgs_clear(d);
	d->fds = calloc(n ? n : 1, sizeof *d->fds);
	d->ids = calloc(n ? n : 1, sizeof *d->ids);
	if (d->fds == NULL || d->ids == NULL) {
		msgs_clear(d);
		return -1;
	}
	d->cap = n;
	return 0;
}

void
report_days_keep(struct report_days *d, int fd, const char id[QUEUE_ID_LEN + 1])
{
	if (d->nmsgs == d->cap) {
		close(fd); /* not reserved: never so (one a destination), but never lost track of */
		spool_remove(d->q->store.queue_dir, id);
		return;
	}
	d->fds[d->nmsgs] = fd;
	memcpy(d->ids[d->nmsgs], id, QUEUE_ID_LEN + 1);
	d->nmsgs++;
}

static void
on_committed(void *arg, int error)
{
	struct report_days *d = arg;
	struct queued *q = d->q;

	if (error != 0) {
		ev_err(d->ev_error, KS("day", d->day_name), KS("error", strerror(error)));
		for (size_t i = 0; i < d->nmsgs; i++)
			spool_remove(q->store.queue_dir, d->ids[i]);
	} else {
		for (size_t i = 0; i < d->nmsgs; i++) {
			struct qmsg *m = msg_add(q, d->ids[i], false);
			if (m)
				ready_push(q, m);
		}
		ev_info(d->ev_done, KS("day", d->day_name), KN("messages", d->nmsgs));
	}
	msgs_clear(d);
	d->flushed(d->arg, error == 0);
}

void
report_days_flush(struct report_days *d, void (*flushed)(void *arg, bool ok))
{
	struct queued *q = d->q;

	d->flushed = flushed;
	if (d->nmsgs == 0) {
		msgs_clear(d);
		flushed(d->arg, true);
		return;
	}
	if (committer_submit(q->store.committer, d->fds, d->nmsgs, &q->store.msgdir_fd, 1,
	    on_committed, d) < 0)
		on_committed(d, ENOMEM);
}

void
report_days_done(struct report_days *d, bool ok)
{
	msgs_clear(d);
	if (ok && unlink(d->work) < 0 && errno != ENOENT)
		ev_warn(d->ev_error, KS("file", d->work), KS("error", strerror(errno)));
	if (ok)
		next_day(d);
	else
		d->busy = false;
}

static void
next_day(struct report_days *d)
{
	char log_path[4300];
	struct buf text = { 0 };

	/* Bounded: each turn takes a day's file away (or ends), and again is cleared. */
	int kind = report_log_pick(d->dir, d->again_today, d->day_name);
	if (kind == 0) {
		d->busy = false;
		if (d->again) {
			d->again = false;
			d->busy = true;
			next_day(d);
			return;
		}
		d->again_today = false;
		return;
	}
	d->busy = true;
	snprintf(d->work, sizeof d->work, "%s/%s.work", d->dir, d->day_name);
	if (kind == 2) {
		snprintf(log_path, sizeof log_path, "%s/%s.log", d->dir, d->day_name);
		if (rename(log_path, d->work) < 0) {
			ev_err(d->ev_error, KS("file", log_path), KS("error", strerror(errno)));
			d->busy = false;
			return;
		}
	}
	d->begin = report_log_day_start(d->day_name);
	time_t now = time(NULL);
	d->end = d->begin + 86399 < now ? d->begin + 86399 : now;
	if (fd_read_file(d->work, 2 * REPORT_LOG_MAX, &text) < 0) {
		ev_err(d->ev_error, KS("file", d->work), KS("error", strerror(errno)));
		buf_free(&text);
		d->busy = false;
		return;
	}
	d->day(d->arg, text.data ? text.data : "", text.len);
	buf_free(&text);
}

void
report_days_run(struct report_days *d, bool today)
{
	if (!d->enabled(d->q->cfg)) {
		ev_info(d->ev_off);
		return;
	}
	if (d->busy) {
		d->again = true;
		d->again_today |= today;
		return;
	}
	d->again_today = today;
	next_day(d);
}
