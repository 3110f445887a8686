/*
 * test_local_agent.c - the local delivery agent through the agent interface
 * (deliver/agent.h), as queued drives it: a job per message submitted, the round's
 * end (flush), one result per recipient (delivered, no such user, found after a
 * crash), then done once; with a real accounts database, spool and group commit.
 */
#include <dirent.h>
#include <event2/event.h>
#include <fcntl.h>
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

#include "dir_files.h"

#include "accounts.h"
#include "config.h"
#include "deliver/agent.h"
#include "store/commit.h"
#include "store/spool.h"
#include "store/spool_writer.h"

struct run {
	int code[4];
	char text[4][128];
	unsigned results, done;
	struct event_base *base;
};

static void
on_result(void *arg, const struct agent_result *res)
{
	struct run *r = arg;
	assert_true(res->idx < 4);
	r->code[res->idx] = res->code;
	snprintf(r->text[res->idx], sizeof r->text[0], "%s", res->text);
	assert_string_equal(res->relay, "local");
	r->results++;
}

static void
on_done(void *arg)
{
	struct run *r = arg;
	r->done++;
	event_base_loopbreak(r->base);
}

static void
test_jobs_through_the_interface(void **state)
{
	char dir[] = "/tmp/test_lagent_XXXXXX", err[256], queue[256], mail[256], newdir[300];
	struct envelope env = { 0 };
	struct spool_writer w;

	assert_non_null(mkdtemp(dir));
	assert_int_equal(spool_init(dir), 0);
	snprintf(queue, sizeof queue, "%s/queue", dir);
	snprintf(mail, sizeof mail, "%s/mail", dir);
	snprintf(newdir, sizeof newdir, "%s/example.test/demo/new", mail);
	struct accounts *acct = accounts_open(dir, true, err, sizeof err);
	assert_non_null(acct);
	assert_int_equal(accounts_domain_add(acct, "example.test", err, sizeof err), 0);
	assert_int_equal(accounts_user_add(acct, "demo@example.test", "pw", 0, err, sizeof err), 0);

	/* A queued message for a user and for nobody. */
	spool_new_id(env.id);
	env.arrival = 1795818897;
	env.sender = strdup("from@remote.test");
	assert_int_equal(envelope_add_rcpt(&env, TARGET_LOCAL, "demo@example.test", NULL), 0);
	assert_int_equal(envelope_add_rcpt(&env, TARGET_LOCAL, "nobody@example.test", NULL), 0);
	assert_int_equal(spool_writer_open(&w, queue, &env), 0);
	assert_int_equal(spool_writer_write(&w, "Subject: hi\n\nhello\n", 19), 0);
	assert_int_equal(spool_writer_finish(&w, queue, env.id, NULL), 0);
	struct envelope queued;
	assert_int_equal(spool_load(queue, env.id, &queued), 0);

	struct config cfg = { 0 };
	cfg.hostname = "mx.example.test";
	struct config *cfgp = &cfg;
	struct run run = { .base = event_base_new() };
	struct committer *committer = committer_new(run.base);
	assert_non_null(committer);
	struct agent_env aenv = { run.base, &cfgp, acct, committer, mail, queue };
	struct agent agent;
	assert_int_equal(local_agent_new(&agent, &aenv), 0);
	assert_string_equal(agent.ops->name, "local");

	/* Nothing happens before the round's end; then a result each, then done. */
	size_t both[] = { 0, 1 };
	struct agent_job job = { &queued, queue, both, 2, false, on_result, on_done, &run };
	assert_int_equal(agent.ops->submit(agent.self, &job), 0);
	assert_int_equal(run.results, 0);
	agent.ops->flush(agent.self);
	struct timeval limit = { 10, 0 };
	event_base_loopexit(run.base, &limit);
	if (run.done == 0)
		event_base_dispatch(run.base);
	assert_int_equal(run.done, 1);
	assert_int_equal(run.results, 2);
	assert_int_equal(run.code[0], 250);
	assert_string_equal(run.text[0], "250 delivered to maildir");
	assert_int_equal(run.code[1], 550);
	assert_int_equal(files_in(newdir), 1);

	/* Recovering: the file of the first delivery counts; nothing is written twice. */
	size_t first[] = { 0 };
	struct agent_job again = { &queued, queue, first, 1, true, on_result, on_done, &run };
	assert_int_equal(agent.ops->submit(agent.self, &again), 0);
	agent.ops->flush(agent.self);
	event_base_loopexit(run.base, &limit);
	if (run.done == 1)
		event_base_dispatch(run.base);
	assert_int_equal(run.done, 2);
	assert_int_equal(run.code[0], 250);
	assert_string_equal(run.text[0], "250 already in the mailbox (recovered)");
	assert_int_equal(files_in(newdir), 1);

	/* A round with nothing gathered is no round at all. */
	agent.ops->flush(agent.self);
	assert_int_equal(run.done, 2);

	agent.ops->free(agent.self);
	committer_free(committer);
	event_base_free(run.base);
	accounts_close(acct);
	envelope_free(&queued);
	envelope_free(&env);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jobs_through_the_interface),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
