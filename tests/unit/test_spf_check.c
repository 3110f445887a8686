/*
 * test_spf_check.c - unit tests for the SPF evaluator (spf_check.c, spf_both.c)
 * over canned DNS: results and qualifiers, include and redirect, exp, the limits
 * of RFC 7208 4.6.4 (10 DNS terms, 2 void lookups, 10 MX names), loops, DNS
 * failures, IPv6 and IPv4-mapped clients, ptr; answers given at once and later
 * (a queue the test empties, as the loop would), and cancellation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>

#include "spf/spf.h"

struct canned {
	const char *name;
	int type;               /* 16 TXT, 1 A, 28 AAAA, 15 MX ("pref host"), 12 PTR */
	enum dns_status st;
	const char *v[12];
};

static const struct canned *zone;
static size_t queries;

/* Deferred answers: the query, to be answered by pump(). */
struct pending {
	char name[300];
	int type;
	dns_rr_fn fn;
	void *arg;
};
static struct pending queue[4];
static size_t queued;
static bool deferred;

static size_t
wire_name(const char *name, uint8_t *out)
{
	size_t n = 0;
	while (*name) {
		size_t l = strcspn(name, ".");
		out[n++] = (uint8_t)l;
		memcpy(out + n, name, l);
		n += l;
		name += l;
		if (*name == '.')
			name++;
	}
	out[n++] = 0;
	return n;
}

static void
answer(const char *name, int type, dns_rr_fn fn, void *arg)
{
	uint8_t buf[12][600];
	const uint8_t *v[12];
	int len[12];
	struct dns_rdata rr = { v, len, 0, 300, false };
	enum dns_status st = DNS_NXDOMAIN;

	for (const struct canned *z = zone; z->name; z++) {
		if (strcasecmp(z->name, name) != 0)
			continue;
		if (st == DNS_NXDOMAIN)
			st = DNS_NODATA;
		if (z->type != type)
			continue;
		st = z->st;
		for (size_t i = 0; st == DNS_OK && i < 12 && z->v[i]; i++) {
			uint8_t *b = buf[rr.n];
			const char *s = z->v[i];
			size_t n = 0;
			if (type == 16) {
				size_t l = strlen(s);
				for (size_t off = 0; off < l || off == 0; off += 255) {
					size_t piece = l - off > 255 ? 255 : l - off;
					b[n++] = (uint8_t)piece;
					memcpy(b + n, s + off, piece);
					n += piece;
					if (l == 0)
						break;
				}
			} else if (type == 1 || type == 28) {
				assert_int_equal(inet_pton(type == 1 ? AF_INET : AF_INET6, s, b), 1);
				n = type == 1 ? 4 : 16;
			} else if (type == 15) {
				unsigned pref = (unsigned)atoi(s);
				b[0] = (uint8_t)(pref >> 8);
				b[1] = (uint8_t)pref;
				n = 2 + wire_name(strchr(s, ' ') + 1, b + 2);
			} else {
				n = wire_name(s, b);
			}
			v[rr.n] = b;
			len[rr.n++] = (int)n;
		}
	}
	fn(arg, st, &rr, st == DNS_TEMPFAIL ? "canned failure" : "");
}

static int
fake_rr(void *ctx, const char *name, int type, dns_rr_fn fn, void *arg)
{
	queries++;
	if (!deferred) {
		answer(name, type, fn, arg);
		return 0;
	}
	assert_true(queued < 4);
	struct pending *p = &queue[queued++];
	snprintf(p->name, sizeof p->name, "%s", name);
	p->type = type;
	p->fn = fn;
	p->arg = arg;
	return 0;
}

static void
fake_cancel(void *ctx, void *arg)
{
	size_t k = 0;
	for (size_t i = 0; i < queued; i++)
		if (queue[i].arg != arg)
			queue[k++] = queue[i];
	queued = k;
}

static const struct dns_ops ops = { fake_rr, fake_cancel, NULL };

/* pump - answer the queued queries, as the event loop would, until none is left. */
static void
pump(void)
{
	for (int rounds = 0; queued > 0 && rounds < 1000; rounds++) {
		struct pending p = queue[0];
		memmove(queue, queue + 1, --queued * sizeof queue[0]);
		answer(p.name, p.type, p.fn, p.arg);
	}
	assert_int_equal(queued, 0);
}

static struct spf_result got;
static int calls;

static void
on_done(void *arg, const struct spf_result *r)
{
	got = *r;
	calls++;
}

static enum spf_outcome
check(const struct canned *z, const char *ip, const char *mailfrom)
{
	zone = z;
	queries = 0;
	calls = 0;
	memset(&got, 0, sizeof got);
	struct spf_request req = { ip, "mail.example.org", mailfrom, "mx.receiver.test" };
	struct spf_check *c = spf_check_start(&ops, &req, on_done, NULL);
	if (deferred) {
		assert_true(c != NULL || calls == 1);
		pump();
	} else {
		assert_null(c);
	}
	assert_int_equal(calls, 1);
	return got.result;
}

static const struct canned basic[] = {
	{ "example.com", 16, DNS_OK, { "v=spf1 ip4:192.0.2.0/24 a:mail.example.com "
	    "ip6:2001:db8::/32 include:inc.example.net ~ip4:203.0.113.7 "
	    "-all exp=why.%{d}" } },
	{ "example.com", 16, DNS_OK, { "unrelated text" } },
	{ "mail.example.com", 1, DNS_OK, { "198.51.100.1" } },
	{ "inc.example.net", 16, DNS_OK, { "v=spf1 ip4:198.51.100.99 -all" } },
	{ "why.example.com", 16, DNS_OK, { "%{i} may not send for %{d} (%{l})" } },
	{ NULL },
};

static void
results(void **state)
{
	assert_int_equal(check(basic, "192.0.2.44", "alice@example.com"), SPF_PASS);
	assert_string_equal(got.identity, "mailfrom");
	assert_string_equal(got.domain, "example.com");
	assert_int_equal(check(basic, "198.51.100.1", "alice@example.com"), SPF_PASS);
	assert_int_equal(check(basic, "198.51.100.99", "alice@example.com"), SPF_PASS);
	assert_int_equal(check(basic, "2001:db8::5", "alice@EXAMPLE.com"), SPF_PASS);
	assert_int_equal(check(basic, "::ffff:192.0.2.9", "alice@example.com"), SPF_PASS);
	assert_int_equal(check(basic, "203.0.113.7", "alice@example.com"), SPF_SOFTFAIL);
	assert_int_equal(check(basic, "203.0.113.8", "alice@example.com"), SPF_FAIL);
	assert_string_equal(got.explanation, "203.0.113.8 may not send for example.com (alice)");
	assert_int_equal(check(basic, "203.0.113.8", "nobody@nowhere.example"), SPF_NONE);
	assert_int_equal(check(basic, "203.0.113.8", "alice@localhost"), SPF_NONE);
	assert_int_equal(check(basic, "bogus", "alice@example.com"), SPF_PERMERROR);
}

static void
answers_later(void **state)
{
	deferred = true;
	results(state);
	/* Cancelled with a query under way: no callback, nothing left behind (ASan). */
	zone = basic;
	calls = 0;
	struct spf_request req = { "203.0.113.8", "mail.example.org", "a@example.com", NULL };
	struct spf_check *c = spf_check_start(&ops, &req, on_done, NULL);
	assert_non_null(c);
	assert_int_equal(queued, 1);
	spf_check_cancel(c);
	assert_int_equal(queued, 0);
	assert_int_equal(calls, 0);
	deferred = false;
}

static const struct canned limits[] = {
	{ "ten.example", 16, DNS_OK, { "v=spf1 a:h1.example a:h1.example a:h1.example "
	    "a:h1.example a:h1.example a:h1.example a:h1.example a:h1.example a:h1.example "
	    "a:h2.example -all" } },
	{ "eleven.example", 16, DNS_OK, { "v=spf1 a:h1.example a:h1.example a:h1.example "
	    "a:h1.example a:h1.example a:h1.example a:h1.example a:h1.example a:h1.example "
	    "a:h1.example a:h2.example -all" } },
	{ "h1.example", 1, DNS_OK, { "10.0.0.1" } },
	{ "h2.example", 1, DNS_OK, { "192.0.2.1" } },
	{ "void2.example", 16, DNS_OK, { "v=spf1 a:n1.example a:n2.example" } },
	{ "void3.example", 16, DNS_OK, { "v=spf1 a:n1.example a:n2.example mx:n3.example" } },
	{ "loop.example", 16, DNS_OK, { "v=spf1 include:loop.example -all" } },
	{ "r1.example", 16, DNS_OK, { "v=spf1 redirect=r2.example" } },
	{ "r2.example", 16, DNS_OK, { "v=spf1 redirect=r1.example" } },
	{ "mx11.example", 16, DNS_OK, { "v=spf1 mx -all" } },
	{ "mx11.example", 15, DNS_OK, { "0 m1.example", "1 m2.example", "2 m3.example",
	    "3 m4.example", "4 m5.example", "5 m6.example", "6 m7.example", "7 m8.example",
	    "8 m9.example", "9 m10.example", "10 m11.example" } },
	{ "mx10.example", 16, DNS_OK, { "v=spf1 mx/24 -all" } },
	{ "mx10.example", 15, DNS_OK, { "0 m1.example", "1 m2.example", "2 m3.example",
	    "3 m4.example", "4 m5.example", "5 m6.example", "6 m7.example", "7 m8.example",
	    "8 m9.example", "9 m10.example" } },
	{ "m10.example", 1, DNS_OK, { "192.0.2.200" } },
	{ "two.example", 16, DNS_OK, { "v=spf1 +all", "v=spf1 -all" } },
	{ "syntax.example", 16, DNS_OK, { "v=spf1 ip4:192.0.2.1 -all moo" } },
	{ "noinc.example", 16, DNS_OK, { "v=spf1 include:nothing.example -all" } },
	{ NULL },
};

static void
limits_and_loops(void **state)
{
	assert_int_equal(check(limits, "192.0.2.1", "a@ten.example"), SPF_PASS);
	assert_int_equal(check(limits, "192.0.2.1", "a@eleven.example"), SPF_PERMERROR);
	/* the 11th lookup was never made: the limit is checked before it */
	assert_int_equal(queries, 11);
	assert_int_equal(check(limits, "192.0.2.1", "a@void2.example"), SPF_NEUTRAL);
	assert_int_equal(check(limits, "192.0.2.1", "a@void3.example"), SPF_PERMERROR);
	assert_int_equal(check(limits, "192.0.2.1", "a@loop.example"), SPF_PERMERROR);
	assert_true(queries <= 12);
	assert_int_equal(check(limits, "192.0.2.1", "a@r1.example"), SPF_PERMERROR);
	assert_true(queries <= 12);
	assert_int_equal(check(limits, "192.0.2.1", "a@mx11.example"), SPF_PERMERROR);
	assert_int_equal(check(limits, "192.0.2.9", "a@mx10.example"), SPF_PASS);
	assert_int_equal(check(limits, "192.0.2.9", "a@two.example"), SPF_PERMERROR);
	assert_int_equal(check(limits, "192.0.2.1", "a@syntax.example"), SPF_PERMERROR);
	assert_int_equal(check(limits, "192.0.2.1", "a@noinc.example"), SPF_PERMERROR);
}

static const struct canned failures[] = {
	{ "down.example", 16, DNS_TEMPFAIL, { NULL } },
	{ "adown.example", 16, DNS_OK, { "v=spf1 a:broken.example -all" } },
	{ "broken.example", 1, DNS_TEMPFAIL, { NULL } },
	{ "incdown.example", 16, DNS_OK, { "v=spf1 include:down.example -all" } },
	{ "expgone.example", 16, DNS_OK, { "v=spf1 -all exp=gone.example" } },
	{ "expbad.example", 16, DNS_OK, { "v=spf1 -all exp=bad.example" } },
	{ "bad.example", 16, DNS_OK, { "one", "two" } },
	{ "ptr.example", 16, DNS_OK, { "v=spf1 ptr -all" } },
	{ "1.2.0.192.in-addr.arpa", 12, DNS_OK, { "elsewhere.test", "host.ptr.example" } },
	{ "host.ptr.example", 1, DNS_OK, { "192.0.2.1" } },
	{ "2.2.0.192.in-addr.arpa", 12, DNS_OK, { "liar.ptr.example" } },
	{ "liar.ptr.example", 1, DNS_OK, { "192.0.2.77" } },
	{ "v6.example", 16, DNS_OK, { "v=spf1 a:h6.example/24//64 -all" } },
	{ "h6.example", 1, DNS_OK, { "192.0.2.1" } },
	{ "h6.example", 28, DNS_OK, { "2001:db8:1:2::1" } },
	{ "exists.example", 16, DNS_OK, { "v=spf1 exists:%{ir}.%{v}.bl.example -all" } },
	{ "7.113.0.203.in-addr.bl.example", 1, DNS_OK, { "127.0.0.2" } },
	{ NULL },
};

static void
errors_ptr_ipv6(void **state)
{
	assert_int_equal(check(failures, "192.0.2.1", "a@down.example"), SPF_TEMPERROR);
	assert_true(got.problem[0] != '\0');
	assert_int_equal(check(failures, "192.0.2.1", "a@adown.example"), SPF_TEMPERROR);
	assert_int_equal(check(failures, "192.0.2.1", "a@incdown.example"), SPF_TEMPERROR);
	assert_int_equal(check(failures, "192.0.2.1", "a@expgone.example"), SPF_FAIL);
	assert_string_equal(got.explanation, "");
	assert_int_equal(check(failures, "192.0.2.1", "a@expbad.example"), SPF_FAIL);
	assert_string_equal(got.explanation, "");
	assert_int_equal(check(failures, "192.0.2.1", "a@ptr.example"), SPF_PASS);
	assert_int_equal(check(failures, "192.0.2.2", "a@ptr.example"), SPF_FAIL);
	assert_int_equal(check(failures, "2001:db8:1:2::ffff", "a@v6.example"), SPF_PASS);
	assert_int_equal(check(failures, "2001:db8:1:3::1", "a@v6.example"), SPF_FAIL);
	assert_int_equal(check(failures, "::ffff:192.0.2.99", "a@v6.example"), SPF_PASS);
	assert_int_equal(check(failures, "203.0.113.7", "a@exists.example"), SPF_PASS);
	assert_int_equal(check(failures, "203.0.113.8", "a@exists.example"), SPF_FAIL);
}

static const struct canned helo_zone[] = {
	{ "mail.example.org", 16, DNS_OK, { "v=spf1 a -all exp=e.example.org" } },
	{ "mail.example.org", 1, DNS_OK, { "192.0.2.1" } },
	{ "e.example.org", 16, DNS_OK, { "%{s} is not %{h}" } },
	{ "example.com", 16, DNS_OK, { "v=spf1 ?all" } },
	{ NULL },
};

static struct spf_result both[2];
static int both_calls;

static void
on_both(void *arg, const struct spf_result *h, const struct spf_result *m)
{
	both[0] = *h;
	both[1] = *m;
	both_calls++;
}

static void
helo_identity(void **state)
{
	assert_int_equal(check(helo_zone, "192.0.2.1", ""), SPF_PASS);
	assert_string_equal(got.identity, "helo");
	assert_string_equal(got.sender, "postmaster@mail.example.org");
	assert_int_equal(check(helo_zone, "192.0.2.2", "<>"), SPF_FAIL);
	assert_string_equal(got.explanation, "postmaster@mail.example.org is not mail.example.org");

	zone = helo_zone;
	for (int d = 0; d < 2; d++) {
		deferred = d == 1;
		both_calls = 0;
		struct spf_request req = { "192.0.2.2", "mail.example.org", "bob@example.com", NULL };
		struct spf_both *b = spf_both_start(&ops, &req, on_both, NULL);
		if (deferred) {
			assert_non_null(b);
			pump();
		} else {
			assert_null(b);
		}
		assert_int_equal(both_calls, 1);
		assert_int_equal(both[0].result, SPF_FAIL);
		assert_string_equal(both[0].identity, "helo");
		assert_int_equal(both[1].result, SPF_NEUTRAL);
		assert_string_equal(both[1].identity, "mailfrom");
		req.mailfrom = "";
		both_calls = 0;
		b = spf_both_start(&ops, &req, on_both, NULL);
		if (deferred)
			pump();
		assert_int_equal(both_calls, 1);
		assert_int_equal(both[1].result, SPF_FAIL);
		/* cancelled half way */
		if (deferred) {
			req.mailfrom = "bob@example.com";
			both_calls = 0;
			b = spf_both_start(&ops, &req, on_both, NULL);
			assert_non_null(b);
			spf_both_cancel(b);
			assert_int_equal(queued, 0);
			assert_int_equal(both_calls, 0);
		}
	}
	deferred = false;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(results),
		cmocka_unit_test(answers_later),
		cmocka_unit_test(limits_and_loops),
		cmocka_unit_test(errors_ptr_ipv6),
		cmocka_unit_test(helo_identity),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
