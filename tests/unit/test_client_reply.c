/*
 * test_client_reply.c - unit tests for deliver/client_reply.c, the SMTP client's
 * reply table: each stage (the greeting after connect, EHLO, HELO, STARTTLS, AUTH,
 * MAIL, RCPT, DATA, the end of the text) with 2xx, 3xx, 4xx and 5xx replies, with and
 * without TLS and required TLS, and what a lost connection means at each stage.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "deliver/client_reply.h"

struct row {
	enum client_stage st;
	int code;
	bool tls, required;
	size_t rcpt_ok;
	enum client_action want;
};

static const struct row rows[] = {
	/* connect: the greeting */
	{ STAGE_GREETING, 220, 0, 0, 0, ACT_PROCEED },
	{ STAGE_GREETING, 421, 0, 0, 0, ACT_TRY_NEXT },
	{ STAGE_GREETING, 554, 0, 0, 0, ACT_TRY_NEXT },
	{ STAGE_GREETING, 250, 0, 0, 0, ACT_TRY_NEXT }, /* only 220 greets */
	/* EHLO: 5xx in clear falls back to HELO; after STARTTLS it does not */
	{ STAGE_EHLO, 250, 0, 0, 0, ACT_PROCEED },
	{ STAGE_EHLO, 502, 0, 0, 0, ACT_HELO },
	{ STAGE_EHLO, 500, 1, 0, 0, ACT_TRY_NEXT },
	{ STAGE_EHLO, 421, 0, 0, 0, ACT_TRY_NEXT },
	{ STAGE_HELO, 250, 0, 0, 0, ACT_PROCEED },
	{ STAGE_HELO, 501, 0, 0, 0, ACT_TRY_NEXT },
	{ STAGE_HELO, 421, 0, 0, 0, ACT_TRY_NEXT },
	/* STARTTLS: refused means clear, unless TLS is required */
	{ STAGE_STARTTLS, 220, 0, 0, 0, ACT_PROCEED },
	{ STAGE_STARTTLS, 454, 0, 0, 0, ACT_CLEAR },
	{ STAGE_STARTTLS, 502, 0, 0, 0, ACT_CLEAR },
	{ STAGE_STARTTLS, 454, 0, 1, 0, ACT_TLS_REQUIRED },
	{ STAGE_STARTTLS, 250, 0, 1, 0, ACT_TLS_REQUIRED }, /* only 220 starts TLS */
	/* AUTH at the relayhost */
	{ STAGE_AUTH, 235, 1, 0, 0, ACT_PROCEED },
	{ STAGE_AUTH, 535, 1, 0, 0, ACT_AUTH_FAILED },
	{ STAGE_AUTH, 454, 1, 0, 0, ACT_AUTH_FAILED },
	{ STAGE_AUTH, 334, 1, 0, 0, ACT_AUTH_FAILED },
	/* MAIL: a refusal is every recipient's result, 4xx and 5xx alike */
	{ STAGE_MAIL, 250, 0, 0, 0, ACT_PROCEED },
	{ STAGE_MAIL, 451, 0, 0, 0, ACT_FAIL_ALL },
	{ STAGE_MAIL, 553, 0, 0, 0, ACT_FAIL_ALL },
	/* RCPT: per recipient */
	{ STAGE_RCPT, 250, 0, 0, 0, ACT_RCPT_ACCEPTED },
	{ STAGE_RCPT, 251, 0, 0, 0, ACT_RCPT_ACCEPTED },
	{ STAGE_RCPT, 450, 0, 0, 0, ACT_RCPT_REFUSED },
	{ STAGE_RCPT, 550, 0, 0, 0, ACT_RCPT_REFUSED },
	/* DATA */
	{ STAGE_DATA, 354, 0, 0, 2, ACT_SEND_TEXT },
	{ STAGE_DATA, 354, 0, 0, 0, ACT_EMPTY_TEXT },
	{ STAGE_DATA, 250, 0, 0, 1, ACT_DATA_ODD },
	{ STAGE_DATA, 451, 0, 0, 1, ACT_ANSWER_ACCEPTED },
	{ STAGE_DATA, 554, 0, 0, 1, ACT_ANSWER_ACCEPTED },
	/* the end of the text: whatever it says is the accepted recipients' result */
	{ STAGE_DOT, 250, 0, 0, 1, ACT_ANSWER_ACCEPTED },
	{ STAGE_DOT, 452, 0, 0, 1, ACT_ANSWER_ACCEPTED },
	{ STAGE_DOT, 552, 0, 0, 1, ACT_ANSWER_ACCEPTED },
	{ STAGE_QUIT, 221, 0, 0, 0, ACT_CLOSE },
	{ STAGE_QUIT, 500, 0, 0, 0, ACT_CLOSE },
	/* no reply is awaited during a handshake or while the text goes out */
	{ STAGE_TLS, 250, 0, 0, 0, ACT_IGNORE },
	{ STAGE_BODY, 554, 0, 0, 1, ACT_IGNORE },
	/* a 421 to MAIL on a new connection: the mail is not taken now */
	{ STAGE_MAIL, 421, 0, 0, 0, ACT_FAIL_ALL },
};

static void
test_reply_table(void **state)
{
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		const struct row *r = &rows[i];
		struct reply_ctx c = { r->tls, r->required, r->rcpt_ok, false };
		enum client_action got = client_reply_action(r->st, r->code, &c);
		if (got != r->want)
			fail_msg("%s %d: action %d, wanted %d", client_stage_name(r->st), r->code, got,
			    r->want);
	}
}

/* On a kept connection (one that carried a transaction before): stage, code, action. */
static const struct kept_row {
	enum client_stage st;
	int code;
	size_t rcpt_ok;
	enum client_action want;
} kept_rows[] = {
	/* a 421 to MAIL is the server's idle timeout, not the mail's */
	{ STAGE_MAIL, 421, 0, ACT_STALE },
	{ STAGE_MAIL, 451, 0, ACT_FAIL_ALL },
	{ STAGE_MAIL, 250, 0, ACT_PROCEED },
	{ STAGE_RSET, 250, 0, ACT_PROCEED },
	{ STAGE_RSET, 421, 0, ACT_STALE },
	{ STAGE_RSET, 502, 0, ACT_STALE },
	/* whatever a server says unasked while the connection is kept ends it */
	{ STAGE_IDLE, 421, 0, ACT_CLOSE },
	{ STAGE_IDLE, 250, 0, ACT_CLOSE },
	/* the recipients' stages are as on a new connection */
	{ STAGE_RCPT, 421, 0, ACT_RCPT_REFUSED },
	{ STAGE_DOT, 421, 1, ACT_ANSWER_ACCEPTED },
};

static void
test_reply_table_kept(void **state)
{
	for (size_t i = 0; i < sizeof kept_rows / sizeof kept_rows[0]; i++) {
		const struct kept_row *r = &kept_rows[i];
		struct reply_ctx c = { false, false, r->rcpt_ok, true };
		enum client_action got = client_reply_action(r->st, r->code, &c);
		if (got != r->want)
			fail_msg("kept %s %d: action %d, wanted %d", client_stage_name(r->st), r->code,
			    got, r->want);
	}
}

static void
test_lost_connection(void **state)
{
	struct reply_ctx plain = { false, false, 0, false }, required = { false, true, 0, false };

	/* Before a transaction began: the next address. */
	assert_int_equal(client_lost_action(STAGE_CONNECTING, &plain), ACT_TRY_NEXT);
	assert_int_equal(client_lost_action(STAGE_GREETING, &plain), ACT_TRY_NEXT);
	assert_int_equal(client_lost_action(STAGE_EHLO, &plain), ACT_TRY_NEXT);
	assert_int_equal(client_lost_action(STAGE_STARTTLS, &plain), ACT_TRY_NEXT);
	/* The handshake: again without TLS, unless it is required. */
	assert_int_equal(client_lost_action(STAGE_TLS, &plain), ACT_TLS_RETRY);
	assert_int_equal(client_lost_action(STAGE_TLS, &required), ACT_TLS_REQUIRED);
	/* Inside the transaction: every recipient without a result is deferred. */
	assert_int_equal(client_lost_action(STAGE_AUTH, &plain), ACT_DEFER_ALL);
	assert_int_equal(client_lost_action(STAGE_MAIL, &plain), ACT_DEFER_ALL);
	assert_int_equal(client_lost_action(STAGE_RCPT, &plain), ACT_DEFER_ALL);
	assert_int_equal(client_lost_action(STAGE_BODY, &plain), ACT_DEFER_ALL);
	assert_int_equal(client_lost_action(STAGE_DOT, &plain), ACT_DEFER_ALL);
	/* After the results: nothing is lost. */
	assert_int_equal(client_lost_action(STAGE_QUIT, &plain), ACT_CLOSE);
	/* A kept connection: gone while idle is no loss; gone before the first reply of the
	 * next transaction means nothing was taken: a new connection. */
	struct reply_ctx kept = { false, false, 0, true };
	assert_int_equal(client_lost_action(STAGE_IDLE, &kept), ACT_CLOSE);
	assert_int_equal(client_lost_action(STAGE_RSET, &kept), ACT_STALE);
	assert_int_equal(client_lost_action(STAGE_MAIL, &kept), ACT_STALE);
	assert_int_equal(client_lost_action(STAGE_RCPT, &kept), ACT_DEFER_ALL);
	assert_int_equal(client_lost_action(STAGE_BODY, &kept), ACT_DEFER_ALL);
	assert_int_equal(client_lost_action(STAGE_DOT, &kept), ACT_DEFER_ALL);
	assert_string_equal(client_stage_name(STAGE_RSET), "RSET");
	assert_string_equal(client_stage_name(STAGE_BODY), "message text");
	assert_string_equal(client_stage_name(STAGE_MAIL), "MAIL FROM");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reply_table),
		cmocka_unit_test(test_reply_table_kept),
		cmocka_unit_test(test_lost_connection),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
