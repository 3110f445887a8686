/*
 * test_tlsrpt.c - unit tests for deliver/tlsrpt.c: a result line and back, the sums
 * per policy domain and policy (successes, failures by type, host and address;
 * malformed lines skipped), the report's JSON (RFC 8460 4: every member, the
 * policy string and mx-host as arrays), the _smtp._tls record's rua, and the
 * report's message (its fields and attachment).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "deliver/tlsrpt.h"

static const char *POLICY = "version: STSv1\r\nmode: enforce\r\nmx: *.a.test\r\nmax_age: 86400\r\n";

static void
add(struct buf *b, const char *domain, const char *type, const char *policy, const char *mx,
    const char *result, const char *host, const char *ip, const char *reason)
{
	struct tlsrpt_result r = { domain, type, policy, mx, result, host, ip, reason };
	assert_int_equal(tlsrpt_line(&r, b), 0);
}

static void
test_sums_and_json(void **state)
{
	struct buf lines = { 0 }, out = { 0 };
	struct tlsrpt_agg a = { 0 };

	add(&lines, "a.test", "sts", POLICY, "*.a.test\n", NULL, NULL, NULL, NULL);
	add(&lines, "a.test", "sts", POLICY, "*.a.test\n", NULL, NULL, NULL, NULL);
	add(&lines, "a.test", "sts", POLICY, "*.a.test\n", "certificate-expired", "mx1.a.test",
	    "192.0.2.1", "certificate has expired");
	add(&lines, "a.test", "sts", POLICY, "*.a.test\n", "certificate-expired", "mx1.a.test",
	    "192.0.2.1", "certificate has expired");
	add(&lines, "a.test", "tlsa", "3 1 1 abcd\n", "mx.a.test", "validation-failure",
	    "mx.a.test", "192.0.2.2", "no match");
	add(&lines, "b.test", "no-policy-found", NULL, NULL, "starttls-not-supported",
	    "mx.b.test", NULL, NULL);
	const char *junk = "not json\n{\"domain\":\"c.test\"}\n\n";
	assert_int_equal(buf_append(&lines, junk, strlen(junk)), 0);
	assert_int_equal(tlsrpt_agg_add_text(&a, lines.data, lines.len), 0);
	assert_int_equal(a.malformed, 2);
	assert_int_equal(tlsrpt_agg_count(&a), 2);
	assert_string_equal(tlsrpt_agg_domain(&a, 0), "a.test");
	assert_string_equal(tlsrpt_agg_domain(&a, 1), "b.test");
	assert_null(tlsrpt_agg_domain(&a, 2));

	struct tlsrpt_meta m = { "mx.example.test", "tlsrpt@example.test", "r1@mx.example.test",
		1764633600, 1764719999 };
	assert_int_equal(tlsrpt_json(&a, "a.test", &m, &out), 0);
	json_t *r = json_loadb(out.data, out.len, 0, NULL);
	assert_non_null(r);
	assert_string_equal(json_string_value(json_object_get(r, "organization-name")),
	    "mx.example.test");
	assert_string_equal(json_string_value(json_object_get(r, "contact-info")),
	    "tlsrpt@example.test");
	assert_string_equal(json_string_value(json_object_get(r, "report-id")),
	    "r1@mx.example.test");
	json_t *dr = json_object_get(r, "date-range");
	assert_string_equal(json_string_value(json_object_get(dr, "start-datetime")),
	    "2025-12-02T00:00:00Z");
	assert_string_equal(json_string_value(json_object_get(dr, "end-datetime")),
	    "2025-12-02T23:59:59Z");
	json_t *ps = json_object_get(r, "policies");
	assert_int_equal(json_array_size(ps), 2);
	json_t *sts = json_array_get(ps, 0), *tlsa = json_array_get(ps, 1);
	json_t *p = json_object_get(sts, "policy");
	assert_string_equal(json_string_value(json_object_get(p, "policy-type")), "sts");
	assert_string_equal(json_string_value(json_object_get(p, "policy-domain")), "a.test");
	json_t *ss = json_object_get(p, "policy-string");
	assert_int_equal(json_array_size(ss), 4);
	assert_string_equal(json_string_value(json_array_get(ss, 1)), "mode: enforce");
	json_t *mx = json_object_get(p, "mx-host");
	assert_int_equal(json_array_size(mx), 1);
	assert_string_equal(json_string_value(json_array_get(mx, 0)), "*.a.test");
	json_t *sum = json_object_get(sts, "summary");
	assert_int_equal(json_integer_value(json_object_get(sum, "total-successful-session-count")),
	    2);
	assert_int_equal(json_integer_value(json_object_get(sum, "total-failure-session-count")),
	    2);
	json_t *fd = json_object_get(sts, "failure-details");
	assert_int_equal(json_array_size(fd), 1);
	json_t *f = json_array_get(fd, 0);
	assert_string_equal(json_string_value(json_object_get(f, "result-type")),
	    "certificate-expired");
	assert_string_equal(json_string_value(json_object_get(f, "receiving-mx-hostname")),
	    "mx1.a.test");
	assert_string_equal(json_string_value(json_object_get(f, "receiving-ip")), "192.0.2.1");
	assert_int_equal(json_integer_value(json_object_get(f, "failed-session-count")), 2);
	assert_string_equal(json_string_value(json_object_get(json_object_get(tlsa, "policy"),
	    "policy-type")), "tlsa");
	json_decref(r);

	/* A domain without TLS at its MX: no policy string, no mx-host. */
	buf_reset(&out);
	assert_int_equal(tlsrpt_json(&a, "b.test", &m, &out), 0);
	r = json_loadb(out.data, out.len, 0, NULL);
	p = json_object_get(json_array_get(json_object_get(r, "policies"), 0), "policy");
	assert_string_equal(json_string_value(json_object_get(p, "policy-type")),
	    "no-policy-found");
	assert_null(json_object_get(p, "policy-string"));
	assert_null(json_object_get(p, "mx-host"));
	json_decref(r);
	assert_int_equal(tlsrpt_json(&a, "c.test", &m, &out), -1);
	tlsrpt_agg_free(&a);
	buf_free(&lines);
	buf_free(&out);
}

static int
rua(const char *s, char uri[][TLSRPT_URI_MAX], bool *mail, size_t *n)
{
	return tlsrpt_record_parse(s, strlen(s), uri, mail, TLSRPT_RUA_MAX, n);
}

static void
test_record(void **state)
{
	char uri[TLSRPT_RUA_MAX][TLSRPT_URI_MAX];
	bool mail[TLSRPT_RUA_MAX];
	size_t n;

	assert_int_equal(rua("v=TLSRPTv1; rua=mailto:reports@example.com", uri, mail, &n), 1);
	assert_int_equal(n, 1);
	assert_true(mail[0]);
	assert_string_equal(uri[0], "reports@example.com");
	assert_int_equal(rua("v=TLSRPTv1;rua=mailto:a@b.test?subject=x, https://r.test/v1 ;x=y",
	    uri, mail, &n), 1);
	assert_int_equal(n, 2);
	assert_string_equal(uri[0], "a@b.test");
	assert_false(mail[1]);
	assert_string_equal(uri[1], "https://r.test/v1");
	/* Schemes other than mailto: and https: are skipped. */
	assert_int_equal(rua("v=TLSRPTv1; rua=http://r.test/,ftp://x,mailto:c@d.test", uri, mail,
	    &n), 1);
	assert_int_equal(n, 1);
	assert_string_equal(uri[0], "c@d.test");
	assert_int_equal(rua("v=TLSRPTv1; rua=http://r.test/", uri, mail, &n), -1);
	assert_int_equal(rua("v=TLSRPTv1;", uri, mail, &n), -1);
	assert_int_equal(rua("v=TLSRPTv1; rua=mailto:nobody", uri, mail, &n), -1);
	assert_int_equal(rua("v=spf1 -all", uri, mail, &n), 0);
	assert_int_equal(rua("v=TLSRPTv10; rua=mailto:a@b.test", uri, mail, &n), 0);
}

static void
test_mail(void **state)
{
	struct buf out = { 0 };
	struct tlsrpt_mail m = { "mx.example.test", "tlsrpt-noreply@example.test",
		"reports@a.test", "a.test", "r1@mx.example.test", "17", 1764633600, 1764719999,
		1764720000, "\x1f\x8b\x08\x00", 4 };

	assert_int_equal(tlsrpt_mail(&m, &out), 0);
	assert_non_null(strstr(out.data, "\nSubject: Report Domain: a.test Submitter: "
	    "mx.example.test Report-ID: <r1@mx.example.test>\n"));
	assert_non_null(strstr(out.data, "\nTLS-Report-Domain: a.test\n"));
	assert_non_null(strstr(out.data, "\nTLS-Report-Submitter: mx.example.test\n"));
	assert_non_null(strstr(out.data, "Content-Type: multipart/report; report-type=\"tlsrpt\""));
	assert_non_null(strstr(out.data, "Content-Type: application/tlsrpt+gzip"));
	assert_non_null(strstr(out.data,
	    "filename=\"mx.example.test!a.test!1764633600!1764719999!17.json.gz\""));
	assert_non_null(strstr(out.data, "\nH4sIAA==\n"));
	buf_free(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sums_and_json),
		cmocka_unit_test(test_record),
		cmocka_unit_test(test_mail),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
