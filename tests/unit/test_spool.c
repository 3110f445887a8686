/*
 * test_spool.c - unit tests for the queue file formats (store/spool_format.c), the
 * queue directory (store/spool.c, spool_writer.c) and the Maildir names and paths
 * (store/maildir.c): round trips, escaping, incomplete and corrupt files, state
 * lines, and the fixed names crash recovery relies on.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "store/maildir.h"
#include "store/spool.h"
#include "store/spool_format.h"
#include "store/spool_writer.h"
#include "util/buf.h"

static void
make_env(struct envelope *env)
{
	memset(env, 0, sizeof *env);
	snprintf(env->id, sizeof env->id, "0123456789ABCDEF");
	env->arrival = 1795818897;
	env->sender = strdup("we ird%sender@example.test");
	env->client = strdup("192.0.2.7");
	env->helo = strdup("-");
	env->auth = strdup("demo@example.test");
	env->body = BODY_8BITMIME;
	env->smtputf8 = true;
	env->junk = true;
	env->body_size = 5;
	assert_int_equal(envelope_add_rcpt(env, TARGET_LOCAL, "demo@example.test", "Demo+x@Example.test"), 0);
	assert_int_equal(envelope_add_rcpt(env, TARGET_REMOTE, "\"a b\"@remote.test", ""), 0);
}

static void
test_header_round_trip(void **state)
{
	struct envelope env, back;
	struct buf b = { 0 };
	char err[128];

	make_env(&env);
	assert_int_equal(spool_format_header(&env, &b), 0);
	size_t hlen = b.len;
	assert_int_equal(buf_append(&b, "hello", 5), 0);
	assert_int_equal(spool_parse_header(b.data, b.len, true, &back, err, sizeof err), 0);
	assert_string_equal(back.id, env.id);
	assert_int_equal(back.arrival, env.arrival);
	assert_string_equal(back.sender, env.sender);
	assert_string_equal(back.client, env.client);
	assert_string_equal(back.helo, "-"); /* a lone dash survives its escaping */
	assert_string_equal(back.auth, env.auth);
	assert_int_equal(back.body, BODY_8BITMIME);
	assert_true(back.smtputf8);
	assert_true(back.junk);
	assert_int_equal(back.nrcpts, 2);
	assert_int_equal(back.rcpts[0].kind, TARGET_LOCAL);
	assert_string_equal(back.rcpts[0].orig, "Demo+x@Example.test");
	assert_int_equal(back.rcpts[1].kind, TARGET_REMOTE);
	assert_string_equal(back.rcpts[1].addr, "\"a b\"@remote.test");
	assert_string_equal(back.rcpts[1].orig, ""); /* empty stays empty, through its escape */
	assert_int_equal(back.body_offset, hlen);
	assert_int_equal(back.body_size, 5);
	envelope_free(&back);
	envelope_free(&env);
	buf_free(&b);
}

static void
test_incomplete_and_corrupt(void **state)
{
	struct envelope env, back;
	struct buf b = { 0 };
	char err[128];

	make_env(&env);
	assert_int_equal(spool_format_header(&env, &b), 0);
	assert_int_equal(buf_append(&b, "hel", 3), 0); /* two octets short: a crash before the flush */
	assert_int_equal(spool_parse_header(b.data, b.len, true, &back, err, sizeof err), -1);
	assert_non_null(strstr(err, "incomplete"));
	/* Without the length check the header alone parses. */
	assert_int_equal(spool_parse_header(b.data, b.len, false, &back, err, sizeof err), 0);
	envelope_free(&back);
	/* Every truncation of the header is refused, never read past. */
	for (size_t n = 0; n < b.len - 3; n++) {
		char *copy = malloc(n ? n : 1);
		memcpy(copy, b.data, n);
		assert_int_equal(spool_parse_header(copy, n, false, &back, err, sizeof err), -1);
		free(copy);
	}
	const char *bad[] = {
		"not a queue file\n",
		"mailroom-queue 1\nid 0123\nsender -\nrcpt L a@b a@b\nsize 00000000000000000000\n\n",
		"mailroom-queue 1\nid 0123456789ABCDEF\nsender -\nsize 00000000000000000000\n\n",
		"mailroom-queue 1\nid 0123456789ABCDEF\nsender -\nrcpt X a@b a@b\nsize 00000000000000000000\n\n",
		"mailroom-queue 1\nid 0123456789ABCDEF\nsender %zz\nrcpt L a@b a@b\nsize 00000000000000000000\n\n",
		"mailroom-queue 1\nid 0123456789ABCDEF\nsender %00\nrcpt L a@b a@b\nsize 00000000000000000000\n\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(spool_parse_header(bad[i], strlen(bad[i]), false, &back, err, sizeof err), -1);
	envelope_free(&env);
	buf_free(&b);
}

/* State lines: every status round trips; lines that are not ours are skipped. */
static void
test_state_lines(void **state)
{
	struct envelope env;
	struct buf b = { 0 };

	make_env(&env);
	assert_int_equal(envelope_add_rcpt(&env, TARGET_REMOTE, "c@remote.test", NULL), 0);
	assert_int_equal(envelope_add_rcpt(&env, TARGET_REMOTE, "d@remote.test", NULL), 0);
	env.rcpts[0].status = RCPT_DELIVERED;
	env.rcpts[1].status = RCPT_BOUNCED;
	env.rcpts[1].error = strdup("550 5.1.1 no such user");
	env.rcpts[2].status = RCPT_BOUNCED;
	env.rcpts[2].dsn_due = true;
	env.rcpts[2].next_try = 1795819999;
	env.rcpts[3].attempts = 7;
	env.rcpts[3].next_try = -1;
	assert_int_equal(spool_format_state(&env, &b), 0);
	assert_string_equal(b.data, "r 0 D 0 0 -\n"
	    "r 1 B 0 0 550%205.1.1%20no%20such%20user\n"
	    "r 2 N 0 1795819999 -\n"
	    "r 3 P 7 -1 -\n");
	struct envelope back;
	make_env(&back);
	assert_int_equal(envelope_add_rcpt(&back, TARGET_REMOTE, "c@remote.test", NULL), 0);
	assert_int_equal(envelope_add_rcpt(&back, TARGET_REMOTE, "d@remote.test", NULL), 0);
	spool_parse_state(b.data, b.len, &back);
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(back.rcpts[i].status, env.rcpts[i].status);
		assert_int_equal(back.rcpts[i].dsn_due, env.rcpts[i].dsn_due);
		assert_int_equal(back.rcpts[i].attempts, env.rcpts[i].attempts);
		assert_int_equal(back.rcpts[i].next_try, env.rcpts[i].next_try);
	}
	assert_null(back.rcpts[0].error);
	assert_string_equal(back.rcpts[1].error, "550 5.1.1 no such user");
	/* Skipped: another index, a status we do not know, short lines, bad numbers. */
	const char *junk = "r 9 D 0 0 -\nr 0 X 0 0 -\nr 0 D\nx 0 D 0 0 -\nr -1 D 0 0 -\n"
	    "r 0 D 1 zz -\nr 0 D 1 0 %zz\nr 0 D 99999999999 0 -\n\n";
	envelope_free(&back);
	make_env(&back);
	spool_parse_state(junk, strlen(junk), &back);
	assert_int_equal(back.rcpts[0].status, RCPT_PENDING);
	assert_int_equal(back.rcpts[0].attempts, 0);
	assert_null(back.rcpts[0].error);
	/* A last line without its LF still counts; nothing is read past len. */
	spool_parse_state("r 1 D 2 3 -", 11, &back);
	assert_int_equal(back.rcpts[1].status, RCPT_DELIVERED);
	assert_int_equal(back.rcpts[1].attempts, 2);
	envelope_free(&back);
	envelope_free(&env);
	buf_free(&b);
}

static void
test_hold_lines(void **state)
{
	struct envelope env, back;
	struct buf b = { 0 };

	make_env(&env);
	env.held = true;
	env.held_since = 1795819000;
	env.hold_reason = strdup("demo@example.test over sends_per_day (2)");
	env.released = 1795818000;
	env.limits_done = true;
	assert_int_equal(spool_format_state(&env, &b), 0);
	assert_string_equal(b.data, "r 0 P 0 0 -\nr 1 P 0 0 -\n"
	    "hold 1795819000 demo@example.test%20over%20sends_per_day%20(2)\n"
	    "release 1795818000\nlimits 1\n");
	make_env(&back);
	spool_parse_state(b.data, b.len, &back);
	assert_true(back.held);
	assert_int_equal(back.held_since, 1795819000);
	assert_string_equal(back.hold_reason, "demo@example.test over sends_per_day (2)");
	assert_int_equal(back.released, 1795818000);
	assert_true(back.limits_done);
	envelope_free(&back);
	/* Malformed message lines are skipped: no time, a bad time, no reason, a bad escape. */
	const char *junk = "hold\nhold x why\nhold 5\nhold 5 %zz\nrelease -3\nlimits\nheld 5 x\n";
	make_env(&back);
	spool_parse_state(junk, strlen(junk), &back);
	assert_false(back.held);
	assert_null(back.hold_reason);
	assert_int_equal(back.released, 0);
	assert_false(back.limits_done);
	envelope_free(&back);
	/* Nothing held: no hold line, and none read back. */
	buf_free(&b);
	envelope_free(&env);
	make_env(&env);
	assert_int_equal(spool_format_state(&env, &b), 0);
	assert_null(strstr(b.data, "hold"));
	envelope_free(&env);
	buf_free(&b);
}

static void
test_paths(void **state)
{
	char p[64];

	assert_int_equal(spool_path(p, sizeof p, "/q", SPOOL_MSG, "0123456789ABCDEF"), 0);
	assert_string_equal(p, "/q/msg/0123456789ABCDEF");
	assert_int_equal(spool_path(p, sizeof p, "/q", SPOOL_STATE_TMP, "0123456789ABCDEF"), 0);
	assert_string_equal(p, "/q/state/.0123456789ABCDEF.tmp");
	assert_int_equal(spool_path(p, sizeof p, "/q", SPOOL_TMP, NULL), 0);
	assert_string_equal(p, "/q/tmp");
	assert_int_equal(spool_path(p, 10, "/q", SPOOL_STATE, "0123456789ABCDEF"), -1);
}

static void
test_ids(void **state)
{
	char a[QUEUE_ID_LEN + 1], b[QUEUE_ID_LEN + 1];

	spool_new_id(a);
	usleep(2000);
	spool_new_id(b);
	assert_true(spool_id_valid(a));
	assert_true(strcmp(a, b) < 0); /* ids sort by arrival */
	assert_false(spool_id_valid("0123456789abcdef"));
	assert_false(spool_id_valid("0123456789ABCDE"));
	assert_false(spool_id_valid("0123456789ABCDEF0"));
	assert_false(spool_id_valid("../../etc/passwd"));
}

/* A message written, its state recorded and read back through the files. */
static void
test_files_and_state(void **state)
{
	char dir[] = "/tmp/test_spool_XXXXXX";
	struct envelope env, back;
	struct spool_writer w;
	struct spool_ids ids = { 0 };

	assert_non_null(mkdtemp(dir));
	assert_int_equal(spool_init(dir), 0);
	char queue[512];
	snprintf(queue, sizeof queue, "%s/queue", dir);
	make_env(&env);
	assert_int_equal(spool_writer_open(&w, queue, &env), 0);
	assert_int_equal(spool_writer_write(&w, "Subject: x\n\nbody\n", 17), 0);
	assert_int_equal(spool_writer_finish(&w, queue, env.id, NULL), 0);
	assert_int_equal(spool_list(queue, &ids), 0);
	assert_int_equal(ids.n, 1);
	assert_string_equal(ids.v[0], env.id);
	assert_int_equal(spool_load(queue, env.id, &back), 0);
	assert_int_equal(back.body_size, 17);
	assert_int_equal(back.rcpts[0].status, RCPT_PENDING);
	back.rcpts[0].status = RCPT_DELIVERED;
	back.rcpts[1].attempts = 3;
	back.rcpts[1].next_try = 1795819999;
	back.rcpts[1].error = strdup("451 4.4.1 no answer from mx.remote.test");
	assert_int_equal(spool_write_state(queue, &back), 0);
	envelope_free(&back);
	assert_int_equal(spool_load(queue, env.id, &back), 0);
	assert_int_equal(back.rcpts[0].status, RCPT_DELIVERED);
	assert_false(back.rcpts[0].dsn_due);
	assert_int_equal(back.rcpts[1].status, RCPT_PENDING);
	assert_int_equal(back.rcpts[1].attempts, 3);
	assert_int_equal(back.rcpts[1].next_try, 1795819999);
	assert_string_equal(back.rcpts[1].error, "451 4.4.1 no answer from mx.remote.test");
	/* A bounce still owed is kept with the recipient's final status. */
	back.rcpts[1].status = RCPT_BOUNCED;
	back.rcpts[1].dsn_due = true;
	assert_int_equal(spool_write_state(queue, &back), 0);
	envelope_free(&back);
	assert_int_equal(spool_load(queue, env.id, &back), 0);
	assert_int_equal(back.rcpts[1].status, RCPT_BOUNCED);
	assert_true(back.rcpts[1].dsn_due);
	envelope_free(&back);
	/* The kept signatures: read back as written, replaced whole. */
	struct buf sig = { 0 };
	assert_int_equal(spool_read_sig(queue, env.id, &sig), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(spool_write_sig(queue, env.id, "t 1\nold\n", 8), 0);
	assert_int_equal(spool_write_sig(queue, env.id, "t 2\nDKIM-Signature: x\n", 22), 0);
	assert_int_equal(spool_read_sig(queue, env.id, &sig), 0);
	assert_int_equal(sig.len, 22);
	assert_memory_equal(sig.data, "t 2\nDKIM-Signature: x\n", 22);
	/* What a crash leaves goes at the next start; the message, its state and its
	 * signatures stay. */
	const char *left[] = { "tmp/0123456789ABCDEE", "tmp/x.spill", "state/.0123456789ABCDEF.tmp",
		"state/0123456789ABCDE0", "sig/0123456789ABCDE0", "sig/.0123456789ABCDEF.tmp" };
	char path[700];
	for (size_t i = 0; i < 6; i++) {
		snprintf(path, sizeof path, "%s/%s", queue, left[i]);
		FILE *lf = fopen(path, "w");
		assert_non_null(lf);
		fclose(lf);
	}
	assert_int_equal(spool_recover(queue), 6);
	assert_int_equal(spool_recover(queue), 0);
	assert_int_equal(spool_load(queue, env.id, &back), 0);
	assert_true(back.rcpts[1].dsn_due);
	envelope_free(&back);
	assert_int_equal(spool_read_sig(queue, env.id, &sig), 0);
	spool_remove(queue, env.id);
	assert_int_equal(spool_load(queue, env.id, &back), -1);
	assert_int_equal(spool_read_sig(queue, env.id, &sig), -1);
	buf_free(&sig);
	spool_ids_free(&ids);
	envelope_free(&env);
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static void
test_maildir_names(void **state)
{
	char name[512], path[512];
	uint64_t s, w;

	maildir_name(name, sizeof name, 1795818897, "0123456789ABCDEF", 2, "mx.ex/am:ple", 458, 473);
	assert_string_equal(name, "1795818897.Q0123456789ABCDEF_2.mx.ex\\057am\\072ple,S=458,W=473");
	maildir_parse_sizes(name, &s, &w);
	assert_int_equal(s, 458);
	assert_int_equal(w, 473);
	maildir_parse_sizes("1.M2P3.host,S=12:2,S", &s, &w);
	assert_int_equal(s, 12);
	assert_int_equal(w, 0);
	maildir_parse_sizes("1.M2P3.host:2,W=99", &s, &w); /* after ':' are flags, not sizes */
	assert_int_equal(s, 0);
	assert_int_equal(w, 0);
	assert_int_equal(maildir_path("/d/mail", "demo@example.test", path, sizeof path), 0);
	assert_string_equal(path, "/d/mail/example.test/demo");
	/* Whatever a local part holds, it stays one path component below the domain. */
	assert_int_equal(maildir_path("/d/mail", "../x@example.test", path, sizeof path), 0);
	assert_string_equal(path, "/d/mail/example.test/%2E.%2Fx");
	assert_int_equal(maildir_path("/d/mail", ".hidden@example.test", path, sizeof path), 0);
	assert_string_equal(path, "/d/mail/example.test/%2Ehidden");
	assert_int_equal(maildir_path("/d/mail", "no-at-sign", path, sizeof path), -1);
	assert_int_equal(maildir_path("/d/mail", "a@b", path, 8), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_round_trip),
		cmocka_unit_test(test_incomplete_and_corrupt),
		cmocka_unit_test(test_state_lines),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_hold_lines),
		cmocka_unit_test(test_ids),
		cmocka_unit_test(test_files_and_state),
		cmocka_unit_test(test_maildir_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
