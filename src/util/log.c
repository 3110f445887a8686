/*
 * log.c - one line an event (docs/logs.md): "event=NAME key=value ...", on stderr
 * (after a timestamp, the pid and the role), syslog or the journal (log_journal.c).
 * Each value is escaped on its own (util/escape.c) and quoted when it holds a space,
 * a quote or anything past ASCII: whatever text from the network a caller puts in
 * it, a line cannot be split, recoloured, reordered, or given a key it did not have.
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
#include "util/log_journal.h"
#include "util/log_ring.h"

#define BODY_MAX 2048
#define VALUE_MAX 1500

static const char *log_role = "mailroom";
static enum log_dest log_dest = LOG_TO_STDERR;
static int log_pid; /* set by log_init, which each process calls after its fork */
static bool log_trace; /* MAILROOM_TRACE: debug lines too */
static bool journal_missing_said; /* inherited by the roles: said once */

static void emit(enum log_level level, const char *body, const char *event,
    const struct log_kv *kv);

void
log_init(const char *role, enum log_dest dest)
{
	log_role = role;
	log_pid = (int)getpid();
	log_trace = getenv("MAILROOM_TRACE") != NULL;
	if (dest == LOG_TO_JOURNAL && !log_journal_present()) {
		dest = LOG_TO_STDERR;
		if (!journal_missing_said) {
			journal_missing_said = true;
			log_dest = LOG_TO_STDERR;
			ev_warn("journal-missing", KS("path", LOG_JOURNAL_SOCKET),
			    KS("fallback", "stderr"));
		}
	}
	if (dest == LOG_TO_SYSLOG && log_dest != LOG_TO_SYSLOG)
		openlog("mailroom", LOG_PID | LOG_NDELAY, LOG_MAIL);
	log_dest = dest;
}

/* bare - whether an escaped value can stand without quotes. */
static bool
bare(const char *v)
{
	if (*v == '\0')
		return false;
	for (; *v; v++)
		if (*v == ' ' || *v == '"' || (unsigned char)*v >= 0x80)
			return false;
	return true;
}

char *
log_value(char *dst, size_t dstlen, const struct log_kv *kv)
{
	size_t n;

	switch (kv->kind) {
	case LOG_KV_NUM:
		snprintf(dst, dstlen, "%lld", kv->num);
		break;
	case LOG_KV_ADDR:
		if (dstlen < 6) {
			snprintf(dst, dstlen, "%s", "");
			break;
		}
		dst[0] = '<';
		esc_text(dst + 1, dstlen - 2, kv->str, strlen(kv->str), ESC_BACKSLASH);
		n = strlen(dst);
		dst[n] = '>';
		dst[n + 1] = '\0';
		break;
	default:
		esc_text(dst, dstlen, kv->str, strlen(kv->str), ESC_BACKSLASH);
		break;
	}
	return dst;
}

/* quoted_len - the length of v in the line: as it is, or quoted with '"' and '\' escaped. */
static size_t
quoted_len(const char *v, bool *quote)
{
	size_t n = 0;

	*quote = !bare(v);
	for (; *v; v++)
		n += *quote && *v == '"' ? 2 : 1;
	return *quote ? n + 2 : n;
}

size_t
log_format(char *dst, size_t dstlen, const char *event, const struct log_kv *kv)
{
	char v[VALUE_MAX];
	size_t len;

	if (dstlen == 0)
		return 0;
	int n = snprintf(dst, dstlen, "event=%s", event);
	len = n < 0 ? 0 : (size_t)n < dstlen ? (size_t)n : dstlen - 1;
	for (; kv->kind != LOG_KV_END; kv++) {
		if (kv->kind != LOG_KV_NUM && kv->str == NULL)
			continue;
		size_t klen = strlen(kv->key);
		if (len + klen + 4 >= dstlen)
			break;
		size_t room = dstlen - 1 - len - klen - 2; /* past " key=" */
		size_t vmax = room + 1 < sizeof v ? room + 1 : sizeof v;
		bool quote;
		size_t need;
		/* Cut shorter until it fits once quoted; at worst every octet doubles. */
		for (int tries = 0;; tries++) {
			log_value(v, vmax, kv);
			need = quoted_len(v, &quote);
			if (need <= room || vmax <= 8)
				break;
			size_t over = need - room + 4;
			vmax = tries < 3 && over < vmax ? vmax - over : room > 20 ? room / 2 - 2 : 8;
		}
		if (need > room)
			break;
		dst[len++] = ' ';
		memcpy(dst + len, kv->key, klen);
		len += klen;
		dst[len++] = '=';
		if (quote)
			dst[len++] = '"';
		for (const char *p = v; *p; p++) {
			if (quote && *p == '"')
				dst[len++] = '\\';
			dst[len++] = *p;
		}
		if (quote)
			dst[len++] = '"';
		dst[len] = '\0';
	}
	return len;
}

static const char *
level_prefix(enum log_level level)
{
	switch (level) {
	case LOG_LV_ERR:
		return "error: ";
	case LOG_LV_WARN:
		return "warning: ";
	case LOG_LV_DEBUG:
		return "debug: ";
	default:
		return "";
	}
}

/* emit - body to where the lines go; event and kv (may be NULL) for the journal. */
static void
emit(enum log_level level, const char *body, const char *event, const struct log_kv *kv)
{
	const char *pre = level_prefix(level);

	/* Warnings and errors also into the ring `mailroom status` shows (none before it is mapped). */
	if (level <= LOG_LV_WARN)
		log_ring_add(level == LOG_LV_WARN ? LOG_RING_WARN : LOG_RING_ERR, log_role,
		    log_pid ? log_pid : (int)getpid(), body, strlen(body));
	if (log_dest == LOG_TO_SYSLOG) {
		syslog((int)level, "%s: %s%s", log_role, pre, body);
		return;
	}
	if (log_dest == LOG_TO_JOURNAL &&
	    log_journal_send((int)level, log_role, pre, body, event, kv) == 0)
		return;
	struct timespec ts;
	struct tm tm;
	char when[32];
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
	/* One write per line so lines from several processes do not interleave. */
	char line[BODY_MAX + 128];
	int n = snprintf(line, sizeof line, "%s.%03ldZ mailroom[%d] %s: %s%s\n", when,
	    ts.tv_nsec / 1000000, log_pid ? log_pid : (int)getpid(), log_role, pre, body);
	if (n > (int)sizeof line - 1)
		n = sizeof line - 1, line[n - 1] = '\n';
	ssize_t w = write(STDERR_FILENO, line, (size_t)n);
	(void)w;
}

void
log_event(enum log_level level, const char *event, const struct log_kv *kv)
{
	char body[BODY_MAX];

	log_format(body, sizeof body, event, kv);
	emit(level, body, event, kv);
}

static void log_text(enum log_level level, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void
log_text(enum log_level level, const char *fmt, va_list ap)
{
	char raw[BODY_MAX];

	vsnprintf(raw, sizeof raw, fmt, ap);
	if (level == LOG_LV_DEBUG) {
		char msg[BODY_MAX];
		/* Backslashes doubled: an escape in the line is always ours. */
		esc_text(msg, sizeof msg, raw, strlen(raw), ESC_BACKSLASH);
		emit(level, msg, NULL, NULL);
		return;
	}
	const struct log_kv kv[] = { KS("text", raw), { 0 } };
	log_event(level, "message", kv);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_text(LOG_LV_INFO, fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_text(LOG_LV_WARN, fmt, ap);
	va_end(ap);
}

void
log_err(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_text(LOG_LV_ERR, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!log_trace)
		return;
	va_start(ap, fmt);
	log_text(LOG_LV_DEBUG, fmt, ap);
	va_end(ap);
}

bool
log_debug_enabled(void)
{
	return log_trace;
}
