/*
 * log.c - one line per event, on stderr (with a timestamp) or syslog. Every line is
 * escaped as a whole (util/escape.c): whatever text from the network a caller puts
 * in it, a log line cannot be split, recoloured or reordered by it.
 */
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "util/escape.h"
#include "util/log_ring.h"

static const char *log_role = "mailroom";
static bool log_syslog;
static int log_pid; /* set by log_init, which each process calls after its fork */
static bool log_trace; /* MAILROOM_TRACE: debug lines too */

void
log_init(const char *role, bool use_syslog)
{
	log_role = role;
	log_pid = (int)getpid();
	log_trace = getenv("MAILROOM_TRACE") != NULL;
	if (use_syslog && !log_syslog)
		openlog("mailroom", LOG_PID | LOG_NDELAY, LOG_MAIL);
	log_syslog = use_syslog;
}

static void log_emit(int prio, const char *level, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void
log_emit(int prio, const char *level, const char *fmt, va_list ap)
{
	char raw[2048], msg[2048];

	int len = vsnprintf(raw, sizeof raw, fmt, ap);
	if (len < 0)
		len = 0;
	/* Backslashes doubled: an escape in the line is always ours. */
	esc_text(msg, sizeof msg, raw, (size_t)len < sizeof raw ? (size_t)len : sizeof raw - 1,
	    ESC_BACKSLASH);
	/* Warnings and errors also into the ring `mailroom status` shows (none before it is mapped). */
	if (prio <= LOG_WARNING)
		log_ring_add(prio == LOG_WARNING ? LOG_RING_WARN : LOG_RING_ERR, log_role,
		    log_pid ? log_pid : (int)getpid(), msg, strlen(msg));
	if (log_syslog) {
		syslog(prio, "%s: %s%s", log_role, level, msg);
		return;
	}
	struct timespec ts;
	struct tm tm;
	char when[32];
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
	/* One write per line so lines from several processes do not interleave. */
	char line[2200];
	int n = snprintf(line, sizeof line, "%s.%03ldZ mailroom[%d] %s: %s%s\n", when,
	    ts.tv_nsec / 1000000, log_pid ? log_pid : (int)getpid(), log_role, level, msg);
	if (n > (int)sizeof line - 1)
		n = sizeof line - 1, line[n - 1] = '\n';
	ssize_t w = write(STDERR_FILENO, line, (size_t)n);
	(void)w;
}

void
log_info(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_emit(LOG_INFO, "", fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_emit(LOG_WARNING, "warning: ", fmt, ap);
	va_end(ap);
}

void
log_err(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_emit(LOG_ERR, "error: ", fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!log_trace)
		return;
	va_start(ap, fmt);
	log_emit(LOG_DEBUG, "debug: ", fmt, ap);
	va_end(ap);
}

bool
log_debug_enabled(void)
{
	return log_trace;
}
