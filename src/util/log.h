/*
 * log.h - one line per event, on stderr or syslog. Lines are escaped (control
 * characters, C1 controls, bidirectional overrides, malformed UTF-8, backslashes:
 * util/escape.h), so callers may put text from the network in them as it is.
 * Warnings and errors are also kept in the shared ring of util/log_ring.h, which
 * `mailroom status` shows.
 */
#ifndef MAILROOM_LOG_H
#define MAILROOM_LOG_H

#include <stdbool.h>
#include <stddef.h>

/*
 * log_init - role names the process in every line ("smtpd", "queued", "cli", ...).
 * Debug lines are written only when the environment has MAILROOM_TRACE set.
 */
void log_init(const char *role, bool use_syslog);

void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* log_debug - a trace line (session state changes); nothing unless MAILROOM_TRACE is set. */
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* log_debug_enabled - whether log_debug writes (to skip work done only for it). */
bool log_debug_enabled(void);

#endif
