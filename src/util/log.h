/*
 * log.h - one line an event, in key=value form (docs/logs.md), on stderr, syslog or
 * the systemd journal. Values are escaped (control characters, C1 controls,
 * bidirectional overrides, malformed UTF-8, backslashes: util/escape.h) and quoted
 * when they must be, so callers may put text from the network in them as it is.
 * Warnings and errors are also kept in the shared ring of util/log_ring.h, which
 * `mailroom status` shows.
 *
 *	ev_info("accept", KS("qid", id), KS("client", ip), KA("from", sender),
 *	    KN("size", size));
 * writes
 *	... smtpd: event=accept qid=0A1B... client=192.0.2.1 from=<a@b.example> size=312
 */
#ifndef MAILROOM_LOG_H
#define MAILROOM_LOG_H

#include <stdbool.h>
#include <stddef.h>

/* Where the lines go: [server] log. */
enum log_dest { LOG_TO_STDERR, LOG_TO_SYSLOG, LOG_TO_JOURNAL };

/* The syslog priorities (and the journal's PRIORITY=) of the three levels. */
enum log_level { LOG_LV_ERR = 3, LOG_LV_WARN = 4, LOG_LV_INFO = 6, LOG_LV_DEBUG = 7 };

enum log_kv_kind { LOG_KV_END, LOG_KV_STR, LOG_KV_ADDR, LOG_KV_NUM };

/* One key=value of an event. A text or address that is NULL leaves its key out. */
struct log_kv {
	enum log_kv_kind kind;
	const char *key; /* [a-z][a-z0-9_]*, stable: docs/logs.md lists them */
	const char *str;
	long long num;
};

#define KS(k, v) { .kind = LOG_KV_STR, .key = (k), .str = (v) }  /* text */
#define KA(k, v) { .kind = LOG_KV_ADDR, .key = (k), .str = (v) } /* <address> */
#define KN(k, v) { .kind = LOG_KV_NUM, .key = (k), .num = (v) }  /* decimal number */

/* ev_info(event, KS(...), ...) - one event line; event names: [a-z][a-z0-9-]*. */
#define ev_info(event, ...) log_event(LOG_LV_INFO, (event), \
	(const struct log_kv[]){ __VA_ARGS__ __VA_OPT__(,) { 0 } })
#define ev_warn(event, ...) log_event(LOG_LV_WARN, (event), \
	(const struct log_kv[]){ __VA_ARGS__ __VA_OPT__(,) { 0 } })
#define ev_err(event, ...) log_event(LOG_LV_ERR, (event), \
	(const struct log_kv[]){ __VA_ARGS__ __VA_OPT__(,) { 0 } })

/*
 * EV_NAME - an event name kept to be logged later through a variable (a table of
 * the events of one kind of thing): test_logs.py finds the names there too.
 */
#define EV_NAME(s) (s)

/*
 * log_init - role names the process in every line ("smtpd", "queued", "cli", ...).
 * LOG_TO_JOURNAL falls back to stderr where the journal's socket is missing (said
 * once, on stderr). Debug lines are written only when MAILROOM_TRACE is set.
 */
void log_init(const char *role, enum log_dest dest);

/* log_event - through the ev_* macros: kv ends with a { 0 } entry. */
void log_event(enum log_level level, const char *event, const struct log_kv *kv);

/*
 * log_format - the body of an event line, "event=NAME key=value ..." into
 * dst[0..dstlen) (NUL-terminated; a value that does not fit is cut after "...",
 * keys past the end are left out). Returns its length. Pure: the unit tests use it.
 */
size_t log_format(char *dst, size_t dstlen, const char *event, const struct log_kv *kv);

/*
 * log_value - the value of kv escaped (no quotes) into dst: what the journal gets
 * as a field. Returns dst.
 */
char *log_value(char *dst, size_t dstlen, const struct log_kv *kv);

/*
 * log_info, log_warn, log_err - a line not yet made an event: "event=message
 * text=...". Kept for code in flight; every line of ours is an ev_* event.
 */
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* log_debug - a free-form trace line (session state changes); nothing unless MAILROOM_TRACE. */
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* log_debug_enabled - whether log_debug writes (to skip work done only for it). */
bool log_debug_enabled(void);

#endif
