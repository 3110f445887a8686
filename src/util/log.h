/* log.h - one line per event, on stderr or syslog. */
#ifndef MAILROOM_LOG_H
#define MAILROOM_LOG_H

#include <stdbool.h>
#include <stddef.h>

/* role names the process in every line ("smtpd", "queued", "cli", ...). */
void log_init(const char *role, bool use_syslog);

void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * log_escape - copy untrusted bytes into dst for logging: printable ASCII stays,
 * everything else becomes \xNN; the result is always NUL-terminated and truncated
 * with "..." when dst is too small. Returns dst.
 */
char *log_escape(char *dst, size_t dstlen, const char *src, size_t srclen);

#endif
