/*
 * test_dmarc_report.c - unit tests for the DMARC aggregate reports: the line format
 * round trip (dmarc_report_line.c), hostile values kept out of the line's structure
 * and out of the XML's, the aggregation into rows and its RFC 9990 XML
 * (dmarc_aggregate.c), the rua parser (dmarc_rua.c), and gzip (dmarc_report_mail.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <cmocka.h>

#include "dmarc/dmarc_aggregate.h"
#include "dmarc/dmarc_report_line.h"
#include "dmarc/dmarc_report_mail.h"
#include "dmarc/dmarc_rua.h"

static void
sample(struct dmarc_obs *o, const char *ip, const char *spf, bool pass)
{
	memset(o, 0, sizeof *o);
	o->when = 1795818897;
	strcpy(o->policy_domain, "example.org");
	strcpy(o->org_domain, "example.org");
	o->p = DMARC_POLICY_REJECT;
	o->testing = true;
	strcpy(o->ip, ip);
	strcpy(o->header_from, "example.org");
	strcpy(o->envelope_from, "example.org");
	strcpy(o->spf_result, spf);
	strcpy(o->spf_domain, "example.org");
	strcpy(o->dmarc, pass ? "pass" : "fail");
	o->spf_aligned = pass;
	if (!pass)
		strcpy(o->requested, "reject");
	strcpy(o->disposition, pass ? "none" : "quarantine");
	strcpy(o->rua, "mailto:rua@example.org");
	o->ndkim = 1;
	strcpy(o->dkim[0].domain, "example.org");
	strcpy(o->dkim[0].selector, "sel");
	strcpy(o->dkim[0].result, pass ? "pass" : "fail");
}

static void
test_round_trip(void **state)
{
	struct dmarc_obs a, b;
	struct buf line = { 0 }, again = { 0 };

	sample(&a, "192.0.2.1", "pass", true);
	strcpy(a.spf_domain, "");   /* empty values survive as "-" */
	strcpy(a.envelope_from, "-");  /* and a lone "-" as itself */
	assert_int_equal(dmarc_obs_format(&a, &line), 0);
	assert_int_equal(line.data[line.len - 1], '\n');
	assert_int_equal(dmarc_obs_parse(line.data, line.len, &b), 0);
	assert_int_equal(b.when, a.when);
	assert_int_equal(b.p, DMARC_POLICY_REJECT);
	assert_int_equal(b.sp, DMARC_POLICY_UNSET);
	assert_true(b.testing && !b.adkim_strict && b.spf_aligned && !b.dkim_aligned);
	assert_string_equal(b.spf_domain, "");
	assert_string_equal(b.envelope_from, "-");
	assert_string_equal(b.rua, a.rua);
	assert_int_equal(b.ndkim, 1);
	assert_string_equal(b.dkim[0].selector, "sel");
	assert_int_equal(dmarc_obs_format(&b, &again), 0);
	assert_int_equal(again.len, line.len);
	assert_memory_equal(again.data, line.data, line.len);
	buf_free(&line);
	buf_free(&again);
}

static void
test_hostile_values(void **state)
{
	struct dmarc_obs a, b;
	struct buf line = { 0 };

	sample(&a, "192.0.2.1", "pass", true);
	strcpy(a.header_from, "x y=z\nhfrom=evil%2F/\x01\xff");
	strcpy(a.dkim[0].selector, "a/b c");
	strcpy(a.rua, "mailto:a@b.c dmarc1 pd=other.test");
	assert_int_equal(dmarc_obs_format(&a, &line), 0);
	assert_null(memchr(line.data, '\n', line.len - 1)); /* one line */
	assert_int_equal(dmarc_obs_parse(line.data, line.len, &b), 0);
	assert_string_equal(b.header_from, a.header_from);
	assert_string_equal(b.dkim[0].selector, "a/b c");
	assert_string_equal(b.policy_domain, "example.org");
	assert_string_equal(b.rua, a.rua);
	buf_free(&line);
}

static void
test_malformed_lines(void **state)
{
	struct dmarc_obs o;
	static const char *const bad[] = {
		"",
		"dmarc2 when=1",
		"dmarc1 when=1 pd=a.test", /* required fields missing */
		"dmarc1 when=x pd=a.test ip=1 hfrom=a dmarc=pass disp=none rua=-",
		"dmarc1 when=1 pd=a%2 ip=1 hfrom=a dmarc=pass disp=none rua=-",
		"dmarc1 when=1 pd=a%00b ip=1 hfrom=a dmarc=pass disp=none rua=-",
		"dmarc1 when=1 pd=a.test ip=1 hfrom=a dmarc=pass disp=none rua=- p=maybe",
		"dmarc1 when=1 pd=a.test ip=1 hfrom=a dmarc=pass disp=none rua=- dkim=a/b",
		"dmarc1 when=1 pd=a.test ip=1 hfrom=a dmarc=pass disp=none rua=- novalue",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(dmarc_obs_parse(bad[i], strlen(bad[i]), &o), -1);
	const char *ok = "dmarc1 when=1 pd=a.test ip=1 hfrom=a dmarc=pass disp=none rua=- new=1";
	assert_int_equal(dmarc_obs_parse(ok, strlen(ok), &o), 0);
}

static void
add(struct dmarc_agg *a, const struct dmarc_obs *o)
{
	struct buf line = { 0 };
	assert_int_equal(dmarc_obs_format(o, &line), 0);
	assert_int_equal(dmarc_agg_add_text(a, line.data, line.len), 0);
	buf_free(&line);
}

static size_t
count_of(const char *s, const char *needle)
{
	size_t n = 0;
	for (const char *p = s; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

/* Every '<' opens a tag the XML closes in order: a small strict structure check. */
static void
check_nesting(const char *xml)
{
	char stack[32][64];
	int depth = 0;
	const char *p = strstr(xml, "?>");
	assert_non_null(p);
	for (p += 2; (p = strchr(p, '<')) != NULL;) {
		const char *end = strchr(p, '>');
		assert_non_null(end);
		size_t n = (size_t)(end - p - 1);
		assert_true(n > 0 && n < 64);
		if (p[1] == '/') {
			assert_true(depth > 0);
			depth--;
			assert_int_equal(strncmp(stack[depth], p + 2, n - 1), 0);
			assert_int_equal(stack[depth][n - 1], '\0');
		} else {
			assert_true(depth < 32);
			const char *sp = memchr(p + 1, ' ', n);
			size_t nl = sp ? (size_t)(sp - p - 1) : n;
			memcpy(stack[depth], p + 1, nl);
			stack[depth][nl] = '\0';
			depth++;
		}
		/* Text between tags holds no '>' or '&' that is not an entity. */
		const char *next = strchr(end + 1, '<');
		for (const char *t = end + 1; next && t < next; t++) {
			assert_true(*t != '>');
			if (*t == '&')
				assert_true(strncmp(t, "&amp;", 5) == 0 || strncmp(t, "&lt;", 4) == 0 ||
				    strncmp(t, "&gt;", 4) == 0 || strncmp(t, "&quot;", 6) == 0 ||
				    strncmp(t, "&apos;", 6) == 0);
			assert_true((unsigned char)*t >= 0x20 || *t == '\n');
			assert_true((unsigned char)*t < 0x7f);
		}
		p = end + 1;
	}
	assert_int_equal(depth, 0);
}

static void
test_aggregate_xml(void **state)
{
	struct dmarc_agg a = { 0 };
	struct dmarc_obs o;
	struct buf xml = { 0 };

	sample(&o, "192.0.2.1", "pass", true);
	add(&a, &o);
	o.when++;
	add(&a, &o); /* same row */
	sample(&o, "192.0.2.9", "fail", false);
	add(&a, &o);
	sample(&o, "192.0.2.1", "pass", true);
	strcpy(o.policy_domain, "Other.test"); /* another report */
	add(&a, &o);
	assert_int_equal(dmarc_agg_add_text(&a, "junk\n", 5), 0);
	assert_int_equal(a.malformed, 1);
	assert_int_equal(a.n, 2);
	assert_int_equal(a.domains[0]->nrows, 2);
	assert_int_equal(a.domains[0]->messages, 3);

	struct dmarc_report_meta m = { "mx.example.net", "dmarc-noreply@example.net", "r1@x",
		100, 200 };
	assert_int_equal(dmarc_agg_xml(a.domains[0], &m, &xml), 0);
	assert_int_equal(buf_putc(&xml, '\0'), 0);
	check_nesting(xml.data);
	assert_non_null(strstr(xml.data, "<feedback xmlns=\"urn:ietf:params:xml:ns:dmarc-2.0\">"));
	assert_non_null(strstr(xml.data, "<domain>example.org</domain>"));
	assert_non_null(strstr(xml.data, "<p>reject</p>"));
	assert_non_null(strstr(xml.data, "<testing>y</testing>"));
	assert_non_null(strstr(xml.data, "<count>2</count>"));
	assert_non_null(strstr(xml.data, "<count>1</count>"));
	assert_int_equal(count_of(xml.data, "<record>"), 2);
	/* fail with quarantine where reject was asked, under t=y: the reason says so */
	assert_non_null(strstr(xml.data, "<type>policy_test_mode</type>"));
	assert_non_null(strstr(xml.data, "<begin>100</begin>"));
	buf_free(&xml);
	dmarc_agg_free(&a);
}

static void
test_xml_escapes_hostile_values(void **state)
{
	struct dmarc_agg a = { 0 };
	struct dmarc_obs o;
	struct buf xml = { 0 };

	sample(&o, "192.0.2.1", "pass", true);
	strcpy(o.header_from, "</header_from><evil>&x;\"'");
	strcpy(o.dkim[0].selector, "s]]><!--\x01\xc3\xa9");
	strcpy(o.policy_domain, "a<b>.test");
	add(&a, &o);
	struct dmarc_report_meta m = { "mx&co", "a@b", "<id>", 0, 1 };
	assert_int_equal(dmarc_agg_xml(a.domains[0], &m, &xml), 0);
	assert_int_equal(buf_putc(&xml, '\0'), 0);
	check_nesting(xml.data);
	assert_null(strstr(xml.data, "<evil>"));
	assert_non_null(strstr(xml.data, "&lt;/header_from&gt;&lt;evil&gt;&amp;x;&quot;&apos;"));
	assert_non_null(strstr(xml.data, "<domain>a&lt;b&gt;.test</domain>"));
	buf_free(&xml);
	dmarc_agg_free(&a);
}

static void
test_rua(void **state)
{
	struct dmarc_rua_dest d[DMARC_RUA_MAX];

	size_t n = dmarc_rua_parse(" MAILTO:rua@Example.ORG!10m, https://x.test/r, "
	    "mailto:a%40b@c.test, mailto:ok%2Bx@r.test?subject=x, mailto:rua@example.org,"
	    "mailto:<a@b.test>, mailto:nobody, mailto:@@r.test, mailto:x@y.test!5q", d,
	    DMARC_RUA_MAX);
	assert_int_equal(n, 2);
	assert_string_equal(d[0].addr, "rua@Example.ORG");
	assert_string_equal(d[0].domain, "example.org");
	assert_int_equal(d[0].max_size, 10u << 20);
	assert_string_equal(d[1].addr, "ok+x@r.test");
	assert_int_equal(d[1].max_size, 0);
	assert_true(dmarc_rua_internal("example.org", "example.org"));
	assert_true(dmarc_rua_internal("mail.example.org", "Example.org"));
	assert_false(dmarc_rua_internal("badexample.org", "example.org"));
	assert_false(dmarc_rua_internal("example.net", "example.org"));
	assert_false(dmarc_rua_internal("example.org", ""));
}

static void
test_gzip(void **state)
{
	struct buf gz = { 0 };
	char out[256];
	const char *text = "<feedback>hello hello hello</feedback>";

	assert_int_equal(dmarc_gzip(text, strlen(text), &gz), 0);
	assert_true(gz.len > 18 && (unsigned char)gz.data[0] == 0x1f &&
	    (unsigned char)gz.data[1] == 0x8b);
	z_stream z = { 0 };
	assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
	z.next_in = (Bytef *)gz.data;
	z.avail_in = (uInt)gz.len;
	z.next_out = (Bytef *)out;
	z.avail_out = sizeof out;
	assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
	assert_int_equal(z.total_out, strlen(text));
	assert_memory_equal(out, text, strlen(text));
	inflateEnd(&z);
	buf_free(&gz);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_hostile_values),
		cmocka_unit_test(test_malformed_lines),
		cmocka_unit_test(test_aggregate_xml),
		cmocka_unit_test(test_xml_escapes_hostile_values),
		cmocka_unit_test(test_rua),
		cmocka_unit_test(test_gzip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
