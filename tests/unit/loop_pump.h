/*
 * loop_pump.h - for the unit tests of thread groups that answer on an event loop
 * (util/workpool, store/commit): run the loop until a count of completions is
 * reached (10 s at most), and how many threads the process has.
 */
#ifndef MAILROOM_TEST_LOOP_PUMP_H
#define MAILROOM_TEST_LOOP_PUMP_H

#include <event2/event.h>
#include <time.h>

#include "dir_files.h"

/* pump - base's loop run until *count reaches want, or 10 s have passed. */
static inline void
pump(struct event_base *base, const int *count, int want)
{
	for (int i = 0; i < 10000 && *count < want; i++) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		if (*count < want)
			nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	}
}

/* threads - the threads of this process now. */
static inline unsigned
threads(void)
{
	return files_in("/proc/self/task");
}

#endif
