/*
 * test_self_addr.c - unit tests for self_addr.c: which destinations would reach our
 * own listeners (exact addresses, wildcards with made-up interfaces, loopback
 * networks, IPv4-mapped and unspecified addresses, ports), and the interface list.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <netinet/in.h>

#include "net/self_addr.h"

/* sa - "ip" as a socket address (port 9, which the match must ignore). */
static struct sockaddr_storage
sa(const char *ip)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof ss);
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(9);
	} else if (inet_pton(AF_INET6, ip, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(9);
	} else {
		fail_msg("bad test address %s", ip);
	}
	return ss;
}

/* listeners - lists[0] made of "ip port" pairs; storage in v. */
static struct listen_list
listeners(struct listen_addr *v, size_t n, const char *const *ips, const uint16_t *ports)
{
	for (size_t i = 0; i < n; i++) {
		memset(&v[i], 0, sizeof v[i]);
		v[i].ss = sa(ips[i]);
		if (v[i].ss.ss_family == AF_INET)
			((struct sockaddr_in *)&v[i].ss)->sin_port = htons(ports[i]);
		else
			((struct sockaddr_in6 *)&v[i].ss)->sin6_port = htons(ports[i]);
	}
	return (struct listen_list){ v, n };
}

static struct local_addr
local(const char *ip, unsigned prefix)
{
	struct local_addr l = { 0 };
	struct sockaddr_storage ss = sa(ip);

	l.family = ss.ss_family;
	if (l.family == AF_INET)
		memcpy(l.addr, &((struct sockaddr_in *)&ss)->sin_addr, 4);
	else
		memcpy(l.addr, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
	l.prefix = prefix;
	return l;
}

static bool
match(const struct listen_list *l, size_t n, const char *ip, uint16_t port,
    const struct local_addrs *loc)
{
	struct sockaddr_storage ss = sa(ip);
	return self_addr_match(l, n, (const struct sockaddr *)&ss, port, loc);
}

static void
test_exact(void **state)
{
	struct listen_addr v[3];
	const char *ips[] = { "127.0.0.1", "192.0.2.7", "::1" };
	const uint16_t ports[] = { 2525, 25, 2525 };
	struct listen_list all = listeners(v, 3, ips, ports), first = { v, 1 };

	(void)state;
	assert_false(self_addrs_any_wildcard(&all, 1));
	assert_true(match(&first, 1, "127.0.0.1", 2525, NULL));
	assert_false(match(&first, 1, "127.0.0.1", 25, NULL));   /* someone else's port */
	assert_false(match(&first, 1, "127.0.0.2", 2525, NULL)); /* not bound there */
	assert_true(match(&first, 1, "::ffff:127.0.0.1", 2525, NULL)); /* IPv4-mapped */
	assert_true(match(&first, 1, "0.0.0.0", 2525, NULL));    /* connect() goes to loopback */
	assert_true(match(&first, 1, "::ffff:0.0.0.0", 2525, NULL));
	assert_false(match(&first, 1, "::1", 2525, NULL));       /* other family */
	assert_false(match(&first, 0, "127.0.0.1", 2525, NULL)); /* no listeners at all */
	assert_true(match(&all, 1, "::1", 2525, NULL));
	assert_true(match(&all, 1, "::", 2525, NULL));
	assert_true(match(&all, 1, "192.0.2.7", 25, NULL));
	assert_false(match(&all, 1, "192.0.2.8", 25, NULL));
	assert_false(match(&all, 1, "192.0.2.7", 2525, NULL));
	assert_false(match(&all, 1, "2001:db8::1", 2525, NULL));
	assert_false(match(&all, 1, "127.0.0.1", 0, NULL));
}

static void
test_wildcard(void **state)
{
	struct listen_addr v[2];
	const char *ips[] = { "0.0.0.0", "::" };
	const uint16_t ports[] = { 25, 25 };
	struct listen_list both = listeners(v, 2, ips, ports);
	struct listen_list only4 = { v, 1 }, only6 = { v + 1, 1 };
	struct local_addr ifs[] = { local("192.0.2.7", 32), local("2001:db8::7", 128),
		local("10.1.0.0", 16) };
	struct local_addrs loc = { ifs, 3 };

	(void)state;
	assert_true(self_addrs_any_wildcard(&only4, 1));
	assert_true(self_addrs_any_wildcard(&only6, 1));
	/* without interfaces: the loopback networks and the unspecified address */
	assert_true(match(&only4, 1, "127.0.0.1", 25, NULL));
	assert_true(match(&only4, 1, "127.3.4.5", 25, NULL));
	assert_true(match(&only4, 1, "0.0.0.0", 25, NULL));
	assert_false(match(&only4, 1, "192.0.2.7", 25, NULL));
	assert_false(match(&only4, 1, "::1", 25, NULL));   /* [::] would be another socket */
	assert_true(match(&both, 1, "::1", 25, NULL));
	assert_true(match(&both, 1, "::", 25, NULL));
	/* with them */
	assert_true(match(&only4, 1, "192.0.2.7", 25, &loc));
	assert_true(match(&only4, 1, "::ffff:192.0.2.7", 25, &loc));
	assert_false(match(&only4, 1, "192.0.2.8", 25, &loc));
	assert_true(match(&only4, 1, "10.1.200.3", 25, &loc)); /* inside a loopback network */
	assert_false(match(&only4, 1, "10.2.0.1", 25, &loc));
	assert_false(match(&only4, 1, "192.0.2.7", 26, &loc));
	assert_false(match(&only4, 1, "2001:db8::7", 25, &loc));
	/* the IPv6 wildcard is IPV6_V6ONLY: IPv4 is not its business */
	assert_false(match(&only6, 1, "192.0.2.7", 25, &loc));
	assert_false(match(&only6, 1, "127.0.0.1", 25, &loc));
	assert_true(match(&only6, 1, "2001:db8::7", 25, &loc));
	assert_false(match(&only6, 1, "2001:db8::8", 25, &loc));
	assert_true(match(&both, 1, "2001:db8::7", 25, &loc));
	assert_true(match(&both, 1, "192.0.2.7", 25, &loc));
}

static void
test_several_lists(void **state)
{
	struct listen_addr a[1], b[1];
	const char *ia[] = { "127.0.0.1" }, *ib[] = { "127.0.0.2" };
	const uint16_t pa[] = { 2525 }, pb[] = { 2587 };
	struct listen_list l[2] = { listeners(a, 1, ia, pa), listeners(b, 1, ib, pb) };

	(void)state;
	assert_false(self_addrs_any_wildcard(l, 2));
	assert_true(match(l, 2, "127.0.0.2", 2587, NULL));
	assert_false(match(l, 2, "127.0.0.1", 2587, NULL));
	assert_true(match(l, 2, "127.0.0.1", 2525, NULL));
}

static void
test_local_addrs_load(void **state)
{
	struct local_addrs loc;
	bool loopback = false;

	(void)state;
	assert_int_equal(local_addrs_load(&loc), 0);
	for (size_t i = 0; i < loc.n; i++) {
		assert_true(loc.v[i].family == AF_INET || loc.v[i].family == AF_INET6);
		assert_true(loc.v[i].prefix <= (loc.v[i].family == AF_INET ? 32u : 128u));
		if (loc.v[i].family == AF_INET && loc.v[i].addr[0] == 127)
			loopback = true;
	}
	assert_true(loopback); /* lo is up on any machine that runs the tests */
	local_addrs_free(&loc);
	assert_int_equal(loc.n, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact),
		cmocka_unit_test(test_wildcard),
		cmocka_unit_test(test_several_lists),
		cmocka_unit_test(test_local_addrs_load),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
