/*
 * log_journal.h - event lines to the systemd journal (sd_journal_sendv): the line as
 * MESSAGE=, and each of the event's keys as a field of its own (QID=, CLIENT=, ...),
 * so that journalctl can select on them. Used by log.c for [server] log = journal.
 */
#ifndef MAILROOM_LOG_JOURNAL_H
#define MAILROOM_LOG_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/uio.h>

#include "util/log.h"

#define LOG_JOURNAL_SOCKET "/run/systemd/journal/socket"
/* The most fields one event gets: the fixed ones and its keys (more are left out). */
#define LOG_JOURNAL_FIELDS 32

/* log_journal_present - whether the journal's socket is there to send to. */
bool log_journal_present(void);

/*
 * log_journal_fields - the fields of one event into iov (at most LOG_JOURNAL_FIELDS),
 * their text in buf: MESSAGE=role: pre body, PRIORITY=, SYSLOG_IDENTIFIER=mailroom,
 * SYSLOG_FACILITY=, ROLE=, and with an event EVENT= and one KEY=value (the key in
 * capitals, the value escaped as in the line but never quoted) for each of kv.
 * Returns the number of fields. Pure: the unit tests use it.
 */
int log_journal_fields(struct iovec *iov, char *buf, size_t buflen, int priority,
    const char *role, const char *pre, const char *body, const char *event,
    const struct log_kv *kv);

/* log_journal_send - one event; -1 when the journal did not take it (write it elsewhere). */
int log_journal_send(int priority, const char *role, const char *pre, const char *body,
    const char *event, const struct log_kv *kv);

#endif
