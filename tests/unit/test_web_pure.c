/*
 * test_web_pure.c - unit tests for the web role's pure pieces: cookies, bearer
 * tokens and forms read from requests (hostile shapes refused), the
 * constant-time comparison, and the HTML formatter (every %s escaped, unknown
 * conversions refused, the page frame carrying the CSRF token).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/http.h>

#include "http/html.h"
#include "http/http_form.h"

static void
test_cookie(void **state)
{
	char v[80];

	assert_int_equal(http_cookie_get("a=1; __Host-mr_session=abc123; b=2", "__Host-mr_session", v, sizeof v), 1);
	assert_string_equal(v, "abc123");
	assert_int_equal(http_cookie_get("__Host-mr_session=x_y-Z", "__Host-mr_session", v, sizeof v), 1);
	assert_string_equal(v, "x_y-Z");
	/* A prefix of another name, a value with foreign characters, empty, too long: none. */
	assert_int_equal(http_cookie_get("X__Host-mr_session=abc", "__Host-mr_session", v, sizeof v), 0);
	assert_int_equal(http_cookie_get("__Host-mr_session=a\"b", "__Host-mr_session", v, sizeof v), 0);
	assert_int_equal(http_cookie_get("__Host-mr_session=", "__Host-mr_session", v, sizeof v), 0);
	assert_int_equal(http_cookie_get("s=0123456789", "s", v, 5), 0);
	assert_int_equal(http_cookie_get(NULL, "s", v, sizeof v), 0);
	assert_int_equal(http_cookie_get("s=1;;  t=2 ", "t", v, sizeof v), 1);
	assert_string_equal(v, "2");
}

static void
test_bearer(void **state)
{
	char t[64];

	assert_int_equal(http_bearer_get("Bearer mrt_AbC-9_x", t, sizeof t), 1);
	assert_string_equal(t, "mrt_AbC-9_x");
	assert_int_equal(http_bearer_get("bearer abc==", t, sizeof t), 1);
	assert_string_equal(t, "abc==");
	assert_int_equal(http_bearer_get("Basic YWJjOmRlZg==", t, sizeof t), 0);
	assert_int_equal(http_bearer_get("Bearer ", t, sizeof t), 0);
	assert_int_equal(http_bearer_get("Bearer a=b", t, sizeof t), 0);
	assert_int_equal(http_bearer_get("Bearer a b", t, sizeof t), 0);
	assert_int_equal(http_bearer_get("Bearer a;b", t, sizeof t), 0);
	assert_int_equal(http_bearer_get(NULL, t, sizeof t), 0);
	char longv[200];
	memset(longv, 'a', sizeof longv);
	memcpy(longv, "Bearer ", 7);
	longv[sizeof longv - 1] = '\0';
	assert_int_equal(http_bearer_get(longv, t, sizeof t), 0);
}

static void
test_form(void **state)
{
	struct evkeyvalq f;
	const char *body = "csrf=ab12&name=ann%40shop.test&password=p+w%26x";

	assert_int_equal(http_form_parse(body, strlen(body), &f), 0);
	assert_string_equal(http_form_get(&f, "name"), "ann@shop.test");
	assert_string_equal(http_form_get(&f, "password"), "p w&x");
	assert_null(http_form_get(&f, "other"));
	evhttp_clear_headers(&f);
	assert_int_equal(http_form_parse("a=1\0b=2", 7, &f), -1);
	char *big = malloc(HTTP_FORM_MAX + 2);
	memset(big, 'a', HTTP_FORM_MAX + 1);
	big[HTTP_FORM_MAX + 1] = '\0';
	assert_int_equal(http_form_parse(big, HTTP_FORM_MAX + 1, &f), -1);
	free(big);
	assert_int_equal(http_form_parse("", 0, &f), 0);
	assert_null(http_form_get(&f, "a"));
	evhttp_clear_headers(&f);
}

static void
test_secret_equal(void **state)
{
	assert_true(http_secret_equal("abc", "abc"));
	assert_false(http_secret_equal("abc", "abd"));
	assert_false(http_secret_equal("abc", "abcd"));
	assert_false(http_secret_equal("", ""));
}

static void
test_html_fmt(void **state)
{
	struct buf b = { 0 };

	assert_int_equal(html_fmt(&b, "<td title=\"%s\">%s %d %u %U %% %r</td>", "a\"b", "<x&y'>", -3, 7u,
	    (uint64_t)1 << 40, "<b>"), 0);
	assert_string_equal(b.data, "<td title=\"a&quot;b\">&lt;x&amp;y&#39;&gt; -3 7 1099511627776 % <b></td>");
	buf_reset(&b);
	assert_int_equal(html_fmt(&b, "%x", 1), -1);
	buf_reset(&b);
	assert_int_equal(html_fmt(&b, "%s", (const char *)NULL), 0);
	assert_int_equal(b.len, 0);
	buf_free(&b);
}

static void
test_html_page(void **state)
{
	struct buf b = { 0 };
	struct html_page p = { .section = HTML_ADMIN, .title = "Users <1>", .current = "/admin/users",
		.who = "root&co", .csrf = "tok\"en", .notice = "done", .error = "<script>" };

	assert_int_equal(html_begin(&b, &p), 0);
	assert_int_equal(html_end(&b), 0);
	assert_non_null(strstr(b.data, "<h1>Users &lt;1&gt;</h1>"));
	assert_non_null(strstr(b.data, "name=\"csrf\" value=\"tok&quot;en\""));
	assert_non_null(strstr(b.data, "<a href=\"/admin/users\" aria-current=\"page\">Users</a>"));
	assert_non_null(strstr(b.data, "&lt;script&gt;"));
	assert_null(strstr(b.data, "<script>"));
	assert_non_null(strstr(b.data, "root&amp;co"));
	buf_free(&b);

	/* A public page has no navigation and no logout form. */
	struct html_page pub = { .section = HTML_PUBLIC, .title = "Log in" };
	assert_int_equal(html_begin(&b, &pub), 0);
	assert_null(strstr(b.data, "<nav"));
	assert_null(strstr(b.data, "id=\"logout\""));
	buf_free(&b);
}

static void
test_html_size(void **state)
{
	char s[32];
	html_size(s, sizeof s, 512);
	assert_string_equal(s, "512 bytes");
	html_size(s, sizeof s, 1536);
	assert_string_equal(s, "1.5 KiB");
	html_size(s, sizeof s, (uint64_t)2 << 30);
	assert_string_equal(s, "2.0 GiB");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cookie),
		cmocka_unit_test(test_bearer),
		cmocka_unit_test(test_form),
		cmocka_unit_test(test_secret_equal),
		cmocka_unit_test(test_html_fmt),
		cmocka_unit_test(test_html_page),
		cmocka_unit_test(test_html_size),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
