/*
 * test_mail_setup.c - unit tests for mail_setup.c and http_host.c: the address
 * read out of autodiscover requests (prefixes, attributes, spaces, and every
 * malformed or hostile shape refused), the autoconfig and autodiscover documents
 * (ports present or absent, values XML-escaped), and Host header names.
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

#include "http/http_host.h"
#include "http/mail_setup.h"

static int
request(const char *body, struct mailbox *mb)
{
	return mail_setup_request_address(body, strlen(body), mb);
}

static void
test_request_ok(void **state)
{
	struct mailbox mb;

	(void)state;
	assert_int_equal(request("<?xml version=\"1.0\"?><Autodiscover xmlns=\"x\"><Request>"
	    "<EMailAddress>Demo@Example.TEST</EMailAddress><AcceptableResponseSchema>s"
	    "</AcceptableResponseSchema></Request></Autodiscover>", &mb), 0);
	assert_string_equal(mb.local, "Demo");
	assert_string_equal(mb.domain, "example.test");
	assert_int_equal(request("<a:EMailAddress xmlns:a=\"u\">\n  x@y.test \r\n</a:EMailAddress>",
	    &mb), 0);
	assert_string_equal(mb.local, "x");
	assert_string_equal(mb.domain, "y.test");
	/* the first EMailAddress element counts; an element whose name only ends so does not */
	assert_int_equal(request("<NotEMailAddress>a@b.test</NotEMailAddress>"
	    "<EMailAddress>c@d.test</EMailAddress><EMailAddress>e@f.test</EMailAddress>", &mb), 0);
	assert_string_equal(mb.domain, "d.test");
}

static void
test_request_refused(void **state)
{
	struct mailbox mb;
	static const char *const bad[] = {
		"",
		"<Request></Request>",
		"<EMailAddress></EMailAddress>",
		"<EMailAddress>   </EMailAddress>",
		"<EMailAddress/>",
		"<EMailAddress>a@b.test",
		"<EMailAddress>a@b.test</EMailAddres>",
		"<EMailAddress>a@b.test</Other>",
		"<EMailAddress>a@b.test</EMailAddress",
		"<EMailAddress>a&#64;b.test</EMailAddress>",
		"<EMailAddress>a@b.test&amp;</EMailAddress>",
		"<EMailAddress><![CDATA[a@b.test]]></EMailAddress>",
		"<EMailAddress>no-at-sign</EMailAddress>",
		"<EMailAddress>a b@c.test</EMailAddress>",
		"<EMailAddress>a@b.test\r\nX: y</EMailAddress>",
		"<EMailAddress",
		"<",
	};

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (request(bad[i], &mb) == 0)
			fail_msg("accepted: %s", bad[i]);
	/* longer than the limit: refused unread */
	size_t n = AUTODISCOVER_REQ_MAX + 1;
	char *big = malloc(n);
	assert_non_null(big);
	memset(big, ' ', n);
	memcpy(big, "<EMailAddress>a@b.test</EMailAddress>", 37);
	assert_int_equal(mail_setup_request_address(big, n, &mb), -1);
	assert_int_equal(mail_setup_request_address(big, n - 1, &mb), 0);
	/* an element cut by the length given */
	assert_int_equal(mail_setup_request_address(big, 30, &mb), -1);
	free(big);
}

static const struct mail_setup full = {
	.hostname = "mx.example.test", .domain = "example.test", .email = "demo@example.test",
	.pop3s = 995, .pop3 = 110, .submissions = 465, .submission = 587,
};

static void
test_autoconfig(void **state)
{
	struct buf b = { 0 };

	(void)state;
	assert_int_equal(mail_setup_autoconfig(&full, &b), 0);
	assert_non_null(strstr(b.data, "<clientConfig version=\"1.1\">"));
	assert_non_null(strstr(b.data, "<emailProvider id=\"example.test\">"));
	assert_non_null(strstr(b.data, "<incomingServer type=\"pop3\">\n"
	    "      <hostname>mx.example.test</hostname>\n      <port>995</port>\n"
	    "      <socketType>SSL</socketType>\n      <username>%EMAILADDRESS%</username>\n"
	    "      <authentication>password-cleartext</authentication>\n"));
	/* pop3s offered: the STARTTLS port is not */
	assert_null(strstr(b.data, "<port>110</port>"));
	assert_non_null(strstr(b.data, "<port>465</port>\n      <socketType>SSL</socketType>"));
	assert_non_null(strstr(b.data, "<port>587</port>\n      <socketType>STARTTLS</socketType>"));
	buf_free(&b);

	struct mail_setup s = full;
	s.pop3s = 0;
	s.submissions = 0;
	assert_int_equal(mail_setup_autoconfig(&s, &b), 0);
	assert_non_null(strstr(b.data, "<port>110</port>\n      <socketType>STARTTLS</socketType>"));
	assert_null(strstr(b.data, "<port>465</port>"));
	assert_null(strstr(b.data, "SSL"));
	buf_free(&b);
}

static void
test_escaped(void **state)
{
	struct buf b = { 0 };
	struct mail_setup s = full;

	(void)state;
	s.hostname = "h<o>s&t\"'";
	s.domain = "d&<>";
	s.email = "\"a<b>\"@d&<>";
	assert_int_equal(mail_setup_autoconfig(&s, &b), 0);
	assert_non_null(strstr(b.data, "<hostname>h&lt;o&gt;s&amp;t&quot;&apos;</hostname>"));
	assert_non_null(strstr(b.data, "id=\"d&amp;&lt;&gt;\""));
	assert_null(strstr(b.data, "h<o"));
	buf_free(&b);
	assert_int_equal(mail_setup_autodiscover(&s, &b), 0);
	assert_non_null(strstr(b.data, "<LoginName>&quot;a&lt;b&gt;&quot;@d&amp;&lt;&gt;</LoginName>"));
	assert_non_null(strstr(b.data, "<Server>h&lt;o&gt;s&amp;t&quot;&apos;</Server>"));
	buf_free(&b);
}

static void
test_autodiscover(void **state)
{
	struct buf b = { 0 };
	struct mail_setup s = full;

	(void)state;
	assert_int_equal(mail_setup_autodiscover(&s, &b), 0);
	assert_non_null(strstr(b.data, "<Type>POP3</Type>\n        <Server>mx.example.test</Server>\n"
	    "        <Port>995</Port>\n        <LoginName>demo@example.test</LoginName>\n"
	    "        <SPA>off</SPA>\n        <SSL>on</SSL>\n"));
	assert_non_null(strstr(b.data, "<Type>SMTP</Type>"));
	assert_non_null(strstr(b.data, "<Port>465</Port>"));
	assert_null(strstr(b.data, "<Port>587</Port>"));
	buf_free(&b);
	s.pop3s = 0;
	s.submissions = 0;
	assert_int_equal(mail_setup_autodiscover(&s, &b), 0);
	assert_non_null(strstr(b.data, "<Port>110</Port>"));
	assert_non_null(strstr(b.data, "<Port>587</Port>\n        <LoginName>demo@example.test"
	    "</LoginName>\n        <SPA>off</SPA>\n        <SSL>off</SSL>\n"
	    "        <Encryption>TLS</Encryption>\n"));
	buf_free(&b);
}

static void
test_host(void **state)
{
	char out[256];

	(void)state;
	assert_int_equal(http_host_name("Mail.Example.TEST", out, sizeof out), 0);
	assert_string_equal(out, "mail.example.test");
	assert_int_equal(http_host_name("mta-sts.example.test:8443", out, sizeof out), 0);
	assert_string_equal(out, "mta-sts.example.test");
	assert_int_equal(http_host_name("example.test.", out, sizeof out), 0);
	assert_string_equal(out, "example.test");
	static const char *const bad[] = { "", ".", ":80", "a..b", ".a", "a b", "a/b", "a:",
		"a:80x", "a:123456", "[::1]", "a\r\nb", "a@b", "ex%61mple" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (http_host_name(bad[i], out, sizeof out) == 0)
			fail_msg("accepted: %s", bad[i]);
	assert_int_equal(http_host_name(NULL, out, sizeof out), -1);
	assert_int_equal(http_host_name("abcdef", out, 6), -1);
	assert_int_equal(http_host_name("abcde", out, 6), 0);
	char longname[300];
	memset(longname, 'a', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	assert_int_equal(http_host_name(longname, out, sizeof out), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_ok),
		cmocka_unit_test(test_request_refused),
		cmocka_unit_test(test_autoconfig),
		cmocka_unit_test(test_escaped),
		cmocka_unit_test(test_autodiscover),
		cmocka_unit_test(test_host),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
