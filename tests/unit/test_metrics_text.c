/*
 * test_metrics_text.c - unit tests for the metrics: the Prometheus text a snapshot
 * makes (HELP and TYPE before every family, only the listeners and roles that run,
 * cumulative histogram buckets, ages from the time given), the batch buckets, the
 * service a failed login counts under, and a connection pool's published gauge.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "metrics/metrics.h"
#include "metrics/metrics_text.h"
#include "net/conn_limit.h"
#include "text_lines.h"

#define NOW 1800000000

/* A snapshot of a server with smtp, pop3 and metrics, and some of everything counted. */
static void
sample_snap(struct metrics_snap *s)
{
	memset(s, 0, sizeof *s);
	s->start_time = NOW - 100;
	s->listeners = 1u << SVC_SMTP | 1u << SVC_POP3 | 1u << SVC_METRICS;
	s->roles = 1u << MX_ROLE_LOOKUPD | 1u << MX_ROLE_SMTPD | 1u << MX_ROLE_QUEUED |
	    1u << MX_ROLE_POP3D | 1u << MX_ROLE_HTTPD;
	s->conn_accepted[SVC_SMTP] = 7;
	s->conn_accepted[SVC_POP3] = 2;
	s->conn_accepted[SVC_METRICS] = 3;
	s->conn_open[SVC_SMTP] = 1;
	s->received[SVC_SMTP] = 5;
	s->deliveries[MX_LOCAL][MX_DELIVERED] = 4;
	s->deliveries[MX_REMOTE][MX_DEFERRED] = 2;
	s->sent = 1;
	s->bounces = 1;
	s->queue_messages = 3;
	s->queue_oldest = NOW - 42;
	s->auth_failures[MX_AUTH_POP3] = 6;
	s->refusals[MX_REFUSE_GREYLISTED] = 9;
	s->refusals[MX_REFUSE_RELAY_DENIED] = 1;
	s->batch_buckets[0] = 2;  /* batches of 1 */
	s->batch_buckets[2] = 1;  /* of 3 or 4 */
	s->batch_buckets[10] = 1; /* of more than 512 */
	s->batch_sum = 2 + 3 + 600;
	s->batch_count = 4;
	s->restarts[MX_ROLE_SMTPD] = 2;
}

static void
test_text_samples(void **state)
{
	struct metrics_snap s;
	struct buf b = { 0 };

	sample_snap(&s);
	assert_int_equal(metrics_text(&b, &s, NOW), 0);
	const char *t = b.data;
	expect_line(t, "mailroom_start_time_seconds 1799999900");
	expect_line(t, "mailroom_uptime_seconds 100");
	expect_line(t, "mailroom_connections_total{listener=\"smtp\"} 7");
	expect_line(t, "mailroom_connections_total{listener=\"pop3\"} 2");
	expect_line(t, "mailroom_connections_total{listener=\"metrics\"} 3");
	expect_line(t, "mailroom_connections_open{listener=\"smtp\"} 1");
	expect_line(t, "mailroom_connections_open{listener=\"pop3\"} 0");
	expect_line(t, "mailroom_messages_received_total{listener=\"smtp\"} 5");
	expect_line(t, "mailroom_deliveries_total{transport=\"local\",result=\"delivered\"} 4");
	expect_line(t, "mailroom_deliveries_total{transport=\"remote\",result=\"deferred\"} 2");
	expect_line(t, "mailroom_deliveries_total{transport=\"remote\",result=\"bounced\"} 0");
	expect_line(t, "mailroom_messages_sent_total 1");
	expect_line(t, "mailroom_bounces_total 1");
	expect_line(t, "mailroom_queue_messages 3");
	expect_line(t, "mailroom_queue_oldest_message_age_seconds 42");
	expect_line(t, "mailroom_auth_failures_total{service=\"pop3\"} 6");
	expect_line(t, "mailroom_auth_failures_total{service=\"web\"} 0");
	expect_line(t, "mailroom_refusals_total{reason=\"greylisted\"} 9");
	expect_line(t, "mailroom_refusals_total{reason=\"relay_denied\"} 1");
	expect_line(t, "mailroom_refusals_total{reason=\"too_many_errors\"} 0");
	expect_line(t, "mailroom_role_restarts_total{role=\"smtpd\"} 2");
	expect_line(t, "mailroom_role_restarts_total{role=\"httpd\"} 0");
	expect_line(t, "# TYPE mailroom_connections_total counter");
	expect_line(t, "# TYPE mailroom_queue_messages gauge");
	expect_line(t, "# TYPE mailroom_fsync_batch_size histogram");
	/* Listeners that are off have no series; nor do counts of open plain HTTP connections. */
	expect_no_line(t, "mailroom_connections_total{listener=\"submission\"} 0");
	expect_no_line(t, "mailroom_connections_open{listener=\"metrics\"} 0");
	expect_no_line(t, "mailroom_messages_received_total{listener=\"pop3\"} 0");
	assert_null(strstr(t, "listener=\"https\""));
	assert_int_equal(t[b.len - 1], '\n');
	buf_free(&b);
}

static void
test_text_histogram_cumulative(void **state)
{
	struct metrics_snap s;
	struct buf b = { 0 };

	sample_snap(&s);
	assert_int_equal(metrics_text(&b, &s, NOW), 0);
	const char *t = b.data;
	expect_line(t, "mailroom_fsync_batch_size_bucket{le=\"1\"} 2");
	expect_line(t, "mailroom_fsync_batch_size_bucket{le=\"2\"} 2");
	expect_line(t, "mailroom_fsync_batch_size_bucket{le=\"4\"} 3");
	expect_line(t, "mailroom_fsync_batch_size_bucket{le=\"512\"} 3");
	expect_line(t, "mailroom_fsync_batch_size_bucket{le=\"+Inf\"} 4");
	expect_line(t, "mailroom_fsync_batch_size_sum 605");
	expect_line(t, "mailroom_fsync_batch_size_count 4");
	buf_free(&b);
}

/* Every sample's family is announced (HELP, then TYPE) before its first sample. */
static void
test_text_structure(void **state)
{
	struct metrics_snap s;
	struct buf b = { 0 };
	char family[128] = "";
	int samples = 0;

	sample_snap(&s);
	assert_int_equal(metrics_text(&b, &s, NOW), 0);
	for (char *line = b.data, *end; *line != '\0'; line = end + 1) {
		end = strchr(line, '\n');
		assert_non_null(end);
		*end = '\0';
		if (strncmp(line, "# HELP ", 7) == 0) {
			size_t n = strcspn(line + 7, " ");
			assert_true(n < sizeof family);
			memcpy(family, line + 7, n);
			family[n] = '\0';
			continue;
		}
		char type[160];
		if (strncmp(line, "# TYPE ", 7) == 0) {
			snprintf(type, sizeof type, "# TYPE %s ", family);
			assert_memory_equal(line, type, strlen(type));
			continue;
		}
		/* A sample: its name is the family's (a histogram's with a suffix). */
		assert_true(family[0] != '\0');
		assert_memory_equal(line, family, strlen(family));
		assert_int_equal(strncmp(line, "mailroom_", 9), 0);
		char next = line[strlen(family)];
		assert_true(next == ' ' || next == '{' || next == '_');
		samples++;
	}
	assert_true(samples > 40);
	buf_free(&b);
}

/* Nothing yet: no queue age, and a start time in the future is no negative uptime. */
static void
test_text_empty(void **state)
{
	struct metrics_snap s;
	struct buf b = { 0 };

	memset(&s, 0, sizeof s);
	s.start_time = NOW + 5;
	assert_int_equal(metrics_text(&b, &s, NOW), 0);
	expect_line(b.data, "mailroom_uptime_seconds 0");
	expect_line(b.data, "mailroom_queue_oldest_message_age_seconds 0");
	expect_line(b.data, "mailroom_fsync_batch_size_bucket{le=\"+Inf\"} 0");
	assert_null(strstr(b.data, "listener="));
	assert_null(strstr(b.data, "role="));
	buf_free(&b);
}

static void
test_batch_buckets(void **state)
{
	assert_int_equal(metrics_batch_bucket(0), 0);
	assert_int_equal(metrics_batch_bucket(1), 0);
	assert_int_equal(metrics_batch_bucket(2), 1);
	assert_int_equal(metrics_batch_bucket(3), 2);
	assert_int_equal(metrics_batch_bucket(4), 2);
	assert_int_equal(metrics_batch_bucket(5), 3);
	assert_int_equal(metrics_batch_bucket(512), 9);
	assert_int_equal(metrics_batch_bucket(513), 10);
	assert_int_equal(metrics_batch_bucket(UINT64_MAX), 10);
}

/* Counting before metrics_map goes to this process's own region; a snapshot reads it. */
static void
test_counting(void **state)
{
	struct metrics_snap a, b;

	metrics_snapshot(&a);
	metrics_auth_failed("pop3s");
	metrics_auth_failed("pop3");
	metrics_auth_failed("submissions");
	metrics_auth_failed("smtp");
	metrics_auth_failed("web");
	metrics_refused(MX_REFUSE_DNSBL);
	metrics_delivery(MX_REMOTE, MX_BOUNCED);
	metrics_batch(3);
	metrics_snapshot(&b);
	assert_int_equal(b.auth_failures[MX_AUTH_POP3] - a.auth_failures[MX_AUTH_POP3], 2);
	assert_int_equal(b.auth_failures[MX_AUTH_SUBMISSION] - a.auth_failures[MX_AUTH_SUBMISSION], 1);
	assert_int_equal(b.auth_failures[MX_AUTH_SMTP] - a.auth_failures[MX_AUTH_SMTP], 1);
	assert_int_equal(b.auth_failures[MX_AUTH_WEB] - a.auth_failures[MX_AUTH_WEB], 1);
	assert_int_equal(b.refusals[MX_REFUSE_DNSBL] - a.refusals[MX_REFUSE_DNSBL], 1);
	assert_int_equal(b.deliveries[MX_REMOTE][MX_BOUNCED] - a.deliveries[MX_REMOTE][MX_BOUNCED], 1);
	assert_int_equal(b.batch_buckets[2] - a.batch_buckets[2], 1);
	assert_int_equal(b.batch_sum - a.batch_sum, 3);
	assert_int_equal(b.batch_count - a.batch_count, 1);
}

/* A pool with a gauge keeps it at its total through entries, leaves and the end. */
static void
test_pool_gauge(void **state)
{
	struct conn_limit pool = { 0 };
	_Atomic uint64_t gauge = 99;
	struct conn_slot a, b, c;

	pool.published = &gauge;
	assert_true(conn_limit_enter(&pool, "192.0.2.1/32", 10, 2, &a));
	assert_int_equal(gauge, 1);
	assert_true(conn_limit_enter(&pool, "192.0.2.2/32", 10, 2, &b));
	assert_false(conn_limit_enter(&pool, "192.0.2.2/32", 10, 1, &c));
	assert_int_equal(gauge, 2);
	conn_slot_leave(&a);
	assert_int_equal(gauge, 1);
	conn_limit_free(&pool);
	assert_int_equal(gauge, 0);
}

static void
test_names(void **state)
{
	assert_string_equal(metrics_refusal_name(MX_REFUSE_SPF), "spf_reject");
	assert_string_equal(metrics_refusal_name(MX_REFUSE_COUNT), "?");
	assert_string_equal(metrics_auth_name(MX_AUTH_SUBMISSION), "submission");
	assert_string_equal(metrics_role_name(MX_ROLE_QUEUED), "queued");
	for (int r = 0; r < MX_REFUSE_COUNT; r++)
		assert_non_null(metrics_refusal_name((enum mx_refusal)r));
	assert_string_equal(service_name(SVC_METRICS), "metrics");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_samples),
		cmocka_unit_test(test_text_histogram_cumulative),
		cmocka_unit_test(test_text_structure),
		cmocka_unit_test(test_text_empty),
		cmocka_unit_test(test_batch_buckets),
		cmocka_unit_test(test_counting),
		cmocka_unit_test(test_pool_gauge),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
