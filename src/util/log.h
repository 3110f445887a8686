/*
 * log.h - one line per event, on stderr or syslog. Lines are escaped (control
 * characters, C1 controls, bidirectional overrides, malformed UTF-8, backslashes:
 * util/escape.h), so callers may put text from the network in them as it is.
 */
#ifndef MAILROOM_LOG_H
#define MAILROOM_LOG_H

#include <stdbool.h>
#include <stddef.h>

/* role names the process in every line ("smtpd", "queued", "cli", ...). */
void log_init(const char *role, bool use_syslog);

void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
