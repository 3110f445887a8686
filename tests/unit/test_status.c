/*
 * test_status.c - unit tests for `mailroom status`: the shared log ring (order,
 * cutting, what is kept before it is mapped, and whole lines read while another
 * process writes), the frames of the status socket, the supervisor's JSON (states,
 * listeners, clamped counts, hostile log text escaped) and the text and verdict
 * the command makes of it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "ipc/frame.h"
#include "status/status_json.h"
#include "status/status_proto.h"
#include "status/status_text.h"
#include "util/log_ring.h"
#include "text_lines.h"

#define NOW 1800000000

static void
add(const char *role, const char *text)
{
	log_ring_add(LOG_RING_ERR, role, 42, text, strlen(text));
}

static void
test_ring_unmapped_keeps_nothing(void **state)
{
	struct log_ring_entry e[4];

	/* The first test to run: nothing is mapped yet, as in an admin command. */
	add("cli", "lost");
	assert_int_equal(log_ring_read(e, 4), 0);
	assert_int_equal(log_ring_total(), 0);
}

static void
test_ring_order_and_overwrite(void **state)
{
	struct log_ring_entry e[LOG_RING_SLOTS];
	char text[32];

	assert_int_equal(log_ring_map(), 0);
	assert_int_equal(log_ring_read(e, LOG_RING_SLOTS), 0);
	log_ring_add(LOG_RING_WARN, "smtpd", 7, "first", 5);
	add("serve", "second");
	size_t n = log_ring_read(e, LOG_RING_SLOTS);
	assert_int_equal(n, 2);
	assert_string_equal(e[0].text, "first");
	assert_string_equal(e[0].role, "smtpd");
	assert_int_equal(e[0].pid, 7);
	assert_int_equal(e[0].level, LOG_RING_WARN);
	assert_string_equal(log_ring_level_name(e[0].level), "warning");
	assert_string_equal(e[1].text, "second");
	assert_string_equal(log_ring_level_name(e[1].level), "error");
	assert_true(e[1].time_ms >= e[0].time_ms && e[0].time_ms > 1600000000000LL);

	/* More lines than slots: the newest stay, oldest first. */
	for (int i = 0; i < 3 * LOG_RING_SLOTS; i++) {
		snprintf(text, sizeof text, "line %d", i);
		add("queued", text);
	}
	assert_int_equal(log_ring_total(), 2 + 3 * LOG_RING_SLOTS);
	n = log_ring_read(e, 10);
	assert_int_equal(n, 10);
	for (int i = 0; i < 10; i++) {
		snprintf(text, sizeof text, "line %d", 3 * LOG_RING_SLOTS - 10 + i);
		assert_string_equal(e[i].text, text);
	}
	/* Never more than the ring holds. */
	struct log_ring_entry many[2 * LOG_RING_SLOTS];
	assert_int_equal(log_ring_read(many, 2 * LOG_RING_SLOTS), LOG_RING_SLOTS);
}

static void
test_ring_cuts_long_lines(void **state)
{
	struct log_ring_entry e[1];
	char text[1000];

	assert_int_equal(log_ring_map(), 0);
	memset(text, 'x', sizeof text);
	log_ring_add(LOG_RING_ERR, "a-role-name-far-too-long", 1, text, sizeof text);
	assert_int_equal(log_ring_read(e, 1), 1);
	assert_int_equal(strlen(e[0].text), LOG_RING_TEXT - 1);
	assert_int_equal(strlen(e[0].role), LOG_RING_ROLE - 1);
}

/* line_for - the text a writer puts for its line i: the number, then a letter it decides. */
static void
line_for(char *out, size_t len, int i)
{
	int n = snprintf(out, len, "%d:", i);
	memset(out + n, 'a' + i % 26, len - (size_t)n - 1);
	out[len - 1] = '\0';
}

static void
test_ring_whole_lines_while_written(void **state)
{
	enum { LINES = 20000 };
	struct log_ring_entry e[LOG_RING_SLOTS];
	char want[LOG_RING_TEXT];

	assert_int_equal(log_ring_map(), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		for (int i = 0; i < LINES; i++) {
			line_for(want, sizeof want, i);
			add("writer", want);
		}
		_exit(0);
	}
	unsigned checked = 0;
	int status;
	/* Bounded: at most this many reads, stopping when the writer is done. */
	for (int round = 0; round < 1000000; round++) {
		bool done = waitpid(pid, &status, WNOHANG) == pid;
		size_t n = log_ring_read(e, LOG_RING_SLOTS);
		for (size_t k = 0; k < n; k++) {
			int i = atoi(e[k].text);
			line_for(want, sizeof want, i);
			assert_string_equal(e[k].text, want);
			assert_string_equal(e[k].role, "writer");
			checked++;
		}
		if (done)
			break;
	}
	assert_int_equal(log_ring_total(), LINES);
	assert_true(checked > 0);
}

static void
test_proto_frames(void **state)
{
	struct frame *f = malloc(sizeof *f), *g = malloc(sizeof *g);
	enum status_code code;
	char text[64];

	assert_non_null(f);
	assert_non_null(g);
	status_request_frame(f);
	assert_true(status_request_parse(g, f->buf, f->len));
	/* A reply is no request; a request with a field is malformed. */
	assert_int_equal(status_reply_frame(f, ST_OK, "{}"), 0);
	assert_false(status_request_parse(g, f->buf, f->len));
	status_request_frame(f);
	frame_put_str(f, "more");
	assert_false(status_request_parse(g, f->buf, f->len));
	assert_false(status_request_parse(g, "\1\0", 2));

	assert_int_equal(status_reply_frame(f, ST_REFUSED, "go away"), 0);
	assert_int_equal(status_reply_parse(g, f->buf, f->len, &code, text, sizeof text), 0);
	assert_int_equal(code, ST_REFUSED);
	assert_string_equal(text, "go away");
	/* Too long for the caller's buffer, an unknown code, trailing data: refused whole. */
	char small[4];
	assert_int_equal(status_reply_parse(g, f->buf, f->len, &code, small, sizeof small), -1);
	frame_init(f, ST_REPLY);
	frame_put_u64(f, 9);
	frame_put_str(f, "x");
	assert_int_equal(status_reply_parse(g, f->buf, f->len, &code, text, sizeof text), -1);
	assert_int_equal(status_reply_frame(f, ST_OK, "{}"), 0);
	frame_put_u64(f, 1);
	assert_int_equal(status_reply_parse(g, f->buf, f->len, &code, text, sizeof text), -1);
	status_request_frame(f);
	assert_int_equal(status_reply_parse(g, f->buf, f->len, &code, text, sizeof text), -1);
	/* A text larger than a frame cannot be sent. */
	char *big = malloc(FRAME_MAX + 1);
	assert_non_null(big);
	memset(big, 'a', FRAME_MAX);
	big[FRAME_MAX] = '\0';
	assert_int_equal(status_reply_frame(f, ST_OK, big), -1);
	free(big);

	/* One socket name per data dir. */
	struct sockaddr_un a, b;
	socklen_t alen, blen;
	status_socket_name("/var/lib/mailroom", &a, &alen);
	status_socket_name("/srv/mail", &b, &blen);
	assert_int_equal(a.sun_path[0], '\0');
	assert_non_null(memmem(a.sun_path + 1, alen - offsetof(struct sockaddr_un, sun_path) - 1,
	    "mailroom-serve-", 15));
	assert_false(alen == blen && memcmp(&a, &b, alen) == 0);
	free(f);
	free(g);
}

/* A server with smtp and pop3 (pop3s configured but unused counts stay 0), one role of each state. */
static void
sample(struct status_snapshot *s, struct metrics_snap *m, struct log_ring_entry *e)
{
	memset(s, 0, sizeof *s);
	memset(m, 0, sizeof *m);
	memset(e, 0, 3 * sizeof *e);
	s->version = "9.9.9";
	s->hostname = "mx.example.test";
	s->data_dir = "/var/lib/mailroom";
	s->config_path = "/etc/mailroom/mailroom.conf";
	s->pid = 100;
	s->started = NOW - 3700;
	s->now = NOW;
	s->reloads = 2;
	s->last_reload = NOW - 60;
	s->reload_error = "mailroom.conf:3: unknown key \"bogus\"";
	s->listeners = 1u << SVC_SMTP | 1u << SVC_POP3;
	s->nroles = 5;
	s->roles[0] = (struct status_role){ .name = "lookupd", .state = SS_RUNNING, .pid = 101,
		.started = NOW - 3700 };
	s->roles[1] = (struct status_role){ .name = "smtpd", .state = SS_RESTARTING, .restarts = 3,
		.exit_time = NOW - 1, .exit_reason = "killed by signal 9", .restart_at = NOW + 4 };
	s->roles[2] = (struct status_role){ .name = "queued", .state = SS_RUNNING, .pid = 103,
		.started = NOW - 10, .restarts = 1, .exit_time = NOW - 10,
		.exit_reason = "exited with status 1" };
	s->roles[3] = (struct status_role){ .name = "pop3d", .state = SS_DOWN, .restarts = 1,
		.exit_time = NOW - 5, .exit_reason = "exited with status 2" };
	s->roles[4] = (struct status_role){ .name = "httpd", .state = SS_OFF };
	m->conn_open[SVC_SMTP] = 2;
	m->conn_accepted[SVC_SMTP] = 17;
	m->conn_open[SVC_POP3] = UINT64_MAX; /* a role's nonsense */
	m->conn_accepted[SVC_POP3] = UINT64_MAX;
	m->conn_open[SVC_HTTPS] = 5;         /* no such listener: not shown */
	m->queue_messages = 4;
	m->queue_oldest = NOW - 125;
	s->m = m;
	e[0] = (struct log_ring_entry){ .time_ms = (int64_t)(NOW - 30) * 1000 + 5, .pid = 103,
		.level = LOG_RING_ERR, .role = "queued", .text = "cannot deliver" };
	e[1] = (struct log_ring_entry){ .time_ms = (int64_t)(NOW - 20) * 1000, .pid = 666,
		.level = LOG_RING_WARN, .role = "serve\x1b[31m", .text = "fake \x1b[2J\xff line\n" };
	e[2] = (struct log_ring_entry){ .time_ms = (int64_t)(NOW - 10) * 1000, .pid = 100,
		.level = 77, .role = "serve", .text = "odd level" };
	s->errors = e;
	s->nerrors = 3;
	s->errors_total = 40;
}

static json_t *
sample_json(void)
{
	struct status_snapshot s;
	struct metrics_snap m;
	struct log_ring_entry e[3];

	sample(&s, &m, e);
	char *text = status_json(&s);
	assert_non_null(text);
	assert_null(strchr(text, '\n'));
	json_error_t err;
	json_t *j = json_loads(text, 0, &err);
	if (j == NULL)
		fail_msg("not JSON (%s): %s", err.text, text);
	free(text);
	return j;
}

static long long
jint(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);
	if (!json_is_integer(v))
		fail_msg("%s is no integer", key);
	return (long long)json_integer_value(v);
}

static const char *
jstr(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);
	if (!json_is_string(v))
		fail_msg("%s is no string", key);
	return json_string_value(v);
}

static void
test_json_server_and_roles(void **state)
{
	json_t *j = sample_json();

	assert_string_equal(jstr(j, "version"), "9.9.9");
	assert_int_equal(jint(j, "pid"), 100);
	assert_int_equal(jint(j, "uptime"), 3700);
	assert_int_equal(jint(j, "started"), NOW - 3700);
	assert_string_equal(jstr(j, "data_dir"), "/var/lib/mailroom");
	assert_int_equal(jint(j, "reloads"), 2);
	assert_int_equal(jint(j, "last_reload"), NOW - 60);
	assert_string_equal(jstr(j, "reload_error"), "mailroom.conf:3: unknown key \"bogus\"");

	json_t *roles = json_object_get(j, "roles");
	assert_int_equal(json_array_size(roles), 5);
	json_t *r = json_array_get(roles, 0);
	assert_string_equal(jstr(r, "name"), "lookupd");
	assert_string_equal(jstr(r, "state"), "running");
	assert_int_equal(jint(r, "pid"), 101);
	assert_int_equal(jint(r, "uptime"), 3700);
	assert_true(json_is_null(json_object_get(r, "last_exit")));
	assert_null(json_object_get(r, "restart_in"));
	r = json_array_get(roles, 1);
	assert_string_equal(jstr(r, "state"), "restarting");
	assert_true(json_is_null(json_object_get(r, "pid")));
	assert_true(json_is_null(json_object_get(r, "uptime")));
	assert_int_equal(jint(r, "restarts"), 3);
	assert_int_equal(jint(r, "restart_in"), 4);
	json_t *x = json_object_get(r, "last_exit");
	assert_int_equal(jint(x, "time"), NOW - 1);
	assert_string_equal(jstr(x, "reason"), "killed by signal 9");
	assert_string_equal(jstr(json_array_get(roles, 3), "state"), "down");
	r = json_array_get(roles, 4);
	assert_string_equal(jstr(r, "state"), "off");
	assert_int_equal(jint(r, "restarts"), 0);
	json_decref(j);
}

static void
test_json_counters_and_errors(void **state)
{
	json_t *j = sample_json();

	json_t *c = json_object_get(j, "connections");
	json_t *l = json_object_get(c, "listeners");
	assert_int_equal(json_array_size(l), 2);
	assert_string_equal(jstr(json_array_get(l, 0), "name"), "smtp");
	assert_int_equal(jint(json_array_get(l, 0), "open"), 2);
	assert_int_equal(jint(json_array_get(l, 0), "accepted"), 17);
	assert_string_equal(jstr(json_array_get(l, 1), "name"), "pop3");
	/* Clamped to what JSON holds; the total cannot wrap. */
	assert_int_equal(jint(json_array_get(l, 1), "accepted"), INT64_MAX);
	assert_int_equal(jint(c, "open"), 2 + (long long)UINT32_MAX);

	json_t *q = json_object_get(j, "queue");
	assert_int_equal(jint(q, "messages"), 4);
	assert_int_equal(jint(q, "oldest_age"), 125);

	json_t *e = json_object_get(j, "errors");
	assert_int_equal(json_array_size(e), 3);
	assert_int_equal(jint(j, "errors_total"), 40);
	json_t *first = json_array_get(e, 0);
	assert_int_equal(jint(first, "time"), NOW - 30);
	assert_string_equal(jstr(first, "role"), "queued");
	assert_string_equal(jstr(first, "level"), "error");
	assert_string_equal(jstr(first, "text"), "cannot deliver");
	/* What a compromised role wrote: no control character or bad UTF-8 gets through. */
	json_t *fake = json_array_get(e, 1);
	assert_string_equal(jstr(fake, "role"), "?");
	assert_string_equal(jstr(fake, "level"), "warning");
	assert_string_equal(jstr(fake, "text"), "fake \\x1b[2J\\xff line\\x0a");
	assert_string_equal(jstr(json_array_get(e, 2), "level"), "?");
	json_decref(j);
}

static void
test_json_empty_queue(void **state)
{
	struct status_snapshot s;
	struct metrics_snap m;
	struct log_ring_entry e[3];

	sample(&s, &m, e);
	m.queue_messages = 0;
	s.reload_error = NULL;
	s.last_reload = 0;
	s.nerrors = 0;
	char *text = status_json(&s);
	json_t *j = json_loads(text, 0, NULL);
	assert_non_null(j);
	assert_true(json_is_null(json_object_get(json_object_get(j, "queue"), "oldest_age")));
	assert_true(json_is_null(json_object_get(j, "reload_error")));
	assert_true(json_is_null(json_object_get(j, "last_reload")));
	assert_int_equal(json_array_size(json_object_get(j, "errors")), 0);
	json_decref(j);
	free(text);
}

static void
test_text_summary(void **state)
{
	json_t *j = sample_json();
	struct buf b = { 0 };

	assert_int_equal(status_text(&b, j), 0);
	const char *t = b.data;
	expect_line(t, "mailroom 9.9.9, pid 100, up 1h01m (since 2027-01-15T06:58:20Z)");
	expect_line(t, "hostname mx.example.test, data dir /var/lib/mailroom, config "
	    "/etc/mailroom/mailroom.conf");
	expect_line(t, "reloads: 2, the last at 2027-01-15T07:59:00Z, refused: mailroom.conf:3: "
	    "unknown key \"bogus\"");
	expect_line(t, "  lookupd  running    pid 101     up 1h01m   restarts 0");
	expect_line(t, "  smtpd    restarting restart in 4s          restarts 3, last exit "
	    "2027-01-15T07:59:59Z: killed by signal 9");
	expect_line(t, "  queued   running    pid 103     up 10s     restarts 1, last exit "
	    "2027-01-15T07:59:50Z: exited with status 1");
	expect_line(t, "  pop3d    down                              restarts 1, last exit "
	    "2027-01-15T07:59:55Z: exited with status 2");
	expect_line(t, "  httpd    off        (not configured)");
	expect_line(t, "connections: 4294967297 open");
	expect_line(t, "  smtp              2 open        17 accepted");
	expect_line(t, "queue: 4 messages, the oldest 2m old");
	expect_line(t, "last errors (40 since the start, the last 3):");
	expect_line(t, "  2027-01-15T07:59:30Z queued[103] error: cannot deliver");
	expect_line(t, "  2027-01-15T07:59:40Z ?[666] warning: fake \\x1b[2J\\xff line\\x0a");
	assert_null(strchr(t, '\x1b'));

	char down[64];
	assert_int_equal(status_down(j, down, sizeof down), 2);
	assert_string_equal(down, "smtpd (restarting), pop3d (down)");
	/* Cut to the caller's buffer, still counted. */
	char tiny[8];
	assert_int_equal(status_down(j, tiny, sizeof tiny), 2);
	assert_int_equal(strlen(tiny), 7);
	buf_free(&b);
	json_decref(j);
}

static void
test_text_healthy_and_sparse(void **state)
{
	struct buf b = { 0 };
	char down[64];
	json_t *j = json_loads("{\"version\":\"1\",\"reloads\":0,\"roles\":[{\"name\":\"smtpd\","
	    "\"state\":\"running\",\"pid\":5,\"uptime\":1,\"restarts\":0},{\"name\":\"httpd\","
	    "\"state\":\"off\"}],\"queue\":{\"messages\":1,\"oldest_age\":null},\"errors\":[]}", 0, NULL);

	assert_non_null(j);
	assert_int_equal(status_down(j, down, sizeof down), 0);
	assert_string_equal(down, "");
	assert_int_equal(status_text(&b, j), 0);
	expect_line(b.data, "reloads: none");
	expect_line(b.data, "queue: 1 message");
	expect_line(b.data, "connections: 0 open");
	expect_line(b.data, "last errors: none");
	expect_line(b.data, "hostname -, data dir -, config -");
	buf_free(&b);
	json_decref(j);

	/* A stopping role is no running one. */
	j = json_loads("{\"roles\":[{\"name\":\"queued\",\"state\":\"stopping\",\"pid\":3}]}", 0, NULL);
	assert_int_equal(status_down(j, down, sizeof down), 1);
	assert_string_equal(down, "queued (stopping)");
	json_decref(j);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ring_unmapped_keeps_nothing),
		cmocka_unit_test(test_ring_order_and_overwrite),
		cmocka_unit_test(test_ring_cuts_long_lines),
		cmocka_unit_test(test_ring_whole_lines_while_written),
		cmocka_unit_test(test_proto_frames),
		cmocka_unit_test(test_json_server_and_roles),
		cmocka_unit_test(test_json_counters_and_errors),
		cmocka_unit_test(test_json_empty_queue),
		cmocka_unit_test(test_text_summary),
		cmocka_unit_test(test_text_healthy_and_sparse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
