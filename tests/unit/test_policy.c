/*
 * test_policy.c - unit tests for smtp/policy.c: each decision of the SMTP
 * listeners, from a table of facts to the exact reply (code, enhanced status,
 * text), one row for each branch.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "smtp/policy.h"

#define LOGIN "joe@example.test"

enum ask { ASK_AUTH, ASK_MAIL, ASK_SENDER, ASK_RCPT };

struct row {
	const char *name;
	enum ask ask;
	struct policy_facts facts;
	const char *addr;       /* ASK_SENDER, ASK_RCPT */
	int owned;              /* ASK_SENDER */
	enum resolve_status st; /* ASK_RCPT */
	enum policy_reason reason;
	int code;
	const char *status;
	const char *text;
};

/* The listeners and transports. */
#define SMTP_PLAIN { SVC_SMTP, false, false, NULL }
#define SMTP_TRUSTED { SVC_SMTP, false, true, NULL }
#define SMTP_LOGIN { SVC_SMTP, true, false, LOGIN }
#define SUB_PLAIN { SVC_SUBMISSION, false, false, NULL }
#define SUB_TLS { SVC_SUBMISSION, true, false, NULL }
#define SUB_TRUSTED { SVC_SUBMISSION, false, true, NULL }
#define SUB_LOGIN { SVC_SUBMISSION, true, false, LOGIN }
#define SUBS_TLS { SVC_SUBMISSIONS, true, false, NULL }
#define SUBS_LOGIN { SVC_SUBMISSIONS, true, false, LOGIN }

static const struct row rows[] = {
	/* AUTH */
	{ "auth on port 25", ASK_AUTH, SMTP_PLAIN, NULL, 0, 0, POLICY_AUTH_NOT_ENABLED, 503,
	    "5.5.1", "Error: authentication not enabled" },
	{ "auth on port 25 over TLS", ASK_AUTH, SMTP_LOGIN, NULL, 0, 0, POLICY_AUTH_NOT_ENABLED,
	    503, "5.5.1", "Error: authentication not enabled" },
	{ "auth in the clear", ASK_AUTH, SUB_PLAIN, NULL, 0, 0, POLICY_ENCRYPTION_REQUIRED, 538,
	    "5.7.11", "Encryption required for requested authentication mechanism" },
	{ "auth after STARTTLS", ASK_AUTH, SUB_TLS, NULL, 0, 0, POLICY_OK, 0, "", "" },
	{ "auth in the clear, trusted", ASK_AUTH, SUB_TRUSTED, NULL, 0, 0, POLICY_OK, 0, "", "" },
	{ "auth on submissions", ASK_AUTH, SUBS_TLS, NULL, 0, 0, POLICY_OK, 0, "", "" },
	/* MAIL */
	{ "mail on port 25", ASK_MAIL, SMTP_PLAIN, NULL, 0, 0, POLICY_OK, 0, "", "" },
	{ "mail on submission, no login", ASK_MAIL, SUB_TLS, NULL, 0, 0, POLICY_AUTH_REQUIRED,
	    530, "5.7.0", "Authentication required" },
	{ "mail on submission, trusted, no login", ASK_MAIL, SUB_TRUSTED, NULL, 0, 0,
	    POLICY_AUTH_REQUIRED, 530, "5.7.0", "Authentication required" },
	{ "mail on submissions, no login", ASK_MAIL, SUBS_TLS, NULL, 0, 0, POLICY_AUTH_REQUIRED,
	    530, "5.7.0", "Authentication required" },
	{ "mail on submission, login", ASK_MAIL, SUB_LOGIN, NULL, 0, 0, POLICY_OK, 0, "", "" },
	/* the sender of a login */
	{ "own sender", ASK_SENDER, SUB_LOGIN, LOGIN, 1, 0, POLICY_OK, 0, "", "" },
	{ "sender not owned", ASK_SENDER, SUB_LOGIN, "boss@example.test", 0, 0,
	    POLICY_SENDER_NOT_OWNED, 553, "5.7.1",
	    "<boss@example.test>: Sender address rejected: not owned by user " LOGIN },
	{ "sender, store failed", ASK_SENDER, SUBS_LOGIN, "boss@example.test", -1, 0,
	    POLICY_STORE_FAILURE, 451, "4.3.0", "<boss@example.test>: Temporary lookup failure" },
	/* RCPT */
	{ "local mailbox", ASK_RCPT, SMTP_PLAIN, "joe@example.test", 0, RESOLVE_OK, POLICY_OK, 0,
	    "", "" },
	{ "unknown user", ASK_RCPT, SMTP_PLAIN, "nobody@example.test", 0, RESOLVE_NO_SUCH_USER,
	    POLICY_UNKNOWN_USER, 550, "5.1.1",
	    "<nobody@example.test>: Recipient address rejected: User unknown" },
	{ "unknown user, login", ASK_RCPT, SUB_LOGIN, "nobody@example.test", 0,
	    RESOLVE_NO_SUCH_USER, POLICY_UNKNOWN_USER, 550, "5.1.1",
	    "<nobody@example.test>: Recipient address rejected: User unknown" },
	{ "lookup failed", ASK_RCPT, SMTP_PLAIN, "joe@example.test", 0, RESOLVE_TEMPFAIL,
	    POLICY_LOOKUP_TEMPFAIL, 451, "4.3.0", "<joe@example.test>: Temporary lookup failure" },
	{ "relay from outside", ASK_RCPT, SMTP_PLAIN, "x@remote.test", 0, RESOLVE_NOT_LOCAL,
	    POLICY_RELAY_DENIED, 554, "5.7.1", "<x@remote.test>: Relay access denied" },
	{ "relay from trusted on 25", ASK_RCPT, SMTP_TRUSTED, "x@remote.test", 0,
	    RESOLVE_NOT_LOCAL, POLICY_OK, 0, "", "" },
	{ "relay from trusted on submission", ASK_RCPT, SUB_TRUSTED, "x@remote.test", 0,
	    RESOLVE_NOT_LOCAL, POLICY_RELAY_DENIED, 554, "5.7.1",
	    "<x@remote.test>: Relay access denied" },
	{ "relay after login", ASK_RCPT, SUB_LOGIN, "x@remote.test", 0, RESOLVE_NOT_LOCAL,
	    POLICY_OK, 0, "", "" },
	{ "relay after login on 25", ASK_RCPT, SMTP_LOGIN, "x@remote.test", 0, RESOLVE_NOT_LOCAL,
	    POLICY_OK, 0, "", "" },
};

static void
test_table(void **state)
{
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		const struct row *r = &rows[i];
		struct policy_decision d;

		memset(&d, 0x5a, sizeof d); /* every field must be set by the decision */
		switch (r->ask) {
		case ASK_AUTH:
			policy_auth(&r->facts, &d);
			break;
		case ASK_MAIL:
			policy_mail(&r->facts, &d);
			break;
		case ASK_SENDER:
			policy_sender(&r->facts, r->addr, r->owned, &d);
			break;
		case ASK_RCPT:
			policy_rcpt(&r->facts, r->addr, r->st, &d);
			break;
		}
		if (d.reason != r->reason || d.code != r->code || strcmp(d.status, r->status) != 0 ||
		    strcmp(d.text, r->text) != 0)
			print_message("row \"%s\": %d %s %s\n", r->name, d.code, d.status, d.text);
		assert_int_equal(d.reason, r->reason);
		assert_int_equal(d.code, r->code);
		assert_string_equal(d.status, r->status);
		assert_string_equal(d.text, r->text);
		assert_int_equal(policy_refused(&d), r->reason != POLICY_OK);
	}
}

static void
test_sender_checked(void **state)
{
	struct policy_facts login = SUB_LOGIN, none = SUB_TLS, smtp = SMTP_PLAIN;

	assert_true(policy_sender_checked(&login, false));
	/* The null sender (bounces) belongs to nobody. */
	assert_false(policy_sender_checked(&login, true));
	assert_false(policy_sender_checked(&none, false));
	assert_false(policy_sender_checked(&smtp, false));
}

static void
test_long_addresses_fit(void **state)
{
	char addr[ADDR_MAX + 1], login[ADDR_MAX + 1];
	struct policy_facts f = SUB_LOGIN;
	struct policy_decision d;

	memset(addr, 'a', ADDR_MAX);
	addr[ADDR_MAX] = '\0';
	memset(login, 'b', ADDR_MAX);
	login[ADDR_MAX] = '\0';
	f.login = login;
	policy_sender(&f, addr, 0, &d);
	assert_int_equal(d.code, 553);
	/* Whole: the address and the login both in the text. */
	assert_non_null(strstr(d.text, addr));
	assert_non_null(strstr(d.text, login));
}

static void
test_greylist(void **state)
{
	struct policy_facts smtp = SMTP_PLAIN, login = SUB_LOGIN, tls = SUB_TLS;
	struct policy_facts trusted = SMTP_PLAIN, smtp_login = SMTP_PLAIN;
	struct policy_decision d;

	trusted.trusted = true;
	smtp_login.login = LOGIN;
	assert_true(policy_greylist_applies(&smtp, true));
	assert_false(policy_greylist_applies(&smtp, false));
	assert_false(policy_greylist_applies(&trusted, true));
	assert_false(policy_greylist_applies(&smtp_login, true));
	assert_false(policy_greylist_applies(&login, true));
	assert_false(policy_greylist_applies(&tls, true));

	policy_greylist("a@b.test", GREY_LISTED, &d);
	assert_int_equal(d.reason, POLICY_GREYLISTED);
	assert_int_equal(d.code, 451);
	assert_string_equal(d.status, "4.7.1");
	assert_string_equal(d.text, "<a@b.test>: greylisted, try again later");
	assert_false(policy_refused(&d) && d.code >= 500);
	policy_greylist("a@b.test", GREY_PASS, &d);
	assert_false(policy_refused(&d));
	/* a store that cannot answer lets the mail through */
	policy_greylist("a@b.test", GREY_FAILED, &d);
	assert_false(policy_refused(&d));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_sender_checked),
		cmocka_unit_test(test_long_addresses_fit),
		cmocka_unit_test(test_greylist),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
