/*
 * metrics_text.c - the counters as Prometheus text (metrics_text.h). Every family
 * is written whole, HELP and TYPE first, its samples with fixed labels, so a
 * scraper sees the same series at every scrape (zeros included) and never a
 * label value from the network.
 */
#include "metrics/metrics_text.h"

#include <inttypes.h>
#include <stdbool.h>

static const char *const refusal_names[MX_REFUSE_COUNT] = {
	[MX_REFUSE_RELAY_DENIED] = "relay_denied",
	[MX_REFUSE_UNKNOWN_USER] = "unknown_user",
	[MX_REFUSE_SPF] = "spf_reject",
	[MX_REFUSE_DMARC] = "dmarc_reject",
	[MX_REFUSE_DNSBL] = "dnsbl",
	[MX_REFUSE_PREGREET] = "pregreet",
	[MX_REFUSE_RATE_LIMIT] = "rate_limit",
	[MX_REFUSE_GREYLISTED] = "greylisted",
	[MX_REFUSE_OVER_QUOTA] = "over_quota",
	[MX_REFUSE_TOO_BIG] = "too_big",
	[MX_REFUSE_TOO_MANY_ERRORS] = "too_many_errors",
	[MX_REFUSE_TOO_MANY_CONNECTIONS] = "too_many_connections",
	[MX_REFUSE_TOO_MANY_HOPS] = "too_many_hops",
	[MX_REFUSE_AUTH_REQUIRED] = "auth_required",
	[MX_REFUSE_SENDER_NOT_OWNED] = "sender_not_owned",
	[MX_REFUSE_MILTER] = "milter",
};

static const char *const milter_names[MX_MILTER_COUNT] = {
	[MX_MILTER_ACCEPT] = "accept",
	[MX_MILTER_REJECT] = "reject",
	[MX_MILTER_TEMPFAIL] = "tempfail",
	[MX_MILTER_DISCARD] = "discard",
	[MX_MILTER_QUARANTINE] = "quarantine",
	[MX_MILTER_FAILED] = "failed",
};

static const char *const auth_names[MX_AUTH_COUNT] = {
	[MX_AUTH_SMTP] = "smtp",
	[MX_AUTH_SUBMISSION] = "submission",
	[MX_AUTH_POP3] = "pop3",
	[MX_AUTH_WEB] = "web",
};

static const char *const role_names[MX_ROLE_COUNT] = {
	[MX_ROLE_LOOKUPD] = "lookupd",
	[MX_ROLE_SMTPD] = "smtpd",
	[MX_ROLE_QUEUED] = "queued",
	[MX_ROLE_POP3D] = "pop3d",
	[MX_ROLE_HTTPD] = "httpd",
	[MX_ROLE_ACMED] = "acmed",
};

static const char *const transport_names[MX_TRANSPORT_COUNT] = { "local", "remote" };
static const char *const result_names[MX_RESULT_COUNT] = { "delivered", "deferred", "bounced" };

const char *
metrics_refusal_name(enum mx_refusal r)
{
	return (unsigned)r < MX_REFUSE_COUNT ? refusal_names[r] : "?";
}

const char *
metrics_auth_name(enum mx_auth a)
{
	return (unsigned)a < MX_AUTH_COUNT ? auth_names[a] : "?";
}

const char *
metrics_role_name(enum mx_role r)
{
	return (unsigned)r < MX_ROLE_COUNT ? role_names[r] : "?";
}

/* head - a family's HELP and TYPE lines. */
static int
head(struct buf *out, const char *name, const char *type, const char *help)
{
	return buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static int
sample(struct buf *out, const char *name, uint64_t v)
{
	return buf_printf(out, "%s %" PRIu64 "\n", name, v);
}

static int
sample1(struct buf *out, const char *name, const char *label, const char *value, uint64_t v)
{
	return buf_printf(out, "%s{%s=\"%s\"} %" PRIu64 "\n", name, label, value, v);
}

/* Which listeners a family has a sample for. */
enum { ALL_LISTENERS, SMTP_LISTENERS, COUNTED_OPEN };

static bool
listener_in(const struct metrics_snap *s, enum service svc, int which)
{
	if (!(s->listeners & ((uint64_t)1 << svc)))
		return false;
	switch (which) {
	case SMTP_LISTENERS:
		return svc == SVC_SMTP || svc == SVC_SUBMISSION || svc == SVC_SUBMISSIONS;
	case COUNTED_OPEN:
		/* evhttp 2.1 tells nothing when a plain connection ends (httpd.c). */
		return svc != SVC_HTTP && svc != SVC_METRICS;
	default:
		return true;
	}
}

static int
by_listener(struct buf *out, const struct metrics_snap *s, const char *name, const char *type,
    const char *help, const uint64_t *v, int which)
{
	int rc = head(out, name, type, help);

	for (int i = 0; i < SVC_COUNT; i++)
		if (listener_in(s, (enum service)i, which))
			rc |= sample1(out, name, "listener", service_name((enum service)i), v[i]);
	return rc;
}

static int
histogram(struct buf *out, const struct metrics_snap *s)
{
	const char *name = "mailroom_fsync_batch_size";
	uint64_t cum = 0;
	int rc = head(out, name, "histogram",
	    "Requests made durable together by one group commit of the spool (smtpd and queued).");

	for (unsigned b = 0; b < MX_BATCH_BUCKETS; b++) {
		cum += s->batch_buckets[b];
		if (b + 1 < MX_BATCH_BUCKETS)
			rc |= buf_printf(out, "%s_bucket{le=\"%" PRIu64 "\"} %" PRIu64 "\n", name,
			    (uint64_t)1 << b, cum);
		else
			rc |= buf_printf(out, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n", name, cum);
	}
	/* The count is the +Inf bucket, so the two always agree within one scrape. */
	rc |= buf_printf(out, "%s_sum %" PRIu64 "\n%s_count %" PRIu64 "\n", name, s->batch_sum,
	    name, cum);
	return rc;
}

int
metrics_text(struct buf *out, const struct metrics_snap *s, time_t now)
{
	uint64_t t = now > 0 ? (uint64_t)now : 0;
	int rc = 0;

	rc |= head(out, "mailroom_start_time_seconds", "gauge",
	    "When mailroom serve started, in seconds since the Unix epoch.");
	rc |= sample(out, "mailroom_start_time_seconds", s->start_time);
	rc |= head(out, "mailroom_uptime_seconds", "gauge", "Seconds since mailroom serve started.");
	rc |= sample(out, "mailroom_uptime_seconds",
	    s->start_time > 0 && t > s->start_time ? t - s->start_time : 0);

	rc |= by_listener(out, s, "mailroom_connections_total", "counter",
	    "Connections admitted, by listener.", s->conn_accepted, ALL_LISTENERS);
	rc |= by_listener(out, s, "mailroom_connections_open", "gauge",
	    "Connections open now, by listener.", s->conn_open, COUNTED_OPEN);
	rc |= by_listener(out, s, "mailroom_messages_received_total", "counter",
	    "Messages acknowledged with a 250 (on stable storage), by listener.", s->received,
	    SMTP_LISTENERS);

	const char *dn = "mailroom_deliveries_total";
	rc |= head(out, dn, "counter",
	    "Delivery attempts of one recipient, by transport and result.");
	for (int tr = 0; tr < MX_TRANSPORT_COUNT; tr++)
		for (int r = 0; r < MX_RESULT_COUNT; r++)
			rc |= buf_printf(out, "%s{transport=\"%s\",result=\"%s\"} %" PRIu64 "\n", dn,
			    transport_names[tr], result_names[r], s->deliveries[tr][r]);
	rc |= head(out, "mailroom_messages_sent_total", "counter",
	    "Messages a remote server accepted (for one recipient or more).");
	rc |= sample(out, "mailroom_messages_sent_total", s->sent);
	rc |= head(out, "mailroom_bounces_total", "counter",
	    "Delivery status notifications (bounces) made.");
	rc |= sample(out, "mailroom_bounces_total", s->bounces);

	rc |= head(out, "mailroom_queue_messages", "gauge", "Messages in the queue.");
	rc |= sample(out, "mailroom_queue_messages", s->queue_messages);
	rc |= head(out, "mailroom_queue_oldest_message_age_seconds", "gauge",
	    "Age of the oldest message in the queue (0 when it is empty).");
	rc |= sample(out, "mailroom_queue_oldest_message_age_seconds",
	    s->queue_oldest > 0 && t > s->queue_oldest ? t - s->queue_oldest : 0);

	const char *an = "mailroom_auth_failures_total";
	rc |= head(out, an, "counter", "Failed logins, by service.");
	for (int a = 0; a < MX_AUTH_COUNT; a++)
		rc |= sample1(out, an, "service", auth_names[a], s->auth_failures[a]);
	const char *rn = "mailroom_refusals_total";
	rc |= head(out, rn, "counter", "Clients, commands and messages refused, by reason.");
	for (int r = 0; r < MX_REFUSE_COUNT; r++)
		rc |= sample1(out, rn, "reason", refusal_names[r], s->refusals[r]);
	const char *mn = "mailroom_milter_results_total";
	rc |= head(out, mn, "counter", "What each milter made of a message, by result "
	    "(failed: down, too slow or off the protocol).");
	for (int r = 0; r < MX_MILTER_COUNT; r++)
		rc |= sample1(out, mn, "result", milter_names[r], s->milter_results[r]);

	rc |= histogram(out, s);

	const char *sn = "mailroom_role_restarts_total";
	rc |= head(out, sn, "counter", "Role processes the supervisor restarted after they ended.");
	for (int r = 0; r < MX_ROLE_COUNT; r++)
		if (s->roles & ((uint64_t)1 << r))
			rc |= sample1(out, sn, "role", role_names[r], s->restarts[r]);
	return rc ? -1 : 0;
}
