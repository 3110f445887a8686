/*
 * test_route.c - unit tests for deliver/route.c: the route of each kind of recipient
 * (a mailbox, a domain by MX, an address literal, a relayhost by name, by address,
 * in brackets), which recipients share a delivery, and the merging of domains whose
 * MX hosts (and senders) are the same.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "deliver/route.h"

static const struct route_cfg direct = { NULL, 2525 };

static void
test_local_and_mx(void **state)
{
	struct route r, s;

	assert_int_equal(route_rcpt(TARGET_LOCAL, "demo@example.test", &direct, &r), 0);
	assert_int_equal(r.kind, ROUTE_LOCAL);
	assert_int_equal(route_rcpt(TARGET_REMOTE, "Someone@Remote.TEST", &direct, &r), 0);
	assert_int_equal(r.kind, ROUTE_MX);
	assert_string_equal(r.dest, "remote.test"); /* one delivery per domain, any case */
	assert_int_equal(r.port, 2525);
	assert_false(r.relayhost);
	assert_true(route_mergeable(&r));
	assert_int_equal(route_rcpt(TARGET_REMOTE, "other@remote.test", &direct, &s), 0);
	assert_true(route_same(&r, &s));
	assert_int_equal(route_rcpt(TARGET_REMOTE, "x@other.test", &direct, &s), 0);
	assert_false(route_same(&r, &s));
	/* The domain is after the last '@'. */
	assert_int_equal(route_rcpt(TARGET_REMOTE, "\"a@b\"@c.test", &direct, &r), 0);
	assert_string_equal(r.dest, "c.test");
	assert_int_equal(route_rcpt(TARGET_REMOTE, "no-domain", &direct, &r), -1);
}

static void
test_literals(void **state)
{
	struct route r;

	assert_int_equal(route_rcpt(TARGET_REMOTE, "u@[192.0.2.1]", &direct, &r), 0);
	assert_int_equal(r.kind, ROUTE_HOST);
	assert_string_equal(r.dest, "[192.0.2.1]");
	assert_string_equal(r.host, "192.0.2.1");
	assert_false(route_mergeable(&r));
	assert_int_equal(route_rcpt(TARGET_REMOTE, "u@[IPv6:2001:DB8::1]", &direct, &r), 0);
	assert_string_equal(r.host, "2001:db8::1");
	assert_int_equal(r.port, 2525);
}

static void
test_relayhost(void **state)
{
	struct route r, s;
	struct route_cfg by_name = { "Smart.Example:587", 25 };
	struct route_cfg bracketed = { "[smart.example]:2526", 25 };
	struct route_cfg by_ip = { "192.0.2.9:25", 2525 };
	struct route_cfg by_ip6 = { "[::1]:2527", 2525 };

	/* A name without brackets: its MX (Postfix's meaning); every remote recipient, one delivery. */
	assert_int_equal(route_rcpt(TARGET_REMOTE, "a@one.test", &by_name, &r), 0);
	assert_int_equal(r.kind, ROUTE_MX);
	assert_true(r.relayhost);
	assert_string_equal(r.dest, "smart.example");
	assert_int_equal(r.port, 587);
	assert_false(route_mergeable(&r));
	assert_int_equal(route_rcpt(TARGET_REMOTE, "b@two.test", &by_name, &s), 0);
	assert_true(route_same(&r, &s));
	/* Local recipients stay local. */
	assert_int_equal(route_rcpt(TARGET_LOCAL, "demo@example.test", &by_name, &s), 0);
	assert_int_equal(s.kind, ROUTE_LOCAL);
	/* In brackets, or an address: no MX lookup. */
	assert_int_equal(route_rcpt(TARGET_REMOTE, "a@one.test", &bracketed, &r), 0);
	assert_int_equal(r.kind, ROUTE_HOST);
	assert_string_equal(r.host, "smart.example");
	assert_int_equal(r.port, 2526);
	assert_int_equal(route_rcpt(TARGET_REMOTE, "a@one.test", &by_ip, &r), 0);
	assert_int_equal(r.kind, ROUTE_HOST);
	assert_string_equal(r.host, "192.0.2.9");
	assert_int_equal(r.port, 25);
	assert_int_equal(route_rcpt(TARGET_REMOTE, "a@[192.0.2.1]", &by_ip6, &r), 0);
	assert_int_equal(r.kind, ROUTE_HOST);
	assert_string_equal(r.host, "::1");
	assert_int_equal(r.port, 2527);
}

static void
test_mx_merge(void **state)
{
	struct mx a[] = { { 10, "mx1.test" }, { 20, "mx2.test" } };
	struct mx b[] = { { 20, "mx2.test" }, { 10, "mx1.test" } }; /* the same, in another order */
	struct mx c[] = { { 10, "mx1.test" }, { 30, "mx2.test" } }; /* another preference */
	struct mx d[] = { { 10, "mx1.test" } };
	struct mx_list la = { a, 2, false, false }, lb = { b, 2, false, false },
		       lc = { c, 2, false, false }, ld = { d, 1, false, false },
		       empty = { NULL, 0, false, false }, nullmx = { d, 1, true, false },
		       la_secure = { a, 2, false, true }, lb_secure = { b, 2, false, true };

	assert_true(mx_same_servers(&la, &lb));
	assert_false(mx_same_servers(&la, &lc));
	assert_false(mx_same_servers(&la, &ld));
	assert_false(mx_same_servers(&empty, &empty));
	assert_false(mx_same_servers(&nullmx, &nullmx));
	/* DANE applies to a secure list only: never merged with an insecure one. */
	assert_true(mx_same_servers(&la_secure, &lb_secure));
	assert_false(mx_same_servers(&la, &lb_secure));
	assert_false(mx_same_servers(&la_secure, &lb));

	const struct mx_list *lists[] = { &la, &lc, NULL, &lb, &ld, &lc, &ld };
	size_t into[7];
	assert_int_equal(mx_merge(lists, 7, into), 4);
	assert_int_equal(into[0], 0);
	assert_int_equal(into[1], 1);
	assert_int_equal(into[2], 2); /* its lookup failed: on its own */
	assert_int_equal(into[3], 0);
	assert_int_equal(into[4], 4);
	assert_int_equal(into[5], 1);
	assert_int_equal(into[6], 4);
	assert_int_equal(mx_merge(lists, 0, into), 0);

	/* one transaction has one MAIL FROM: only deliveries of the same sender merge */
	const struct mx_list *same[] = { &la, &lb, &lb, &la };
	const char *senders[] = { NULL, "SRS0=x@a.test", "SRS0=x@a.test", NULL };
	assert_int_equal(mx_merge_keyed(same, senders, 4, into), 2);
	assert_int_equal(into[0], 0);
	assert_int_equal(into[1], 1);
	assert_int_equal(into[2], 1);
	assert_int_equal(into[3], 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_local_and_mx),
		cmocka_unit_test(test_literals),
		cmocka_unit_test(test_relayhost),
		cmocka_unit_test(test_mx_merge),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
