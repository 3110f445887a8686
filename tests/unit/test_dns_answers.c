/*
 * test_dns_answers.c - unit tests for deliver/dns_answers.c: an answer kept is
 * given back as a copy of its own (freed by ub_resolve_free, as libunbound's are:
 * the sanitizers see a double free or a leak), under its name in any case and with
 * or without the final dot, with what is left of its TTL; denials are kept,
 * failures, bogus answers and a TTL of 0 are not; an answer goes stale; a full set
 * starts again.
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

#include "deliver/dns_answers.h"

/* result - an answer as libunbound makes one: every part malloc'd. */
static struct ub_result *
result(const char *qname, int qtype, int rcode, int ttl, const char *const *rdata)
{
	struct ub_result *r = calloc(1, sizeof *r);
	size_t n = 0;

	assert_non_null(r);
	while (rdata != NULL && rdata[n] != NULL)
		n++;
	r->qname = strdup(qname);
	r->canonname = r->qname;
	r->qtype = qtype;
	r->qclass = 1;
	r->rcode = rcode;
	r->nxdomain = rcode == 3;
	r->havedata = n > 0;
	r->ttl = ttl;
	r->data = calloc(n + 1, sizeof *r->data);
	r->len = calloc(n + 1, sizeof *r->len);
	for (size_t i = 0; i < n; i++) {
		r->len[i] = (int)strlen(rdata[i]);
		r->data[i] = malloc((size_t)r->len[i]);
		memcpy(r->data[i], rdata[i], (size_t)r->len[i]);
	}
	return r;
}

static void
test_kept_and_given_back(void **state)
{
	struct dns_answers *a = dns_answers_new();
	const char *const mx[] = { "\x01\x0a" "one", "\x01\x14" "two", NULL }; /* no NUL: result() takes strlen */
	struct ub_result *r = result("D1.Test.", 15, 0, 300, mx);

	(void)state;
	assert_non_null(a);
	r->secure = 1;
	dns_answers_keep(a, r);
	ub_resolve_free(r); /* the kept one is a copy */
	struct ub_result *c = dns_answers_get(a, "d1.test", 15);
	assert_non_null(c);
	assert_int_equal(c->qtype, 15);
	assert_true(c->havedata && c->secure && !c->nxdomain);
	assert_true(c->ttl > 0 && c->ttl <= 300);
	assert_ptr_equal(c->canonname, c->qname);
	assert_non_null(c->data[0]);
	assert_non_null(c->data[1]);
	assert_null(c->data[2]);
	assert_int_equal(c->len[1], 5);
	assert_memory_equal(c->data[1], "\x01\x14" "two", 5);
	ub_resolve_free(c);
	/* each get is its own copy */
	c = dns_answers_get(a, "D1.TEST.", 15);
	assert_non_null(c);
	ub_resolve_free(c);
	assert_null(dns_answers_get(a, "d1.test", 1));  /* another type */
	assert_null(dns_answers_get(a, "d2.test", 15)); /* another name */
	dns_answers_free(a);
}

static void
test_what_is_not_kept(void **state)
{
	struct dns_answers *a = dns_answers_new();
	const char *const txt[] = { "v=spf1 -all", NULL };
	struct ub_result *r;

	(void)state;
	r = result("zero.test", 16, 0, 0, txt);
	dns_answers_keep(a, r);
	ub_resolve_free(r);
	r = result("servfail.test", 16, 2, 300, NULL);
	dns_answers_keep(a, r);
	ub_resolve_free(r);
	r = result("bogus.test", 16, 0, 300, txt);
	r->bogus = 1;
	dns_answers_keep(a, r);
	ub_resolve_free(r);
	assert_null(dns_answers_get(a, "zero.test", 16));
	assert_null(dns_answers_get(a, "servfail.test", 16));
	assert_null(dns_answers_get(a, "bogus.test", 16));
	/* a denial is kept */
	r = result("nosuch.test", 16, 3, 60, NULL);
	dns_answers_keep(a, r);
	ub_resolve_free(r);
	struct ub_result *c = dns_answers_get(a, "nosuch.test", 16);
	assert_non_null(c);
	assert_true(c->nxdomain);
	assert_int_equal(c->rcode, 3);
	assert_null(c->data[0]);
	ub_resolve_free(c);
	dns_answers_free(a);
}

static void
test_stale_and_canonname(void **state)
{
	struct dns_answers *a = dns_answers_new();
	const char *const addr[] = { "\x7f\x00\x00\x02", NULL };
	struct ub_result *r = result("alias.test", 1, 0, 1, addr);

	(void)state;
	r->canonname = strdup("host.test.");
	dns_answers_keep(a, r);
	ub_resolve_free(r);
	struct ub_result *c = dns_answers_get(a, "alias.test", 1);
	assert_non_null(c);
	assert_string_equal(c->canonname, "host.test.");
	assert_ptr_not_equal(c->canonname, c->qname);
	ub_resolve_free(c);
	nanosleep(&(struct timespec){ 1, 100000000 }, NULL);
	assert_null(dns_answers_get(a, "alias.test", 1));
	dns_answers_free(a);
}

static void
test_full_starts_again(void **state)
{
	struct dns_answers *a = dns_answers_new();
	const char *const txt[] = { "x", NULL };
	char name[64];

	(void)state;
	for (int i = 0; i <= DNS_ANSWERS_MAX; i++) {
		snprintf(name, sizeof name, "n%d.test", i);
		struct ub_result *r = result(name, 16, 0, 300, txt);
		dns_answers_keep(a, r);
		ub_resolve_free(r);
	}
	assert_null(dns_answers_get(a, "n0.test", 16));
	snprintf(name, sizeof name, "n%d.test", DNS_ANSWERS_MAX);
	struct ub_result *c = dns_answers_get(a, name, 16);
	assert_non_null(c);
	ub_resolve_free(c);
	dns_answers_free(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kept_and_given_back),
		cmocka_unit_test(test_what_is_not_kept),
		cmocka_unit_test(test_stale_and_canonname),
		cmocka_unit_test(test_full_starts_again),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
