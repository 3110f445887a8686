/*
 * test_schedule.c - unit tests for queue/schedule.c: the retry schedule (retry_min
 * doubling to retry_max), what each result means (2xx, 4xx, 5xx, no answer, past
 * max_queue_lifetime), when a message is finished, and which failures bounce.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "queue/schedule.h"

static const struct retry_policy policy = { 300, 3600, 5 * 86400 };

static void
test_retry_delay(void **state)
{
	assert_int_equal(retry_delay(&policy, 0), 300);
	assert_int_equal(retry_delay(&policy, 1), 300);
	assert_int_equal(retry_delay(&policy, 2), 600);
	assert_int_equal(retry_delay(&policy, 3), 1200);
	assert_int_equal(retry_delay(&policy, 4), 2400);
	assert_int_equal(retry_delay(&policy, 5), 3600); /* capped */
	assert_int_equal(retry_delay(&policy, 1000000), 3600);
	struct retry_policy odd = { 0, 5, 10 }; /* retry_min 0 counts as 1 s */
	assert_int_equal(retry_delay(&odd, 1), 1);
	assert_int_equal(retry_delay(&odd, 4), 5);
	struct retry_policy flat = { 60, 60, 10 };
	assert_int_equal(retry_delay(&flat, 9), 60);
}

static void
test_result_class(void **state)
{
	assert_int_equal(result_class(250, 0, &policy), RESULT_DELIVERED);
	assert_int_equal(result_class(251, 0, &policy), RESULT_DELIVERED);
	assert_int_equal(result_class(450, 0, &policy), RESULT_DEFERRED);
	assert_int_equal(result_class(0, 0, &policy), RESULT_DEFERRED); /* no answer */
	assert_int_equal(result_class(550, 0, &policy), RESULT_BOUNCED);
	assert_int_equal(result_class(554, 0, &policy), RESULT_BOUNCED);
	/* A temporary failure is final once the message has been queued too long. */
	assert_int_equal(result_class(451, 5 * 86400 - 1, &policy), RESULT_DEFERRED);
	assert_int_equal(result_class(451, 5 * 86400, &policy), RESULT_BOUNCED);
	assert_int_equal(result_class(0, 6 * 86400, &policy), RESULT_BOUNCED);
	assert_int_equal(result_class(250, 6 * 86400, &policy), RESULT_DELIVERED);
	/* A clock that went back never makes a message look old. */
	assert_int_equal(result_class(451, -100, &policy), RESULT_DEFERRED);
}

static void
test_schedule_result(void **state)
{
	struct spool_rcpt r = { 0 };
	time_t now = 1800000000, arrival = now - 10;

	assert_int_equal(schedule_result(&r, 451, "451 4.4.1 later", now, arrival, &policy),
	    RESULT_DEFERRED);
	assert_int_equal(r.status, RCPT_PENDING);
	assert_int_equal(r.attempts, 1);
	assert_int_equal(r.next_try, now + 300);
	assert_string_equal(r.error, "451 4.4.1 later");
	assert_false(r.dsn_due);
	assert_int_equal(schedule_result(&r, 421, "421 busy", now, arrival, &policy), RESULT_DEFERRED);
	assert_int_equal(r.next_try, now + 600);
	assert_int_equal(schedule_result(&r, 550, "550 5.1.1 gone", now, arrival, &policy),
	    RESULT_BOUNCED);
	assert_int_equal(r.status, RCPT_BOUNCED);
	assert_true(r.dsn_due);
	assert_string_equal(r.error, "550 5.1.1 gone");
	struct spool_rcpt ok = { 0 };
	ok.error = strdup("451 before");
	assert_int_equal(schedule_result(&ok, 250, "250 ok", now, arrival, &policy), RESULT_DELIVERED);
	assert_int_equal(ok.status, RCPT_DELIVERED);
	assert_null(ok.error);
	free(r.error);
}

static struct envelope
env_of(const char *sender, size_t n)
{
	struct envelope env = { 0 };
	env.sender = strdup(sender);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(envelope_add_rcpt(&env, TARGET_REMOTE, "a@remote.test", NULL), 0);
	return env;
}

static void
test_finished_and_next_try(void **state)
{
	struct envelope env = env_of("s@example.test", 3);

	assert_false(msg_finished(&env));
	assert_int_equal(msg_next_try(&env), 0);
	env.rcpts[0].status = RCPT_DELIVERED;
	env.rcpts[1].next_try = 500;
	env.rcpts[2].next_try = 200;
	assert_int_equal(msg_next_try(&env), 200);
	assert_true(rcpt_due(&env.rcpts[2], 200));
	assert_false(rcpt_due(&env.rcpts[1], 200));
	assert_false(rcpt_due(&env.rcpts[0], 200));
	env.rcpts[2].status = RCPT_BOUNCED;
	assert_int_equal(msg_next_try(&env), 500);
	env.rcpts[1].status = RCPT_DELIVERED;
	assert_true(msg_finished(&env));
	assert_int_equal(msg_next_try(&env), 0);
	/* A bounce owed keeps the message, at its own retry time; it is never "due" as a delivery. */
	env.rcpts[2].dsn_due = true;
	env.rcpts[2].next_try = 900;
	assert_false(msg_finished(&env));
	assert_int_equal(msg_next_try(&env), 900);
	assert_false(rcpt_due(&env.rcpts[2], 1000));
	/* 0 is a time too: now. */
	env.rcpts[2].next_try = 0;
	env.rcpts[0].status = RCPT_PENDING;
	env.rcpts[0].next_try = 50;
	assert_int_equal(msg_next_try(&env), 0);
	envelope_free(&env);
}

static void
test_bounces(void **state)
{
	struct envelope env = env_of("s@example.test", 2);

	assert_int_equal(bounce_decision(&env), BOUNCE_NONE);
	env.rcpts[1].status = RCPT_BOUNCED;
	env.rcpts[1].dsn_due = true;
	assert_int_equal(bounce_decision(&env), BOUNCE_SEND);
	/* Not made: still owed, at the retry time; the recipient stays bounced. */
	bounce_settled(&env, false, 777);
	assert_true(env.rcpts[1].dsn_due);
	assert_int_equal(env.rcpts[1].status, RCPT_BOUNCED);
	assert_int_equal(env.rcpts[1].next_try, 777);
	assert_int_equal(env.rcpts[0].next_try, 0);
	bounce_settled(&env, true, 0);
	assert_false(env.rcpts[1].dsn_due);
	assert_int_equal(bounce_decision(&env), BOUNCE_NONE);
	envelope_free(&env);
	/* Never a bounce of a bounce, nor to the null sender. */
	env = env_of("", 1);
	env.rcpts[0].dsn_due = true;
	assert_int_equal(bounce_decision(&env), BOUNCE_DROP);
	envelope_free(&env);
	env = env_of("s@example.test", 1);
	env.is_bounce = true;
	env.rcpts[0].dsn_due = true;
	assert_int_equal(bounce_decision(&env), BOUNCE_DROP);
	envelope_free(&env);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_retry_delay),
		cmocka_unit_test(test_result_class),
		cmocka_unit_test(test_schedule_result),
		cmocka_unit_test(test_finished_and_next_try),
		cmocka_unit_test(test_bounces),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
