/*
 * bounce.c - delivery status notifications: a multipart/report (RFC 3462/6522)
 * with a message/delivery-status part (RFC 3464) naming each failed recipient
 * once, and the headers of the original message, queued from <> to its sender.
 * No line of it is over 998 octets: a long quoted header or reason is folded.
 */
#include "deliver/bounce.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "accounts.h"
#include "queue/inject.h"
#include "queue/queued.h"
#include "store/msg_reader.h"
#include "util/buf.h"
#include "util/escape.h"
#include "util/log.h"

#define HEADERS_MAX (64 * 1024) /* of the original message, quoted in the report */
#define TEXT_MAX 1024 /* a reason as the report shows it */

/* esc - s escaped for a header or a line of the report: it came from the network. */
static const char *
esc(char *buf, size_t len, const char *s)
{
	return esc_text(buf, len, s, strlen(s), 0);
}

/* rfc5322_date - "Fri, 27 Nov 2026 22:13:34 +0000". */
static void
rfc5322_date(char *out, size_t len, time_t t)
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, len, "%a, %d %b %Y %H:%M:%S +0000", &tm);
}

/*
 * status_of - the enhanced status code in a reply text like "550 5.1.1 ...", or
 * a fallback by reply class.
 */
static void
status_of(const char *text, char *out, size_t len)
{
	const char *p = text;
	while (*p && isdigit((unsigned char)*p))
		p++;
	while (*p == ' ' || *p == '-')
		p++;
	if ((p[0] == '4' || p[0] == '5') && p[1] == '.' && isdigit((unsigned char)p[2])) {
		size_t n = strspn(p, "0123456789.");
		if (n < len) {
			memcpy(out, p, n);
			out[n] = '\0';
			/* A temporary failure that timed out in the queue is final now. */
			if (out[0] == '4')
				out[0] = '5';
			return;
		}
	}
	snprintf(out, len, "%s", text[0] == '4' ? "4.4.7" : "5.0.0");
	if (out[0] == '4')
		out[0] = '5';
}

/* original_headers - the header section of the queued message (LF line ends). */
static int
original_headers(struct queued *q, const struct envelope *env, struct buf *out)
{
	if (msg_read_head(q->store.queue_dir, env, HEADERS_MAX, out) < 0)
		return -1;
	char *end = strstr(out->data, "\n\n");
	if (end != NULL)
		out->len = (size_t)(end - out->data) + 1;
	return 0;
}

static int
compose(struct queued *q, const struct envelope *env, const char *id, struct buf *msg)
{
	const char *host = q->cfg->hostname;
	char date[64], arrival[64], status[32];
	char e1[ESC_SIZE(ADDR_MAX)], e2[ESC_SIZE(ADDR_MAX)], e3[ESC_SIZE(TEXT_MAX)];
	struct buf hdrs = { 0 };
	int rc = 0;

	rfc5322_date(date, sizeof date, time(NULL));
	rfc5322_date(arrival, sizeof arrival, env->arrival);
	rc |= buf_printf(msg,
	    "Received: by %s (mailroom) id %s; %s\n"
	    "From: Mail Delivery System <MAILER-DAEMON@%s>\n"
	    "To: <%s>\n"
	    "Subject: Undelivered Mail Returned to Sender\n"
	    "Date: %s\n"
	    "Message-ID: <%s.bounce@%s>\n"
	    "Auto-Submitted: auto-replied\n"
	    "MIME-Version: 1.0\n"
	    "Content-Type: multipart/report; report-type=delivery-status;\n"
	    "\tboundary=\"%s/%s\"\n"
	    "\n"
	    "This is a MIME-encapsulated message.\n"
	    "\n"
	    "--%s/%s\n"
	    "Content-Description: Notification\n"
	    "Content-Type: text/plain; charset=utf-8\n"
	    "\n"
	    "This is the mail system at host %s.\n"
	    "\n"
	    "Your message could not be delivered to one or more recipients.\n"
	    "The addresses and the reasons are below.\n"
	    "\n",
	    host, id, date, host, esc(e1, sizeof e1, env->sender), date, id, host, id, host, id,
	    host, host);
	for (size_t i = 0; i < env->nrcpts; i++) {
		const struct spool_rcpt *r = &env->rcpts[i];
		if (r->dsn_due)
			rc |= buf_printf(msg, "<%s>: %s\n", esc(e1, sizeof e1, r->addr),
			    esc(e3, sizeof e3, r->error ? r->error : "failed"));
	}
	rc |= buf_printf(msg,
	    "\n--%s/%s\n"
	    "Content-Description: Delivery report\n"
	    "Content-Type: message/delivery-status\n"
	    "\n"
	    "Reporting-MTA: dns; %s\n"
	    "X-Mailroom-Queue-ID: %s\n"
	    "Arrival-Date: %s\n",
	    id, host, host, env->id, arrival);
	for (size_t i = 0; i < env->nrcpts; i++) {
		const struct spool_rcpt *r = &env->rcpts[i];
		if (!r->dsn_due)
			continue;
		const char *err = r->error ? r->error : "554 5.0.0 failed";
		status_of(err, status, sizeof status);
		/* A reply from the remote server is an smtp diagnostic; anything else is ours. */
		bool smtp = isdigit((unsigned char)err[0]) && r->kind == TARGET_REMOTE;
		rc |= buf_printf(msg,
		    "\nFinal-Recipient: rfc822; %s\n"
		    "Original-Recipient: rfc822; %s\n"
		    "Action: failed\n"
		    "Status: %s\n"
		    "Diagnostic-Code: %s; %s\n",
		    esc(e1, sizeof e1, r->addr), esc(e2, sizeof e2, r->orig), status,
		    smtp ? "smtp" : "x-mailroom", esc(e3, sizeof e3, err));
	}
	if (original_headers(q, env, &hdrs) == 0) {
		rc |= buf_printf(msg,
		    "\n--%s/%s\n"
		    "Content-Description: Undelivered Message Headers\n"
		    "Content-Type: text/rfc822-headers\n"
		    "\n",
		    id, host);
		rc |= buf_append(msg, hdrs.data, hdrs.len);
	}
	rc |= buf_printf(msg, "\n--%s/%s--\n", id, host);
	buf_free(&hdrs);
	return rc ? -1 : 0;
}

int
bounce_write(struct queued *q, const struct envelope *env, char id[QUEUE_ID_LEN + 1],
    int *fd)
{
	struct buf msg = { 0 };
	int rc = -1;

	*fd = -1;
	/* The id goes into the text (Received, Message-ID), so it is chosen first. */
	spool_new_id(id);
	if (compose(q, env, id, &msg) < 0) {
		id[0] = '\0';
		goto out;
	}
	struct inject m = { "", env->sender, BODY_8BITMIME, true, false, msg.data, msg.len };
	int r = queue_inject(q, &m, id, fd);
	if (r == 0)
		ev_warn("bounce-dropped", KS("qid", env->id), KA("to", env->sender),
		    KS("reason", "no such user"));
	rc = r < 0 ? -1 : 0;
out:
	if (rc < 0)
		ev_err("bounce-error", KS("qid", env->id), KS("error", strerror(errno)));
	buf_free(&msg);
	return rc;
}
