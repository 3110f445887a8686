/*
 * test_greylist.c - unit tests for lookup/greylist.c: the client network of the
 * triplet (/24, /64, mapped IPv4), the key (lower case, the null sender, bounds,
 * no separator inside a part), each way of the decision over stored rows and
 * times, the auto-allowed client network, and expiry.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lookup/greylist.h"

#define DELAY 300
#define T0 1800000000

static void
test_net(void **state)
{
	char out[GREY_NET_MAX + 1];

	assert_int_equal(grey_client_net("192.0.2.99", out, sizeof out), 0);
	assert_string_equal(out, "192.0.2.0/24");
	assert_int_equal(grey_client_net("2001:db8:1:2:3:4:5:6", out, sizeof out), 0);
	assert_string_equal(out, "2001:db8:1:2::/64");
	assert_int_equal(grey_client_net("::ffff:198.51.100.7", out, sizeof out), 0);
	assert_string_equal(out, "198.51.100.0/24");
	assert_int_equal(grey_client_net("::1", out, sizeof out), 0);
	assert_string_equal(out, "::/64");
	assert_int_equal(grey_client_net("nonsense", out, sizeof out), -1);
	assert_int_equal(grey_client_net("192.0.2.1/24", out, sizeof out), -1);
	assert_int_equal(grey_client_net("192.0.2.99", out, 8), -1);
}

static void
test_key(void **state)
{
	char key[GREY_KEY_MAX + 1], longer[ADDR_MAX + 10];

	assert_int_equal(grey_key("192.0.2.99", "Bob@Example.ORG", "Alice@Here.Example", key,
	    sizeof key), 0);
	assert_string_equal(key, "192.0.2.0/24\tbob@example.org\talice@here.example");
	assert_int_equal(grey_key("192.0.2.1", "<>", "a@b.example", key, sizeof key), 0);
	assert_string_equal(key, "192.0.2.0/24\t\ta@b.example");
	assert_int_equal(grey_key("192.0.2.1", "", "a@b.example", key, sizeof key), 0);
	assert_string_equal(key, "192.0.2.0/24\t\ta@b.example");
	/* the same /24, the same key */
	char other[GREY_KEY_MAX + 1];
	assert_int_equal(grey_key("192.0.2.200", "", "A@B.example", other, sizeof other), 0);
	assert_string_equal(key, other);
	/* no separator or control character inside a part */
	assert_int_equal(grey_key("192.0.2.1", "a\tb@c.example", "a@b.example", key, sizeof key), -1);
	assert_int_equal(grey_key("192.0.2.1", "a@c.example", "a\n@b.example", key, sizeof key), -1);
	assert_int_equal(grey_key("192.0.2.1", "a@c.example", "", key, sizeof key), -1);
	assert_int_equal(grey_key("not-an-ip", "a@c.example", "a@b.example", key, sizeof key), -1);
	/* bounded */
	memset(longer, 'x', sizeof longer - 1);
	longer[sizeof longer - 1] = '\0';
	assert_int_equal(grey_key("192.0.2.1", longer, "a@b.example", key, sizeof key), -1);
	assert_int_equal(grey_key("192.0.2.1", "a@c.example", "a@b.example", key, 20), -1);
	/* the longest parts fit GREY_KEY_MAX */
	char sender[ADDR_MAX + 1], rcpt[ADDR_MAX + 1];
	memset(sender, 's', ADDR_MAX);
	sender[ADDR_MAX] = '\0';
	memset(rcpt, 'r', ADDR_MAX);
	rcpt[ADDR_MAX] = '\0';
	assert_int_equal(grey_key("2001:db8:ffff:ffff:1:2:3:4", sender, rcpt, key, sizeof key), 0);
}

static void
test_new_then_retry(void **state)
{
	struct grey_row row = { 0 };
	struct grey_client client = { 0 };
	struct grey_decision d;

	/* new: greylisted, first_seen recorded, nothing counted */
	grey_decide(&row, &client, T0, DELAY, &d);
	assert_int_equal(d.answer, GREY_LISTED);
	assert_int_equal(d.why, GREY_WHY_NEW);
	assert_true(d.write_row);
	assert_false(d.write_client);
	assert_int_equal(d.row.first_seen, T0);
	assert_int_equal(d.row.passed, 0);
	row = d.row;

	/* again at once, and just before the delay: still greylisted, first_seen kept */
	grey_decide(&row, &client, T0 + 1, DELAY, &d);
	assert_int_equal(d.answer, GREY_LISTED);
	assert_int_equal(d.why, GREY_WHY_EARLY);
	assert_int_equal(d.row.first_seen, T0);
	assert_int_equal(d.row.last_seen, T0 + 1);
	grey_decide(&row, &client, T0 + DELAY - 1, DELAY, &d);
	assert_int_equal(d.answer, GREY_LISTED);

	/* at the delay: passes, counted for the triplet and the client network */
	grey_decide(&row, &client, T0 + DELAY, DELAY, &d);
	assert_int_equal(d.answer, GREY_PASS);
	assert_int_equal(d.why, GREY_WHY_RETRIED);
	assert_int_equal(d.row.passed, 1);
	assert_true(d.write_client);
	assert_int_equal(d.client.passes, 1);
	assert_int_equal(d.client.last_seen, T0 + DELAY);
	row = d.row;
	client = d.client;

	/* known from then on, even much later */
	grey_decide(&row, &client, T0 + 20 * 24 * 3600, DELAY, &d);
	assert_int_equal(d.answer, GREY_PASS);
	assert_int_equal(d.why, GREY_WHY_KNOWN);
	assert_int_equal(d.row.passed, 2);
	assert_int_equal(d.client.passes, 2);
}

static void
test_window(void **state)
{
	struct grey_row row = { .found = true, .first_seen = T0, .last_seen = T0 };
	struct grey_client client = { 0 };
	struct grey_decision d;

	/* the last moment of the window passes */
	grey_decide(&row, &client, T0 + DELAY + GREY_RETRY_WINDOW, DELAY, &d);
	assert_int_equal(d.answer, GREY_PASS);
	/* past it: greylisted again, the delay starting now */
	grey_decide(&row, &client, T0 + DELAY + GREY_RETRY_WINDOW + 1, DELAY, &d);
	assert_int_equal(d.answer, GREY_LISTED);
	assert_int_equal(d.why, GREY_WHY_NEW);
	assert_int_equal(d.row.first_seen, T0 + DELAY + GREY_RETRY_WINDOW + 1);
	/* a clock gone back: started over rather than passed */
	grey_decide(&row, &client, T0 - 100, DELAY, &d);
	assert_int_equal(d.answer, GREY_LISTED);
	assert_int_equal(d.why, GREY_WHY_NEW);
	assert_int_equal(d.row.first_seen, T0 - 100);
}

static void
test_client_allowed(void **state)
{
	struct grey_row none = { 0 };
	struct grey_client client = { .found = true, .passes = GREY_CLIENT_PASSES - 1,
	    .last_seen = T0 };
	struct grey_decision d;

	/* one pass short: a new triplet is greylisted */
	grey_decide(&none, &client, T0, DELAY, &d);
	assert_int_equal(d.answer, GREY_LISTED);
	assert_false(d.write_client);
	/* at GREY_CLIENT_PASSES: any triplet passes at once, none stored */
	client.passes = GREY_CLIENT_PASSES;
	grey_decide(&none, &client, T0 + 10, DELAY, &d);
	assert_int_equal(d.answer, GREY_PASS);
	assert_int_equal(d.why, GREY_WHY_CLIENT);
	assert_false(d.write_row);
	assert_true(d.write_client);
	assert_int_equal(d.client.passes, GREY_CLIENT_PASSES + 1);
	assert_int_equal(d.client.last_seen, T0 + 10);
}

static void
test_expiry(void **state)
{
	time_t now = T0 + 100 * 24 * 3600;
	struct grey_row passed = { .found = true, .first_seen = T0, .passed = 3 };
	struct grey_row waiting = { .found = true, .passed = 0 };
	struct grey_client c = { .found = true, .passes = 9 };

	passed.last_seen = now - GREY_KEEP + 1;
	assert_false(grey_row_expired(&passed, now, DELAY));
	passed.last_seen = now - GREY_KEEP - 1;
	assert_true(grey_row_expired(&passed, now, DELAY));
	waiting.first_seen = waiting.last_seen = now - DELAY - GREY_RETRY_WINDOW;
	assert_false(grey_row_expired(&waiting, now, DELAY));
	waiting.first_seen = now - DELAY - GREY_RETRY_WINDOW - 1;
	assert_true(grey_row_expired(&waiting, now, DELAY));
	c.last_seen = now - GREY_KEEP;
	assert_false(grey_client_expired(&c, now));
	c.last_seen = now - GREY_KEEP - 1;
	assert_true(grey_client_expired(&c, now));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_net),
		cmocka_unit_test(test_key),
		cmocka_unit_test(test_new_then_retry),
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_client_allowed),
		cmocka_unit_test(test_expiry),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
