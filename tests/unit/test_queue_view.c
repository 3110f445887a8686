/*
 * test_queue_view.c - unit tests for queue/queue_view.c, what `mailroom queue` and
 * queued's answers to httpd share: the names of the recipients' states, a message
 * as JSON (fields, held, next_try, recipients bounded, text that is not UTF-8),
 * the header block, and the spool read oldest first with queued's cached copies.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "queue/queue_view.h"
#include "store/spool.h"
#include "store/spool_writer.h"

#define NOW 1795820000

static void
make_env(struct envelope *env, const char *id)
{
	memset(env, 0, sizeof *env);
	snprintf(env->id, sizeof env->id, "%s", id);
	env->arrival = NOW - 90;
	env->sender = strdup("demo@example.test");
	env->client = strdup("192.0.2.7");
	env->helo = strdup("client.example.test");
	env->body_size = 1234;
	assert_int_equal(envelope_add_rcpt(env, TARGET_REMOTE, "a@remote.test", "a@remote.test"), 0);
	assert_int_equal(envelope_add_rcpt(env, TARGET_REMOTE, "b@remote.test", "b@remote.test"), 0);
	assert_int_equal(envelope_add_rcpt(env, TARGET_LOCAL, "demo@example.test", "demo@example.test"), 0);
}

static void
test_state_names(void **state)
{
	struct spool_rcpt r = { .status = RCPT_PENDING };

	assert_string_equal(queue_state_name(queue_rcpt_state(&r)), "queued");
	r.attempts = 1;
	assert_string_equal(queue_state_name(queue_rcpt_state(&r)), "deferred");
	r.status = RCPT_DELIVERED;
	assert_string_equal(queue_state_name(queue_rcpt_state(&r)), "delivered");
	r.status = RCPT_BOUNCED;
	r.dsn_due = true;
	assert_string_equal(queue_state_name(queue_rcpt_state(&r)), "bounced");
	/* An error recorded without an attempt counted (a hop limit, a bad address) is a deferral too. */
	struct spool_rcpt e = { .status = RCPT_PENDING, .error = "451 4.3.0 out of memory" };
	assert_int_equal(queue_rcpt_state(&e), QS_DEFERRED);
}

static const char *
str(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	assert_true(json_is_string(v));
	return json_string_value(v);
}

static json_int_t
num(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

static void
test_msg_json(void **state)
{
	struct envelope env;

	make_env(&env, "0123456789ABCDEF");
	env.rcpts[0].attempts = 2;
	env.rcpts[0].next_try = NOW + 600;
	env.rcpts[0].error = strdup("451 4.4.1 no answer from mx.remote.test");
	env.rcpts[1].next_try = NOW + 300;
	env.rcpts[2].status = RCPT_DELIVERED;
	json_t *o = queue_msg_json(&env, NOW, 0);
	assert_non_null(o);
	assert_string_equal(str(o, "id"), "0123456789ABCDEF");
	assert_int_equal(num(o, "arrived"), NOW - 90);
	assert_int_equal(num(o, "age"), 90);
	assert_int_equal(num(o, "size"), 1234);
	assert_string_equal(str(o, "from"), "demo@example.test");
	assert_true(json_is_false(json_object_get(o, "held")));
	assert_true(json_is_null(json_object_get(o, "hold_reason")));
	assert_int_equal(num(o, "next_try"), NOW + 300); /* the earliest of what waits */
	assert_int_equal(num(o, "recipients_total"), 3);
	json_t *rs = json_object_get(o, "recipients");
	assert_int_equal(json_array_size(rs), 3);
	assert_string_equal(str(json_array_get(rs, 0), "address"), "a@remote.test");
	assert_string_equal(str(json_array_get(rs, 0), "status"), "deferred");
	assert_string_equal(str(json_array_get(rs, 0), "error"),
	    "451 4.4.1 no answer from mx.remote.test");
	assert_string_equal(str(json_array_get(rs, 1), "status"), "queued");
	assert_true(json_is_null(json_object_get(json_array_get(rs, 1), "error")));
	assert_string_equal(str(json_array_get(rs, 2), "status"), "delivered");
	json_decref(o);

	/* Held: no next try; why it is held is said. A retry overdue is "now". */
	env.held = true;
	env.hold_reason = strdup("queue hold");
	o = queue_msg_json(&env, NOW, 2);
	assert_true(json_is_true(json_object_get(o, "held")));
	assert_string_equal(str(o, "hold_reason"), "queue hold");
	assert_true(json_is_null(json_object_get(o, "next_try")));
	assert_int_equal(json_array_size(json_object_get(o, "recipients")), 2);
	assert_int_equal(num(o, "recipients_total"), 3);
	json_decref(o);
	env.held = false;
	o = queue_msg_json(&env, NOW + 1000, 0);
	assert_int_equal(num(o, "next_try"), NOW + 1000);
	json_decref(o);

	/* Nothing left to try: null. The null sender is "". */
	for (size_t i = 0; i < env.nrcpts; i++)
		env.rcpts[i].status = RCPT_DELIVERED;
	env.sender[0] = '\0';
	o = queue_msg_json(&env, NOW, 0);
	assert_true(json_is_null(json_object_get(o, "next_try")));
	assert_string_equal(str(o, "from"), "");
	json_decref(o);
	envelope_free(&env);
}

static void
test_json_text(void **state)
{
	/* Latin-1, a stray continuation, an overlong slash, a NUL: each becomes U+FFFD. */
	static const char in[] = "caf\xe9 \x80 \xc0\xaf x\0y \xc3\xa9t\xc3\xa9";
	json_t *j = queue_json_text(in, sizeof in - 1);
	assert_non_null(j);
	assert_string_equal(json_string_value(j),
	    "caf\xef\xbf\xbd \xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd x\xef\xbf\xbdy \xc3\xa9t\xc3\xa9");
	char *dumped = json_dumps(j, JSON_ENCODE_ANY);
	assert_non_null(dumped); /* jansson takes it: well-formed UTF-8 */
	free(dumped);
	json_decref(j);
	j = queue_json_text("", 0);
	assert_string_equal(json_string_value(j), "");
	json_decref(j);
	/* A recipient address that is not UTF-8 does not lose the whole message. */
	struct envelope env;
	make_env(&env, "0123456789ABCDEF");
	free(env.rcpts[1].addr);
	env.rcpts[1].addr = strdup("\xff@remote.test");
	json_t *o = queue_msg_json(&env, NOW, 0);
	assert_non_null(o);
	assert_string_equal(str(json_array_get(json_object_get(o, "recipients"), 1), "address"),
	    "\xef\xbf\xbd@remote.test");
	json_decref(o);
	envelope_free(&env);
}

static void
test_header_block(void **state)
{
	const char *t = "Subject: x\nFrom: a@b\n\nbody\n\nmore\n";
	assert_int_equal(queue_header_block(t, strlen(t)), strlen("Subject: x\nFrom: a@b\n\n"));
	t = "Subject: x\r\nFrom: a@b\r\n\r\nbody\r\n";
	assert_int_equal(queue_header_block(t, strlen(t)), strlen("Subject: x\r\nFrom: a@b\r\n\r\n"));
	t = "Subject: no body, no blank line";
	assert_int_equal(queue_header_block(t, strlen(t)), strlen(t));
	t = "\nbody only";
	assert_int_equal(queue_header_block(t, strlen(t)), 1);
	assert_int_equal(queue_header_block("", 0), 0);
}

/* The spool as queue_each sees it: a temporary queue with three messages. */
struct seen {
	char ids[8][QUEUE_ID_LEN + 1];
	size_t n;
	const char *senders[8];
};

static int
collect(void *arg, const struct envelope *env)
{
	struct seen *s = arg;
	assert_true(s->n < 8);
	snprintf(s->ids[s->n], sizeof s->ids[s->n], "%s", env->id);
	s->senders[s->n++] = env->sender[0] == 'c' ? "cached" : "file";
	return 0;
}

static struct envelope cached_env;

static const struct envelope *
cache(void *arg, const char *id)
{
	return strcmp(id, cached_env.id) == 0 ? &cached_env : NULL;
}

static void
write_msg(const char *queue, const char *id, const char *text)
{
	struct envelope env;
	struct spool_writer w;

	make_env(&env, id);
	assert_int_equal(spool_writer_open(&w, queue, &env), 0);
	assert_int_equal(spool_writer_write(&w, text, strlen(text)), 0);
	assert_int_equal(spool_writer_finish(&w, queue, id, NULL), 0);
	envelope_free(&env);
}

static void
test_each_and_headers(void **state)
{
	char dir[] = "/tmp/test_queue_view_XXXXXX", queue[512];
	struct seen s = { 0 };
	size_t total = 99;

	assert_non_null(mkdtemp(dir));
	snprintf(queue, sizeof queue, "%s/queue", dir);
	/* No queue yet: ENOENT, for the caller to take as empty. */
	assert_int_equal(queue_each(queue, 0, NULL, NULL, collect, &s, &total), -1);
	assert_int_equal(total, 0);
	assert_int_equal(spool_init(dir), 0);
	write_msg(queue, "00000003000000AA", "Subject: third\n\nc\n");
	write_msg(queue, "00000001000000AA", "Subject: first\nX-Long: y\n\nbody\n");
	write_msg(queue, "00000002000000AA", "Subject: second\n\nb\n");
	assert_int_equal(queue_each(queue, 0, NULL, NULL, collect, &s, &total), 0);
	assert_int_equal(total, 3);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.ids[0], "00000001000000AA");
	assert_string_equal(s.ids[1], "00000002000000AA");
	assert_string_equal(s.ids[2], "00000003000000AA");
	/* At most max; queued's copy in memory is taken over the file. */
	memset(&s, 0, sizeof s);
	make_env(&cached_env, "00000002000000AA");
	free(cached_env.sender);
	cached_env.sender = strdup("cached@example.test");
	assert_int_equal(queue_each(queue, 2, cache, NULL, collect, &s, &total), 0);
	assert_int_equal(total, 3);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.senders[0], "file");
	assert_string_equal(s.senders[1], "cached");
	envelope_free(&cached_env);

	/* The header block of a message, and one cut at max. */
	struct envelope env;
	struct buf h = { 0 };
	assert_int_equal(spool_load(queue, "00000001000000AA", &env), 0);
	assert_int_equal(queue_headers(queue, &env, QUEUE_HEADERS_MAX, &h), 0);
	assert_string_equal(h.data, "Subject: first\nX-Long: y\n\n");
	assert_int_equal(queue_headers(queue, &env, 10, &h), 0);
	assert_string_equal(h.data, "Subject: f");
	envelope_free(&env);
	buf_free(&h);

	/* A message gone between the listing and its reading is skipped. */
	spool_remove(queue, "00000001000000AA");
	spool_remove(queue, "00000002000000AA");
	spool_remove(queue, "00000003000000AA");
	assert_int_equal(queue_each(queue, 0, NULL, NULL, collect, &s, &total), 0);
	assert_int_equal(total, 0);
	char path[600];
	static const char *const sub[] = { "queue/tmp", "queue/msg", "queue/state", "queue/dmarc",
		"queue" };
	for (size_t i = 0; i < sizeof sub / sizeof sub[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, sub[i]);
		rmdir(path);
	}
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_state_names),
		cmocka_unit_test(test_msg_json),
		cmocka_unit_test(test_json_text),
		cmocka_unit_test(test_header_block),
		cmocka_unit_test(test_each_and_headers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
