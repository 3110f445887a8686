/*
 * test_dns_records.c - unit tests for dns_records.c, the record builder behind
 * `mailroom dns records|check`: which records a domain gets from the config's
 * facts, their zone-file lines, TXT splitting into 255-octet character-strings
 * (RFC 1035 3.3.14), reverse names (RFC 1035 3.5, RFC 3596 2.5) and the MTA-STS id.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli/dns_records.h"
#include "text_lines.h"

static const char *const two_addrs[] = { "192.0.2.1", "2001:db8::25" };

static struct dns_records_in
base_in(void)
{
	struct dns_records_in in = {
		.domain = "example.test",
		.hostname = "mx.example.test",
		.addrs = two_addrs,
		.naddrs = 2,
	};
	in.ports[SVC_SMTP] = 25;
	in.ports[SVC_SUBMISSION] = 587;
	in.ports[SVC_SUBMISSIONS] = 465;
	in.ports[SVC_POP3] = 110;
	in.ports[SVC_POP3S] = 995;
	return in;
}

/* text_of - every line, as `dns records` prints them. */
static char *
text_of(const struct dns_recs *l)
{
	struct buf b = { 0 };
	for (size_t i = 0; i < l->n; i++) {
		assert_int_equal(dns_rec_line(&l->v[i], &b), 0);
		assert_int_equal(buf_putc(&b, '\n'), 0);
	}
	return b.data;
}

static size_t
count_kind(const struct dns_recs *l, enum dns_rec_kind k)
{
	size_t n = 0;
	for (size_t i = 0; i < l->n; i++)
		n += l->v[i].kind == k;
	return n;
}

static void
test_records(void **state)
{
	struct dns_records_in in = base_in();
	struct dns_recs l;

	assert_int_equal(dns_records_build(&in, &l), 0);
	char *t = text_of(&l);
	assert_true(has_line(t, "example.test. IN MX 10 mx.example.test."));
	assert_true(has_line(t, "example.test. IN TXT \"v=spf1 mx ip4:192.0.2.1 ip6:2001:db8::25 ~all\""));
	assert_true(has_line(t, "mx.example.test. IN TXT \"v=spf1 a -all\""));
	assert_true(has_line(t, "_dmarc.example.test. IN TXT "
	    "\"v=DMARC1; p=none; rua=mailto:postmaster@example.test\""));
	assert_non_null(strstr(t, "\n; p=none only reports"));
	assert_non_null(strstr(t, "p=quarantine, then to p=reject"));
	assert_true(has_line(t, "mta-sts.example.test. IN CNAME mx.example.test."));
	assert_true(has_line(t, "_smtp._tls.example.test. IN TXT "
	    "\"v=TLSRPTv1; rua=mailto:tlsrpt@example.test\""));
	assert_true(has_line(t, "_submissions._tcp.example.test. IN SRV 0 1 465 mx.example.test."));
	assert_true(has_line(t, "_submission._tcp.example.test. IN SRV 10 1 587 mx.example.test."));
	assert_true(has_line(t, "_pop3s._tcp.example.test. IN SRV 0 1 995 mx.example.test."));
	assert_true(has_line(t, "_pop3._tcp.example.test. IN SRV 10 1 110 mx.example.test."));
	assert_true(has_line(t, "1.2.0.192.in-addr.arpa. IN PTR mx.example.test."));
	assert_true(has_line(t, "5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2"
	    ".ip6.arpa. IN PTR mx.example.test."));
	/* Every line is a comment, empty, or a record. */
	for (size_t i = 0; i < l.n; i++) {
		if (l.v[i].kind == REC_COMMENT)
			continue;
		assert_non_null(l.v[i].name);
		assert_true(l.v[i].name[strlen(l.v[i].name) - 1] == '.');
	}
	assert_int_equal(count_kind(&l, REC_PTR), 2);
	assert_string_equal(l.v[l.n - 1].addr, "2001:db8::25");
	assert_int_equal(count_kind(&l, REC_DKIM), 0);
	assert_non_null(strstr(t, "(no key to publish yet)"));
	free(t);
	dns_recs_free(&l);
}

static void
test_service_off(void **state)
{
	struct dns_records_in in = base_in();
	struct dns_recs l;

	in.ports[SVC_POP3] = 0;
	in.ports[SVC_SUBMISSION] = 0;
	assert_int_equal(dns_records_build(&in, &l), 0);
	char *t = text_of(&l);
	assert_true(has_line(t, "_pop3._tcp.example.test. IN SRV 0 0 0 ."));
	assert_true(has_line(t, "_submission._tcp.example.test. IN SRV 0 0 0 ."));
	assert_true(has_line(t, "_pop3s._tcp.example.test. IN SRV 0 1 995 mx.example.test."));
	free(t);
	dns_recs_free(&l);
}

static void
test_interface_addresses(void **state)
{
	struct dns_records_in in = base_in();
	struct dns_recs l;

	in.addrs_from_interfaces = true;
	in.naddrs = 1;
	assert_int_equal(dns_records_build(&in, &l), 0);
	char *t = text_of(&l);
	/* The host's own SPF names the addresses: "a" would find nothing. */
	assert_true(has_line(t, "mx.example.test. IN TXT \"v=spf1 ip4:192.0.2.1 -all\""));
	assert_non_null(strstr(t, "; mx.example.test has no A/AAAA record"));
	free(t);
	dns_recs_free(&l);
}

static void
test_host_is_domain(void **state)
{
	struct dns_records_in in = base_in();
	struct dns_recs l;

	/* One SPF record for the one name: two would be a permerror (RFC 7208 4.5). */
	in.hostname = "example.test";
	assert_int_equal(dns_records_build(&in, &l), 0);
	assert_int_equal(count_kind(&l, REC_SPF), 1);
	dns_recs_free(&l);
}

static void
test_dkim_keys(void **state)
{
	struct dns_records_in in = base_in();
	struct dns_recs l;
	char rsa[420];

	memcpy(rsa, "v=DKIM1; k=rsa; p=", 18);
	for (size_t i = 18; i < sizeof rsa - 1; i++)
		rsa[i] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/"[i % 38];
	rsa[sizeof rsa - 1] = '\0';
	const struct dns_dkim_pub keys[] = {
		{ "ed1", "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=" },
		{ "rsa1", rsa },
	};
	in.dkim = keys;
	in.ndkim = 2;
	assert_int_equal(dns_records_build(&in, &l), 0);
	char *t = text_of(&l);
	assert_true(has_line(t, "ed1._domainkey.example.test. IN TXT "
	    "\"v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\""));
	char want[600];
	snprintf(want, sizeof want, "rsa1._domainkey.example.test. IN TXT ( \"%.255s\" \"%s\" )",
	    rsa, rsa + 255);
	assert_true(has_line(t, want));
	assert_int_equal(count_kind(&l, REC_DKIM), 2);
	free(t);
	dns_recs_free(&l);
}

static void
txt_is(const char *text, const char *want)
{
	struct buf b = { 0 };
	assert_int_equal(dns_txt_strings(text, &b), 0);
	assert_string_equal(b.data, want);
	buf_free(&b);
}

static void
test_txt_strings(void **state)
{
	char s[600], want[700];

	txt_is("", "\"\"");
	txt_is("v=spf1 -all", "\"v=spf1 -all\"");
	txt_is("a\"b\\c", "\"a\\\"b\\\\c\"");
	txt_is("tab\there\x7f", "\"tab\\009here\\127\"");
	/* 255 octets: one string; 256: two; 510: two; 511: three. */
	memset(s, 'x', sizeof s);
	s[255] = '\0';
	snprintf(want, sizeof want, "\"%s\"", s);
	txt_is(s, want);
	s[255] = 'y';
	s[256] = '\0';
	snprintf(want, sizeof want, "( \"%.255s\" \"y\" )", s);
	txt_is(s, want);
	memset(s, 'x', sizeof s);
	s[510] = '\0';
	struct buf b = { 0 };
	assert_int_equal(dns_txt_strings(s, &b), 0);
	assert_int_equal(b.len, 2 + 257 + 1 + 257 + 2);
	buf_free(&b);
	s[510] = 'x';
	s[511] = '\0';
	assert_int_equal(dns_txt_strings(s, &b), 0);
	assert_int_equal(b.len, 2 + 257 + 1 + 257 + 1 + 3 + 2);
	buf_free(&b);
	/* The split counts octets of the text, not of its escapes. */
	memset(s, '"', 256);
	s[256] = '\0';
	assert_int_equal(dns_txt_strings(s, &b), 0);
	assert_int_equal(b.len, 2 + (2 + 510) + 1 + (2 + 2) + 2);
	buf_free(&b);
}

static void
test_reverse(void **state)
{
	char out[128];

	assert_int_equal(dns_reverse_name("192.0.2.1", out, sizeof out), 0);
	assert_string_equal(out, "1.2.0.192.in-addr.arpa.");
	assert_int_equal(dns_reverse_name("2001:db8::1", out, sizeof out), 0);
	assert_string_equal(out,
	    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.");
	assert_int_equal(dns_reverse_name("not an address", out, sizeof out), -1);
	assert_int_equal(dns_reverse_name("192.0.2.1", out, 23), -1);
	assert_int_equal(dns_reverse_name("192.0.2.1", out, 24), 0);
}

/* mta_sts_id_of - the id the records announce for hostname, with mode and max_age. */
static void
mta_sts_id_of(const char *hostname, const char *mode, uint64_t max_age, char *out,
    size_t outlen)
{
	struct dns_records_in in = base_in();
	struct dns_recs l;

	in.hostname = hostname;
	in.mta_sts_mode = mode;
	in.mta_sts_max_age = max_age;
	assert_int_equal(dns_records_build(&in, &l), 0);
	out[0] = '\0';
	for (size_t i = 0; i < l.n; i++)
		if (l.v[i].kind == REC_MTA_STS)
			snprintf(out, outlen, "%s", l.v[i].value);
	dns_recs_free(&l);
}

static void
test_mta_sts(void **state)
{
	char a[128], b[128], c[128], d[128], e[128], f[128];
	struct buf policy = { 0 };

	assert_int_equal(dns_mta_sts_policy(NULL, "mx.example.test", 0, &policy), 0);
	assert_string_equal(policy.data,
	    "version: STSv1\r\nmode: testing\r\nmx: mx.example.test\r\nmax_age: 604800\r\n");
	buf_free(&policy);
	assert_int_equal(dns_mta_sts_policy("enforce", "mx.example.test", 86400, &policy), 0);
	assert_string_equal(policy.data,
	    "version: STSv1\r\nmode: enforce\r\nmx: mx.example.test\r\nmax_age: 86400\r\n");
	buf_free(&policy);
	mta_sts_id_of("mx.example.test", NULL, 0, a, sizeof a);
	mta_sts_id_of("mx.example.test", "testing", 604800, b, sizeof b);
	mta_sts_id_of("mx2.example.test", NULL, 0, c, sizeof c);
	mta_sts_id_of("mx.example.test", "enforce", 0, d, sizeof d);
	mta_sts_id_of("mx.example.test", "none", 0, e, sizeof e);
	mta_sts_id_of("mx.example.test", NULL, 86400, f, sizeof f);
	/* Stable for one policy (the defaults spelt out are the same policy), another for another. */
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
	assert_string_not_equal(a, d);
	assert_string_not_equal(a, e);
	assert_string_not_equal(d, e);
	assert_string_not_equal(a, f);
	/* 1 to 32 letters and digits. */
	assert_int_equal(strncmp(a, "v=STSv1; id=", 12), 0);
	assert_int_equal(strlen(a + 12), 32);
	assert_int_equal(strspn(a + 12, "0123456789abcdef"), 32);
}

/* The records of a domain built without addresses, their PTRs added after: the web's check. */
static void
test_kinds_and_ptrs(void **state)
{
	(void)state;
	struct dns_records_in in = base_in();
	struct dns_recs all, bare;

	assert_int_equal(dns_records_build(&in, &all), 0);
	for (size_t i = 0; i < all.n; i++) {
		const struct dns_rec *r = &all.v[i];
		if (r->kind != REC_COMMENT)
			assert_int_equal(dns_rec_parse_kind(dns_rec_label(r->kind), r->type), r->kind);
	}
	assert_int_equal(dns_rec_parse_kind("MTA-STS", RR_TYPE_CNAME), REC_MTA_STS_HOST);
	assert_int_equal(dns_rec_parse_kind("MTA-STS", RR_TYPE_TXT), REC_MTA_STS);
	assert_int_equal(dns_rec_parse_kind("NOPE", RR_TYPE_TXT), REC_COMMENT);
	assert_int_equal(dns_rec_parse_kind("", RR_TYPE_TXT), REC_COMMENT);

	in.addrs = NULL;
	in.naddrs = 0;
	assert_int_equal(dns_records_build(&in, &bare), 0);
	assert_int_equal(dns_records_add_ptrs("mx.example.test.", two_addrs, 2, &bare), 0);
	size_t nptr = 0;
	for (size_t i = 0; i < bare.n; i++) {
		const struct dns_rec *r = &bare.v[i];
		if (r->kind != REC_PTR)
			continue;
		assert_string_equal(r->value, "mx.example.test.");
		assert_string_equal(r->addr, two_addrs[nptr]);
		nptr++;
	}
	assert_int_equal(nptr, 2);
	assert_string_equal(bare.v[bare.n - 2].name, "1.2.0.192.in-addr.arpa.");
	/* An address that is none gets no record. */
	const char *const junk[] = { "not-an-address" };
	size_t n = bare.n;
	assert_int_equal(dns_records_add_ptrs("mx.example.test.", junk, 1, &bare), 0);
	assert_int_equal(bare.n, n);
	dns_recs_free(&all);
	dns_recs_free(&bare);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_records),
		cmocka_unit_test(test_service_off),
		cmocka_unit_test(test_interface_addresses),
		cmocka_unit_test(test_host_is_domain),
		cmocka_unit_test(test_dkim_keys),
		cmocka_unit_test(test_txt_strings),
		cmocka_unit_test(test_reverse),
		cmocka_unit_test(test_mta_sts),
		cmocka_unit_test(test_kinds_and_ptrs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
