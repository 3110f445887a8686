/*
 * test_dns_cache.c - unit tests for deliver/dns_cache.c in front of a fake resolver
 * that answers later (as libunbound does) and counts what it is asked: a second
 * lookup of a kept answer is not passed on and gives the same records; failures and
 * a TTL of 0 are not kept; denials are; names match without regard to case or a
 * final dot; an answer goes stale with its TTL; a cancelled or freed lookup never
 * calls back; a full cache starts again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <time.h>

#include "deliver/dns_cache.h"

/* The fake resolver: one answer for every name, given when answer_all() runs. */
struct asked {
	dns_rr_fn fn;
	void *arg;
	char name[256];
	int type;
	int cancelled;
};

static struct asked asked[DNS_CACHE_MAX + 64];
static size_t nasked;
static enum dns_status next_st;
static int next_ttl;
static const char *next_txt = "v=spf1 -all";

static int
fake_rr(void *ctx, const char *name, int rrtype, dns_rr_fn fn, void *arg)
{
	(void)ctx;
	assert_true(nasked < sizeof asked / sizeof asked[0]);
	asked[nasked] = (struct asked){ fn, arg, "", rrtype, 0 };
	snprintf(asked[nasked].name, sizeof asked[nasked].name, "%s", name);
	nasked++;
	return 0;
}

static void
fake_cancel(void *ctx, void *arg)
{
	(void)ctx;
	for (size_t i = 0; i < nasked; i++)
		if (asked[i].arg == arg)
			asked[i].cancelled++;
}

static void
answer_all(void)
{
	for (size_t i = 0; i < nasked; i++) {
		if (asked[i].cancelled || asked[i].fn == NULL)
			continue;
		const uint8_t *v[1] = { (const uint8_t *)next_txt };
		int len[1] = { (int)strlen(next_txt) };
		struct dns_rdata rr = { v, len, next_st == DNS_OK ? 1 : 0, next_ttl, false };
		dns_rr_fn fn = asked[i].fn;
		asked[i].fn = NULL;
		fn(asked[i].arg, next_st, &rr, next_st == DNS_OK ? "" : "not there");
	}
}

/* What the cache's user got. */
struct got {
	int calls;
	enum dns_status st;
	char data[64];
	char why[64];
	int ttl;
};

static void
on_answer(void *arg, enum dns_status st, const struct dns_rdata *rr, const char *why)
{
	struct got *g = arg;

	g->calls++;
	g->st = st;
	g->ttl = rr->ttl;
	snprintf(g->why, sizeof g->why, "%s", why);
	g->data[0] = '\0';
	if (rr->n == 1)
		snprintf(g->data, sizeof g->data, "%.*s", rr->len[0], (const char *)rr->v[0]);
}

static struct dns_cache *
fresh(enum dns_status st, int ttl)
{
	nasked = 0;
	next_st = st;
	next_ttl = ttl;
	struct dns_cache *c = dns_cache_new((struct dns_ops){ fake_rr, fake_cancel, NULL });
	assert_non_null(c);
	return c;
}

static void
test_an_answer_is_kept(void **state)
{
	struct dns_cache *c = fresh(DNS_OK, 300);
	struct dns_ops ops = dns_cache_ops(c);
	struct got a = { 0 }, b = { 0 }, d = { 0 };

	(void)state;
	assert_int_equal(ops.rr(ops.ctx, "client.test", 16, on_answer, &a), 0);
	assert_int_equal(a.calls, 0); /* passed on, answered later */
	assert_int_equal(nasked, 1);
	answer_all();
	assert_int_equal(a.calls, 1);
	assert_string_equal(a.data, "v=spf1 -all");
	/* The same name in other letters, with a final dot: from the cache, at once. */
	assert_int_equal(ops.rr(ops.ctx, "CLIENT.test.", 16, on_answer, &b), 0);
	assert_int_equal(b.calls, 1);
	assert_int_equal(nasked, 1);
	assert_int_equal(b.st, DNS_OK);
	assert_string_equal(b.data, "v=spf1 -all");
	assert_true(b.ttl > 0 && b.ttl <= 300);
	assert_int_equal(dns_cache_hits(c), 1);
	/* Another type of the same name is another answer. */
	assert_int_equal(ops.rr(ops.ctx, "client.test", 1, on_answer, &d), 0);
	assert_int_equal(d.calls, 0);
	assert_int_equal(nasked, 2);
	dns_cache_free(c); /* the one under way is cancelled, and never calls back */
	assert_int_equal(asked[1].cancelled, 1);
	assert_int_equal(d.calls, 0);
}

static void
test_failures_and_ttl_0_are_not_kept(void **state)
{
	struct got a = { 0 }, b = { 0 };

	(void)state;
	for (int round = 0; round < 2; round++) {
		struct dns_cache *c = round == 0 ? fresh(DNS_TEMPFAIL, 300) : fresh(DNS_OK, 0);
		struct dns_ops ops = dns_cache_ops(c);
		assert_int_equal(ops.rr(ops.ctx, "x.test", 16, on_answer, &a), 0);
		answer_all();
		assert_int_equal(ops.rr(ops.ctx, "x.test", 16, on_answer, &b), 0);
		assert_int_equal(nasked, 2); /* asked again */
		assert_int_equal(dns_cache_hits(c), 0);
		dns_cache_free(c);
	}
}

static void
test_a_denial_is_kept_with_its_reason(void **state)
{
	struct dns_cache *c = fresh(DNS_NXDOMAIN, 60);
	struct dns_ops ops = dns_cache_ops(c);
	struct got a = { 0 }, b = { 0 };

	(void)state;
	assert_int_equal(ops.rr(ops.ctx, "_dmarc.nosuch.test", 16, on_answer, &a), 0);
	answer_all();
	assert_int_equal(ops.rr(ops.ctx, "_dmarc.nosuch.test", 16, on_answer, &b), 0);
	assert_int_equal(nasked, 1);
	assert_int_equal(b.st, DNS_NXDOMAIN);
	assert_string_equal(b.why, "not there");
	assert_string_equal(b.data, "");
	dns_cache_free(c);
}

static void
test_an_answer_goes_stale(void **state)
{
	struct dns_cache *c = fresh(DNS_OK, 1);
	struct dns_ops ops = dns_cache_ops(c);
	struct got a = { 0 };

	(void)state;
	assert_int_equal(ops.rr(ops.ctx, "short.test", 16, on_answer, &a), 0);
	answer_all();
	nanosleep(&(struct timespec){ 1, 100000000 }, NULL);
	assert_int_equal(ops.rr(ops.ctx, "short.test", 16, on_answer, &a), 0);
	assert_int_equal(nasked, 2);
	dns_cache_free(c);
}

static void
test_cancel_drops_only_its_own(void **state)
{
	struct dns_cache *c = fresh(DNS_OK, 300);
	struct dns_ops ops = dns_cache_ops(c);
	struct got a = { 0 }, b = { 0 };

	(void)state;
	assert_int_equal(ops.rr(ops.ctx, "a.test", 16, on_answer, &a), 0);
	assert_int_equal(ops.rr(ops.ctx, "b.test", 16, on_answer, &b), 0);
	ops.cancel(ops.ctx, &a);
	assert_int_equal(asked[0].cancelled, 1);
	assert_int_equal(asked[1].cancelled, 0);
	answer_all();
	assert_int_equal(a.calls, 0);
	assert_int_equal(b.calls, 1);
	dns_cache_free(c);
}

static void
test_a_full_cache_starts_again(void **state)
{
	struct dns_cache *c = fresh(DNS_OK, 300);
	struct dns_ops ops = dns_cache_ops(c);
	struct got g = { 0 };
	char name[64];

	(void)state;
	for (int i = 0; i <= DNS_CACHE_MAX; i++) {
		snprintf(name, sizeof name, "n%d.test", i);
		assert_int_equal(ops.rr(ops.ctx, name, 16, on_answer, &g), 0);
	}
	answer_all(); /* the last one finds the cache full: it is emptied, then keeps it */
	size_t before = nasked;
	assert_int_equal(ops.rr(ops.ctx, "n0.test", 16, on_answer, &g), 0);
	assert_int_equal(nasked, before + 1);
	snprintf(name, sizeof name, "n%d.test", DNS_CACHE_MAX);
	assert_int_equal(ops.rr(ops.ctx, name, 16, on_answer, &g), 0);
	assert_int_equal(nasked, before + 1);
	dns_cache_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_an_answer_is_kept),
		cmocka_unit_test(test_failures_and_ttl_0_are_not_kept),
		cmocka_unit_test(test_a_denial_is_kept_with_its_reason),
		cmocka_unit_test(test_an_answer_goes_stale),
		cmocka_unit_test(test_cancel_drops_only_its_own),
		cmocka_unit_test(test_a_full_cache_starts_again),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
