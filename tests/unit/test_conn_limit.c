/*
 * test_conn_limit.c - unit tests for conn_limit.c: which client network an address
 * counts against (IPv4 /32 and IPv6 /64 by default), and the counting itself.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "net/conn_limit.h"

/* key_of - the key of a numeric address (IPv4 or IPv6) under the given prefixes. */
static const char *
key_of(const char *ip, unsigned v4, unsigned v6)
{
	static char out[CONN_KEY_MAX];
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof ss);
	if (strchr(ip, ':') == NULL) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(2525);
		assert_int_equal(inet_pton(AF_INET, ip, &s4->sin_addr), 1);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(2525);
		assert_int_equal(inet_pton(AF_INET6, ip, &s6->sin6_addr), 1);
	}
	conn_limit_key((struct sockaddr *)&ss, v4, v6, out, sizeof out);
	return out;
}

static void
test_key_ipv4(void **state)
{
	assert_string_equal(key_of("192.0.2.77", 32, 64), "192.0.2.77/32");
	assert_string_equal(key_of("192.0.2.77", 24, 64), "192.0.2.0/24");
	assert_string_equal(key_of("192.0.2.77", 25, 64), "192.0.2.0/25");
	assert_string_equal(key_of("192.0.2.200", 25, 64), "192.0.2.128/25");
	assert_string_equal(key_of("192.0.2.77", 20, 64), "192.0.0.0/20");
	assert_string_equal(key_of("255.255.255.255", 1, 64), "128.0.0.0/1");
	assert_string_equal(key_of("192.0.2.77", 0, 64), "0.0.0.0/0");
	/* A prefix longer than the address is the whole address. */
	assert_string_equal(key_of("192.0.2.77", 99, 64), "192.0.2.77/32");
}

static void
test_key_ipv6(void **state)
{
	assert_string_equal(key_of("2001:db8:1:2:3:4:5:6", 32, 64), "2001:db8:1:2::/64");
	assert_string_equal(key_of("2001:db8:1:2:ffff::1", 32, 64), "2001:db8:1:2::/64");
	assert_string_equal(key_of("2001:db8:1:2:3:4:5:6", 32, 48), "2001:db8:1::/48");
	assert_string_equal(key_of("2001:db8:1:2:3:4:5:6", 32, 56), "2001:db8:1::/56");
	assert_string_equal(key_of("2001:db8:1:2ff:3:4:5:6", 32, 56), "2001:db8:1:200::/56");
	assert_string_equal(key_of("2001:db8:1:2:3:4:5:6", 32, 128), "2001:db8:1:2:3:4:5:6/128");
	assert_string_equal(key_of("2001:db8:1:2:3:4:5:6", 32, 127), "2001:db8:1:2:3:4:5:6/127");
	assert_string_equal(key_of("2001:db8:1:2:3:4:5:7", 32, 127), "2001:db8:1:2:3:4:5:6/127");
	assert_string_equal(key_of("::1", 32, 64), "::/64");
	assert_string_equal(key_of("2001:db8::1", 32, 0), "::/0");
}

/* An IPv4 client on a dual-stack socket counts as IPv4, under the IPv4 prefix. */
static void
test_key_v4_mapped(void **state)
{
	assert_string_equal(key_of("::ffff:192.0.2.77", 32, 64), "192.0.2.77/32");
	assert_string_equal(key_of("::ffff:192.0.2.77", 24, 64), "192.0.2.0/24");
	assert_string_equal(key_of("::ffff:192.0.2.77", 24, 64), key_of("192.0.2.77", 24, 64));
}

static void
test_key_other_family(void **state)
{
	struct sockaddr sa = { .sa_family = AF_UNIX };
	char out[CONN_KEY_MAX];

	conn_limit_key(&sa, 32, 64, out, sizeof out);
	assert_string_equal(out, "local");
}

/* Two addresses of one /64 share its count; another /64 has its own. */
static void
test_count_per_network(void **state)
{
	struct conn_limit c = { 0 };
	struct conn_slot a, b, x, other;
	char k1[CONN_KEY_MAX], k2[CONN_KEY_MAX], k3[CONN_KEY_MAX];

	strcpy(k1, key_of("2001:db8:1:2::10", 32, 64));
	strcpy(k2, key_of("2001:db8:1:2::20", 32, 64));
	strcpy(k3, key_of("2001:db8:1:3::10", 32, 64));
	assert_string_equal(k1, k2);
	assert_true(conn_limit_enter(&c, k1, 100, 2, &a));
	assert_true(conn_limit_enter(&c, k2, 100, 2, &b));
	assert_int_equal(conn_limit_count(&c, k1), 2);
	assert_false(conn_limit_enter(&c, k2, 100, 2, &x)); /* the third from that /64 */
	assert_null(x.pool);
	assert_true(conn_limit_enter(&c, k3, 100, 2, &other));
	assert_int_equal(c.total, 3);
	/* A place freed is free again; leaving twice counts once. */
	conn_slot_leave(&a);
	conn_slot_leave(&a);
	assert_int_equal(conn_limit_count(&c, k1), 1);
	assert_int_equal(c.total, 2);
	assert_true(conn_limit_enter(&c, k2, 100, 2, &x));
	conn_slot_leave(&x);
	conn_slot_leave(&b);
	conn_slot_leave(&other);
	assert_int_equal(conn_limit_count(&c, k1), 0);
	assert_int_equal(conn_limit_count(&c, k3), 0);
	assert_int_equal(c.total, 0);
	assert_int_equal(c.per_key.n, 0); /* no entries left behind */
	conn_limit_free(&c);
}

/* The total limit, whatever the networks. */
static void
test_count_total(void **state)
{
	struct conn_limit c = { 0 };
	struct conn_slot s[3];

	assert_true(conn_limit_enter(&c, "192.0.2.1/32", 2, 10, &s[0]));
	assert_true(conn_limit_enter(&c, "192.0.2.2/32", 2, 10, &s[1]));
	assert_false(conn_limit_enter(&c, "192.0.2.3/32", 2, 10, &s[2]));
	assert_int_equal(conn_limit_count(&c, "192.0.2.3/32"), 0);
	conn_slot_leave(&s[1]);
	assert_true(conn_limit_enter(&c, "192.0.2.3/32", 2, 10, &s[2]));
	conn_slot_leave(&s[0]);
	conn_slot_leave(&s[2]);
	assert_int_equal(c.total, 0);
	conn_limit_free(&c);
}

/* Pools do not share counts: one per listener. */
static void
test_pools_apart(void **state)
{
	struct conn_limit smtp = { 0 }, submission = { 0 };
	struct conn_slot a, b, c;

	assert_true(conn_limit_enter(&smtp, "192.0.2.1/32", 1, 1, &a));
	assert_false(conn_limit_enter(&smtp, "192.0.2.1/32", 1, 1, &b));
	assert_true(conn_limit_enter(&submission, "192.0.2.1/32", 1, 1, &c));
	conn_slot_leave(&c);
	assert_int_equal(smtp.total, 1);
	assert_int_equal(submission.total, 0);
	conn_slot_leave(&a);
	conn_limit_free(&smtp);
	conn_limit_free(&submission);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_ipv4),
		cmocka_unit_test(test_key_ipv6),
		cmocka_unit_test(test_key_v4_mapped),
		cmocka_unit_test(test_key_other_family),
		cmocka_unit_test(test_count_per_network),
		cmocka_unit_test(test_count_total),
		cmocka_unit_test(test_pools_apart),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
