/*
 * log_journal.c - event lines to the systemd journal through libsystemd (see
 * log_journal.h). sd_journal_sendv sends a datagram to the journal's socket; the
 * roles' sandboxes let it through (seccomp allows socket and sendmsg, Landlock
 * does not wall off sending to a socket that exists).
 */
#define SD_JOURNAL_SUPPRESS_LOCATION /* the place would always be this file */

#include "util/log_journal.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <systemd/sd-journal.h>

bool
log_journal_present(void)
{
	struct stat st;

	return stat(LOG_JOURNAL_SOCKET, &st) == 0 && S_ISSOCK(st.st_mode);
}

struct fields {
	struct iovec *iov;
	int n;
	char *buf;
	size_t len, cap;
};

/* field - NAME=value into the buffer as one field; a field that does not fit is left out. */
static void
field(struct fields *f, const char *name, const char *value)
{
	size_t room = f->cap - f->len;

	if (f->n >= LOG_JOURNAL_FIELDS || room < 2)
		return;
	int k = snprintf(f->buf + f->len, room, "%s=%s", name, value);
	if (k < 0 || (size_t)k >= room)
		return;
	f->iov[f->n].iov_base = f->buf + f->len;
	f->iov[f->n].iov_len = (size_t)k;
	f->n++;
	f->len += (size_t)k + 1;
}

int
log_journal_fields(struct iovec *iov, char *buf, size_t buflen, int priority,
    const char *role, const char *pre, const char *body, const char *event,
    const struct log_kv *kv)
{
	struct fields f = { iov, 0, buf, 0, buflen };
	char num[16], name[64], value[1024], message[2200];

	snprintf(message, sizeof message, "%s: %s%s", role, pre, body);
	field(&f, "MESSAGE", message);
	snprintf(num, sizeof num, "%d", priority);
	field(&f, "PRIORITY", num);
	field(&f, "SYSLOG_IDENTIFIER", "mailroom");
	snprintf(num, sizeof num, "%d", LOG_MAIL >> 3);
	field(&f, "SYSLOG_FACILITY", num);
	field(&f, "ROLE", role);
	if (event == NULL)
		return f.n;
	field(&f, "EVENT", event);
	for (; kv != NULL && kv->kind != LOG_KV_END; kv++) {
		if (kv->kind != LOG_KV_NUM && kv->str == NULL)
			continue;
		size_t i;
		for (i = 0; kv->key[i] && i < sizeof name - 1; i++)
			name[i] = (char)toupper((unsigned char)kv->key[i]);
		name[i] = '\0';
		field(&f, name, log_value(value, sizeof value, kv));
	}
	return f.n;
}

int
log_journal_send(int priority, const char *role, const char *pre, const char *body,
    const char *event, const struct log_kv *kv)
{
	struct iovec iov[LOG_JOURNAL_FIELDS];
	char buf[8192];

	int n = log_journal_fields(iov, buf, sizeof buf, priority, role, pre, body, event, kv);
	return sd_journal_sendv(iov, n) < 0 ? -1 : 0;
}
